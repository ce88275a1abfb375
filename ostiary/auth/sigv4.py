"""AWS Signature Version 4, verified over the request as received: header form and presigned query form.

`parse` reads the signature's parts (no secret needed: the access key id says whose secret to fetch);
`verify` recomputes the signature with that secret. The body is always hashed here, never trusted from
`X-Amz-Content-SHA256`, and signatures are compared in constant time.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import posixpath
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote_plus

import botocore.loaders

from ostiary.errors import IncompleteSignature, RequestExpired, SignatureDoesNotMatch
from ostiary.protocol import HttpRequest

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=15)
MAX_PRESIGN_SECONDS = 604800
SERVICES = frozenset({"iam", "sts"})
PARTITION = "aws"

_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access Key and signing method. Consult the service documentation for details."
)
_QUERY_AUTH = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date")
_BASIC_FORMAT = "%Y%m%dT%H%M%SZ"
# AWS's texts as its endpoints answer them: IAM names the region, STS (since 2022 at least) does not.
_INVALID_REGION = {
    "iam": "Credential should be scoped to a valid region, not '{region}'. ",
    "sts": "Credential should be scoped to a valid region. ",
}


@dataclass(frozen=True)
class SignedRequest:
    """The SigV4 signature of a request, as the client sent it."""

    access_key_id: str
    session_token: str | None = field(repr=False)
    scope_date: str
    region: str
    service: str
    terminator: str
    signed_headers: tuple[str, ...]
    signature: str = field(repr=False)
    amz_date: datetime
    amz_date_text: str
    is_presigned: bool = False
    expires_seconds: int | None = None

    @property
    def scope(self) -> str:
        """The credential scope: `date/region/service/aws4_request`."""
        return f"{self.scope_date}/{self.region}/{self.service}/{self.terminator}"


def parse(request: HttpRequest) -> SignedRequest | None:
    """The request's SigV4 signature, or None when it carries none; IncompleteSignature when malformed."""
    authorization = request.header("authorization")
    if authorization is not None:
        return _parse_header(request, authorization)
    query = _query_params(request.query_string)
    if any(name in query for name in _QUERY_AUTH):
        return _parse_presigned(request, query)
    return None


def verify(
    request: HttpRequest,
    signed: SignedRequest,
    secret: str,
    now: datetime,
    services: frozenset[str] = SERVICES,
) -> bytes:
    """Check the signature against `secret`, the clock and the scope (one of `services`); raise AWS's error
    when it fails. Returns the signing key (what verifies an S3 body's chunks).

    S3 signs the payload hash its `x-amz-content-sha256` header declares and its body streams: the body is
    not read here but checked as it arrives (`payload.py`)."""
    _check_time(signed, now)
    check_scope(signed, services)
    declared = request.header("x-amz-content-sha256")
    if signed.service == "s3":
        body_hash = declared or "UNSIGNED-PAYLOAD"
    else:
        body_hash = hashlib.sha256(request.body).hexdigest()
        if declared is not None and declared != body_hash:
            raise SignatureDoesNotMatch(_MISMATCH)
    canonical = canonical_request(request, signed, body_hash)
    string_to_sign = "\n".join(
        (ALGORITHM, signed.amz_date_text, signed.scope, hashlib.sha256(canonical.encode()).hexdigest())
    )
    key = _signing_key(secret, signed.scope_date, signed.region, signed.service)
    expected = hmac.digest(key, string_to_sign.encode(), "sha256").hex()
    if not hmac.compare_digest(expected.encode(), signed.signature.encode()):
        raise SignatureDoesNotMatch(_MISMATCH)
    return key


def canonical_request(request: HttpRequest, signed: SignedRequest, body_hash: str) -> str:
    """The canonical request of SigV4, rebuilt from the request as received."""
    path, _, _ = request.path.partition("?")
    return "\n".join(
        (
            request.method.upper(),
            path or "/" if signed.service == "s3" else _canonical_uri(path),  # S3: the path as sent
            _canonical_query(request.query_string, drop_signature=signed.is_presigned),
            _canonical_headers(request, signed.signed_headers),
            ";".join(signed.signed_headers),
            body_hash,
        )
    )


# -- parsing -----------------------------------------------------------------------------------


def _parse_header(request: HttpRequest, authorization: str) -> SignedRequest:
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise IncompleteSignature(f"Unsupported AWS 'algorithm': '{algorithm}'")
    parts: dict[str, str] = {}
    for item in rest.split(","):
        name, eq, value = item.strip().partition("=")
        if not eq:
            raise IncompleteSignature(
                "Invalid key=value pair (missing equal-sign) in Authorization header "
                "(hashed with SHA-256 and "
                f"encoded with Base64): '{_b64_sha256(authorization)}'."
            )
        parts[name] = value
    amz_date = request.header("x-amz-date")
    date_header = request.header("date")
    problems = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not parts.get(name)
    ]
    if amz_date is None and date_header is None:
        problems.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if problems:
        raise IncompleteSignature(" ".join(problems) + f" Authorization={authorization}")
    when, when_text = _date(amz_date) if amz_date is not None else _http_date(date_header or "")
    return _signed(
        parts["Credential"],
        parts["SignedHeaders"],
        parts["Signature"],
        when,
        when_text,
        request.header("x-amz-security-token"),
        presigned=False,
        expires=None,
    )


def _parse_presigned(request: HttpRequest, query: dict[str, str]) -> SignedRequest:
    missing = [name for name in _QUERY_AUTH if not query.get(name)]
    if missing:
        raise IncompleteSignature(
            "AWS query-string parameters must include "
            + ", ".join(f"'{name}'" for name in missing)
            + ". Re-examine the query-string parameters."
        )
    if query["X-Amz-Algorithm"] != ALGORITHM:
        raise IncompleteSignature(f"Unsupported AWS 'algorithm': '{query['X-Amz-Algorithm']}'")
    expires_text = query.get("X-Amz-Expires")
    expires = None
    if expires_text is not None:
        if expires_text.startswith("-") and expires_text[1:].isascii() and expires_text[1:].isdigit():
            raise IncompleteSignature("X-Amz-Expires must be non-negative")  # S3's text; the same signer
        if not (expires_text.isascii() and expires_text.isdigit()):
            raise IncompleteSignature("X-Amz-Expires should be a number")
        digits = expires_text.lstrip("0") or "0"  # a long one is over a week: no int() of 5,000 digits
        expires = int(digits) if len(digits) <= len(str(MAX_PRESIGN_SECONDS)) else MAX_PRESIGN_SECONDS + 1
        if expires > MAX_PRESIGN_SECONDS:
            raise IncompleteSignature(
                f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGN_SECONDS}"
            )
    when, when_text = _date(query["X-Amz-Date"])
    return _signed(
        query["X-Amz-Credential"],
        query["X-Amz-SignedHeaders"],
        query["X-Amz-Signature"],
        when,
        when_text,
        query.get("X-Amz-Security-Token"),
        presigned=True,
        expires=expires,
    )


def _signed(
    credential: str,
    signed_headers: str,
    signature: str,
    when: datetime,
    when_text: str,
    token: str | None,
    *,
    presigned: bool,
    expires: int | None,
) -> SignedRequest:
    pieces = credential.split("/")
    if len(pieces) != 5 or not all(pieces):
        raise IncompleteSignature(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term,"
            f" got '{credential}'"
        )
    headers = tuple(signed_headers.split(";"))
    if "host" not in headers:
        raise IncompleteSignature("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    return SignedRequest(
        access_key_id=pieces[0],
        session_token=token or None,
        scope_date=pieces[1],
        region=pieces[2],
        service=pieces[3],
        terminator=pieces[4],
        signed_headers=headers,
        signature=signature,
        amz_date=when,
        amz_date_text=when_text,
        is_presigned=presigned,
        expires_seconds=expires,
    )


_BASIC_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z")


@functools.lru_cache(maxsize=64)  # the requests of one second share their X-Amz-Date
def _date(text: str) -> tuple[datetime, str]:
    match = _BASIC_DATE.fullmatch(text)  # strptime costs several µs on every request
    try:
        if match is None:
            raise ValueError(text)
        year, month, day, hour, minute, second = (int(g) for g in match.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC), text
    except ValueError:
        raise IncompleteSignature(
            f"Date must be in ISO-8601 'basic format'. Got '{text}'. See http://en.wikipedia.org/wiki/ISO_8601"
        ) from None


def _http_date(text: str) -> tuple[datetime, str]:
    try:
        when = parsedate_to_datetime(text).astimezone(UTC)
    except (TypeError, ValueError, OverflowError):  # OverflowError: a year 1 date east of UTC
        raise IncompleteSignature(
            f"Date must be in ISO-8601 'basic format'. Got '{text}'. See http://en.wikipedia.org/wiki/ISO_8601"
        ) from None
    return when, when.strftime(_BASIC_FORMAT)


def _b64_sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


# -- checks ------------------------------------------------------------------------------------


def _check_time(signed: SignedRequest, now: datetime) -> None:
    stamp = signed.amz_date_text
    if signed.is_presigned and signed.expires_seconds is not None:
        if now - signed.amz_date > timedelta(seconds=signed.expires_seconds):  # no sum past year 9999
            raise RequestExpired("Request has expired.")
    elif signed.amz_date < now - MAX_SKEW:
        raise RequestExpired(
            f"Signature expired: {stamp} is now earlier than {_basic(now - MAX_SKEW)} "
            f"({_basic(now)} - 15 min.)"
        )
    if signed.amz_date > now + MAX_SKEW:
        raise RequestExpired(
            f"Signature not yet current: {stamp} is still later than {_basic(now + MAX_SKEW)} "
            f"({_basic(now)} + 15 min.)"
        )


@functools.cache
def regions() -> frozenset[str]:
    """The regions of the `aws` partition, from botocore's endpoint data (the pinned botocore's list)."""
    endpoints = botocore.loaders.Loader().load_data("endpoints")
    for partition in endpoints["partitions"]:
        if partition["partition"] == PARTITION:
            return frozenset(partition["regions"])
    raise ValueError(f"botocore names no partition `{PARTITION}`")


def check_scope(signed: SignedRequest, services: frozenset[str] = SERVICES) -> None:
    """Refuse a credential scope of another service (than `services`), region name, terminator or day,
    with AWS's text.

    AWS's IAM endpoint takes us-east-1 only, but Ostiary's one endpoint stands for IAM and every
    regional STS endpoint, and an SDK given an endpoint URL signs IAM with its own region: any region
    of the partition is taken, a name that is no region (`xx`, `aws-global`) is refused.
    """
    problems = []
    if signed.service not in services:
        problems.append("Credential should be scoped to correct service: 'iam'. ")
    elif signed.region not in regions():
        text = _INVALID_REGION.get(signed.service, _INVALID_REGION["sts"])  # the gateway's: STS's words
        problems.append(text.format(region=signed.region))
    if signed.terminator != "aws4_request":
        problems.append(
            "Credential should be scoped with a valid terminator: 'aws4_request', not "
            f"'{signed.terminator}'. "
        )
    day = signed.amz_date_text[:8]
    if signed.scope_date != day:
        problems.append(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{signed.scope_date}' != '{day}', from '{signed.amz_date_text}'."
        )
    if problems:
        raise SignatureDoesNotMatch("".join(problems).strip())


def _basic(when: datetime) -> str:
    return when.astimezone(UTC).strftime(_BASIC_FORMAT)


# -- canonical forms ---------------------------------------------------------------------------


def _query_params(query_string: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in query_string.split("&") if query_string else ():
        name, _, value = pair.partition("=")
        found.setdefault(unquote_plus(name), unquote_plus(value))
    return found


def _canonical_uri(path: str) -> str:
    if not path or path == "/":  # the path of every query-protocol call
        return "/"
    normalized = posixpath.normpath(path)
    if normalized.startswith("//"):
        normalized = "/" + normalized.lstrip("/")
    if path.endswith("/") and not normalized.endswith("/"):
        normalized += "/"
    return quote(normalized, safe="/~")


def _canonical_query(query_string: str, *, drop_signature: bool) -> str:
    if not query_string:
        return ""
    pairs = []
    for pair in query_string.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        name, value = unquote_plus(name), unquote_plus(value)
        if drop_signature and name == "X-Amz-Signature":
            continue
        pairs.append((quote(name, safe="-_.~"), quote(value, safe="-_.~")))
    pairs.sort()
    return "&".join(f"{name}={value}" for name, value in pairs)


def _canonical_headers(request: HttpRequest, names: tuple[str, ...]) -> str:
    values: dict[str, list[str]] = {name: [] for name in names}
    for key, value in request.headers:
        if key in values:
            values[key].append(" ".join(value.split()))
    return "".join(f"{name}:{','.join(values[name])}\n" for name in names)


@functools.lru_cache(maxsize=256)
def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = _hmac(f"AWS4{secret}".encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.digest(key, message.encode(), "sha256")
