"""Users and roles named in KMS key policies are bound to their unique ids, as AWS binds them: a user
deleted and made again under its name does not inherit the key policy's grant (GetKeyPolicy shows the
old unique id, and KMS refuses that policy saved again); a rename shows the new ARN. Whatever the
spelling (a string or a list, another account's user), and an ARN spelled otherwise than the principal
is refused. Through boto3 against the real server's gateway over moto, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.gateway_helpers import refusal as _refusal
from tests.integration.gateway_helpers import saved_while_deleted
from tests.integration.test_gateway_ownership import Harness, harness_fixtures

ENCRYPT = [{"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*"}]
INVALID = (
    "MalformedPolicyDocumentException",
    "Policy contains a statement with one or more invalid principals.",
    400,
)


backend, harness = harness_fixtures()


def _policy(account: str, principal: Any) -> str:
    """A key policy: the account's root may manage the key (not use it, so identity policies alone give
    no kms:Encrypt), and `principal` (an `AWS` string or list) may encrypt with it."""
    manage = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": ["kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:DescribeKey"],
        "Resource": "*",
    }
    use = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "kms:Encrypt", "Resource": "*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [manage, use]})


def _user(harness: Harness, name: str, root: dict[str, str] | None = None) -> tuple[str, str, dict[str, str]]:
    """A user allowed kms:Encrypt by its own policy: (ARN, unique id, its access key)."""
    iam = harness.iam(root)
    user = iam.create_user(UserName=name)["User"]
    document = json.dumps({"Version": "2012-10-17", "Statement": ENCRYPT})
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=document)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    keys = {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}
    return user["Arn"], user["UserId"], keys


def _drop_user(harness: Harness, name: str, root: dict[str, str] | None = None) -> None:
    iam = harness.iam(root)
    for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    iam.delete_user_policy(UserName=name, PolicyName="p")
    iam.delete_user(UserName=name)


def _encrypt(harness: Harness, keys: dict[str, str], key_id: str) -> str:
    return str(harness.client("kms", keys).encrypt(KeyId=key_id, Plaintext=b"x")["KeyId"])


def _refused_encrypt(harness: Harness, arn: str, keys: dict[str, str], key_arn: str) -> None:
    """The user is refused kms:Encrypt, as AWS refuses it: no key policy statement allows it."""
    with pytest.raises(ClientError) as refused:
        _encrypt(harness, keys, key_arn)
    assert _refusal(refused.value) == (
        "AccessDeniedException",
        f"User: {arn} is not authorized to perform: kms:Encrypt on resource: {key_arn} "
        "because no resource-based policy allows the kms:Encrypt action",
        400,
    )


def _shown(harness: Harness, key_id: str) -> Any:
    policy = harness.client("kms").get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    return json.loads(policy)["Statement"][1]["Principal"]["AWS"]


def test_a_user_made_again_under_a_deleted_users_name_gets_no_grant_of_a_key_policy(
    harness: Harness,
) -> None:
    kms = harness.client("kms")
    account = harness.server.account_id
    name = f"bob-{uuid.uuid4().hex[:8]}"
    arn, user_id, keys = _user(harness, name)
    key_arn = kms.create_key(Policy=_policy(account, arn))["KeyMetadata"]["Arn"]
    assert _encrypt(harness, keys, key_arn) == key_arn
    _drop_user(harness, name)
    again_arn, _, again = _user(harness, name)
    assert again_arn == arn
    _refused_encrypt(harness, again_arn, again, key_arn)
    assert _shown(harness, key_arn) == user_id
    shown = kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"]
    with pytest.raises(ClientError) as refused:  # KMS refuses a policy naming a deleted principal's id
        kms.put_key_policy(KeyId=key_arn, PolicyName="default", Policy=shown)
    assert _refusal(refused.value) == INVALID
    kms.put_key_policy(KeyId=key_arn, PolicyName="default", Policy=_policy(account, again_arn))
    assert _encrypt(harness, again, key_arn) == key_arn


def test_a_list_of_principals_put_on_a_key_follows_deletes_and_renames(harness: Harness) -> None:
    kms = harness.client("kms")
    account = harness.server.account_id
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]  # the default key policy: nothing to bind
    bob, carol = f"bob-{uuid.uuid4().hex[:8]}", f"carol-{uuid.uuid4().hex[:8]}"
    bob_arn, bob_id, _ = _user(harness, bob)
    carol_arn, _, carol_keys = _user(harness, carol)
    role = f"r-{uuid.uuid4().hex[:8]}"
    trust = {"Effect": "Allow", "Principal": {"AWS": account}, "Action": "sts:AssumeRole"}
    made = harness.iam().create_role(
        RoleName=role, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]})
    )["Role"]
    named = [bob_arn, carol_arn, made["Arn"]]
    kms.put_key_policy(KeyId=key_arn, PolicyName="default", Policy=_policy(account, named))
    _drop_user(harness, bob)
    harness.iam().delete_role(RoleName=role)
    renamed = f"carla-{uuid.uuid4().hex[:8]}"
    harness.iam().update_user(UserName=carol, NewUserName=renamed)
    renamed_arn = carol_arn.replace(carol, renamed)
    assert _shown(harness, key_arn) == [bob_id, renamed_arn, made["RoleId"]]
    assert _encrypt(harness, carol_keys, key_arn) == key_arn  # the renamed user keeps the grant
    again_arn, _, again = _user(harness, bob)
    _refused_encrypt(harness, again_arn, again, key_arn)
    _, _, named_carol = _user(harness, carol)  # a new user under the old name gets nothing either
    _refused_encrypt(harness, carol_arn, named_carol, key_arn)


def test_another_accounts_user_named_in_a_key_policy_is_bound_to_its_unique_id(harness: Harness) -> None:
    other = harness.account()
    name = f"dave-{uuid.uuid4().hex[:8]}"
    arn, user_id, keys = _user(harness, name, other)
    key_arn = harness.client("kms").create_key(Policy=_policy(harness.server.account_id, [arn]))[
        "KeyMetadata"
    ]["Arn"]
    assert _encrypt(harness, keys, key_arn) == key_arn
    _drop_user(harness, name, other)
    again_arn, _, again = _user(harness, name, other)
    _refused_encrypt(harness, again_arn, again, key_arn)
    assert _shown(harness, key_arn) == [user_id]


def test_a_key_policy_naming_a_user_spelled_otherwise_is_refused(harness: Harness) -> None:
    kms = harness.client("kms")
    account = harness.server.account_id
    name = f"erin-{uuid.uuid4().hex[:8]}"
    arn, _, _ = _user(harness, name)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    for spelled in (arn.replace(name, name.upper()), arn.replace("arn:aws:", "arn:AWS:")):
        with pytest.raises(ClientError) as refused:
            kms.create_key(Policy=_policy(account, spelled))
        assert _refusal(refused.value) == INVALID
        with pytest.raises(ClientError) as refused:
            kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=_policy(account, [spelled]))
        assert _refusal(refused.value) == INVALID


def test_a_user_deleted_while_a_key_policy_naming_it_is_saved_is_never_named_by_its_arn(
    harness: Harness,
) -> None:
    kms = harness.client("kms")
    account = harness.server.account_id
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    for _ in range(6):
        arn, saved = saved_while_deleted(
            harness.iam(),
            lambda arn: kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=_policy(account, arn)),
        )
        assert saved in ("saved", "MalformedPolicyDocumentException")
        assert arn not in kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
