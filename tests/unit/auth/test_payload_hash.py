"""The body's SHA-256, kept for the body just hashed: every body gets its own hash, whichever came before."""

from __future__ import annotations

import hashlib
import os

from ostiary.auth.sigv4 import payload_sha256


def test_each_body_gets_its_own_hash_whatever_was_hashed_before() -> None:
    bodies = [b"", b"{}", b"{}", os.urandom(100), os.urandom(100_000), b"{}"]
    for body in bodies + bodies[::-1]:
        assert payload_sha256(body) == hashlib.sha256(body).hexdigest()
        assert payload_sha256(body) == hashlib.sha256(body).hexdigest()  # the kept one


def test_an_equal_body_in_another_object_is_hashed_as_its_own() -> None:
    first = bytes(bytearray(b"x" * 64))
    second = bytes(bytearray(b"y" * 64))
    assert payload_sha256(first) != payload_sha256(second)
    assert payload_sha256(bytes(bytearray(b"x" * 64))) == hashlib.sha256(b"x" * 64).hexdigest()
