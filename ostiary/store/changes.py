"""Changes other nodes must hear of, announced in the transaction that makes them (PostgreSQL NOTIFY).

A write that changes what a principal may do, or which key signs as whom, calls `announce` in its
transaction: PostgreSQL delivers the notification to every listening node when (and only if) the
transaction commits. On SQLite there is one machine and nothing to announce: each process's caches
compare versions (`accounts.recent_epoch`, `access_keys.changes`).
"""

from __future__ import annotations

import itertools
import os
import time
from contextvars import ContextVar

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

CHANNEL = "ostiary_changes"
EPOCH, KEYS, RESOURCES = "epoch", "keys", "resources"  # the kinds of change
_NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', :payload)")
_serials = itertools.count()
_announced: ContextVar[list[str] | None] = ContextVar("ostiary_announced", default=None)


def collect() -> list[str]:
    """From now on in this request (its task, and the threads it hands work to), the tokens of the
    notifications its writes send gather in the list returned."""
    found: list[str] = []
    _announced.set(found)
    return found


def announce(conn: Connection, kind: str, account_id: str = "-") -> None:
    """Tell the other nodes, at commit, that `kind` changed in `account_id` (with when, for their lag,
    and a token this process can recognise when it hears its own notification)."""
    if conn.dialect.name != "postgresql":
        return
    token = f"{os.getpid()}.{next(_serials)}"
    conn.execute(_NOTIFY, {"payload": f"{kind} {account_id} {time.time():.6f} {token}"})
    found = _announced.get()
    if found is not None:
        found.append(token)


def own_token(token: str) -> bool:
    """Whether this process sent the notification of `token`."""
    return token.startswith(f"{os.getpid()}.")


def parse(payload: str) -> tuple[str, str, float, str] | None:
    """(kind, account, sent at, token) of a notification, or None for one this version does not know."""
    parts = payload.split(" ")
    if len(parts) != 4 or parts[0] not in (EPOCH, KEYS, RESOURCES):
        return None
    try:
        return parts[0], parts[1], float(parts[2]), parts[3]
    except ValueError:
        return None


def listen_conninfo(database_url: str) -> str | None:
    """The libpq connection string of a PostgreSQL store (for a connection of one's own), else None."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return None
    return url.set(drivername="postgresql").render_as_string(hide_password=False)
