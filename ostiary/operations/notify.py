"""Hearing other nodes' changes: a thread LISTENs on PostgreSQL and drops this node's caches.

Every write that changes authentication or authorization sends a notification in its transaction
(`ostiary.store.changes`). Here one thread per process keeps a connection of its own that LISTENs; each
notification drops the caches it concerns (key owners, account epochs, gateway resources). Two waits,
both bounded, close the race between a client's next request and the notification of its last write:
before a request is handled, `settle` waits for a notification that reached the socket but is not
applied yet; and the node that made a change holds its (successful) answer until it has heard its own
notification back (`hold_answers`), by when PostgreSQL has sent it to every other listener too.

When the connection drops, the node says so in its log and metrics, drops every cache, and falls back
to the version checks the caches always make (an entry lives at most a second); it reconnects with a
growing pause and, connected again, drops every cache once more (it may have missed notifications).
"""

from __future__ import annotations

import asyncio
import logging
import select
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg

from ostiary.store import access_keys, accounts, changes, resources

log = logging.getLogger("ostiary.notify")

SETTLE_SECONDS = 0.1  # the longest a request waits for a notification already arriving
ECHO_SECONDS = 0.1  # the longest an answer waits for its own change's notification to come back
_OWN_TOKENS_MAX = 10_000
_HEARTBEAT_SECONDS = 5.0  # an idle connection is checked this often (a silent network loses no change)
_RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)

Send = Callable[[dict[str, Any]], Awaitable[None]]
_DROPS: dict[str, Callable[[], None]] = {
    changes.EPOCH: accounts.forget_recent_epochs,
    changes.KEYS: access_keys.note_change,
    changes.RESOURCES: resources.note_change,
}


def drop_every_cache() -> None:
    for drop in _DROPS.values():
        drop()


class Listener:
    """The thread that hears the other nodes' changes; `settle()` before answering a request."""

    def __init__(self, conninfo: str, observe: Callable[[str, float], None] | None = None) -> None:
        self._conninfo = conninfo
        self._observe = observe or (lambda kind, lag: None)  # (kind, seconds from commit to here)
        self._cond = threading.Condition()
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._fd = -1
        self._busy = False
        self._drained = 0
        self._stopping = threading.Event()
        self.is_connected = False
        self.heard = 0
        self._has_connected = False
        self._loss_told = False
        self._own_heard: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="ostiary-listener", daemon=True)

    def start(self) -> Listener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=_HEARTBEAT_SECONDS + 1)

    def arriving(self) -> int | None:
        """None when no notification is on this node's socket or being applied (nothing to wait for);
        else the count of drains so far, for `settle` (called off the event loop: it waits)."""
        fd = self._fd
        if fd < 0:
            return None
        with self._cond:
            if not self._busy and not _readable(fd):
                return None
            return self._drained

    def settle(self, seen: int | None = None) -> None:
        """Return once every notification already on this node's socket is applied (or after a bound):
        once a drain after the `seen`-th (`arriving`'s count) has ended."""
        if seen is None:
            seen = self.arriving()
            if seen is None:
                return
        with self._cond:
            self._cond.wait_for(lambda: self._drained > seen and not self._busy, timeout=SETTLE_SECONDS)

    def hold_answers(self, send: Send) -> Send:
        """`send` for one request (call in its task): a successful answer to a request whose writes
        notified waits (bounded) until this node has heard those notifications back."""
        tokens = changes.collect()

        async def held(message: dict[str, Any]) -> None:
            if tokens and message["type"] == "http.response.start" and message["status"] < 300:
                await asyncio.to_thread(self.wait_heard, tuple(tokens), ECHO_SECONDS)
            await send(message)

        return held

    def wait_heard(self, tokens: tuple[str, ...], timeout: float) -> bool:
        """Whether this node heard back the notifications of `tokens` within `timeout` seconds."""
        with self._cond:
            if not self.is_connected:
                return False
            heard = self._cond.wait_for(lambda: self._own_heard.issuperset(tokens), timeout=timeout)
            self._own_heard.difference_update(tokens)
            return heard

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                self._connect()
                failures = 0
                self._listen()
            except Exception as exc:  # noqa: BLE001 - the listener outlives any failure: logged, reconnected
                self._lost(exc)
                pause = _RETRY_SECONDS[min(failures, len(_RETRY_SECONDS) - 1)]
                failures += 1
                self._stopping.wait(pause)
        self._close()

    def _connect(self) -> None:
        conn = psycopg.connect(
            self._conninfo,
            autocommit=True,
            connect_timeout=5,
            application_name="ostiary-listener",
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
        )
        conn.add_notify_handler(lambda note: self._apply(note.payload))  # those a query's answer carried
        conn.execute(f"LISTEN {changes.CHANNEL}")
        self._conn, self._fd = conn, conn.fileno()
        self.is_connected = True
        drop_every_cache()  # whatever changed while no one listened
        if self._has_connected:
            log.warning("change notifications restored; every cache dropped")
        else:
            log.info("listening for other nodes' changes on PostgreSQL channel %s", changes.CHANNEL)
        self._has_connected, self._loss_told = True, False

    def _listen(self) -> None:
        conn = self._conn
        assert conn is not None
        quiet_since = time.monotonic()
        while not self._stopping.is_set():
            ready, _, _ = select.select([self._fd], [], [], 1.0)
            heartbeat = time.monotonic() - quiet_since > _HEARTBEAT_SECONDS
            if ready or heartbeat:
                self._drain(conn, heartbeat=heartbeat)
                quiet_since = time.monotonic()

    def _drain(self, conn: psycopg.Connection[tuple[object, ...]], *, heartbeat: bool = False) -> None:
        with self._cond:
            self._busy = True
        try:
            if heartbeat:
                conn.execute("SELECT 1")  # raises on a connection the server or network dropped
            conn.pgconn.consume_input()
            if conn.pgconn.status != psycopg.pq.ConnStatus.OK:
                raise psycopg.OperationalError("the listening connection is closed")
            while (note := conn.pgconn.notifies()) is not None:
                self._apply(note.extra.decode("utf-8", "replace"))
        finally:
            with self._cond:
                self._busy = False
                self._drained += 1
                self._cond.notify_all()

    def _apply(self, payload: str) -> None:
        parsed = changes.parse(payload)
        if parsed is None:
            log.warning("ignored a change notification this version does not know: `%s`", payload[:100])
            drop_every_cache()  # a newer node's change: safest to forget everything
            return
        kind, _account, sent_at, token = parsed
        _DROPS[kind]()
        self.heard += 1
        self._observe(kind, max(0.0, time.time() - sent_at))
        if changes.own_token(token):
            with self._cond:
                if len(self._own_heard) >= _OWN_TOKENS_MAX:  # tokens no answer waited for
                    self._own_heard.clear()
                self._own_heard.add(token)
                self._cond.notify_all()

    def _lost(self, exc: BaseException) -> None:
        with self._cond:
            self._fd = -1
            self._cond.notify_all()
        if not self._loss_told:
            self._loss_told = True
            log.warning(
                "change notifications lost (%s): falling back to version checks (caches live at most %.0f s)",
                str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                accounts.EPOCH_TTL_SECONDS,
            )
        self.is_connected = False
        drop_every_cache()
        self._close()

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        self._fd = -1
        if conn is not None:
            try:
                conn.close()
            except psycopg.Error:
                pass


def _readable(fd: int) -> bool:
    try:
        return bool(select.select([fd], [], [], 0)[0])
    except (OSError, ValueError):  # closed under us: the thread is reconnecting
        return False


def start(database_url: str, observe: Callable[[str, float], None] | None = None) -> Listener | None:
    """A running listener for a PostgreSQL store; None for SQLite (one machine: nothing to hear)."""
    conninfo = changes.listen_conninfo(database_url)
    if conninfo is None:
        return None
    return Listener(conninfo, observe).start()
