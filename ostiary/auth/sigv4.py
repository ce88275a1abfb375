"""AWS Signature Version 4, verified over the request as received: header form and presigned query form.

`parse` reads the signature's parts (no secret needed: the access key id says whose secret to fetch);
`verify` recomputes the signature with that secret and returns the signing key. Signatures are compared
in constant time. For every service but S3 the body is hashed here, never trusted from
`X-Amz-Content-SHA256`. S3 signs as S3 does: the path as sent (each segment encoded once, never
normalized) and the payload line as the client declared it in `x-amz-content-sha256`; its body is not
read here but streams later through `ostiary.auth.payload`, which checks it against that declaration.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import hmac
import posixpath
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote_plus, unquote_to_bytes

import botocore.loaders

from ostiary.auth import sigv4a
from ostiary.auth.keyed_hmac import hmac_sha256
from ostiary.errors import AccessDenied, AwsError, IncompleteSignature, RequestExpired, SignatureDoesNotMatch
from ostiary.frozen import quick_init
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
# S3's own texts (measured against s3.us-east-1.amazonaws.com, as recorded by S3 emulators that compared).
S3_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your key and "
    "signing method."
)
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# The values S3 takes in `x-amz-content-sha256` besides 64 hex digits (of either case), spelt as written.
PAYLOAD_KEYWORDS = frozenset(
    {
        UNSIGNED_PAYLOAD,
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
    }
)
_BAD_PAYLOAD_HASH = (
    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or "
    "a valid sha256 value."
)
_S3_QUERY_PARAMETERS = (
    "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
    "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
)
_SKEWED = "The difference between the request time and the current time is too large."
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_QUERY_AUTH = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date")
_BASIC_FORMAT = "%Y%m%dT%H%M%SZ"
# AWS's texts as its endpoints answer them: IAM names the region, STS (since 2022 at least) does not.
_INVALID_REGION = {
    "iam": "Credential should be scoped to a valid region, not '{region}'. ",
    "sts": "Credential should be scoped to a valid region. ",
}


class InvalidRequest(AwsError):
    """S3's refusal of a request it cannot take as sent (a required header missing, for one)."""

    code, status, sender_fault = "InvalidRequest", 400, True


class InvalidArgument(AwsError):
    """S3's refusal of a header or parameter whose value it does not take."""

    code, status, sender_fault = "InvalidArgument", 400, True


class AuthorizationQueryParametersError(AwsError):
    """S3's refusal of a presigned URL whose X-Amz-* parameters are incomplete or malformed."""

    code, status, sender_fault = "AuthorizationQueryParametersError", 400, True


class RequestTimeTooSkewed(AwsError):
    """S3's refusal of a header-signed request more than 15 minutes from the server's clock."""

    code, status, sender_fault = "RequestTimeTooSkewed", 403, True


@quick_init
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
    algorithm: str = ALGORITHM
    region_set: tuple[str, ...] = ()  # SigV4a's X-Amz-Region-Set; `region` is then its first region

    @property
    def scope(self) -> str:
        """The credential scope: `date/region/service/aws4_request` (SigV4a's names no region)."""
        if self.algorithm == sigv4a.ALGORITHM:
            return f"{self.scope_date}/{self.service}/{self.terminator}"
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
    when it fails, return the signing key when it holds (aws-chunked payloads chain their chunk
    signatures from it).

    For S3 the payload line is `x-amz-content-sha256` as sent (`s3_payload_hash`) and `request.body` is
    not read: the body streams afterwards through `ostiary.auth.payload`.
    """
    is_s3 = signed.service == "s3" and "s3" in services  # otherwise check_scope refuses the scope
    if signed.algorithm == sigv4a.ALGORITHM and not is_s3:  # S3 alone takes SigV4a here
        raise IncompleteSignature(f"Unsupported AWS 'algorithm': '{signed.algorithm}'")
    if is_s3:
        body_hash = s3_payload_hash(request, signed)
        if signed.is_presigned and signed.expires_seconds is None:
            raise AuthorizationQueryParametersError(_S3_QUERY_PARAMETERS)
    _check_time(signed, now, is_s3=is_s3)
    check_scope(signed, services)
    if not is_s3:
        body_hash = payload_sha256(request.body)
        declared = request.header("x-amz-content-sha256")
        if declared is not None and declared != body_hash:
            raise SignatureDoesNotMatch(_MISMATCH)
    canonical = canonical_request(request, signed, body_hash)
    string_to_sign = "\n".join(
        (signed.algorithm, signed.amz_date_text, signed.scope, hashlib.sha256(canonical.encode()).hexdigest())
    )
    if signed.algorithm == sigv4a.ALGORITHM:
        private = sigv4a.private_key(signed.access_key_id, secret)
        if not sigv4a.verifies(private, string_to_sign, signed.signature):
            raise SignatureDoesNotMatch(S3_MISMATCH)
        return private
    key = _signing_key(secret, signed.scope_date, signed.region, signed.service)
    expected = hmac_sha256(key, string_to_sign.encode()).hex()
    if not hmac.compare_digest(expected.encode(), signed.signature.encode()):
        raise SignatureDoesNotMatch(S3_MISMATCH if is_s3 else _MISMATCH)
    return key


_last_payload: tuple[bytes, str] = (b"", hashlib.sha256(b"").hexdigest())


def payload_sha256(body: bytes) -> str:
    """The hex SHA-256 of a request's body; the last body's kept (the gateway re-signs the body it has
    just verified with the same hash: a 16 MiB body hashed once, not twice)."""
    global _last_payload
    last = _last_payload  # one tuple: read and replaced whole by any thread
    if last[0] is body:
        return last[1]
    found = hashlib.sha256(body).hexdigest()
    _last_payload = (body, found)
    return found


def s3_payload_hash(request: HttpRequest, signed: SignedRequest) -> str:
    """The payload line of an S3 request's canonical request: its `x-amz-content-sha256` as sent.

    A header-signed request must declare one S3 takes (a keyword of `PAYLOAD_KEYWORDS` or 64 hex digits);
    a presigned URL signs the header when one is sent, whatever it says, and `UNSIGNED-PAYLOAD` when not,
    as S3 does.
    """
    declared = request.header("x-amz-content-sha256")
    if signed.is_presigned:
        return UNSIGNED_PAYLOAD if declared is None else declared
    if declared is None:
        raise InvalidRequest("Missing required header for this request: x-amz-content-sha256")
    check_payload_hash(declared)
    return declared


def check_payload_hash(declared: str) -> None:
    """Refuse, with S3's error, an `x-amz-content-sha256` that is neither a keyword S3 takes nor 64 hex
    digits."""
    if not is_payload_hash(declared):
        raise InvalidArgument(_BAD_PAYLOAD_HASH)


def is_payload_hash(declared: str) -> bool:
    """Whether S3 takes `declared` as an `x-amz-content-sha256`: a keyword, spelt as written, or 64 hex
    digits of either case."""
    return declared in PAYLOAD_KEYWORDS or _HEX64.fullmatch(declared) is not None


def canonical_request(request: HttpRequest, signed: SignedRequest, body_hash: str) -> str:
    """The canonical request of SigV4, rebuilt from the request as received."""
    path, _, _ = request.path.partition("?")
    return "\n".join(
        (
            request.method.upper(),
            _s3_canonical_uri(path) if signed.service == "s3" else _canonical_uri(path),
            _canonical_query(request.query_string, drop_signature=signed.is_presigned),
            _canonical_headers(request, signed.signed_headers),
            ";".join(signed.signed_headers),
            body_hash,
        )
    )


# -- parsing -----------------------------------------------------------------------------------


def _parse_header(request: HttpRequest, authorization: str) -> SignedRequest:
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm not in (ALGORITHM, sigv4a.ALGORITHM):
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
    credential = parts["Credential"]
    region_set: tuple[str, ...] = ()
    if algorithm == sigv4a.ALGORITHM and credential.split("/")[2:3] != ["s3"]:  # S3 alone takes SigV4a
        raise IncompleteSignature(f"Unsupported AWS 'algorithm': '{algorithm}'")
    if algorithm == sigv4a.ALGORITHM:
        region_set = _region_set(request, parts["SignedHeaders"], authorization)
        key_id, slash, rest = credential.partition("/")
        date, slash_too, rest = rest.partition("/")
        # SigV4a's scope names no region: the region set's first stands for it (for S3, only the
        # backend's signature and aws:RequestedRegion use it).
        credential = f"{key_id}{slash}{date}{slash_too}{_first_region(region_set)}/{rest}"
    signed = _signed(
        credential,
        parts["SignedHeaders"],
        parts["Signature"],
        when,
        when_text,
        request.header("x-amz-security-token"),
        presigned=False,
        expires=None,
    )
    if algorithm == sigv4a.ALGORITHM:
        return dataclasses.replace(signed, algorithm=algorithm, region_set=region_set)
    return signed


def _region_set(request: HttpRequest, signed_headers: str, authorization: str) -> tuple[str, ...]:
    """SigV4a's signed `X-Amz-Region-Set`: regions (or patterns of them), comma-separated."""
    value = request.header("x-amz-region-set")
    if value is None or "x-amz-region-set" not in signed_headers.split(";"):
        raise IncompleteSignature(
            "Authorization header requires 'X-Amz-Region-Set' to be a signed header. "
            f"Authorization={authorization}"
        )
    regions = tuple(r.strip() for r in value.split(",") if r.strip())
    if not regions:
        raise IncompleteSignature(f"'X-Amz-Region-Set' names no region. Authorization={authorization}")
    return regions


def _first_region(region_set: tuple[str, ...]) -> str:
    """The region a SigV4a request stands for: the first of its set that is a region, else us-east-1."""
    return next((r for r in region_set if r in regions()), "us-east-1")


def _parse_presigned(request: HttpRequest, query: dict[str, str]) -> SignedRequest:
    is_s3 = query.get("X-Amz-Credential", "").split("/")[3:4] == ["s3"]  # S3 words its refusals its own way
    refusal = AuthorizationQueryParametersError if is_s3 else IncompleteSignature
    missing = [name for name in _QUERY_AUTH if not query.get(name)]
    if missing:
        raise refusal(
            _S3_QUERY_PARAMETERS
            if is_s3
            else "AWS query-string parameters must include "
            + ", ".join(f"'{name}'" for name in missing)
            + ". Re-examine the query-string parameters."
        )
    if query["X-Amz-Algorithm"] != ALGORITHM:
        raise IncompleteSignature(f"Unsupported AWS 'algorithm': '{query['X-Amz-Algorithm']}'")
    expires_text = query.get("X-Amz-Expires")
    expires = None
    if expires_text is not None:
        if expires_text.startswith("-") and expires_text[1:].isascii() and expires_text[1:].isdigit():
            raise refusal("X-Amz-Expires must be non-negative")  # S3's text; the same signer
        if not (expires_text.isascii() and expires_text.isdigit()):
            raise refusal("X-Amz-Expires should be a number")
        digits = expires_text.lstrip("0") or "0"  # a long one is over a week: no int() of 5,000 digits
        expires = int(digits) if len(digits) <= len(str(MAX_PRESIGN_SECONDS)) else MAX_PRESIGN_SECONDS + 1
        if expires > MAX_PRESIGN_SECONDS:
            week = "X-Amz-Expires must be less than a week (in seconds)"
            raise refusal(
                f"{week}; that is, the given X-Amz-Expires must be less than {MAX_PRESIGN_SECONDS} seconds"
                if is_s3
                else f"{week} that is {MAX_PRESIGN_SECONDS}"
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


def _check_time(signed: SignedRequest, now: datetime, *, is_s3: bool) -> None:
    if is_s3:
        _check_s3_time(signed, now)
        return
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


def _check_s3_time(signed: SignedRequest, now: datetime) -> None:
    """S3's clock checks and texts: a presigned URL expires after X-Amz-Expires and may not be dated more
    than 15 minutes ahead; a header-signed request must be within 15 minutes either way."""
    if signed.is_presigned:
        if signed.amz_date > now + MAX_SKEW:
            raise AccessDenied("Request is not yet valid")
        if now - signed.amz_date > timedelta(seconds=signed.expires_seconds or 0):
            raise AccessDenied("Request has expired")
    elif abs(now - signed.amz_date) > MAX_SKEW:
        raise RequestTimeTooSkewed(_SKEWED)


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


_PLAIN_PATH = re.compile(r"/[A-Za-z0-9\-_.~/]*")  # `/`, then only bytes SigV4 leaves as they are


def _s3_canonical_uri(path: str) -> str:
    """S3's canonical URI: each segment of the path as sent, decoded and encoded once again as SigV4
    encodes (every byte but `A-Za-z0-9-_.~`), never normalized: `//`, `.`, `..` and a trailing `/`
    stay, `%2F` stays inside its segment. A client that encodes as botocore does signs its wire path."""
    if _PLAIN_PATH.fullmatch(path):  # nothing to decode nor to encode: the canonical URI as it is
        return path
    try:
        raw = path.encode("latin-1")  # the wire's bytes, as the server decoded them
    except UnicodeEncodeError:
        raw = path.encode()
    if not raw:
        return "/"
    return "/".join(quote(unquote_to_bytes(segment), safe="-_.~") for segment in raw.split(b"/"))


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
