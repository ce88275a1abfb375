"""Secrets sealed at rest with AES-GCM under a key kept apart from the database.

The key comes from OSTIARY_KEYRING_KEY (base64 of 32 bytes) or from a `keyring` file in the data
folder, created readable only by its owner on first start. A copy of the database alone opens nothing.

The file holds one base64 key per line: the first seals, every one opens. It holds two only while
`ostiary keyring rotate` re-seals the store under a new key; a keyring loaded from the file notices
the file change (`REFRESH_SECONDS`), so running servers follow a rotation without a restart.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# How often a keyring loaded from a file looks at it again: `ostiary keyring rotate` waits longer than
# this between its steps, so that every server seals with the new key before the old one is retired.
REFRESH_SECONDS = 1.0


class KeyringError(Exception):
    """A sealed value could not be opened with this keyring."""


class Keyring:
    """Seals and opens short secrets; `purpose` is bound in as associated data.

    `key` seals and opens; each of `older` only opens (the keys a rotation is retiring).
    """

    def __init__(self, key: bytes, *older: bytes) -> None:
        for each in (key, *older):
            if len(each) != 32:
                raise ValueError("a keyring key is 32 bytes")
        self._aeads = tuple(AESGCM(each) for each in (key, *older))
        self._path: Path | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

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
                f.write(base64.b64encode(new_key()))
        return cls.from_file(path)

    @classmethod
    def from_file(cls, path: Path) -> Keyring:
        """The keyring of a keyring file, which it re-reads when the file changes."""
        stamp = _stamp(path)
        keyring = cls(*read_keys(path))
        keyring._path, keyring._stamp, keyring._checked = path, stamp, time.monotonic()
        return keyring

    def seal(self, plaintext: bytes, purpose: bytes) -> bytes:
        self._refresh(force=False)
        nonce = os.urandom(12)
        return nonce + self._aeads[0].encrypt(nonce, plaintext, purpose)

    def open(self, sealed: bytes, purpose: bytes) -> bytes:
        self._refresh(force=False)
        opened = self._open(sealed, purpose)
        if opened is None and self._refresh(force=True):  # sealed by a newer key than this one knows
            opened = self._open(sealed, purpose)
        if opened is None:
            raise KeyringError("sealed value does not open with this keyring")
        return opened

    def opens(self, sealed: bytes, purpose: bytes) -> bool:
        """Whether `sealed` opens with this keyring as it is (no look at its file)."""
        return self._open(sealed, purpose) is not None

    def _open(self, sealed: bytes, purpose: bytes) -> bytes | None:
        for aead in self._aeads:
            try:
                return aead.decrypt(sealed[:12], sealed[12:], purpose)
            except (InvalidTag, ValueError):
                continue
        return None

    def _refresh(self, *, force: bool) -> bool:
        """Re-read the file when it changed (at most every REFRESH_SECONDS unless `force`); whether
        the keys changed."""
        if self._path is None:
            return False
        now = time.monotonic()
        if not force and now - self._checked < REFRESH_SECONDS:
            return False
        with self._lock:
            self._checked = now
            try:
                stamp = _stamp(self._path)
                if stamp == self._stamp:
                    return False
                keys = read_keys(self._path)
            except (OSError, ValueError):  # mid-replace or unreadable: keep the keys we have
                return False
            self._aeads, self._stamp = tuple(AESGCM(key) for key in keys), stamp
            return True


def new_key() -> bytes:
    """A fresh 256-bit key."""
    return AESGCM.generate_key(bit_length=256)


def read_keys(path: Path) -> list[bytes]:
    """The keys of a keyring file, the sealing key first."""
    keys = [base64.b64decode(line) for line in path.read_bytes().split() if line]
    if not keys or any(len(key) != 32 for key in keys):
        raise ValueError(f"{path} holds no keyring (base64 keys of 32 bytes, one a line)")
    return keys


def write_keys(path: Path, keys: list[bytes]) -> None:
    """Replace a keyring file at once (never half-written), readable by its owner only."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(b"\n".join(base64.b64encode(key) for key in keys))
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _stamp(path: Path) -> tuple[int, int, int]:
    """What tells a changed file: inode (a replace makes a new one), size and modification time."""
    status = path.stat()
    return status.st_ino, status.st_size, status.st_mtime_ns
