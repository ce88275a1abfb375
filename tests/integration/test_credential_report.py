"""The credential report through boto3 and the AWS CLI: AWS's states and errors, every column of the
root's and the users' rows, its authorization, account isolation and quoting that names cannot break."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import create_engine, text

from tests.conftest import Server
from tests.integration.authz_helpers import allow, doc
from tests.integration.credential_helpers import certificate, denied_text, error, rsa_key
from tests.integration.test_accounts import client
from tests.integration.test_mfa import enabled_device
from tests.integration.test_signin import signin

HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
    "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
    "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
    "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,"
    "cert_2_active,cert_2_last_rotated"
)
COLUMNS = HEADER.split(",")
PASSWORD = "Report-Passw0rd!"
FIRST_DESCRIPTION = "No report exists. Starting a new report generation task"
NOTHING = {  # a user with no password, MFA, key or certificate
    "password_enabled": "false",
    "password_last_used": "N/A",
    "password_last_changed": "N/A",
    "password_next_rotation": "N/A",
    "mfa_active": "false",
    **{f"access_key_{n}_active": "false" for n in (1, 2)},
    **{f"access_key_{n}_{c}": "N/A" for n in (1, 2) for c in ("last_rotated", "last_used_date")},
    **{f"access_key_{n}_last_used_{c}": "N/A" for n in (1, 2) for c in ("region", "service")},
    **{f"cert_{n}_active": "false" for n in (1, 2)},
    **{f"cert_{n}_last_rotated": "N/A" for n in (1, 2)},
}


@pytest.fixture
def account(server: Server) -> dict[str, Any]:
    """A fresh account (a report covers every user of its account), with its root's IAM client."""
    created = server.new_account()
    return {"id": created["AccountId"], "creds": created, "iam": client(server, "iam", created)}


def iso(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).isoformat()


def report_text(iam: Any) -> str:
    """The account's report as text, generated when needed."""
    iam.generate_credential_report()
    got = iam.get_credential_report()
    assert got["ReportFormat"] == "text/csv"
    return str(got["Content"].decode())


def rows(iam: Any) -> dict[str, dict[str, str]]:
    """The report's rows by user name, after checking its header and that every row has every column."""
    content = report_text(iam)
    assert content.split("\n", 1)[0] == HEADER
    parsed = list(csv.reader(io.StringIO(content)))
    assert all(len(row) == len(COLUMNS) for row in parsed)
    return {row[0]: dict(zip(COLUMNS, row, strict=True)) for row in parsed[1:]}


def test_get_before_any_generation_is_report_not_present(account: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as exc:
        account["iam"].get_credential_report()
    code, _, status = error(exc)
    assert (code, status) == ("ReportNotPresent", 410)


def test_first_generation_starts_then_the_report_is_complete(account: dict[str, Any]) -> None:
    iam = account["iam"]
    first = iam.generate_credential_report()
    assert (first["State"], first["Description"]) == ("STARTED", FIRST_DESCRIPTION)
    again = iam.generate_credential_report()
    assert again["State"] == "COMPLETE" and "Description" not in again
    got = iam.get_credential_report()
    assert got["ReportFormat"] == "text/csv"
    assert got["GeneratedTime"].tzinfo is not None
    assert abs(got["GeneratedTime"] - datetime.now(UTC)) < timedelta(minutes=5)
    assert got["Content"].decode().split("\n", 1)[0] == HEADER


def test_concurrent_generations_make_one_report(server: Server, account: dict[str, Any]) -> None:
    clients = [client(server, "iam", account["creds"]) for _ in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda iam: iam.generate_credential_report(), clients))
    assert sorted(a["State"] for a in answers) == ["COMPLETE"] * 5 + ["STARTED"]
    assert [a["Description"] for a in answers if "Description" in a] == [FIRST_DESCRIPTION]


def test_the_root_row_comes_first_with_awss_not_supported_columns(
    server: Server, account: dict[str, Any]
) -> None:
    iam = account["iam"]
    root_key = account["creds"]["AccessKeyId"]
    content = report_text(iam)
    root = dict(zip(COLUMNS, next(csv.reader(io.StringIO(content.split("\n")[1]))), strict=True))
    assert root["user"] == "<root_account>"
    assert root["arn"] == f"arn:aws:iam::{account['id']}:root"
    created = datetime.fromisoformat(root["user_creation_time"])
    assert created.tzinfo is not None and abs(created - datetime.now(UTC)) < timedelta(minutes=5)
    assert [root[c] for c in COLUMNS[3:8]] == [
        "not_supported",
        "no_information",
        "not_supported",
        "not_supported",
        "false",
    ]
    key = iam.list_access_keys()["AccessKeyMetadata"][0]
    used = iam.get_access_key_last_used(AccessKeyId=root_key)["AccessKeyLastUsed"]
    assert key["AccessKeyId"] == root_key
    assert [root[f"access_key_1_{c}"] for c in ("active", "last_rotated", "last_used_date")] == [
        "true",
        iso(key["CreateDate"]),
        iso(used["LastUsedDate"]),
    ]
    assert (root["access_key_1_last_used_region"], root["access_key_1_last_used_service"]) == (
        "us-east-1",
        "iam",
    )
    assert {c: root[c] for c in COLUMNS[13:]} == {c: NOTHING[c] for c in COLUMNS[13:]}


def test_every_user_column(server: Server, account: dict[str, Any], unique: str) -> None:
    iam = account["iam"]
    iam.update_account_password_policy(MaxPasswordAge=90)
    iam.create_user(UserName="a-nothing")
    iam.create_user(UserName="b-password")
    iam.create_login_profile(UserName="b-password", Password=PASSWORD)
    iam.create_user(UserName="c-signed-in")
    iam.create_login_profile(UserName="c-signed-in", Password=PASSWORD)
    done = signin(server, account["id"], "c-signed-in", PASSWORD)
    assert done.returncode == 0, done.stderr
    mfa_user, _, _ = enabled_device(iam, unique)
    iam.create_user(UserName="d-keys")
    used_key = iam.create_access_key(UserName="d-keys")["AccessKey"]
    idle_key = iam.create_access_key(UserName="d-keys")["AccessKey"]
    iam.update_access_key(UserName="d-keys", AccessKeyId=idle_key["AccessKeyId"], Status="Inactive")
    user_sts = client(server, "sts", used_key)
    user_sts.get_caller_identity()
    iam.create_user(UserName="e-certificates")
    certs = [
        iam.upload_signing_certificate(UserName="e-certificates", CertificateBody=certificate(rsa_key()))[
            "Certificate"
        ]
        for _ in range(2)
    ]
    iam.update_signing_certificate(
        UserName="e-certificates", CertificateId=certs[1]["CertificateId"], Status="Inactive"
    )

    report = rows(iam)

    assert list(report) == [
        "<root_account>",
        "a-nothing",
        "b-password",
        "c-signed-in",
        "d-keys",
        "e-certificates",
        mfa_user,
    ]
    for name, row in report.items():
        if name != "<root_account>":
            user = iam.get_user(UserName=name)["User"]
            assert (row["arn"], row["user_creation_time"]) == (user["Arn"], iso(user["CreateDate"]))
    assert {c: report["a-nothing"][c] for c in NOTHING} == NOTHING

    changed = iam.get_login_profile(UserName="b-password")["LoginProfile"]["CreateDate"]
    assert [report["b-password"][c] for c in COLUMNS[3:8]] == [
        "true",
        "no_information",
        iso(changed),
        iso(changed + timedelta(days=90)),
        "false",
    ]
    last_sign_in = iam.get_user(UserName="c-signed-in")["User"]["PasswordLastUsed"]
    assert report["c-signed-in"]["password_last_used"] == iso(last_sign_in)
    assert report[mfa_user]["mfa_active"] == "true"
    assert report[mfa_user]["password_enabled"] == "false"

    keys = report["d-keys"]
    used = iam.get_access_key_last_used(AccessKeyId=used_key["AccessKeyId"])["AccessKeyLastUsed"]
    assert [keys[f"access_key_1_{c}"] for c in ("active", "last_rotated", "last_used_date")] == [
        "true",
        iso(used_key["CreateDate"]),
        iso(used["LastUsedDate"]),
    ]
    assert (keys["access_key_1_last_used_region"], keys["access_key_1_last_used_service"]) == (
        "us-east-1",
        "sts",
    )
    assert [keys[f"access_key_2_{c}"] for c in ("active", "last_rotated", "last_used_date")] == [
        "false",
        iso(idle_key["CreateDate"]),
        "N/A",
    ]
    assert (keys["access_key_2_last_used_region"], keys["access_key_2_last_used_service"]) == ("N/A", "N/A")

    content = iam.get_credential_report()["Content"].decode()
    assert used_key["SecretAccessKey"] not in content and "argon2" not in content  # no secret leaves

    certs_row = report["e-certificates"]
    assert [certs_row[c] for c in COLUMNS[18:]] == [
        "true",
        iso(certs[0]["UploadDate"]),
        "false",
        iso(certs[1]["UploadDate"]),
    ]


def test_next_rotation_is_na_without_a_max_password_age(account: dict[str, Any]) -> None:
    iam = account["iam"]
    iam.update_account_password_policy(MinimumPasswordLength=8)
    iam.create_user(UserName="walker")
    iam.create_login_profile(UserName="walker", Password=PASSWORD)
    row = rows(iam)["walker"]
    assert (row["password_enabled"], row["password_next_rotation"]) == ("true", "N/A")


def test_a_report_is_kept_four_hours_so_later_users_wait_for_the_next(account: dict[str, Any]) -> None:
    iam = account["iam"]
    iam.create_user(UserName="early")
    assert "early" in rows(iam)
    iam.create_user(UserName="late")
    assert iam.generate_credential_report()["State"] == "COMPLETE"
    assert "late" not in rows(iam)


def _age_report(server: Server, account_id: str, hours: int) -> None:
    """Make the account's report `hours` older, as if it had been generated then."""
    engine = create_engine(server.database_url)
    try:
        with engine.begin() as conn:
            made = conn.execute(
                text("SELECT generated_at FROM credential_reports WHERE account_id = :a"), {"a": account_id}
            ).scalar_one()
            made = datetime.fromisoformat(made) if isinstance(made, str) else made
            conn.execute(
                text("UPDATE credential_reports SET generated_at = :t WHERE account_id = :a"),
                {"t": made - timedelta(hours=hours), "a": account_id},
            )
    finally:
        engine.dispose()


def test_a_report_older_than_four_hours_expires_and_is_made_anew(
    server: Server, account: dict[str, Any]
) -> None:
    iam = account["iam"]
    iam.create_user(UserName="before")
    assert "before" in rows(iam)
    iam.create_user(UserName="after")
    _age_report(server, account["id"], 5)
    with pytest.raises(ClientError) as exc:
        iam.get_credential_report()
    code, _, status = error(exc)
    assert (code, status) == ("ReportExpired", 410)
    again = iam.generate_credential_report()
    assert again["State"] == "STARTED" and "Description" not in again
    assert "after" in rows(iam)


def test_a_report_three_hours_old_is_still_served(server: Server, account: dict[str, Any]) -> None:
    iam = account["iam"]
    iam.generate_credential_report()
    _age_report(server, account["id"], 3)
    assert iam.generate_credential_report()["State"] == "COMPLETE"
    assert iam.get_credential_report()["Content"].decode().startswith(HEADER)


def test_accounts_see_only_their_own_users(server: Server, account: dict[str, Any], unique: str) -> None:
    other = server.new_account()
    other_iam = client(server, "iam", other)
    other_iam.create_user(UserName=f"theirs-{unique}")
    account["iam"].create_user(UserName=f"ours-{unique}")
    ours, theirs = rows(account["iam"]), rows(other_iam)
    assert list(ours) == ["<root_account>", f"ours-{unique}"]
    assert list(theirs) == ["<root_account>", f"theirs-{unique}"]
    assert theirs["<root_account>"]["arn"] == f"arn:aws:iam::{other['AccountId']}:root"
    assert all(account["id"] not in row["arn"] for row in theirs.values())


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("comma,name", "/"),
        ("=cmd", "/"),
        ("+sum", '/a"b,c/'),
        ("@at-_.", '/quote"/'),
        ("plain", '/x",y\\z/'),
    ],
)
def test_names_and_paths_cannot_break_the_csv(account: dict[str, Any], name: str, path: str) -> None:
    iam = account["iam"]
    arn = iam.create_user(UserName=name, Path=path)["User"]["Arn"]
    report = rows(iam)
    assert list(report) == ["<root_account>", name]
    assert (report[name]["user"], report[name]["arn"]) == (name, arn)
    assert {c: report[name][c] for c in NOTHING} == NOTHING


def test_without_permission_the_calls_are_refused_with_awss_message(
    server: Server, account: dict[str, Any]
) -> None:
    iam = account["iam"]
    arn = iam.create_user(UserName="auditor")["User"]["Arn"]
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    auditor = client(server, "iam", key)
    with pytest.raises(ClientError) as exc:
        auditor.generate_credential_report()
    assert error(exc) == ("AccessDenied", denied_text(arn, "GenerateCredentialReport", "*"), 403)
    iam.put_user_policy(
        UserName="auditor", PolicyName="gen", PolicyDocument=doc(allow("iam:GenerateCredentialReport"))
    )
    assert auditor.generate_credential_report()["State"] == "STARTED"
    with pytest.raises(ClientError) as exc:
        auditor.get_credential_report()
    assert error(exc) == ("AccessDenied", denied_text(arn, "GetCredentialReport", "*"), 403)
    iam.put_user_policy(
        UserName="auditor", PolicyName="get", PolicyDocument=doc(allow("iam:GetCredentialReport"))
    )
    assert "auditor" in auditor.get_credential_report()["Content"].decode()


def _aws(server: Server, creds: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID=creds["AccessKeyId"],
        AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    env.pop("AWS_PROFILE", None)
    return subprocess.run(
        [sys.executable, "-m", "awscli", "--endpoint-url", server.endpoint, "--output", "json", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_aws_cli_generates_and_gets_the_report(server: Server, account: dict[str, Any]) -> None:
    account["iam"].create_user(UserName="cli-user")
    creds = account["creds"]
    missing = _aws(server, creds, "iam", "get-credential-report")
    assert missing.returncode != 0 and "ReportNotPresent" in missing.stderr
    started = _aws(server, creds, "iam", "generate-credential-report")
    assert started.returncode == 0, started.stderr
    assert json.loads(started.stdout) == {"State": "STARTED", "Description": FIRST_DESCRIPTION}
    complete = json.loads(_aws(server, creds, "iam", "generate-credential-report").stdout)
    assert complete == {"State": "COMPLETE"}
    got = _aws(server, creds, "iam", "get-credential-report")
    assert got.returncode == 0, got.stderr
    report = json.loads(got.stdout)
    assert report["ReportFormat"] == "text/csv"
    content = base64.b64decode(report["Content"]).decode()
    assert content.split("\n")[0] == HEADER
    assert [line.split(",")[0] for line in content.split("\n")[1:]] == ["<root_account>", "cli-user"]
