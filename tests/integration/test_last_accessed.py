"""IAM's service-last-accessed data through boto3: GenerateServiceLastAccessedDetails on users, roles,
groups and managed policies, GetServiceLastAccessedDetails (service and action level) and
...WithEntities in pages, ListPoliciesGrantingServiceAccess, computed from what the trail recorded."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.integration.authz_helpers import (
    Principal,
    account_trust,
    allow,
    denied,
    doc,
    error_of,
    role_clients,
)
from tests.integration.test_aws_cli import _aws


def _report(iam: Any, arn: str, granularity: str = "SERVICE_LEVEL", **extra: Any) -> dict[str, Any]:
    job = iam.generate_service_last_accessed_details(Arn=arn, Granularity=granularity)["JobId"]
    found = iam.get_service_last_accessed_details(JobId=job, **extra)
    assert found["JobStatus"] == "COMPLETED"
    found["JobId"] = job
    return dict(found)


def _services(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["ServiceNamespace"]: s for s in report["ServicesLastAccessed"]}


def _recent(value: datetime) -> bool:
    return abs(value - datetime.now(UTC)) < timedelta(minutes=5)


def test_a_users_report_lists_the_services_its_policies_allow_and_what_it_used(
    server: Server, iam: Any, unique: str
) -> None:
    user = Principal(server, iam, f"la-{unique}", allow(["iam:GetUser", "s3:GetObject", "dynamodb:*"]))
    user.iam.get_user()
    report = _report(iam, user.arn)
    assert report["JobType"] == "SERVICE_LEVEL" and report["IsTruncated"] is False
    assert _recent(report["JobCreationDate"]) and report["JobCompletionDate"] >= report["JobCreationDate"]
    services = _services(report)
    assert sorted(services) == ["dynamodb", "iam", "s3"]
    used = services["iam"]
    assert used["ServiceName"] == "AWS Identity and Access Management (IAM)"
    assert used["LastAuthenticatedEntity"] == user.arn and used["LastAuthenticatedRegion"] == "us-east-1"
    assert _recent(used["LastAuthenticated"]) and used["TotalAuthenticatedEntities"] == 1
    assert services["s3"] == {
        "ServiceName": "Amazon S3",
        "ServiceNamespace": "s3",
        "TotalAuthenticatedEntities": 0,
    }
    assert "TrackedActionsLastAccessed" not in used


def test_action_level_tracks_each_allowed_action(server: Server, iam: Any, unique: str) -> None:
    user = Principal(server, iam, f"la-act-{unique}", allow(["iam:GetUser", "iam:ListUsers", "s3:GetObject"]))
    user.iam.get_user()
    report = _report(iam, user.arn, "ACTION_LEVEL")
    assert report["JobType"] == "ACTION_LEVEL"
    services = _services(report)
    tracked = {a["ActionName"]: a for a in services["iam"]["TrackedActionsLastAccessed"]}
    assert sorted(tracked) == ["GetUser", "ListUsers"]
    assert tracked["GetUser"]["LastAccessedEntity"] == user.arn and _recent(
        tracked["GetUser"]["LastAccessedTime"]
    )
    assert tracked["GetUser"]["LastAccessedRegion"] == "us-east-1"
    assert tracked["ListUsers"] == {"ActionName": "ListUsers"}
    assert services["s3"]["TrackedActionsLastAccessed"] == [{"ActionName": "GetObject"}]


def test_a_refused_attempt_counts_as_an_access(server: Server, iam: Any, unique: str) -> None:
    user = Principal(
        server, iam, f"la-deny-{unique}", allow("iam:GetRole", f"arn:aws:iam::{server.account_id}:role/x")
    )
    with pytest.raises(ClientError) as exc:
        user.iam.get_role(RoleName="other")
    denied(exc)
    assert _services(_report(iam, user.arn))["iam"]["LastAuthenticatedEntity"] == user.arn


def test_a_roles_report_counts_its_sessions(server: Server, iam: Any, unique: str) -> None:
    name = f"la-role-{unique}"
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=account_trust(server.account_id))["Role"]
    iam.put_role_policy(
        RoleName=name, PolicyName="p", PolicyDocument=doc(allow(["iam:ListRoles", "kms:Decrypt"]))
    )
    assumer = Principal(server, iam, f"la-assumer-{unique}", allow("sts:AssumeRole", role["Arn"]))
    creds = assumer.sts.assume_role(RoleArn=role["Arn"], RoleSessionName="session")["Credentials"]
    role_iam, _ = role_clients(server, creds)
    role_iam.list_roles(MaxItems=1)
    services = _services(_report(iam, role["Arn"], "ACTION_LEVEL"))
    assert services["iam"]["LastAuthenticatedEntity"] == role["Arn"]
    tracked = {a["ActionName"]: a for a in services["iam"]["TrackedActionsLastAccessed"]}
    assert tracked["ListRoles"]["LastAccessedEntity"] == role["Arn"]
    assert "LastAuthenticated" not in services["kms"]


def test_a_groups_report_names_the_members_that_used_it(server: Server, iam: Any, unique: str) -> None:
    group = iam.create_group(GroupName=f"la-g-{unique}")["Group"]
    iam.put_group_policy(
        GroupName=group["GroupName"], PolicyName="p", PolicyDocument=doc(allow("iam:GetUser"))
    )
    users = [Principal(server, iam, f"la-g{i}-{unique}") for i in range(2)]
    for user in users:
        iam.add_user_to_group(GroupName=group["GroupName"], UserName=user.name)
    users[1].iam.get_user()
    report = _report(iam, group["Arn"])
    services = _services(report)
    assert list(services) == ["iam"]
    assert services["iam"]["LastAuthenticatedEntity"] == users[1].arn
    assert services["iam"]["TotalAuthenticatedEntities"] == 1
    entities = iam.get_service_last_accessed_details_with_entities(
        JobId=report["JobId"], ServiceNamespace="iam"
    )
    listed = entities["EntityDetailsList"]
    assert [e["EntityInfo"]["Arn"] for e in listed] == [users[1].arn, users[0].arn]
    assert listed[0]["EntityInfo"]["Type"] == "USER" and listed[0]["EntityInfo"]["Path"] == "/"
    assert _recent(listed[0]["LastAuthenticated"]) and "LastAuthenticated" not in listed[1]
    first = iam.get_service_last_accessed_details_with_entities(
        JobId=report["JobId"], ServiceNamespace="iam", MaxItems=1
    )
    assert first["IsTruncated"] is True and len(first["EntityDetailsList"]) == 1
    rest = iam.get_service_last_accessed_details_with_entities(
        JobId=report["JobId"], ServiceNamespace="iam", Marker=first["Marker"]
    )
    assert first["EntityDetailsList"] + rest["EntityDetailsList"] == listed and rest["IsTruncated"] is False


def test_a_policys_report_counts_the_users_and_roles_it_is_attached_to(
    server: Server, iam: Any, unique: str
) -> None:
    arn = iam.create_policy(PolicyName=f"la-p-{unique}", PolicyDocument=doc(allow("iam:GetUser")))["Policy"][
        "Arn"
    ]
    user = Principal(server, iam, f"la-p-{unique}")
    iam.attach_user_policy(UserName=user.name, PolicyArn=arn)
    user.iam.get_user()
    report = _report(iam, arn)
    assert _services(report)["iam"]["LastAuthenticatedEntity"] == user.arn
    entities = iam.get_service_last_accessed_details_with_entities(
        JobId=report["JobId"], ServiceNamespace="iam"
    )
    assert [e["EntityInfo"]["Name"] for e in entities["EntityDetailsList"]] == [user.name]


def test_every_service_of_a_wildcard_policy_comes_in_pages(server: Server, iam: Any, unique: str) -> None:
    name = f"la-all-{unique}"
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=doc(allow("*")))
    job = iam.generate_service_last_accessed_details(Arn=arn)["JobId"]
    seen: list[str] = []
    marker: dict[str, str] = {}
    while True:
        page = iam.get_service_last_accessed_details(JobId=job, MaxItems=100, **marker)
        seen += [s["ServiceNamespace"] for s in page["ServicesLastAccessed"]]
        if not page["IsTruncated"]:
            break
        assert len(page["ServicesLastAccessed"]) == 100
        marker = {"Marker": page["Marker"]}
    assert len(seen) > 400 and seen == sorted(set(seen)) and {"s3", "dynamodb", "kms", "iam"} <= set(seen)


def test_list_policies_granting_service_access_names_each_policy(
    server: Server, iam: Any, unique: str
) -> None:
    user = Principal(server, iam, f"la-lp-{unique}", allow("s3:GetObject"))
    group = f"la-lpg-{unique}"
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user.name)
    managed = iam.create_policy(PolicyName=f"la-lp-{unique}", PolicyDocument=doc(allow(["s3:*", "iam:Get*"])))
    iam.attach_group_policy(GroupName=group, PolicyArn=managed["Policy"]["Arn"])
    iam.put_group_policy(GroupName=group, PolicyName="gp", PolicyDocument=doc(allow("iam:ListUsers")))
    found = iam.list_policies_granting_service_access(Arn=user.arn, ServiceNamespaces=["s3", "iam", "ec2"])
    by_service = {s["ServiceNamespace"]: s["Policies"] for s in found["PoliciesGrantingServiceAccess"]}
    inline = {"PolicyName": "p", "PolicyType": "INLINE", "EntityType": "USER", "EntityName": user.name}
    attached = {
        "PolicyName": f"la-lp-{unique}",
        "PolicyType": "MANAGED",
        "PolicyArn": managed["Policy"]["Arn"],
    }
    group_inline = {"PolicyName": "gp", "PolicyType": "INLINE", "EntityType": "GROUP", "EntityName": group}
    assert by_service == {"s3": [inline, attached], "iam": [group_inline, attached], "ec2": []}
    assert found["IsTruncated"] is False


def test_unknown_entities_jobs_and_markers_are_refused(server: Server, iam: Any, unique: str) -> None:
    account = server.account_id
    cases = [
        ({"Arn": f"arn:aws:iam::{account}:user/nobody-{unique}"}, ("NoSuchEntity", 404)),
        ({"Arn": f"arn:aws:iam::{account}:role/nobody-{unique}"}, ("NoSuchEntity", 404)),
        ({"Arn": f"arn:aws:iam::{account}:policy/nobody-{unique}"}, ("NoSuchEntity", 404)),
        ({"Arn": f"arn:aws:iam::999999999999:user/{unique}"}, ("NoSuchEntity", 404)),
        ({"Arn": f"arn:aws:s3:::bucket-{unique}/x"}, ("InvalidInput", 400)),
        ({"Arn": f"arn:aws:iam::{account}:instance-profile/{unique}"}, ("InvalidInput", 400)),
    ]
    for params, (code, status) in cases:
        with pytest.raises(ClientError) as exc:
            iam.generate_service_last_accessed_details(**params)
        assert error_of(exc)[::2] == (code, status), params
    with pytest.raises(ClientError) as exc:
        iam.get_service_last_accessed_details(JobId="00000000-0000-4000-8000-000000000000")
    assert error_of(exc)[::2] == ("NoSuchEntity", 404)
    user = Principal(server, iam, f"la-err-{unique}", allow("*"))
    job = iam.generate_service_last_accessed_details(Arn=user.arn)["JobId"]
    forged = base64.b64encode(json.dumps(["another-job", "", 1]).encode()).decode()
    for marker in ("garbage", forged):
        with pytest.raises(ClientError) as exc:
            iam.get_service_last_accessed_details(JobId=job, Marker=marker)
        assert error_of(exc)[::2] == ("InvalidInput", 400)


def test_generating_a_report_is_authorized(server: Server, iam: Any, unique: str) -> None:
    target = Principal(server, iam, f"la-t-{unique}")
    reader = Principal(server, iam, f"la-r-{unique}", allow("iam:GetServiceLastAccessedDetails"))
    with pytest.raises(ClientError) as exc:
        reader.iam.generate_service_last_accessed_details(Arn=target.arn)
    assert "iam:GenerateServiceLastAccessedDetails" in denied(exc)
    with pytest.raises(ClientError) as exc:
        reader.iam.list_policies_granting_service_access(Arn=target.arn, ServiceNamespaces=["s3"])
    assert "iam:ListPoliciesGrantingServiceAccess" in denied(exc)


def test_the_aws_cli_reads_a_report_and_a_generated_policy(sqlite_server: Server, unique: str) -> None:
    iam = sqlite_server.client("iam")
    user = Principal(sqlite_server, iam, f"la-cli-{unique}", allow("iam:GetUser"))
    user.iam.get_user()
    job = json.loads(
        _aws(sqlite_server, "iam", "generate-service-last-accessed-details", "--arn", user.arn).stdout
    )
    found = json.loads(
        _aws(sqlite_server, "iam", "get-service-last-accessed-details", "--job-id", job["JobId"]).stdout
    )
    assert [s["ServiceNamespace"] for s in found["ServicesLastAccessed"]] == ["iam"]
    assert found["ServicesLastAccessed"][0]["LastAuthenticatedEntity"] == user.arn
    account = sqlite_server.account_id
    start = json.loads(
        _aws(
            sqlite_server,
            "accessanalyzer",
            "start-policy-generation",
            "--policy-generation-details",
            json.dumps({"principalArn": user.arn}),
            "--cloud-trail-details",
            json.dumps(
                {
                    "trails": [
                        {
                            "cloudTrailArn": f"arn:aws:cloudtrail:us-east-1:{account}:trail/t",
                            "allRegions": True,
                        }
                    ],
                    "accessRole": f"arn:aws:iam::{account}:role/AccessAnalyzerRole",
                    "startTime": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
                }
            ),
        ).stdout
    )
    generated = json.loads(
        _aws(
            sqlite_server,
            "accessanalyzer",
            "get-generated-policy",
            "--job-id",
            start["jobId"],
            "--include-resource-placeholders",
        ).stdout
    )
    (policy,) = generated["generatedPolicyResult"]["generatedPolicies"]
    assert json.loads(policy["policy"])["Statement"] == [
        {"Effect": "Allow", "Action": ["iam:GetUser"], "Resource": user.arn}
    ]


def test_a_policy_of_adversarial_wildcards_is_read_in_linear_time(
    server: Server, iam: Any, unique: str
) -> None:
    """`*a*a…*b` backtracks for hours as a regex; the report reads it with the engine's glob matcher."""
    hostile = "*a" * 23 + "*b"
    user = Principal(
        server, iam, f"la-glob-{unique}", allow([f"*:{hostile}", f"s3:{hostile}", "s3:GetObject"])
    )
    services = _services(_report(iam, user.arn, "ACTION_LEVEL"))
    assert list(services) == ["s3"]
    assert services["s3"]["TrackedActionsLastAccessed"] == [{"ActionName": "GetObject"}]


def test_an_aws_managed_policys_report_counts_the_accounts_own_principals(
    server: Server, iam: Any, unique: str
) -> None:
    arn = "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"
    user = Principal(server, iam, f"la-aws-{unique}")
    iam.attach_user_policy(UserName=user.name, PolicyArn=arn)
    user.iam.list_users(MaxItems=1)
    job = iam.generate_service_last_accessed_details(Arn=arn)["JobId"]
    services = _services(iam.get_service_last_accessed_details(JobId=job, MaxItems=1000))
    assert "iam" in services and "s3" in services and "LastAuthenticated" in services["iam"]
    entities = iam.get_service_last_accessed_details_with_entities(JobId=job, ServiceNamespace="iam")
    (mine,) = [e for e in entities["EntityDetailsList"] if e["EntityInfo"]["Arn"] == user.arn]
    assert "LastAuthenticated" in mine
    iam.detach_user_policy(UserName=user.name, PolicyArn=arn)
