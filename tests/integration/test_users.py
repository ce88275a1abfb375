"""Users through boto3: create, get, update, delete, list, permissions boundaries, AWS's errors."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server

_IAM_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}
)
_DOC = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
)


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = exc.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


def _policy_arn(iam, name: str) -> str:  # type: ignore[no-untyped-def]  # boto3 client
    return str(iam.create_policy(PolicyName=name, PolicyDocument=_DOC)["Policy"]["Arn"])


def test_create_user_returns_every_field_with_aws_ids(iam, server: Server, unique: str) -> None:
    user = iam.create_user(UserName=f"u-{unique}", Path="/team/a/")["User"]
    assert user["UserName"] == f"u-{unique}"
    assert user["Path"] == "/team/a/"
    assert user["Arn"] == f"arn:aws:iam::{server.account_id}:user/team/a/u-{unique}"
    assert user["UserId"].startswith("AIDA") and len(user["UserId"]) == 21
    assert user["CreateDate"].tzinfo is not None
    assert "PermissionsBoundary" not in user and "Tags" not in user


def test_get_user_matches_create(iam, unique: str) -> None:
    created = iam.create_user(UserName=f"g-{unique}")["User"]
    got = iam.get_user(UserName=f"G-{unique}".upper())["User"]  # names are case-insensitive
    assert got["UserId"] == created["UserId"] and got["UserName"] == f"g-{unique}"
    assert got["Arn"] == created["Arn"]


def test_names_are_unique_case_insensitively(iam, unique: str) -> None:
    iam.create_user(UserName=f"Dup-{unique}")
    with pytest.raises(ClientError) as exc:
        iam.create_user(UserName=f"dup-{unique}")
    assert _error(exc) == ("EntityAlreadyExists", f"User with name dup-{unique} already exists.", 409)


def test_get_unknown_user_is_no_such_entity(iam, unique: str) -> None:
    with pytest.raises(ClientError) as exc:
        iam.get_user(UserName=f"nobody-{unique}")
    assert _error(exc) == ("NoSuchEntity", f"The user with name nobody-{unique} cannot be found.", 404)


def test_get_user_without_name_as_root_is_the_root(iam, server: Server) -> None:
    user = iam.get_user()["User"]
    assert user["UserId"] == server.account_id
    assert user["Arn"] == f"arn:aws:iam::{server.account_id}:root"


def test_get_user_without_name_as_user_is_that_user(iam, server: Server, unique: str) -> None:
    name = f"self-{unique}"
    iam.create_user(UserName=name, Path="/me/")
    iam.put_user_policy(UserName=name, PolicyName="iam-all", PolicyDocument=_IAM_ALL)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    own = server.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
    user = own.get_user()["User"]  # type: ignore[attr-defined]  # boto3 client
    assert user["UserName"] == name
    assert user["Arn"] == f"arn:aws:iam::{server.account_id}:user/me/{name}"


def test_create_user_with_tags_shows_them_on_get(iam, unique: str) -> None:
    tags = [{"Key": "team", "Value": "blue"}, {"Key": "cost", "Value": ""}]
    created = iam.create_user(UserName=f"t-{unique}", Tags=tags)["User"]
    assert created["Tags"] == tags
    assert iam.get_user(UserName=f"t-{unique}")["User"]["Tags"] == tags


def test_get_user_shows_the_tags_list_user_tags_shows(iam, unique: str) -> None:
    name = f"tl-{unique}"
    iam.create_user(UserName=name, Tags=[{"Key": "b", "Value": "1"}, {"Key": "a", "Value": "2"}])
    iam.tag_user(UserName=name, Tags=[{"Key": "B", "Value": "3"}, {"Key": "c", "Value": "4"}])
    listed = iam.list_user_tags(UserName=name)["Tags"]
    assert sorted(t["Key"] for t in listed) == ["B", "a", "c"]  # keys match case-insensitively
    assert iam.get_user(UserName=name)["User"]["Tags"] == listed
    iam.create_user(UserName=f"{name}-untagged")
    assert "Tags" not in iam.get_user(UserName=f"{name}-untagged")["User"]


def test_update_user_renames_and_moves(iam, server: Server, unique: str) -> None:
    iam.create_user(UserName=f"old-{unique}")
    iam.update_user(UserName=f"old-{unique}", NewUserName=f"new-{unique}", NewPath="/moved/")
    user = iam.get_user(UserName=f"new-{unique}")["User"]
    assert user["Arn"] == f"arn:aws:iam::{server.account_id}:user/moved/new-{unique}"
    with pytest.raises(ClientError) as exc:
        iam.get_user(UserName=f"old-{unique}")
    assert _error(exc)[0] == "NoSuchEntity"


def test_update_user_to_a_taken_name_is_refused(iam, unique: str) -> None:
    iam.create_user(UserName=f"a-{unique}")
    iam.create_user(UserName=f"b-{unique}")
    with pytest.raises(ClientError) as exc:
        iam.update_user(UserName=f"a-{unique}", NewUserName=f"B-{unique}")
    assert _error(exc) == ("EntityAlreadyExists", f"User with name B-{unique} already exists.", 409)
    assert iam.get_user(UserName=f"a-{unique}")["User"]["UserName"] == f"a-{unique}"


def test_update_unknown_user_is_no_such_entity(iam, unique: str) -> None:
    with pytest.raises(ClientError) as exc:
        iam.update_user(UserName=f"ghost-{unique}", NewUserName=f"x-{unique}")
    assert _error(exc) == ("NoSuchEntity", f"The user with name ghost-{unique} cannot be found.", 404)


def test_delete_user_removes_it(iam, unique: str) -> None:
    iam.create_user(UserName=f"d-{unique}")
    iam.delete_user(UserName=f"d-{unique}")
    with pytest.raises(ClientError) as exc:
        iam.delete_user(UserName=f"d-{unique}")
    assert _error(exc) == ("NoSuchEntity", f"The user with name d-{unique} cannot be found.", 404)


@pytest.mark.parametrize(
    ("attach", "message"),
    [
        ("login_profile", "Cannot delete entity, must delete login profile first."),
        ("access_key", "Cannot delete entity, must delete access keys first."),
        ("group", "Cannot delete entity, must remove users from group first."),
        ("inline", "Cannot delete entity, must delete policies first."),
        ("attached", "Cannot delete entity, must detach all policies first."),
    ],
)
def test_delete_user_with_dependents_is_a_conflict(iam, unique: str, attach: str, message: str) -> None:
    name = f"dep-{unique}"
    iam.create_user(UserName=name)
    if attach == "login_profile":
        iam.create_login_profile(UserName=name, Password="Correct-Horse-9")
    elif attach == "access_key":
        iam.create_access_key(UserName=name)
    elif attach == "inline":
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=_DOC)
    elif attach == "attached":
        iam.attach_user_policy(UserName=name, PolicyArn=_policy_arn(iam, f"dep-{unique}"))
    else:
        iam.create_group(GroupName=f"grp-{unique}")
        iam.add_user_to_group(GroupName=f"grp-{unique}", UserName=name)
    with pytest.raises(ClientError) as exc:
        iam.delete_user(UserName=name)
    assert _error(exc) == ("DeleteConflict", message, 409)
    assert iam.get_user(UserName=name)["User"]["UserName"] == name


def test_list_users_by_path_prefix_and_pages(iam, unique: str) -> None:
    prefix = f"/list-{unique}/"
    names = [f"l{i}-{unique}" for i in range(5)]
    for name in names:
        iam.create_user(UserName=name, Path=prefix)
    iam.create_user(UserName=f"elsewhere-{unique}", Path=f"/other-{unique}/")
    seen: list[str] = []
    kwargs: dict[str, object] = {"PathPrefix": prefix, "MaxItems": 2}
    while True:
        page = iam.list_users(**kwargs)
        assert len(page["Users"]) <= 2
        seen += [u["UserName"] for u in page["Users"]]
        if not page["IsTruncated"]:
            break
        kwargs["Marker"] = page["Marker"]
    assert seen == sorted(names)
    listed = iam.list_users(PathPrefix=prefix)["Users"][0]
    assert set(listed) == {"Path", "UserName", "UserId", "Arn", "CreateDate"}


def test_permissions_boundary_put_get_delete(iam, server: Server, unique: str) -> None:
    arn = _policy_arn(iam, f"pb-{unique}")
    iam.create_user(UserName=f"pb-{unique}")
    iam.put_user_permissions_boundary(UserName=f"pb-{unique}", PermissionsBoundary=arn)
    boundary = iam.get_user(UserName=f"pb-{unique}")["User"]["PermissionsBoundary"]
    assert boundary == {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn}
    iam.delete_user_permissions_boundary(UserName=f"pb-{unique}")
    assert "PermissionsBoundary" not in iam.get_user(UserName=f"pb-{unique}")["User"]


def test_create_user_with_boundary_returns_it(iam, unique: str) -> None:
    arn = _policy_arn(iam, f"cb-{unique}")
    user = iam.create_user(UserName=f"cb-{unique}", PermissionsBoundary=arn)["User"]
    assert user["PermissionsBoundary"]["PermissionsBoundaryArn"] == arn


def test_boundary_must_be_an_existing_managed_policy(iam, server: Server, unique: str) -> None:
    iam.create_user(UserName=f"nb-{unique}")
    missing = f"arn:aws:iam::{server.account_id}:policy/missing-{unique}"
    with pytest.raises(ClientError) as exc:
        iam.put_user_permissions_boundary(UserName=f"nb-{unique}", PermissionsBoundary=missing)
    assert _error(exc) == ("NoSuchEntity", f"Scope ARN: {missing} does not exist or is not attachable.", 404)
    bad = f"arn:aws:iam::{server.account_id}:not_a_policy/x"
    with pytest.raises(ClientError) as exc:
        iam.put_user_permissions_boundary(UserName=f"nb-{unique}", PermissionsBoundary=bad)
    assert _error(exc) == ("InvalidInput", f"ARN {bad} is not valid.", 400)


def test_failed_create_user_changes_nothing(iam, server: Server, unique: str) -> None:
    missing = f"arn:aws:iam::{server.account_id}:policy/missing-{unique}"
    with pytest.raises(ClientError) as exc:
        iam.create_user(UserName=f"fb-{unique}", PermissionsBoundary=missing)
    assert _error(exc)[0] == "NoSuchEntity"
    with pytest.raises(ClientError) as exc:
        iam.create_user(
            UserName=f"ft-{unique}", Tags=[{"Key": "k", "Value": "1"}, {"Key": "K", "Value": "2"}]
        )
    assert _error(exc)[0] == "InvalidInput"
    for name in (f"fb-{unique}", f"ft-{unique}"):
        with pytest.raises(ClientError) as exc:
            iam.get_user(UserName=name)
        assert _error(exc)[0] == "NoSuchEntity"
