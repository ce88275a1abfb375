"""Secrets sealed at rest with AES-GCM under a key kept apart from the database.

The key comes from OSTIARY_KEYRING_KEY (base64 of 32 bytes) or from a `keyring` file in the data
folder, created readable only by its owner on first start. A copy of the database alone opens nothing.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class KeyringError(Exception):
    """A sealed value could not be opened with this keyring."""


class Keyring:
    """Seals and opens short secrets; `purpose` is bound in as associated data."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("a keyring key is 32 bytes")
        self._aead = AESGCM(key)

    @classmethod
    def load(cls, data_dir: Path) -> Keyring:
        """The keyring from the environment, else from (or newly into) `data_dir/keyring`."""
        env = os.environ.get("OSTIARY_KEYRING_KEY")
        if env:
            return cls(base64.b64decode(env))
        path = data_dir / "keyring"
        if not path.exists():
            data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(base64.b64encode(AESGCM.generate_key(bit_length=256)))
        return cls(base64.b64decode(path.read_bytes()))

    def seal(self, plaintext: bytes, purpose: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plaintext, purpose)

    def open(self, sealed: bytes, purpose: bytes) -> bytes:
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], purpose)
        except (InvalidTag, ValueError) as exc:
            raise KeyringError("sealed value does not open with this keyring") from exc
