"""The dashboard's recommendations from credential report rows (AWS's IAM dashboard advice)."""

from __future__ import annotations

from datetime import UTC, datetime

from ostiary.console.dashboard import advise

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
OLD = "2026-06-01T10:00:00+00:00"  # more than 90 days before NOW
RECENT = "2026-12-01T10:00:00+00:00"


def _row(name: str, **facts: str) -> dict[str, str]:
    row = {
        "user": name,
        "user_creation_time": OLD,
        "password_enabled": "false",
        "password_last_used": "N/A",
        "mfa_active": "false",
        "access_key_1_active": "false",
        "access_key_1_last_rotated": "N/A",
        "access_key_1_last_used_date": "N/A",
        "access_key_2_active": "false",
        "access_key_2_last_rotated": "N/A",
        "access_key_2_last_used_date": "N/A",
    }
    row.update(facts)
    return row


def test_root_without_mfa_is_advised() -> None:
    assert advise([_row("<root_account>", mfa_active="false")], NOW).is_root_mfa_missing
    assert not advise([_row("<root_account>", mfa_active="true")], NOW).is_root_mfa_missing


def test_console_users_without_mfa_are_listed() -> None:
    rows = [
        _row("no-mfa", password_enabled="true", password_last_used=RECENT),
        _row("with-mfa", password_enabled="true", mfa_active="true", password_last_used=RECENT),
        _row("no-console"),
    ]
    assert advise(rows, NOW).without_mfa == ["no-mfa"]


def test_active_keys_older_than_90_days_are_listed() -> None:
    rows = [
        _row(
            "old-key",
            access_key_1_active="true",
            access_key_1_last_rotated=OLD,
            access_key_1_last_used_date=RECENT,
        ),
        _row("old-inactive", access_key_1_active="false", access_key_1_last_rotated=OLD),
        _row(
            "new-key",
            access_key_2_active="true",
            access_key_2_last_rotated=RECENT,
            access_key_2_last_used_date=RECENT,
        ),
    ]
    assert advise(rows, NOW).old_keys == ["old-key"]


def test_credentials_unused_for_90_days_are_listed() -> None:
    rows = [
        _row("never-used", access_key_1_active="true", access_key_1_last_rotated=OLD),
        _row("used-long-ago", password_enabled="true", password_last_used=OLD),
        _row("used-lately", password_enabled="true", password_last_used=RECENT),
        _row(
            "new-user",
            user_creation_time=RECENT,
            password_enabled="true",
            password_last_used="no_information",
        ),
    ]
    assert advise(rows, NOW).unused == ["never-used", "used-long-ago"]
