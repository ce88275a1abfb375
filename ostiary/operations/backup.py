"""`ostiary backup FILE`: a consistent copy of a store that may be serving, in the archive format.

The rows come from one snapshot of the store (`store.dump.snapshot`: SQLite's online backup API,
PostgreSQL's REPEATABLE READ) and go out as JSON lines; the archive is written beside FILE and moved
there whole, readable by its owner only.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from ostiary.operations import archive
from ostiary.operations.archive import ArchiveError, Manifest
from ostiary.store import dump
from ostiary.store.keyring import Keyring
from ostiary.store.revision import head_revision


def backup(
    database_url: str, keyring: Keyring, keyring_material: bytes | None, destination: Path
) -> Manifest:
    """Write the store at `database_url` to `destination`.

    `keyring_material` (a keyring file's bytes) goes into the archive when given; `keyring` seals the
    archive's check value.
    """
    with tempfile.TemporaryDirectory(prefix="ostiary-backup-") as work:
        rows_path = Path(work) / archive.ROWS
        try:
            with dump.snapshot(database_url, Path(work)) as (conn, source), rows_path.open("w") as out:
                revision = dump.revision(conn)
                if revision != head_revision():
                    raise ArchiveError(
                        f"the store is at revision {revision}, this Ostiary's schema is {head_revision()}: "
                        "start this version's `ostiary serve` on it once (it migrates), then back it up"
                    )
                unknown = dump.unknown_tables(conn)
                if unknown:
                    raise ArchiveError(
                        f"the store holds tables this Ostiary does not know: {', '.join(unknown)}"
                    )
                manifest = Manifest(
                    revision=revision,
                    source=source,
                    created_at=datetime.now(UTC).isoformat(),
                    keyring_included=keyring_material is not None,
                    keyring_check=archive.keyring_check(keyring),
                )
                for table in dump.table_names():
                    count = 0
                    for row in dump.rows(conn, table):
                        out.write(json.dumps({"table": table, "row": row}, separators=(",", ":")) + "\n")
                        count += 1
                    manifest.tables[table] = count
        except dump.DumpError as exc:
            raise ArchiveError(str(exc)) from exc
        _pack(destination, manifest, rows_path, keyring_material)
    return manifest


def _pack(destination: Path, manifest: Manifest, rows: Path, keyring_material: bytes | None) -> None:
    """Write the archive beside `destination`, then move it there: never a half-written backup."""
    partial = destination.with_name(f".{destination.name}.{os.getpid()}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz") as tar:
                _add(tar, archive.MANIFEST, manifest.to_json())
                tar.add(rows, arcname=archive.ROWS, filter=_private)
                if keyring_material is not None:
                    _add(tar, archive.KEYRING, keyring_material)
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(partial, 0o600)
        os.replace(partial, destination)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


def _private(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
    return info
