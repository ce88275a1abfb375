"""Pages read through the scale indexes (issue 16): code-point order, Markers, counts, on both stores.

The pages of ListUsers, ListRoles, ListPolicies and GetAccountAuthorizationDetails are now read in the
database from an index (PostgreSQL's in the "C" collation); these tests hold them to the order and the
Markers the in-memory sort gave: every item once, in code-point order, across every page size.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.integration.test_accounts import client

_DOC = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
)
_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def _tricky(unique: str) -> list[str]:
    """Names whose code-point order differs from an en-US collation's and from the order of name+'/':
    `_` sorts after upper case, `-` and `.` before `/`, upper case compares lower-cased."""
    return [
        f"s{unique}",
        f"s{unique}-b",
        f"s{unique}.c",
        f"s{unique}_d",
        f"S{unique}E",
        f"s{unique}+f",
        "Z" + unique,
    ]


def _walk(call: Any, member: str, size: int, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page of a list call, following the Markers by hand."""
    pages, marker = [], None
    for _ in range(1000):
        answer = call(MaxItems=size, **params, **({"Marker": marker} if marker else {}))
        pages.append(answer[member])
        if not answer["IsTruncated"]:
            return pages
        marker = answer["Marker"]
    raise AssertionError("the pages never ended")


@pytest.mark.parametrize("size", [1, 2, 5])
def test_list_users_pages_in_code_point_order(iam: Any, unique: str, size: int) -> None:
    path = f"/scale{unique}{size}/"
    names = _tricky(unique)
    for name in names:
        iam.create_user(UserName=name + str(size), Path=path)
    pages = _walk(iam.list_users, "Users", size, PathPrefix=path)
    listed = [u["UserName"] for page in pages for u in page]
    assert listed == sorted((n + str(size) for n in names), key=str.lower)
    assert all(len(page) <= size for page in pages)


def test_list_roles_and_policies_pages_in_code_point_order(iam: Any, unique: str) -> None:
    path = f"/scalerp{unique}/"
    names = _tricky(unique)
    for name in names:
        iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=_TRUST)
        iam.create_policy(PolicyName=name, Path=path, PolicyDocument=_DOC)
    roles = [r["RoleName"] for page in _walk(iam.list_roles, "Roles", 2, PathPrefix=path) for r in page]
    assert roles == sorted(names, key=str.lower)
    pages = _walk(iam.list_policies, "Policies", 2, PathPrefix=path, Scope="Local")
    arns = [p["Arn"] for page in pages for p in page]
    assert arns == sorted(arns) and len(arns) == len(names)


def _details(iam: Any, size: int, **params: Any) -> list[dict[str, Any]]:
    """Every page of GetAccountAuthorizationDetails by hand: (section, name) in the order given."""
    out = []
    for page in _walk(iam.get_account_authorization_details, "UserDetailList", size, **params):
        out.extend(page)
    return out


def test_authorization_details_pages_in_code_point_order(iam: Any, unique: str) -> None:
    names = _tricky(unique)
    for name in names:
        iam.create_user(UserName=name, Path=f"/gaad{unique}/")
    for size in (1, 3):
        users = _details(iam, size, Filter=["User"])
        keys = [u["UserName"].lower() for u in users]
        assert keys == sorted(keys), "the pages of the whole account are in code-point order"
        assert len(keys) == len(set(keys)), "no user twice"
        mine = [u["UserName"] for u in users if u["Path"] == f"/gaad{unique}/"]
        assert mine == sorted(names, key=str.lower)


def test_authorization_details_sections_in_order_each_item_once(server: Server) -> None:
    """In a fresh account (the shared one holds what the tests before this one made: more than 1000
    items when many ran first), pages of each size cross the sections' bounds: users, then groups,
    roles, local and AWS policies, every item once."""
    iam: Any = client(server, "iam", server.new_account())
    for n in range(2):
        iam.create_user(UserName=f"sec{n}")
        iam.create_group(GroupName=f"sec{n}")
        iam.create_role(RoleName=f"sec{n}", AssumeRolePolicyDocument=_TRUST)
    arn = iam.create_policy(PolicyName="sec", PolicyDocument=_DOC)["Policy"]["Arn"]
    iam.attach_user_policy(UserName="sec0", PolicyArn="arn:aws:iam::aws:policy/AWSDenyAll")
    iam.attach_group_policy(GroupName="sec1", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    whole = iam.get_account_authorization_details(MaxItems=1000)
    assert whole["IsTruncated"] is False
    expected = len(whole["UserDetailList"]) + len(whole["GroupDetailList"]) + len(whole["RoleDetailList"])
    expected += len(whole["Policies"])
    assert expected == 9
    for size in (1, 2, 4, 7):
        seen: list[tuple[str, str]] = []
        marker = None
        for _ in range(1000):
            page = iam.get_account_authorization_details(
                MaxItems=size, **({"Marker": marker} if marker else {})
            )
            seen += [("0", u["UserName"]) for u in page["UserDetailList"]]
            seen += [("1", g["GroupName"]) for g in page["GroupDetailList"]]
            seen += [("2", r["RoleName"]) for r in page["RoleDetailList"]]
            seen += [
                ("4" if p["Arn"].startswith("arn:aws:iam::aws:") else "3", p["Arn"]) for p in page["Policies"]
            ]
            if not page["IsTruncated"]:
                break
            marker = page["Marker"]
        sections = [s for s, _ in seen]
        assert sections == sorted(sections), "users, then groups, roles, local and AWS policies"
        assert len(seen) == len(set(seen)) == expected
        assert ("3", arn) in seen and ("4", "arn:aws:iam::aws:policy/AWSDenyAll") in seen


def test_authorization_details_long_arns_page_with_skip_markers(iam: Any, unique: str) -> None:
    """ARNs too long for a Marker: the Marker keeps a prefix and a count, read again in the database."""
    path = f"/{unique}/" + "p" * 300 + "/"
    names = [f"long{unique}{c}" for c in "abcd"]
    for name in names:
        iam.create_policy(PolicyName=name, Path=path, PolicyDocument=_DOC)
    listed, marker = [], None
    for _ in range(1000):
        page = iam.get_account_authorization_details(
            Filter=["LocalManagedPolicy"], MaxItems=1, **({"Marker": marker} if marker else {})
        )
        listed += [p["PolicyName"] for p in page["Policies"]]
        if not page["IsTruncated"]:
            break
        marker = page["Marker"]
        assert len(marker) <= 320
    assert [n for n in listed if n in names] == names
    assert len(listed) == len(set(listed))


def test_forged_markers(iam: Any, unique: str) -> None:
    """A Marker an attacker writes: past every section is an empty last page; garbage is refused."""
    past = base64.urlsafe_b64encode(b"9/zzz").decode()
    answer = iam.get_account_authorization_details(Marker=past)
    assert answer["IsTruncated"] is False and answer["UserDetailList"] == [] and answer["Policies"] == []
    for bad in (base64.urlsafe_b64encode(b"\0x\0a").decode(), base64.urlsafe_b64encode(b"\xff\xfe").decode()):
        with pytest.raises(ClientError) as caught:
            iam.get_account_authorization_details(Marker=bad)
        assert caught.value.response["Error"]["Code"] in ("InvalidInput", "ValidationError")
    huge = base64.urlsafe_b64encode(b"\x00999999999\x000/").decode()  # skip more than exists
    answer = iam.get_account_authorization_details(Marker=huge, Filter=["User"])
    assert answer["UserDetailList"] == [] and answer["IsTruncated"] is False


def test_policy_counts_follow_attachments_and_boundaries(iam: Any, unique: str) -> None:
    """AttachmentCount and PermissionsBoundaryUsageCount, now read from indexes, as things change."""
    arn = iam.create_policy(PolicyName=f"cnt{unique}", PolicyDocument=_DOC)["Policy"]["Arn"]
    iam.create_user(UserName=f"cnt{unique}", PermissionsBoundary=arn)
    iam.create_role(RoleName=f"cnt{unique}", AssumeRolePolicyDocument=_TRUST, PermissionsBoundary=arn)
    iam.attach_user_policy(UserName=f"cnt{unique}", PolicyArn=arn)
    iam.attach_role_policy(RoleName=f"cnt{unique}", PolicyArn=arn)
    policy = iam.get_policy(PolicyArn=arn)["Policy"]
    assert (policy["AttachmentCount"], policy["PermissionsBoundaryUsageCount"]) == (2, 2)
    bounded = iam.list_policies(Scope="Local", PolicyUsageFilter="PermissionsBoundary", MaxItems=1000)
    assert arn in [p["Arn"] for p in bounded["Policies"]]
    iam.delete_user_permissions_boundary(UserName=f"cnt{unique}")
    iam.detach_role_policy(RoleName=f"cnt{unique}", PolicyArn=arn)
    policy = iam.get_policy(PolicyArn=arn)["Policy"]
    assert (policy["AttachmentCount"], policy["PermissionsBoundaryUsageCount"]) == (1, 1)
    entities = iam.list_entities_for_policy(PolicyArn=arn)
    assert [u["UserName"] for u in entities["PolicyUsers"]] == [f"cnt{unique}"]
    assert [r["RoleName"] for r in entities["PolicyRoles"]] == [f"cnt{unique}"]  # its boundary still
    attached_only = iam.list_entities_for_policy(PolicyArn=arn, PolicyUsageFilter="PermissionsPolicy")
    assert attached_only["PolicyRoles"] == []
    assert [
        a["PolicyArn"] for a in iam.list_attached_user_policies(UserName=f"cnt{unique}")["AttachedPolicies"]
    ] == [arn]


def test_account_summary_counts_what_is_created(iam: Any, unique: str) -> None:
    """The counts, read from indexes, follow creation and deletion (one server per test process)."""
    before = iam.get_account_summary()["SummaryMap"]
    iam.create_user(UserName=f"sum{unique}")
    iam.create_role(RoleName=f"sum{unique}", AssumeRolePolicyDocument=_TRUST)
    after = iam.get_account_summary()["SummaryMap"]
    assert (after["Users"], after["Roles"]) == (before["Users"] + 1, before["Roles"] + 1)
    iam.delete_user(UserName=f"sum{unique}")
    assert iam.get_account_summary()["SummaryMap"]["Users"] == before["Users"]


def test_list_policies_all_pages_the_account_then_aws_once_each(iam: Any, unique: str) -> None:
    """Scope=All reads the account's policies, then AWS's (their ARNs sort after every account's)."""
    iam.create_policy(PolicyName=f"all{unique}", PolicyDocument=_DOC)
    arns = [p["Arn"] for page in _walk(iam.list_policies, "Policies", 100, Scope="All") for p in page]
    assert arns == sorted(arns) and len(arns) == len(set(arns))
    aws = [a for a in arns if a.startswith("arn:aws:iam::aws:")]
    assert aws and arns[-len(aws) :] == aws
    assert f"arn:aws:iam::{arns[0].split(':')[4]}:policy/all{unique}" in arns


def test_list_policies_only_attached_crosses_into_aws_with_long_arns(iam: Any, unique: str) -> None:
    """The last of the account's policies have ARNs too long for a Marker; the pages go on into AWS's."""
    path = "/zzzz" + "z" * 300 + f"/{unique}/"  # `z` sorts after every other path character
    user = f"att{unique}"
    iam.create_user(UserName=user)
    names = [f"att{unique}{c}" for c in "abc"]
    for name in names:
        arn = iam.create_policy(PolicyName=name, Path=path, PolicyDocument=_DOC)["Policy"]["Arn"]
        iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.attach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    pages = _walk(iam.list_policies, "Policies", 1, Scope="All", OnlyAttached=True)
    listed = [p["PolicyName"] for page in pages for p in page]
    assert len(listed) == len(set(listed))
    mine = [n for n in listed if n in names]
    assert mine == names
    assert listed.index("ReadOnlyAccess") > listed.index(names[-1])
    assert all(p["AttachmentCount"] >= 1 for page in pages for p in page)
