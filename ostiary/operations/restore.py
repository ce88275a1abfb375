"""`ostiary restore FILE`: a backup into an empty store, SQLite or PostgreSQL, whichever it came from.

Nothing is written unless the whole archive goes in: the keyring must open the backup's check value
first, the rows go in in one transaction, and each batch's sealed secrets must open before it is
inserted. A store holding anything but the AWS managed policies every store is seeded with is refused.
"""

from __future__ import annotations

import base64
import json
import os
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ostiary.operations import archive
from ostiary.operations.archive import ArchiveError, Manifest
from ostiary.store import dump, sealed, trail_store
from ostiary.store.db import Database
from ostiary.store.keyring import Keyring
from ostiary.store.revision import head_revision

_BATCH = 1000


@dataclass(frozen=True)
class Archive:
    """An opened backup: its manifest and, when it holds one, the keyring file's bytes."""

    manifest: Manifest
    keyring: bytes | None


def read_archive(path: Path) -> Archive:
    """The manifest (checked) and keyring of the backup at `path`."""
    with _open(path) as tar:
        manifest = Manifest.from_json(_member(tar, archive.MANIFEST).read())
        keyring = _member(tar, archive.KEYRING).read() if manifest.keyring_included else None
    if manifest.revision != head_revision():
        raise ArchiveError(
            f"the backup is of schema revision {manifest.revision}, this Ostiary's is {head_revision()}: "
            "restore it with the Ostiary version that took it"
        )
    return Archive(manifest, keyring)


def restore_store(path: Path, data_dir: Path, database_url: str, keyring_file: Path | None) -> dict[str, int]:
    """Restore into the store at `database_url`, with the keyring that opens the backup; rows per table.

    The keyring is the one already there (OSTIARY_KEYRING_KEY or `data_dir/keyring`), else
    `keyring_file`, else the backup's own; it is written to `data_dir/keyring` only once the rows are in.
    """
    from ostiary.services.policies import seed_aws_managed_policies

    opened = read_archive(path)
    target = data_dir / "keyring"
    env = os.environ.get("OSTIARY_KEYRING_KEY")
    material: bytes | None = None
    if env:
        keyring, where = Keyring(base64.b64decode(env)), "OSTIARY_KEYRING_KEY"
    elif target.exists():
        keyring, where = Keyring.from_file(target), f"`{target}`"
    else:
        where = f"`{keyring_file}`" if keyring_file is not None else "the backup's own keyring"
        material = keyring_file.read_bytes() if keyring_file is not None else opened.keyring
        if material is None:
            raise ArchiveError(
                "the backup holds no keyring: give the keyring it was taken with (--keyring-file, or "
                "OSTIARY_KEYRING_KEY)"
            )
        try:
            keyring = Keyring(*[base64.b64decode(line) for line in material.split()])
        except (ValueError, TypeError) as exc:
            raise ArchiveError(
                "the keyring given holds no key (base64 keys of 32 bytes, one a line)"
            ) from exc
    if not archive.check_opens(keyring, opened.manifest):
        raise ArchiveError(
            f"this keyring ({where}) does not open the backup's secrets: restore with the keyring it was "
            "taken with"
        )
    try:
        db = dump.migrated(database_url)
    except dump.DumpError as exc:
        raise ArchiveError(str(exc)) from exc
    try:
        counts = restore(path, db, keyring, opened.manifest)
        seed_aws_managed_policies(db)  # this version's AWS managed policies, over the backup's
    finally:
        db.dispose()
    if material is not None:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(material)
    return counts


def restore(path: Path, db: Database, keyring: Keyring, manifest: Manifest) -> dict[str, int]:
    """Insert the backup's rows into the empty, migrated store `db` in one transaction; rows per table."""
    counts: dict[str, int] = {}
    try:
        with db.transaction() as conn:
            holding = dump.first_nonempty_table(conn) or trail_store.holding(db)
            if holding is not None:
                raise ArchiveError(
                    f"the store is not empty (its {holding} holds rows): restore only into a new data "
                    "folder or database"
                )
            dump.drop_seeded(conn)  # the backup holds the AWS managed policies of its own store
            with _open(path) as tar:
                for table, rows in _batches(_member(tar, archive.ROWS)):
                    unopened = sealed.unopened(keyring, table, rows)
                    if unopened:
                        raise ArchiveError(
                            f"{len(unopened)} sealed secrets of {table} do not open with this keyring "
                            f"(first: {unopened[0]}): nothing was restored"
                        )
                    dump.insert(conn, table, rows)
                    counts[table] = counts.get(table, 0) + len(rows)
            listed = {name: count for name, count in manifest.tables.items() if count}
            if counts != listed:
                raise ArchiveError(f"the backup's rows {counts} are not those its manifest lists {listed}")
            dump.advance_sequences(conn)
    except dump.DumpError as exc:
        raise ArchiveError(str(exc)) from exc
    return counts


def _batches(lines: IO[bytes]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The archive's rows, decoded, in batches of one table, in the archive's (dependency) order."""
    order = {name: position for position, name in enumerate(dump.table_names())}
    current: str | None = None
    batch: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
            table, row = entry["table"], entry["row"]
            if table not in order or not isinstance(row, dict):
                raise ValueError(table)
        except (ValueError, KeyError, TypeError) as exc:
            raise ArchiveError(f"line {number} of the backup's rows is not a row of a known table") from exc
        if current is not None and order[table] < order[current]:
            raise ArchiveError(f"line {number} of the backup's rows is out of the tables' order")
        if table != current or len(batch) >= _BATCH:
            if current is not None and batch:
                yield current, batch
            current, batch = table, []
        batch.append(dump.decode(table, row))
    if current is not None and batch:
        yield current, batch


def _open(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, mode="r:gz")
    except (OSError, tarfile.TarError) as exc:
        raise ArchiveError(f"`{path}` is not an Ostiary backup (a gzipped tar): {exc}") from exc


def _member(tar: tarfile.TarFile, name: str) -> IO[bytes]:
    """A regular file of the archive, by name (never a link: nothing is extracted to disk)."""
    try:
        info = tar.getmember(name)
    except KeyError as exc:
        raise ArchiveError(f"the backup holds no {name}") from exc
    data = tar.extractfile(info) if info.isfile() else None
    if data is None:
        raise ArchiveError(f"the backup's {name} is not a file")
    return data
