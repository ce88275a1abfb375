"""`ostiary keyring rotate` while a server serves: every sealed secret re-sealed under a new key, the
old key retired (it opens nothing in the store), and the server never refuses a good key meanwhile."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from botocore.exceptions import ClientError
from sqlalchemy import LargeBinary, select

from ostiary.federation import outbound
from ostiary.store import access_keys as access_key_store
from ostiary.store import server_certificates as certificate_store
from ostiary.store import service_specific_credentials as credential_store
from ostiary.store.db import Database
from ostiary.store.keyring import Keyring, new_key, read_keys, write_keys
from ostiary.store.mfa import seed_purpose
from ostiary.store.sealed import NOT_SEALED, SEALED
from ostiary.store.tables import metadata
from tests.conftest import Server, start_server, stop_server
from tests.integration.credential_helpers import certificate, private_pem, rsa_key
from tests.integration.test_backup import new_database  # noqa: F401 - a fixture: fresh PostgreSQL databases

ALLOW_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


def ostiary(
    server: Server, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OSTIARY_")}
    store = {"OSTIARY_DATA_DIR": str(server.data_dir), "OSTIARY_DATABASE_URL": server.database_url}
    return subprocess.run(
        [sys.executable, "-m", "ostiary", *args],
        env=clean | store | (env or {}),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with a store of its own (never the session's shared database, whose other servers keep
    their own keyrings): rotation re-seals every secret of the store and changes its keyring file."""
    data_dir = tmp_path_factory.mktemp(f"rotate-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir / 'ostiary.db'}"
    else:
        url = request.getfixturevalue("new_database")()
    server = start_server(data_dir, url, request.param)
    yield server
    stop_server(server)


def user_with_secrets(server: Server, name: str) -> dict[str, Any]:
    """A user with an access key, an enabled MFA device, a service-specific credential, and a server
    certificate in the account: a secret of each sealed kind."""
    iam: Any = server.client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="all", PolicyDocument=ALLOW_ALL)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
    seed = device["Base32StringSeed"].decode()
    step = int(time.time()) // 30
    iam.enable_mfa_device(
        UserName=name,
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1=pyotp.TOTP(seed).generate_otp(step - 1),
        AuthenticationCode2=pyotp.TOTP(seed).generate_otp(step),
    )
    iam.create_service_specific_credential(UserName=name, ServiceName="codecommit.amazonaws.com")
    cert_key = rsa_key()
    iam.upload_server_certificate(
        ServerCertificateName=name, CertificateBody=certificate(cert_key), PrivateKey=private_pem(cert_key)
    )
    return {"key": key, "seed": seed, "serial": device["SerialNumber"]}


def sealed_values(server: Server) -> list[tuple[bytes, bytes]]:
    """Every sealed value of the store with its associated data."""
    db = Database(server.database_url, pool=False)
    try:
        with db.read() as conn:
            return [
                (bytes(value), column.purpose(key))
                for column in SEALED
                for key, value in conn.execute(select(column.key_column, column.sealed))
            ]
    finally:
        db.dispose()


def test_rotation_while_serving_reseals_everything_and_retires_the_old_key(served: Server) -> None:
    name = f"rotate-{os.urandom(4).hex()}"
    world = user_with_secrets(served, name)
    old = read_keys(served.data_dir / "keyring")
    assert len(old) == 1
    sts: Any = served.client("sts", world["key"]["AccessKeyId"], world["key"]["SecretAccessKey"])
    iam: Any = served.client("iam")
    failures: list[BaseException] = []
    made: list[dict[str, str]] = []
    stop = threading.Event()

    def traffic() -> None:  # signed calls, and new secrets sealed, all through the rotation
        while not stop.is_set():
            try:
                sts.get_caller_identity()
                if len(made) < 20:
                    fresh = iam.create_access_key(UserName=name)["AccessKey"]
                    iam.delete_access_key(UserName=name, AccessKeyId=fresh["AccessKeyId"])
                    made.append(iam.create_user(UserName=f"{name}-{len(made)}")["User"])
                    key = iam.create_access_key(UserName=f"{name}-{len(made) - 1}")["AccessKey"]
                    made[-1] = {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}
            except BaseException as exc:  # noqa: BLE001 - reported by the test below
                failures.append(exc)
                return

    worker = threading.Thread(target=traffic)
    worker.start()
    try:
        done = ostiary(served, "keyring", "rotate")
    finally:
        stop.set()
        worker.join(timeout=60)
    assert done.returncode == 0, done.stderr
    assert "secrets re-sealed under the new key; the old key is retired" in done.stdout
    assert failures == []
    assert made, "no key was created during the rotation"

    new = read_keys(served.data_dir / "keyring")
    assert len(new) == 1 and new != old
    values = sealed_values(served)
    assert values and not any(Keyring(old[0]).opens(value, purpose) for value, purpose in values)
    assert all(Keyring(new[0]).opens(value, purpose) for value, purpose in values)

    assert sts.get_caller_identity()["Arn"].endswith(f":user/{name}")
    for key in made:  # keys sealed while the rotation ran
        other: Any = served.client("sts", key["AccessKeyId"], key["SecretAccessKey"])
        assert other.get_caller_identity()["Arn"]
    code = pyotp.TOTP(world["seed"]).generate_otp(int(time.time()) // 30 + 1)
    session = sts.get_session_token(SerialNumber=world["serial"], TokenCode=code)["Credentials"]
    fresh: Any = served.client(
        "sts", session["AccessKeyId"], session["SecretAccessKey"], session["SessionToken"]
    )
    assert fresh.get_caller_identity()["Arn"].endswith(f":user/{name}")
    assert (served.data_dir / "keyring").stat().st_mode & 0o777 == 0o600


def refused_soon(client: Any) -> str:
    """The error code of the client's first refused call: the server re-reads its keyring file at most
    once a REFRESH_SECONDS, so a retired key may open a few more calls before it is gone."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            client.get_caller_identity()
        except ClientError as exc:
            return str(exc.response["Error"]["Code"])
        time.sleep(0.1)
    return "never refused"


def test_kept_old_key_lets_older_sessions_live_until_a_second_rotation_retires_it(served: Server) -> None:
    name = f"keep-{os.urandom(4).hex()}"
    world = user_with_secrets(served, name)
    sts: Any = served.client("sts", world["key"]["AccessKeyId"], world["key"]["SecretAccessKey"])
    before = sts.get_session_token()["Credentials"]
    older: Any = served.client(
        "sts", before["AccessKeyId"], before["SecretAccessKey"], before["SessionToken"]
    )
    old = read_keys(served.data_dir / "keyring")

    kept = ostiary(served, "keyring", "rotate", "--keep-old-key")
    assert kept.returncode == 0, kept.stderr
    keys = read_keys(served.data_dir / "keyring")
    assert len(keys) == 2 and keys[1] == old[0]
    assert not any(Keyring(old[0]).opens(value, purpose) for value, purpose in sealed_values(served))
    assert older.get_caller_identity()["Arn"].endswith(f":user/{name}")  # sealed under the old key

    retired = ostiary(served, "keyring", "rotate")
    assert retired.returncode == 0, retired.stderr
    assert read_keys(served.data_dir / "keyring") == keys[:1]
    assert refused_soon(older) == "InvalidClientTokenId"
    assert sts.get_caller_identity()["Arn"].endswith(f":user/{name}")


def test_an_interrupted_rotation_is_finished_by_the_next(served: Server) -> None:
    name = f"resume-{os.urandom(4).hex()}"
    world = user_with_secrets(served, name)
    path = served.data_dir / "keyring"
    old = read_keys(path)
    half = [new_key(), *old]
    write_keys(path, half)  # as a rotation that stopped after its first step
    done = ostiary(served, "keyring", "rotate")
    assert done.returncode == 0, done.stderr
    assert read_keys(path) == half[:1]
    assert all(Keyring(half[0]).opens(value, purpose) for value, purpose in sealed_values(served))
    sts: Any = served.client("sts", world["key"]["AccessKeyId"], world["key"]["SecretAccessKey"])
    assert sts.get_caller_identity()["Arn"].endswith(f":user/{name}")


def test_a_key_from_the_environment_is_not_rotated(served: Server) -> None:
    before = (served.data_dir / "keyring").read_bytes()
    done = ostiary(
        served, "keyring", "rotate", env={"OSTIARY_KEYRING_KEY": base64.b64encode(new_key()).decode()}
    )
    assert done.returncode == 1
    assert "the key comes from OSTIARY_KEYRING_KEY" in done.stderr
    assert (served.data_dir / "keyring").read_bytes() == before


def test_every_binary_column_is_a_known_sealed_secret_or_known_not_to_be() -> None:
    binary = {
        (table.name, column.name)
        for table in metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, LargeBinary)
    }
    sealed = {(column.table.name, column.column) for column in SEALED}
    assert binary == sealed | NOT_SEALED and not sealed & NOT_SEALED


def test_the_sealed_purposes_are_the_stores_own() -> None:
    keyring = Keyring(new_key())
    signing_key = outbound.new_signing_keys(keyring, "111122223333")[0]
    sealed_by_store = {
        "access_keys": access_key_store.seal_secret(keyring, "AKIAEXAMPLE", "secret"),
        "service_specific_credentials": credential_store.seal_secret(keyring, "ACCAEXAMPLE", "secret"),
        "server_certificates": certificate_store.seal_private_key(keyring, "ASCAEXAMPLE", "pem"),
        "mfa_devices": keyring.seal(b"seed", seed_purpose("arn:aws:iam::1:mfa/x")),
        "outbound_signing_keys": signing_key.sealed_private_key,
    }
    keys = {
        "access_keys": "AKIAEXAMPLE",
        "service_specific_credentials": "ACCAEXAMPLE",
        "server_certificates": "ASCAEXAMPLE",
        "mfa_devices": "arn:aws:iam::1:mfa/x",
        "outbound_signing_keys": "111122223333/" + signing_key.kid,
    }
    for column in SEALED:
        name = column.table.name
        assert keyring.opens(sealed_by_store[name], column.purpose(keys[name])), name
        assert not keyring.opens(sealed_by_store[name], column.purpose(keys[name] + "x")), name


def test_a_keyring_loaded_from_its_file_follows_a_rotation(tmp_path: Path) -> None:
    path = tmp_path / "keyring"
    old, new = new_key(), new_key()
    write_keys(path, [old])
    running = Keyring.from_file(path)
    write_keys(path, [new, old])
    sealed_by_new = Keyring(new).seal(b"x", b"p")
    assert running.open(sealed_by_new, b"p") == b"x"  # a value it cannot open makes it look at the file
    assert running.open(Keyring(old).seal(b"y", b"p"), b"p") == b"y"
    path.write_bytes(b"not a keyring")
    assert running.open(sealed_by_new, b"p") == b"x"  # a broken file leaves its keys as they were
