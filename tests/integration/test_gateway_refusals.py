"""AWS's refusals through the gateway, in each protocol's own shape: AccessDenied with AWS's message for
every kind of policy that refuses (identity, permissions boundary, session, resource-based: a KMS key
policy), explicit or implicit, and the authentication errors of a bad signature, key or token."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT, Server, start_server, stop_server
from tests.integration.gateway_helpers import moto_backend

pytest.importorskip(
    "moto.server", reason="moto's server is the gateway's test backend (pip install moto[server])"
)

TABLE = "Refusals"
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{TABLE}"
ALL_DYNAMODB = {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}
ALL_KMS = {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from moto_backend(tmp_path_factory)


@pytest.fixture(scope="module")
def gateway(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("ostiary-refusals")
    backends = [arg for service in ("dynamodb", "kms", "s3") for arg in ("--backend", f"{service}={backend}")]
    server = start_server(data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite", *backends)
    dynamodb = server.client("dynamodb")
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "Id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "Id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield server
    stop_server(server)


def _user(
    gateway: Server, *statements: dict[str, Any], boundary: str | None = None
) -> tuple[str, tuple[str, str]]:
    iam = gateway.client("iam")
    name = f"refused-{uuid.uuid4().hex[:8]}"
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=_doc(*statements))
    if boundary is not None:
        policy = iam.create_policy(PolicyName=f"boundary-{name}", PolicyDocument=boundary)["Policy"]["Arn"]
        iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=policy)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, (key["AccessKeyId"], key["SecretAccessKey"])


def _refused(call: Any, **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as refused:
        call(**kwargs)
    response = refused.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def _denied(arn: str, action: str, resource: str, reason: str) -> str:
    return f"User: {arn} is not authorized to perform: {action} on resource: {resource} {reason}"


# -- DynamoDB (JSON 1.0) ---------------------------------------------------------------------------


def test_dynamodb_explicit_deny_in_an_identity_based_policy(gateway: Server) -> None:
    deny = {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": TABLE_ARN}
    arn, keys = _user(gateway, ALL_DYNAMODB, deny)
    dynamodb = gateway.client("dynamodb", *keys)
    assert _refused(dynamodb.delete_table, TableName=TABLE) == (
        "AccessDeniedException",
        _denied(arn, "dynamodb:DeleteTable", TABLE_ARN, "with an explicit deny in an identity-based policy"),
        400,
    )


def test_dynamodb_refusals_of_a_permissions_boundary_implicit_and_explicit(gateway: Server) -> None:
    boundary = _doc(
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:DeleteItem"], "Resource": "*"},
        {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "*"},
    )
    arn, keys = _user(gateway, ALL_DYNAMODB, boundary=boundary)
    dynamodb = gateway.client("dynamodb", *keys)
    assert "Item" not in dynamodb.get_item(TableName=TABLE, Key={"Id": {"S": "none"}})
    assert _refused(dynamodb.scan, TableName=TABLE)[1] == _denied(
        arn, "dynamodb:Scan", TABLE_ARN, "because no permissions boundary allows the dynamodb:Scan action"
    )
    assert _refused(dynamodb.delete_item, TableName=TABLE, Key={"Id": {"S": "x"}})[1] == _denied(
        arn, "dynamodb:DeleteItem", TABLE_ARN, "with an explicit deny in a permissions boundary"
    )


def test_dynamodb_refusals_of_a_session_policy_implicit_and_explicit(gateway: Server) -> None:
    iam = gateway.client("iam")
    name = f"sessioned-{uuid.uuid4().hex[:6]}"
    trust = _doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
    )
    role_arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="all", PolicyDocument=_doc(ALL_DYNAMODB))
    session_policy = _doc(
        {"Effect": "Allow", "Action": ["dynamodb:Scan", "dynamodb:PutItem"], "Resource": "*"},
        {"Effect": "Deny", "Action": "dynamodb:PutItem", "Resource": "*"},
    )
    _, assumer = _user(gateway, {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn})
    sts = gateway.client("sts", *assumer)
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="narrow", Policy=session_policy)
    session = creds["Credentials"]
    dynamodb = gateway.client(
        "dynamodb", session["AccessKeyId"], session["SecretAccessKey"], session["SessionToken"]
    )
    arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}/narrow"
    dynamodb.scan(TableName=TABLE)
    assert _refused(dynamodb.describe_table, TableName=TABLE)[1] == _denied(
        arn,
        "dynamodb:DescribeTable",
        TABLE_ARN,
        "because no session policy allows the dynamodb:DescribeTable action",
    )
    assert _refused(dynamodb.put_item, TableName=TABLE, Item={"Id": {"S": "x"}})[1] == _denied(
        arn, "dynamodb:PutItem", TABLE_ARN, "with an explicit deny in a session policy"
    )


# -- KMS (JSON 1.1): key policies are resource-based policies ---------------------------------------


def test_kms_refusals_of_a_key_policy_implicit_and_explicit(gateway: Server) -> None:
    arn, keys = _user(gateway, ALL_KMS)
    other, other_keys = _user(gateway, ALL_KMS)
    policy = _doc(
        {
            "Sid": "Admin",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "NoDecrypt",
            "Effect": "Deny",
            "Principal": {"AWS": arn},
            "Action": "kms:Decrypt",
            "Resource": "*",
        },
    )
    key_arn = gateway.client("kms").create_key(Policy=policy)["KeyMetadata"]["Arn"]
    kms = gateway.client("kms", *keys)
    blob = kms.encrypt(KeyId=key_arn, Plaintext=b"secret")["CiphertextBlob"]
    assert _refused(kms.decrypt, KeyId=key_arn, CiphertextBlob=blob) == (
        "AccessDeniedException",
        _denied(arn, "kms:Decrypt", key_arn, "with an explicit deny in a resource-based policy"),
        400,
    )
    assert (
        gateway.client("kms", *other_keys).decrypt(KeyId=key_arn, CiphertextBlob=blob)["Plaintext"]
        == b"secret"
    )

    nobody = f"nobody-{uuid.uuid4().hex[:8]}"  # KMS refuses a key policy naming a user that is not
    gateway.client("iam").create_user(UserName=nobody)
    closed = _doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{nobody}"},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    closed_arn = gateway.client("kms").create_key(Policy=closed, BypassPolicyLockoutSafetyCheck=True)[
        "KeyMetadata"
    ]["Arn"]
    assert _refused(kms.encrypt, KeyId=closed_arn, Plaintext=b"x")[1] == _denied(
        arn, "kms:Encrypt", closed_arn, "because no resource-based policy allows the kms:Encrypt action"
    )


def test_kms_no_identity_based_policy(gateway: Server) -> None:
    arn, keys = _user(gateway, ALL_DYNAMODB)
    key_arn = gateway.client("kms").create_key()["KeyMetadata"]["Arn"]
    assert _refused(gateway.client("kms", *keys).describe_key, KeyId=key_arn) == (
        "AccessDeniedException",
        _denied(
            arn,
            "kms:DescribeKey",
            key_arn,
            "because no identity-based policy allows the kms:DescribeKey action",
        ),
        400,
    )


# -- authentication: the same errors as IAM's, in the service's shape --------------------------------


@pytest.mark.parametrize("service", ["dynamodb", "kms"])
def test_a_wrong_secret_is_invalid_signature_exception(gateway: Server, service: str) -> None:
    _, (key_id, _) = _user(gateway, ALL_DYNAMODB, ALL_KMS)
    client = gateway.client(service, key_id, "not-the-secret")
    call = client.list_tables if service == "dynamodb" else client.list_keys
    assert _refused(call) == (
        "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided. Check your AWS "
        "Secret Access Key and signing method. Consult the service documentation for details.",
        400,
    )


@pytest.mark.parametrize("service", ["dynamodb", "kms"])
def test_an_unknown_key_or_a_forged_token_is_unrecognized_client(gateway: Server, service: str) -> None:
    for client in (
        gateway.client(service, "AKIAIOSFODNN7EXAMPLE", "x" * 40),
        gateway.client(service, "ASIAIOSFODNN7EXAMPLE", "x" * 40, "forged-session-token"),
    ):
        call = client.list_tables if service == "dynamodb" else client.list_keys
        assert _refused(call) == (
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
            400,
        )


# -- S3 (REST-XML): AccessDenied, 403 ---------------------------------------------------------------

BUCKET = "refusals-bucket"


@pytest.fixture(scope="module")
def bucket(gateway: Server) -> str:
    gateway.client("s3").create_bucket(Bucket=BUCKET)
    return BUCKET


def test_s3_refuses_with_access_denied_403_and_awss_reason(gateway: Server, bucket: str) -> None:
    arn, keys = _user(
        gateway, {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
    )
    code, message, status = _refused(
        gateway.client("s3", *keys).put_object, Bucket=bucket, Key="k", Body=b"x"
    )
    assert (code, status) == ("AccessDenied", 403)
    assert message.startswith(f"User: {arn} is not authorized to perform: s3:PutObject on resource: ")
    assert message.endswith(" because no identity-based policy allows the s3:PutObject action")


def test_s3_quotes_the_resource_in_its_refusal(gateway: Server, bucket: str) -> None:
    arn, keys = _user(gateway, {"Effect": "Deny", "Action": "s3:*", "Resource": "*"})
    assert _refused(gateway.client("s3", *keys).get_object, Bucket=bucket, Key="a.txt")[1] == (
        f'User: {arn} is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::{bucket}/a.txt" '
        "with an explicit deny in an identity-based policy"
    )


def test_an_sse_kms_upload_needs_the_key_and_may_be_limited_to_s3s_use_of_it(
    gateway: Server, bucket: str
) -> None:
    key_arn = gateway.client("kms").create_key()["KeyMetadata"]["Arn"]
    put = {
        "Effect": "Allow",
        "Action": ["s3:PutObject", "s3:GetObject"],
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    arn, keys = _user(gateway, put)
    s3 = gateway.client("s3", *keys)
    upload = {
        "Bucket": bucket,
        "Key": "secret.txt",
        "Body": b"x",
        "ServerSideEncryption": "aws:kms",
        "SSEKMSKeyId": key_arn,
    }
    assert _refused(s3.put_object, **upload) == (
        "AccessDenied",
        _denied(
            arn,
            "kms:GenerateDataKey",
            key_arn,
            "because no identity-based policy allows the kms:GenerateDataKey action",
        ),
        403,
    )
    via_s3 = {
        "Effect": "Allow",
        "Action": "kms:GenerateDataKey",
        "Resource": key_arn,
        "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
    }
    gateway.client("iam").put_user_policy(
        UserName=arn.rsplit("/", 1)[1], PolicyName="p", PolicyDocument=_doc(put, via_s3)
    )
    assert s3.put_object(**upload)["ServerSideEncryption"] == "aws:kms"
    assert _refused(gateway.client("kms", *keys).generate_data_key, KeyId=key_arn, KeySpec="AES_256")[
        1
    ] == _denied(
        arn,
        "kms:GenerateDataKey",
        key_arn,
        "because no identity-based policy allows the kms:GenerateDataKey action",
    )


def test_reading_an_sse_kms_object_needs_decrypt_on_its_key(gateway: Server, bucket: str) -> None:
    key_arn = gateway.client("kms").create_key()["KeyMetadata"]["Arn"]
    gateway.client("s3").put_object(
        Bucket=bucket, Key="sealed.txt", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn
    )
    arn, keys = _user(
        gateway, {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
    )
    assert _refused(gateway.client("s3", *keys).get_object, Bucket=bucket, Key="sealed.txt") == (
        "AccessDenied",
        _denied(
            arn, "kms:Decrypt", key_arn, "because no identity-based policy allows the kms:Decrypt action"
        ),
        403,
    )


def test_copying_an_sse_kms_object_needs_decrypt_on_its_key(gateway: Server, bucket: str) -> None:
    key_arn = gateway.client("kms").create_key()["KeyMetadata"]["Arn"]
    gateway.client("s3").put_object(
        Bucket=bucket, Key="sealed-source.txt", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn
    )
    objects = {
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:PutObject"],
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    arn, keys = _user(gateway, objects)
    copy = {"Bucket": bucket, "Key": "copied.txt", "CopySource": f"{bucket}/sealed-source.txt"}
    assert _refused(gateway.client("s3", *keys).copy_object, **copy) == (
        "AccessDenied",
        _denied(
            arn, "kms:Decrypt", key_arn, "because no identity-based policy allows the kms:Decrypt action"
        ),
        403,
    )
    decrypt = {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn}
    gateway.client("iam").put_user_policy(
        UserName=arn.rsplit("/", 1)[1], PolicyName="p", PolicyDocument=_doc(objects, decrypt)
    )
    assert gateway.client("s3", *keys).copy_object(**copy)["CopyObjectResult"]["ETag"]


def test_a_part_of_an_sse_kms_upload_needs_decrypt_on_the_uploads_key(gateway: Server, bucket: str) -> None:
    """UploadPart and UploadPartCopy name no key: the gateway kept it from CreateMultipartUpload's answer
    ("the requester needs permissions for the kms:Decrypt action on the UploadPart and UploadPartCopy
    APIs")."""
    key_arn = gateway.client("kms").create_key()["KeyMetadata"]["Arn"]
    gateway.client("s3").put_object(Bucket=bucket, Key="plain-part.bin", Body=b"p" * 1024)
    objects = {
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:PutObject"],
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    generate = {"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": key_arn}
    arn, keys = _user(gateway, objects, generate)
    s3 = gateway.client("s3", *keys)
    upload = {"Bucket": bucket, "Key": "sealed-upload.bin"}
    created = s3.create_multipart_upload(**upload, ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn)
    part = {**upload, "UploadId": created["UploadId"], "PartNumber": 1}
    refusal = (
        "AccessDenied",
        _denied(
            arn, "kms:Decrypt", key_arn, "because no identity-based policy allows the kms:Decrypt action"
        ),
        403,
    )
    assert _refused(s3.upload_part, **part, Body=b"x" * 1024) == refusal
    assert _refused(s3.upload_part_copy, **part, CopySource=f"{bucket}/plain-part.bin") == refusal
    decrypt = {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn}
    gateway.client("iam").put_user_policy(
        UserName=arn.rsplit("/", 1)[1], PolicyName="p", PolicyDocument=_doc(objects, generate, decrypt)
    )
    etag = s3.upload_part(**part, Body=b"x" * 1024)["ETag"]
    parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
    s3.complete_multipart_upload(**upload, UploadId=created["UploadId"], MultipartUpload=parts)
    assert gateway.client("s3").get_object(**upload)["Body"].read() == b"x" * 1024


def test_a_part_of_an_upload_the_gateway_kept_no_key_of_needs_none(gateway: Server, bucket: str) -> None:
    objects = {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
    _, keys = _user(gateway, objects)
    s3 = gateway.client("s3", *keys)
    upload = {"Bucket": bucket, "Key": "plain-upload.bin"}
    created = s3.create_multipart_upload(**upload)
    part = {**upload, "UploadId": created["UploadId"], "PartNumber": 1}
    assert s3.upload_part(**part, Body=b"y" * 1024)["ETag"]
    gateway.client("s3").abort_multipart_upload(**upload, UploadId=created["UploadId"])


def test_an_import_of_sse_kms_objects_needs_decrypt_on_their_key(gateway: Server, bucket: str) -> None:
    """DynamoDB reads the source objects with the caller's permissions: S3 decrypts an SSE-KMS one only
    with kms:Decrypt on its key (via S3, called via DynamoDB), as the backend tells of each object."""
    key_arn = gateway.client("kms").create_key()["KeyMetadata"]["Arn"]
    item = b'{"Item": {"Id": {"S": "imported"}}}\n'
    gateway.client("s3").put_object(
        Bucket=bucket,
        Key="import-src/data.json",
        Body=item,
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=key_arn,
    )
    allowed = {
        "Effect": "Allow",
        "Action": [
            "dynamodb:ImportTable",
            "dynamodb:DescribeImport",
            "s3:GetObject",
            "s3:ListBucket",
            "logs:*",
        ],
        "Resource": "*",
    }
    arn, keys = _user(gateway, allowed)
    table = f"imported-{uuid.uuid4().hex[:8]}"
    request = {
        "S3BucketSource": {"S3Bucket": bucket, "S3KeyPrefix": "import-src/"},
        "InputFormat": "DYNAMODB_JSON",
        "TableCreationParameters": {
            "TableName": table,
            "AttributeDefinitions": [{"AttributeName": "Id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "Id", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    }
    dynamodb = gateway.client("dynamodb", *keys)
    assert _refused(dynamodb.import_table, **request) == (
        "AccessDeniedException",
        _denied(
            arn, "kms:Decrypt", key_arn, "because no identity-based policy allows the kms:Decrypt action"
        ),
        400,
    )
    assert table not in gateway.client("dynamodb").list_tables()["TableNames"]  # never forwarded
    decrypt = {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn}
    gateway.client("iam").put_user_policy(
        UserName=arn.rsplit("/", 1)[1], PolicyName="p", PolicyDocument=_doc(allowed, decrypt)
    )
    described = dynamodb.import_table(**request)["ImportTableDescription"]
    assert described["TableArn"].endswith(f":table/{table}")


def test_s3s_authentication_errors_are_s3s_own(gateway: Server, bucket: str) -> None:
    _, (key_id, _) = _user(gateway, ALL_DYNAMODB)
    assert _refused(gateway.client("s3", key_id, "not-the-secret").list_objects_v2, Bucket=bucket) == (
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your key and "
        "signing method.",
        403,
    )
    assert _refused(
        gateway.client("s3", "AKIAIOSFODNN7EXAMPLE", "x" * 40).list_objects_v2, Bucket=bucket
    ) == (
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
        403,
    )


def test_a_bucket_whose_default_encryption_is_sse_kms_needs_the_key_for_plain_uploads(
    gateway: Server,
) -> None:
    name = f"default-kms-{uuid.uuid4().hex[:8]}"
    gateway.client("s3").create_bucket(Bucket=name)
    key_arn = gateway.client("kms").create_key()["KeyMetadata"]["Arn"]
    gateway.client("s3").put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}}
            ]
        },
    )
    put = {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{name}/*"}
    arn, keys = _user(gateway, put)
    s3 = gateway.client("s3", *keys)
    code, message, status = _refused(s3.put_object, Bucket=name, Key="plain.txt", Body=b"x")
    assert (code, status) == ("AccessDenied", 403)
    assert "kms:GenerateDataKey" in message and key_arn in message
    gateway.client("iam").put_user_policy(
        UserName=arn.rsplit("/", 1)[1],
        PolicyName="p",
        PolicyDocument=_doc(put, {"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": key_arn}),
    )
    s3.put_object(Bucket=name, Key="plain.txt", Body=b"x")
