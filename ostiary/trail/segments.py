"""Write-ahead segments: files mapped into memory that calls are appended to by a copy, no system call
per call (a `write` costs tens of µs on some kernels and sandboxes).

Each frame is its length (4 bytes, little-endian) and an object in `marshal`'s format (a seventh of the
cost of JSON): a call as `events.call` keeps it, or a finished record. A shared mapping is the file's
own page cache: what is copied in stays in the file when the process is killed (kill -9), and `close`
syncs it (msync) so that it survives a power cut too. A segment is created at its full size and its
pages are made present and writable before it is used (`MADV_POPULATE_WRITE`): a copy into it never
waits for a page fault. Its unused tail stays zero bytes, which a reader stops at. The folder is the
server's own (0700): nothing else writes the frames it reads.
"""

from __future__ import annotations

import ctypes
import logging
import marshal
import mmap
import os
from pathlib import Path
from typing import Any

log = logging.getLogger("ostiary.trail")

SEGMENT_BYTES = 4 * 1024 * 1024  # the largest segment made ahead
MIN_SEGMENT_BYTES = 64 * 1024  # the smallest
_PAGE = mmap.PAGESIZE
# madvise's advice that faults every page in, writable (Linux 5.14; Python 3.11 does not name it)
_POPULATE_WRITE = getattr(mmap, "MADV_POPULATE_WRITE", 23)
_LIBC = ctypes.CDLL(None, use_errno=True)  # its functions run without the interpreter lock
_madvise = _LIBC.madvise
_madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
_msync = _LIBC.msync
_msync.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
_MS_SYNC = getattr(mmap, "MS_SYNC", 4)


class Segment:
    """One segment: created with its pages present, appended to under the recorder's lock, then synced
    and closed."""

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
        _populate(self._map, size)

    def has_room(self, length: int) -> bool:
        """Whether `length` more bytes fit."""
        return self.used + length <= self.size

    def append(self, data: bytes) -> None:
        """Copy `data` in after what is there (the caller checked the room)."""
        end = self.used + len(data)
        self._map[self.used : end] = data
        self.used = end

    def close(self, *, sync: bool = True) -> None:
        """Make what was appended durable (msync of the pages it is in: the zero tail is not waited
        for, and is usually deleted with the file before it is written back), then unmap."""
        if sync and self.used:
            _sync(self._map, min(self.size, -(-self.used // _PAGE) * _PAGE))
        self._map.close()

    def discard(self) -> None:
        """Unmap and delete a segment nothing was appended to."""
        self._map.close()
        self.path.unlink(missing_ok=True)


def _populate(mapping: mmap.mmap, size: int) -> None:
    """Fault every page of a new mapping in, writable: by madvise called through ctypes, which lets the
    other threads run meanwhile (`mmap.madvise` holds the interpreter lock: a millisecond a megabyte),
    or by writing to each page on a kernel that does not know the advice."""
    view = (ctypes.c_char * size).from_buffer(mapping)
    try:
        done = _madvise(ctypes.addressof(view), size, _POPULATE_WRITE) == 0
    finally:
        del view  # the mapping can be closed again
    if not done:
        for offset in range(0, size, _PAGE):
            mapping[offset] = 0


def _sync(mapping: mmap.mmap, length: int) -> None:
    """msync the first `length` bytes of a mapping to its file, by msync called through ctypes: the
    request path goes on meanwhile (`mmap.flush` holds the interpreter lock for the whole write, a few
    milliseconds on this kind of disk, and the event loop with it)."""
    view = (ctypes.c_char * length).from_buffer(mapping)
    try:
        failed = _msync(ctypes.addressof(view), length, _MS_SYNC) != 0
    finally:
        del view  # the mapping can be closed again
    if failed:
        raise OSError(ctypes.get_errno(), "msync of a trail segment failed")


def size_after(size: int, used: int) -> int:
    """The size of the segment made ahead for traffic that filled `used` bytes of the last one (of
    `size`): twice that, in pages, at least half the last one's, between `MIN_SEGMENT_BYTES` and
    `SEGMENT_BYTES`."""
    wanted = max(-(-2 * used // _PAGE) * _PAGE, size // 2)
    return max(MIN_SEGMENT_BYTES, min(SEGMENT_BYTES, wanted))


def frame(item: Any) -> bytes:
    """A call frame or a record as a segment holds it."""
    body = marshal.dumps(item)
    return len(body).to_bytes(4, "little") + body


def read_frames(path: Path) -> list[Any]:
    """The objects a segment holds, up to its zero tail; a frame cut short (a copy the process was
    killed in, whose answer was never sent) ends it. Read through a mapping: only the pages in use
    are touched, and each frame is read where it lies."""
    with path.open("rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size == 0:
            return []
        with mmap.mmap(file.fileno(), size, access=mmap.ACCESS_READ) as mapping:
            return _frames(memoryview(mapping), path)


def _frames(data: memoryview, path: Path) -> list[Any]:
    found = []
    offset = 0
    loads = marshal.loads
    try:
        while offset + 4 <= len(data):
            length = int.from_bytes(data[offset : offset + 4], "little")
            end = offset + 4 + length
            if length == 0 or end > len(data):
                break
            try:
                found.append(loads(data[offset + 4 : end]))
            except (ValueError, EOFError, TypeError):
                log.warning("trail: a torn frame in %s skipped", path.name)
                break
            offset = end
    finally:
        data.release()
    return found
