"""The data folder is its owner's alone: the folder 0700, the database, its -wal/-shm and the keyring 0600."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import Server, start_server, stop_server


@contextmanager
def _serving(data_dir: Path) -> Iterator[Server]:
    """A server over SQLite in `data_dir`, started under umask 000: whatever it creates, it narrows itself."""
    previous = os.umask(0)
    try:
        server = start_server(data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite")
    finally:
        os.umask(previous)
    try:
        yield server
    finally:
        stop_server(server)


def _write_some(server: Server, name: str) -> None:
    iam: Any = server.client("iam")
    iam.create_user(UserName=name)
    iam.create_access_key(UserName=name)
    iam.tag_user(UserName=name, Tags=[{"Key": "k", "Value": "v"}])


def _modes(data_dir: Path) -> dict[str, str]:
    """The mode of the data folder (".") and of everything in it, by path inside it."""
    modes = {".": oct(stat.S_IMODE(data_dir.stat().st_mode))}
    for entry in sorted(data_dir.rglob("*")):
        try:
            modes[str(entry.relative_to(data_dir))] = oct(stat.S_IMODE(entry.stat().st_mode))
        except FileNotFoundError:  # a trail segment moved into the database meanwhile
            continue
    return modes


def _owners_alone(data_dir: Path, modes: dict[str, str]) -> dict[str, str]:
    """What `modes` must be: folders 0700, files 0600."""
    return {name: "0o700" if name == "." or (data_dir / name).is_dir() else "0o600" for name in modes}


def test_a_new_data_folder_and_every_file_in_it_are_the_owners_alone(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "data"
    with _serving(data_dir) as server:
        _write_some(server, "perm-new")
        modes = _modes(data_dir)
        assert {"ostiary.db", "ostiary.db-wal", "ostiary.db-shm", "keyring"} <= modes.keys(), modes
        assert modes == _owners_alone(data_dir, modes)


def test_an_older_world_readable_data_folder_is_narrowed_on_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "older"
    with _serving(data_dir) as server:
        _write_some(server, "perm-old")
    data_dir.chmod(0o755)  # as an older version left it
    for entry in data_dir.rglob("*"):
        entry.chmod(0o755 if entry.is_dir() else 0o644)
    with _serving(data_dir) as server:
        _write_some(server, "perm-again")
        modes = _modes(data_dir)
        assert {"ostiary.db", "ostiary.db-wal", "ostiary.db-shm", "keyring"} <= modes.keys(), modes
        assert modes == _owners_alone(data_dir, modes)
