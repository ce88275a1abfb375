"""What each operation needs in policy terms: AWS's actions, resource ARNs and request keys, asserted
exactly for the operations that matter, and checked against AWS's reference for every operation of
the S3, DynamoDB and KMS models."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest

from ostiary.gateway import dynamodb_keys, dynamodb_refusals, mapping
from ostiary.gateway.operations import Operation, identify
from ostiary.gateway.permissions import Facts, Permission, permissions_of
from tests.unit.gateway.botocore_requests import built_request, sample_input

ACCOUNT = "123456789012"
KEY = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY}"
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Music"
_SCHEMAS = {("Music", None): ("Artist", "SongTitle"), ("Music", "ByGenre"): ("Genre", "Year")}
FACTS = Facts(
    account=ACCOUNT,
    region="us-east-1",
    caller_account="111122223333",
    key_schema=lambda table, index: _SCHEMAS.get((table, index)),
    resolve_alias=lambda account, alias: KEY if alias == "alias/app" else None,
)


def _needs(
    service: str, operation: str, params: dict[str, Any], facts: Facts = FACTS
) -> list[tuple[Any, ...]]:
    found = permissions_of(Operation(service, operation, params), facts)
    return [(p.action, p.resource, p.context) for p in found]


def _wire(service: str, operation: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The permissions of a call as botocore sends it: identified from the wire, then mapped."""
    found = identify(service, built_request(service, operation, params))
    assert isinstance(found, Operation), found
    return [(p.action, p.resource, p.context) for p in permissions_of(found, FACTS)]


# -- S3 ----------------------------------------------------------------------------------------------


def test_list_objects_v2_is_list_bucket_on_the_bucket_with_its_list_keys() -> None:
    params = {"Bucket": "photos", "Prefix": "2026/", "Delimiter": "/", "MaxKeys": 50}
    assert _wire("s3", "ListObjectsV2", params) == [
        (
            "s3:ListBucket",
            "arn:aws:s3:::photos",
            {"s3:prefix": "2026/", "s3:delimiter": "/", "s3:max-keys": "50"},
        )
    ]


def test_head_object_is_get_object_and_with_a_version_get_object_version() -> None:
    assert _wire("s3", "HeadObject", {"Bucket": "b", "Key": "a/b.txt"}) == [
        ("s3:GetObject", "arn:aws:s3:::b/a/b.txt", {})
    ]
    assert _wire("s3", "HeadObject", {"Bucket": "b", "Key": "k", "VersionId": "v1"}) == [
        ("s3:GetObjectVersion", "arn:aws:s3:::b/k", {"s3:versionid": "v1"})
    ]


def test_copy_object_needs_get_object_on_the_source_and_put_object_on_the_target() -> None:
    found = _wire(
        "s3", "CopyObject", {"Bucket": "dst", "Key": "new.txt", "CopySource": "src/dir/old file.txt"}
    )
    assert [(a, r) for a, r, _ in found] == [
        ("s3:GetObject", "arn:aws:s3:::src/dir/old file.txt"),
        ("s3:PutObject", "arn:aws:s3:::dst/new.txt"),
    ]
    assert found[1][2]["s3:x-amz-copy-source"].startswith("src/dir/old")


@pytest.mark.parametrize(
    ("stored", "decrypts"), [(("aws:kms", KEY_ARN), True), (("AES256", None), False), (None, False)]
)
def test_a_copy_of_an_sse_kms_object_needs_decrypt_via_s3_on_its_key(
    stored: tuple[str, str | None] | None, decrypts: bool
) -> None:
    asked: list[tuple[str, str, str | None]] = []

    def object_encryption(bucket: str, key: str, version: str | None) -> tuple[str, str | None] | None:
        asked.append((bucket, key, version))
        return stored

    facts = Facts(
        account=ACCOUNT, region="us-east-1", caller_account=ACCOUNT, object_encryption=object_encryption
    )
    params = {"Bucket": "dst", "Key": "new.txt", "CopySource": "src/sealed.txt?versionId=v2"}
    found = permissions_of(Operation("s3", "CopyObject", params), facts)
    assert asked == [("src", "sealed.txt", "v2")]
    decrypt = [p for p in found if p.action == "kms:Decrypt"]
    assert bool(decrypt) is decrypts
    if decrypts:
        assert decrypt[0].resource == KEY_ARN
        assert decrypt[0].context["kms:ViaService"] == "s3.us-east-1.amazonaws.com"
        assert decrypt[0].context["kms:EncryptionContext:aws:s3:arn"] == "arn:aws:s3:::src/sealed.txt"


def test_copy_of_a_version_with_an_acl_needs_the_version_and_put_object_acl() -> None:
    params = {"Bucket": "dst", "Key": "k", "CopySource": {"Bucket": "src", "Key": "k", "VersionId": "v9"}}
    found = _wire("s3", "CopyObject", {**params, "ACL": "bucket-owner-full-control"})
    assert [(a, r) for a, r, _ in found] == [
        ("s3:GetObjectVersion", "arn:aws:s3:::src/k"),
        ("s3:PutObject", "arn:aws:s3:::dst/k"),
        ("s3:PutObjectAcl", "arn:aws:s3:::dst/k"),
    ]
    assert found[0][2] == {"s3:versionid": "v9"}
    assert found[1][2]["s3:x-amz-acl"] == "bucket-owner-full-control"


@pytest.mark.parametrize(
    ("operation", "params", "action"),
    [
        ("CreateMultipartUpload", {}, "s3:PutObject"),
        ("UploadPart", {"UploadId": "u", "PartNumber": 1, "Body": b"x"}, "s3:PutObject"),
        ("CompleteMultipartUpload", {"UploadId": "u"}, "s3:PutObject"),
        ("AbortMultipartUpload", {"UploadId": "u"}, "s3:AbortMultipartUpload"),
        ("ListParts", {"UploadId": "u"}, "s3:ListMultipartUploadParts"),
    ],
)
def test_multipart_uploads_need_aws_actions_on_the_object(
    operation: str, params: dict[str, Any], action: str
) -> None:
    assert _wire("s3", operation, {"Bucket": "b", "Key": "big.bin", **params}) == [
        (action, "arn:aws:s3:::b/big.bin", {})
    ]


def test_upload_part_copy_reads_the_source_and_writes_the_target() -> None:
    params = {"Bucket": "b", "Key": "k", "UploadId": "u", "PartNumber": 1, "CopySource": "src/part.bin"}
    assert [(a, r) for a, r, _ in _wire("s3", "UploadPartCopy", params)] == [
        ("s3:GetObject", "arn:aws:s3:::src/part.bin"),
        ("s3:PutObject", "arn:aws:s3:::b/k"),
    ]


@pytest.mark.parametrize(
    ("operation", "action"),
    [
        ("GetBucketPolicy", "s3:GetBucketPolicy"),
        ("DeleteBucketPolicy", "s3:DeleteBucketPolicy"),
        ("GetBucketAcl", "s3:GetBucketAcl"),
        ("GetBucketTagging", "s3:GetBucketTagging"),
        ("DeleteBucketTagging", "s3:PutBucketTagging"),
        ("GetBucketCors", "s3:GetBucketCORS"),
        ("DeleteBucketCors", "s3:PutBucketCORS"),
        ("GetBucketLifecycleConfiguration", "s3:GetLifecycleConfiguration"),
        ("GetBucketEncryption", "s3:GetEncryptionConfiguration"),
        ("GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock"),
        ("ListMultipartUploads", "s3:ListBucketMultipartUploads"),
        ("ListObjectVersions", "s3:ListBucketVersions"),
        ("HeadBucket", "s3:ListBucket"),
        ("DeleteBucket", "s3:DeleteBucket"),
        ("GetBucketVersioning", "s3:GetBucketVersioning"),
        ("GetBucketLocation", "s3:GetBucketLocation"),
    ],
)
def test_bucket_operations_need_their_action_on_the_bucket(operation: str, action: str) -> None:
    assert _wire("s3", operation, {"Bucket": "photos"}) == [(action, "arn:aws:s3:::photos", {})]


def test_put_bucket_policy_is_asked_on_the_bucket() -> None:
    assert _wire("s3", "PutBucketPolicy", {"Bucket": "photos", "Policy": "{}"}) == [
        ("s3:PutBucketPolicy", "arn:aws:s3:::photos", {})
    ]


def test_list_buckets_is_list_all_my_buckets_on_everything() -> None:
    assert _wire("s3", "ListBuckets", {}) == [("s3:ListAllMyBuckets", "*", {})]


def test_put_object_with_tags_and_sse_kms_carries_their_keys_and_needs_tagging() -> None:
    params = {
        "Bucket": "b",
        "Key": "k",
        "Body": b"x",
        "Tagging": "team=data&tier=gold",
        "ServerSideEncryption": "aws:kms",
        "SSEKMSKeyId": KEY_ARN,
        "StorageClass": "STANDARD_IA",
    }
    found = _wire("s3", "PutObject", params)
    assert [(a, r) for a, r, _ in found] == [
        ("s3:PutObject", "arn:aws:s3:::b/k"),
        ("s3:PutObjectTagging", "arn:aws:s3:::b/k"),
        ("kms:GenerateDataKey", KEY_ARN),  # S3 encrypting for the caller (tests/unit/test_gateway_acting.py)
    ]
    assert found[0][2] == {
        "s3:x-amz-server-side-encryption": "aws:kms",
        "s3:x-amz-server-side-encryption-aws-kms-key-id": KEY_ARN,
        "s3:x-amz-storage-class": "STANDARD_IA",
        "s3:RequestObjectTag/team": "data",
        "s3:RequestObjectTag/tier": "gold",
        "s3:RequestObjectTagKeys": ["team", "tier"],
    }


def test_delete_objects_needs_delete_object_on_every_key_it_lists() -> None:
    delete = {"Objects": [{"Key": "a.txt"}, {"Key": "old.txt", "VersionId": "v3"}]}
    assert _wire("s3", "DeleteObjects", {"Bucket": "b", "Delete": delete}) == [
        ("s3:DeleteObject", "arn:aws:s3:::b/a.txt", {}),
        ("s3:DeleteObjectVersion", "arn:aws:s3:::b/old.txt", {"s3:versionid": "v3"}),
    ]


def test_a_versioned_object_action_is_its_version_twin() -> None:
    assert _needs("s3", "DeleteObject", {"Bucket": "b", "Key": "k", "VersionId": "v"}) == [
        ("s3:DeleteObjectVersion", "arn:aws:s3:::b/k", {"s3:versionid": "v"})
    ]
    assert _needs("s3", "GetObjectTagging", {"Bucket": "b", "Key": "k", "VersionId": "v"})[0][0] == (
        "s3:GetObjectVersionTagging"
    )


def test_create_bucket_carries_its_location_constraint_and_its_acl_needs_put_bucket_acl() -> None:
    params = {
        "Bucket": "b",
        "ACL": "private",
        "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"},
    }
    assert _wire("s3", "CreateBucket", params) == [
        (
            "s3:CreateBucket",
            "arn:aws:s3:::b",
            {"s3:x-amz-acl": "private", "s3:locationconstraint": "eu-west-1"},
        ),
        ("s3:PutBucketAcl", "arn:aws:s3:::b", {"s3:x-amz-acl": "private"}),
    ]


def test_a_directory_bucket_is_asked_with_s3express_actions() -> None:
    assert _needs("s3", "GetBucketEncryption", {"Bucket": "logs--use1-az4--x-s3"})[0][0] == (
        "s3express:GetEncryptionConfiguration"
    )


# -- DynamoDB ----------------------------------------------------------------------------------------


def test_get_item_is_asked_on_the_table_with_leading_keys_and_projected_attributes() -> None:
    params = {
        "TableName": "Music",
        "Key": {"Artist": {"S": "Acme Band"}, "SongTitle": {"S": "Happy Day"}},
        "ProjectionExpression": "#y, Genre, Tracks[0].Name",
        "ExpressionAttributeNames": {"#y": "Year"},
    }
    assert _wire("dynamodb", "GetItem", params) == [
        (
            "dynamodb:GetItem",
            TABLE,
            {
                "dynamodb:LeadingKeys": ["Acme Band"],
                "dynamodb:Attributes": ["Year", "Genre", "Tracks"],
                "dynamodb:Select": "SPECIFIC_ATTRIBUTES",
            },
        )
    ]


def test_put_item_carries_its_attributes_and_return_values() -> None:
    item = {"Artist": {"S": "Acme"}, "SongTitle": {"S": "Hi"}, "Plays": {"N": "3"}}
    params = {
        "TableName": "Music",
        "Item": item,
        "ReturnValues": "ALL_OLD",
        "ReturnConsumedCapacity": "TOTAL",
    }
    assert _wire("dynamodb", "PutItem", params) == [
        (
            "dynamodb:PutItem",
            TABLE,
            {
                "dynamodb:ReturnValues": "ALL_OLD",
                "dynamodb:ReturnConsumedCapacity": "TOTAL",
                "dynamodb:LeadingKeys": ["Acme"],
                "dynamodb:Attributes": ["Artist", "SongTitle", "Plays"],
            },
        )
    ]


def test_update_item_names_every_attribute_its_expression_writes() -> None:
    params = {
        "TableName": "Music",
        "Key": {"Artist": {"S": "a"}, "SongTitle": {"S": "b"}},
        "UpdateExpression": "SET #t = list_append(#t, :v), Plays = Plays + :one REMOVE Old ADD Fans :f",
        "ExpressionAttributeNames": {"#t": "Tracks"},
        "ExpressionAttributeValues": {":v": {"L": []}, ":one": {"N": "1"}, ":f": {"SS": ["x"]}},
    }
    assert _wire("dynamodb", "UpdateItem", params)[0][2]["dynamodb:Attributes"] == [
        "Tracks",
        "Plays",
        "Old",
        "Fans",
    ]


def test_query_on_an_index_is_asked_on_the_index_with_its_partition_key() -> None:
    params = {
        "TableName": "Music",
        "IndexName": "ByGenre",
        "KeyConditionExpression": "#g = :g AND #y > :y",
        "ExpressionAttributeNames": {"#g": "Genre", "#y": "Year"},
        "ExpressionAttributeValues": {":g": {"S": "Rock"}, ":y": {"N": "1990"}},
        "Select": "ALL_PROJECTED_ATTRIBUTES",
    }
    assert _wire("dynamodb", "Query", params) == [
        (
            "dynamodb:Query",
            f"{TABLE}/index/ByGenre",
            {"dynamodb:Select": "ALL_PROJECTED_ATTRIBUTES", "dynamodb:LeadingKeys": ["Rock"]},
        )
    ]


def test_scan_is_asked_on_the_table_without_leading_keys() -> None:
    assert _wire("dynamodb", "Scan", {"TableName": "Music", "Select": "COUNT"}) == [
        ("dynamodb:Scan", TABLE, {"dynamodb:Select": "COUNT"})
    ]


def test_a_table_named_by_its_arn_keeps_it() -> None:
    other = "arn:aws:dynamodb:eu-west-1:444455556666:table/Shared"
    assert _needs("dynamodb", "DescribeTable", {"TableName": other}) == [
        ("dynamodb:DescribeTable", other, {})
    ]


def test_batch_get_item_is_one_permission_per_table() -> None:
    items = {
        "Music": {
            "Keys": [
                {"Artist": {"S": "a"}, "SongTitle": {"S": "1"}},
                {"Artist": {"S": "b"}, "SongTitle": {"S": "2"}},
            ]
        },
        "Other": {"Keys": [{"Id": {"S": "x"}}], "ProjectionExpression": "Id, Body"},
    }
    assert _wire("dynamodb", "BatchGetItem", {"RequestItems": items}) == [
        (
            "dynamodb:BatchGetItem",
            TABLE,
            {"dynamodb:LeadingKeys": ["a", "b"], "dynamodb:Select": "ALL_ATTRIBUTES"},
        ),
        (
            "dynamodb:BatchGetItem",
            f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Other",
            {
                "dynamodb:LeadingKeys": ["x"],
                "dynamodb:Attributes": ["Id", "Body"],
                "dynamodb:Select": "SPECIFIC_ATTRIBUTES",
            },
        ),
    ]


def test_batch_write_item_is_one_permission_per_table_with_every_written_key() -> None:
    items = {
        "Music": [
            {"PutRequest": {"Item": {"Artist": {"S": "a"}, "SongTitle": {"S": "1"}}}},
            {"DeleteRequest": {"Key": {"Artist": {"S": "b"}, "SongTitle": {"S": "2"}}}},
        ]
    }
    assert _wire("dynamodb", "BatchWriteItem", {"RequestItems": items}) == [
        (
            "dynamodb:BatchWriteItem",
            TABLE,
            {"dynamodb:LeadingKeys": ["a", "b"], "dynamodb:Attributes": ["Artist", "SongTitle"]},
        )
    ]


def test_transact_write_items_needs_each_items_action_on_its_table() -> None:
    items = [
        {"Put": {"TableName": "Music", "Item": {"Artist": {"S": "a"}, "SongTitle": {"S": "1"}}}},
        {
            "Update": {
                "TableName": "Music",
                "Key": {"Artist": {"S": "b"}, "SongTitle": {"S": "2"}},
                "UpdateExpression": "SET P = :p",
                "ExpressionAttributeValues": {":p": {"N": "1"}},
            }
        },
        {
            "ConditionCheck": {
                "TableName": "Stock",
                "Key": {"Id": {"S": "s"}},
                "ConditionExpression": "attribute_exists(Id)",
            }
        },
        {"Delete": {"TableName": "Stock", "Key": {"Id": {"S": "t"}}}},
    ]
    found = _wire("dynamodb", "TransactWriteItems", {"TransactItems": items})
    stock = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Stock"
    assert [(a, r) for a, r, _ in found] == [
        ("dynamodb:PutItem", TABLE),
        ("dynamodb:UpdateItem", TABLE),
        ("dynamodb:ConditionCheckItem", stock),
        ("dynamodb:DeleteItem", stock),
    ]
    assert found[0][2]["dynamodb:LeadingKeys"] == ["a"] and found[3][2]["dynamodb:LeadingKeys"] == ["t"]
    assert found[0][2]["dynamodb:EnclosingOperation"] == "TransactWriteItems"


def test_partiql_statements_need_the_verbs_action_on_their_table() -> None:
    statements = [
        {"Statement": 'SELECT * FROM "Music" WHERE Artist = ?'},
        {"Statement": "INSERT INTO Stock VALUE {'Id': ?}"},
        {"Statement": 'UPDATE "Music" SET Plays = 1 WHERE Artist = ?'},
        {"Statement": 'DELETE FROM "Music"."ByGenre" WHERE Genre = ?'},
    ]
    found = _wire("dynamodb", "BatchExecuteStatement", {"Statements": statements})
    assert [(a, r) for a, r, _ in found] == [
        ("dynamodb:PartiQLSelect", TABLE),
        ("dynamodb:PartiQLInsert", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Stock"),
        ("dynamodb:PartiQLUpdate", TABLE),
        ("dynamodb:PartiQLDelete", f"{TABLE}/index/ByGenre"),
    ]


def test_an_unknown_key_schema_makes_every_key_value_a_leading_key() -> None:
    facts = Facts(account=ACCOUNT, region="us-east-1")
    params = {"TableName": "T", "Key": {"Pk": {"S": "p"}, "Sk": {"N": "2"}}}
    assert _needs("dynamodb", "GetItem", params, facts)[0][2] == {
        "dynamodb:LeadingKeys": ["p", "2"],
        "dynamodb:Select": "ALL_ATTRIBUTES",  # no projection: the whole item
    }


def test_tagging_a_table_carries_request_tags() -> None:
    params = {"ResourceArn": TABLE, "Tags": [{"Key": "team", "Value": "data"}]}
    assert _wire("dynamodb", "TagResource", params) == [
        ("dynamodb:TagResource", TABLE, {"aws:RequestTag/team": "data", "aws:TagKeys": ["team"]})
    ]


def test_an_unreadable_partiql_statement_needs_every_partiql_action() -> None:
    found = _needs("dynamodb", "ExecuteStatement", {"Statement": "/* hidden */ DELETE FROM Music"})
    assert [(a, r) for a, r, _ in found] == [
        ("dynamodb:PartiQLSelect", "*"),
        ("dynamodb:PartiQLInsert", "*"),
        ("dynamodb:PartiQLUpdate", "*"),
        ("dynamodb:PartiQLDelete", "*"),
    ]


def test_a_transaction_whose_items_name_nothing_is_refused_unless_granted_wholesale() -> None:
    assert _needs("dynamodb", "TransactWriteItems", {"TransactItems": [{}]}) == [
        ("dynamodb:TransactWriteItems", "*", {})
    ]


def test_describe_endpoints_needs_no_permission() -> None:
    assert _wire("dynamodb", "DescribeEndpoints", {}) == []


_RESTORED = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Restored"
_READ_WRITE = ("PutItem", "UpdateItem", "DeleteItem", "GetItem", "Query", "Scan", "BatchWriteItem")


def test_a_restore_from_a_backup_is_asked_on_the_backup_and_the_new_table_with_its_reads_and_writes() -> None:
    backup = f"{TABLE}/backup/01700000000000-abcdefgh"
    found = permissions_of(
        Operation("dynamodb", "RestoreTableFromBackup", {"TargetTableName": "Restored", "BackupArn": backup}),
        FACTS,
    )
    assert [(p.action, p.resource, p.creates) for p in found] == [
        ("dynamodb:RestoreTableFromBackup", backup, False),
        ("dynamodb:RestoreTableFromBackup", _RESTORED, True),
        *((f"dynamodb:{action}", _RESTORED, True) for action in _READ_WRITE),
    ]


@pytest.mark.parametrize("source", [{"SourceTableName": "Music"}, {"SourceTableArn": TABLE}])
def test_a_point_in_time_restore_is_asked_on_its_source_table_and_the_new_table(
    source: dict[str, str],
) -> None:
    params = {**source, "TargetTableName": "Restored"}
    found = permissions_of(Operation("dynamodb", "RestoreTableToPointInTime", params), FACTS)
    assert [(p.action, p.resource, p.creates) for p in found] == [
        ("dynamodb:RestoreTableToPointInTime", TABLE, False),
        *((f"dynamodb:{action}", _RESTORED, True) for action in _READ_WRITE),
    ]


def test_an_import_is_asked_on_the_new_table_the_source_objects_and_the_import_logs() -> None:
    params = {
        "S3BucketSource": {"S3Bucket": "exports", "S3KeyPrefix": "2026/", "S3BucketOwner": "444455556666"},
        "InputFormat": "DYNAMODB_JSON",
        "TableCreationParameters": {"TableName": "Imported"},
    }
    found = permissions_of(Operation("dynamodb", "ImportTable", params), FACTS)
    logs = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws-dynamodb/*"
    assert [(p.action, p.resource, p.resource_account, p.creates) for p in found] == [
        ("dynamodb:ImportTable", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Imported", None, True),
        ("s3:GetObject", "arn:aws:s3:::exports/2026/*", "444455556666", False),
        ("s3:ListBucket", "arn:aws:s3:::exports", "444455556666", False),
        *(
            (f"logs:{action}", logs, None, False)
            for action in (
                "CreateLogGroup",
                "CreateLogStream",
                "DescribeLogGroups",
                "DescribeLogStreams",
                "PutLogEvents",
                "PutRetentionPolicy",
            )
        ),
    ]


def test_an_import_of_sse_kms_objects_needs_decrypt_on_each_objects_key_via_s3_and_dynamodb() -> None:
    asked: list[tuple[str, str]] = []
    other = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/other"

    def prefix_encryption(bucket: str, prefix: str) -> tuple[tuple[str, str, str | None, bool], ...]:
        asked.append((bucket, prefix))
        return (
            ("2026/a.json.gz", "aws:kms", KEY_ARN, False),
            ("2026/b.json.gz", "aws:kms", KEY_ARN, True),
            ("2026/c.json.gz", "aws:kms", KEY_ARN, True),  # the same key and context as b: asked once
            ("2026/d.json.gz", "aws:kms:dsse", other, False),
        )

    facts = Facts(account=ACCOUNT, region="us-east-1", prefix_encryption=prefix_encryption)
    params = {
        "S3BucketSource": {"S3Bucket": "exports", "S3KeyPrefix": "2026/"},
        "InputFormat": "DYNAMODB_JSON",
        "TableCreationParameters": {"TableName": "Imported"},
    }
    found = [
        p
        for p in permissions_of(Operation("dynamodb", "ImportTable", params), facts)
        if p.action == "kms:Decrypt"
    ]
    assert asked == [("exports", "2026/")]
    assert [(p.resource, p.context["kms:EncryptionContext:aws:s3:arn"]) for p in found] == [
        (KEY_ARN, "arn:aws:s3:::exports/2026/a.json.gz"),
        (KEY_ARN, "arn:aws:s3:::exports"),
        (other, "arn:aws:s3:::exports/2026/d.json.gz"),
    ]
    for permission in found:
        assert permission.context["kms:ViaService"] == "s3.us-east-1.amazonaws.com"
        assert permission.context["aws:CalledVia"] == ["dynamodb.amazonaws.com"]


# -- KMS ---------------------------------------------------------------------------------------------


def test_encrypt_is_asked_on_the_key_with_its_encryption_context() -> None:
    params = {"KeyId": KEY, "Plaintext": b"secret", "EncryptionContext": {"dept": "eng", "app": "ledger"}}
    assert _wire("kms", "Encrypt", params) == [
        (
            "kms:Encrypt",
            KEY_ARN,
            {
                "kms:CallerAccount": "111122223333",
                "kms:EncryptionContext:dept": "eng",
                "kms:EncryptionContext:app": "ledger",
                "kms:EncryptionContextKeys": ["dept", "app"],
            },
        )
    ]


@pytest.mark.parametrize("key_id", ["alias/app", f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/app"])
def test_an_alias_is_resolved_to_its_key_and_named_in_request_alias(key_id: str) -> None:
    found = _wire("kms", "GenerateDataKey", {"KeyId": key_id, "KeySpec": "AES_256"})
    assert found == [
        (
            "kms:GenerateDataKey",
            KEY_ARN,
            {"kms:CallerAccount": "111122223333", "kms:RequestAlias": "alias/app"},
        )
    ]


def test_an_alias_that_points_nowhere_stays_an_alias_arn() -> None:
    found = _needs("kms", "Encrypt", {"KeyId": "alias/gone", "Plaintext": "eA=="})
    assert found[0][1] == f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/gone"


def test_a_key_arn_of_another_account_is_kept() -> None:
    other = "arn:aws:kms:eu-west-1:444455556666:key/abcd"
    assert _needs("kms", "Decrypt", {"KeyId": other, "CiphertextBlob": "eA=="})[0][1] == other


def test_via_service_is_set_when_a_service_calls_for_the_caller() -> None:
    facts = Facts(
        account=ACCOUNT, region="us-east-1", caller_account=ACCOUNT, via_service="s3.us-east-1.amazonaws.com"
    )
    found = _needs("kms", "GenerateDataKey", {"KeyId": KEY}, facts)
    assert found[0][2]["kms:ViaService"] == "s3.us-east-1.amazonaws.com"


def test_re_encrypt_needs_from_on_the_source_and_to_on_the_destination() -> None:
    params = {
        "CiphertextBlob": b"c",
        "SourceKeyId": KEY,
        "DestinationKeyId": "alias/app",
        "DestinationEncryptionContext": {"k": "v"},
    }
    found = _wire("kms", "ReEncrypt", params)
    assert [(a, r) for a, r, _ in found] == [("kms:ReEncryptFrom", KEY_ARN), ("kms:ReEncryptTo", KEY_ARN)]
    assert found[0][2]["kms:ReEncryptOnSameKey"] == "false"
    assert "kms:EncryptionContext:k" not in found[0][2] and found[1][2]["kms:EncryptionContext:k"] == "v"


def test_create_grant_carries_the_grants_keys() -> None:
    params = {
        "KeyId": KEY,
        "GranteePrincipal": "arn:aws:iam::111122223333:role/app",
        "Operations": ["Decrypt", "GenerateDataKey"],
        "Constraints": {"EncryptionContextSubset": {"app": "ledger"}},
    }
    assert _wire("kms", "CreateGrant", params) == [
        (
            "kms:CreateGrant",
            KEY_ARN,
            {
                "kms:CallerAccount": "111122223333",
                "kms:GrantIsForAWSResource": "false",
                "kms:GrantOperations": ["Decrypt", "GenerateDataKey"],
                "kms:GranteePrincipal": "arn:aws:iam::111122223333:role/app",
                "kms:GrantConstraintType": "EncryptionContextSubset",
                "kms:EncryptionContext:app": "ledger",
                "kms:EncryptionContextKeys": ["app"],
            },
        )
    ]


def test_create_alias_needs_create_alias_on_the_alias_and_the_key() -> None:
    assert [
        (a, r) for a, r, _ in _wire("kms", "CreateAlias", {"AliasName": "alias/new", "TargetKeyId": KEY})
    ] == [
        ("kms:CreateAlias", f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/new"),
        ("kms:CreateAlias", KEY_ARN),
    ]


def test_create_key_is_asked_on_everything_with_its_spec_and_tags_and_tag_resource() -> None:
    params = {"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY", "Tags": [{"TagKey": "team", "TagValue": "x"}]}
    assert _wire("kms", "CreateKey", params) == [
        (
            "kms:CreateKey",
            "*",
            {
                "kms:CallerAccount": "111122223333",
                "kms:KeySpec": "RSA_2048",
                "kms:KeyUsage": "SIGN_VERIFY",
                "aws:RequestTag/team": "x",
                "aws:TagKeys": ["team"],
            },
        ),
        (
            "kms:TagResource",
            "*",
            {"kms:CallerAccount": "111122223333", "aws:RequestTag/team": "x", "aws:TagKeys": ["team"]},
        ),
    ]


def test_decrypt_without_a_key_id_is_asked_on_everything() -> None:
    assert _wire("kms", "Decrypt", {"CiphertextBlob": b"opaque"}) == [
        ("kms:Decrypt", "*", {"kms:CallerAccount": "111122223333"})
    ]


# -- every operation, against AWS's reference --------------------------------------------------------

_MODELS = {name: botocore.session.get_session().get_service_model(name) for name in ("s3", "dynamodb", "kms")}


@pytest.mark.parametrize(
    ("service", "operation"), [(s, o) for s, m in _MODELS.items() for o in m.operation_names]
)
def test_every_operation_needs_actions_aws_lists_on_resources_of_the_service(
    service: str, operation: str
) -> None:
    given = sample_input(_MODELS[service].operation_model(operation), with_located=True)
    found = identify(service, built_request(service, operation, given))
    assert isinstance(found, Operation)
    needed = permissions_of(found, FACTS)
    if mapping.is_permissionless(service, operation):
        assert needed == ()
        return
    assert needed, operation
    for permission in needed:
        assert isinstance(permission, Permission)
        unread = permission == Permission(f"{service}:{operation}", "*")  # the sample names nothing
        assert mapping.is_known_action(permission.action) or unread, permission.action
        prefix = permission.action.split(":")[0]
        assert permission.resource == "*" or permission.resource.startswith(f"arn:aws:{prefix}:"), permission


def test_the_shipped_map_holds_known_services_and_names_its_source() -> None:
    data = json.loads(mapping.DATA_FILE.read_text())
    assert "iann0036/iam-dataset" in data["info"] and "MIT" in data["info"]
    names = [*data["sdk_method_iam_mappings"], *data["additions"], *data["sdk_permissionless_actions"]]
    assert {n.split(".")[0] for n in names} <= set(mapping.SDK_NAMES.values())
    for entry in (e for entries in data["sdk_method_iam_mappings"].values() for e in entries):
        assert mapping.is_known_action(entry["action"]), entry["action"]
    for entry in (e for entries in data["additions"].values() for e in entries):
        assert mapping.is_known_action(entry["action"]), entry["action"]


def test_every_operation_the_map_names_is_in_botocores_models() -> None:
    data = json.loads(mapping.DATA_FILE.read_text())
    services = {sdk: service for service, sdk in mapping.SDK_NAMES.items()}
    for name in [*data["sdk_method_iam_mappings"], *data["additions"]]:
        sdk, operation = name.split(".")
        model = _MODELS.get(services[sdk]) or botocore.session.get_session().get_service_model(services[sdk])
        assert operation in model.operation_names, name


@pytest.mark.parametrize(
    ("expression", "names", "expected"),
    [
        ("SET a = b, #c.d[0] = if_not_exists(e, :v) REMOVE f[1].g ADD h :n", {"#c": "C"}, list("abCefh")),
        (
            "attribute_exists(#s.#n) AND size(t) > :n OR NOT (u BETWEEN :a AND :b)",
            {"#s": "S", "#n": "N"},
            ["S", "t", "u"],
        ),
        ("begins_with(x, :p) AND y IN (:a, :b) AND contains(z.q, :c)", {}, ["x", "y", "z"]),
        ("#s-pk = :v", {"#s": "shown", "#s-pk": "secret"}, ["shown", "pk", "secret"]),
    ],
)
def test_an_expression_names_every_top_level_attribute_it_reads_or_writes(
    expression: str, names: dict[str, str], expected: list[str]
) -> None:
    assert dynamodb_keys.expression_attributes(expression, names) == expected


@pytest.mark.parametrize(
    ("params", "refused"),
    [
        ({"KeyConditionExpression": ":v = pk", "ExpressionAttributeValues": {":v": {"S": "x"}}}, True),
        ({"KeyConditionExpression": "pk = :w", "ExpressionAttributeValues": {":v": {"S": "x"}}}, True),
        ({"KeyConditions": {"pk": {"ComparisonOperator": "GE", "AttributeValueList": [{"S": "x"}]}}}, True),
        (
            {
                "KeyConditionExpression": "#p = :v-1",
                "ExpressionAttributeNames": {"#p": "pk"},
                "ExpressionAttributeValues": {":v-1": {"S": "x"}},
            },
            False,
        ),
        (
            {
                "KeyConditionExpression": "sk = :s AND pk = :v",
                "ExpressionAttributeValues": {":v": {"S": "x"}, ":s": {"S": "y"}},
            },
            False,
        ),
    ],
)
def test_a_query_whose_partition_value_cannot_be_read_is_refused(
    params: dict[str, Any], refused: bool
) -> None:
    """Its `dynamodb:LeadingKeys` would be empty, which `ForAllValues` lets through."""
    operation = Operation("dynamodb", "Query", {"TableName": "T", **params})
    if refused:
        with pytest.raises(dynamodb_refusals.ValidationException) as caught:
            dynamodb_refusals.refuse_unread_key_conditions(operation, lambda table, index: ("pk", "sk"))
        assert caught.value.args[0] == "Query condition missed key schema element: pk"
    else:
        dynamodb_refusals.refuse_unread_key_conditions(operation, lambda table, index: ("pk", "sk"))
