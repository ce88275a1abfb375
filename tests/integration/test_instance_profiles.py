"""Instance profiles through boto3 against the real server."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def make_role(iam, name: str) -> dict:  # type: ignore[no-untyped-def]  # boto3 client
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]


def test_create_and_get_instance_profile(iam, server, unique):
    name = f"profile-{unique}"
    created = iam.create_instance_profile(
        InstanceProfileName=name, Path=f"/p-{unique}/", Tags=[{"Key": "InitialKey", "Value": "InitialValue"}]
    )["InstanceProfile"]
    assert created["Arn"] == f"arn:aws:iam::{server.account_id}:instance-profile/p-{unique}/{name}"
    assert created["InstanceProfileId"].startswith("AIPA") and len(created["InstanceProfileId"]) == 21
    assert created["Roles"] == []
    assert created["Tags"] == [{"Key": "InitialKey", "Value": "InitialValue"}]
    got = iam.get_instance_profile(InstanceProfileName=name.upper())["InstanceProfile"]
    assert got == created


def test_get_lists_no_tags_as_an_empty_list_and_create_omits_them(iam, unique):
    """AWS-recorded CreateInstanceProfile 468 (no Tags) and GetInstanceProfile 469, 484 (`Tags: []`)."""
    name = f"profile-{unique}"
    created = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    assert "Tags" not in created
    got = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    assert got == {**created, "Tags": []}
    listed = iam.list_instance_profiles(PathPrefix="/")["InstanceProfiles"]
    assert all("Tags" not in profile for profile in listed)  # as AWS's ListInstanceProfiles 476, 479


def test_duplicate_name_is_refused(iam, unique):
    name = f"profile-{unique}"
    iam.create_instance_profile(InstanceProfileName=name)
    with pytest.raises(ClientError) as exc:
        iam.create_instance_profile(InstanceProfileName=name)
    assert error(exc) == ("EntityAlreadyExists", f"Instance Profile {name} already exists.")


def test_bad_tag_creates_no_instance_profile(iam, unique):
    name = f"profile-{unique}"
    with pytest.raises(ClientError) as exc:
        iam.create_instance_profile(InstanceProfileName=name, Tags=[{"Key": "aws:reserved", "Value": "v"}])
    assert error(exc)[0] == "InvalidInput"
    with pytest.raises(ClientError) as exc:
        iam.get_instance_profile(InstanceProfileName=name)
    assert error(exc) == ("NoSuchEntity", f"Instance Profile {name} cannot be found.")


def test_missing_instance_profile_errors(iam, unique):
    name = f"nonexistent-{unique}"
    make_role(iam, f"role-{unique}")
    calls = [
        lambda: iam.get_instance_profile(InstanceProfileName=name),
        lambda: iam.delete_instance_profile(InstanceProfileName=name),
        lambda: iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=f"role-{unique}"),
        lambda: iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=f"role-{unique}"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as exc:
            call()
        assert error(exc) == ("NoSuchEntity", f"Instance Profile {name} cannot be found.")


def test_roles_in_an_instance_profile(iam, unique):
    profile, other = f"profile-b-{unique}", f"profile-a-{unique}"  # `other` sorts first
    role = make_role(iam, f"role-{unique}")
    make_role(iam, f"role-2-{unique}")
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.create_instance_profile(InstanceProfileName=other)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role["RoleName"])
    iam.add_role_to_instance_profile(InstanceProfileName=other, RoleName=role["RoleName"])
    roles = iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]["Roles"]
    assert [r["RoleId"] for r in roles] == [role["RoleId"]]
    assert roles[0]["AssumeRolePolicyDocument"] == TRUST
    assert "MaxSessionDuration" not in roles[0] and "RoleLastUsed" not in roles[0]
    listed = iam.list_instance_profiles_for_role(RoleName=role["RoleName"])
    assert [p["InstanceProfileName"] for p in listed["InstanceProfiles"]] == [other, profile]
    assert iam.list_instance_profiles_for_role(RoleName=f"role-2-{unique}")["InstanceProfiles"] == []


def test_an_instance_profile_holds_one_role(iam, unique):
    profile = f"profile-{unique}"
    make_role(iam, f"role-{unique}")
    make_role(iam, f"role-2-{unique}")
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=f"role-{unique}")
    with pytest.raises(ClientError) as exc:
        iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=f"role-2-{unique}")
    assert error(exc) == ("LimitExceeded", "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")
    roles = iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]["Roles"]
    assert [r["RoleName"] for r in roles] == [f"role-{unique}"]


def test_role_errors(iam, unique):
    profile = f"profile-{unique}"
    iam.create_instance_profile(InstanceProfileName=profile)
    make_role(iam, f"role-{unique}")
    for call in (
        lambda: iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName="nonexistent-role"),
        lambda: iam.remove_role_from_instance_profile(
            InstanceProfileName=profile, RoleName="nonexistent-role"
        ),
        lambda: iam.list_instance_profiles_for_role(RoleName="nonexistent-role"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error(exc) == ("NoSuchEntity", "The role with name nonexistent-role cannot be found.")
    with pytest.raises(ClientError) as exc:
        iam.remove_role_from_instance_profile(InstanceProfileName=profile, RoleName=f"role-{unique}")
    assert error(exc) == (
        "NoSuchEntity",
        f"Role role-{unique} in Instance Profile {profile} cannot be found.",
    )


def test_delete_instance_profile_with_a_role_conflicts(iam, unique):
    profile = f"profile-{unique}"
    make_role(iam, f"role-{unique}")
    iam.create_instance_profile(InstanceProfileName=profile, Tags=[{"Key": "k", "Value": "v"}])
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=f"role-{unique}")
    with pytest.raises(ClientError) as exc:
        iam.delete_instance_profile(InstanceProfileName=profile)
    assert error(exc) == (
        "DeleteConflict",
        "Cannot delete entity, must remove roles from instance profile first.",
    )
    assert iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]["Roles"]
    iam.remove_role_from_instance_profile(InstanceProfileName=profile, RoleName=f"role-{unique}")
    iam.delete_instance_profile(InstanceProfileName=profile)
    with pytest.raises(ClientError) as exc:
        iam.get_instance_profile(InstanceProfileName=profile)
    assert error(exc) == ("NoSuchEntity", f"Instance Profile {profile} cannot be found.")
    iam.create_instance_profile(InstanceProfileName=profile)
    assert iam.list_instance_profile_tags(InstanceProfileName=profile)["Tags"] == []


def test_list_instance_profiles_by_path_and_pages(iam, unique):
    path = f"/path-a-{unique}/"
    names = [f"profile-{i}-{unique}" for i in range(3)]
    for name in names:
        iam.create_instance_profile(InstanceProfileName=name, Path=path, Tags=[{"Key": "k", "Value": "v"}])
    first = iam.list_instance_profiles(PathPrefix=path, MaxItems=2)
    assert first["IsTruncated"] is True
    rest = iam.list_instance_profiles(PathPrefix=path, Marker=first["Marker"])
    listed = first["InstanceProfiles"] + rest["InstanceProfiles"]
    assert [p["InstanceProfileName"] for p in listed] == names
    assert "Tags" not in listed[0] and listed[0]["Roles"] == []
    assert iam.list_instance_profiles(PathPrefix="/nonexistent-path/")["InstanceProfiles"] == []


def test_concurrent_adds_leave_one_role(server, unique):
    profile = f"profile-{unique}"
    clients = [server.client("iam") for _ in range(8)]
    clients[0].create_instance_profile(InstanceProfileName=profile)
    for i in range(8):
        make_role(clients[0], f"role-{i}-{unique}")

    def add(i: int) -> str:
        try:
            clients[i].add_role_to_instance_profile(
                InstanceProfileName=profile, RoleName=f"role-{i}-{unique}"
            )
            return "added"
        except ClientError as exc:
            return exc.response["Error"]["Code"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(add, range(8)))
    assert sorted(outcomes) == ["LimitExceeded"] * 7 + ["added"]
    assert len(clients[0].get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]["Roles"]) == 1
