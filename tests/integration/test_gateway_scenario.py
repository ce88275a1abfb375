"""The reference scenario end to end through the gateway (shared/seeds/000_…txt), moto as the backend.

Michael, in the Developers group (read DynamoDB, read S3), scans and gets items but may not write or
export; he assumes DynamoDBExportRole and exports the table to `my-export-bucket` encrypted with the
scenario's KMS key, and the export lands in the bucket. Without the role's KMS permissions the export is
refused with AWS's message. The cluster's permission test script, run with IMDS credentials, reports
which of DynamoDB, S3 and STS its role may use; a service principal's role credentials work as any other.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT, Server, start_server, stop_server
from tests.integration.gateway_helpers import moto_backend
from tests.integration.gateway_helpers import refusal as _refusal
from tests.integration.imds_helpers import clean_env, running_imds

pytest.importorskip(
    "moto.server", reason="moto's server is the gateway's test backend (pip install moto[server])"
)

TABLE = "Orders"
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{TABLE}"
BUCKET = "my-export-bucket"
ALIAS = "alias/scenario-export"
ITEMS = [{"OrderId": {"S": "o-1"}, "Total": {"N": "12"}}, {"OrderId": {"S": "o-2"}, "Total": {"N": "30"}}]


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


EXPORT_S3 = {
    "Effect": "Allow",
    "Action": ["s3:AbortMultipartUpload", "s3:PutObject", "s3:PutObjectAcl", "s3:ListBucket"],
    "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
}


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from moto_backend(tmp_path_factory)


@pytest.fixture(scope="module")
def gateway(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("ostiary-scenario")
    backends = [arg for service in ("dynamodb", "kms", "s3") for arg in ("--backend", f"{service}={backend}")]
    server = start_server(data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite", *backends)
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def moto_s3(gateway: Server) -> Any:
    """S3 through the gateway as the account's root: where the export lands."""
    return gateway.client("s3")


@pytest.fixture(scope="module")
def world(gateway: Server, moto_s3: Any) -> dict[str, str]:
    """The scenario's resources, made by the account's root: the table (PITR on), the key and its
    alias, the bucket; the Developers group, Michael, and DynamoDBExportRole."""
    dynamodb = gateway.client("dynamodb")
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "OrderId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "OrderId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_continuous_backups(
        TableName=TABLE, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    for item in ITEMS:
        dynamodb.put_item(TableName=TABLE, Item=item)
    kms = gateway.client("kms")
    key_arn = kms.create_key(Description="scenario export key")["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName=ALIAS, TargetKeyId=key_arn)
    moto_s3.create_bucket(Bucket=BUCKET)

    iam = gateway.client("iam")
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/DynamoDBExportRole"
    iam.create_group(GroupName="Developers")
    for name in ("AmazonDynamoDBReadOnlyAccess", "AmazonS3ReadOnlyAccess"):
        iam.attach_group_policy(GroupName="Developers", PolicyArn=f"arn:aws:iam::aws:policy/{name}")
    iam.put_group_policy(
        GroupName="Developers",
        PolicyName="assume-export",
        PolicyDocument=_doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}),
    )
    iam.create_user(UserName="Michael")
    iam.add_user_to_group(GroupName="Developers", UserName="Michael")
    key = iam.create_access_key(UserName="Michael")["AccessKey"]
    trust = _doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"Service": "dynamodb.amazonaws.com"}, "Action": "sts:AssumeRole"},
    )
    iam.create_role(RoleName="DynamoDBExportRole", AssumeRolePolicyDocument=trust)
    iam.put_role_policy(
        RoleName="DynamoDBExportRole",
        PolicyName="export",
        PolicyDocument=_doc(
            {"Effect": "Allow", "Action": "dynamodb:*", "Resource": [TABLE_ARN, f"{TABLE_ARN}/*"]},
            EXPORT_S3,
            {
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": key_arn,
            },
        ),
    )
    return {
        "key_arn": key_arn,
        "role_arn": role_arn,
        "michael_key": key["AccessKeyId"],
        "michael_secret": key["SecretAccessKey"],
    }


def _assume(gateway: Server, keys: tuple[str, ...], role_arn: str, session: str) -> tuple[str, str, str]:
    creds = gateway.client("sts", *keys).assume_role(RoleArn=role_arn, RoleSessionName=session)["Credentials"]
    return creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]


def _landed(moto_s3: Any, prefix: str) -> list[str]:
    """The keys under `prefix` once the export has written them (moto writes on a thread of its own)."""
    for _ in range(100):
        found = moto_s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
        if found:
            return [str(o["Key"]) for o in found]
        time.sleep(0.1)
    return []


def _export(dynamodb: Any, prefix: str, key: str | None) -> dict[str, Any]:
    extra = {"S3SseAlgorithm": "KMS", "S3SseKmsKeyId": key} if key else {}
    described: dict[str, Any] = dynamodb.export_table_to_point_in_time(
        TableArn=TABLE_ARN, S3Bucket=BUCKET, S3Prefix=prefix, **extra
    )["ExportDescription"]
    return described


def test_michael_scans_with_the_cli_and_gets_items_but_may_not_write_or_export(
    gateway: Server, world: dict[str, str], tmp_path: Path
) -> None:
    env = {
        k: v
        for k, v in clean_env("http://127.0.0.1:9", tmp_path).items()
        if k != "AWS_EC2_METADATA_SERVICE_ENDPOINT"
    }
    env |= {
        "AWS_ACCESS_KEY_ID": world["michael_key"],
        "AWS_SECRET_ACCESS_KEY": world["michael_secret"],
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    scan = subprocess.run(
        [
            sys.executable,
            "-m",
            "awscli",
            "dynamodb",
            "scan",
            "--table-name",
            TABLE,
            "--endpoint-url",
            gateway.endpoint,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert sorted(i["OrderId"]["S"] for i in json.loads(scan.stdout)["Items"]) == ["o-1", "o-2"]

    michael = gateway.client("dynamodb", world["michael_key"], world["michael_secret"])
    assert michael.get_item(TableName=TABLE, Key={"OrderId": {"S": "o-1"}})["Item"]["Total"] == {"N": "12"}
    arn = f"arn:aws:iam::{ACCOUNT}:user/Michael"
    with pytest.raises(ClientError) as refused:
        michael.put_item(TableName=TABLE, Item={"OrderId": {"S": "o-3"}})
    assert _refusal(refused.value) == (
        "AccessDeniedException",
        f"User: {arn} is not authorized to perform: dynamodb:PutItem on resource: {TABLE_ARN} "
        "because no identity-based policy allows the dynamodb:PutItem action",
        400,
    )
    with pytest.raises(ClientError) as refused:
        _export(michael, "by-michael", None)
    assert _refusal(refused.value)[1] == (
        f"User: {arn} is not authorized to perform: dynamodb:ExportTableToPointInTime on resource: "
        f"{TABLE_ARN} because no identity-based policy allows the dynamodb:ExportTableToPointInTime action"
    )


def test_michael_exports_through_the_role_with_the_scenarios_key_and_the_export_lands(
    gateway: Server, world: dict[str, str], moto_s3: Any
) -> None:
    session = _assume(gateway, (world["michael_key"], world["michael_secret"]), world["role_arn"], "nightly")
    dynamodb = gateway.client("dynamodb", *session)
    described = _export(dynamodb, "nightly", ALIAS)
    assert described["S3Bucket"] == BUCKET
    landed = _landed(moto_s3, "nightly/AWSDynamoDB/")
    assert landed, "the export wrote nothing into the bucket"

    # Michael reads the export through the gateway with his group's S3 read access, and may not write.
    s3 = gateway.client("s3", world["michael_key"], world["michael_secret"])
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="nightly/")["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted(landed)
    assert s3.get_object(Bucket=BUCKET, Key=landed[0])["Body"].read()
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=BUCKET, Key="nightly/forged.json", Body=b"{}")
    code, message, status = _refusal(refused.value)
    assert (code, status) == ("AccessDenied", 403)
    assert message.startswith(
        f"User: arn:aws:iam::{ACCOUNT}:user/Michael is not authorized to perform: s3:PutObject on resource: "
    )
    assert message.endswith("because no identity-based policy allows the s3:PutObject action")


def test_without_the_roles_kms_permissions_the_export_is_refused_with_awss_message(
    gateway: Server, world: dict[str, str], moto_s3: Any
) -> None:
    iam = gateway.client("iam")
    name = f"NoKmsExport-{uuid.uuid4().hex[:6]}"
    trust = _doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
    )
    role_arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=name,
        PolicyName="export",
        PolicyDocument=_doc(
            {"Effect": "Allow", "Action": "dynamodb:ExportTableToPointInTime", "Resource": TABLE_ARN},
            EXPORT_S3,
        ),
    )
    dynamodb = gateway.client(
        "dynamodb", *_assume(gateway, (world["michael_key"], world["michael_secret"]), role_arn, "night")
    )
    with pytest.raises(ClientError) as refused:
        _export(dynamodb, "no-kms", ALIAS)
    assert _refusal(refused.value) == (
        "AccessDeniedException",
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{name}/night is not authorized to perform: "
        f"kms:GenerateDataKey on resource: {world['key_arn']} because no identity-based policy allows the "
        "kms:GenerateDataKey action",
        400,
    )
    assert moto_s3.list_objects_v2(Bucket=BUCKET, Prefix="no-kms/").get("KeyCount") == 0
    # The same role may export without SSE-KMS: the key was all it lacked.
    assert _export(dynamodb, "no-kms-sse-s3", None)["S3Bucket"] == BUCKET
    assert _landed(moto_s3, "no-kms-sse-s3/AWSDynamoDB/")


def test_the_dynamodb_service_principals_role_credentials_work_through_the_gateway(
    gateway: Server, world: dict[str, str]
) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ostiary", "service-credentials", "dynamodb.amazonaws.com"],
        env=gateway.cli_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    service = json.loads(out.stdout)
    keys = (service["AccessKeyId"], service["SecretAccessKey"], service["SessionToken"])
    session = _assume(gateway, keys, world["role_arn"], "export-job")
    me = gateway.client("sts", *session).get_caller_identity()
    assert me["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/DynamoDBExportRole/export-job"
    dynamodb = gateway.client("dynamodb", *session)
    assert len(dynamodb.scan(TableName=TABLE)["Items"]) >= 2
    with pytest.raises(ClientError) as refused:
        dynamodb.describe_table(TableName="SomeoneElses")
    assert _refusal(refused.value)[1] == (
        f"User: {me['Arn']} is not authorized to perform: dynamodb:DescribeTable on resource: "
        f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/SomeoneElses because no identity-based policy allows "
        "the dynamodb:DescribeTable action"
    )


# -- the cluster's permission test script (seed, "Method 5"), with IMDS credentials --------------------

PERMISSION_TEST_SCRIPT = r"""
import boto3

def test_iam_permissions():
    tests = []
    try:
        dynamodb = boto3.client('dynamodb', region_name='us-east-1')
        dynamodb.list_tables(Limit=1)
        tests.append(("✅ DynamoDB", "Can list tables"))
    except Exception as e:
        tests.append(("❌ DynamoDB", str(e)))
    try:
        s3 = boto3.client('s3')
        s3.list_buckets()
        tests.append(("✅ S3", "Can list buckets"))
    except Exception as e:
        tests.append(("❌ S3", str(e)))
    try:
        sts = boto3.client('sts')
        identity = sts.get_caller_identity()
        tests.append(("✅ STS", f"Identity: {identity['Arn']}"))
    except Exception as e:
        tests.append(("❌ STS", str(e)))
    print("IAM Role Permission Tests:")
    print("=" * 60)
    for service, result in tests:
        print(f"{service}: {result}")

test_iam_permissions()
"""
EC2_TRUST = _doc(
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
)


def _cluster_report(gateway: Server, tmp_path: Path, role_policy: str, managed: list[str]) -> dict[str, str]:
    iam = gateway.client("iam")
    name = f"databricks-ec2-role-{uuid.uuid4().hex[:6]}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=EC2_TRUST)
    iam.put_role_policy(RoleName=name, PolicyName="DynamoDBExport", PolicyDocument=role_policy)
    for policy in managed:
        iam.attach_role_policy(RoleName=name, PolicyArn=f"arn:aws:iam::aws:policy/{policy}")
    iam.create_instance_profile(InstanceProfileName=name)
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    with running_imds(gateway, name, "i-0123456789abcdef0") as metadata:
        env = clean_env(metadata, tmp_path) | {
            "AWS_ENDPOINT_URL": gateway.endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        done = subprocess.run(
            [sys.executable, "-c", PERMISSION_TEST_SCRIPT],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    print(done.stdout)
    lines = [line for line in done.stdout.splitlines() if line.startswith(("✅", "❌"))]
    return {line.split(":", 1)[0].split(" ", 1)[1]: line for line in lines} | {"role": name}


def test_the_cluster_script_reports_what_the_seed_export_role_may_use(
    gateway: Server, world: dict[str, str], tmp_path: Path
) -> None:
    seed_policy = _doc(
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
        },
        {
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": world["key_arn"],
        },
    )
    report = _cluster_report(gateway, tmp_path, seed_policy, [])
    role = report["role"]
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/i-0123456789abcdef0"
    assert report["DynamoDB"] == (
        "❌ DynamoDB: An error occurred (AccessDeniedException) when calling the ListTables operation: "
        f"User: {session} is not authorized to perform: dynamodb:ListTables on resource: "
        f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/* because no identity-based policy allows the "
        "dynamodb:ListTables action"
    )
    assert report["S3"].startswith(
        "❌ S3: An error occurred (AccessDenied) when calling the ListBuckets operation: "
        f"User: {session} is not authorized to perform: s3:ListAllMyBuckets on resource: "
    )
    assert report["STS"] == f"✅ STS: Identity: {session}"


def test_the_cluster_script_reports_dynamodb_and_s3_once_the_role_may_read_them(
    gateway: Server, world: dict[str, str], tmp_path: Path
) -> None:
    policy = _doc(EXPORT_S3)
    report = _cluster_report(
        gateway, tmp_path, policy, ["AmazonDynamoDBReadOnlyAccess", "AmazonS3ReadOnlyAccess"]
    )
    assert report["DynamoDB"] == "✅ DynamoDB: Can list tables"
    assert report["S3"] == "✅ S3: Can list buckets"
    assert report["STS"].startswith("✅ STS: Identity: ")


# -- abuse: what a caller might try with an export ------------------------------------------------------


def _export_role(gateway: Server, world: dict[str, str], *statements: dict[str, Any]) -> tuple[str, Any]:
    """A role Michael may assume with `statements` besides the export on the table: (its session ARN, a
    DynamoDB client of a session)."""
    iam = gateway.client("iam")
    name = f"Export-{uuid.uuid4().hex[:8]}"
    trust = _doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
    )
    role_arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    export = {"Effect": "Allow", "Action": "dynamodb:ExportTableToPointInTime", "Resource": TABLE_ARN}
    iam.put_role_policy(RoleName=name, PolicyName="export", PolicyDocument=_doc(export, *statements))
    session = _assume(gateway, (world["michael_key"], world["michael_secret"]), role_arn, "abuse")
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}/abuse", session


def test_an_export_to_a_bucket_the_caller_may_not_write_is_refused_on_its_objects(
    gateway: Server, world: dict[str, str], moto_s3: Any
) -> None:
    moto_s3.create_bucket(Bucket="not-yours")
    arn, session = _export_role(gateway, world, EXPORT_S3)
    dynamodb = gateway.client("dynamodb", *session)
    with pytest.raises(ClientError) as refused:
        dynamodb.export_table_to_point_in_time(TableArn=TABLE_ARN, S3Bucket="not-yours", S3Prefix="steal")
    assert _refusal(refused.value) == (
        "AccessDeniedException",
        f"User: {arn} is not authorized to perform: s3:AbortMultipartUpload on resource: "
        "arn:aws:s3:::not-yours/steal/AWSDynamoDB/* because no identity-based policy allows the "
        "s3:AbortMultipartUpload action",
        400,
    )
    assert moto_s3.list_objects_v2(Bucket="not-yours").get("KeyCount") == 0


def test_a_prefix_outside_the_granted_one_is_refused(gateway: Server, world: dict[str, str]) -> None:
    narrow = {**EXPORT_S3, "Resource": f"arn:aws:s3:::{BUCKET}/exports/*"}
    arn, session = _export_role(gateway, world, narrow)
    dynamodb = gateway.client("dynamodb", *session)
    assert _export(dynamodb, "exports", None)["S3Bucket"] == BUCKET
    with pytest.raises(ClientError) as refused:
        _export(dynamodb, "elsewhere", None)
    assert (
        "s3:AbortMultipartUpload on resource: arn:aws:s3:::my-export-bucket/elsewhere/AWSDynamoDB/*"
        in (_refusal(refused.value)[1])
    )


def test_the_key_however_spelled_is_the_same_key_and_another_keys_alias_is_refused(
    gateway: Server, world: dict[str, str]
) -> None:
    kms = gateway.client("kms")
    other = kms.create_key(Description="not for exports")["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/not-for-exports", TargetKeyId=other)
    grant = {"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": world["key_arn"]}
    arn, session = _export_role(gateway, world, EXPORT_S3, grant)
    dynamodb = gateway.client("dynamodb", *session)
    key_id = world["key_arn"].rsplit("/", 1)[1]
    alias_arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:{ALIAS}"
    for spelling in (key_id, world["key_arn"], ALIAS, alias_arn):
        assert _export(dynamodb, "spelled", spelling)["S3Bucket"] == BUCKET
    for spelling in ("alias/not-for-exports", other, "alias/no-such-alias"):
        with pytest.raises(ClientError) as refused:
            _export(dynamodb, "other-key", spelling)
        message = _refusal(refused.value)[1]
        assert message.startswith(
            f"User: {arn} is not authorized to perform: kms:GenerateDataKey on resource: "
        )
        assert world["key_arn"] not in message


def test_via_service_conditions_hold_for_the_export_and_never_for_the_caller_directly(
    gateway: Server, world: dict[str, str]
) -> None:
    via_s3 = {
        "Effect": "Allow",
        "Action": "kms:GenerateDataKey",
        "Resource": world["key_arn"],
        "Condition": {
            "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"},
            "ForAnyValue:StringEquals": {"aws:CalledVia": "dynamodb.amazonaws.com"},
            "Bool": {"aws:ViaAWSService": "true"},
        },
    }
    arn, session = _export_role(gateway, world, EXPORT_S3, via_s3)
    assert _export(gateway.client("dynamodb", *session), "via", ALIAS)["S3Bucket"] == BUCKET
    kms = gateway.client("kms", *session)
    with pytest.raises(ClientError) as refused:
        kms.generate_data_key(KeyId=world["key_arn"], KeySpec="AES_256")
    assert _refusal(refused.value)[1] == (
        f"User: {arn} is not authorized to perform: kms:GenerateDataKey on resource: {world['key_arn']} "
        "because no identity-based policy allows the kms:GenerateDataKey action"
    )
    # A header naming a service is only a header: the caller is still not S3.
    events = kms.meta.events
    events.register("before-sign.kms.GenerateDataKey", _claim_via_s3)
    with pytest.raises(ClientError):
        kms.generate_data_key(KeyId=world["key_arn"], KeySpec="AES_256")
    events.unregister("before-sign.kms.GenerateDataKey", _claim_via_s3)


def _claim_via_s3(request: Any, **_: Any) -> None:
    request.headers["x-amz-via-service"] = "s3.us-east-1.amazonaws.com"
    request.headers["x-amz-source-service"] = "dynamodb.amazonaws.com"


def test_a_key_policy_that_denies_export_writes_refuses_the_export_in_its_own_words(
    gateway: Server, world: dict[str, str]
) -> None:
    kms = gateway.client("kms")
    policy = _doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "kms:GenerateDataKey",
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
        },
    )
    guarded = kms.create_key(Policy=policy)["KeyMetadata"]["Arn"]
    grant = {"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": guarded}
    arn, session = _export_role(gateway, world, EXPORT_S3, grant)
    with pytest.raises(ClientError) as refused:
        _export(gateway.client("dynamodb", *session), "guarded", guarded)
    assert _refusal(refused.value)[1] == (
        f"User: {arn} is not authorized to perform: kms:GenerateDataKey on resource: {guarded} "
        "with an explicit deny in a resource-based policy"
    )
    # The same key for the caller's own direct use: the key policy's deny is for S3's use only.
    assert gateway.client("kms", *session).generate_data_key(KeyId=guarded, KeySpec="AES_256")["KeyId"]
