"""From a signed request to a Caller: find the credential, verify the signature over the request."""

from __future__ import annotations

from datetime import datetime

from ostiary.auth import sigv4
from ostiary.auth.caller import Caller, root_caller, user_caller
from ostiary.errors import InvalidClientTokenId
from ostiary.protocol import HttpRequest
from ostiary.settings import Settings
from ostiary.store import access_keys
from ostiary.store.db import Database
from ostiary.store.keyring import Keyring

_INVALID_TOKEN = "The security token included in the request is invalid."


def authenticate(
    request: HttpRequest,
    signed: sigv4.SignedRequest,
    *,
    db: Database,
    keyring: Keyring,
    settings: Settings,
    now: datetime,
) -> Caller:
    """The caller of a signed request, after checking its signature with the key's secret.

    In permissive mode a key that does not exist is the root of the default account, unverified.
    """
    with db.read() as conn:
        owner = access_keys.find_owner(conn, keyring, signed.access_key_id)
    if owner is None:
        if settings.auth == "permissive":
            return root_caller(settings.account_id, signed.access_key_id)
        raise InvalidClientTokenId(_INVALID_TOKEN)
    sigv4.verify(request, signed, owner.secret, now)
    if owner.status != "Active":
        raise InvalidClientTokenId(_INVALID_TOKEN)
    if owner.user_id is None:
        return root_caller(owner.account_id, owner.access_key_id)
    assert owner.user_name is not None and owner.user_path is not None  # a user key always has its user
    return user_caller(owner.account_id, owner.user_id, owner.user_name, owner.user_path, owner.access_key_id)
