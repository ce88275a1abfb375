"""Calls that need more than their own action, as AWS asks them: a policy denying the extra action (or on
the extra resource) refuses the call through the gateway. Governance bypass, GetObjectAttributes' pair,
CreateBucket's, PutObject's and retention documents' Object Lock, replication's role, SSE-KMS decrypts
(Select, ListParts, a HeadObject's checksum), UpdateObjectEncryption, CreateKey's tags, UpdateAlias'
current key, UpdatePrimaryRegion's replica, a backup named by ARN, CreateTable's resource policy and
UpdateTable's replicas; versions, grants and ReEncrypt as AWS decides them; and a bucket's default SSE-KMS
key named by an alias is the owner's key, shown back as its alias.

A real `ostiary serve` whose gateway forwards S3, DynamoDB and KMS to moto's server.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.gateway_helpers import refused
from tests.integration.test_gateway_ownership import Harness, harness_fixtures

pytest.importorskip(
    "moto.server", reason="moto's server is the gateway's test backend (pip install moto[server])"
)


backend, harness = harness_fixtures(("sqlite",))


def _denied(harness: Harness, service: str, *actions: str) -> Any:
    """A client of a user allowed everything of S3 and KMS but `actions`."""
    _, keys = harness.user(
        [
            {"Effect": "Allow", "Action": ["s3:*", "kms:*"], "Resource": "*"},
            {"Effect": "Deny", "Action": list(actions), "Resource": "*"},
        ]
    )
    return harness.client(service, keys)


def _bucket(harness: Harness, **kwargs: Any) -> str:
    name = f"required-{uuid.uuid4().hex[:12]}"
    harness.client("s3").create_bucket(Bucket=name, **kwargs)
    return name


def test_a_governance_bypass_needs_bypass_governance_retention(harness: Harness) -> None:
    bucket = _bucket(harness)
    harness.client("s3").put_object(Bucket=bucket, Key="o", Body=b"x")
    s3 = _denied(harness, "s3", "s3:BypassGovernanceRetention")
    code, _, status = refused(s3.delete_object, Bucket=bucket, Key="o", BypassGovernanceRetention=True)
    assert (code, status) == ("AccessDenied", 403)
    objects = {"Objects": [{"Key": "o"}]}
    answer = s3.delete_objects(Bucket=bucket, Delete=objects, BypassGovernanceRetention=True)
    # decided object by object (`multidelete`): the object is refused in the answer, not the call
    assert answer["Errors"] == [{"Key": "o", "Code": "AccessDenied", "Message": "Access Denied"}]
    s3.delete_object(Bucket=bucket, Key="o")  # without the header: s3:DeleteObject alone


def test_get_object_attributes_needs_get_object_as_well(harness: Harness) -> None:
    bucket = _bucket(harness)
    harness.client("s3").put_object(Bucket=bucket, Key="o", Body=b"x")
    s3 = _denied(harness, "s3", "s3:GetObject")
    code, _, status = refused(s3.get_object_attributes, Bucket=bucket, Key="o", ObjectAttributes=["ETag"])
    assert (code, status) == ("AccessDenied", 403)


def test_creating_a_bucket_with_object_lock_needs_its_configuration_and_versioning(harness: Harness) -> None:
    s3 = _denied(harness, "s3", "s3:PutBucketObjectLockConfiguration")
    name = f"required-{uuid.uuid4().hex[:12]}"
    code, _, status = refused(s3.create_bucket, Bucket=name, ObjectLockEnabledForBucket=True)
    assert (code, status) == ("AccessDenied", 403)
    s3 = _denied(harness, "s3", "s3:PutBucketOwnershipControls")
    code, _, status = refused(s3.create_bucket, Bucket=name, ObjectOwnership="ObjectWriter")
    assert (code, status) == ("AccessDenied", 403)
    s3.create_bucket(Bucket=name)  # no header: s3:CreateBucket alone


def test_an_upload_with_a_legal_hold_needs_put_object_legal_hold(harness: Harness) -> None:
    bucket = _bucket(harness, ObjectLockEnabledForBucket=True)
    s3 = _denied(harness, "s3", "s3:PutObjectLegalHold")
    put = {"Bucket": bucket, "Key": "o", "Body": b"x", "ObjectLockLegalHoldStatus": "ON"}
    code, _, status = refused(s3.put_object, **put)
    assert (code, status) == ("AccessDenied", 403)


def test_creating_a_key_with_tags_needs_tag_resource(harness: Harness) -> None:
    kms = _denied(harness, "kms", "kms:TagResource")
    code, _, status = refused(kms.create_key, Tags=[{"TagKey": "team", "TagValue": "a"}])
    assert (code, status) == ("AccessDeniedException", 400)
    kms.create_key()  # untagged: kms:CreateKey alone


@pytest.mark.parametrize("form", ["name", "arn"])
def test_a_bucket_default_key_named_by_an_alias_is_the_owners_key_and_shown_as_its_alias(
    harness: Harness, form: str
) -> None:
    creds = harness.account()
    kms, s3 = harness.client("kms", creds), harness.client("s3", creds)
    key = kms.create_key()["KeyMetadata"]["Arn"]
    alias = f"alias/default-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=key)
    named = alias if form == "name" else f"arn:aws:kms:us-east-1:{creds['AccountId']}:{alias}"
    bucket = f"required-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": named}}
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [rule]})
    shown = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert shown["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == named
    put = s3.put_object(Bucket=bucket, Key="o", Body=b"secret")
    # the key by its id: S3's answers name it in the backend's account (README, "What is partial")
    key_id = key.rsplit("/", 1)[1]
    assert put["ServerSideEncryption"] == "aws:kms" and put["SSEKMSKeyId"].endswith(f":key/{key_id}")
    assert s3.head_object(Bucket=bucket, Key="o")["SSEKMSKeyId"].endswith(f":key/{key_id}")
    assert s3.get_object(Bucket=bucket, Key="o")["Body"].read() == b"secret"


def test_a_backup_named_by_its_arn_is_decided_on_that_arn(harness: Harness) -> None:
    dynamodb = harness.client("dynamodb")
    table = f"required-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    backup = dynamodb.create_backup(TableName=table, BackupName="bkp")["BackupDetails"]["BackupArn"]
    _, keys = harness.user(
        [
            {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "dynamodb:DeleteBackup", "Resource": backup},
        ]
    )
    code, _, status = refused(harness.client("dynamodb", keys).delete_backup, BackupArn=backup)
    assert (code, status) == ("AccessDeniedException", 400)
    dynamodb.describe_backup(BackupArn=backup)  # still there


def test_replication_passes_its_role_and_needs_pass_role(harness: Harness) -> None:
    bucket = _bucket(harness)
    harness.client("s3").put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    role = harness.iam().create_role(
        RoleName=f"replication-{uuid.uuid4().hex[:8]}",
        AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
        '"Principal":{"Service":"s3.amazonaws.com"},"Action":"sts:AssumeRole"}]}',
    )["Role"]["Arn"]
    rule = {
        "ID": "r",
        "Priority": 1,
        "Filter": {"Prefix": ""},
        "Status": "Enabled",
        "DeleteMarkerReplication": {"Status": "Disabled"},
        "Destination": {"Bucket": f"arn:aws:s3:::{bucket}"},
    }
    configuration = {"Role": role, "Rules": [rule]}
    s3 = _denied(harness, "s3", "iam:PassRole")
    code, _, status = refused(
        s3.put_bucket_replication, Bucket=bucket, ReplicationConfiguration=configuration
    )
    assert (code, status) == ("AccessDenied", 403)


def test_selecting_from_an_sse_kms_object_needs_decrypt_on_its_key(harness: Harness) -> None:
    bucket = _bucket(harness)
    key = harness.client("kms").create_key()["KeyMetadata"]["Arn"]
    harness.client("s3").put_object(
        Bucket=bucket, Key="o.csv", Body=b"a,b\n1,2\n", ServerSideEncryption="aws:kms", SSEKMSKeyId=key
    )
    s3 = _denied(harness, "s3", "kms:Decrypt")
    code, _, status = refused(
        s3.select_object_content,
        Bucket=bucket,
        Key="o.csv",
        Expression="SELECT * FROM S3Object",
        ExpressionType="SQL",
        InputSerialization={"CSV": {"FileHeaderInfo": "USE"}},
        OutputSerialization={"CSV": {}},
    )
    assert (code, status) == ("AccessDenied", 403)


def test_listing_the_parts_of_an_sse_kms_upload_needs_decrypt_on_its_key(harness: Harness) -> None:
    bucket = _bucket(harness)
    key = harness.client("kms").create_key()["KeyMetadata"]["Arn"]
    upload = harness.client("s3").create_multipart_upload(
        Bucket=bucket, Key="o", ServerSideEncryption="aws:kms", SSEKMSKeyId=key
    )["UploadId"]
    s3 = _denied(harness, "s3", "kms:Decrypt")
    code, _, status = refused(s3.list_parts, Bucket=bucket, Key="o", UploadId=upload)
    assert (code, status) == ("AccessDenied", 403)


def test_creating_a_table_with_a_resource_policy_needs_put_resource_policy(harness: Harness) -> None:
    _, keys = harness.user(
        [
            {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "dynamodb:PutResourcePolicy", "Resource": "*"},
        ]
    )
    dynamodb = harness.client("dynamodb", keys)
    table = {
        "TableName": f"required-{uuid.uuid4().hex[:8]}",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    policy = '{"Version":"2012-10-17","Statement":[]}'
    code, _, status = refused(dynamodb.create_table, **table, ResourcePolicy=policy)
    assert (code, status) == ("AccessDeniedException", 400)
    dynamodb.create_table(**table)  # without a policy: dynamodb:CreateTable alone


def test_a_checksum_of_an_sse_kms_object_needs_decrypt_on_its_key(harness: Harness) -> None:
    bucket = _bucket(harness)
    key = harness.client("kms").create_key()["KeyMetadata"]["Arn"]
    harness.client("s3").put_object(
        Bucket=bucket,
        Key="o",
        Body=b"x",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=key,
        ChecksumAlgorithm="SHA256",
    )
    s3 = _denied(harness, "s3", "kms:Decrypt")
    code, _, status = refused(s3.head_object, Bucket=bucket, Key="o", ChecksumMode="ENABLED")
    assert (code, status) == ("403", 403)
    s3.head_object(Bucket=bucket, Key="o")  # no checksum asked: no plaintext's digest told


def test_changing_an_objects_encryption_needs_put_object_and_the_new_keys_use(harness: Harness) -> None:
    bucket = _bucket(harness)
    harness.client("s3").put_object(Bucket=bucket, Key="o", Body=b"x")
    key = harness.client("kms").create_key()["KeyMetadata"]["Arn"]
    change = {"Bucket": bucket, "Key": "o", "ObjectEncryption": {"SSEKMS": {"KMSKeyArn": key}}}
    for denied in ("s3:PutObject", "kms:GenerateDataKey"):
        s3 = _denied(harness, "s3", denied)
        code, _, status = refused(s3.update_object_encryption, **change)
        assert (code, status) == ("AccessDenied", 403), denied


def test_a_retention_documents_object_lock_keys_are_decided(harness: Harness) -> None:
    bucket = _bucket(harness, ObjectLockEnabledForBucket=True)
    harness.client("s3").put_object(Bucket=bucket, Key="o", Body=b"x")
    _, keys = harness.user(
        [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": "s3:PutObjectRetention",
                "Resource": "*",
                "Condition": {"StringEquals": {"s3:object-lock-mode": "COMPLIANCE"}},
            },
            {
                "Effect": "Deny",
                "Action": "s3:PutObjectRetention",
                "Resource": "*",
                "Condition": {"NumericGreaterThan": {"s3:object-lock-remaining-retention-days": "30"}},
            },
            {
                "Effect": "Deny",
                "Action": "s3:PutObjectLegalHold",
                "Resource": "*",
                "Condition": {"StringEquals": {"s3:object-lock-legal-hold": "ON"}},
            },
        ]
    )
    s3 = harness.client("s3", keys)
    soon = datetime.now(UTC) + timedelta(days=5)
    later = datetime.now(UTC) + timedelta(days=365)
    for retention in (
        {"Mode": "COMPLIANCE", "RetainUntilDate": soon},
        {"Mode": "GOVERNANCE", "RetainUntilDate": later},
    ):
        code, _, status = refused(s3.put_object_retention, Bucket=bucket, Key="o", Retention=retention)
        assert (code, status) == ("AccessDenied", 403), retention
    code, _, status = refused(s3.put_object_legal_hold, Bucket=bucket, Key="o", LegalHold={"Status": "ON"})
    assert (code, status) == ("AccessDenied", 403)
    s3.put_object_retention(Bucket=bucket, Key="o", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": soon})


def test_adding_a_replica_needs_create_table_replica_in_its_region(harness: Harness) -> None:
    _, keys = harness.user(
        [
            {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "dynamodb:CreateTableReplica", "Resource": "*"},
        ]
    )
    dynamodb = harness.client("dynamodb", keys)
    table = f"required-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    replica = [{"Create": {"RegionName": "eu-west-1"}}]
    code, _, status = refused(dynamodb.update_table, TableName=table, ReplicaUpdates=replica)
    assert (code, status) == ("AccessDeniedException", 400)


def test_repointing_an_alias_needs_update_alias_on_its_current_key(harness: Harness) -> None:
    kms = harness.client("kms")
    current, new = (kms.create_key()["KeyMetadata"]["Arn"] for _ in range(2))
    alias = f"alias/required-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=current)
    _, keys = harness.user(
        [
            {"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "kms:UpdateAlias", "Resource": current},
        ]
    )
    code, _, status = refused(harness.client("kms", keys).update_alias, AliasName=alias, TargetKeyId=new)
    assert (code, status) == ("AccessDeniedException", 400)
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["Arn"] == current


def test_moving_a_primary_key_needs_update_primary_region_on_the_replica(harness: Harness) -> None:
    primary = harness.client("kms").create_key(MultiRegion=True)["KeyMetadata"]
    replica = primary["Arn"].replace(":us-east-1:", ":eu-west-1:")
    _, keys = harness.user(
        [
            {"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "kms:UpdatePrimaryRegion", "Resource": replica},
        ]
    )
    kms = harness.client("kms", keys)
    move = {"KeyId": primary["Arn"], "PrimaryRegion": "eu-west-1"}
    code, _, status = refused(kms.update_primary_region, **move)
    assert (code, status) == ("AccessDeniedException", 400)


def test_a_grant_is_decided_on_its_operations_and_grantee(harness: Harness) -> None:
    key = harness.client("kms").create_key()["KeyMetadata"]["Arn"]
    grantee = "arn:aws:iam::123456789012:role/grantee"
    _, keys = harness.user(
        [
            {"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": "kms:CreateGrant",
                "Resource": "*",
                "Condition": {"ForAnyValue:StringEquals": {"kms:GrantOperations": "Decrypt"}},
            },
            {
                "Effect": "Deny",
                "Action": "kms:CreateGrant",
                "Resource": "*",
                "Condition": {"StringLike": {"kms:GranteePrincipal": "*:role/outsider"}},
            },
        ]
    )
    kms = harness.client("kms", keys)
    for operations, principal in (
        (["Encrypt", "Decrypt"], grantee),
        (["Encrypt"], grantee[:-7] + "outsider"),
    ):
        grant = {"KeyId": key, "GranteePrincipal": principal, "Operations": operations}
        code, _, status = refused(kms.create_grant, **grant)
        assert (code, status) == ("AccessDeniedException", 400), grant
    kms.create_grant(KeyId=key, GranteePrincipal=grantee, Operations=["Encrypt"])


def test_re_encrypt_needs_from_on_the_source_key_and_to_on_the_destination(harness: Harness) -> None:
    admin = harness.client("kms")
    source, destination = (admin.create_key()["KeyMetadata"]["Arn"] for _ in range(2))
    blob = admin.encrypt(KeyId=source, Plaintext=b"x")["CiphertextBlob"]
    for action, denied in (("kms:ReEncryptFrom", source), ("kms:ReEncryptTo", destination)):
        _, keys = harness.user(
            [
                {"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
                {"Effect": "Deny", "Action": action, "Resource": denied},
            ]
        )
        kms = harness.client("kms", keys)
        code, _, status = refused(kms.re_encrypt, CiphertextBlob=blob, DestinationKeyId=destination)
        assert (code, status) == ("AccessDeniedException", 400), action


def test_a_version_named_by_its_id_needs_the_version_actions(harness: Harness) -> None:
    bucket = _bucket(harness)
    admin = harness.client("s3")
    admin.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    version = admin.put_object(Bucket=bucket, Key="o", Body=b"old")["VersionId"]
    admin.put_object(Bucket=bucket, Key="o", Body=b"new")
    s3 = _denied(
        harness,
        "s3",
        "s3:GetObjectVersion",
        "s3:DeleteObjectVersion",
        "s3:GetObjectVersionTagging",
        "s3:PutObjectVersionTagging",
        "s3:GetObjectVersionAcl",
    )
    one = {"Bucket": bucket, "Key": "o", "VersionId": version}
    calls: list[tuple[Any, dict[str, Any]]] = [
        (s3.get_object, one),
        (s3.head_object, one),
        (s3.get_object_tagging, one),
        (s3.put_object_tagging, {**one, "Tagging": {"TagSet": []}}),
        (s3.get_object_acl, one),
        (s3.copy_object, {"Bucket": bucket, "Key": "copy", "CopySource": one}),
        (s3.delete_object, one),
    ]
    for call, kwargs in calls:
        code, _, status = refused(call, **kwargs)
        assert status == 403 and code in ("AccessDenied", "403"), call
    deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "o", "VersionId": version}]})
    assert [(e["Key"], e["VersionId"], e["Code"]) for e in deleted["Errors"]] == [
        ("o", version, "AccessDenied")
    ]
    assert s3.get_object(Bucket=bucket, Key="o")["Body"].read() == b"new"  # the latest: s3:GetObject
    assert admin.get_object(**one)["Body"].read() == b"old"
