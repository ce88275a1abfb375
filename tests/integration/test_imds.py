"""`ostiary imds`: boto3 with no credentials gets the instance profile's role credentials from it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import requests

from tests.conftest import Server
from tests.integration.imds_helpers import EC2_TRUST, TOKEN, TTL, identity_from_metadata, running_imds

LAMBDA_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def _profile(iam, name: str, trust: str) -> dict:  # type: ignore[no-untyped-def]  # boto3 client
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
    profile = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    return profile


def test_boto3_gets_role_credentials_from_imds(server: Server, iam, unique: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    name = f"imds-{unique}"
    profile = _profile(iam, name, EC2_TRUST)
    instance = f"i-0{unique}abc"
    with running_imds(server, name, instance) as endpoint:
        identity = identity_from_metadata(server, endpoint, tmp_path)
        info = requests.get(f"{endpoint}/latest/meta-data/iam/info", timeout=5).json()
        listed = requests.get(f"{endpoint}/latest/meta-data/iam/security-credentials/", timeout=5).text
        creds = requests.get(f"{endpoint}/latest/meta-data/iam/security-credentials/{name}", timeout=5).json()
        instance_id = requests.get(f"{endpoint}/latest/meta-data/instance-id", timeout=5).text
    assert identity["Arn"] == f"arn:aws:sts::{server.account_id}:assumed-role/{name}/{instance}"
    assert identity["Account"] == server.account_id
    assert info["Code"] == "Success"
    assert info["InstanceProfileArn"] == profile["Arn"]
    assert info["InstanceProfileId"] == profile["InstanceProfileId"]
    assert listed == name
    assert instance_id == instance
    assert creds["Code"] == "Success" and creds["Type"] == "AWS-HMAC"
    assert creds["AccessKeyId"].startswith("ASIA")
    assert set(creds) == {
        "Code",
        "LastUpdated",
        "Type",
        "AccessKeyId",
        "SecretAccessKey",
        "Token",
        "Expiration",
    }


def test_imdsv2_token_flow_and_v2_only_refuses_without_token(
    server: Server,
    iam,
    unique: str,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    name = f"imds2-{unique}"
    _profile(iam, name, EC2_TRUST)
    instance = f"i-1{unique}abc"
    with running_imds(server, name, instance, "--v2-only") as endpoint:
        url = f"{endpoint}/latest/meta-data/iam/security-credentials/"
        refused = requests.get(url, timeout=5)
        no_ttl = requests.put(f"{endpoint}/latest/api/token", timeout=5)
        token = requests.put(
            f"{endpoint}/latest/api/token", timeout=5, headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}
        ).text
        bad_token = requests.get(url, headers={"X-aws-ec2-metadata-token": "forged"}, timeout=5)
        allowed = requests.get(url, headers={"X-aws-ec2-metadata-token": token}, timeout=5)
        identity = identity_from_metadata(server, endpoint, tmp_path)  # boto3 uses IMDSv2 itself
    assert refused.status_code == 401
    assert no_ttl.status_code == 400
    assert bad_token.status_code == 401
    assert allowed.status_code == 200 and allowed.text == name
    assert identity["Arn"].endswith(f":assumed-role/{name}/{instance}")


def test_role_that_does_not_trust_ec2_gets_no_credentials(
    server: Server,
    iam,
    unique: str,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    name = f"imdsno-{unique}"
    _profile(iam, name, LAMBDA_TRUST)
    with running_imds(server, name, f"i-2{unique}abc") as endpoint:
        doc = requests.get(f"{endpoint}/latest/meta-data/iam/security-credentials/{name}", timeout=5).json()
        outcome = identity_from_metadata(server, endpoint, tmp_path)
    assert doc["Code"] == "AssumeRoleUnauthorizedAccess"
    assert "AccessKeyId" not in doc
    assert outcome == {"error": "NoCredentialsError"}


def test_token_ttl_of_non_ascii_digits_is_a_bad_request(
    server: Server,
    iam,
    unique: str,  # type: ignore[no-untyped-def]
) -> None:
    name = f"imdsttl-{unique}"
    _profile(iam, name, EC2_TRUST)
    with running_imds(server, name, f"i-3{unique}abc") as endpoint:
        answers = {
            ttl: requests.put(f"{endpoint}/latest/api/token", timeout=5, headers={TTL: ttl}).status_code
            for ttl in ("\u00b2", "1\u00b2", "\u00b9\u00b2\u00b3", "+60", "60.0", "0", "21601")
        }
        good = requests.put(f"{endpoint}/latest/api/token", timeout=5, headers={TTL: "21600"})
    assert answers == dict.fromkeys(answers, 400)
    assert good.status_code == 200


def test_session_tokens_are_sealed_and_expire(
    server: Server,
    iam,
    unique: str,  # type: ignore[no-untyped-def]
) -> None:
    name = f"imdstok-{unique}"
    _profile(iam, name, EC2_TRUST)
    with running_imds(server, name, f"i-4{unique}abc", "--v2-only") as endpoint:
        url = f"{endpoint}/latest/meta-data/instance-id"
        token = requests.put(f"{endpoint}/latest/api/token", timeout=5, headers={TTL: "1"}).text
        fresh = requests.get(url, headers={TOKEN: token}, timeout=5)
        stamp, _, mac = token.partition(".")
        later = requests.get(url, headers={TOKEN: f"{int(stamp) + 10**12}.{mac}"}, timeout=5)
        time.sleep(1.2)
        expired = requests.get(url, headers={TOKEN: token}, timeout=5)
    assert fresh.status_code == 200
    assert later.status_code == 401  # a token whose expiry was moved is not one this endpoint sealed
    assert expired.status_code == 401


def test_the_endpoint_keeps_no_state_per_session_token() -> None:
    from ostiary.imds.app import MetadataApp

    app = MetadataApp(credentials=None, instance_id="i-0", v2_only=True)  # type: ignore[arg-type]  # unused
    before = dict(vars(app))
    tokens = {app.respond("PUT", "/latest/api/token", {TTL.lower(): "21600"})[2] for _ in range(10_000)}
    assert vars(app) == before  # ten thousand tokens later, nothing was kept
    answer = app.respond("GET", "/latest/meta-data/instance-id", {TOKEN.lower(): tokens.pop().decode()})
    assert answer[0] == 200


def _identity_of(server: Server, creds: dict) -> str:  # type: ignore[type-arg]  # the IMDS document
    session = server.client("sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["Token"])
    return session.get_caller_identity()["Arn"]  # type: ignore[attr-defined, no-any-return]  # boto3 client


def test_credentials_follow_the_role_the_profile_holds_now(
    server: Server,
    iam,
    unique: str,  # type: ignore[no-untyped-def]
) -> None:
    name, first, second = f"imdsrole-{unique}", f"imdsA-{unique}", f"imdsB-{unique}"
    iam.create_instance_profile(InstanceProfileName=name)
    for role in (first, second):
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=EC2_TRUST)
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=first)
    instance = f"i-5{unique}abc"
    with running_imds(server, name, instance) as endpoint:
        base = f"{endpoint}/latest/meta-data/iam/security-credentials/"
        as_first = requests.get(base + first, timeout=5).json()
        iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=first)
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=second)
        listed = requests.get(base, timeout=5).text
        as_second = requests.get(base + second, timeout=5).json()
        old_name = requests.get(base + first, timeout=5).status_code
        # the same name again, but another role: new credentials, not the deleted role's
        iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=second)
        iam.delete_role(RoleName=second)
        iam.create_role(RoleName=second, AssumeRolePolicyDocument=EC2_TRUST)
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=second)
        as_new_second = requests.get(base + second, timeout=5).json()
    assert _identity_of(server, as_first).endswith(f":assumed-role/{first}/{instance}")
    assert listed == second
    assert _identity_of(server, as_second).endswith(f":assumed-role/{second}/{instance}")
    assert old_name == 404
    assert as_new_second["AccessKeyId"] != as_second["AccessKeyId"]
    assert _identity_of(server, as_new_second).endswith(f":assumed-role/{second}/{instance}")


def test_a_deleted_profile_answers_404(server: Server, iam, unique: str) -> None:  # type: ignore[no-untyped-def]
    name = f"imdsgone-{unique}"
    _profile(iam, name, EC2_TRUST)
    with running_imds(server, name, f"i-6{unique}abc") as endpoint:
        base = f"{endpoint}/latest/meta-data/iam"
        assert requests.get(f"{base}/security-credentials/{name}", timeout=5).status_code == 200
        iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=name)
        iam.delete_instance_profile(InstanceProfileName=name)
        answers = [
            requests.get(f"{base}{tail}", timeout=5).status_code
            for tail in ("/info", "/security-credentials/", f"/security-credentials/{name}", "/")
        ]
        instance = requests.get(f"{endpoint}/latest/meta-data/instance-id", timeout=5).status_code
    assert answers == [404, 404, 404, 404]
    assert instance == 200
