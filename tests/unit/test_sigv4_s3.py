"""SigV4 for S3 as clients really sign it: botocore's own S3 signer (through a real boto3 client, its
presigner and `S3SigV4Auth`) is the oracle; the path is signed as S3 signs it, the payload line is the
declared `x-amz-content-sha256`, and the body is not read."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from ostiary import bootstrap
from ostiary.auth import sigv4
from ostiary.auth.authenticate import authenticate, authenticate_with_key
from ostiary.errors import AccessDenied, SignatureDoesNotMatch
from ostiary.protocol import HttpRequest
from ostiary.settings import Settings
from ostiary.store.db import Database
from ostiary.store.keyring import Keyring

KEY, SECRET = "AKIAEXAMPLEKEY000001", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
S3 = frozenset({"s3"})
KEYS = [
    "plain.txt",
    "a b.txt",
    "a+b=c&d",
    "ü/ñ/日本語.txt",
    "dir/",
    "a//b",
    "../up/./here",
    "x?y#z",
    "~tilde!$'()*,;:@",
    "100%",
]


class _Captured(Exception):
    pass


def _client(addressing: str = "path", scheme: str = "http") -> Any:
    made = boto3.client(
        "s3",
        endpoint_url=f"{scheme}://localhost:9000",
        region_name="us-east-1",
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        config=Config(
            signature_version="s3v4", s3={"addressing_style": addressing}, retries={"max_attempts": 1}
        ),
    )
    made.sent = []

    def keep(request: Any, **_: Any) -> None:
        made.sent.append(request)
        raise _Captured

    made.meta.events.register("before-send", keep)
    return made


def _received(method: str, url: str, headers: Any) -> HttpRequest:
    """The request as the gateway receives it: the wire's path and query, the headers, no body (it
    streams later)."""
    parts = urlsplit(url)
    pairs = [(k.lower(), v.decode() if isinstance(v, bytes) else str(v)) for k, v in headers.items()]
    if not any(k == "host" for k, _ in pairs):
        pairs.append(("host", parts.netloc))
    return HttpRequest(method, parts.path or "/", parts.query, tuple(pairs), b"")


def _sent(client: Any, operation: str, **params: Any) -> HttpRequest:
    try:
        getattr(client, operation)(**params)
    except _Captured:
        pass
    request = client.sent.pop()
    return _received(request.method, request.url, request.headers)


def _verify(request: HttpRequest, now: datetime | None = None) -> bytes:
    signed = sigv4.parse(request)
    assert signed is not None
    return sigv4.verify(request, signed, SECRET, now or datetime.now(UTC), S3)


def _signing_key(day: str) -> bytes:
    return sigv4._signing_key(SECRET, day, "us-east-1", "s3")


# -- the canonical URI -------------------------------------------------------------------------


@pytest.mark.parametrize("addressing", ["path", "virtual"])
@pytest.mark.parametrize("key", KEYS)
def test_put_and_get_of_any_key_verify_as_botocore_signs_them(addressing: str, key: str) -> None:
    client = _client(addressing)
    put = _sent(client, "put_object", Bucket="amzn-bucket", Key=key, Body=b"payload")
    get = _sent(client, "get_object", Bucket="amzn-bucket", Key=key)
    for request in (put, get):
        signed = sigv4.parse(request)
        assert signed is not None
        assert _verify(request) == _signing_key(signed.scope_date)


@pytest.mark.parametrize("path", ["/b/a//b", "/b/../x", "/b/./y", "/b/dir/", "/b/a%2Fb", "/b/%E2%82%AC", "/"])
def test_the_path_is_signed_as_sent_never_normalized(path: str) -> None:
    request = AWSRequest(method="GET", url=f"http://localhost:9000{path}", headers={})
    S3SigV4Auth(Credentials(KEY, SECRET), "s3", "us-east-1").add_auth(request)
    received = _received("GET", request.url, request.headers)
    _verify(received)
    signed = sigv4.parse(received)
    assert signed is not None
    assert sigv4.canonical_request(received, signed, "UNSIGNED-PAYLOAD").split("\n")[1] == path


class _KeepCanonical(S3SigV4Auth):
    """botocore's S3 signer, keeping the canonical request it signed."""

    kept = ""

    def canonical_request(self, request: AWSRequest) -> str:
        self.kept = super().canonical_request(request)
        return self.kept


@pytest.mark.parametrize("key", KEYS)
def test_the_canonical_request_is_botocores_own(key: str) -> None:
    url = _client().generate_presigned_url("get_object", Params={"Bucket": "b", "Key": key})
    path = urlsplit(url).path  # the key as botocore encodes it on the wire
    request = AWSRequest(
        method="PUT", url=f"http://localhost:9000{path}?tagging", headers={"X-Amz-Meta-A": " x  y "}
    )
    signer = _KeepCanonical(Credentials(KEY, SECRET), "s3", "us-east-1")
    signer.add_auth(request)
    received = _received("PUT", request.url, request.headers)
    signed = _parsed(received)
    assert sigv4.canonical_request(received, signed, sigv4.s3_payload_hash(received, signed)) == signer.kept


def test_iam_still_normalizes_the_path() -> None:
    request = HttpRequest("GET", "/b/../x//y", "", (("host", "h"),), b"")
    signed = sigv4.SignedRequest(
        KEY, None, "20260101", "us-east-1", "iam", "aws4_request", ("host",), "", NOW, ""
    )
    assert sigv4.canonical_request(request, signed, "h").split("\n")[1] == "/x/y"


def test_a_segment_sent_unencoded_is_signed_encoded_once() -> None:
    """S3 decodes each segment and encodes it once: a client that sends `=` or `@` raw signs `%3D`, `%40`."""
    request = AWSRequest(method="GET", url="http://localhost:9000/b/k%3Dv%40x", headers={})
    S3SigV4Auth(Credentials(KEY, SECRET), "s3", "us-east-1").add_auth(request)
    received = _received("GET", "http://localhost:9000/b/k=v@x", request.headers)
    _verify(received)


def test_a_changed_path_does_not_verify() -> None:
    request = _sent(_client(), "get_object", Bucket="b", Key="a b")
    moved = HttpRequest(request.method, "/b/a%2Bb", "", request.headers, b"")
    with pytest.raises(SignatureDoesNotMatch, match="Check your key and signing method"):
        _verify(moved)


# -- the payload line --------------------------------------------------------------------------


def test_a_signed_hash_is_taken_as_declared_and_the_body_is_not_read() -> None:
    request = _sent(_client(), "put_object", Bucket="b", Key="k", Body=b"the real body")
    assert request.header("x-amz-content-sha256") == hashlib.sha256(b"the real body").hexdigest()
    _verify(request)  # request.body is empty: payload.py checks the body as it streams


def test_the_trailer_mode_botocore_sends_over_tls_verifies() -> None:
    request = _sent(_client(scheme="https"), "put_object", Bucket="b", Key="k", Body=b"x" * 100)
    assert request.header("x-amz-content-sha256") == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    _verify(request)


def test_a_swapped_payload_hash_does_not_verify() -> None:
    request = _sent(_client(), "put_object", Bucket="b", Key="k", Body=b"body")
    swapped = _replace_header(request, "x-amz-content-sha256", hashlib.sha256(b"other").hexdigest())
    with pytest.raises(SignatureDoesNotMatch):
        _verify(swapped)
    unsigned = _replace_header(request, "x-amz-content-sha256", "UNSIGNED-PAYLOAD")
    with pytest.raises(SignatureDoesNotMatch):
        _verify(unsigned)


def test_a_header_signed_request_without_the_payload_hash_is_refused_as_s3_does() -> None:
    request = _sent(_client(), "get_object", Bucket="b", Key="k")
    stripped = HttpRequest(
        request.method,
        request.path,
        request.query_string,
        tuple((k, v) for k, v in request.headers if k != "x-amz-content-sha256"),
        b"",
    )
    with pytest.raises(
        sigv4.InvalidRequest, match="^Missing required header for this request: x-amz-content-sha256$"
    ):
        _verify(stripped)


@pytest.mark.parametrize("value", ["unsigned-payload", "a" * 63, "a" * 65, "g" * 64, "STREAMING-X", ""])
def test_a_payload_hash_s3_does_not_take_is_refused(value: str) -> None:
    request = _replace_header(
        _sent(_client(), "get_object", Bucket="b", Key="k"), "x-amz-content-sha256", value
    )
    with pytest.raises(sigv4.InvalidArgument, match="must be UNSIGNED-PAYLOAD") as refused:
        _verify(request)
    assert (refused.value.code, refused.value.status) == ("InvalidArgument", 400)


def test_a_payload_hash_in_upper_case_is_taken() -> None:
    digest = hashlib.sha256(b"body").hexdigest().upper()
    request = AWSRequest(
        method="PUT", url="http://localhost:9000/b/k", headers={"X-Amz-Content-SHA256": digest}
    )
    SigV4Auth(Credentials(KEY, SECRET), "s3", "us-east-1").add_auth(request)
    _verify(_received("PUT", request.url, request.headers))


# -- presigned URLs ----------------------------------------------------------------------------


@pytest.mark.parametrize("addressing", ["path", "virtual"])
@pytest.mark.parametrize("operation", ["get_object", "put_object"])
def test_presigned_get_and_put_urls_verify(addressing: str, operation: str) -> None:
    url = _client(addressing).generate_presigned_url(
        operation, Params={"Bucket": "amzn-bucket", "Key": "dir/a b+ü.txt"}, ExpiresIn=300
    )
    method = "GET" if operation == "get_object" else "PUT"
    request = _received(method, url, {})
    _verify(request)
    assert sigv4.s3_payload_hash(request, _parsed(request)) == "UNSIGNED-PAYLOAD"


def test_a_presigned_url_signs_the_payload_header_when_one_is_sent() -> None:
    url = _client().generate_presigned_url("put_object", Params={"Bucket": "b", "Key": "k"}, ExpiresIn=300)
    request = _received("PUT", url, {"x-amz-content-sha256": hashlib.sha256(b"x").hexdigest()})
    with pytest.raises(SignatureDoesNotMatch):  # botocore signed UNSIGNED-PAYLOAD
        _verify(request)


def test_a_presigned_url_must_say_when_it_expires() -> None:
    url = _client().generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"}, ExpiresIn=300)
    parts = urlsplit(url)
    query = "&".join(p for p in parts.query.split("&") if not p.startswith("X-Amz-Expires="))
    request = HttpRequest("GET", parts.path, query, (("host", parts.netloc),), b"")
    with pytest.raises(sigv4.AuthorizationQueryParametersError, match="and X-Amz-Expires parameters"):
        _verify(request)


@pytest.mark.parametrize(
    ("expires", "message"),
    [
        (
            "604801",
            "^X-Amz-Expires must be less than a week .in seconds.; that is, the given X-Amz-Expires must",
        ),
        ("-1", "^X-Amz-Expires must be non-negative$"),
        ("1e3", "^X-Amz-Expires should be a number$"),
    ],
)
def test_a_presigned_url_with_a_bad_expiry_is_refused_in_s3s_words(expires: str, message: str) -> None:
    url = _client().generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"}, ExpiresIn=300)
    parts = urlsplit(url)
    query = parts.query.replace("X-Amz-Expires=300", f"X-Amz-Expires={expires}")
    with pytest.raises(sigv4.AuthorizationQueryParametersError, match=message):
        sigv4.parse(HttpRequest("GET", parts.path, query, (("host", parts.netloc),), b""))


def test_an_expired_presigned_url_is_refused_as_s3_does() -> None:
    url = _client().generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"}, ExpiresIn=60)
    request = _received("GET", url, {})
    with pytest.raises(AccessDenied, match="^Request has expired$"):
        _verify(request, datetime.now(UTC) + timedelta(seconds=120))


def test_a_header_signed_request_off_the_clock_is_refused_as_s3_does() -> None:
    request = _sent(_client(), "get_object", Bucket="b", Key="k")
    with pytest.raises(sigv4.RequestTimeTooSkewed) as refused:
        _verify(request, datetime.now(UTC) + timedelta(minutes=20))
    assert refused.value.status == 403


# -- AWS's published example: the seed of a chunked upload -------------------------------------


NOW = datetime(2013, 5, 24, 0, 1, tzinfo=UTC)
EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
EXAMPLE_SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"


def example_request(seed: str = EXAMPLE_SEED) -> HttpRequest:
    """The PUT of AWS's "Transferring Payload in Multiple Chunks" example (66,560 bytes of `a`)."""
    authorization = (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
        f"x-amz-decoded-content-length;x-amz-storage-class,Signature={seed}"
    )
    headers = (
        ("host", "s3.amazonaws.com"),
        ("x-amz-date", "20130524T000000Z"),
        ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ("authorization", authorization),
        ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
        ("content-encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", "66560"),
        ("content-length", "66824"),
    )
    return HttpRequest("PUT", "/examplebucket/chunkObject.txt", "", headers, b"")


def test_the_seed_signature_of_aws_chunked_example_verifies() -> None:
    request = example_request()
    signed = sigv4.parse(request)
    assert signed is not None
    key = sigv4.verify(request, signed, EXAMPLE_SECRET, NOW, S3)
    assert key == sigv4._signing_key(EXAMPLE_SECRET, "20130524", "us-east-1", "s3")
    with pytest.raises(SignatureDoesNotMatch):
        wrong = example_request("0" * 64)
        sigv4.verify(wrong, _parsed(wrong), EXAMPLE_SECRET, NOW, S3)


# -- authenticate_with_key ---------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[Settings, Database, Keyring]]:
    settings = Settings(auth="strict", data_dir=tmp_path)
    db, keyring = bootstrap.open_store(settings, pool=False)
    yield settings, db, keyring
    db.dispose()


def test_authenticate_with_key_returns_the_key_that_verified(
    store: tuple[Settings, Database, Keyring],
) -> None:
    settings, db, keyring = store
    account = bootstrap.create_account(db, keyring)
    client = boto3.client(
        "s3",
        endpoint_url="http://localhost:9000",
        region_name="us-east-1",
        aws_access_key_id=account["AccessKeyId"],
        aws_secret_access_key=account["SecretAccessKey"],
    )
    client.sent = []
    client.meta.events.register(
        "before-send", lambda request, **_: (client.sent.append(request), _raise())[1]
    )
    request = _sent(client, "get_object", Bucket="b", Key="k")
    signed = _parsed(request)
    now = datetime.now(UTC)
    caller, key = authenticate_with_key(
        request, signed, db=db, keyring=keyring, settings=settings, now=now, services=S3
    )
    assert key == sigv4._signing_key(account["SecretAccessKey"], signed.scope_date, "us-east-1", "s3")
    assert caller == authenticate(
        request, signed, db=db, keyring=keyring, settings=settings, now=now, services=S3
    )


def test_permissive_unknown_key_verifies_nothing_and_has_no_key(
    store: tuple[Settings, Database, Keyring],
) -> None:
    settings, db, keyring = store
    permissive = Settings(auth="permissive", data_dir=settings.data_dir)
    bootstrap.ensure_default_account(permissive, db, keyring)
    request = _sent(_client(), "get_object", Bucket="b", Key="k")
    _, key = authenticate_with_key(
        request,
        _parsed(request),
        db=db,
        keyring=keyring,
        settings=permissive,
        now=datetime.now(UTC),
        services=S3,
    )
    assert key is None


# -- helpers -----------------------------------------------------------------------------------


def _raise() -> None:
    raise _Captured


def _parsed(request: HttpRequest) -> sigv4.SignedRequest:
    signed = sigv4.parse(request)
    assert signed is not None
    return signed


def _replace_header(request: HttpRequest, name: str, value: str) -> HttpRequest:
    headers = tuple((k, value if k == name else v) for k, v in request.headers)
    return HttpRequest(request.method, request.path, request.query_string, headers, request.body)
