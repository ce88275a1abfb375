"""GetAccountProperties and PutAccountProperties: an account's `Namespace/PropertyName` settings.

The model documents the keys' form (one `/` between a namespace and a property name, every key of a
request in one namespace) but neither the namespaces AWS knows nor their types: Ostiary keeps any
well-formed key with its value as given, and reads back what was put. The refusal texts are ours: AWS
records none. An account keeps at most MAX_PROPERTIES, so that no caller can grow the store unbounded.
"""

from __future__ import annotations

import re
from typing import Any

from ostiary.errors import ConcurrentModificationException, InvalidInputException
from ostiary.services import Context, operation
from ostiary.store import account_properties as store

MAX_PROPERTIES = 100
_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_-]*/[A-Za-z0-9_-]+")


@operation("GetAccountProperties")
def get_account_properties(ctx: Context) -> dict[str, Any]:
    with ctx.db.read() as conn:
        return {"Properties": store.properties(conn, ctx.account_id)}


@operation("PutAccountProperties")
def put_account_properties(ctx: Context, properties: dict[str, str]) -> dict[str, Any]:
    if not properties:
        raise InvalidInputException("Properties must contain at least one property.")
    for key in properties:
        if _KEY.fullmatch(key) is None:
            raise InvalidInputException(
                f"Property key {key} must be in the format Namespace/PropertyName, "
                "with exactly one / that neither starts nor ends it."
            )
    if len({namespace_of(key) for key in properties}) > 1:
        raise InvalidInputException("All properties in a request must belong to the same namespace.")
    conflict = ConcurrentModificationException(
        "The request was rejected because multiple requests to change this object were submitted "
        "simultaneously. Wait a few minutes and submit your request again."
    )
    with ctx.db.transaction(on_conflict=conflict) as conn:
        if store.count_new(conn, ctx.account_id, list(properties)) > MAX_PROPERTIES:
            raise InvalidInputException(f"An account can have at most {MAX_PROPERTIES} properties.")
        store.put(conn, ctx.account_id, properties, ctx.now)
    return {}


def namespace_of(key: str) -> str:
    """The namespace of a `Namespace/PropertyName` key."""
    return key.split("/", 1)[0]
