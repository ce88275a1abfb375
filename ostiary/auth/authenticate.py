"""From a signed request to a Caller: find the credential, verify the signature over the request.

Long-term keys (AKIA) are looked up in the store; temporary keys (ASIA) come with a sealed session
token that holds their secret and every session fact, so no database read is needed for them.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

from ostiary import blocking
from ostiary.auth import role_use, sigv4, tokens
from ostiary.auth.caller import Caller, root_caller, session_caller, user_caller
from ostiary.errors import InvalidClientTokenId
from ostiary.protocol import HttpRequest
from ostiary.settings import Settings
from ostiary.store import access_keys, principals
from ostiary.store.db import Database
from ostiary.store.keyring import Keyring

_INVALID_TOKEN = tokens.INVALID_MESSAGE
_LAST_USE_INTERVAL_SECONDS = 60.0
_OWNER_TTL_SECONDS = 1.0
_OWNER_CACHE_SIZE = 10_000
PERMISSIVE_USER = "ostiary-permissive"


def authenticate(
    request: HttpRequest,
    signed: sigv4.SignedRequest,
    *,
    db: Database,
    keyring: Keyring,
    settings: Settings,
    now: datetime,
    services: frozenset[str] = sigv4.SERVICES,
) -> Caller:
    """The caller of a signed request, after checking its signature with the key's secret.

    In permissive mode a key that does not exist is, unverified, the default account's permissive user
    (`ostiary serve` makes it), or its root when that user is gone. `services` are those the credential
    scope may name (the gateway's add to IAM and STS).
    """
    caller, _ = authenticate_with_key(
        request, signed, db=db, keyring=keyring, settings=settings, now=now, services=services
    )
    return caller


def authenticate_with_key(
    request: HttpRequest,
    signed: sigv4.SignedRequest,
    *,
    db: Database,
    keyring: Keyring,
    settings: Settings,
    now: datetime,
    services: frozenset[str] = sigv4.SERVICES,
) -> tuple[Caller, bytes | None]:
    """As `authenticate`, with the signing key that verified the request: the seed of an aws-chunked
    payload's chunk signatures (`ostiary.auth.payload`); None when nothing was verified (permissive
    mode's unknown keys)."""
    if signed.session_token:
        caller, key = _session(request, signed, keyring, now, services)
        return role_use.noted(db, signed, now, caller), key
    owner = _owners.get(db, keyring, signed.access_key_id)
    if owner is None:
        if settings.auth == "permissive" and not signed.access_key_id.startswith("ASIA"):
            sigv4.check_scope(signed, services)  # unverified, but its region becomes aws:RequestedRegion
            return _permissive.caller(db, settings.account_id, signed.access_key_id), None
        raise InvalidClientTokenId(_INVALID_TOKEN)
    key = sigv4.verify(request, signed, owner.secret, now, services)
    if owner.status != "Active":
        raise InvalidClientTokenId(_INVALID_TOKEN)
    _last_use.record(db, signed, now)
    if owner.user_id is None:
        return root_caller(owner.account_id, owner.access_key_id), key
    assert owner.user_name is not None and owner.user_path is not None  # a user key always has its user
    user = user_caller(owner.account_id, owner.user_id, owner.user_name, owner.user_path, owner.access_key_id)
    return user, key


def _session(
    request: HttpRequest,
    signed: sigv4.SignedRequest,
    keyring: Keyring,
    now: datetime,
    services: frozenset[str],
) -> tuple[Caller, bytes]:
    session = tokens.open_token(keyring, signed.session_token or "", now)
    if session.access_key_id != signed.access_key_id:
        raise InvalidClientTokenId(_INVALID_TOKEN)
    key = sigv4.verify(request, signed, session.secret, now, services)
    if signed.service == "iam" and not _may_call_iam(session):
        raise InvalidClientTokenId(_INVALID_TOKEN)
    return session_caller(session), key


def _may_call_iam(session: tokens.Session) -> bool:
    """AWS keeps IAM from federated-user and service sessions, and from GetSessionToken ones without MFA."""
    if session.principal_type in ("FederatedUser", "Service"):
        return False
    return session.principal_type == "AssumedRole" or session.is_mfa_authenticated


class _OwnerCache:
    """Long-term keys with their opened secrets, kept briefly so a request needs no key lookup.

    An entry serves until this process changes any key or key owner (exact on one node: requests are
    handled one at a time) and at most `_OWNER_TTL_SECONDS`, the bound on what another node's change
    may take to reach this one.
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[access_keys.KeyOwner, int, float]] = {}
        self.hits = 0  # lookups answered without the store, and those that read it: for metrics
        self.misses = 0

    def get(self, db: Database, keyring: Keyring, access_key_id: str) -> access_keys.KeyOwner | None:
        entry = self._entries.get(access_key_id)
        clock = time.monotonic()
        version = access_keys.changes()
        if entry is not None and entry[1] == version and clock - entry[2] < _OWNER_TTL_SECONDS:
            self.hits += 1
            return entry[0]
        self.misses += 1
        with db.read() as conn:
            owner = access_keys.find_owner(conn, keyring, access_key_id)
        if owner is not None:
            if len(self._entries) > _OWNER_CACHE_SIZE:
                self._entries.clear()
            self._entries[access_key_id] = (owner, version, clock)
        return owner


class _PermissiveUser:
    """The user that unknown keys stand for in permissive mode, looked up at most once per TTL."""

    def __init__(self) -> None:
        self._entry: tuple[Database, str, principals.Entity | None, float] | None = None

    def caller(self, db: Database, account_id: str, access_key_id: str) -> Caller:
        clock = time.monotonic()
        entry = self._entry
        if entry is None or entry[:2] != (db, account_id) or clock - entry[3] >= _OWNER_TTL_SECONDS:
            with db.read() as conn:
                user = principals.find_named(conn, account_id, "user", PERMISSIVE_USER)
            entry = self._entry = (db, account_id, user, clock)
        user = entry[2]
        if user is None:
            return root_caller(account_id, access_key_id)
        return user_caller(account_id, user.entity_id, user.name, user.path, access_key_id)


class _LastUse:
    """Records a long-term key's last use at most once a minute per key (in memory, per node)."""

    def __init__(self) -> None:
        self._recorded: dict[str, float] = {}
        self._lock = threading.Lock()

    def record(self, db: Database, signed: sigv4.SignedRequest, now: datetime) -> None:
        tick = time.monotonic()
        with self._lock:
            last = self._recorded.get(signed.access_key_id)
            if last is not None and tick - last < _LAST_USE_INTERVAL_SECONDS:
                return
            blocking.check()  # on the event loop: recorded when the request runs again on a thread
            self._recorded[signed.access_key_id] = tick
        with db.transaction(durable=False) as conn:
            access_keys.record_use(conn, signed.access_key_id, signed.service, signed.region, now)


_last_use = _LastUse()
_owners = _OwnerCache()
key_owners = _owners  # the cache, as metrics read it
_permissive = _PermissiveUser()
