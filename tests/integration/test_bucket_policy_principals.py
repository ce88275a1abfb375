"""Users named in S3 bucket policies are bound to their unique ids, as AWS binds them: a user deleted and
made again under its name does not inherit the policy's grant (GetBucketPolicy shows the old unique id,
and S3 refuses that policy saved again); KMS refuses a key policy naming a user that does not exist.
Through boto3 against the real server's gateway over moto, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.gateway_helpers import refusal as _refusal
from tests.integration.gateway_helpers import saved_while_deleted
from tests.integration.test_gateway_ownership import Harness, harness_fixtures

backend, harness = harness_fixtures()


def _grant(bucket: str, *names: str) -> str:
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": list(names)},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _user(harness: Harness, name: str) -> tuple[str, str, dict[str, str]]:
    """A user with no policy of its own: (ARN, unique id, its access key)."""
    iam = harness.iam()
    user = iam.create_user(UserName=name)["User"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return (
        user["Arn"],
        user["UserId"],
        {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]},
    )


def _drop_user(harness: Harness, name: str) -> None:
    iam = harness.iam()
    for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    iam.delete_user(UserName=name)


def _read(harness: Harness, creds: dict[str, str], bucket: str) -> Any:
    return harness.client("s3", creds).get_object(Bucket=bucket, Key="k")["Body"].read()


def test_a_user_made_again_under_a_deleted_users_name_gets_no_grant_of_a_bucket_policy(
    harness: Harness,
) -> None:
    s3 = harness.client("s3")
    bucket = f"np-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"secret")
    name = f"bob-{uuid.uuid4().hex[:8]}"
    arn, user_id, keys = _user(harness, name)
    s3.put_bucket_policy(Bucket=bucket, Policy=_grant(bucket, arn))
    assert _read(harness, keys, bucket) == b"secret"
    _drop_user(harness, name)
    again_arn, _, again = _user(harness, name)
    assert again_arn == arn
    with pytest.raises(ClientError) as denied:
        _read(harness, again, bucket)
    assert _refusal(denied.value)[0] == "AccessDenied"
    shown = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    assert json.loads(shown)["Statement"][0]["Principal"] == {"AWS": [user_id]}
    with pytest.raises(ClientError) as refused:  # S3 refuses a policy naming a deleted principal's id
        s3.put_bucket_policy(Bucket=bucket, Policy=shown)
    assert _refusal(refused.value) == ("MalformedPolicy", "Invalid principal in policy", 400)
    s3.put_bucket_policy(Bucket=bucket, Policy=_grant(bucket, again_arn))
    assert _read(harness, again, bucket) == b"secret"


def test_a_key_policy_naming_a_user_that_does_not_exist_is_refused(harness: Harness) -> None:
    kms = harness.client("kms")
    account = harness.server.account_id
    root = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    missing = dict(root, Principal={"AWS": f"arn:aws:iam::{account}:user/nobody-{uuid.uuid4().hex[:6]}"})
    policy = json.dumps({"Version": "2012-10-17", "Statement": [root, missing]})
    expected = (
        "MalformedPolicyDocumentException",
        "Policy contains a statement with one or more invalid principals.",
        400,
    )
    with pytest.raises(ClientError) as refused:
        kms.create_key(Policy=policy)
    assert _refusal(refused.value) == expected
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as refused:
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=policy)
    assert _refusal(refused.value) == expected
    existing, _, _ = _user(harness, f"k-{uuid.uuid4().hex[:8]}")
    named = dict(root, Principal={"AWS": existing})
    kms.put_key_policy(
        KeyId=key_id,
        PolicyName="default",
        Policy=json.dumps({"Version": "2012-10-17", "Statement": [root, named]}),
    )


def test_a_user_deleted_while_a_bucket_policy_naming_it_is_saved_is_never_named_by_its_arn(
    harness: Harness,
) -> None:
    s3 = harness.client("s3")
    bucket = f"np-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    for _ in range(6):
        arn, saved = saved_while_deleted(
            harness.iam(), lambda arn: s3.put_bucket_policy(Bucket=bucket, Policy=_grant(bucket, arn))
        )
        assert saved in ("saved", "MalformedPolicy")
        try:
            shown = s3.get_bucket_policy(Bucket=bucket)["Policy"]
        except ClientError:
            continue  # no policy saved yet
        assert arn not in shown  # named by its unique id, or not at all
