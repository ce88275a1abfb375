"""The flexible checksums S3 takes in `x-amz-checksum-*` trailers, computed incrementally.

CRC32, SHA-1 and SHA-256 come from the standard library (zlib, hashlib); CRC32C and CRC64NVME from
awscrt (AWS's common runtime, the library botocore computes them with), each at memory speed.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable
from typing import Protocol

from awscrt import checksums as crt

PREFIX = "x-amz-checksum-"
ALGORITHMS = frozenset({"crc32", "crc32c", "crc64nvme", "sha1", "sha256"})


class Checksum(Protocol):
    """A running checksum: `update` with each piece of the payload, then its base64 digest."""

    def update(self, data: bytes | memoryview) -> None: ...

    def b64digest(self) -> str: ...


class _Crc32:
    """CRC32 (ISO-HDLC, zlib's) as S3 writes it: four bytes, big-endian, in base64."""

    def __init__(self) -> None:
        self._value = 0

    def update(self, data: bytes | memoryview) -> None:
        self._value = zlib.crc32(data, self._value)

    def b64digest(self) -> str:
        return base64.b64encode((self._value & 0xFFFFFFFF).to_bytes(4, "big")).decode()


class _CrtCrc:
    """CRC32C (Castagnoli, 4 bytes) or CRC64NVME (8 bytes) as S3 writes them: big-endian, in base64."""

    def __init__(self, step: Callable[[bytes | memoryview, int], int], size: int) -> None:
        self._step = step
        self._size = size
        self._value = 0

    def update(self, data: bytes | memoryview) -> None:
        self._value = self._step(data, self._value)

    def b64digest(self) -> str:
        return base64.b64encode(self._value.to_bytes(self._size, "big")).decode()


class _Digest:
    """A hashlib digest (SHA-1 or SHA-256) in base64."""

    def __init__(self, name: str) -> None:
        self._hash = hashlib.new(name)

    def update(self, data: bytes | memoryview) -> None:
        self._hash.update(data)

    def b64digest(self) -> str:
        return base64.b64encode(self._hash.digest()).decode()


def algorithm_of(header_name: str) -> str | None:
    """The algorithm a checksum header names (`x-amz-checksum-crc32` → `crc32`), or None when it names
    none S3 knows."""
    name = header_name.strip().lower()
    if not name.startswith(PREFIX):
        return None
    algorithm = name[len(PREFIX) :]
    return algorithm if algorithm in ALGORITHMS else None


def new(algorithm: str) -> Checksum:
    """A fresh running checksum of `algorithm` (one of `ALGORITHMS`)."""
    if algorithm == "crc32":
        return _Crc32()
    if algorithm == "crc32c":
        return _CrtCrc(crt.crc32c, 4)
    if algorithm == "crc64nvme":
        return _CrtCrc(crt.crc64nvme, 8)
    if algorithm in ("sha1", "sha256"):
        return _Digest(algorithm)
    raise ValueError(f"no fast implementation of `{algorithm}` here")
