"""Changes other nodes must hear of, announced in the transaction that makes them (PostgreSQL NOTIFY).

A write that changes what a principal may do, or which key signs as whom, calls `announce` in its
transaction: PostgreSQL delivers the notification to every listening node when (and only if) the
transaction commits. On SQLite there is one machine and nothing to announce: each process's caches
compare versions (`accounts.recent_epoch`, `access_keys.changes`).
"""

from __future__ import annotations

import time

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

CHANNEL = "ostiary_changes"
EPOCH, KEYS, RESOURCES = "epoch", "keys", "resources"  # the kinds of change
_NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', :payload)")


def announce(conn: Connection, kind: str, account_id: str = "-") -> None:
    """Tell the other nodes, at commit, that `kind` changed in `account_id` (with when, for their lag)."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(_NOTIFY, {"payload": f"{kind} {account_id} {time.time():.6f}"})


def parse(payload: str) -> tuple[str, str, float] | None:
    """(kind, account, sent at) of a notification's payload, or None for one this version does not know."""
    parts = payload.split(" ")
    if len(parts) != 3 or parts[0] not in (EPOCH, KEYS, RESOURCES):
        return None
    try:
        return parts[0], parts[1], float(parts[2])
    except ValueError:
        return None


def listen_conninfo(database_url: str) -> str | None:
    """The libpq connection string of a PostgreSQL store (for a connection of one's own), else None."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return None
    return url.set(drivername="postgresql").render_as_string(hide_password=False)
