"""AWS managed policies seeded into a real SQLite store: every policy once, idempotent, updated in place."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from ostiary.services.policies import seed_aws_managed_policies
from ostiary.store import policies as store
from ostiary.store.db import Database
from ostiary.store.tables import managed_policies, policy_versions

_DATA = Path(__file__).parents[3] / "ostiary" / "services" / "data" / "aws_managed_policies.json"
_REQUIRED = [
    "AdministratorAccess", "ReadOnlyAccess", "PowerUserAccess", "IAMFullAccess", "IAMReadOnlyAccess",
    "AmazonS3FullAccess", "AmazonS3ReadOnlyAccess", "AmazonDynamoDBFullAccess",
    "AmazonDynamoDBReadOnlyAccess", "AmazonEC2ReadOnlyAccess", "AWSLambdaBasicExecutionRole",
]  # fmt: skip


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'ostiary.db'}")
    database.migrate()
    yield database
    database.dispose()


def _count(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(managed_policies)).scalar() or 0)


def test_every_bundled_policy_is_seeded_once_even_when_seeded_twice(db: Database) -> None:
    data = json.loads(_DATA.read_text())
    assert set(_REQUIRED) <= set(data)
    seed_aws_managed_policies(db)
    seed_aws_managed_policies(db)
    assert _count(db) == len(data)


def test_seeded_policy_has_aws_arn_path_version_and_document(db: Database) -> None:
    seed_aws_managed_policies(db)
    arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    with db.read() as conn:
        row = store.find(conn, "123456789012", arn)
        assert row is not None
        assert row.account_id == "aws" and row.path == "/service-role/" and row.default_version == "v1"
        assert row.policy_id.startswith("ANPA") and len(row.policy_id) == 21
        assert row.description == "Provides write permissions to CloudWatch Logs."
        document = json.loads(store.version(conn, row.policy_id, "v1").document)
    assert document["Version"] == "2012-10-17"
    assert sorted(document["Statement"][0]["Action"]) == [
        "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]  # fmt: skip


def test_policy_ids_are_the_same_in_every_store(tmp_path: Path, db: Database) -> None:
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    other.migrate()
    seed_aws_managed_policies(db)
    seed_aws_managed_policies(other)
    stmt = select(managed_policies.c.arn, managed_policies.c.policy_id).order_by(managed_policies.c.arn)
    with db.read() as a, other.read() as b:
        assert list(a.execute(stmt)) == list(b.execute(stmt))
    other.dispose()


def test_an_outdated_policy_is_brought_to_the_bundled_default_version(db: Database) -> None:
    seed_aws_managed_policies(db)
    arn = "arn:aws:iam::aws:policy/AmazonS3FullAccess"
    with db.transaction() as conn:
        row = store.find(conn, "aws", arn)
        conn.execute(update(managed_policies).where(managed_policies.c.arn == arn)
                     .values(default_version="v1"))  # fmt: skip
        conn.execute(update(policy_versions).where(policy_versions.c.policy_id == row.policy_id)
                     .values(version_id="v1"))  # fmt: skip
    seed_aws_managed_policies(db)
    with db.read() as conn:
        row = store.find(conn, "aws", arn)
        assert row.default_version == "v2"
        assert [v.version_id for v in store.versions(conn, row.policy_id)] == ["v2", "v1"]
