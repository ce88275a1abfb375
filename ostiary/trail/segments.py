"""Write-ahead segments: files mapped into memory that events are appended to by a copy, no system call
per event (a `write` costs tens of µs on some kernels and sandboxes).

Each record is one frame: its length (4 bytes, little-endian) and the record in `marshal`'s format (a
seventh of the cost of JSON; the writer makes the JSON). A shared mapping is the file's own page cache:
what is copied in stays in the file when the process is killed (kill -9), and `close` syncs it (msync)
so that it survives a power cut too. A segment is created at its full size (sparse); its unused tail
stays zero bytes, which a reader stops at. The folder is the server's own (0700): nothing else writes
the frames it reads.
"""

from __future__ import annotations

import logging
import marshal
import mmap
import os
from pathlib import Path
from typing import Any

log = logging.getLogger("ostiary.trail")

SEGMENT_BYTES = 4 * 1024 * 1024


class Segment:
    """One segment being written: appended to under the recorder's lock, then synced and closed."""

    def __init__(self, path: Path, size: int = SEGMENT_BYTES) -> None:
        self.path = path
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.ftruncate(fd, size)
            self._map = mmap.mmap(fd, size)  # MAP_SHARED: the file's pages
        finally:
            os.close(fd)
        self.size = size
        self.used = 0

    def has_room(self, length: int) -> bool:
        """Whether `length` more bytes fit."""
        return self.used + length <= self.size

    def append(self, data: bytes) -> None:
        """Copy `data` in after what is there (the caller checked the room)."""
        end = self.used + len(data)
        self._map[self.used : end] = data
        self.used = end

    def close(self, *, sync: bool = True) -> None:
        """Make what was appended durable (msync), then unmap."""
        if sync:
            self._map.flush()
        self._map.close()


def frame(record: dict[str, Any]) -> bytes:
    """A record as a segment holds it."""
    body = marshal.dumps(record)
    return len(body).to_bytes(4, "little") + body


def read_records(path: Path) -> list[dict[str, Any]]:
    """The records a segment holds, up to its zero tail; a frame cut short (a copy the process was
    killed in, whose answer was never sent) ends it."""
    data = path.read_bytes()
    records = []
    offset = 0
    while offset + 4 <= len(data):
        length = int.from_bytes(data[offset : offset + 4], "little")
        end = offset + 4 + length
        if length == 0 or end > len(data):
            break
        try:
            record = marshal.loads(data[offset + 4 : end])
        except (ValueError, EOFError, TypeError):
            log.warning("trail: a torn record in %s skipped", path.name)
            break
        if isinstance(record, dict) and "eventID" in record:
            records.append(record)
        offset = end
    return records
