"""S3 Block Public Access through the gateway, with boto3 over moto: a new bucket's four settings on (as
S3 makes every bucket since April 2023), BlockPublicPolicy refusing a public bucket policy with S3's
text, RestrictPublicBuckets keeping a public policy to the owner's account, BlockPublicAcls refusing a
public ACL; the settings forwarded to the backend and read back at once after each change."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from botocore import UNSIGNED
from botocore.exceptions import ClientError

from tests.integration.gateway_helpers import moto_backend
from tests.integration.gateway_helpers import refused as _refusal
from tests.integration.test_gateway_ownership import Harness, running_harness

ALL_S3 = [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]


def _settings(on: bool, **changed: bool) -> dict[str, bool]:
    names = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    return {**dict.fromkeys(names, on), **changed}


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    for backend in moto_backend(tmp_path_factory):  # one backend, stopped once the harness is done
        yield from running_harness(backend, tmp_path_factory)


@pytest.fixture(scope="module")
def other(harness: Harness) -> dict[str, str]:
    return harness.account()


def _bucket(harness: Harness) -> tuple[Any, str]:
    s3 = harness.client("s3")
    bucket = f"bpa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="hello.txt", Body=b"hello")
    return s3, bucket


def _policy(bucket: str, principal: Any, **more: Any) -> str:
    statement = {
        "Effect": "Allow",
        "Principal": principal,
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
        **more,
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _anonymous(harness: Harness) -> Any:
    return harness.client("s3", signature_version=UNSIGNED)


def test_a_new_bucket_blocks_public_policies_until_its_owner_allows_them(harness: Harness) -> None:
    s3, bucket = _bucket(harness)
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == _settings(True)
    public = _policy(bucket, "*")
    assert _refusal(s3.put_bucket_policy, Bucket=bucket, Policy=public) == (
        "AccessDenied",
        f"User: arn:aws:iam::{harness.server.account_id}:root is not authorized to perform: "
        f's3:PutBucketPolicy on resource: "arn:aws:s3:::{bucket}" because public policies are blocked by '
        "the BlockPublicPolicy block public access setting.",
        403,
    )
    with pytest.raises(ClientError):
        s3.get_bucket_policy(Bucket=bucket)  # nothing was stored
    fixed = _policy(bucket, "*", Condition={"StringEquals": {"aws:SourceAccount": "111122223333"}})
    s3.put_bucket_policy(Bucket=bucket, Policy=fixed)  # not public: a fixed aws:SourceAccount
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=_settings(False))
    s3.put_bucket_policy(Bucket=bucket, Policy=public)
    assert _anonymous(harness).get_object(Bucket=bucket, Key="hello.txt")["Body"].read() == b"hello"
    s3.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration=_settings(False, BlockPublicPolicy=True)
    )
    assert _refusal(s3.put_bucket_policy, Bucket=bucket, Policy=public)[0] == "AccessDenied"  # read afresh


def test_restrict_public_buckets_keeps_a_public_policy_to_the_owners_account(
    harness: Harness, other: dict[str, str]
) -> None:
    s3, bucket = _bucket(harness)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=_settings(False))
    s3.put_bucket_policy(Bucket=bucket, Policy=_policy(bucket, "*"))
    _, stranger = harness.user(ALL_S3, other)
    _, colleague = harness.user(ALL_S3)
    read = {"Bucket": bucket, "Key": "hello.txt"}
    assert harness.client("s3", stranger).get_object(**read)["Body"].read() == b"hello"
    restricted = _settings(False, RestrictPublicBuckets=True)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=restricted)
    assert _refusal(_anonymous(harness).get_object, **read) == ("AccessDenied", "Access Denied", 403)
    code, message, status = _refusal(harness.client("s3", stranger).get_object, **read)
    assert (code, status) == ("AccessDenied", 403)
    assert message.endswith("because no resource-based policy allows the s3:GetObject action")
    assert (
        harness.client("s3", colleague).get_object(**read)["Body"].read() == b"hello"
    )  # the owner's account
    s3.delete_public_access_block(Bucket=bucket)
    assert _anonymous(harness).get_object(**read)["Body"].read() == b"hello"


def test_restrict_public_buckets_leaves_a_non_public_policy_alone(
    harness: Harness, other: dict[str, str]
) -> None:
    s3, bucket = _bucket(harness)
    s3.put_bucket_policy(
        Bucket=bucket, Policy=_policy(bucket, {"AWS": f"arn:aws:iam::{other['AccountId']}:root"})
    )
    _, stranger = harness.user(ALL_S3, other)
    assert (
        harness.client("s3", stranger).get_object(Bucket=bucket, Key="hello.txt")["Body"].read() == b"hello"
    )


def test_block_public_acls_refuses_a_public_acl(harness: Harness) -> None:
    s3, bucket = _bucket(harness)
    assert _refusal(s3.put_object, Bucket=bucket, Key="open.txt", Body=b"x", ACL="public-read") == (
        "AccessDenied",
        "Access Denied",
        403,
    )
    everyone = "uri=http://acs.amazonaws.com/groups/global/AllUsers"
    assert (
        _refusal(s3.put_object_acl, Bucket=bucket, Key="hello.txt", GrantRead=everyone)[0] == "AccessDenied"
    )
    owner = s3.get_bucket_acl(Bucket=bucket)["Owner"]
    grants = [{"Grantee": {"Type": "Group", "URI": everyone[4:]}, "Permission": "READ"}]
    document = {"Owner": owner, "Grants": grants}
    assert _refusal(s3.put_bucket_acl, Bucket=bucket, AccessControlPolicy=document)[0] == "AccessDenied"
    s3.put_object(Bucket=bucket, Key="private.txt", Body=b"x", ACL="private")
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=_settings(False))
    # Still refused: a new bucket's ACLs are disabled too (BucketOwnerEnforced), until they are enabled.
    code = _refusal(s3.put_object, Bucket=bucket, Key="open.txt", Body=b"x", ACL="public-read")[0]
    assert code == "AccessControlListNotSupported"
    writer = {"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=writer)
    s3.put_object(Bucket=bucket, Key="open.txt", Body=b"x", ACL="public-read")


def test_a_buckets_policy_status_is_the_gateways_judgement_of_its_stored_policy(harness: Harness) -> None:
    s3, bucket = _bucket(harness)
    code, _, status = _refusal(s3.get_bucket_policy_status, Bucket=bucket)
    assert (code, status) == ("NoSuchBucketPolicy", 404)
    s3.put_bucket_policy(Bucket=bucket, Policy=_policy(bucket, {"AWS": "111122223333"}))
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"] == {"IsPublic": False}
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=_settings(False))
    s3.put_bucket_policy(Bucket=bucket, Policy=_policy(bucket, "*"))
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"] == {"IsPublic": True}


def _control(harness: Harness, creds: dict[str, str] | None = None) -> Any:
    """An S3 Control client of the gateway whose requests go to the gateway's own host: the SDK names
    the account in the host (`ACCOUNT.127.0.0.1`), which nothing resolves here; taken out before the
    request is signed."""
    client = harness.client("s3control", creds)

    def own_host(request: Any, **_: Any) -> None:
        parts = urlsplit(request.url)
        request.url = urlunsplit(parts._replace(netloc=parts.netloc.split(".", 1)[1]))

    client.meta.events.register("before-sign.s3-control.*", own_host)
    return client


def test_an_accounts_own_settings_hold_for_its_buckets_with_the_buckets(
    harness: Harness, other: dict[str, str]
) -> None:
    """S3 Control's account settings, answered by the gateway: "Amazon S3 uses the most restrictive
    combination of the bucket-level and account-level settings"."""
    control = _control(harness, other)
    account = other["AccountId"]
    code, _, status = _refusal(control.get_public_access_block, AccountId=account)
    assert (code, status) == ("NoSuchPublicAccessBlockConfiguration", 404)
    control.put_public_access_block(
        AccountId=account, PublicAccessBlockConfiguration=_settings(False, BlockPublicPolicy=True)
    )
    got = control.get_public_access_block(AccountId=account)["PublicAccessBlockConfiguration"]
    assert got == _settings(False, BlockPublicPolicy=True)
    s3 = harness.client("s3", other)
    bucket = f"bpa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=_settings(False))
    public = _policy(bucket, "*")
    assert _refusal(s3.put_bucket_policy, Bucket=bucket, Policy=public)[0] == "AccessDenied"  # the account's
    control.delete_public_access_block(AccountId=account)
    s3.put_bucket_policy(Bucket=bucket, Policy=public)
    mine = _control(harness)
    assert _refusal(mine.get_public_access_block, AccountId=account)[:2] == ("AccessDenied", "Access Denied")
    # another account (its root) can neither set nor delete them, and its refused call changes nothing
    on = _settings(True)
    assert _refusal(mine.put_public_access_block, AccountId=account, PublicAccessBlockConfiguration=on)[
        0
    ] == ("AccessDenied")
    assert (
        _refusal(control.get_public_access_block, AccountId=account)[0]
        == "NoSuchPublicAccessBlockConfiguration"
    )
    control.put_public_access_block(AccountId=account, PublicAccessBlockConfiguration=_settings(False))
    assert _refusal(mine.delete_public_access_block, AccountId=account)[0] == "AccessDenied"
    assert control.get_public_access_block(AccountId=account)["PublicAccessBlockConfiguration"] == _settings(
        False
    )
