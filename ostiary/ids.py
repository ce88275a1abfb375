"""AWS-shaped identifiers: unique ids (AIDA, AROA ...), access key ids and secrets."""

from __future__ import annotations

import base64
import os
import threading

_BASE32 = bytes(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[byte & 31] for byte in range(256))


def _base32(count: int) -> str:
    """`count` random characters of A-Z and 2-7, one a random byte: each of the 32 takes 8 of the
    256 byte values, so all are equally likely (a table lookup: base64.b32encode loops in Python)."""
    return os.urandom(count).translate(_BASE32).decode()


def unique_id(prefix: str) -> str:
    """A unique id as IAM writes it: a 4-letter prefix and 17 base-32 characters (21 in all)."""
    return prefix + _base32(17)


def access_key_id(prefix: str = "AKIA") -> str:
    """An access key id: AKIA (long-term) or ASIA (temporary), then 16 base-32 characters."""
    return prefix + _base32(16)


def secret_access_key() -> str:
    """A 40-character secret access key: 30 random bytes in base 64 (letters, digits, + and /)."""
    return base64.b64encode(os.urandom(30)).decode()


def request_id() -> str:
    """A request id in AWS's UUID form: a random (version 4, RFC 4122 variant) UUID, written out
    directly from random bytes, at half the cost of `str(uuid.uuid4())`."""
    h = _random_16().hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


# Random bytes for request ids, read from the system 4 KiB at a time (one system call per 256 ids
# instead of one each: under load, getrandom was a third of an id's cost).
_POOL_BYTES = 4096
_pool_lock = threading.Lock()
_pool = b""
_pool_at = 0


def _random_16() -> bytes:
    global _pool, _pool_at
    with _pool_lock:
        if _pool_at + 16 > len(_pool):
            _pool, _pool_at = os.urandom(_POOL_BYTES), 0
        piece = _pool[_pool_at : _pool_at + 16]
        _pool_at += 16
    return piece


def _forget_pool() -> None:
    """A forked process reads its own bytes: never its parent's next ids."""
    global _pool, _pool_at, _pool_lock
    _pool, _pool_at, _pool_lock = b"", 0, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)
