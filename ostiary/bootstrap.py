"""Opening the store and making accounts: shared by `ostiary serve` and the admin commands."""

from __future__ import annotations

import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from ostiary import ids
from ostiary.auth.authenticate import PERMISSIVE_USER
from ostiary.errors import ConcurrentModificationException
from ostiary.services.policies import seed_aws_managed_policies
from ostiary.settings import Settings, ThrottleLimits
from ostiary.store import access_keys, accounts, policies, trail_store, users
from ostiary.store.db import Connection, Database, owner_only
from ostiary.store.keyring import Keyring

ROOT_CREDENTIALS_FILE = "root-credentials.json"
_ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"


def open_store(settings: Settings, *, pool: bool = True) -> tuple[Database, Keyring]:
    """The migrated database and the keyring of these settings."""
    ThrottleLimits.from_env()  # a bad OSTIARY_THROTTLE_* stops the start, not a later sign-in
    private_data_dir(settings.data_dir)
    db = Database(settings.resolved_database_url, pool=pool)
    db.migrate()
    trail_store.prepare(db)
    seed_aws_managed_policies(db)
    return db, Keyring.load(settings.data_dir)


def ensure_default_account(settings: Settings, db: Database, keyring: Keyring) -> Path | None:
    """Create the default account and its root key on first start.

    Root credentials come from the settings when given; otherwise they are generated once and
    written to a file readable only by the owner, whose path is returned.
    """
    now = datetime.now(UTC)
    account_id = settings.account_id
    path = settings.data_dir / ROOT_CREDENTIALS_FILE
    with db.transaction() as conn:
        if not accounts.exists(conn, account_id):
            accounts.create(conn, account_id, now)
        existing = access_keys.root_key_ids(conn, account_id)
        if settings.root_access_key_id and settings.root_secret_access_key:
            if settings.root_access_key_id not in existing:
                access_keys.insert(
                    conn,
                    keyring,
                    access_key_id=settings.root_access_key_id,
                    secret=settings.root_secret_access_key,
                    account_id=account_id,
                    user_id=None,
                    now=now,
                )
            return None
        if existing:
            return path if path.exists() else None
        key_id, secret = ids.access_key_id(), ids.secret_access_key()
        access_keys.insert(
            conn, keyring, access_key_id=key_id, secret=secret, account_id=account_id, user_id=None, now=now
        )
    _write_private(path, {"AccountId": account_id, "AccessKeyId": key_id, "SecretAccessKey": secret})
    return path


def ensure_permissive_user(settings: Settings, db: Database) -> None:
    """In permissive mode, the IAM user that unknown keys stand for: AdministratorAccess, made once.

    Unknown keys (LocalStack's and moto's `test`/`test`) act as this user, not as root: AWS lets no root
    assume a role. A user that exists is left as it is, so an operator may narrow its permissions.
    """
    if settings.auth != "permissive":
        return
    try:
        with db.transaction() as conn:
            if users.find(conn, settings.account_id, PERMISSIVE_USER) is None:
                _insert_permissive_user(conn, settings.account_id)
    except ConcurrentModificationException:
        pass  # another node, starting at the same moment, made it


def _insert_permissive_user(conn: Connection, account_id: str) -> None:
    users.insert(
        conn,
        user_id=ids.unique_id("AIDA"),
        account_id=account_id,
        name=PERMISSIVE_USER,
        path="/",
        boundary=None,
        now=datetime.now(UTC),
    )
    admin = policies.find(conn, account_id, _ADMINISTRATOR_ACCESS)
    entity = policies.find_entity(conn, account_id, "user", PERMISSIVE_USER)
    assert admin is not None and entity is not None  # seeded by open_store, inserted above
    policies.attach(conn, admin.policy_id, entity)
    accounts.bump_epoch(conn, account_id)


def create_account(db: Database, keyring: Keyring, account_id: str | None = None) -> dict[str, str]:
    """A new account with a root access key; returns AccountId, AccessKeyId, SecretAccessKey."""
    now = datetime.now(UTC)
    account_id = account_id or "".join(secrets.choice("0123456789") for _ in range(12))
    key_id, secret = ids.access_key_id(), ids.secret_access_key()
    with db.transaction() as conn:
        accounts.create(conn, account_id, now)
        access_keys.insert(
            conn, keyring, access_key_id=key_id, secret=secret, account_id=account_id, user_id=None, now=now
        )
    return {"AccountId": account_id, "AccessKeyId": key_id, "SecretAccessKey": secret}


def private_data_dir(data_dir: Path) -> None:
    """Make the data folder 0700 and narrow what it holds to its owner (the database, the keyring, the
    trail's folder and segments...).

    An existing folder is narrowed too: one made by an older version was 0755 with 0644 files.
    """
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    owner_only(data_dir)
    for folder, folders, files in os.walk(data_dir):
        for name in (*folders, *files):
            entry = Path(folder) / name
            if not entry.is_symlink():
                owner_only(entry)


def _write_private(path: Path, data: dict[str, str]) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
