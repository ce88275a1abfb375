"""Tags on users, roles, managed policies and instance profiles, with IAM's limits and texts."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}]}
)
KEY_PATTERN = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]+"
BAD_TAG_KEYS = (
    "1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: Member must satisfy "
    "constraint: [Member must have length less than or equal to 128, Member must have length greater than "
    f"or equal to 1, Member must satisfy regular expression pattern: {KEY_PATTERN}, Member must not be null]"
)


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


@pytest.fixture
def role(iam, unique) -> str:  # type: ignore[no-untyped-def]
    name = f"role-{unique}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    return name


@pytest.fixture
def raw_iam(server):  # type: ignore[no-untyped-def]  # boto3 client that sends what boto3 would refuse
    return server.client("iam", parameter_validation=False)


def test_role_tags_merge_replace_and_untag(iam, role):
    iam.tag_role(
        RoleName=role,
        Tags=[{"Key": "somekey", "Value": "somevalue"}, {"Key": "someotherkey", "Value": "someothervalue"}],
    )
    assert iam.get_role(RoleName=role)["Role"]["Tags"] == [
        {"Key": "somekey", "Value": "somevalue"},
        {"Key": "someotherkey", "Value": "someothervalue"},
    ]
    iam.tag_role(RoleName=role, Tags=[{"Key": "Somekey", "Value": ""}])
    listed = iam.list_role_tags(RoleName=role)
    assert listed["IsTruncated"] is False and "Marker" not in listed
    assert listed["Tags"] == [
        {"Key": "Somekey", "Value": ""},
        {"Key": "someotherkey", "Value": "someothervalue"},
    ]
    iam.untag_role(RoleName=role, TagKeys=["SOMEKEY", "absent"])
    assert iam.list_role_tags(RoleName=role)["Tags"] == [{"Key": "someotherkey", "Value": "someothervalue"}]


def test_list_role_tags_pages(iam, role):
    iam.tag_role(RoleName=role, Tags=[{"Key": f"k{i}", "Value": str(i)} for i in range(5)])
    first = iam.list_role_tags(RoleName=role, MaxItems=2)
    assert first["IsTruncated"] is True and [t["Key"] for t in first["Tags"]] == ["k0", "k1"]
    rest = iam.list_role_tags(RoleName=role, Marker=first["Marker"])
    assert rest["IsTruncated"] is False and [t["Key"] for t in rest["Tags"]] == ["k2", "k3", "k4"]


@pytest.mark.parametrize(
    ("tags", "code", "message"),
    [
        (
            [{"Key": "dupkey", "Value": "1"}, {"Key": "DupKey", "Value": "2"}],
            "InvalidInput",
            "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
        ),
        (
            [{"Key": "k" * 129, "Value": "value"}],
            "ValidationError",
            "1 validation error detected: Value at 'tags.1.member.key' failed to satisfy constraint: "
            "Member must have length less than or equal to 128",
        ),
        (
            [{"Key": "key", "Value": "v" * 257}],
            "ValidationError",
            "1 validation error detected: Value at 'tags.1.member.value' failed to satisfy constraint: "
            "Member must have length less than or equal to 256",
        ),
        (
            [{"Key": "invalid!key", "Value": "value"}],
            "ValidationError",
            "1 validation error detected: Value at 'tags.1.member.key' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: {KEY_PATTERN}",
        ),
        (
            [{"Key": str(i), "Value": str(i)} for i in range(51)],
            "ValidationError",
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: "
            "Member must have length less than or equal to 50",
        ),
        (
            [{"Key": "aws:reserved", "Value": "v"}],
            "InvalidInput",
            "Tag keys beginning with aws: are reserved for system use.",
        ),
    ],
)
def test_bad_role_tags_are_refused_and_change_nothing(raw_iam, role, tags, code, message):
    raw_iam.tag_role(RoleName=role, Tags=[{"Key": "kept", "Value": "v"}])
    with pytest.raises(ClientError) as exc:
        raw_iam.tag_role(RoleName=role, Tags=tags)
    assert error(exc) == (code, message)
    assert raw_iam.list_role_tags(RoleName=role)["Tags"] == [{"Key": "kept", "Value": "v"}]


def test_fifty_tags_in_all(iam, role):
    iam.tag_role(RoleName=role, Tags=[{"Key": f"a{i}", "Value": ""} for i in range(30)])
    iam.tag_role(RoleName=role, Tags=[{"Key": f"A{i}", "Value": "x"} for i in range(20)])  # replaces 20
    iam.tag_role(RoleName=role, Tags=[{"Key": f"b{i}", "Value": ""} for i in range(20)])
    with pytest.raises(ClientError) as exc:
        iam.tag_role(RoleName=role, Tags=[{"Key": "one-more", "Value": ""}])
    assert error(exc) == ("LimitExceeded", "The number of tags has reached the maximum limit.")
    assert len(iam.list_role_tags(RoleName=role)["Tags"]) == 50
    iam.tag_role(RoleName=role, Tags=[{"Key": "B0", "Value": "replaced"}])  # replacing needs no room


def test_bad_untag_keys(raw_iam, role):
    for keys in (["k" * 129], ["invalid!key"]):
        with pytest.raises(ClientError) as exc:
            raw_iam.untag_role(RoleName=role, TagKeys=keys)
        assert error(exc) == ("ValidationError", BAD_TAG_KEYS)
    with pytest.raises(ClientError) as exc:
        raw_iam.untag_role(RoleName=role, TagKeys=[str(i) for i in range(51)])
    assert error(exc) == (
        "ValidationError",
        "1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: "
        "Member must have length less than or equal to 50",
    )


def test_tags_of_missing_entities(iam, server, unique):
    missing_role = f"nonexistent-{unique}"
    role_message = ("NoSuchEntity", f"The role with name {missing_role} cannot be found.")
    user_message = ("NoSuchEntity", f"The user with name {missing_role} cannot be found.")
    profile_message = ("NoSuchEntity", f"Instance Profile {missing_role} cannot be found.")
    arn = f"arn:aws:iam::{server.account_id}:policy/NotAPolicy{unique}"
    policy_message = ("NoSuchEntity", f"Policy {arn} was not found.")
    tag = [{"Key": "k", "Value": "v"}]
    cases = [
        (lambda: iam.tag_role(RoleName=missing_role, Tags=tag), role_message),
        (lambda: iam.untag_role(RoleName=missing_role, TagKeys=["k"]), role_message),
        (lambda: iam.list_role_tags(RoleName=missing_role), role_message),
        (lambda: iam.tag_user(UserName=missing_role, Tags=tag), user_message),
        (lambda: iam.untag_user(UserName=missing_role, TagKeys=["k"]), user_message),
        (lambda: iam.list_user_tags(UserName=missing_role), user_message),
        (lambda: iam.tag_instance_profile(InstanceProfileName=missing_role, Tags=tag), profile_message),
        (
            lambda: iam.untag_instance_profile(InstanceProfileName=missing_role, TagKeys=["k"]),
            profile_message,
        ),
        (lambda: iam.list_instance_profile_tags(InstanceProfileName=missing_role), profile_message),
        (lambda: iam.tag_policy(PolicyArn=arn, Tags=tag), policy_message),
        (lambda: iam.untag_policy(PolicyArn=arn, TagKeys=["k"]), policy_message),
        (lambda: iam.list_policy_tags(PolicyArn=arn), policy_message),
    ]
    for call, expected in cases:
        with pytest.raises(ClientError) as exc:
            call()
        assert error(exc) == expected


def test_user_tags(iam, unique):
    name = f"user-{unique}"
    iam.create_user(UserName=name)
    assert iam.list_user_tags(UserName=name)["Tags"] == []
    iam.tag_user(
        UserName=name, Tags=[{"Key": "key-1", "Value": "value-1"}, {"Key": "key-2", "Value": "value-2"}]
    )
    assert iam.list_user_tags(UserName=name)["Tags"] == [
        {"Key": "key-1", "Value": "value-1"},
        {"Key": "key-2", "Value": "value-2"},
    ]
    iam.untag_user(UserName=name, TagKeys=["key-2"])
    assert iam.list_user_tags(UserName=name)["Tags"] == [{"Key": "key-1", "Value": "value-1"}]


def test_a_key_that_lower_cases_longer_is_held_and_matched(iam, unique):
    # `İ`.lower() is two characters: the matched key of 128 of them outgrew PostgreSQL's column (500)
    name = f"user-{unique}"
    key = "\u0130" * 128
    iam.create_user(UserName=name, Tags=[{"Key": key, "Value": "v1"}])
    iam.tag_user(UserName=name, Tags=[{"Key": key, "Value": "v2"}, {"Key": "\u0130" * 64, "Value": "v3"}])
    assert iam.list_user_tags(UserName=name)["Tags"] == [
        {"Key": key, "Value": "v2"},
        {"Key": "\u0130" * 64, "Value": "v3"},
    ]
    iam.untag_user(UserName=name, TagKeys=[key])
    assert iam.list_user_tags(UserName=name)["Tags"] == [{"Key": "\u0130" * 64, "Value": "v3"}]


def test_instance_profile_tags(iam, unique):
    name = f"profile-{unique}"
    iam.create_instance_profile(InstanceProfileName=name)
    iam.tag_instance_profile(InstanceProfileName=name, Tags=[{"Key": "MyKey", "Value": "myValue"}])
    iam.tag_instance_profile(InstanceProfileName=name, Tags=[{"Key": "MyKey2", "Value": "myValue2"}])
    assert iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Tags"] == [
        {"Key": "MyKey", "Value": "myValue"},
        {"Key": "MyKey2", "Value": "myValue2"},
    ]
    iam.untag_instance_profile(InstanceProfileName=name, TagKeys=["MyKey", "NotThere"])
    assert iam.list_instance_profile_tags(InstanceProfileName=name)["Tags"] == [
        {"Key": "MyKey2", "Value": "myValue2"}
    ]


def test_policy_tags_are_case_sensitive(iam, unique):
    arn = iam.create_policy(PolicyName=f"policy-{unique}", PolicyDocument=POLICY)["Policy"]["Arn"]
    iam.tag_policy(
        PolicyArn=arn, Tags=[{"Key": "A", "Value": "uppercase"}, {"Key": "a", "Value": "lowercase"}]
    )
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == [
        {"Key": "A", "Value": "uppercase"},
        {"Key": "a", "Value": "lowercase"},
    ]
    iam.untag_policy(PolicyArn=arn, TagKeys=["a"])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == [{"Key": "A", "Value": "uppercase"}]
    with pytest.raises(ClientError) as exc:
        iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "0", "Value": ""}, {"Key": "0", "Value": ""}])
    assert error(exc) == ("InvalidInput", "Duplicate tag keys found.")


def test_policy_tags_are_listed_in_aws_order(iam, unique):
    arn = iam.create_policy(PolicyName=f"policy-{unique}", PolicyDocument=POLICY)["Policy"]["Arn"]
    iam.tag_policy(
        PolicyArn=arn,
        Tags=[
            {"Key": "abc", "Value": "first"},
            {"Key": "b", "Value": "second"},
            {"Key": "z", "Value": "third"},
            {"Key": "a", "Value": "fourth"},
        ],
    )
    assert [t["Key"] for t in iam.list_policy_tags(PolicyArn=arn)["Tags"]] == ["a", "b", "z", "abc"]
    first = iam.list_policy_tags(PolicyArn=arn, MaxItems=1)
    assert first["IsTruncated"] is True and first["Tags"] == [{"Key": "a", "Value": "fourth"}]
    rest = iam.list_policy_tags(PolicyArn=arn, Marker=first["Marker"])
    assert [t["Key"] for t in rest["Tags"]] == ["b", "z", "abc"]
