"""Session tokens: every fact of a temporary credential, sealed with AES-GCM under the keyring.

A token carries what authentication and authorization need (the ASIA key id and its secret, the
principal, the role, the session policies and tags, issue time and expiry), so any node opens it
without a database read. The payload is compact JSON, deflated, sealed with the purpose
`session-token:v1` bound in, and written as URL-safe base64 behind a short prefix.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import zlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from ostiary.errors import ExpiredToken, InvalidClientTokenId
from ostiary.store.keyring import Keyring, KeyringError

INVALID_MESSAGE = "The security token included in the request is invalid."
EXPIRED_MESSAGE = "The security token included in the request is expired"

_PURPOSE = b"session-token:v1"
_PREFIX = "Os1"
# Payload key of each Session field: short, so that a typical token stays well under 2 KB.
_KEYS = {
    "access_key_id": "k",
    "secret": "s",
    "account_id": "a",
    "principal_type": "t",
    "arn": "p",
    "user_id": "u",
    "issued_at": "i",
    "expires_at": "e",
    "role_id": "ri",
    "role_arn": "ra",
    "session_name": "n",
    "user_name": "un",
    "user_path": "up",
    "source_user_id": "su",
    "service": "sv",
    "is_mfa_authenticated": "m",
    "mfa_authenticated_at": "ma",
    "policy": "pl",
    "policy_arns": "pa",
    "has_session_policy": "hp",
    "tags": "tg",
    "transitive_tag_keys": "tt",
    "source_identity": "si",
    "is_chained": "c",
    "source_principal_arn": "sp",
}
_FIELDS = {short: name for name, short in _KEYS.items()}
_TIMES = ("issued_at", "expires_at", "mfa_authenticated_at")


@dataclass(frozen=True)
class Session:
    """The facts of one set of temporary credentials.

    `principal_type` is aws:PrincipalType: AssumedRole, FederatedUser, User or Account (for
    GetSessionToken), or Service (service-principal credentials). `arn` and `user_id` are what
    GetCallerIdentity returns. `has_session_policy` is true when session policies bound the session
    (always for federated users: no policy then means no permission); `policy` is the inline
    session policy text and `policy_arns` the managed session policies, by reference.
    """

    access_key_id: str
    secret: str = field(repr=False)
    account_id: str
    principal_type: str
    arn: str
    user_id: str
    issued_at: datetime
    expires_at: datetime
    role_id: str | None = None
    role_arn: str | None = None
    session_name: str | None = None
    user_name: str | None = None
    user_path: str | None = None
    source_user_id: str | None = None
    service: str | None = None
    is_mfa_authenticated: bool = False
    mfa_authenticated_at: datetime | None = None
    policy: str | None = None
    policy_arns: tuple[str, ...] = ()
    has_session_policy: bool = False
    tags: tuple[tuple[str, str], ...] = ()
    transitive_tag_keys: tuple[str, ...] = ()
    source_identity: str | None = None
    is_chained: bool = False
    source_principal_arn: str | None = None

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at


def seal(keyring: Keyring, session: Session) -> str:
    """The session token of `session`."""
    payload: dict[str, Any] = {}
    for name, value in asdict(session).items():
        if value is None or value is False or value == ():
            continue
        if name in _TIMES:
            value = int(value.timestamp())
        payload[_KEYS[name]] = value
    raw = zlib.compress(json.dumps(payload, separators=(",", ":")).encode(), 9)
    return _PREFIX + base64.urlsafe_b64encode(keyring.seal(raw, _PURPOSE)).decode().rstrip("=")


def open_token(keyring: Keyring, token: str, now: datetime) -> Session:
    """The session sealed in `token`; InvalidClientTokenId when it does not open, ExpiredToken when old."""
    session = _unseal(keyring, token)
    if session.is_expired(now):
        raise ExpiredToken(EXPIRED_MESSAGE)
    return session


def _unseal(keyring: Keyring, token: str) -> Session:
    if not token.startswith(_PREFIX) or len(token) > 16384:
        raise InvalidClientTokenId(INVALID_MESSAGE)
    body = token[len(_PREFIX) :]
    try:
        sealed = _decode(body)
        payload = json.loads(zlib.decompress(keyring.open(sealed, _PURPOSE)))
        return _session(payload)
    except (KeyringError, binascii.Error, ValueError, zlib.error, KeyError, TypeError) as exc:
        raise InvalidClientTokenId(INVALID_MESSAGE) from exc


def _decode(body: str) -> bytes:
    """The bytes of `body`, which must be their one spelling: URL-safe base64, unpadded, spare bits zero.

    Python's decoder also takes padding, `+/`, stray characters and non-zero spare bits; a token has
    one spelling, as every other credential does, so re-encoding must give back what was sent.
    """
    sealed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    if base64.urlsafe_b64encode(sealed).decode().rstrip("=") != body:
        raise ValueError("not the canonical spelling")
    return sealed


def _session(payload: dict[str, Any]) -> Session:
    values: dict[str, Any] = {}
    for short, value in payload.items():
        name = _FIELDS[short]
        if name in _TIMES:
            value = datetime.fromtimestamp(value, UTC)
        elif name == "tags":
            value = tuple((str(k), str(v)) for k, v in value)
        elif name in ("policy_arns", "transitive_tag_keys"):
            value = tuple(value)
        values[name] = value
    return Session(**values)


def temporary_key_id(account_id: str) -> str:
    """An ASIA access key id that encodes its account as AWS's do (see `account_of_key_id`)."""
    bits = (int(account_id) << 7) | secrets.randbits(7)
    raw = bits.to_bytes(6, "big") + secrets.token_bytes(4)
    return "ASIA" + base64.b32encode(raw).decode()


def account_of_key_id(access_key_id: str) -> str | None:
    """The account AWS's encoding puts in an access key id, or None when it holds none."""
    try:
        raw = base64.b32decode(access_key_id[4:20])
    except (binascii.Error, ValueError):
        return None
    account = (int.from_bytes(raw[:6], "big") & 0x7FFFFFFFFF80) >> 7
    return f"{account:012d}"
