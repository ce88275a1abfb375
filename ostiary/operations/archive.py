"""The backup archive: one format for SQLite and PostgreSQL, so either store restores into either.

A gzipped tar holding `manifest.json` (format, Alembic revision, row counts, a value sealed by the
keyring to check a keyring against), `rows.jsonl` (every table in dependency order, one row a line,
`{"table": ..., "row": {...}}`, as `store.dump` gives them) and, only when asked, `keyring`. Sealed
secrets stay sealed: the archive holds no secret in the clear unless it holds the keyring.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, field

from ostiary.store.keyring import Keyring

FORMAT = "ostiary-backup"
VERSION = 1
MANIFEST, ROWS, KEYRING = "manifest.json", "rows.jsonl", "keyring"
_CHECK_PLAINTEXT, _CHECK_PURPOSE = b"ostiary backup", b"backup-check:v1"


class ArchiveError(Exception):
    """The file is not a backup this Ostiary can restore, or the store or keyring refuse it."""


@dataclass
class Manifest:
    """What a backup holds, written first in the archive."""

    revision: str
    source: str  # the store it was taken from: sqlite or postgresql
    created_at: str
    keyring_included: bool
    keyring_check: str  # base64 of a constant sealed by the keyring: does a keyring open this backup?
    tables: dict[str, int] = field(default_factory=dict)  # rows per table
    format: str = FORMAT
    version: int = VERSION

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            manifest = cls(**json.loads(raw))
        except (ValueError, TypeError) as exc:
            raise ArchiveError("the archive's manifest is not an Ostiary backup manifest") from exc
        if manifest.format != FORMAT or manifest.version != VERSION:
            found = f"{manifest.format} {manifest.version}"
            raise ArchiveError(f"not an Ostiary backup of version {VERSION} ({found})")
        return manifest


def keyring_check(keyring: Keyring) -> str:
    """A constant sealed by `keyring`: whoever restores can tell whether their keyring opens the backup."""
    return base64.b64encode(keyring.seal(_CHECK_PLAINTEXT, _CHECK_PURPOSE)).decode()


def check_opens(keyring: Keyring, manifest: Manifest) -> bool:
    """Whether `keyring` opens the backup described by `manifest`."""
    try:
        sealed = base64.b64decode(manifest.keyring_check, validate=True)
    except ValueError:
        return False
    return keyring.opens(sealed, _CHECK_PURPOSE)
