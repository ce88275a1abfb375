"""Several accounts in one server: `ostiary account create`, cross-account AssumeRole (both sides must
allow), and `ostiary service-credentials` for service principals."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server

ACCOUNT = "123456789012"


def ostiary(server: Server, *args: str) -> dict[str, Any]:
    """Run an admin command beside the server; its one line of JSON."""
    out = subprocess.run(
        [sys.executable, "-m", "ostiary", *args],
        env=server.cli_env(),
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return dict(json.loads(out.stdout))


def client(server: Server, service: str, creds: dict[str, str]) -> Any:
    return server.client(service, creds["AccessKeyId"], creds["SecretAccessKey"], creds.get("SessionToken"))


def trust(principal: dict[str, Any]) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
        }
    )


def allow_assume(role_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}],
        }
    )


@pytest.fixture
def other(server: Server) -> dict[str, str]:
    """A second account's root credentials, as `ostiary account create` makes them (the first test runs
    the command itself)."""
    return server.new_account()


def _user_in(server: Server, root: dict[str, str], name: str) -> tuple[Any, dict[str, str]]:
    iam = client(server, "iam", root)
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return iam, {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}


def test_account_create_prints_a_working_root(server: Server) -> None:
    other = {k: str(v) for k, v in ostiary(server, "account", "create").items()}
    assert set(other) == {"AccountId", "AccessKeyId", "SecretAccessKey"}
    assert len(other["AccountId"]) == 12 and other["AccountId"].isdigit()
    me = client(server, "sts", other).get_caller_identity()
    assert me["Arn"] == f"arn:aws:iam::{other['AccountId']}:root" and me["Account"] == other["AccountId"]


def test_accounts_do_not_see_each_others_entities(
    server: Server, iam: Any, other: dict[str, str], unique: str
) -> None:
    iam.create_user(UserName=f"only-here-{unique}")
    with pytest.raises(ClientError) as exc:
        client(server, "iam", other).get_user(UserName=f"only-here-{unique}")
    assert exc.value.response["Error"]["Code"] == "NoSuchEntity"


def test_cross_account_assume_role_needs_both_sides(
    server: Server, iam: Any, other: dict[str, str], unique: str
) -> None:
    role_arn = iam.create_role(
        RoleName=f"Shared-{unique}",
        AssumeRolePolicyDocument=trust({"AWS": f"arn:aws:iam::{other['AccountId']}:root"}),
    )["Role"]["Arn"]
    their_iam, bob = _user_in(server, other, f"bob-{unique}")
    bob_arn = f"arn:aws:iam::{other['AccountId']}:user/bob-{unique}"
    with pytest.raises(ClientError) as exc:
        client(server, "sts", bob).assume_role(RoleArn=role_arn, RoleSessionName="x1")
    assert exc.value.response["Error"] == {
        "Type": "Sender",
        "Code": "AccessDenied",
        "Message": f"User: {bob_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
    }
    their_iam.put_user_policy(
        UserName=f"bob-{unique}", PolicyName="assume", PolicyDocument=allow_assume(role_arn)
    )
    out = client(server, "sts", bob).assume_role(RoleArn=role_arn, RoleSessionName="x1")
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Shared-{unique}/x1"
    me = client(server, "sts", dict(out["Credentials"])).get_caller_identity()
    assert me["Account"] == ACCOUNT


def test_cross_account_trust_naming_the_user_still_needs_its_identity_policy(
    server: Server, iam: Any, other: dict[str, str], unique: str
) -> None:
    _, carol = _user_in(server, other, f"carol-{unique}")
    carol_arn = f"arn:aws:iam::{other['AccountId']}:user/carol-{unique}"
    role_arn = iam.create_role(
        RoleName=f"Named-{unique}", AssumeRolePolicyDocument=trust({"AWS": carol_arn})
    )["Role"]["Arn"]
    with pytest.raises(ClientError) as exc:
        client(server, "sts", carol).assume_role(RoleArn=role_arn, RoleSessionName="x1")
    assert exc.value.response["Error"]["Code"] == "AccessDenied"


def test_cross_account_identity_policy_alone_is_not_enough(
    server: Server, iam: Any, other: dict[str, str], unique: str
) -> None:
    role_arn = iam.create_role(
        RoleName=f"Closed-{unique}", AssumeRolePolicyDocument=trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"})
    )["Role"]["Arn"]
    their_iam, dave = _user_in(server, other, f"dave-{unique}")
    their_iam.put_user_policy(
        UserName=f"dave-{unique}", PolicyName="assume", PolicyDocument=allow_assume("*")
    )
    with pytest.raises(ClientError) as exc:
        client(server, "sts", dave).assume_role(RoleArn=role_arn, RoleSessionName="x1")
    assert exc.value.response["Error"]["Code"] == "AccessDenied"


def test_same_account_trust_naming_only_the_account_needs_the_identity_policy(
    server: Server, iam: Any, unique: str
) -> None:
    role_arn = iam.create_role(
        RoleName=f"AcctTrust-{unique}", AssumeRolePolicyDocument=trust({"AWS": ACCOUNT})
    )["Role"]["Arn"]
    _, erin = _user_in(
        server,
        {"AccessKeyId": server.access_key_id, "SecretAccessKey": server.secret_access_key},
        f"erin-{unique}",
    )
    with pytest.raises(ClientError) as exc:
        client(server, "sts", erin).assume_role(RoleArn=role_arn, RoleSessionName="x1")
    assert exc.value.response["Error"]["Code"] == "AccessDenied"
    iam.put_user_policy(UserName=f"erin-{unique}", PolicyName="assume", PolicyDocument=allow_assume(role_arn))
    assert client(server, "sts", erin).assume_role(RoleArn=role_arn, RoleSessionName="x1")["Credentials"]


def test_an_explicit_deny_in_the_callers_policy_wins_over_a_naming_trust(
    server: Server, iam: Any, unique: str
) -> None:
    _, frank = _user_in(
        server,
        {"AccessKeyId": server.access_key_id, "SecretAccessKey": server.secret_access_key},
        f"frank-{unique}",
    )
    frank_arn = f"arn:aws:iam::{ACCOUNT}:user/frank-{unique}"
    role_arn = iam.create_role(
        RoleName=f"Denied-{unique}", AssumeRolePolicyDocument=trust({"AWS": frank_arn})
    )["Role"]["Arn"]
    iam.put_user_policy(
        UserName=f"frank-{unique}",
        PolicyName="no",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*"}],
            }
        ),
    )
    with pytest.raises(ClientError) as exc:
        client(server, "sts", frank).assume_role(RoleArn=role_arn, RoleSessionName="x1")
    assert exc.value.response["Error"]["Code"] == "AccessDenied"


# -- service principals -----------------------------------------------------------------------------------


def test_service_credentials_assume_exactly_the_roles_that_trust_the_service(
    server: Server, iam: Any, unique: str
) -> None:
    creds = ostiary(server, "service-credentials", "dynamodb.amazonaws.com")
    assert {"AccountId", "AccessKeyId", "SecretAccessKey", "SessionToken"} <= set(creds)
    export_arn = iam.create_role(
        RoleName=f"DynamoDBExportRole-{unique}",
        AssumeRolePolicyDocument=trust({"Service": "dynamodb.amazonaws.com"}),
    )["Role"]["Arn"]
    ec2_arn = iam.create_role(
        RoleName=f"Ec2Only-{unique}", AssumeRolePolicyDocument=trust({"Service": "ec2.amazonaws.com"})
    )["Role"]["Arn"]
    sts = client(server, "sts", creds)
    out = sts.assume_role(RoleArn=export_arn, RoleSessionName="export-job")
    session = client(server, "sts", dict(out["Credentials"])).get_caller_identity()
    assert session["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/DynamoDBExportRole-{unique}/export-job"
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=ec2_arn, RoleSessionName="export-job")
    assert exc.value.response["Error"]["Code"] == "AccessDenied"


def test_service_credentials_cannot_call_iam(server: Server) -> None:
    creds = ostiary(server, "service-credentials", "lambda.amazonaws.com")
    with pytest.raises(ClientError) as exc:
        client(server, "iam", creds).list_users()
    assert exc.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_a_user_is_not_a_service_principal(server: Server, iam: Any, unique: str) -> None:
    role_arn = iam.create_role(
        RoleName=f"SvcOnly-{unique}", AssumeRolePolicyDocument=trust({"Service": "dynamodb.amazonaws.com"})
    )["Role"]["Arn"]
    _, gina = _user_in(
        server,
        {"AccessKeyId": server.access_key_id, "SecretAccessKey": server.secret_access_key},
        f"gina-{unique}",
    )
    iam.put_user_policy(UserName=f"gina-{unique}", PolicyName="all", PolicyDocument=allow_assume("*"))
    with pytest.raises(ClientError) as exc:
        client(server, "sts", gina).assume_role(RoleArn=role_arn, RoleSessionName="x1")
    assert exc.value.response["Error"]["Code"] == "AccessDenied"


def test_service_credentials_refuse_a_name_that_is_not_a_service(server: Server) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ostiary", "service-credentials", "Not A Service"],
        env=server.cli_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "is not a service principal name" in out.stderr
