"""Groups and membership through boto3, with AWS's errors."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server

_DOC = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
)


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = exc.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


def test_create_group_returns_every_field(iam, server: Server, unique: str) -> None:
    group = iam.create_group(GroupName=f"g-{unique}", Path="/ops/")["Group"]
    assert group["GroupName"] == f"g-{unique}" and group["Path"] == "/ops/"
    assert group["Arn"] == f"arn:aws:iam::{server.account_id}:group/ops/g-{unique}"
    assert group["GroupId"].startswith("AGPA") and len(group["GroupId"]) == 21
    assert group["CreateDate"].tzinfo is not None


def test_group_names_are_unique_case_insensitively(iam, unique: str) -> None:
    iam.create_group(GroupName=f"G-{unique}")
    with pytest.raises(ClientError) as exc:
        iam.create_group(GroupName=f"g-{unique}")
    assert _error(exc) == ("EntityAlreadyExists", f"Group with name g-{unique} already exists.", 409)


def test_get_unknown_group_is_no_such_entity(iam, unique: str) -> None:
    with pytest.raises(ClientError) as exc:
        iam.get_group(GroupName=f"none-{unique}")
    assert _error(exc) == ("NoSuchEntity", f"The group with name none-{unique} cannot be found.", 404)


def test_membership_shows_on_both_sides_and_pages(iam, unique: str) -> None:
    group = f"m-{unique}"
    iam.create_group(GroupName=group)
    names = [f"mu{i}-{unique}" for i in range(3)]
    for name in names:
        iam.create_user(UserName=name)
        iam.add_user_to_group(GroupName=group, UserName=name)
    iam.add_user_to_group(GroupName=group, UserName=names[0])  # adding twice is harmless
    first = iam.get_group(GroupName=group, MaxItems=2)
    assert first["Group"]["GroupName"] == group and first["IsTruncated"] is True
    rest = iam.get_group(GroupName=group, Marker=first["Marker"])
    assert [u["UserName"] for u in first["Users"] + rest["Users"]] == names
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=names[1])["Groups"]] == [group]
    iam.remove_user_from_group(GroupName=group, UserName=names[1])
    assert iam.list_groups_for_user(UserName=names[1])["Groups"] == []
    assert len(iam.get_group(GroupName=group)["Users"]) == 2


def test_add_unknown_user_or_group_is_no_such_entity(iam, unique: str) -> None:
    iam.create_group(GroupName=f"k-{unique}")
    iam.create_user(UserName=f"k-{unique}")
    with pytest.raises(ClientError) as exc:
        iam.add_user_to_group(GroupName=f"k-{unique}", UserName=f"ghost-{unique}")
    assert _error(exc) == ("NoSuchEntity", f"The user with name ghost-{unique} cannot be found.", 404)
    with pytest.raises(ClientError) as exc:
        iam.add_user_to_group(GroupName=f"ghost-{unique}", UserName=f"k-{unique}")
    assert _error(exc) == ("NoSuchEntity", f"The group with name ghost-{unique} cannot be found.", 404)


def test_a_user_belongs_to_at_most_ten_groups(iam, unique: str) -> None:
    iam.create_user(UserName=f"q-{unique}")
    for i in range(11):
        iam.create_group(GroupName=f"q{i}-{unique}")
    for i in range(10):
        iam.add_user_to_group(GroupName=f"q{i}-{unique}", UserName=f"q-{unique}")
    with pytest.raises(ClientError) as exc:
        iam.add_user_to_group(GroupName=f"q10-{unique}", UserName=f"q-{unique}")
    assert _error(exc) == ("LimitExceeded", "Cannot exceed quota for GroupsPerUser: 10", 409)
    assert len(iam.list_groups_for_user(UserName=f"q-{unique}")["Groups"]) == 10


def test_update_group_renames_and_keeps_members(iam, server: Server, unique: str) -> None:
    iam.create_group(GroupName=f"r-{unique}")
    iam.create_user(UserName=f"r-{unique}")
    iam.add_user_to_group(GroupName=f"r-{unique}", UserName=f"r-{unique}")
    iam.update_group(GroupName=f"r-{unique}", NewGroupName=f"r2-{unique}", NewPath="/new/")
    got = iam.get_group(GroupName=f"r2-{unique}")
    assert got["Group"]["Arn"] == f"arn:aws:iam::{server.account_id}:group/new/r2-{unique}"
    assert [u["UserName"] for u in got["Users"]] == [f"r-{unique}"]


def test_update_group_to_a_taken_name_is_refused(iam, unique: str) -> None:
    iam.create_group(GroupName=f"a-{unique}")
    iam.create_group(GroupName=f"b-{unique}")
    with pytest.raises(ClientError) as exc:
        iam.update_group(GroupName=f"a-{unique}", NewGroupName=f"b-{unique}")
    assert _error(exc) == ("EntityAlreadyExists", f"Group with name b-{unique} already exists.", 409)


def test_delete_group_with_members_is_a_conflict(iam, unique: str) -> None:
    iam.create_group(GroupName=f"dm-{unique}")
    iam.create_user(UserName=f"dm-{unique}")
    iam.add_user_to_group(GroupName=f"dm-{unique}", UserName=f"dm-{unique}")
    with pytest.raises(ClientError) as exc:
        iam.delete_group(GroupName=f"dm-{unique}")
    assert _error(exc) == ("DeleteConflict", "Cannot delete entity, must remove users from group first.", 409)
    iam.remove_user_from_group(GroupName=f"dm-{unique}", UserName=f"dm-{unique}")
    iam.delete_group(GroupName=f"dm-{unique}")
    with pytest.raises(ClientError) as exc:
        iam.get_group(GroupName=f"dm-{unique}")
    assert _error(exc)[0] == "NoSuchEntity"


def test_delete_group_with_attached_policy_is_a_conflict(iam, unique: str) -> None:
    arn = iam.create_policy(PolicyName=f"dp-{unique}", PolicyDocument=_DOC)["Policy"]["Arn"]
    iam.create_group(GroupName=f"dp-{unique}")
    iam.attach_group_policy(GroupName=f"dp-{unique}", PolicyArn=arn)
    with pytest.raises(ClientError) as exc:
        iam.delete_group(GroupName=f"dp-{unique}")
    assert _error(exc) == ("DeleteConflict", "Cannot delete entity, must detach all policies first.", 409)


def test_list_groups_by_path_prefix(iam, unique: str) -> None:
    iam.create_group(GroupName=f"p1-{unique}", Path=f"/lg-{unique}/")
    iam.create_group(GroupName=f"p2-{unique}", Path=f"/lg-{unique}/sub/")
    iam.create_group(GroupName=f"p3-{unique}")
    listed = iam.list_groups(PathPrefix=f"/lg-{unique}/")
    assert [g["GroupName"] for g in listed["Groups"]] == [f"p1-{unique}", f"p2-{unique}"]
    assert listed["IsTruncated"] is False


def test_refused_user_delete_keeps_the_membership(iam, unique: str) -> None:
    """DeleteUser refuses while the user is in a group, so a group never lists a deleted user."""
    iam.create_group(GroupName=f"s-{unique}")
    iam.create_user(UserName=f"s-{unique}")
    iam.add_user_to_group(GroupName=f"s-{unique}", UserName=f"s-{unique}")
    with pytest.raises(ClientError) as exc:
        iam.delete_user(UserName=f"s-{unique}")
    assert _error(exc)[0] == "DeleteConflict"
    assert [u["UserName"] for u in iam.get_group(GroupName=f"s-{unique}")["Users"]] == [f"s-{unique}"]
