"""Managed policies through boto3: create, get, delete, list, versions, attachments, AWS's errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ostiary.services.policies import seed_aws_managed_policies
from ostiary.store import accounts
from ostiary.store.db import Database
from tests.conftest import Server

_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def _doc(*actions: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": list(actions) or "s3:*", "Resource": "*"}],
        }
    )


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = exc.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


def _local(iam: Any, path: str) -> list[dict[str, Any]]:
    return list(iam.list_policies(Scope="Local", PathPrefix=path, MaxItems=1000)["Policies"])


def test_create_policy_returns_every_field(iam: Any, server: Server, unique: str) -> None:
    policy = iam.create_policy(
        PolicyName=f"p-{unique}", PolicyDocument=_doc(), Path=f"/t{unique}/", Description="testing"
    )["Policy"]
    assert policy["Arn"] == f"arn:aws:iam::{server.account_id}:policy/t{unique}/p-{unique}"
    assert policy["PolicyId"].startswith("ANPA") and len(policy["PolicyId"]) == 21
    assert policy["Path"] == f"/t{unique}/" and policy["DefaultVersionId"] == "v1"
    assert policy["AttachmentCount"] == 0 and policy["PermissionsBoundaryUsageCount"] == 0
    assert policy["IsAttachable"] is True
    assert policy["CreateDate"].tzinfo is not None and policy["UpdateDate"] == policy["CreateDate"]
    assert "Description" not in policy and "Tags" not in policy  # as AWS answers CreatePolicy


def test_get_policy_has_description_and_tags(iam: Any, unique: str) -> None:
    tags = [{"Key": "b", "Value": "1"}, {"Key": "a", "Value": ""}]
    created = iam.create_policy(
        PolicyName=f"g-{unique}", PolicyDocument=_doc(), Description="testing", Tags=tags
    )["Policy"]
    assert created["Tags"] == tags
    got = iam.get_policy(PolicyArn=created["Arn"])["Policy"]
    assert got["Description"] == "testing"
    assert sorted(got["Tags"], key=lambda t: t["Key"]) == sorted(tags, key=lambda t: t["Key"])
    assert got["PolicyId"] == created["PolicyId"]


def test_duplicate_policy_name_is_refused(iam: Any, unique: str) -> None:
    iam.create_policy(PolicyName=f"d-{unique}", PolicyDocument=_doc())
    with pytest.raises(ClientError) as exc:
        iam.create_policy(PolicyName=f"D-{unique}", PolicyDocument=_doc())
    assert _error(exc) == (
        "EntityAlreadyExists",
        f"A policy called D-{unique} already exists. Duplicate names are not allowed.",
        409,
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("This is not a json document", "Syntax errors in policy."),
        (
            json.dumps({"Statement": {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}}),
            "Policy document must be version 2012-10-17 or greater.",
        ),
        (
            json.dumps(
                {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:ListBucket"}}
            ),
            "Policy statement must contain resources.",
        ),
    ],
)
def test_malformed_policy_is_refused_and_nothing_is_created(
    iam: Any, unique: str, document: str, message: str
) -> None:
    with pytest.raises(ClientError) as exc:
        iam.create_policy(PolicyName=f"m-{unique}", PolicyDocument=document, Path=f"/m{unique}/")
    assert _error(exc) == ("MalformedPolicyDocument", message, 400)
    assert _local(iam, f"/m{unique}/") == []


_RECORDED_ACCEPTED = {
    "748-unknown-operator-with-empty-map": {
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": "*",
        "Condition": {"a": {}},
    },
    "760-two-empty-maps": {
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": "*",
        "Condition": {"x": {}, "y": {}},
    },
    "string-equals-with-empty-map": {
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": "*",
        "Condition": {"StringEquals": {}},
    },
    "779-access-point-with-empty-sid": {
        "Sid": "",
        "Effect": "Allow",
        "Action": ["s3:*"],
        "Resource": [
            "arn:aws:s3:us-west-2:123456789012:accesspoint/my-access-point",
            "arn:aws:s3:us-west-2:123456789012:accesspoint/my-access-point/object/*",
        ],
    },
}


@pytest.mark.parametrize("name", sorted(_RECORDED_ACCEPTED))
def test_documents_aws_accepted_are_accepted(iam: Any, unique: str, name: str) -> None:
    """AWS-recorded CreatePolicy successes (ids in the names) that Ostiary once refused."""
    document = {"Version": "2012-10-17", "Statement": [_RECORDED_ACCEPTED[name]]}
    policy = iam.create_policy(PolicyName=f"acc-{unique}", PolicyDocument=json.dumps(document))["Policy"]
    version = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId="v1")["PolicyVersion"]
    assert version["Document"] == document


def test_several_statements_with_an_empty_sid_are_accepted(iam: Any, unique: str) -> None:
    """AWS-recorded CreatePolicy 778: two statements with `"Sid": ""`; a repeated non-empty Sid is refused."""
    one = {"Effect": "Allow", "Action": "rds:Describe*", "Resource": "*"}
    document = {"Version": "2012-10-17", "Statement": [{"Sid": "", **one}, {"Sid": "", **one}]}
    iam.create_policy(PolicyName=f"sids-{unique}", PolicyDocument=json.dumps(document))
    twice = {"Version": "2012-10-17", "Statement": [{"Sid": "a", **one}, {"Sid": "a", **one}]}
    with pytest.raises(ClientError) as raised:
        iam.create_policy(PolicyName=f"sids2-{unique}", PolicyDocument=json.dumps(twice))
    assert _error(raised) == (
        "MalformedPolicyDocument",
        "Statement IDs (SID) in a single policy must be unique.",
        400,
    )


def test_oversized_policy_is_refused_and_nothing_is_created(iam: Any, unique: str) -> None:
    big = _doc(*[f"s3:GetObject{i:04d}" for i in range(400)])
    with pytest.raises(ClientError) as exc:
        iam.create_policy(PolicyName=f"o-{unique}", PolicyDocument=big, Path=f"/o{unique}/")
    assert _error(exc) == ("LimitExceeded", "Cannot exceed quota for PolicySize: 6144", 409)
    assert _local(iam, f"/o{unique}/") == []


def test_white_space_does_not_count_toward_the_size_quota(iam: Any, unique: str) -> None:
    actions = [f"s3:Get{i:03d}" for i in range(300)]  # about 5,100 characters without white space
    padded = json.dumps(json.loads(_doc(*actions)), indent=8)
    assert len(padded) > 6144
    policy = iam.create_policy(PolicyName=f"w-{unique}", PolicyDocument=padded)["Policy"]
    version = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId="v1")["PolicyVersion"]
    assert version["Document"] == json.loads(padded)


def test_at_most_five_versions(iam: Any, unique: str) -> None:
    arn = iam.create_policy(PolicyName=f"v-{unique}", PolicyDocument=_doc())["Policy"]["Arn"]
    for n in range(2, 6):
        version = iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc(f"s3:Get{n}"))["PolicyVersion"]
        assert version["VersionId"] == f"v{n}" and version["IsDefaultVersion"] is False
    with pytest.raises(ClientError) as exc:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc("s3:Get6"))
    assert _error(exc) == (
        "LimitExceeded",
        "A managed policy can have up to 5 versions. Before you create a "
        "new version, you must delete an existing version.",
        409,
    )
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in versions] == ["v5", "v4", "v3", "v2", "v1"]
    iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    created = iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc("s3:Get6"), SetAsDefault=True)
    assert created["PolicyVersion"] == {
        **created["PolicyVersion"],
        "VersionId": "v6",
        "IsDefaultVersion": True,
    }
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v6"


def test_versions_default_and_delete_rules(iam: Any, unique: str) -> None:
    arn = iam.create_policy(PolicyName=f"s-{unique}", PolicyDocument=_doc())["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc("s3:GetObject"))
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v2")
    got = iam.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]
    assert got["IsDefaultVersion"] is True and got["Document"]["Statement"][0]["Action"] == ["s3:GetObject"]
    with pytest.raises(ClientError) as exc:
        iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    assert _error(exc) == ("DeleteConflict", "Cannot delete the default version of a policy.", 409)
    with pytest.raises(ClientError) as exc:
        iam.get_policy_version(PolicyArn=arn, VersionId="v9")
    assert _error(exc) == (
        "NoSuchEntity",
        f"Policy {arn} version v9 does not exist or is not attachable.",
        404,
    )
    with pytest.raises(ClientError) as exc:
        iam.set_default_policy_version(PolicyArn=arn, VersionId="v4")
    assert _error(exc) == (
        "NoSuchEntity",
        f"Policy {arn} version v4 does not exist or is not attachable.",
        404,
    )


def test_delete_policy_needs_no_other_versions(iam: Any, unique: str) -> None:
    arn = iam.create_policy(PolicyName=f"x-{unique}", PolicyDocument=_doc())["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc("s3:GetObject"))
    with pytest.raises(ClientError) as exc:
        iam.delete_policy(PolicyArn=arn)
    assert _error(exc) == (
        "DeleteConflict",
        "This policy has more than one version. Before you delete a policy, "
        "you must delete the policy's versions. The default version is deleted with the policy.",
        409,
    )
    iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    iam.delete_policy(PolicyArn=arn)
    with pytest.raises(ClientError) as exc:
        iam.get_policy(PolicyArn=arn)
    assert _error(exc) == ("NoSuchEntity", f"Policy {arn} was not found.", 404)


def test_delete_unknown_policy(iam: Any, server: Server) -> None:
    arn = f"arn:aws:iam::{server.account_id}:policy/non-existent-policy"
    with pytest.raises(ClientError) as exc:
        iam.delete_policy(PolicyArn=arn)
    assert _error(exc) == ("NoSuchEntity", f"Policy {arn} was not found.", 404)


def test_attachment_counts_and_entities(iam: Any, unique: str) -> None:
    arn = iam.create_policy(PolicyName=f"a-{unique}", PolicyDocument=_doc())["Policy"]["Arn"]
    user = iam.create_user(UserName=f"u-{unique}")["User"]
    group = iam.create_group(GroupName=f"g-{unique}")["Group"]
    role = iam.create_role(RoleName=f"r-{unique}", AssumeRolePolicyDocument=_TRUST)["Role"]
    iam.attach_user_policy(UserName=user["UserName"], PolicyArn=arn)
    iam.attach_user_policy(UserName=user["UserName"], PolicyArn=arn)  # attaching twice changes nothing
    iam.attach_group_policy(GroupName=group["GroupName"], PolicyArn=arn)
    iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 3
    entities = iam.list_entities_for_policy(PolicyArn=arn)
    assert entities["PolicyUsers"] == [{"UserName": user["UserName"], "UserId": user["UserId"]}]
    assert entities["PolicyGroups"] == [{"GroupName": group["GroupName"], "GroupId": group["GroupId"]}]
    assert entities["PolicyRoles"] == [{"RoleName": role["RoleName"], "RoleId": role["RoleId"]}]
    only_roles = iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="Role")
    assert only_roles["PolicyUsers"] == [] and len(only_roles["PolicyRoles"]) == 1
    assert iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="LocalManagedPolicy")["PolicyRoles"] == []
    attached = [{"PolicyName": f"a-{unique}", "PolicyArn": arn}]
    assert iam.list_attached_user_policies(UserName=user["UserName"])["AttachedPolicies"] == attached
    assert iam.list_attached_group_policies(GroupName=group["GroupName"])["AttachedPolicies"] == attached
    assert iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"] == attached
    with pytest.raises(ClientError) as exc:
        iam.delete_policy(PolicyArn=arn)
    assert _error(exc) == ("DeleteConflict", "Cannot delete a policy attached to entities.", 409)
    iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 2
    assert iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"] == []


def test_boundary_usage_count(iam: Any, unique: str) -> None:
    arn = iam.create_policy(PolicyName=f"b-{unique}", PolicyDocument=_doc())["Policy"]["Arn"]
    iam.create_user(UserName=f"bu-{unique}", PermissionsBoundary=arn)
    policy = iam.get_policy(PolicyArn=arn)["Policy"]
    assert policy["PermissionsBoundaryUsageCount"] == 1 and policy["AttachmentCount"] == 0
    used = iam.list_entities_for_policy(PolicyArn=arn, PolicyUsageFilter="PermissionsBoundary")
    assert [u["UserName"] for u in used["PolicyUsers"]] == [f"bu-{unique}"]
    assert (
        iam.list_entities_for_policy(PolicyArn=arn, PolicyUsageFilter="PermissionsPolicy")["PolicyUsers"]
        == []
    )


def test_at_most_ten_managed_policies_per_role(iam: Any, unique: str) -> None:
    role = iam.create_role(RoleName=f"q-{unique}", AssumeRolePolicyDocument=_TRUST)["Role"]["RoleName"]
    arns = [
        iam.create_policy(PolicyName=f"q{i}-{unique}", PolicyDocument=_doc())["Policy"]["Arn"]
        for i in range(11)
    ]
    for arn in arns[:10]:
        iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    with pytest.raises(ClientError) as exc:
        iam.attach_role_policy(RoleName=role, PolicyArn=arns[10])
    assert _error(exc) == ("LimitExceeded", "Cannot exceed quota for PoliciesPerRole: 10", 409)
    assert len(iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]) == 10
    assert iam.get_policy(PolicyArn=arns[10])["Policy"]["AttachmentCount"] == 0


def test_attach_and_detach_errors(iam: Any, server: Server, unique: str) -> None:
    arn = iam.create_policy(PolicyName=f"e-{unique}", PolicyDocument=_doc())["Policy"]["Arn"]
    user = iam.create_user(UserName=f"e-{unique}")["User"]["UserName"]
    with pytest.raises(ClientError) as exc:
        iam.attach_user_policy(UserName=user, PolicyArn="longpolicynamebutnoarn")
    assert _error(exc) == ("ValidationError", "ARN longpolicynamebutnoarn is not valid.", 400)
    with pytest.raises(ClientError) as exc:
        iam.attach_user_policy(UserName=user, PolicyArn=arn + "123")
    assert _error(exc) == ("NoSuchEntity", f"Policy {arn}123 does not exist or is not attachable.", 404)
    with pytest.raises(ClientError) as exc:
        iam.attach_user_policy(UserName=f"nobody-{unique}", PolicyArn=arn)
    assert _error(exc) == ("NoSuchEntity", f"The user with name nobody-{unique} cannot be found.", 404)
    with pytest.raises(ClientError) as exc:
        iam.detach_user_policy(UserName=user, PolicyArn=arn)
    assert _error(exc) == ("NoSuchEntity", f"Policy {arn} was not found.", 404)
    missing = f"arn:aws:iam::{server.account_id}:policy/NonExistentPolicy{unique}"
    with pytest.raises(ClientError) as exc:
        iam.list_entities_for_policy(PolicyArn=missing)
    assert _error(exc) == ("NoSuchEntity", f"Policy {missing} does not exist or is not attachable.", 404)


def test_list_policies_filters_and_pages(iam: Any, unique: str) -> None:
    path = f"/l{unique}/"
    arns = [
        iam.create_policy(PolicyName=f"l{i}-{unique}", PolicyDocument=_doc(), Path=path)["Policy"]["Arn"]
        for i in range(3)
    ]
    user = iam.create_user(UserName=f"l-{unique}")["User"]["UserName"]
    iam.attach_user_policy(UserName=user, PolicyArn=arns[1])
    first = iam.list_policies(Scope="Local", PathPrefix=path, MaxItems=2)
    assert first["IsTruncated"] is True and len(first["Policies"]) == 2
    rest = iam.list_policies(Scope="Local", PathPrefix=path, MaxItems=2, Marker=first["Marker"])
    assert rest["IsTruncated"] is False
    assert sorted(p["Arn"] for p in first["Policies"] + rest["Policies"]) == sorted(arns)
    assert "Tags" not in first["Policies"][0] and "Description" not in first["Policies"][0]
    attached = iam.list_policies(Scope="Local", PathPrefix=path, OnlyAttached=True)["Policies"]
    assert [p["Arn"] for p in attached] == [arns[1]] and attached[0]["AttachmentCount"] == 1
    assert iam.list_policies(Scope="AWS", PathPrefix=path)["Policies"] == []


_ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
_LAMBDA = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


@pytest.fixture(scope="module")
def aws_policies(server: Server) -> None:
    """The AWS managed policies in the server's store, seeded as the server does at start."""
    db = Database(server.database_url, pool=False)
    seed_aws_managed_policies(db)
    db.dispose()


@pytest.mark.usefixtures("aws_policies")
def test_aws_managed_policy_is_readable(iam: Any) -> None:
    policy = iam.get_policy(PolicyArn=_ADMIN)["Policy"]
    assert policy["PolicyName"] == "AdministratorAccess" and policy["Path"] == "/"
    assert policy["Description"] == "Provides full access to AWS services and resources."
    assert policy["PolicyId"].startswith("ANPA") and policy["Tags"] == []
    version = iam.get_policy_version(PolicyArn=_LAMBDA, VersionId="v1")["PolicyVersion"]
    assert version["IsDefaultVersion"] is True
    assert version["Document"]["Statement"][0]["Resource"] == "*"
    page = iam.list_policies(Scope="AWS", MaxItems=5)
    assert page["IsTruncated"] is True and len(page["Policies"]) == 5
    assert all(p["Arn"].startswith("arn:aws:iam::aws:policy/") for p in page["Policies"])


@pytest.mark.usefixtures("aws_policies")
def test_aws_managed_policies_are_listed_in_the_order_aws_made_them(iam: Any) -> None:
    """AWS-recorded ListPolicies Scope=AWS MaxItems=5 (517): v1, v12, v1xx, AWSCloudFormation..., v14."""
    page = iam.list_policies(Scope="AWS", MaxItems=5)
    assert [p["PolicyName"] for p in page["Policies"]] == [
        "AdministratorAccess",
        "PowerUserAccess",
        "ReadOnlyAccess",
        "AWSCloudFormationReadOnlyAccess",
        "CloudFrontFullAccess",
    ]
    seen, marker = list(page["Policies"]), page["Marker"]
    while marker:
        page = iam.list_policies(Scope="AWS", MaxItems=400, Marker=marker)
        seen += page["Policies"]
        marker = page.get("Marker")
    assert len(seen) == len({p["Arn"] for p in seen}) == 1485
    dates = [p["CreateDate"] for p in seen]
    assert dates == sorted(dates)


_SYSADMIN = "arn:aws:iam::aws:policy/job-function/SystemAdministrator"
_S3_FULL = "arn:aws:iam::aws:policy/AmazonS3FullAccess"


@pytest.mark.usefixtures("aws_policies")
def test_aws_managed_policy_lists_its_older_versions(iam: Any) -> None:
    """AWS-recorded ListPolicyVersions of SystemAdministrator (516): v12 the default, then v11... v1.

    The bundled history lacks v11 and v9 of this one (published before the record began), so those two
    are not listed rather than invented.
    """
    versions = iam.list_policy_versions(PolicyArn=_SYSADMIN)["Versions"]
    assert [v["VersionId"] for v in versions] == [
        "v12",
        "v10",
        "v8",
        "v7",
        "v6",
        "v5",
        "v4",
        "v3",
        "v2",
        "v1",
    ]
    assert [v["IsDefaultVersion"] for v in versions] == [True] + [False] * 9
    dates = [v["CreateDate"] for v in versions]
    assert dates == sorted(dates, reverse=True)
    page = iam.list_policy_versions(PolicyArn=_SYSADMIN, MaxItems=4)
    rest = iam.list_policy_versions(PolicyArn=_SYSADMIN, Marker=page["Marker"])["Versions"]
    assert page["Versions"] + rest == versions


@pytest.mark.usefixtures("aws_policies")
def test_an_older_version_of_an_aws_managed_policy_is_readable(iam: Any) -> None:
    old = iam.get_policy_version(PolicyArn=_S3_FULL, VersionId="v1")["PolicyVersion"]
    assert old["IsDefaultVersion"] is False and old["VersionId"] == "v1"
    assert old["Document"] == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }
    first = iam.get_policy_version(PolicyArn=_SYSADMIN, VersionId="v1")["PolicyVersion"]
    assert first["Document"]["Statement"][0]["Action"][:3] == ["acm:Describe*", "acm:Get*", "acm:List*"]
    for missing in ("v11", "v13", "v99999999"):
        with pytest.raises(ClientError) as exc:
            iam.get_policy_version(PolicyArn=_SYSADMIN, VersionId=missing)
        assert _error(exc) == (
            "NoSuchEntity",
            f"Policy {_SYSADMIN} version {missing} does not exist or is not attachable.",
            404,
        )


@pytest.mark.usefixtures("aws_policies")
def test_older_versions_do_not_leak_into_a_customer_policy_of_the_same_name(iam: Any, unique: str) -> None:
    path = f"/{unique}/"
    arn = iam.create_policy(PolicyName="AmazonS3FullAccess", Path=path, PolicyDocument=_doc())["Policy"][
        "Arn"
    ]
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]] == ["v1"]
    with pytest.raises(ClientError) as exc:
        iam.get_policy_version(PolicyArn=arn, VersionId="v2")
    assert _error(exc)[0] == "NoSuchEntity"
    assert iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]["Document"] == json.loads(
        _doc()
    )
    iam.delete_policy(PolicyArn=arn)


@pytest.mark.usefixtures("aws_policies")
def test_authorization_details_list_every_version_of_an_attached_aws_policy(iam: Any, unique: str) -> None:
    role = iam.create_role(RoleName=f"sysadmin-{unique}", AssumeRolePolicyDocument=_TRUST)["Role"]["RoleName"]
    iam.attach_role_policy(RoleName=role, PolicyArn=_S3_FULL)
    details = iam.get_account_authorization_details(Filter=["AWSManagedPolicy"])["Policies"]
    (policy,) = [p for p in details if p["Arn"] == _S3_FULL]
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in policy["PolicyVersionList"]] == [
        ("v2", True),
        ("v1", False),
    ]
    assert policy["PolicyVersionList"][1]["Document"]["Statement"][0]["Action"] == "s3:*"
    iam.detach_role_policy(RoleName=role, PolicyArn=_S3_FULL)


@pytest.mark.usefixtures("aws_policies")
def test_aws_managed_policy_attaches_to_a_role(iam: Any, unique: str) -> None:
    role = iam.create_role(RoleName=f"aws-{unique}", AssumeRolePolicyDocument=_TRUST)["Role"]["RoleName"]
    iam.attach_role_policy(RoleName=role, PolicyArn=_LAMBDA)
    attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    assert attached == [{"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": _LAMBDA}]
    assert iam.get_policy(PolicyArn=_LAMBDA)["Policy"]["AttachmentCount"] >= 1
    in_use = iam.list_policies(Scope="AWS", OnlyAttached=True, PathPrefix="/service-role/")["Policies"]
    assert _LAMBDA in [p["Arn"] for p in in_use]
    roles = iam.list_entities_for_policy(PolicyArn=_LAMBDA, EntityFilter="Role")["PolicyRoles"]
    assert role in [r["RoleName"] for r in roles]
    iam.detach_role_policy(RoleName=role, PolicyArn=_LAMBDA)
    with pytest.raises(ClientError) as exc:
        iam.detach_role_policy(RoleName=role, PolicyArn=_LAMBDA)
    assert _error(exc) == ("NoSuchEntity", f"Policy {_LAMBDA} was not found.", 404)


@pytest.mark.usefixtures("aws_policies")
def test_aws_managed_policy_cannot_be_changed(iam: Any) -> None:
    update = "Cannot update policies outside your own account."
    cases = [
        (iam.delete_policy, {}, "Cannot delete policies outside your own account."),
        (iam.delete_policy_version, {"VersionId": "v1"},
         "Cannot delete policy versions for policies outside your own account."),
        (iam.set_default_policy_version, {"VersionId": "v1"}, update),
        (iam.create_policy_version, {"PolicyDocument": _doc()}, update),
    ]  # fmt: skip
    for call, params, message in cases:
        with pytest.raises(ClientError) as exc:
            call(PolicyArn=_LAMBDA, **params)
        assert _error(exc) == ("AccessDenied", message, 403)
    assert iam.get_policy(PolicyArn=_LAMBDA)["Policy"]["DefaultVersionId"] == "v1"


@pytest.mark.usefixtures("aws_policies")
def test_service_role_policy_does_not_attach_to_a_customer_role(iam: Any, unique: str) -> None:
    role = iam.create_role(RoleName=f"svc-{unique}", AssumeRolePolicyDocument=_TRUST)["Role"]["RoleName"]
    arn = "arn:aws:iam::aws:policy/aws-service-role/AmazonElasticsearchServiceRolePolicy"
    with pytest.raises(ClientError) as exc:
        iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    assert _error(exc) == (
        "PolicyNotAttachable",
        "Cannot attach a Service Role Policy to a Customer Role.",
        400,
    )
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []


def test_changes_to_permissions_bump_the_account_epoch(iam: Any, server: Server, unique: str) -> None:
    db = Database(server.database_url, pool=False)

    def epoch() -> int:
        with db.read() as conn:
            return accounts.epoch(conn, server.account_id)

    user = iam.create_user(UserName=f"ep-{unique}")["User"]["UserName"]
    arn = iam.create_policy(PolicyName=f"ep-{unique}", PolicyDocument=_doc())["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc("s3:GetObject"))
    changes = [
        lambda: iam.attach_user_policy(UserName=user, PolicyArn=arn),
        lambda: iam.set_default_policy_version(PolicyArn=arn, VersionId="v2"),
        lambda: iam.detach_user_policy(UserName=user, PolicyArn=arn),
        lambda: iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=_doc()),
        lambda: iam.delete_user_policy(UserName=user, PolicyName="p"),
    ]
    try:
        for change in changes:
            before = epoch()
            change()
            assert epoch() > before
    finally:
        db.dispose()


def test_policies_on_long_paths_page_through_markers_aws_accepts(iam: Any, unique: str) -> None:
    # a policy ARN on a 500-character path is longer than a Marker may be (320 characters)
    path = f"/{unique}/" + "p" * 480 + "/"
    names = [f"long-{unique}-{i}" for i in range(4)]
    for name in names:
        iam.create_policy(PolicyName=name, Path=path, PolicyDocument=_doc("s3:GetObject"))
    pages = list(iam.get_paginator("list_policies").paginate(Scope="Local", PathPrefix=path, MaxItems=1))
    assert [p["PolicyName"] for page in pages for p in page["Policies"]] == names
    assert all(len(page.get("Marker", "")) <= 320 for page in pages)


def test_a_nul_in_an_arn_is_refused_alike_on_every_store(iam: Any) -> None:
    # PostgreSQL's text cannot hold a NUL: it answered 500 there, NoSuchEntity on SQLite
    for call in (
        lambda: iam.get_policy(PolicyArn="arn:aws:iam::123456789012:policy/a\x00b"),
        lambda: iam.tag_policy(
            PolicyArn="arn:aws:iam::123456789012:policy/a\x00b", Tags=[{"Key": "k", "Value": "v"}]
        ),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert exc.value.response["Error"]["Code"] == "ValidationError"
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
