"""KMS key policies kept in Ostiary's store: the one copy the gateway decides with and GetKeyPolicy shows.

A key policy written through the gateway (CreateKey's, AWS's default one when it names none, and
PutKeyPolicy's) goes to the backend first, which checks the key as KMS does; once the backend has taken
it, it is stored beside the key's owner (`store/resources.py`) and the users and roles it names are bound
to their unique ids in the same transaction (`services/named_principals.py`). Deleting one of them then
rewrites the stored text to name its unique id, renaming one to name its new ARN, as AWS does. The
backend's copy is never rewritten, so it is never read again for that key: decisions take the stored
text, and GetKeyPolicy answers it (the backend still says whether the key exists). A key whose policy was
never written through the gateway (made on the backend, or before the gateway kept key policies) has
none stored: the backend's policy decides for it, as before.

A user or role deleted after the gateway's check but before the binding (the backend has taken the
policy meanwhile): the write is refused (MalformedPolicyDocumentException, as KMS refuses a policy naming
a principal that does not exist) and the stored policy stays what it was; a key just made gets its
owner's default key policy, never the text naming the deleted principal.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ostiary.gateway import keypolicies, kms, ownership
from ostiary.gateway.mapping import Facts
from ostiary.gateway.operations import Operation
from ostiary.gateway.ownership import Resource
from ostiary.services import named_principals
from ostiary.store import resources as store
from ostiary.store.db import Database
from ostiary.store.named_principals import key_holder

_NAMES_KEY = frozenset({"PutKeyPolicy", "GetKeyPolicy"})  # the calls whose `KeyId` names the key here
_CONCERNED = _NAMES_KEY | {"CreateKey"}


def concerns(operation: Operation) -> bool:
    """Whether a KMS call writes or reads a stored key policy (CreateKey, PutKeyPolicy, GetKeyPolicy):
    the others (Encrypt, Decrypt...) have nothing to do here once the backend answered."""
    return operation.service == "kms" and operation.name in _CONCERNED


def key_named(
    operation: Operation, facts: Facts, resolve_alias: Callable[[str, str, str], str | None]
) -> Resource | None:
    """The key a PutKeyPolicy or GetKeyPolicy names by its `KeyId` (an id, a key ARN, an alias)."""
    value = operation.params.get("KeyId")
    if operation.service != "kms" or operation.name not in _NAMES_KEY or not isinstance(value, str):
        return None
    return ownership.named_by(kms.key_arn(value, facts)[0], resolve_alias).resource if value else None


def after_success(
    db: Database,
    operation: Operation,
    key: Resource | None,
    account: str,
    default_owner: str,
    body: bytes | None,
    now: datetime,
) -> bytes | None:
    """Once the backend took a KMS call of the caller's `account` on `key`: store the policy a CreateKey
    or PutKeyPolicy gave it; return GetKeyPolicy's answer with the stored policy (None: the backend's)."""
    if key is None:
        return None
    policy = written(operation, account)
    if policy is not None:
        made_by = account if operation.name == "CreateKey" else None
        save(db, key, policy, default_owner=default_owner, now=now, made_by=made_by)
    if operation.name == "GetKeyPolicy" and body is not None:
        return shown(db, key, body)
    return None


def written(operation: Operation, account: str) -> str | None:
    """The key policy a successful CreateKey or PutKeyPolicy gave its key (CreateKey without one: AWS's
    default key policy of the caller's `account`, which the gateway sent), else None."""
    if operation.service != "kms" or operation.name not in ("CreateKey", "PutKeyPolicy"):
        return None
    policy = operation.params.get("Policy")
    if isinstance(policy, str):
        return policy
    return keypolicies.default_key_policy(account) if operation.name == "CreateKey" else None


def save(
    db: Database, key: Resource, text: str, *, default_owner: str, now: datetime, made_by: str | None = None
) -> None:
    """Store the policy the backend took for `key`, and bind the principals it names; refused when one
    of them is gone (a key just made by the account `made_by` gets that account's default key policy
    then). A key with no row yet (one Ostiary never saw made) is `default_owner`'s."""
    try:
        _store(db, key, text, default_owner, now)
    except keypolicies.MalformedPolicyDocumentException:
        if made_by is not None:
            _store(db, key, keypolicies.default_key_policy(made_by), default_owner, now)
        raise


def _store(db: Database, key: Resource, text: str, default_owner: str, now: datetime) -> None:
    with db.transaction() as conn:  # the principals first, held: none is deleted meanwhile
        named_principals.bind(conn, named_principals.KEY, key_holder(key.region, key.name), text, _invalid)
        store.set_policy(conn, "kms", key.region, key.name, text, default_owner=default_owner, now=now)


def shown(db: Database, key: Resource, body: bytes) -> bytes | None:
    """The backend's GetKeyPolicy answer with the stored policy in it (None: the key has none stored)."""
    with db.read() as conn:
        found = store.find(conn, "kms", key.region, key.name)
    text = found[1] if found is not None else None
    if text is None:
        return None
    answer: Any = _json(body)
    if not isinstance(answer, dict):
        return None
    return json.dumps({**answer, "Policy": text}).encode()


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _invalid(_name: str) -> keypolicies.MalformedPolicyDocumentException:
    """KMS's refusal of a key policy naming a user or role that does not exist."""
    return keypolicies.MalformedPolicyDocumentException(keypolicies.INVALID_PRINCIPALS)
