"""The user that unknown keys stand for in permissive mode, made at start in a real SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ostiary import bootstrap
from ostiary.auth.authenticate import authenticate
from ostiary.settings import Settings
from ostiary.store import principals
from ostiary.store.db import Database
from tests.unit.auth.test_sigv4_region import NOW, _signed


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


def test_unknown_keys_are_each_stores_own_permissive_user_or_its_root(tmp_path: Path) -> None:
    """Two stores in one process, asked within the same second: each answers from its own users."""
    request, signed = _signed("sts", "eu-west-1")
    callers = []
    for name, auth in (("with", "permissive"), ("without", "strict")):
        settings = Settings(auth="permissive", data_dir=tmp_path / name)
        db, keyring = bootstrap.open_store(settings, pool=False)
        bootstrap.ensure_default_account(settings, db, keyring)
        bootstrap.ensure_permissive_user(Settings(auth=auth, data_dir=tmp_path / name), db)
        callers.append(authenticate(request, signed, db=db, keyring=keyring, settings=settings, now=NOW).arn)
        db.dispose()
    account = Settings().account_id
    assert callers == [f"arn:aws:iam::{account}:user/ostiary-permissive", f"arn:aws:iam::{account}:root"]
