"""The trail's writer: closed segments into the database, in a process of its own beside the server.

The server hands each closed (synced) segment's path over on the writer's standard input; the writer makes the
records of its call frames (`events.records`) and inserts them in one transaction, deletes the file and
answers the path on its standard output. Its inserts never share the server's interpreter lock. When its input
closes (the server stopped, or was killed) it finishes what it was given and exits; what was not handed over
is replayed by the next server to start. The same functions move segments in-process when no writer runs.

    python -m ostiary.trail.writer   (OSTIARY_TRAIL_DATABASE_URL, OSTIARY_TRAIL_RETENTION_DAYS)
"""

from __future__ import annotations

import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from ostiary.errors import ConcurrentModificationException
from ostiary.store import last_access, trail_events
from ostiary.store.db import Database
from ostiary.trail import access, events
from ostiary.trail.segments import read_frames

log = logging.getLogger("ostiary.trail")

RETRY_SECONDS = 1.0
# The writer gives way to the server when both want the CPU: it moves events that are safe on disk
# already, and a request waiting behind it is what a client sees (the slow calls of a busy node).
WRITER_NICENESS = 10
RETENTION_CHECK_SECONDS = 3600.0
# The writer moves segments in batches: a transaction's cost is much in the pages it changes, which its
# events share. A segment waits up to HOLD_SECONDS for others (unless a reader waits for it: LookupEvents,
# last-accessed data, policy generation flush the recorder, which hurries the writer); at most
# MOST_SEGMENTS go in one transaction.
HOLD_SECONDS = 1.0
MOST_SEGMENTS = 8
# The writer's SQLite page cache: its inserts touch the recent end of every index and, through the
# random event ids, pages all over the primary key's; SQLite's own 2 MiB keeps few of them.
WRITER_CACHE_MIB = 64


# A record's JSON: orjson's (compact, UTF-8 as is), a seventh of the standard encoder's CPU, which was a
# fifth of the writer's; the standard encoder for what orjson refuses (an integer past 64 bits).
_AS_JSON_DOES = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS  # no record holds one
_encode_slowly = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _encode(record: dict[str, Any]) -> str:
    try:
        return orjson.dumps(record, option=_AS_JSON_DOES).decode()
    except orjson.JSONEncodeError:
        return _encode_slowly(record)


_last_time: tuple[str, datetime] = ("", datetime.min)  # the last eventTime read, and its datetime


def stored(record: dict[str, Any], text: str | None = None) -> trail_events.StoredEvent:
    """A record as the store keeps it: its lookup columns, its resources and its JSON (`text`, when
    the record was just written as it)."""
    identity = record.get("userIdentity") or {}
    return trail_events.StoredEvent(
        record["eventID"],
        record["recipientAccountId"],
        _event_time(record["eventTime"]),
        record["eventName"],
        record["eventSource"],
        bool(record.get("readOnly")),
        events.username_of(identity),
        identity.get("accessKeyId") or None,
        text if text is not None else _encode(record),
        tuple(events.lookup_resources(record)),
    )


def _event_time(text: str) -> datetime:
    """The datetime of an eventTime (`2026-12-04T16:00:00Z`), read once a second: a batch's events
    share a few."""
    global _last_time
    last = _last_time
    if last[0] != text:
        last = _last_time = (text, datetime.fromisoformat(text.removesuffix("Z")).replace(tzinfo=UTC))
    return last[1]


def insert(
    db: Database,
    rows: Sequence[trail_events.StoredEvent],
    records: Sequence[dict[str, Any]] | None = None,
) -> int:
    """Insert events in one transaction, with what they say each user and role did (`access`: from
    `records`, the rows' own records when the caller has them, else read back from the rows' JSON);
    those already in (a retry, a replay) are skipped. Their count."""
    if records is None:
        used = access.of_records(row.record for row in rows)
    else:
        used = access.folded(records)
    try:
        with db.transaction() as conn:
            trail_events.insert(conn, rows)
            last_access.add(conn, used)
        return len(rows)
    except ConcurrentModificationException:  # some are in already (the day rows keep the latest)
        with db.transaction() as conn:
            count = trail_events.insert_new(conn, rows)
            last_access.add(conn, used)
            return count


def move_segment(db: Database, path: Path) -> int:
    """Insert a closed segment's events, then delete it; the number of new events."""
    return move_segments(db, [path])


def move_segments(db: Database, paths: Sequence[Path]) -> int:
    """Insert closed segments' events in one transaction, then delete them; the number of new events.
    (A transaction's cost is much in the pages it changes, which its events share: the more events,
    the less each costs.)"""
    identities: dict[bytes, Any] = {}
    records: list[dict[str, Any]] = []
    for path in paths:
        try:
            frames = read_frames(path)
        except FileNotFoundError:  # moved already (by a writer that outlived its server)
            continue
        records.extend(record for item in frames for record in events.records(item, identities))
    count = insert(db, [stored(record) for record in records], records) if records else 0
    with db.read() as conn:  # SQLite syncs the WAL before it copies frames back: on the server's NORMAL
        trail_events.checkpoint(conn)  # connections (a replay), the commit is on disk before its segments go
    # (unless a reader holds every new frame back; the writer process's own commits are synced: FULL)
    for path in paths:
        path.unlink(missing_ok=True)
    return count


def remove_expired(db: Database, retention_days: int | None) -> int:
    """Delete the events older than the retention period (none without one), and the day rows of what
    principals did older than last-accessed data's 400 days; the number of events."""
    now = datetime.now(UTC)
    with db.transaction() as conn:
        last_access.delete_before(conn, now - last_access.TRACKING_PERIOD)
    if retention_days is None:
        return 0
    with db.transaction() as conn:
        removed = trail_events.delete_before(conn, now - timedelta(days=retention_days))
    if removed:
        log.info("trail: %d events older than %d days removed", removed, retention_days)
    return removed


class WriterProcess:
    """The server's handle on its writer process: hand segments over, hear which are in."""

    def __init__(self, database_url: str, retention_days: int | None, on_done: Callable[[str], None]) -> None:
        env = dict(os.environ, OSTIARY_TRAIL_DATABASE_URL=database_url)
        env["OSTIARY_TRAIL_RETENTION_DAYS"] = str(retention_days or 0)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "ostiary.trail.writer"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
            bufsize=1,
        )
        self._on_done = on_done
        self._reader = threading.Thread(target=self._read, name="ostiary-trail-writer", daemon=True)
        self._reader.start()

    @property
    def is_alive(self) -> bool:
        return self._process.poll() is None

    def submit(self, path: Path | str) -> bool:
        """Hand a closed segment over (an empty path: `hurry`); False when the writer is gone."""
        try:
            assert self._process.stdin is not None
            self._process.stdin.write(f"{path}\n")
            self._process.stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

    def hurry(self) -> bool:
        """Ask the writer to move the segments it was given now (someone waits for them); False when
        it is gone."""
        return self.submit("")

    def close(self, timeout: float = 30.0) -> None:
        """Let the writer finish what it was given, and stop."""
        try:
            if self._process.stdin is not None:
                self._process.stdin.close()
            self._process.wait(timeout=timeout)
        except (OSError, subprocess.TimeoutExpired):
            self._process.kill()
        self._reader.join(timeout=5)

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._on_done(line.strip())


def handed_over(fd: int, most: int = MOST_SEGMENTS, hold: float = HOLD_SECONDS) -> Iterator[list[Path]]:
    """The segments named on `fd` (a line each), in batches of up to `most`: a segment waits up to
    `hold` seconds for others to share its transaction, unless `most` are waiting or an empty line
    says that someone waits for those named so far (`WriterProcess.hurry`). Ends when `fd` closes,
    after the last."""
    buffer = b""
    closed = hurry = False
    waiting: list[Path] = []
    since = 0.0  # when the oldest waiting segment came
    while True:
        if b"\n" in buffer:
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if not line.strip():
                    hurry = True
                    continue
                if not waiting:
                    since = time.monotonic()
                waiting.append(Path(os.fsdecode(line.strip())))
        if waiting and (hurry or closed or len(waiting) >= most or time.monotonic() - since >= hold):
            batch, waiting = waiting[:most], waiting[most:]
            since = time.monotonic()
            yield batch
            continue
        hurry = False  # nothing waits: who hurried has its segments moved
        if closed:
            return
        timeout = max(0.0, hold - (time.monotonic() - since)) if waiting else None
        if select.select([fd], [], [], timeout)[0]:
            chunk = os.read(fd, 65536)
            closed = not chunk
            buffer += chunk or b"\n"  # at the end, a last line without its end of line counts too


def database(url: str) -> Database:
    """The writer process's store: one connection kept from segment to segment (a new one reads the
    schema again and starts with an empty page cache), with a larger SQLite page cache, and each commit
    synced to disk before the segments it moved are deleted (with the server's NORMAL, a power cut
    could lose a commit whose segments are gone)."""
    return Database(url, sqlite_cache_mib=WRITER_CACHE_MIB, sqlite_synced_commits=True)


def main() -> None:
    """The writer process: move each segment named on standard input, answer its path when done."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    os.nice(WRITER_NICENESS)
    db = database(os.environ["OSTIARY_TRAIL_DATABASE_URL"])
    retention_days = int(os.environ.get("OSTIARY_TRAIL_RETENTION_DAYS", "0")) or None
    last_retention = 0.0
    for paths in handed_over(sys.stdin.fileno()):
        while True:
            try:
                move_segments(db, paths)
                break
            except Exception as exc:  # noqa: BLE001 - the database may be away: try again
                log.warning("trail writer: %s not moved yet (%s); will retry", paths[0].name, exc)
                time.sleep(RETRY_SECONDS)
        try:
            print(*paths, sep="\n", flush=True)
        except BrokenPipeError:  # the server is gone; go on with what it handed over, silently
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        if time.monotonic() - last_retention >= RETENTION_CHECK_SECONDS:
            last_retention = time.monotonic()
            try:
                remove_expired(db, retention_days)
            except Exception as exc:  # noqa: BLE001 - next time
                log.warning("trail writer: retention not applied (%s)", exc)
    db.dispose()


if __name__ == "__main__":
    main()
