"""`ostiary backup` / `ostiary restore`: an account with every kind of entity, backed up from a running
server, restored into a fresh store of the other kind, served again: every secret still works and
the account reads the same."""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, _pg_admin, skip_without_pg, start_server, stop_server
from tests.integration.credential_helpers import certificate, private_pem, rsa_key, ssh_text
from tests.integration.gateway_helpers import moto_backend
from tests.integration.test_saml_providers import metadata as saml_metadata

PASSWORD = "Backup-Passw0rd!"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def allow(*actions: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}],
        }
    )


def ostiary(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run an `ostiary` command from the worktree with these OSTIARY_* variables only."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OSTIARY_")}
    return subprocess.run(
        [sys.executable, "-m", "ostiary", *args], env=clean | env, capture_output=True, text=True, timeout=120
    )


def store_env(data_dir: Path, url: str) -> dict[str, str]:
    return {"OSTIARY_DATA_DIR": str(data_dir), "OSTIARY_DATABASE_URL": url}


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from moto_backend(tmp_path_factory)


@pytest.fixture(scope="module")
def new_database() -> Iterator[Callable[[], str]]:
    """Makes fresh PostgreSQL databases, dropped at the end of the module."""
    try:
        admin = _pg_admin()
    except Exception as exc:  # noqa: BLE001 - any failure to connect means: skip (or fail), and say why
        skip_without_pg(exc)
    made: list[str] = []
    base = os.environ.get("OSTIARY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    base = base.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)

    def make() -> str:
        name = f"ostiary_backup_{uuid.uuid4().hex[:12]}"
        admin.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return f"{base}/{name}"

    yield make
    for name in made:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def store_url(kind: str, data_dir: Path, new_database: Callable[[], str]) -> str:
    return f"sqlite:///{data_dir / 'ostiary.db'}" if kind == "sqlite" else new_database()


def populate(server: Server, suffix: str) -> dict[str, Any]:
    """One of each kind of entity in the default account; the secrets they were given."""
    iam: Any = server.client("iam")
    iam.update_account_password_policy(MinimumPasswordLength=12, PasswordReusePrevention=3)
    boundary = iam.create_policy(PolicyName="boundary", PolicyDocument=allow("iam:*", "sts:*", "s3:*"))[
        "Policy"
    ]["Arn"]
    managed = iam.create_policy(PolicyName="managed", PolicyDocument=allow("iam:Get*"), Description="v1")[
        "Policy"
    ]["Arn"]
    iam.create_policy_version(
        PolicyArn=managed, PolicyDocument=allow("iam:Get*", "iam:List*"), SetAsDefault=True
    )
    iam.create_user(
        UserName="alice", Path="/people/", PermissionsBoundary=boundary, Tags=[{"Key": "team", "Value": "a"}]
    )
    iam.put_user_policy(UserName="alice", PolicyName="self", PolicyDocument=allow("iam:*", "sts:*"))
    iam.attach_user_policy(UserName="alice", PolicyArn=managed)
    iam.attach_user_policy(UserName="alice", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    iam.create_login_profile(UserName="alice", Password="First-Passw0rd!")
    iam.update_login_profile(UserName="alice", Password=PASSWORD)  # a row of password history
    iam.create_group(GroupName="admins")
    iam.add_user_to_group(GroupName="admins", UserName="alice")
    iam.put_group_policy(GroupName="admins", PolicyName="inline", PolicyDocument=allow("iam:List*"))
    iam.attach_group_policy(GroupName="admins", PolicyArn=managed)
    iam.create_role(
        RoleName="web", AssumeRolePolicyDocument=json.dumps(TRUST), Tags=[{"Key": "tier", "Value": "web"}]
    )
    iam.put_role_policy(RoleName="web", PolicyName="inline", PolicyDocument=allow("s3:GetObject"))
    iam.attach_role_policy(RoleName="web", PolicyArn=managed)
    iam.put_role_permissions_boundary(RoleName="web", PermissionsBoundary=boundary)
    iam.create_instance_profile(InstanceProfileName="web-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="web-profile", RoleName="web")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice-mfa")["VirtualMFADevice"]
    seed = device["Base32StringSeed"].decode()
    step = int(time.time()) // 30
    totp = pyotp.TOTP(seed)
    iam.create_user(UserName="bob")
    iam.put_user_policy(UserName="bob", PolicyName="self", PolicyDocument=allow("sts:*"))
    bob_key = iam.create_access_key(UserName="bob")["AccessKey"]
    iam.enable_mfa_device(
        UserName="bob",
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1=totp.generate_otp(step - 1),
        AuthenticationCode2=totp.generate_otp(step),
    )
    iam.create_open_id_connect_provider(
        Url=f"https://oidc-{suffix}.example.com", ThumbprintList=["a" * 40], ClientIDList=["app", "web"]
    )
    iam.create_saml_provider(Name="corp", SAMLMetadataDocument=saml_metadata())
    iam.upload_ssh_public_key(UserName="alice", SSHPublicKeyBody=ssh_text(rsa_key(), "alice@example"))
    signing_key = rsa_key()
    iam.upload_signing_certificate(UserName="alice", CertificateBody=certificate(signing_key, "alice"))
    cert_key = rsa_key()
    iam.upload_server_certificate(
        ServerCertificateName="site",
        CertificateBody=certificate(cert_key, "site.example.com"),
        PrivateKey=private_pem(cert_key),
    )
    service_password = iam.create_service_specific_credential(
        UserName="alice", ServiceName="codecommit.amazonaws.com"
    )["ServiceSpecificCredential"]["ServicePassword"]
    while iam.generate_credential_report()["State"] != "COMPLETE":
        time.sleep(0.1)
    s3: Any = server.client("s3")
    bucket = f"backup-{suffix}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{server.account_id}:role/web"},
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{bucket}/*",
                    }
                ],
            }
        ),
    )
    return {
        "alice": key,
        "bob": bob_key,
        "seed": seed,
        "serial": device["SerialNumber"],
        "secrets": [
            key["SecretAccessKey"],
            bob_key["SecretAccessKey"],
            PASSWORD,
            seed,
            service_password,
            private_pem(cert_key),
        ],
        "bucket": bucket,
    }


def pages(
    call: Callable[..., dict[str, Any]], marker_key: str = "Marker", **kwargs: Any
) -> list[dict[str, Any]]:
    out, marker = [], None
    while True:
        page = call(**kwargs, **({marker_key: marker} if marker else {}))
        page.pop("ResponseMetadata", None)
        out.append(page)
        if not page.get("IsTruncated"):
            return out
        marker = page["Marker"]


def account_view(server: Server, world: dict[str, Any]) -> dict[str, Any]:
    """What the account's root reads of every entity."""
    iam: Any = server.client("iam")

    def plain(response: dict[str, Any]) -> dict[str, Any]:
        response.pop("ResponseMetadata", None)
        return response

    return {
        "details": pages(iam.get_account_authorization_details),
        "password_policy": plain(iam.get_account_password_policy()),
        "summary": plain(iam.get_account_summary()),
        "keys": [plain(iam.list_access_keys(UserName=user)) for user in ("alice", "bob")],
        "mfa": plain(iam.list_virtual_mfa_devices()),
        "oidc": [
            plain(iam.get_open_id_connect_provider(OpenIDConnectProviderArn=p["Arn"]))
            for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
        ],
        "saml": plain(iam.list_saml_providers()),
        "ssh": plain(iam.list_ssh_public_keys(UserName="alice")),
        "signing": plain(iam.list_signing_certificates(UserName="alice")),
        "server_certificates": plain(iam.get_server_certificate(ServerCertificateName="site")),
        "service_credentials": plain(iam.list_service_specific_credentials(UserName="alice")),
        "credential_report": plain(iam.get_credential_report()),
        "instance_profiles": plain(iam.list_instance_profiles()),
        "bucket_policy": server.client("s3").get_bucket_policy(Bucket=world["bucket"])["Policy"],  # type: ignore[attr-defined]
    }


def archive_rows(path: Path) -> dict[str, list[str]]:
    """The rows of a backup, by table, sorted (the stores order text keys differently)."""
    with tarfile.open(path, "r:gz") as tar:
        member = tar.extractfile(tar.getmember("rows.jsonl"))
        assert member is not None
        lines = member.read().decode().splitlines()
    by_table: dict[str, list[str]] = {}
    for line in lines:
        by_table.setdefault(json.loads(line)["table"], []).append(line)
    return {name: sorted(rows) for name, rows in by_table.items()}


def signin(data_dir: Path, url: str, user: str, password: str) -> subprocess.CompletedProcess[str]:
    env = store_env(data_dir, url) | {"OSTIARY_PASSWORD": password}
    return ostiary("signin", "--user-name", user, env=env)


@pytest.mark.parametrize(("source", "target"), [("sqlite", "postgresql"), ("postgresql", "sqlite")])
def test_an_account_round_trips_into_the_other_store_with_its_secrets_working(
    source: str, target: str, tmp_path: Path, backend: str, new_database: Callable[[], str]
) -> None:
    source_dir, target_dir = tmp_path / "source", tmp_path / "target"
    source_dir.mkdir()
    source_url = store_url(source, source_dir, new_database)
    old = start_server(source_dir, source_url, source, f"--backend=s3={backend}")
    suffix = uuid.uuid4().hex[:10]
    try:
        world = populate(old, suffix)
        before = account_view(old, world)
        archive = tmp_path / "store.ostiary"
        done = ostiary("backup", str(archive), env=store_env(source_dir, source_url))  # while it serves
        assert done.returncode == 0, done.stderr
    finally:
        stop_server(old)
    assert archive.stat().st_mode & 0o777 == 0o600
    assert archive_rows(archive).get("trail_events")  # the trail's own file (SQLite) is backed up too

    target_dir.mkdir()
    target_url = store_url(target, target_dir, new_database)
    done = ostiary(
        "restore",
        str(archive),
        "--keyring-file",
        str(source_dir / "keyring"),
        env=store_env(target_dir, target_url),
    )
    assert done.returncode == 0, done.stderr
    assert (target_dir / "keyring").read_bytes() == (source_dir / "keyring").read_bytes()
    again = tmp_path / "restored.ostiary"
    done = ostiary("backup", str(again), env=store_env(target_dir, target_url))
    assert done.returncode == 0, done.stderr
    assert archive_rows(again) == archive_rows(archive)  # every row, every column, every sealed byte

    new = start_server(target_dir, target_url, target, f"--backend=s3={backend}")
    try:
        assert account_view(new, world) == before
        alice: Any = new.client("sts", world["alice"]["AccessKeyId"], world["alice"]["SecretAccessKey"])
        assert alice.get_caller_identity()["Arn"] == f"arn:aws:iam::{new.account_id}:user/people/alice"
        bob: Any = new.client("sts", world["bob"]["AccessKeyId"], world["bob"]["SecretAccessKey"])
        code = pyotp.TOTP(world["seed"]).generate_otp(int(time.time()) // 30 + 1)  # after the enabling codes
        session = bob.get_session_token(SerialNumber=world["serial"], TokenCode=code)["Credentials"]
        assert session["SessionToken"]
        signed_in = signin(target_dir, target_url, "alice", PASSWORD)
        assert signed_in.returncode == 0, signed_in.stderr
        assert json.loads(signed_in.stdout)["AccessKeyId"].startswith("ASIA")
        refused = signin(target_dir, target_url, "alice", PASSWORD + "x")
        assert refused.returncode != 0
        root: Any = new.client("iam")
        with pytest.raises(ClientError) as reused:  # the history came along
            root.update_login_profile(UserName="alice", Password="First-Passw0rd!")
        assert reused.value.response["Error"]["Code"] == "PasswordPolicyViolation"
        root.update_login_profile(UserName="alice", Password="Third-Passw0rd!")  # a new history row
        assert signin(target_dir, target_url, "alice", "Third-Passw0rd!").returncode == 0
        assert created_alice(new)  # the trail came along, and is read where this store keeps it
    finally:
        stop_server(new)
    if target == "sqlite":  # the restore wrote the trail into the server's file; the start moved it
        assert trail_rows(target_dir / "ostiary.db") == 0
        assert trail_rows(target_dir / "ostiary-trail.db") >= len(archive_rows(archive)["trail_events"])


def created_alice(server: Server) -> bool:
    """Whether the server's trail holds the CreateUser of alice."""
    trail: Any = server.client("cloudtrail")
    attributes = [{"AttributeKey": "EventName", "AttributeValue": "CreateUser"}]
    for page in trail.get_paginator("lookup_events").paginate(LookupAttributes=attributes):
        for event in page["Events"]:
            if json.loads(event["CloudTrailEvent"])["requestParameters"].get("userName") == "alice":
                return True
    return False


def trail_rows(path: Path) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return int(conn.execute("SELECT count(*) FROM trail_events").fetchone()[0])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[tuple[Server, dict[str, Any]]]:
    """A SQLite server with every kind of entity, for the tests that only back it up."""
    data_dir = tmp_path_factory.mktemp("backup-served")
    server = start_server(
        data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite", f"--backend=s3={backend}"
    )
    try:
        yield server, populate(server, uuid.uuid4().hex[:10])
    finally:
        stop_server(server)


def archive_bytes(path: Path) -> bytes:
    """Everything the archive holds, decompressed."""
    return gzip.decompress(path.read_bytes())


def test_the_archive_holds_no_secret_in_the_clear_and_the_key_only_when_asked(
    served: tuple[Server, dict[str, Any]], tmp_path: Path
) -> None:
    server, world = served
    env = store_env(server.data_dir, server.database_url)
    plain, keyed = tmp_path / "plain.ostiary", tmp_path / "keyed.ostiary"
    assert ostiary("backup", str(plain), env=env).returncode == 0
    assert ostiary("backup", str(keyed), "--include-keyring", env=env).returncode == 0
    key = (server.data_dir / "keyring").read_bytes()
    content = archive_bytes(plain)
    for secret in [*world["secrets"], key.decode(), base64.b64decode(key).hex()]:
        assert secret.encode() not in content, secret[:12]
    assert base64.b64decode(key) not in content
    with tarfile.open(plain, "r:gz") as tar:
        assert sorted(tar.getnames()) == ["manifest.json", "rows.jsonl"]
    with tarfile.open(keyed, "r:gz") as tar:
        assert sorted(tar.getnames()) == ["keyring", "manifest.json", "rows.jsonl"]
        member = tar.extractfile("keyring")
        assert member is not None and member.read() == key


def test_a_restore_without_the_keyring_is_refused_and_writes_nothing(
    served: tuple[Server, dict[str, Any]], tmp_path: Path
) -> None:
    server, _world = served
    archive = tmp_path / "plain.ostiary"
    assert (
        ostiary("backup", str(archive), env=store_env(server.data_dir, server.database_url)).returncode == 0
    )
    target = tmp_path / "target"
    done = ostiary("restore", str(archive), env=store_env(target, f"sqlite:///{target / 'ostiary.db'}"))
    assert done.returncode == 1
    assert "the backup holds no keyring" in done.stderr
    assert not (target / "ostiary.db").exists() and not (target / "keyring").exists()


def test_a_restore_with_another_keyring_is_refused_and_writes_nothing(
    served: tuple[Server, dict[str, Any]], tmp_path: Path
) -> None:
    server, _world = served
    archive = tmp_path / "plain.ostiary"
    assert (
        ostiary("backup", str(archive), env=store_env(server.data_dir, server.database_url)).returncode == 0
    )
    target = tmp_path / "target"
    other_key = tmp_path / "other-keyring"
    other_key.write_bytes(base64.b64encode(os.urandom(32)))
    env = store_env(target, f"sqlite:///{target / 'ostiary.db'}")
    done = ostiary("restore", str(archive), "--keyring-file", str(other_key), env=env)
    assert done.returncode == 1
    assert f"this keyring (`{other_key}`) does not open the backup's secrets" in done.stderr
    assert not (target / "keyring").exists()
    env_key = ostiary("restore", str(archive), env=env | {"OSTIARY_KEYRING_KEY": other_key.read_text()})
    assert env_key.returncode == 1 and "this keyring (OSTIARY_KEYRING_KEY) does not open" in env_key.stderr


def _rewrite_rows(archive: Path, out: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """A copy of `archive` whose rows went through `change`."""
    with tarfile.open(archive, "r:gz") as tar:
        members = {name: tar.extractfile(name).read() for name in tar.getnames()}  # type: ignore[union-attr]
    lines = []
    for line in members["rows.jsonl"].decode().splitlines():
        entry = json.loads(line)
        change(entry)
        lines.append(json.dumps(entry))
    members["rows.jsonl"] = ("\n".join(lines) + "\n").encode()
    with tarfile.open(out, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_a_tampered_sealed_secret_is_refused_and_nothing_is_restored(
    served: tuple[Server, dict[str, Any]], tmp_path: Path
) -> None:
    server, world = served
    archive = tmp_path / "keyed.ostiary"
    env = store_env(server.data_dir, server.database_url)
    assert ostiary("backup", str(archive), "--include-keyring", env=env).returncode == 0

    def flip(entry: dict[str, Any]) -> None:
        row = entry["row"]
        if entry["table"] == "access_keys" and row["access_key_id"] == world["alice"]["AccessKeyId"]:
            sealed = bytearray(base64.b64decode(row["secret_sealed"]))
            sealed[-1] ^= 1
            row["secret_sealed"] = base64.b64encode(bytes(sealed)).decode()

    tampered = tmp_path / "tampered.ostiary"
    _rewrite_rows(archive, tampered, flip)
    target = tmp_path / "target"
    url = f"sqlite:///{target / 'ostiary.db'}"
    done = ostiary("restore", str(tampered), env=store_env(target, url))
    assert done.returncode == 1
    first = world["alice"]["AccessKeyId"]
    assert f"sealed secrets of access_keys do not open with this keyring (first: {first})" in done.stderr
    with sqlite3.connect(target / "ostiary.db") as conn:
        assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (0,)
    assert not (target / "keyring").exists()
    ok = ostiary("restore", str(archive), env=store_env(target, url))  # the untampered one still goes in
    assert ok.returncode == 0, ok.stderr


def test_a_store_holding_data_is_refused(served: tuple[Server, dict[str, Any]], tmp_path: Path) -> None:
    server, _world = served
    env = store_env(server.data_dir, server.database_url)
    archive = tmp_path / "keyed.ostiary"
    assert ostiary("backup", str(archive), "--include-keyring", env=env).returncode == 0
    before = archive_rows(archive)
    done = ostiary("restore", str(archive), env=env)  # into the very store it came from
    assert done.returncode == 1
    assert "the store is not empty (its accounts holds rows)" in done.stderr
    again = tmp_path / "again.ostiary"
    assert ostiary("backup", str(again), env=env).returncode == 0
    after = archive_rows(again)
    for table in ("accounts", "users", "access_keys", "mfa_devices", "managed_policies"):
        assert after[table] == before[table], table


def test_a_store_whose_trail_file_holds_events_is_refused(
    served: tuple[Server, dict[str, Any]], tmp_path: Path
) -> None:
    """A new data folder that kept an old store's trail file (its `ostiary-trail.db`): the restored
    store would take those events up at its start."""
    server, _world = served
    archive = tmp_path / "keyed.ostiary"
    env = store_env(server.data_dir, server.database_url)
    assert ostiary("backup", str(archive), "--include-keyring", env=env).returncode == 0
    target = tmp_path / "target"
    target.mkdir(mode=0o700)
    with (
        sqlite3.connect(server.data_dir / "ostiary-trail.db") as source,
        sqlite3.connect(target / "ostiary-trail.db") as copy,
    ):
        source.backup(copy)
    url = f"sqlite:///{target / 'ostiary.db'}"
    done = ostiary("restore", str(archive), env=store_env(target, url))
    assert done.returncode == 1
    assert "the store is not empty (its trail_events holds rows)" in done.stderr
    with sqlite3.connect(target / "ostiary.db") as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)


def test_a_backup_of_another_schema_revision_or_format_is_refused(
    served: tuple[Server, dict[str, Any]], tmp_path: Path
) -> None:
    server, _world = served
    archive = tmp_path / "keyed.ostiary"
    assert (
        ostiary(
            "backup", str(archive), "--include-keyring", env=store_env(server.data_dir, server.database_url)
        ).returncode
        == 0
    )
    with tarfile.open(archive, "r:gz") as tar:
        members = {name: tar.extractfile(name).read() for name in tar.getnames()}  # type: ignore[union-attr]
    manifest = json.loads(members["manifest.json"])
    target = tmp_path / "target"
    for change, said in (
        ({"revision": "0001"}, "the backup is of schema revision 0001"),
        ({"format": "tarball"}, "not an Ostiary backup of version 1"),
    ):
        members["manifest.json"] = json.dumps(manifest | change).encode()
        edited = tmp_path / "edited.ostiary"
        with tarfile.open(edited, "w:gz") as tar:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        done = ostiary("restore", str(edited), env=store_env(target, f"sqlite:///{target / 'ostiary.db'}"))
        assert done.returncode == 1 and said in done.stderr, done.stderr
    garbage = tmp_path / "garbage.ostiary"
    garbage.write_bytes(b"not a tar")
    done = ostiary("restore", str(garbage), env=store_env(target, f"sqlite:///{target / 'ostiary.db'}"))
    assert done.returncode == 1 and "is not an Ostiary backup" in done.stderr


def test_a_backup_taken_during_writes_is_one_moment_of_the_store(server: Server, tmp_path: Path) -> None:
    """Users created one after another (each with its tags, in one transaction) while the backup runs:
    the backup holds the first k of them, each whole, whatever k is."""
    iam: Any = server.client("iam")
    prefix = f"moment-{uuid.uuid4().hex[:8]}-"
    stop, written, failures = threading.Event(), [0], []

    def writer() -> None:
        while not stop.is_set():
            try:
                tags = [{"Key": "n", "Value": str(written[0])}, {"Key": "k", "Value": "v"}]
                iam.create_user(UserName=f"{prefix}{written[0]:05d}", Tags=tags)
                written[0] += 1
            except BaseException as exc:  # noqa: BLE001 - reported below
                failures.append(exc)
                return

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while written[0] < 5 and thread.is_alive():
            time.sleep(0.05)
        archive = tmp_path / "moment.ostiary"
        done = ostiary("backup", str(archive), env=store_env(server.data_dir, server.database_url))
    finally:
        stop.set()
        thread.join(timeout=60)
    assert done.returncode == 0, done.stderr
    assert failures == []
    rows = {
        table: [json.loads(line)["row"] for line in lines] for table, lines in archive_rows(archive).items()
    }
    users = {row["user_id"]: row["name"] for row in rows["users"] if row["name"].startswith(prefix)}
    numbers = sorted(int(name.removeprefix(prefix)) for name in users.values())
    assert numbers == list(range(len(numbers))) and len(numbers) >= 5
    tagged: dict[str, int] = {}
    for row in rows["tags"]:
        if row["entity_id"] in users:
            tagged[row["entity_id"]] = tagged.get(row["entity_id"], 0) + 1
    assert tagged == dict.fromkeys(users, 2)


def test_a_restore_into_a_database_that_cannot_be_reached_says_so(
    served: tuple[Server, dict[str, Any]], tmp_path: Path, new_database: Callable[[], str]
) -> None:
    server, _world = served
    archive = tmp_path / "keyed.ostiary"
    env = store_env(server.data_dir, server.database_url)
    assert ostiary("backup", str(archive), "--include-keyring", env=env).returncode == 0
    missing = new_database().rsplit("/", 1)[0] + f"/ostiary_missing_{uuid.uuid4().hex[:8]}"
    done = ostiary("restore", str(archive), env=store_env(tmp_path / "target", missing))
    assert done.returncode == 1
    assert done.stderr == "Error: the database cannot be reached or migrated: OperationalError\n"
    assert not (tmp_path / "target" / "keyring").exists()


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"table": "alembic_version", "row": {"version_num": "0001"}}, "is not a row of a known table"),
        ({"table": "accounts", "extra": "is_admin"}, "a row of accounts has the columns"),
        ({"table": "accounts", "missing": "policy_epoch"}, "a row of accounts has the columns"),
    ],
    ids=["unknown-table", "extra-column", "missing-column"],
)
def test_a_crafted_row_is_refused_and_nothing_is_restored(
    served: tuple[Server, dict[str, Any]], tmp_path: Path, change: dict[str, Any], said: str
) -> None:
    server, _world = served
    archive = tmp_path / "keyed.ostiary"
    assert (
        ostiary(
            "backup", str(archive), "--include-keyring", env=store_env(server.data_dir, server.database_url)
        ).returncode
        == 0
    )

    def craft(entry: dict[str, Any]) -> None:
        if entry["table"] != "accounts":
            return
        if "row" in change:
            entry.clear()
            entry.update(change)
        elif "extra" in change:
            entry["row"][change["extra"]] = True
        else:
            del entry["row"][change["missing"]]

    crafted = tmp_path / "crafted.ostiary"
    _rewrite_rows(archive, crafted, craft)
    target = tmp_path / "target"
    done = ostiary("restore", str(crafted), env=store_env(target, f"sqlite:///{target / 'ostiary.db'}"))
    assert done.returncode == 1 and said in done.stderr, done.stderr
    with sqlite3.connect(target / "ostiary.db") as conn:
        assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (0,)
    assert not (target / "keyring").exists()
