"""The continuation tokens of the lists cut to the caller's own resources, sealed for the caller's account.

ListBuckets, ListKeys and ListAliases are answered from a backend every account shares, cut to the
caller's own (`ownership.visible_answer`). The backend's token says where its next page begins, and a
backend may write it as the name of the last resource it listed (some S3 emulators do): another
account's. So the token a caller gets is the backend's sealed with the keyring (AES-GCM), the caller's
account and the operation bound in as associated data: it names nothing, and it opens only for the same
account and list. A token that does not open (forged, altered, another account's or another list's,
over `MAX_TOKEN_CHARS`) is refused with the service's own error for a bad token, and never reaches the
backend. ListTables needs none of this: its `LastEvaluatedTableName` is always one of the caller's own
tables (`ownership._own_tables`).
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


class InvalidArgument(AwsError):
    """S3's refusal of a `continuation-token` that is not one it handed out (400)."""

    code, status, sender_fault = "InvalidArgument", 400, True


# AWS's texts (S3's as its endpoints answer a bad ListObjectsV2 token; KMS's from its API reference).
_S3_BAD_TOKEN = "The continuation token provided is incorrect"
_KMS_BAD_MARKER = (
    "The request was rejected because the marker that specifies where pagination should next begin is "
    "not valid."
)

# The lists whose tokens are sealed: (service, operation) → the request's member of the token, the
# answer's member of the next one.
SEALED = {
    ("s3", "ListBuckets"): ("ContinuationToken", "ContinuationToken"),
    ("kms", "ListKeys"): ("Marker", "NextMarker"),
    ("kms", "ListAliases"): ("Marker", "NextMarker"),
}


def seal(keyring: Keyring, account: str, operation: Operation, token: str) -> str:
    """The token the caller gets for the backend's `token` of this list."""
    sealed = keyring.seal(token.encode("utf-8"), _purpose(account, operation))
    return PREFIX + base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def open_token(keyring: Keyring, account: str, operation: Operation, token: str) -> str:
    """The backend's token sealed in `token` for this account and list; the service's error for a bad
    token when it is not one."""
    if len(token) > MAX_TOKEN_CHARS or not token.startswith(PREFIX):
        raise _bad_token(operation)
    body = token[len(PREFIX) :]
    try:
        sealed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        if base64.urlsafe_b64encode(sealed).decode().rstrip("=") != body:
            raise ValueError("not the canonical spelling")
        return keyring.open(sealed, _purpose(account, operation)).decode("utf-8")
    except (KeyringError, binascii.Error, ValueError) as exc:
        raise _bad_token(operation) from exc


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
    """The backend's JSON body for a KMS list request: its `Marker` opened."""
    given = given_token(operation)
    if given is None or operation.service == "s3":
        return body
    backend_token = open_token(keyring, account, operation, given)
    request = json.loads(body)  # it parsed already: identify read the operation from it
    request["Marker"] = backend_token
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
    return InvalidMarkerException(_KMS_BAD_MARKER)
