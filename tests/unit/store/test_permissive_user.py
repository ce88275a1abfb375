"""The user that unknown keys stand for in permissive mode, made at start in a real SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ostiary import bootstrap
from ostiary.settings import Settings
from ostiary.store import principals
from ostiary.store.db import Database


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[Settings, Database]]:
    settings = Settings(auth="permissive", data_dir=tmp_path)
    db, keyring = bootstrap.open_store(settings, pool=False)
    bootstrap.ensure_default_account(settings, db, keyring)
    yield settings, db
    db.dispose()


def _users(settings: Settings, db: Database) -> list[Any]:
    with db.read() as conn:
        user = principals.find_named(conn, settings.account_id, "user", "ostiary-permissive")
        if user is None:
            return []
        return [(user.name, [p.arn for p in principals.identity_policies(conn, "user", user.entity_id)])]


def test_made_once_with_administrator_access(store: tuple[Settings, Database]) -> None:
    settings, db = store
    bootstrap.ensure_permissive_user(settings, db)
    bootstrap.ensure_permissive_user(settings, db)
    assert _users(settings, db) == [("ostiary-permissive", ["arn:aws:iam::aws:policy/AdministratorAccess"])]


def test_a_node_that_loses_the_race_keeps_the_winners_user(
    store: tuple[Settings, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, db = store
    bootstrap.ensure_permissive_user(settings, db)
    monkeypatch.setattr(
        bootstrap.users, "find", lambda *args, **kwargs: None
    )  # it read before the winner wrote
    bootstrap.ensure_permissive_user(settings, db)
    assert _users(settings, db) == [("ostiary-permissive", ["arn:aws:iam::aws:policy/AdministratorAccess"])]


def test_strict_mode_makes_no_user(store: tuple[Settings, Database]) -> None:
    settings, db = store
    bootstrap.ensure_permissive_user(Settings(auth="strict", data_dir=settings.data_dir), db)
    assert _users(settings, db) == []
