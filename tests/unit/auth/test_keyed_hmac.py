"""HMAC-SHA256 from kept hash states gives the bytes `hmac.digest` gives, for every key length (under,
at and over SHA-256's block) and message length. (A wrong or tampered signature is refused: test_sigv4.)"""

from __future__ import annotations

import hmac
import os

import pytest

from ostiary.auth.keyed_hmac import hmac_sha256


@pytest.mark.parametrize("key_length", [0, 1, 31, 32, 63, 64, 65, 127, 128, 200])
@pytest.mark.parametrize("message_length", [0, 1, 55, 56, 63, 64, 65, 1000])
def test_the_same_bytes_as_hmac_digest(key_length: int, message_length: int) -> None:
    key, message = os.urandom(key_length), os.urandom(message_length)
    assert hmac_sha256(key, message) == hmac.digest(key, message, "sha256")


def test_a_key_used_again_keeps_giving_each_messages_own_mac() -> None:
    key = os.urandom(32)
    first, second = hmac_sha256(key, b"first"), hmac_sha256(key, b"second")
    assert first != second
    assert hmac_sha256(key, b"first") == first == hmac.digest(key, b"first", "sha256")


def test_keys_that_differ_only_past_their_padding_give_other_macs() -> None:
    # A short key is padded with zeros: a key with a trailing zero byte must still be another key
    # only where HMAC says so (RFC 2104 pads both the same way), and a long key is hashed first.
    short = b"k" * 10
    assert hmac_sha256(short, b"m") == hmac.digest(short, b"m", "sha256")
    assert hmac_sha256(short + b"\0", b"m") == hmac.digest(short + b"\0", b"m", "sha256")
    long_key = os.urandom(65)
    assert hmac_sha256(long_key, b"m") != hmac_sha256(long_key[:64], b"m")
