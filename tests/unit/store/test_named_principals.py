"""Migration 0020 binds the users and roles that the trust and bucket policies already stored name, where
the ARN is one's now (exact path and name), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select, text

from ostiary.store import named_principals
from ostiary.store.db import Database
from tests.conftest import migrate

ACCOUNT = "123456789012"
NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


def _trust(*names: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"AWS": list(names)}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def test_migration_0020_binds_the_principals_stored_policies_name(fresh_url: str) -> None:
    db = Database(fresh_url, pool=False)
    migrate(db, "0019")
    bob = f"arn:aws:iam::{ACCOUNT}:user/team/bob"
    with db.transaction() as conn:
        conn.execute(
            text("INSERT INTO accounts (account_id, policy_epoch, created_at) VALUES (:a, 0, :t)"),
            {"a": ACCOUNT, "t": NOW},
        )
        conn.execute(
            text(
                "INSERT INTO users (user_id, account_id, name, name_key, path, created_at)"
                " VALUES ('AIDABOB0000000000001', :a, 'bob', 'bob', '/team/', :t)"
            ),
            {"a": ACCOUNT, "t": NOW},
        )
        role = (
            "INSERT INTO roles (role_id, account_id, name, name_key, path, trust_policy,"
            " max_session_duration, created_at) VALUES (:i, :a, :n, :k, '/', :p, 3600, :t)"
        )
        named = _trust(bob, f"arn:aws:iam::{ACCOUNT}:user/Bob", f"arn:aws:iam::{ACCOUNT}:root")
        conn.execute(
            text(role),
            [
                {
                    "i": "AROAHOLDER000000001",
                    "a": ACCOUNT,
                    "n": "holder",
                    "k": "holder",
                    "p": named,
                    "t": NOW,
                },
                {
                    "i": "AROASELF00000000001",
                    "a": ACCOUNT,
                    "n": "Self",
                    "k": "self",
                    "p": _trust(ACCOUNT),
                    "t": NOW,
                },
            ],
        )
        bucket = json.dumps(
            {"Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/Self"},
                            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*",
                            "Condition": {"StringEquals": {"aws:PrincipalArn": bob}}}]}
        )  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO gateway_resources (service, region, name, owner_account, policy, created_at)"
                " VALUES ('s3', '', 'b', :a, :p, :t)"
            ),
            {"a": ACCOUNT, "p": bucket, "t": NOW},
        )
    migrate(db, "head")
    t = named_principals.named_principals.c
    with db.read() as conn:
        rows = conn.execute(select(t.holder_kind, t.holder_id, t.principal_arn, t.principal_id)).all()
    assert sorted(tuple(r) for r in rows) == [
        ("bucket", "b", f"arn:aws:iam::{ACCOUNT}:role/Self", "AROASELF00000000001"),
        ("role", "AROAHOLDER000000001", bob, "AIDABOB0000000000001"),
    ]
    migrate(db, "0019", down=True)
    db.dispose()
