"""The continuation tokens of the lists cut to the caller's own resources, sealed for the caller's account.

ListBuckets, ListKeys, ListAliases, ListRetirableGrants, ListBackups, ListExports and ListImports are
answered from a backend every account shares, cut to the caller's own (`ownership.visible_answer`). The
backend's token says where its next page begins, and a backend may write it as the name of the last
resource it listed (some S3 emulators do; DynamoDB's `LastEvaluatedBackupArn` always does): another
account's. So the token a caller gets is the backend's sealed with the keyring (AES-GCM), the caller's
account and the operation bound in as associated data: it names nothing, and it opens only for the same
account and list. A token that does not open (forged, altered, another account's or another list's,
over `MAX_TOKEN_CHARS`) is refused with the service's own error for a bad token, and never reaches the
backend. ListTables and ListGlobalTables need none of this: their `LastEvaluated...Name` is always one
of the caller's own (`ownership._own_page`; a sealed name would not fit TableName's 255 characters).

A sealed token is `ot1.` and base64url, except ListImports' `NextToken`, whose model asks for
`([0-9a-f]{16})+` of 112 to 1,024 characters: it is written in hex, padded to that shape. The members'
model limits (botocore) leave room: BackupArn and KMS's MarkerType allow 1,024 characters (a sealed
token is 4/3 of the backend's plus 42), ExportNextToken has none; ListImports' stays under 1,024 while
the backend's token is under 470 characters.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode
from xml.sax.saxutils import escape, unescape

from ostiary.errors import AwsError
from ostiary.gateway.operations import Operation
from ostiary.store.keyring import Keyring, KeyringError

PREFIX = "ot1."
MAX_TOKEN_CHARS = 8192  # a token longer than this is refused before it is decoded (it seals 6 KB)
_PURPOSE = b"list-token:v1"
_S3_TOKEN = re.compile(r"<ContinuationToken>([^<]*)</ContinuationToken>")


class InvalidMarkerException(AwsError):
    """KMS's refusal of a `Marker` that is not one it handed out (400)."""

    code, status, sender_fault = "InvalidMarkerException", 400, True


class ValidationException(AwsError):
    """DynamoDB's refusal of a request member it does not accept, a list's start token too (400)."""

    code, status, sender_fault = "ValidationException", 400, True


class InvalidArgument(AwsError):
    """S3's refusal of a `continuation-token` that is not one it handed out (400)."""

    code, status, sender_fault = "InvalidArgument", 400, True


# AWS's texts (S3's as its endpoints answer a bad ListObjectsV2 token; KMS's from its API reference).
_S3_BAD_TOKEN = "The continuation token provided is incorrect"
_KMS_BAD_MARKER = (
    "The request was rejected because the marker that specifies where pagination should next begin is "
    "not valid."
)

# Our reading: DynamoDB answers a start token it did not hand out with ValidationException (400), as
# real DynamoDB does for ListExports (scylladb's tests against AWS); its text is not documented.
_DYNAMODB_BAD_TOKEN = "The provided {member} is not valid"

# The lists whose tokens are sealed: (service, operation) → the request's member of the token, the
# answer's member of the next one.
SEALED = {
    ("s3", "ListBuckets"): ("ContinuationToken", "ContinuationToken"),
    ("kms", "ListKeys"): ("Marker", "NextMarker"),
    ("kms", "ListAliases"): ("Marker", "NextMarker"),
    ("kms", "ListRetirableGrants"): ("Marker", "NextMarker"),
    ("dynamodb", "ListBackups"): ("ExclusiveStartBackupArn", "LastEvaluatedBackupArn"),
    ("dynamodb", "ListExports"): ("NextToken", "NextToken"),
    ("dynamodb", "ListImports"): ("NextToken", "NextToken"),
}
# The lists whose sealed tokens are written in hex (ImportNextToken's pattern): 8-byte blocks, 56 at least.
HEX = frozenset({("dynamodb", "ListImports")})
_HEX_TOKEN = re.compile(r"(?:[0-9a-f]{16})+")
_HEX_BLOCK, _HEX_MIN_BYTES, _SEAL_OVERHEAD = 8, 56, 28  # nonce 12 + tag 16


def seal(keyring: Keyring, account: str, operation: Operation, token: str) -> str:
    """The token the caller gets for the backend's `token` of this list."""
    if (operation.service, operation.name) in HEX:
        return keyring.seal(_padded(token.encode("utf-8")), _purpose(account, operation)).hex()
    sealed = keyring.seal(token.encode("utf-8"), _purpose(account, operation))
    return PREFIX + base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def open_token(keyring: Keyring, account: str, operation: Operation, token: str) -> str:
    """The backend's token sealed in `token` for this account and list; the service's error for a bad
    token when it is not one."""
    if len(token) > MAX_TOKEN_CHARS:
        raise _bad_token(operation)
    if (operation.service, operation.name) in HEX:
        return _open_hex(keyring, account, operation, token)
    if not token.startswith(PREFIX):
        raise _bad_token(operation)
    body = token[len(PREFIX) :]
    try:
        sealed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        if base64.urlsafe_b64encode(sealed).decode().rstrip("=") != body:
            raise ValueError("not the canonical spelling")
        return keyring.open(sealed, _purpose(account, operation)).decode("utf-8")
    except (KeyringError, binascii.Error, ValueError) as exc:
        raise _bad_token(operation) from exc


def _open_hex(keyring: Keyring, account: str, operation: Operation, token: str) -> str:
    if _HEX_TOKEN.fullmatch(token) is None:
        raise _bad_token(operation)
    try:
        padded = keyring.open(bytes.fromhex(token), _purpose(account, operation))
        return _unpadded(padded).decode("utf-8")
    except (KeyringError, ValueError) as exc:
        raise _bad_token(operation) from exc


def _padded(plain: bytes) -> bytes:
    """`plain` and n bytes of value n, so that it seals to whole 8-byte blocks, 56 bytes at least."""
    n = 1 + (-(_SEAL_OVERHEAD + len(plain) + 1) % _HEX_BLOCK)
    short = _HEX_MIN_BYTES - (_SEAL_OVERHEAD + len(plain) + n)
    if short > 0:
        n += short + (-short % _HEX_BLOCK)
    return plain + bytes([n]) * n


def _unpadded(padded: bytes) -> bytes:
    n = padded[-1] if padded else 0
    if not 1 <= n <= len(padded) or padded[-n:] != bytes([n]) * n:
        raise ValueError("not padded")
    return padded[:-n]


def given_token(operation: Operation) -> str | None:
    """The token a request of a sealed list carries, or None."""
    members = SEALED.get((operation.service, operation.name))
    if members is None:
        return None
    value = operation.params.get(members[0])
    return value if isinstance(value, str) else None


def s3_target(keyring: Keyring, account: str, operation: Operation, target: str) -> str:
    """The backend's path and query for an S3 request: a ListBuckets' `continuation-token` opened."""
    given = given_token(operation)
    if given is None or operation.service != "s3":
        return target
    backend_token = open_token(keyring, account, operation, given)
    path, _, query = target.partition("?")
    pairs = [
        (name, backend_token if name == "continuation-token" else value)
        for name, value in parse_qsl(query, keep_blank_values=True)
    ]
    return f"{path}?{urlencode(pairs, quote_via=quote)}"


def json_body(keyring: Keyring, account: str, operation: Operation, body: bytes) -> bytes:
    """The backend's JSON body for a KMS or DynamoDB list request: its token member opened."""
    given = given_token(operation)
    if given is None or operation.service == "s3":
        return body
    backend_token = open_token(keyring, account, operation, given)
    request = json.loads(body)  # it parsed already: identify read the operation from it
    request[SEALED[(operation.service, operation.name)][0]] = backend_token
    return json.dumps(request).encode()


def sealed_answer(keyring: Keyring, account: str, operation: Operation, body: bytes) -> bytes | None:
    """A list answer with the backend's next token sealed; None when it carries none."""
    kind = (operation.service, operation.name)
    if kind not in SEALED:
        return None
    if operation.service == "s3":
        return _sealed_xml(keyring, account, operation, body)
    try:
        answer: Any = json.loads(body)
    except ValueError:
        return None
    member = SEALED[kind][1]
    token = answer.get(member) if isinstance(answer, dict) else None
    if not isinstance(token, str):
        return None
    answer[member] = seal(keyring, account, operation, token)
    return json.dumps(answer).encode()


def _sealed_xml(keyring: Keyring, account: str, operation: Operation, body: bytes) -> bytes | None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    found = _S3_TOKEN.search(text)
    if found is None:
        return None
    sealed = seal(keyring, account, operation, unescape(found[1]))
    element = f"<ContinuationToken>{escape(sealed)}</ContinuationToken>"
    return (text[: found.start()] + element + text[found.end() :]).encode("utf-8")


def _purpose(account: str, operation: Operation) -> bytes:
    return b"\0".join((_PURPOSE, account.encode(), operation.service.encode(), operation.name.encode()))


def _bad_token(operation: Operation) -> AwsError:
    if operation.service == "s3":
        return InvalidArgument(_S3_BAD_TOKEN)
    if operation.service == "dynamodb":
        member = SEALED[(operation.service, operation.name)][0]
        return ValidationException(_DYNAMODB_BAD_TOKEN.format(member=member))
    return InvalidMarkerException(_KMS_BAD_MARKER)
