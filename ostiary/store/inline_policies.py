"""Inline policies: documents embedded in one user, group or role, keyed by name (case-insensitive)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, delete, select, update

from ostiary.store.tables import inline_policies


def _where(kind: str, entity_id: str) -> tuple[Any, ...]:
    return inline_policies.c.entity_type == kind, inline_policies.c.entity_id == entity_id


def get(conn: Connection, kind: str, entity_id: str, name: str) -> Row[Any] | None:
    stmt = select(inline_policies).where(*_where(kind, entity_id), inline_policies.c.name_key == name.lower())
    return conn.execute(stmt).first()


def all_of(conn: Connection, kind: str, entity_id: str) -> list[Row[Any]]:
    """Every inline policy of one entity (name, document), by name."""
    stmt = select(inline_policies).where(*_where(kind, entity_id)).order_by(inline_policies.c.name_key)
    return list(conn.execute(stmt))


def put(conn: Connection, kind: str, entity_id: str, name: str, document: str) -> None:
    """Add the policy, or replace the document (and the name's spelling) of the one with this name."""
    if get(conn, kind, entity_id, name) is None:
        conn.execute(
            inline_policies.insert().values(
                entity_type=kind, entity_id=entity_id, name_key=name.lower(), name=name, document=document
            )
        )
        return
    conn.execute(
        update(inline_policies)
        .where(*_where(kind, entity_id), inline_policies.c.name_key == name.lower())
        .values(name=name, document=document)
    )


def remove(conn: Connection, kind: str, entity_id: str, name: str) -> None:
    conn.execute(
        delete(inline_policies).where(*_where(kind, entity_id), inline_policies.c.name_key == name.lower())
    )
