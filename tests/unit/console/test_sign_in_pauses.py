"""A flood of wrong passwords for one name costs its own few argon2 checks, then is refused before it
queues for the two sign-in threads: other users' sign-ins do not wait behind it (counted, not timed)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from ostiary import ids, signin
from ostiary.bootstrap import create_account
from ostiary.console import sign_in
from ostiary.console.pauses import Pauses
from ostiary.services import throttle
from ostiary.settings import THROTTLE_SETTINGS, ThrottleLimits
from ostiary.signin import SignInRefused
from ostiary.store import login_profiles, users
from ostiary.store.db import Database
from ostiary.store.keyring import Keyring

PASSWORD = "Right-Passw0rd!"
NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Database, Keyring, str]]:
    for setting in THROTTLE_SETTINGS:  # the default limits: five failures, then a pause of a minute
        monkeypatch.delenv(setting.env, raising=False)
    monkeypatch.setattr(sign_in, "_PAUSES", Pauses())
    db = Database(f"sqlite:///{tmp_path / 'ostiary.db'}")
    db.migrate()
    keyring = Keyring.load(tmp_path)
    account = create_account(db, keyring)["AccountId"]
    hashed = PasswordHasher().hash(PASSWORD)
    now = datetime.now(UTC)
    with db.transaction() as conn:
        for name in ("alice", "bob"):
            user_id = ids.unique_id("AIDA")
            users.insert(
                conn, user_id=user_id, account_id=account, name=name, path="/", boundary=None, now=now
            )
            login_profiles.insert(conn, user_id, hashed, False, now)
    yield db, keyring, account
    db.dispose()


def _counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often a sign-in reached the sign-in threads, and how often argon2 verified a password."""
    counts = {"threads": 0, "argon2": 0}
    real_sign_in, real_matches = signin.sign_in, signin.password_matches

    def sign_in_counted(*args: Any) -> Any:
        counts["threads"] += 1
        return real_sign_in(*args)

    def matches_counted(password_hash: str, password: str) -> bool:
        counts["argon2"] += 1
        return real_matches(password_hash, password)

    monkeypatch.setattr(signin, "password_matches", matches_counted)
    monkeypatch.setattr(signin, "sign_in", sign_in_counted)
    return counts


async def _try(db: Database, keyring: Keyring, account: str, name: str, password: str) -> str:
    subject = throttle.password_subjects(None, account, name)[0]
    try:
        out = await sign_in._unless_paused(
            subject, datetime.now(UTC), signin.sign_in, db, keyring, account, name, password
        )
    except SignInRefused as exc:
        return str(exc)
    return str(out["UserName"])


def test_a_flood_against_one_name_stops_reaching_the_threads_once_paused(
    store: tuple[Database, Keyring, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, keyring, account = store
    counts = _counted(monkeypatch)

    async def flood() -> list[str]:
        return [await _try(db, keyring, account, name, f"wrong-{n}") for n, name in enumerate(["alice"] * 40)]

    answers = asyncio.run(flood())
    failures = ThrottleLimits().failures
    incorrect = "Your authentication information is incorrect. Please try again."
    assert answers == [incorrect] * failures + ["Rate exceeded"] * (40 - failures)
    assert counts["argon2"] == failures  # a paused name is refused before its password is looked at
    assert counts["threads"] == failures + 1  # the store told the pause's end once; the rest stayed out
    assert asyncio.run(_try(db, keyring, account, "ALICE", PASSWORD)) == "Rate exceeded"  # any spelling
    assert counts["threads"] == failures + 1
    assert asyncio.run(_try(db, keyring, account, "bob", PASSWORD)) == "bob"  # another user is not held
    assert counts["threads"] == failures + 2


def test_pauses_end_and_stay_bounded() -> None:
    pauses = Pauses(max_subjects=3)
    pauses.remember("console:1:a", NOW + timedelta(seconds=60), NOW)
    assert pauses.is_paused("console:1:a", NOW + timedelta(seconds=59))
    assert not pauses.is_paused("console:1:a", NOW + timedelta(seconds=60))  # ended: the store decides
    assert not pauses.is_paused("console:1:b", NOW)
    for n in range(10):
        pauses.remember(f"console:1:{n}", NOW + timedelta(seconds=60), NOW)
    assert len(pauses) == 3 and pauses.is_paused("console:1:9", NOW)
