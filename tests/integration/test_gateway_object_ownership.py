"""S3 Object Ownership through the gateway: a bucket created without an ownership setting has ACLs
disabled (BucketOwnerEnforced, S3's default since April 2023), so a write that sets an ACL other than
the owner's full control is refused with S3's AccessControlListNotSupported and never reaches the
backend, and CreateBucket with such an ACL and no ObjectOwnership is refused with
InvalidBucketAclWithObjectOwnership. moto keeps the setting but enforces none of it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.gateway_helpers import backend_client, moto_backend
from tests.integration.gateway_helpers import refused as _refusal
from tests.integration.test_gateway_ownership import Harness, running_harness

pytest.importorskip(
    "moto.server", reason="moto's server is the gateway's test backend (pip install moto[server])"
)

NOT_SUPPORTED = ("AccessControlListNotSupported", "The bucket does not allow ACLs", 400)
WITH_OWNERSHIP = (
    "InvalidBucketAclWithObjectOwnership",
    "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
    400,
)
OTHER_ID = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"  # a canonical user id


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    for backend in moto_backend(tmp_path_factory):  # one backend, stopped once the harness is done
        yield from running_harness(backend, tmp_path_factory)


def _name() -> str:
    return f"own-{uuid.uuid4().hex[:12]}"


def _bucket(harness: Harness, **create: Any) -> tuple[Any, str]:
    s3 = harness.client("s3")
    bucket = _name()
    s3.create_bucket(Bucket=bucket, **create)
    return s3, bucket


def _ownership(s3: Any, bucket: str) -> str:
    return str(
        s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"][0]["ObjectOwnership"]
    )


def _set_ownership(s3: Any, bucket: str, ownership: str) -> None:
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": ownership}]}
    )


def _backend_keys(harness: Harness, bucket: str) -> list[str]:
    listed = backend_client(harness.backend, "s3").list_objects_v2(Bucket=bucket)
    return [o["Key"] for o in listed.get("Contents", [])]


def test_a_new_bucket_has_acls_disabled_as_s3_makes_it(harness: Harness) -> None:
    s3, bucket = _bucket(harness)
    assert _ownership(s3, bucket) == "BucketOwnerEnforced"
    assert _ownership(backend_client(harness.backend, "s3"), bucket) == "BucketOwnerEnforced"
    _, chosen = _bucket(harness, ObjectOwnership="ObjectWriter")
    assert _ownership(s3, chosen) == "ObjectWriter"


@pytest.mark.parametrize(
    "acl",
    [
        {"ACL": "bucket-owner-read"},
        {"ACL": "aws-exec-read"},
        {"ACL": "Bucket-Owner-Read"},
        {"GrantRead": f"id={OTHER_ID}"},
        {"GrantFullControl": f"id={OTHER_ID}"},
        {"ACL": "bucket-owner-full-control", "GrantRead": f"id={OTHER_ID}"},
    ],
)
def test_an_upload_setting_an_acl_is_refused_and_never_lands(harness: Harness, acl: dict[str, str]) -> None:
    s3, bucket = _bucket(harness)
    assert _refusal(s3.put_object, Bucket=bucket, Key="a.txt", Body=b"x", **acl) == NOT_SUPPORTED
    assert _refusal(s3.create_multipart_upload, Bucket=bucket, Key="m.bin", **acl) == NOT_SUPPORTED
    s3.put_object(Bucket=bucket, Key="source.txt", Body=b"x")
    source = {"Bucket": bucket, "Key": "source.txt"}
    assert _refusal(s3.copy_object, Bucket=bucket, Key="c.txt", CopySource=source, **acl) == NOT_SUPPORTED
    assert _backend_keys(harness, bucket) == ["source.txt"]
    uploads = backend_client(harness.backend, "s3").list_multipart_uploads(Bucket=bucket)
    assert not uploads.get("Uploads")


def test_the_owners_full_control_or_no_acl_is_taken(harness: Harness) -> None:
    s3, bucket = _bucket(harness, ACL="private")  # the default ACL beside ACLs disabled
    assert _ownership(s3, bucket) == "BucketOwnerEnforced"
    s3.put_object(Bucket=bucket, Key="plain.txt", Body=b"x")
    s3.put_object(Bucket=bucket, Key="owner.txt", Body=b"x", ACL="bucket-owner-full-control")
    s3.put_object(Bucket=bucket, Key="private.txt", Body=b"x", ACL="private")
    s3.put_object_acl(Bucket=bucket, Key="plain.txt", ACL="bucket-owner-full-control")
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    assert sorted(_backend_keys(harness, bucket)) == ["owner.txt", "plain.txt", "private.txt"]
    acl = s3.get_object_acl(Bucket=bucket, Key="plain.txt")  # reading ACLs is still supported
    owner = acl["Owner"]
    document = {
        "Owner": owner,
        "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]}, "Permission": "FULL_CONTROL"}],
    }
    s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy=document)
    s3.put_object_acl(Bucket=bucket, Key="plain.txt", AccessControlPolicy=document)


def test_an_acl_call_granting_anyone_but_the_owner_is_refused(harness: Harness) -> None:
    s3, bucket = _bucket(harness)
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"x")
    before_bucket = s3.get_bucket_acl(Bucket=bucket)["Grants"]
    before_object = s3.get_object_acl(Bucket=bucket, Key="a.txt")["Grants"]
    owner = s3.get_bucket_acl(Bucket=bucket)["Owner"]
    full = {"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]}, "Permission": "FULL_CONTROL"}
    documents = [
        [full, {"Grantee": {"Type": "CanonicalUser", "ID": OTHER_ID}, "Permission": "READ"}],
        [{"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]}, "Permission": "READ"}],
        [{"Grantee": {"Type": "CanonicalUser", "ID": OTHER_ID}, "Permission": "FULL_CONTROL"}],
        [
            full,
            {
                "Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/s3/LogDelivery"},
                "Permission": "WRITE",
            },
        ],
        [
            full,
            {
                "Grantee": {"Type": "AmazonCustomerByEmail", "EmailAddress": "x@example.com"},
                "Permission": "READ",
            },
        ],
    ]
    for grants in documents:
        document = {"Owner": owner, "Grants": grants}
        assert _refusal(s3.put_bucket_acl, Bucket=bucket, AccessControlPolicy=document) == NOT_SUPPORTED
        assert (
            _refusal(s3.put_object_acl, Bucket=bucket, Key="a.txt", AccessControlPolicy=document)
            == NOT_SUPPORTED
        )
    assert _refusal(s3.put_bucket_acl, Bucket=bucket, ACL="log-delivery-write") == NOT_SUPPORTED
    assert (
        _refusal(s3.put_object_acl, Bucket=bucket, Key="a.txt", GrantRead=f"id={OTHER_ID}") == NOT_SUPPORTED
    )
    backend = backend_client(harness.backend, "s3")
    assert backend.get_bucket_acl(Bucket=bucket)["Grants"] == before_bucket
    assert backend.get_object_acl(Bucket=bucket, Key="a.txt")["Grants"] == before_object


@pytest.mark.parametrize("ownership", [None, "BucketOwnerEnforced"])
@pytest.mark.parametrize(
    "acl", [{"ACL": "public-read"}, {"ACL": "log-delivery-write"}, {"GrantRead": f"id={OTHER_ID}"}]
)
def test_creating_a_bucket_with_an_acl_and_acls_disabled_is_refused(
    harness: Harness, ownership: str | None, acl: dict[str, str]
) -> None:
    bucket = _name()
    create = {**acl, **({"ObjectOwnership": ownership} if ownership else {})}
    assert _refusal(harness.client("s3").create_bucket, Bucket=bucket, **create) == WITH_OWNERSHIP
    names = [b["Name"] for b in backend_client(harness.backend, "s3").list_buckets()["Buckets"]]
    assert bucket not in names


def test_acls_enabled_at_creation_or_later_are_taken_and_disabled_again(harness: Harness) -> None:
    s3, bucket = _bucket(harness, ACL="log-delivery-write", ObjectOwnership="ObjectWriter")
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"x", ACL="bucket-owner-read")
    s3, enforced = _bucket(harness)
    assert _refusal(s3.put_object_acl, Bucket=enforced, Key="a.txt", ACL="bucket-owner-read") == NOT_SUPPORTED
    _set_ownership(s3, enforced, "BucketOwnerPreferred")  # the kept setting is dropped at once
    s3.put_object(Bucket=enforced, Key="a.txt", Body=b"x", ACL="bucket-owner-read")
    _set_ownership(s3, enforced, "BucketOwnerEnforced")
    assert _refusal(s3.put_object_acl, Bucket=enforced, Key="a.txt", ACL="bucket-owner-read") == NOT_SUPPORTED
    s3.delete_bucket_ownership_controls(Bucket=enforced)  # no setting: ACLs enabled (ObjectWriter)
    s3.put_object_acl(Bucket=enforced, Key="a.txt", ACL="bucket-owner-read")


def test_acls_cannot_be_disabled_while_the_bucket_acl_grants_others(harness: Harness) -> None:
    s3, bucket = _bucket(harness, ACL="log-delivery-write", ObjectOwnership="ObjectWriter")
    assert _refusal(_set_ownership, s3=s3, bucket=bucket, ownership="BucketOwnerEnforced") == WITH_OWNERSHIP
    assert _ownership(s3, bucket) == "ObjectWriter"
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    _set_ownership(s3, bucket, "BucketOwnerEnforced")
    assert _refusal(s3.put_bucket_acl, Bucket=bucket, ACL="log-delivery-write") == NOT_SUPPORTED


def test_a_bucket_made_on_the_backend_directly_keeps_acls_enabled(harness: Harness) -> None:
    bucket = _name()
    backend_client(harness.backend, "s3").create_bucket(Bucket=bucket)
    harness.client("s3").put_object(Bucket=bucket, Key="a.txt", Body=b"x", ACL="bucket-owner-read")
    assert _backend_keys(harness, bucket) == ["a.txt"]
