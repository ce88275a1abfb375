"""The recorder: every event written down before its answer leaves, moved into the database in batches.

The request path does one `os.write` of a JSON line to this process's write-ahead segment (opened
O_APPEND) and keeps the event in memory; it never waits for the database. A background thread, every
`FLUSH_SECONDS` or sooner when a batch fills, starts a new segment, fsyncs the old one, inserts its
events in one transaction and deletes it. A process killed with kill -9 leaves its segments behind: the
next process to start over the same folder replays them (events already inserted are skipped by their
eventID), so no answered call loses its event. A power cut can lose what was not yet fsynced: at most
one flush interval.

Segments live in `<data dir>/trail/`: `<owner>.lock`, held with flock by its live process, and
`<owner>.<n>.jsonl`. An owner whose lock can be taken is dead, and its segments are replayed.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import logging
import os
import threading
import uuid
import weakref
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ostiary.store import trail_events
from ostiary.store.db import Database
from ostiary.trail import events

log = logging.getLogger("ostiary.trail")

FLUSH_SECONDS = 0.2
BATCH_EVENTS = 1000
RETENTION_CHECK_SECONDS = 3600.0

_RECORDERS: weakref.WeakKeyDictionary[Database, Recorder] = weakref.WeakKeyDictionary()


def of(db: Database) -> Recorder | None:
    """The recorder writing the trail of `db` in this process, None when the trail is off."""
    return _RECORDERS.get(db)


class Recorder:
    """This process's trail writer over one database and one segment folder."""

    def __init__(self, db: Database, folder: Path, *, retention_days: int | None = None) -> None:
        self.db = db
        self.folder = folder
        self.retention_days = retention_days
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._owner = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self._lock_fd = os.open(folder / f"{self._owner}.lock", os.O_WRONLY | os.O_CREAT, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._lock = threading.Lock()  # the segment and its events change together
        self._flushing = threading.Lock()  # one flush at a time
        self._sequence = 0
        self._fd, self._path = self._open_segment()
        self._pending: list[dict[str, Any]] = []
        self._stranded: list[tuple[Path, list[dict[str, Any]]]] = []  # written, not yet in the database
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._last_retention = 0.0
        self.replay()
        self._thread = threading.Thread(target=self._run, name="ostiary-trail", daemon=True)
        self._thread.start()
        _RECORDERS[db] = self
        atexit.register(self.close)  # a clean stop leaves no segment behind

    def record(self, records: Sequence[dict[str, Any]]) -> None:
        """Write records down (one write, before the caller answers); the database gets them later."""
        data = b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in records)
        with self._lock:
            os.write(self._fd, data)
            self._pending.extend(records)
            full = len(self._pending) >= BATCH_EVENTS
        if full:
            self._wake.set()

    def flush(self) -> None:
        """Move what is written into the database now (LookupEvents calls it: a caller sees its own calls)."""
        with self._flushing:
            with self._lock:
                batch, self._pending = self._pending, []
                fd, path = self._fd, self._path
                if batch:
                    self._fd, self._path = self._open_segment()
            if batch:
                os.fsync(fd)
                os.close(fd)
                self._stranded.append((path, batch))
            while self._stranded:
                path, batch = self._stranded[0]
                with self.db.transaction() as conn:
                    trail_events.insert_new(conn, [stored(r) for r in batch])
                path.unlink(missing_ok=True)
                self._stranded.pop(0)

    def replay(self) -> int:
        """Insert what dead processes' segments hold, then delete them; the number of new events."""
        count = 0
        for lock in sorted(self.folder.glob("*.lock")):
            owner = lock.name.removesuffix(".lock")
            if owner == self._owner:
                continue
            fd = os.open(lock, os.O_WRONLY)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # alive: its own thread moves its events
                for segment in sorted(self.folder.glob(f"{owner}.*.jsonl"), key=_sequence_of):
                    records = _read_segment(segment)
                    with self.db.transaction() as conn:
                        count += trail_events.insert_new(conn, [stored(r) for r in records])
                    segment.unlink(missing_ok=True)
                lock.unlink(missing_ok=True)
            finally:
                os.close(fd)
        if count:
            log.info("trail: replayed %d events a stopped process had written down", count)
        return count

    def close(self) -> None:
        """Stop the background thread after a last flush (what cannot be flushed stays on disk)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)
        try:
            self.flush()
        except Exception as exc:  # noqa: BLE001 - the next start replays what is left
            log.warning("trail: events left on disk for the next start (%s)", exc)
            return
        os.close(self._fd)
        self._path.unlink(missing_ok=True)
        (self.folder / f"{self._owner}.lock").unlink(missing_ok=True)
        os.close(self._lock_fd)
        _RECORDERS.pop(self.db, None)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            try:
                self.flush()
                self._apply_retention()
            except Exception as exc:  # noqa: BLE001 - the database may be away: the segments wait on disk
                log.warning("trail: events not moved into the database yet (%s); will retry", exc)
                self._stop.wait(1.0)

    def _apply_retention(self) -> None:
        if self.retention_days is None:
            return
        now = datetime.now(UTC)
        if now.timestamp() - self._last_retention < RETENTION_CHECK_SECONDS:
            return
        self._last_retention = now.timestamp()
        with self.db.transaction() as conn:
            removed = trail_events.delete_before(conn, now - timedelta(days=self.retention_days))
        if removed:
            log.info("trail: %d events older than %d days removed", removed, self.retention_days)

    def _open_segment(self) -> tuple[int, Path]:
        self._sequence += 1
        path = self.folder / f"{self._owner}.{self._sequence}.jsonl"
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), path


def stored(record: dict[str, Any]) -> trail_events.StoredEvent:
    """A record as the store keeps it: its lookup columns, its resources and its JSON."""
    identity = record.get("userIdentity") or {}
    return trail_events.StoredEvent(
        event_id=record["eventID"],
        account_id=record["recipientAccountId"],
        event_time=datetime.strptime(record["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC),
        event_name=record["eventName"],
        event_source=record["eventSource"],
        read_only=bool(record.get("readOnly")),
        username=events.username_of(identity),
        access_key_id=identity.get("accessKeyId") or None,
        record=json.dumps(record, separators=(",", ":")),
        resources=tuple(events.lookup_resources(record)),
    )


def _read_segment(path: Path) -> list[dict[str, Any]]:
    """The records of a segment; a torn last line (a power cut mid-write) is skipped."""
    records = []
    for line in path.read_bytes().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            log.warning("trail: a torn line in %s skipped", path.name)
            continue
        if isinstance(record, dict) and "eventID" in record:
            records.append(record)
    return records


def _sequence_of(path: Path) -> int:
    try:
        return int(path.name.rsplit(".", 2)[-2])
    except ValueError:
        return 0
