"""Service-linked roles: their deletion tasks, and dropping what hangs on a role deleted by its service."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, delete, select

from ostiary.store.tables import inline_policies, policy_attachments, slr_deletion_tasks


def insert_task(conn: Connection, **values: Any) -> None:
    conn.execute(slr_deletion_tasks.insert().values(**values))


def find_task(conn: Connection, account_id: str, task_id: str) -> Row[Any] | None:
    stmt = select(slr_deletion_tasks).where(
        slr_deletion_tasks.c.account_id == account_id, slr_deletion_tasks.c.task_id == task_id
    )
    return conn.execute(stmt).first()


def drop_policies(conn: Connection, role_id: str) -> None:
    """Detach every managed policy from the role and drop its inline policies."""
    conn.execute(
        delete(policy_attachments).where(
            policy_attachments.c.entity_type == "role", policy_attachments.c.entity_id == role_id
        )
    )
    conn.execute(
        delete(inline_policies).where(
            inline_policies.c.entity_type == "role", inline_policies.c.entity_id == role_id
        )
    )
