"""SigV4 verification against botocore's signer as the oracle, and every way to break a signature."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock
from urllib.parse import parse_qsl, urlsplit

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ostiary.auth import sigv4
from ostiary.errors import IncompleteSignature, RequestExpired, SignatureDoesNotMatch
from ostiary.protocol import HttpRequest

KEY, SECRET = "AKIAEXAMPLEKEY000001", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
NOW = datetime(2026, 11, 30, 2, 16, 43, tzinfo=UTC)
ENDPOINT = "http://127.0.0.1:8080/"
BODY = "Action=CreateUser&Version=2010-05-08&UserName=alice&Tags.member.1.Key=team&Tags.member.1.Value=a%20b"


def _freeze(when: datetime):  # type: ignore[no-untyped-def]  # a patch context manager
    return mock.patch(
        "botocore.auth.datetime.datetime",
        **{"utcnow.return_value": when.replace(tzinfo=None), "now.return_value": when.replace(tzinfo=None)},
    )


def _received(prepared: AWSRequest, body: bytes | None = None) -> HttpRequest:
    """The request as the server receives it from botocore's prepared request."""
    parts = urlsplit(prepared.url)
    headers = [(k.lower(), v if isinstance(v, str) else v.decode()) for k, v in prepared.headers.items()]
    if not any(k == "host" for k, _ in headers):
        headers.append(("host", parts.netloc))
    raw = prepared.body if body is None else body
    if isinstance(raw, str):
        raw = raw.encode()
    return HttpRequest(
        method=prepared.method,
        path=parts.path or "/",
        query_string=parts.query,
        headers=tuple(headers),
        body=raw or b"",
    )


def _header_signed(
    body: str = BODY,
    token: str | None = None,
    when: datetime = NOW,
    service: str = "iam",
    extra: dict[str, str] | None = None,
) -> HttpRequest:
    request = AWSRequest(
        method="POST",
        url=ENDPOINT,
        data=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", **(extra or {})},
    )
    with _freeze(when):
        SigV4Auth(Credentials(KEY, SECRET, token), service, "us-east-1").add_auth(request)
    return _received(request)


def _presigned(
    method: str = "GET", expires: int = 3600, token: str | None = None, when: datetime = NOW
) -> HttpRequest:
    request = AWSRequest(
        method=method,
        url=ENDPOINT,
        data=dict(parse_qsl(BODY)),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    with _freeze(when):
        SigV4QueryAuth(Credentials(KEY, SECRET, token), "iam", "us-east-1", expires=expires).add_auth(request)
    return _received(request.prepare(), body=b"")


def _replace(request: HttpRequest, **changes: object) -> HttpRequest:
    values = {f: getattr(request, f) for f in ("method", "path", "query_string", "headers", "body")}
    values.update(changes)
    return HttpRequest(**values)  # type: ignore[arg-type]  # test helper


def _with_header(request: HttpRequest, name: str, value: str) -> HttpRequest:
    headers = tuple((k, value if k == name else v) for k, v in request.headers)
    if not any(k == name for k, _ in request.headers):
        headers += ((name, value),)
    return _replace(request, headers=headers)


# -- the oracle agrees -------------------------------------------------------------------------


def test_header_signed_request_verifies() -> None:
    request = _header_signed()
    signed = sigv4.parse(request)
    assert signed is not None
    assert (signed.access_key_id, signed.region, signed.service, signed.scope_date) == (
        KEY,
        "us-east-1",
        "iam",
        "20261130",
    )
    assert signed.amz_date == NOW and not signed.is_presigned and signed.session_token is None
    assert "host" in signed.signed_headers
    sigv4.verify(request, signed, SECRET, NOW)


def test_session_token_is_read_and_signed() -> None:
    request = _header_signed(token="FQoGZXIvYXdzEXAMPLETOKEN", service="sts")
    signed = sigv4.parse(request)
    assert signed is not None and signed.session_token == "FQoGZXIvYXdzEXAMPLETOKEN"
    assert signed.service == "sts"
    sigv4.verify(request, signed, SECRET, NOW)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_presigned_url_verifies(method: str) -> None:
    request = _presigned(method, expires=900, token="TOKEN/with+odd=chars")
    signed = sigv4.parse(request)
    assert signed is not None and signed.is_presigned and signed.expires_seconds == 900
    assert signed.session_token == "TOKEN/with+odd=chars"
    sigv4.verify(request, signed, SECRET, NOW + timedelta(minutes=10))


def test_query_reordered_and_plus_encoded_still_verifies() -> None:
    request = _presigned()
    pairs = request.query_string.split("&")
    reordered = "&".join(reversed(pairs)).replace("a%20b", "a+b")
    assert reordered != request.query_string
    moved = _replace(request, query_string=reordered)
    signed = sigv4.parse(moved)
    assert signed is not None
    sigv4.verify(moved, signed, SECRET, NOW)


def test_header_values_are_trimmed_and_repeated_headers_joined() -> None:
    request = _header_signed(extra={"X-Custom": "  a   b  "})
    signed = sigv4.parse(request)
    assert signed is not None and "x-custom" in signed.signed_headers
    sigv4.verify(request, signed, SECRET, NOW)


# -- attacks -----------------------------------------------------------------------------------


def test_wrong_secret_is_refused() -> None:
    request = _header_signed()
    signed = sigv4.parse(request)
    assert signed is not None
    with pytest.raises(SignatureDoesNotMatch, match="^The request signature we calculated does not match"):
        sigv4.verify(request, signed, SECRET + "x", NOW)


def test_tampered_body_is_refused() -> None:
    request = _header_signed()
    tampered = _replace(request, body=request.body.replace(b"alice", b"admin"))
    signed = sigv4.parse(tampered)
    assert signed is not None
    with pytest.raises(SignatureDoesNotMatch):
        sigv4.verify(tampered, signed, SECRET, NOW)


def test_tampered_body_with_matching_content_sha256_header_is_refused() -> None:
    """A client that signs X-Amz-Content-SHA256: the body must hash to it, and the hash is ours."""
    import hashlib

    body = BODY.encode()
    request = _header_signed(extra={"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()})
    signed = sigv4.parse(request)
    assert signed is not None and "x-amz-content-sha256" in signed.signed_headers
    sigv4.verify(request, signed, SECRET, NOW)
    swapped = _replace(request, body=body.replace(b"alice", b"admin"))
    with pytest.raises(SignatureDoesNotMatch):
        sigv4.verify(swapped, signed, SECRET, NOW)


def test_unsigned_payload_declaration_is_refused() -> None:
    request = _with_header(_header_signed(), "x-amz-content-sha256", "UNSIGNED-PAYLOAD")
    signed = sigv4.parse(request)
    assert signed is not None
    with pytest.raises(SignatureDoesNotMatch):
        sigv4.verify(request, signed, SECRET, NOW)


def test_tampered_signed_header_is_refused() -> None:
    request = _with_header(_header_signed(), "host", "evil.example.com")
    signed = sigv4.parse(request)
    assert signed is not None
    with pytest.raises(SignatureDoesNotMatch):
        sigv4.verify(request, signed, SECRET, NOW)


def test_tampered_presigned_query_is_refused() -> None:
    request = _presigned()
    tampered = _replace(request, query_string=request.query_string.replace("alice", "admin"))
    signed = sigv4.parse(tampered)
    assert signed is not None
    with pytest.raises(SignatureDoesNotMatch):
        sigv4.verify(tampered, signed, SECRET, NOW)


def test_presigned_url_with_an_added_body_is_refused() -> None:
    request = _replace(_presigned("POST"), body=b"Action=DeleteUser&UserName=bob")
    signed = sigv4.parse(request)
    assert signed is not None
    with pytest.raises(SignatureDoesNotMatch):
        sigv4.verify(request, signed, SECRET, NOW)


def test_date_skewed_into_the_past_is_expired_with_aws_text() -> None:
    request = _header_signed(when=NOW - timedelta(minutes=16))
    signed = sigv4.parse(request)
    assert signed is not None
    with pytest.raises(RequestExpired) as caught:
        sigv4.verify(request, signed, SECRET, NOW)
    assert caught.value.message == (
        "Signature expired: 20261130T020043Z is now earlier than 20261130T020143Z "
        "(20261130T021643Z - 15 min.)"
    )


def test_date_in_the_future_is_not_yet_current() -> None:
    request = _header_signed(when=NOW + timedelta(minutes=16))
    signed = sigv4.parse(request)
    assert signed is not None
    with pytest.raises(
        RequestExpired, match="^Signature not yet current: 20261130T023243Z is still later than"
    ):
        sigv4.verify(request, signed, SECRET, NOW)


def test_skew_within_fifteen_minutes_is_accepted() -> None:
    request = _header_signed(when=NOW - timedelta(minutes=14))
    signed = sigv4.parse(request)
    assert signed is not None
    sigv4.verify(request, signed, SECRET, NOW)


def test_expired_presigned_url_is_refused() -> None:
    request = _presigned(expires=60)
    signed = sigv4.parse(request)
    assert signed is not None
    with pytest.raises(RequestExpired):
        sigv4.verify(request, signed, SECRET, NOW + timedelta(seconds=61))


def test_presign_longer_than_a_week_is_refused() -> None:
    request = _presigned()
    longer = _replace(
        request, query_string=request.query_string.replace("X-Amz-Expires=3600", "X-Amz-Expires=604801")
    )
    with pytest.raises(IncompleteSignature, match="less than a week"):
        sigv4.parse(longer)


@pytest.mark.parametrize(
    "expires", ["9" * 5000, "0" * 5000 + "604801", "%D9%A1"]
)  # the last: Arabic-Indic one
def test_presign_expiry_of_many_or_foreign_digits_is_refused_without_a_crash(expires: str) -> None:
    request = _presigned()
    odd = _replace(
        request, query_string=request.query_string.replace("X-Amz-Expires=3600", f"X-Amz-Expires={expires}")
    )
    with pytest.raises(IncompleteSignature, match="less than a week|should be a number"):
        sigv4.parse(odd)


@pytest.mark.parametrize(
    ("expires", "message"), [("-5", "must be non-negative"), ("-x", "should be a number")]
)
def test_a_negative_presign_expiry_is_refused_as_aws_refuses_it(expires: str, message: str) -> None:
    request = _presigned()
    odd = _replace(
        request, query_string=request.query_string.replace("X-Amz-Expires=3600", f"X-Amz-Expires={expires}")
    )
    with pytest.raises(IncompleteSignature, match=f"^X-Amz-Expires {message}$"):
        sigv4.parse(odd)


def test_presigned_date_in_year_9999_is_refused_without_a_crash() -> None:
    request = _presigned()
    late = _replace(
        request, query_string=request.query_string.replace(NOW.strftime("%Y%m%dT%H%M%SZ"), "99991231T235959Z")
    )
    signed = sigv4.parse(late)
    assert signed is not None and signed.amz_date.year == 9999
    with pytest.raises(RequestExpired, match="not yet current"):
        sigv4.verify(late, signed, SECRET, NOW)


def test_http_date_past_year_9999_in_utc_is_incomplete_signature() -> None:
    auth = (
        "AWS4-HMAC-SHA256 Credential=A/99991231/us-east-1/iam/aws4_request, SignedHeaders=host;date, "
        "Signature=ab"
    )
    request = HttpRequest(
        "POST",
        "/",
        "",
        (("host", "x"), ("date", "Fri, 31 Dec 9999 23:59:59 -0100"), ("authorization", auth)),
        b"",
    )
    with pytest.raises(IncompleteSignature, match="^Date must be in ISO-8601 'basic format'"):
        sigv4.parse(request)


def test_scope_date_must_match_the_request_date() -> None:
    request = _header_signed()
    request = _with_header(request, "x-amz-date", "20261201T021643Z")
    signed = sigv4.parse(request)
    assert signed is not None
    with pytest.raises(SignatureDoesNotMatch, match="^Date in Credential scope does not match YYYYMMDD"):
        sigv4.verify(request, signed, SECRET, NOW + timedelta(days=1))


def test_scope_of_another_service_is_refused() -> None:
    request = _header_signed(service="s3")
    signed = sigv4.parse(request)
    assert signed is not None
    with pytest.raises(SignatureDoesNotMatch, match="Credential should be scoped to correct service"):
        sigv4.verify(request, signed, SECRET, NOW)


# -- malformed and missing ---------------------------------------------------------------------


def test_unsigned_request_has_no_signature() -> None:
    request = HttpRequest("POST", "/", "", (("host", "x"),), BODY.encode())
    assert sigv4.parse(request) is None


@pytest.mark.parametrize(
    ("authorization", "expected"),
    [
        (
            "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=abc",
            "Authorization header requires 'Credential' parameter. Authorization=AWS4-HMAC-SHA256 "
            "SignedHeaders=host, Signature=abc",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=A/20261130/us-east-1/iam/aws4_request",
            "Authorization header requires 'Signature' parameter. Authorization header "
            "requires 'SignedHeaders' "
            "parameter. Authorization=AWS4-HMAC-SHA256 Credential=A/20261130/us-east-1/iam/aws4_request",
        ),
        ("AWS4-HMAC-SHA512 Credential=x", "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'"),
        (
            "AWS4-HMAC-SHA256 Credential=A/20261130/iam/aws4_request, SignedHeaders=host, Signature=ab",
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, "
            "got 'A/20261130/iam/aws4_request'",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=A/20261130/us-east-1/iam/aws4_request, SignedHeaders=x-amz-date, "
            "Signature=ab",
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ),
    ],
)
def test_malformed_authorization_is_incomplete_signature(authorization: str, expected: str) -> None:
    request = HttpRequest(
        "POST",
        "/",
        "",
        (("host", "x"), ("x-amz-date", "20261130T021643Z"), ("authorization", authorization)),
        b"",
    )
    with pytest.raises(IncompleteSignature) as caught:
        sigv4.parse(request)
    assert caught.value.message == expected


def test_missing_date_is_incomplete_signature() -> None:
    auth = (
        "AWS4-HMAC-SHA256 Credential=A/20261130/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=ab"
    )
    request = HttpRequest("POST", "/", "", (("host", "x"), ("authorization", auth)), b"")
    with pytest.raises(IncompleteSignature, match="requires existence of either a 'X-Amz-Date' or a 'Date'"):
        sigv4.parse(request)


def test_bad_date_format_is_incomplete_signature() -> None:
    auth = (
        "AWS4-HMAC-SHA256 Credential=A/20261130/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=ab"
    )
    request = HttpRequest(
        "POST", "/", "", (("host", "x"), ("x-amz-date", "2026-11-30"), ("authorization", auth)), b""
    )
    with pytest.raises(
        IncompleteSignature, match="^Date must be in ISO-8601 'basic format'. Got '2026-11-30'"
    ):
        sigv4.parse(request)


def test_presigned_url_missing_a_piece_is_incomplete_signature() -> None:
    request = _presigned()
    cut = "&".join(p for p in request.query_string.split("&") if not p.startswith("X-Amz-Signature="))
    with pytest.raises(IncompleteSignature, match="'X-Amz-Signature'"):
        sigv4.parse(_replace(request, query_string=cut))
