"""Unused-access findings through boto3's `accessanalyzer` client: roles, access keys and passwords not
used within the tracking period, and permissions granted but not used, from the last-used columns and the
audit trail. The entities are made through IAM, then dated back (their creation only) so that the
tracking period has passed; the use is real: calls signed with the user's key and the role's session."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import update

from ostiary.store import tables
from ostiary.store.db import Database
from tests.conftest import Server
from tests.integration.outbound_helpers import Account, new_account


def _policy(*actions: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}],
        }
    )


def _date_back(server: Server, account: str, days: int) -> None:
    """Every user, role, key and password of the account created `days` ago."""
    then = datetime.now(UTC) - timedelta(days=days)
    db = Database(server.database_url, pool=False)
    try:
        with db.transaction() as conn:
            for table in (tables.users, tables.roles, tables.access_keys):
                conn.execute(update(table).where(table.c.account_id == account).values(created_at=then))
            users = tables.users.c
            ids = [r.user_id for r in conn.execute(tables.users.select().where(users.account_id == account))]
            lp = tables.login_profiles
            conn.execute(update(lp).where(lp.c.user_id.in_(ids)).values(created_at=then))
    finally:
        db.dispose()


@pytest.fixture
def scene(server: Server) -> dict[str, Any]:
    """Alice (password never used, key used, a role assumed), Bob (a key never used), roles Idle and Busy."""
    account = new_account(server)
    iam = account.client("iam")
    own = f"arn:aws:iam::{account.account_id}:root"
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": own}, "Action": "sts:AssumeRole"}],
        }
    )
    iam.create_role(RoleName="Idle", AssumeRolePolicyDocument=trust)
    busy = iam.create_role(RoleName="Busy", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.put_role_policy(
        RoleName="Busy",
        PolicyName="p",
        PolicyDocument=_policy("iam:ListRoles", "s3:GetObject", "dynamodb:Scan"),
    )
    iam.create_user(UserName="alice")
    iam.create_login_profile(UserName="alice", Password="Correct-Horse-9-battery")
    iam.put_user_policy(
        UserName="alice",
        PolicyName="p",
        PolicyDocument=_policy("iam:ListUsers", "iam:GetUser", "s3:GetObject", "ec2:*", "sts:AssumeRole"),
    )
    alice_key = iam.create_access_key(UserName="alice")["AccessKey"]
    iam.create_user(UserName="bob")
    bob_key = iam.create_access_key(UserName="bob")["AccessKey"]["AccessKeyId"]
    readers = iam.create_policy(PolicyName="readers", PolicyDocument=_policy("dynamodb:GetItem"))["Policy"][
        "Arn"
    ]
    iam.create_group(GroupName="readers")
    iam.attach_group_policy(GroupName="readers", PolicyArn=readers)
    iam.add_user_to_group(GroupName="readers", UserName="bob")
    _date_back(server, account.account_id, 200)
    alice = {"access_key_id": alice_key["AccessKeyId"], "secret_access_key": alice_key["SecretAccessKey"]}
    account.client("iam", **alice).list_users()
    creds = account.client("sts", **alice).assume_role(RoleArn=busy, RoleSessionName="export")["Credentials"]
    session = {
        "access_key_id": creds["AccessKeyId"],
        "secret_access_key": creds["SecretAccessKey"],
        "session_token": creds["SessionToken"],
    }
    account.client("iam", **session).list_roles()
    aa = account.client("accessanalyzer")
    arn = aa.create_analyzer(
        analyzerName="unused",
        type="ACCOUNT_UNUSED_ACCESS",
        configuration={"unusedAccess": {"unusedAccessAge": 90}},
    )["arn"]
    return {"account": account, "aa": aa, "arn": arn, "bob_key": bob_key}


def _by_resource(aa: Any, arn: str) -> dict[tuple[str, str], dict[str, Any]]:
    found = aa.list_findings_v2(analyzerArn=arn)["findings"]
    return {(f["resource"].rsplit("/", 1)[1], f["findingType"]): f for f in found}


def _details(aa: Any, arn: str, finding: dict[str, Any]) -> list[dict[str, Any]]:
    return list(aa.get_finding_v2(analyzerArn=arn, id=finding["id"])["findingDetails"])


def _wait_for_trail(aa: Any, arn: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The findings once the trail holds the calls the scene made (it is written in batches)."""
    deadline = time.monotonic() + 20
    while True:
        found = _by_resource(aa, arn)
        busy = found.get(("Busy", "UnusedPermission"))
        if busy is not None:
            services = {d["unusedPermissionDetails"]["serviceNamespace"] for d in _details(aa, arn, busy)}
            if "iam" not in services or time.monotonic() > deadline:
                return found
        time.sleep(0.3)


def test_unused_roles_keys_passwords_and_permissions(scene: dict[str, Any]) -> None:
    aa, arn, account = scene["aa"], scene["arn"], scene["account"]
    found = _wait_for_trail(aa, arn)
    assert set(found) == {
        ("Idle", "UnusedIAMRole"),
        ("Busy", "UnusedPermission"),
        ("alice", "UnusedIAMUserPassword"),
        ("alice", "UnusedPermission"),
        ("bob", "UnusedIAMUserAccessKey"),
        ("bob", "UnusedPermission"),
    }
    idle = found[("Idle", "UnusedIAMRole")]
    assert idle["resource"] == f"arn:aws:iam::{account.account_id}:role/Idle"
    assert (idle["resourceType"], idle["status"]) == ("AWS::IAM::Role", "ACTIVE")
    assert _details(aa, arn, idle) == [{"unusedIamRoleDetails": {}}]
    (key,) = _details(aa, arn, found[("bob", "UnusedIAMUserAccessKey")])
    assert key == {"unusedIamUserAccessKeyDetails": {"accessKeyId": scene["bob_key"]}}
    assert _details(aa, arn, found[("alice", "UnusedIAMUserPassword")]) == [
        {"unusedIamUserPasswordDetails": {}}
    ]
    busy = {
        d["unusedPermissionDetails"]["serviceNamespace"]: d["unusedPermissionDetails"]
        for d in _details(aa, arn, found[("Busy", "UnusedPermission")])
    }
    assert sorted(busy) == ["dynamodb", "s3"]
    assert busy["s3"]["actions"] == [{"action": "GetObject"}]
    alice = {
        d["unusedPermissionDetails"]["serviceNamespace"]: d["unusedPermissionDetails"]
        for d in _details(aa, arn, found[("alice", "UnusedPermission")])
    }
    assert sorted(alice) == ["ec2", "iam", "s3"]  # sts:AssumeRole was used
    (bob,) = _details(aa, arn, found[("bob", "UnusedPermission")])  # from his group's managed policy
    assert bob == {
        "unusedPermissionDetails": {"serviceNamespace": "dynamodb", "actions": [{"action": "GetItem"}]}
    }
    assert alice["iam"]["actions"] == [{"action": "GetUser"}] and "lastAccessed" in alice["iam"]
    assert "actions" not in alice["ec2"]  # granted by a wildcard: no action named in full
    first = aa.get_finding_v2(analyzerArn=arn, id=found[("alice", "UnusedPermission")]["id"], maxResults=2)
    rest = aa.get_finding_v2(
        analyzerArn=arn,
        id=found[("alice", "UnusedPermission")]["id"],
        maxResults=2,
        nextToken=first["nextToken"],
    )
    assert len(first["findingDetails"]) == 2 and len(rest["findingDetails"]) == 1 and "nextToken" not in rest
    stats = aa.get_findings_statistics(analyzerArn=arn)["findingsStatistics"][0][
        "unusedAccessFindingsStatistics"
    ]
    assert stats["totalActiveFindings"] == 6
    assert {s["unusedAccessType"]: s["total"] for s in stats["unusedAccessTypeStatistics"]} == {
        "UnusedIAMRole": 1,
        "UnusedIAMUserAccessKey": 1,
        "UnusedIAMUserPassword": 1,
        "UnusedPermission": 3,
    }


def test_unused_findings_resolve_when_the_access_goes(scene: dict[str, Any]) -> None:
    aa, arn, account = scene["aa"], scene["arn"], scene["account"]
    found = _wait_for_trail(aa, arn)
    iam = account.client("iam")
    iam.delete_role(RoleName="Idle")
    iam.delete_access_key(UserName="bob", AccessKeyId=scene["bob_key"])
    after = _by_resource(aa, arn)
    assert after[("Idle", "UnusedIAMRole")]["status"] == "RESOLVED"
    assert after[("bob", "UnusedIAMUserAccessKey")]["status"] == "RESOLVED"
    assert after[("Idle", "UnusedIAMRole")]["id"] == found[("Idle", "UnusedIAMRole")]["id"]
    active = aa.list_findings_v2(analyzerArn=arn, filter={"status": {"eq": ["ACTIVE"]}})["findings"]
    assert len(active) == 4
    aa.create_archive_rule(
        analyzerName="unused", ruleName="perms", filter={"findingType": {"eq": ["UnusedPermission"]}}
    )
    aa.apply_archive_rule(analyzerArn=arn, ruleName="perms")
    active = aa.list_findings_v2(analyzerArn=arn, filter={"status": {"eq": ["ACTIVE"]}})["findings"]
    assert [f["findingType"] for f in active] == ["UnusedIAMUserPassword"]


def test_new_entities_are_not_unused_yet(server: Server) -> None:
    account: Account = new_account(server)
    iam = account.client("iam")
    iam.create_user(UserName="fresh")
    iam.create_access_key(UserName="fresh")
    iam.create_role(
        RoleName="Fresh",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "ec2.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    aa = account.client("accessanalyzer")
    arn = aa.create_analyzer(analyzerName="unused", type="ACCOUNT_UNUSED_ACCESS")["arn"]
    assert aa.get_analyzer(analyzerName="unused")["analyzer"]["configuration"] == {
        "unusedAccess": {"unusedAccessAge": 90}
    }
    assert aa.list_findings_v2(analyzerArn=arn)["findings"] == []
    for call in (lambda: aa.list_findings(analyzerArn=arn), lambda: aa.get_finding(analyzerArn=arn, id="x")):
        with pytest.raises(ClientError) as exc:  # the first API serves external access analyzers only
            call()
        assert exc.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        aa.list_findings_v2(analyzerArn=arn, filter={"principal.AWS": {"eq": ["x"]}})
    assert exc.value.response["Error"]["Code"] == "ValidationException"


def test_analysis_rule_exclusions(scene: dict[str, Any]) -> None:
    aa, arn, account = scene["aa"], scene["arn"], scene["account"]
    _wait_for_trail(aa, arn)
    account.client("iam").tag_role(RoleName="Idle", Tags=[{"Key": "team", "Value": "ops"}])
    rule = {"exclusions": [{"resourceTags": [{"team": "ops"}]}]}
    aa.update_analyzer(
        analyzerName="unused", configuration={"unusedAccess": {"unusedAccessAge": 90, "analysisRule": rule}}
    )
    found = _by_resource(aa, arn)
    assert found[("Idle", "UnusedIAMRole")]["status"] == "RESOLVED"
    assert found[("bob", "UnusedIAMUserAccessKey")]["status"] == "ACTIVE"
    everything = {"exclusions": [{"accountIds": [account.account_id]}]}
    aa.update_analyzer(
        analyzerName="unused",
        configuration={"unusedAccess": {"unusedAccessAge": 90, "analysisRule": everything}},
    )
    assert {f["status"] for f in _by_resource(aa, arn).values()} == {"RESOLVED"}
    for bad in (
        {"exclusions": [{"accountIds": ["12"]}]},
        {"exclusions": [{}]},
        {"exclusions": [{"accountIds": ["abcdefghijkl"]}]},
        {"exclusions": [{"resourceTags": [{"k" * 200: "v"}]}]},
    ):
        with pytest.raises(ClientError) as exc:
            aa.update_analyzer(
                analyzerName="unused",
                configuration={"unusedAccess": {"unusedAccessAge": 90, "analysisRule": bad}},
            )
        assert exc.value.response["Error"]["Code"] == "ValidationException"
    stored = aa.get_analyzer(analyzerName="unused")["analyzer"]["configuration"]["unusedAccess"][
        "analysisRule"
    ]
    assert stored == everything
