"""The SAML assertions accepted so far, each until its NotOnOrAfter: an assertion is accepted once.

Kept in the store, not in a process's memory, so that every node of a cluster (or `--workers`
process) refuses an assertion another one accepted. An assertion is keyed by a digest of its provider's
ARN and its ID (an ID is as long as its identity provider makes it); rows past their time are deleted as
claims come, at most once a minute per process.
"""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import datetime

from sqlalchemy import Column, Connection, DateTime, Index, String, Table, delete, update
from sqlalchemy.dialects import postgresql, sqlite

from ostiary.store.tables import metadata

# Migration 0019. No foreign key: a claim outlives nothing it must follow (it expires in minutes).
saml_assertions_used = Table(
    "saml_assertions_used",
    metadata,
    Column("digest", String(64), primary_key=True),  # sha256(provider ARN, NUL, assertion ID), hex
    Column("not_on_or_after", DateTime(timezone=True), nullable=False),
    Index("ix_saml_assertions_used_not_on_or_after", "not_on_or_after"),
)

SWEEP_SECONDS = 60.0
_swept = [0.0]  # when this process last deleted the expired claims
_sweeping = threading.Lock()


def claim(conn: Connection, provider_arn: str, assertion_id: str, until: datetime, now: datetime) -> bool:
    """True the first time an assertion is claimed before `until` (its NotOnOrAfter), on any node;
    False while an earlier claim holds. Atomic: of two nodes claiming at once, one wins."""
    key = hashlib.sha256(f"{provider_arn}\x00{assertion_id}".encode()).hexdigest()
    _sweep(conn, now)
    t = saml_assertions_used.c
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(saml_assertions_used)
    taken = insert.values(digest=key, not_on_or_after=until).on_conflict_do_nothing().returning(t.digest)
    if conn.execute(taken).first() is not None:  # (PostgreSQL's driver counts no rows of an upsert)
        return True
    # claimed before: again only once that claim's time is over (its row not swept yet)
    renewed = conn.execute(
        update(saml_assertions_used)
        .where(t.digest == key, t.not_on_or_after <= now)
        .values(not_on_or_after=until)
    )
    return bool(renewed.rowcount == 1)


def _sweep(conn: Connection, now: datetime) -> None:
    """Delete the claims whose time is over, at most once every SWEEP_SECONDS in this process."""
    clock = time.monotonic()
    with _sweeping:
        if _swept[0] and clock - _swept[0] < SWEEP_SECONDS:
            return
        _swept[0] = clock
    conn.execute(delete(saml_assertions_used).where(saml_assertions_used.c.not_on_or_after <= now))
