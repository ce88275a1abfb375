"""Write-ahead segments: files mapped into memory that events are appended to by a copy, no system call
per event (a `write` costs tens of µs on some kernels and sandboxes).

A shared mapping is the file's own page cache: what is copied in stays in the file when the process is
killed (kill -9), and `sync` (msync) makes it durable across a power cut. A segment is created at its
full size (sparse); its unused tail stays zero bytes, which a reader stops at.
"""

from __future__ import annotations

import json
import logging
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


def read_records(path: Path) -> list[dict[str, Any]]:
    """The records a segment holds, up to its zero tail; a torn line (a copy cut short) is skipped."""
    records = []
    for line in path.read_bytes().rstrip(b"\0").split(b"\n"):
        line = line.strip(b"\0")
        if not line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            log.warning("trail: a torn line in %s skipped", path.name)
            continue
        if isinstance(record, dict) and "eventID" in record:
            records.append(record)
    return records
