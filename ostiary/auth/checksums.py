"""The flexible checksums S3 takes in `x-amz-checksum-*` trailers, computed incrementally.

CRC32, SHA-1 and SHA-256 come from the standard library (zlib, hashlib) at memory speed. CRC32C and
CRC64NVME have no fast implementation in this environment (botocore computes them with awscrt, which is
not installed), so a payload that declares them is refused rather than accepted unverified.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import Protocol

PREFIX = "x-amz-checksum-"
VERIFIED = frozenset({"crc32", "sha1", "sha256"})
UNVERIFIABLE = frozenset({"crc32c", "crc64nvme"})


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
    return algorithm if algorithm in VERIFIED | UNVERIFIABLE else None


def new(algorithm: str) -> Checksum:
    """A fresh running checksum of `algorithm` (one of `VERIFIED`)."""
    if algorithm == "crc32":
        return _Crc32()
    if algorithm in ("sha1", "sha256"):
        return _Digest(algorithm)
    raise ValueError(f"no fast implementation of `{algorithm}` here")
