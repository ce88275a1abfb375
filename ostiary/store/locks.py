"""Locks that serialise the writers of one entity's quota (its tags, policies, versions).

A quota checked by counting and then inserting holds only if no other writer inserts in between.
SQLite has one writer at a time (BEGIN IMMEDIATE). On PostgreSQL, under READ COMMITTED, two workers
or nodes would each count the rows committed before them and both insert: `hold` takes a lock for the
rest of the transaction, so the second writer counts after the first has committed.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select


def hold(conn: Connection, entity_type: str, entity_id: str) -> None:
    """Wait for, then hold until this transaction ends, the lock of one entity's quotas; take it
    before counting."""
    if conn.dialect.name != "postgresql":
        return  # SQLite: the write transaction holds the database's one write lock already
    key = func.hashtextextended(f"{entity_type}/{entity_id}", 0)
    conn.execute(select(func.pg_advisory_xact_lock(key)))


def hold_policy(conn: Connection, arn: str) -> None:
    """The lock of one managed policy's versions, its default and the boundaries naming it (by ARN):
    a version made the default is not deleted meanwhile, nor a policy made a boundary."""
    hold(conn, "policy-arn", arn)
