"""The audit trail end to end: IAM and STS calls through boto3, read back with CloudTrail's
LookupEvents (boto3's `cloudtrail` client and `aws cloudtrail lookup-events`), over SQLite and
PostgreSQL."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT, Server
from tests.integration.authz_helpers import Principal, account_trust, allow, doc, role_clients
from tests.integration.test_accounts import client


def events(server: Server, key: str, value: str, **creds: Any) -> list[dict[str, Any]]:
    """Every event of one lookup attribute, all pages, each with its CloudTrailEvent parsed."""
    cloudtrail = server.client("cloudtrail", **creds)
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"LookupAttributes": [{"AttributeKey": key, "AttributeValue": value}]}
    while True:
        page = cloudtrail.lookup_events(**kwargs)
        found.extend(dict(e, Record=json.loads(e["CloudTrailEvent"])) for e in page["Events"])
        if "NextToken" not in page:
            return found
        kwargs["NextToken"] = page["NextToken"]


def only(server: Server, name: str, resource: str, **creds: Any) -> dict[str, Any]:
    """The one event named `name` whose resources name `resource`."""
    found = [e for e in events(server, "ResourceName", resource, **creds) if e["EventName"] == name]
    assert len(found) == 1, found
    return found[0]


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    return exc.value.response["Error"]["Code"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_a_root_write_is_recorded_with_its_identity_and_parameters(
    server: Server, iam: Any, unique: str
) -> None:
    name = f"trail-user-{unique}"
    created = iam.create_user(UserName=name, Path="/trail/")
    event = only(server, "CreateUser", name)
    record = event["Record"]
    assert record["eventVersion"] == "1.08"
    assert record["userIdentity"] == {
        "type": "Root",
        "principalId": ACCOUNT,
        "arn": f"arn:aws:iam::{ACCOUNT}:root",
        "accountId": ACCOUNT,
        "accessKeyId": server.access_key_id,
    }
    assert record["eventSource"] == "iam.amazonaws.com" and record["awsRegion"] == "us-east-1"
    assert record["requestParameters"] == {"userName": name, "path": "/trail/"}
    assert record["responseElements"]["user"]["arn"] == created["User"]["Arn"]
    assert record["readOnly"] is False and record["eventType"] == "AwsApiCall"
    assert record["recipientAccountId"] == ACCOUNT and record["managementEvent"] is True
    assert record["sourceIPAddress"] == "127.0.0.1" and "Boto3" in record["userAgent"]
    assert event["EventId"] == record["eventID"] and event["ReadOnly"] == "false"
    assert event["Username"] == "root" and event["EventSource"] == "iam.amazonaws.com"
    assert {"ResourceType": "AWS::IAM::User", "ResourceName": name} in event["Resources"]
    assert record["requestID"]  # the id the client was answered with
    by_id = events(server, "EventId", record["eventID"])
    assert [e["EventId"] for e in by_id] == [record["eventID"]]


def test_secrets_are_never_recorded(server: Server, iam: Any, unique: str) -> None:
    name = f"trail-secret-{unique}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    password = f"Pw-{unique}-Aa1!"
    iam.create_login_profile(UserName=name, Password=password)
    sts = server.client("sts", key["AccessKeyId"], key["SecretAccessKey"])
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=doc(allow("sts:GetSessionToken")))
    session = sts.get_session_token()["Credentials"]
    found = events(server, "ResourceName", name)
    text = json.dumps([e["Record"] for e in found]) + json.dumps(
        events(server, "Username", name), default=str
    )
    for secret in (key["SecretAccessKey"], password, session["SecretAccessKey"], session["SessionToken"]):
        assert secret not in text
    key_event = next(e["Record"] for e in found if e["EventName"] == "CreateAccessKey")
    assert key_event["responseElements"]["accessKey"]["accessKeyId"] == key["AccessKeyId"]
    assert "secretAccessKey" not in key_event["responseElements"]["accessKey"]
    profile = next(e["Record"] for e in found if e["EventName"] == "CreateLoginProfile")
    assert profile["requestParameters"]["password"] == "HIDDEN_DUE_TO_SECURITY_REASONS"


def test_a_users_refused_call_is_recorded_with_awss_error(server: Server, iam: Any, unique: str) -> None:
    user = Principal(server, iam, f"trail-denied-{unique}")
    with pytest.raises(ClientError) as exc:
        user.iam.create_user(UserName=f"trail-never-{unique}")
    record = only(server, "CreateUser", f"trail-never-{unique}")["Record"]
    assert record["errorCode"] == "AccessDenied"
    assert record["errorMessage"] == exc.value.response["Error"]["Message"]
    assert record["responseElements"] is None
    identity = record["userIdentity"]
    assert identity["type"] == "IAMUser" and identity["userName"] == user.name and identity["arn"] == user.arn
    assert identity["principalId"].startswith("AIDA") and identity["accessKeyId"].startswith("AKIA")


def test_an_assumed_role_session_carries_its_source_identity(server: Server, iam: Any, unique: str) -> None:
    role = f"trail-role-{unique}"
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=account_trust(ACCOUNT))["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=doc(allow("iam:GetRole")))
    user = Principal(
        server, iam, f"trail-michael-{unique}", allow(["sts:AssumeRole", "sts:SetSourceIdentity"])
    )
    credentials = user.sts.assume_role(RoleArn=role_arn, RoleSessionName="export", SourceIdentity="michael")[
        "Credentials"
    ]
    role_iam, _ = role_clients(server, credentials)
    role_iam.get_role(RoleName=role)
    record = next(e["Record"] for e in events(server, "AccessKeyId", credentials["AccessKeyId"]))
    identity = record["userIdentity"]
    assert identity["type"] == "AssumedRole"
    assert identity["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/export"
    assert identity["accessKeyId"] == credentials["AccessKeyId"]
    context = identity["sessionContext"]
    assert context["sessionIssuer"]["arn"] == role_arn and context["sessionIssuer"]["type"] == "Role"
    assert context["sessionIssuer"]["userName"] == role
    assert context["attributes"]["mfaAuthenticated"] == "false"
    assert context["sourceIdentity"] == "michael"
    assume = only(server, "AssumeRole", role_arn)["Record"]
    assert assume["eventSource"] == "sts.amazonaws.com"
    assert assume["requestParameters"]["sourceIdentity"] == "michael"
    assert "sessionToken" not in json.dumps(assume["responseElements"])
    assert credentials["SessionToken"] not in json.dumps(assume)


def test_cross_account_assume_role_is_recorded_in_both_accounts(server: Server, unique: str) -> None:
    first = server.new_account()
    second = server.new_account()
    role = f"trail-x-{unique}"
    second_iam = client(server, "iam", second)
    role_arn = second_iam.create_role(
        RoleName=role, AssumeRolePolicyDocument=account_trust(first["AccountId"])
    )["Role"]["Arn"]
    first_iam = client(server, "iam", first)
    first_iam.create_user(UserName=role)
    first_iam.put_user_policy(UserName=role, PolicyName="p", PolicyDocument=doc(allow("sts:AssumeRole")))
    key = first_iam.create_access_key(UserName=role)["AccessKey"]
    client(server, "sts", key).assume_role(RoleArn=role_arn, RoleSessionName="xacct")
    creds_first = {"access_key_id": first["AccessKeyId"], "secret_access_key": first["SecretAccessKey"]}
    creds_second = {"access_key_id": second["AccessKeyId"], "secret_access_key": second["SecretAccessKey"]}
    mine = only(server, "AssumeRole", role_arn, **creds_first)["Record"]
    theirs = only(server, "AssumeRole", role_arn, **creds_second)["Record"]
    assert mine["recipientAccountId"] == first["AccountId"]
    assert theirs["recipientAccountId"] == second["AccountId"]
    assert mine["sharedEventID"] == theirs["sharedEventID"] and mine["eventID"] != theirs["eventID"]


def test_pages_of_events_newest_first(server: Server, iam: Any, unique: str) -> None:
    user = Principal(server, iam, f"trail-pages-{unique}", allow("iam:GetUser"))
    for _ in range(7):
        user.iam.get_user()
    cloudtrail = server.client("cloudtrail")
    attribute = [{"AttributeKey": "Username", "AttributeValue": user.name}]
    first = cloudtrail.lookup_events(LookupAttributes=attribute, MaxResults=3)
    assert len(first["Events"]) == 3 and "NextToken" in first
    seen = [e["EventId"] for e in first["Events"]]
    token = first["NextToken"]
    while token:
        page = cloudtrail.lookup_events(LookupAttributes=attribute, MaxResults=3, NextToken=token)
        seen += [e["EventId"] for e in page["Events"]]
        token = page.get("NextToken")
    assert len(seen) == len(set(seen)) == 7
    times = [e["EventTime"] for e in events(server, "Username", user.name)]
    assert times == sorted(times, reverse=True)
    other = [{"AttributeKey": "Username", "AttributeValue": "root"}]
    with pytest.raises(ClientError) as exc:
        cloudtrail.lookup_events(LookupAttributes=other, NextToken=first["NextToken"])
    assert error_code(exc) == ("InvalidNextTokenException", 400)


def test_time_range_and_read_only(server: Server, iam: Any, unique: str) -> None:
    user = Principal(server, iam, f"trail-time-{unique}", allow("iam:GetUser"))
    user.iam.get_user()
    record = next(e for e in events(server, "Username", user.name) if e["EventName"] == "GetUser")
    assert record["ReadOnly"] == "true" and record["Record"]["readOnly"] is True
    cloudtrail = server.client("cloudtrail")
    attribute = [{"AttributeKey": "Username", "AttributeValue": user.name}]
    at = record["EventTime"]
    before = cloudtrail.lookup_events(LookupAttributes=attribute, EndTime=at.timestamp() - 3600)
    assert before["Events"] == []
    around = cloudtrail.lookup_events(
        LookupAttributes=attribute, StartTime=at.timestamp() - 60, EndTime=at.timestamp() + 60
    )
    assert record["EventId"] in [e["EventId"] for e in around["Events"]]
    with pytest.raises(ClientError) as exc:
        cloudtrail.lookup_events(StartTime=at.timestamp(), EndTime=at.timestamp() - 60)
    assert error_code(exc) == ("InvalidTimeRangeException", 400)


def test_refusals_of_bad_lookups(server: Server) -> None:
    cloudtrail = server.client("cloudtrail", parameter_validation=False)
    two = [
        {"AttributeKey": "Username", "AttributeValue": "root"},
        {"AttributeKey": "EventName", "AttributeValue": "CreateUser"},
    ]
    bad = {
        "two attributes": {"LookupAttributes": two},
        "unknown key": {"LookupAttributes": [{"AttributeKey": "Password", "AttributeValue": "x"}]},
        "long value": {"LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": "x" * 2001}]},
    }
    for why, kwargs in bad.items():
        with pytest.raises(ClientError) as exc:
            cloudtrail.lookup_events(**kwargs)
        assert error_code(exc) == ("InvalidLookupAttributesException", 400), why
    for count in (0, 51):
        with pytest.raises(ClientError) as exc:
            cloudtrail.lookup_events(MaxResults=count)
        assert error_code(exc) == ("InvalidMaxResultsException", 400)
    with pytest.raises(ClientError) as exc:
        cloudtrail.lookup_events(NextToken="bm90IGEgdG9rZW4=")
    assert error_code(exc) == ("InvalidNextTokenException", 400)


def test_injection_in_attribute_values_finds_nothing(server: Server, iam: Any, unique: str) -> None:
    iam.create_user(UserName=f"trail-inj-{unique}")
    cloudtrail = server.client("cloudtrail")
    for value in ("' OR '1'='1", "root' --", "%", "*", "root%", '") OR 1=1 --'):
        for key in ("Username", "EventName", "ResourceName", "EventId"):
            page = cloudtrail.lookup_events(LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}])
            assert page["Events"] == [], (key, value)


def _keyed_user(iam: Any, name: str, *statements: dict[str, Any]) -> dict[str, str]:
    """A new user, with these inline statements, as boto3 client credentials."""
    iam.create_user(UserName=name)
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=doc(*statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}


def test_a_user_needs_cloudtrail_lookup_events(server: Server, iam: Any, unique: str) -> None:
    plain = _keyed_user(iam, f"trail-reader-no-{unique}")
    reader = _keyed_user(iam, f"trail-reader-{unique}", allow("cloudtrail:LookupEvents"))
    with pytest.raises(ClientError) as exc:
        server.client("cloudtrail", **plain).lookup_events()
    assert error_code(exc) == ("AccessDeniedException", 400)
    assert "cloudtrail:LookupEvents" in exc.value.response["Error"]["Message"]
    refused = [
        e for e in events(server, "Username", f"trail-reader-no-{unique}") if e["EventName"] == "LookupEvents"
    ]
    assert refused and refused[0]["Record"]["errorCode"] == "AccessDenied"
    page = server.client("cloudtrail", **reader).lookup_events(MaxResults=5)
    assert page["Events"] and all(
        json.loads(e["CloudTrailEvent"])["recipientAccountId"] == ACCOUNT for e in page["Events"]
    )


def test_an_account_sees_only_its_own_events(server: Server, iam: Any, unique: str) -> None:
    other = server.new_account()
    name = f"trail-mine-{unique}"
    iam.create_user(UserName=name)
    theirs = {"access_key_id": other["AccessKeyId"], "secret_access_key": other["SecretAccessKey"]}
    assert events(server, "ResourceName", name, **theirs) == []
    assert events(server, "Username", "root", **theirs) == [] or all(
        e["Record"]["recipientAccountId"] == other["AccountId"]
        for e in events(server, "Username", "root", **theirs)
    )
    mine = events(server, "EventName", "CreateUser")
    assert mine and all(e["Record"]["recipientAccountId"] == ACCOUNT for e in mine)


def test_aws_cli_lookup_events(server: Server, iam: Any, unique: str) -> None:
    name = f"trail-cli-{unique}"
    iam.create_user(UserName=name)
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID=server.access_key_id,
        AWS_SECRET_ACCESS_KEY=server.secret_access_key,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
    )
    out = subprocess.run(
        [
            os.path.join(os.path.dirname(sys.executable), "aws"),
            "cloudtrail",
            "lookup-events",
            "--endpoint-url",
            server.endpoint,
            "--lookup-attributes",
            f"AttributeKey=ResourceName,AttributeValue={name}",
            "--output",
            "json",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = json.loads(out.stdout)["Events"]
    assert [e["EventName"] for e in found] == ["CreateUser"]
    assert json.loads(found[0]["CloudTrailEvent"])["requestParameters"]["userName"] == name


def test_export_as_json_lines_and_in_cloudtrails_file_layout(
    server: Server, iam: Any, unique: str, tmp_path: Path
) -> None:
    name = f"trail-export-{unique}"
    iam.create_user(UserName=name)
    only(server, "CreateUser", name)  # in the store by now
    since = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
    command = [sys.executable, "-m", "ostiary", "trail", "export", "--since", since, "--account-id", ACCOUNT]
    out = subprocess.run(
        command, env=server.cli_env(), check=True, capture_output=True, text=True, timeout=60
    )
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert any(r["eventName"] == "CreateUser" and r["requestParameters"]["userName"] == name for r in lines)
    times = [r["eventTime"] for r in lines]
    assert times == sorted(times)
    files = subprocess.run(
        [*command, "--format", "cloudtrail", "--to", str(tmp_path)],
        env=server.cli_env(),
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.split()
    assert files
    found = []
    for path in map(Path, files):
        parts = path.relative_to(tmp_path).parts
        assert parts[:3] == ("AWSLogs", ACCOUNT, "CloudTrail") and len(parts) == 8
        assert path.name.startswith(f"{ACCOUNT}_CloudTrail_{parts[3]}_") and path.name.endswith(".json.gz")
        found += json.loads(gzip.decompress(path.read_bytes()))["Records"]
    # every event of the first export, once; the second may hold later ones too (LookupEvents' own
    # event, which the writer may move between the two)
    exported = [r["eventID"] for r in found]
    assert len(exported) == len(set(exported)) and {r["eventID"] for r in lines} <= set(exported)
    bad = subprocess.run(
        [*command[:5], "--since", "yesterday"], env=server.cli_env(), capture_output=True, text=True
    )
    assert bad.returncode == 2 and "--since" in bad.stderr


def test_access_analyzer_calls_are_recorded_allowed_and_refused(
    server: Server, iam: Any, unique: str
) -> None:
    plain = _keyed_user(iam, f"trail-analyzer-no-{unique}")
    document = doc(allow("s3:GetObject"))
    server.client("accessanalyzer").validate_policy(policyDocument=document, policyType="IDENTITY_POLICY")
    with pytest.raises(ClientError) as exc:
        server.client("accessanalyzer", **plain).validate_policy(
            policyDocument=document, policyType="IDENTITY_POLICY"
        )
    assert error_code(exc) == ("AccessDeniedException", 403)
    recorded = events(server, "Username", f"trail-analyzer-no-{unique}")
    refused = [e for e in recorded if e["EventName"] == "ValidatePolicy"]
    assert len(refused) == 1
    record = refused[0]["Record"]
    assert record["eventSource"] == "access-analyzer.amazonaws.com"
    assert record["errorCode"] == "AccessDeniedException"
    assert record["requestParameters"]["policyType"] == "IDENTITY_POLICY"
    allowed = [
        e
        for e in events(server, "EventName", "ValidatePolicy")
        if e["Record"]["userIdentity"]["type"] == "Root" and "errorCode" not in e["Record"]
    ]
    assert allowed and allowed[0]["Record"]["eventSource"] == "access-analyzer.amazonaws.com"
