"""Tags of any taggable entity, in the `tags` table, keyed by (entity_type, entity_id, key).

IAM matches the tag keys of users, roles and instance profiles case-insensitively (the stored key
keeps the newest spelling), and those of managed policies case-sensitively: `key_lower` holds the
key as it is matched, so the primary key enforces the right uniqueness for each.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, delete, func, select, update

from ostiary.store.prepared import Prepared
from ostiary.store.tables import managed_policies, tags

CASE_SENSITIVE = frozenset({"policy"})  # entity types whose tag keys match case-sensitively


def match_key(entity_type: str, key: str) -> str:
    """The key as it is matched for this entity type."""
    return key if entity_type in CASE_SENSITIVE else key.lower()


ADDED_ORDER = (tags.c.position, tags.c.key_lower)  # the order an entity's tags were added in

_ROWS = Prepared(
    select(tags.c.key, tags.c.value, tags.c.position)
    .where(tags.c.entity_type == bindparam("type"), tags.c.entity_id == bindparam("id"))
    .order_by(*ADDED_ORDER)
)


def rows(conn: Connection, entity_type: str, entity_id: str) -> list[tuple[str, str, int]]:
    """(key, value, position) of every tag of one entity, in position order."""
    return [(r.key, r.value, r.position) for r in _ROWS.all(conn, {"type": entity_type, "id": entity_id})]


def existing_keys(conn: Connection, entity_type: str, entity_id: str) -> set[str]:
    """The matched keys (`key_lower`) an entity already has."""
    result = conn.execute(
        select(tags.c.key_lower).where(tags.c.entity_type == entity_type, tags.c.entity_id == entity_id)
    )
    return {r[0] for r in result}


def upsert(
    conn: Connection, entity_type: str, entity_id: str, new: list[tuple[str, str]], have: set[str]
) -> None:
    """Set each (key, value): replace the value (and the key's spelling) of a matching key, or add it.

    `have` is the entity's `existing_keys`, as the caller read them in this transaction.
    """
    have = set(have)
    top = conn.execute(
        select(func.max(tags.c.position)).where(
            tags.c.entity_type == entity_type, tags.c.entity_id == entity_id
        )
    ).scalar()
    position = -1 if top is None else int(top)
    for key, value in new:
        matched = match_key(entity_type, key)
        where = (
            tags.c.entity_type == entity_type,
            tags.c.entity_id == entity_id,
            tags.c.key_lower == matched,
        )
        if matched in have:
            conn.execute(update(tags).where(*where).values(key=key, value=value))
            continue
        position += 1
        have.add(matched)
        conn.execute(
            tags.insert().values(
                entity_type=entity_type,
                entity_id=entity_id,
                key_lower=matched,
                key=key,
                value=value,
                position=position,
            )
        )


def remove(conn: Connection, entity_type: str, entity_id: str, keys: list[str]) -> None:
    """Remove the tags with these keys; keys the entity lacks are ignored, as IAM does."""
    matched = {match_key(entity_type, k) for k in keys}
    if matched:
        conn.execute(
            delete(tags).where(
                tags.c.entity_type == entity_type,
                tags.c.entity_id == entity_id,
                tags.c.key_lower.in_(matched),
            )
        )


def remove_all(conn: Connection, entity_type: str, entity_id: str) -> None:
    """Drop every tag of an entity (when the entity itself is deleted)."""
    conn.execute(delete(tags).where(tags.c.entity_type == entity_type, tags.c.entity_id == entity_id))


def policy_id_by_arn(conn: Connection, account_id: str, arn: str) -> str | None:
    """The unique id of one of the account's managed policies, by its ARN, or None."""
    stmt = select(managed_policies.c.policy_id).where(
        managed_policies.c.arn == arn, managed_policies.c.account_id == account_id
    )
    value = conn.execute(stmt).scalar()
    return None if value is None else str(value)
