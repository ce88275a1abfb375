"""The recorder: every event written down before its answer leaves, moved into the database in batches.

The request path copies a call's frame (`events.call`: primitives, secrets already out) into this
process's write-ahead segment (a file mapped into memory: `segments`), which alone keeps it; it never
waits for the database, a file's creation or a page fault. A background thread makes the next segment
ahead (created, sized to the traffic, its pages faulted in) and, every `FLUSH_SECONDS` or sooner when
a batch fills, swaps it in, syncs the old one and hands it to the writer process, which makes the
records (`events.records`), inserts them in one transaction and deletes the segment. A process killed
with kill -9 leaves its segments behind: the next process to start over the same folder replays them
(events already inserted are skipped by their eventID, derived from the request id), so no answered
call loses its event. A power cut can lose what was not yet synced: at most one flush interval.

Segments live in `<data dir>/trail/`: `<owner>.lock`, held with flock by its live process, and
`<owner>.<n>.seg`. An owner whose lock can be taken is dead, and its segments are replayed.
"""

from __future__ import annotations

import atexit
import fcntl
import itertools
import logging
import os
import threading
import time
import uuid
import weakref
from pathlib import Path
from typing import Any

from ostiary.store import trail_store
from ostiary.store.db import Database
from ostiary.trail import writer
from ostiary.trail.segments import MIN_SEGMENT_BYTES, Segment, frame, size_after

log = logging.getLogger("ostiary.trail")

FLUSH_SECONDS = 0.2
BATCH_EVENTS = 1000
RETENTION_CHECK_SECONDS = 3600.0

_RECORDERS: weakref.WeakKeyDictionary[Database, Recorder] = weakref.WeakKeyDictionary()
# The last database asked about and its recorder: a process serves one (a lookup in `_RECORDERS` makes
# a weak reference each time).
_last: tuple[weakref.ref[Database] | None, Recorder | None] = (None, None)


def of(db: Database) -> Recorder | None:
    """The recorder writing the trail of `db` in this process, None when the trail is off."""
    global _last
    last = _last
    if last[0] is not None and last[0]() is db:
        return last[1]
    found = _RECORDERS.get(db)
    _last = (weakref.ref(db), found)
    return found


def _forget() -> None:
    """Drop `of`'s last answer (a recorder started or closed)."""
    global _last
    _last = (None, None)


class Recorder:
    """This process's trail writer over one database and one segment folder."""

    def __init__(
        self, db: Database, folder: Path, *, retention_days: int | None = None, separate_writer: bool = False
    ) -> None:
        self.db = db
        trail_store.prepare(db)
        self.store = trail_store.of(db)  # where the events go
        self.folder = folder
        self.retention_days = retention_days
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._owner = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self._lock_fd = os.open(folder / f"{self._owner}.lock", os.O_WRONLY | os.O_CREAT, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._lock = threading.Lock()  # the segment and its events change together
        self._flushing = threading.Lock()  # one flush at a time
        self._sequence = itertools.count(1)
        self._next_size = MIN_SEGMENT_BYTES  # of the segment made ahead
        self._segment = self._new_segment(self._next_size)
        self._spare: Segment | None = None  # the next segment, made ahead
        self._pending = 0  # the frames the segment holds (the segment alone keeps them)
        self._closed: list[Segment] = []  # full, not synced yet
        self._stranded: list[Path] = []  # not in the database yet
        self._handed: dict[str, Path] = {}  # to the writer
        self._moved = threading.Condition()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._last_retention = 0.0
        self.replay()
        self._prepare()
        self._writer = (
            writer.WriterProcess(self.store.url, retention_days, self._written) if separate_writer else None
        )
        self._thread = threading.Thread(target=self._run, name="ostiary-trail", daemon=True)
        self._thread.start()
        _RECORDERS[db] = self
        _forget()
        atexit.register(self.close)  # a clean stop leaves no segment behind

    def record(self, item: Any) -> None:
        """Write a call's frame (`events.call`) or a finished record down: copied into the segment
        before the caller answers; the database gets its records later."""
        data = frame(item)
        with self._lock:
            segment = self._segment
            if not segment.has_room(len(data)):
                self._rotate(len(data))
                segment = self._segment
            segment.append(data)
            self._pending += 1
            full = self._pending >= BATCH_EVENTS
        if full:
            self._wake.set()

    def flush(self, *, wait: bool = True) -> None:
        """Move what is written into the database (LookupEvents calls it: a caller sees its own calls);
        `wait` until it is in."""
        with self._flushing:
            self._prepare()
            with self._lock:
                if self._pending:
                    self._rotate(0)
                closed, self._closed = self._closed, []
            self._prepare()  # ready for the next rotation
            for segment in closed:
                segment.close()  # durable before it counts as written to the database
                self._stranded.append(segment.path)
            if self._writer_alive():
                self._hand_over()
                if wait:
                    assert self._writer is not None
                    self._writer.hurry()
                    with self._moved:
                        self._moved.wait_for(lambda: not self._handed or not self._writer_alive(), timeout=30)
            if self._writer is not None and not self._writer_alive():  # it died: its share is moved here
                with self._moved:
                    self._stranded[:0] = self._handed.values()
                    self._handed.clear()
            while self._stranded:
                writer.move_segment(self.store, self._stranded[0])
                self._stranded.pop(0)

    def _hand_over(self) -> None:
        assert self._writer is not None
        while self._stranded:
            path = self._stranded[0]
            with self._moved:
                self._handed[str(path)] = path
            if not self._writer.submit(path):
                with self._moved:
                    self._handed.pop(str(path), None)
                return
            self._stranded.pop(0)

    def _written(self, path: str) -> None:
        """The writer process moved a segment."""
        with self._moved:
            self._handed.pop(path, None)
            self._moved.notify_all()

    def _writer_alive(self) -> bool:
        return self._writer is not None and self._writer.is_alive

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
                for segment in sorted(self.folder.glob(f"{owner}.*.seg"), key=_sequence_of):
                    count += writer.move_segment(self.store, segment)
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
        if self._writer is not None:
            self._writer.close()
        self._segment.discard()  # empty: flush moved its events
        if self._spare is not None:
            self._spare.discard()
        (self.folder / f"{self._owner}.lock").unlink(missing_ok=True)
        os.close(self._lock_fd)
        _RECORDERS.pop(self.db, None)
        _forget()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            try:
                self.flush(wait=False)
                if self._writer is None:  # the writer process applies it
                    self._apply_retention()
            except Exception as exc:  # noqa: BLE001 - the database may be away: the segments wait on disk
                log.warning("trail: events not moved into the database yet (%s); will retry", exc)
                self._stop.wait(1.0)

    def remove_expired(self) -> int:
        """Delete the events older than the retention period (none without one); their count."""
        return writer.remove_expired(self.store, self.retention_days)

    def _apply_retention(self) -> None:
        """`remove_expired`, at most once an hour."""
        now = time.monotonic()
        if self._last_retention and now - self._last_retention < RETENTION_CHECK_SECONDS:
            return
        self._last_retention = now
        self.remove_expired()

    def _rotate(self, length: int) -> None:
        """Close the segment for the flusher with its frames and go on in the one made ahead (under
        `_lock`); a new one is made here only when none is ready or a frame of `length` bytes does not
        fit in it."""
        old = self._segment
        self._closed.append(old)
        self._pending = 0
        self._next_size = size_after(old.size, old.used + length)
        spare, self._spare = self._spare, None
        if spare is None or spare.size < length:
            if spare is not None:
                spare.discard()
            spare = self._new_segment(max(self._next_size, length))
        self._segment = spare
        if old.used + length > old.size:  # filled before its flush: the next one is wanted soon
            self._wake.set()

    def _prepare(self) -> None:
        """Make the next segment ahead, off the lock the request path takes, at the size the traffic
        asks for (in the background thread, or under `_flushing`)."""
        with self._lock:
            spare, size = self._spare, self._next_size
            if spare is not None and spare.size >= size:
                return
            self._spare = None
        if spare is not None:
            spare.discard()
        made = self._new_segment(size)
        with self._lock:
            self._spare = made

    def _new_segment(self, size: int) -> Segment:
        return Segment(self.folder / f"{self._owner}.{next(self._sequence)}.seg", size)


def _sequence_of(path: Path) -> int:
    try:
        return int(path.name.rsplit(".", 2)[-2])
    except ValueError:
        return 0
