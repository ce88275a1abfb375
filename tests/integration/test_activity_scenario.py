"""The reference scenario's day, read back from the trail: Michael assumes DynamoDBExportRole, the role
describes and scans the table, exports it to `my-export-bucket` encrypted with the scenario's KMS key
and lists the export, all through the gateway (moto as the backend). Then the role's last-accessed
data lists DynamoDB, S3 and KMS with the actions used, and the policy Access Analyzer generates from
its day allows exactly what it did: a new role holding only that policy repeats the day, and is
refused what the day did not do."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT, Server, start_server, stop_server
from tests.integration.gateway_helpers import moto_backend

pytest.importorskip(
    "moto.server", reason="moto's server is the gateway's test backend (pip install moto[server])"
)

TABLE = "Orders"
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{TABLE}"
BUCKET = "my-export-bucket"
ALIAS = "alias/scenario-export"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/DynamoDBExportRole"
MICHAEL_ARN = f"arn:aws:iam::{ACCOUNT}:user/Michael"
# What the role's day needs, action by action (the export also asks S3 and KMS on the role's behalf).
DAY_ACTIONS = {
    "dynamodb": {"DescribeTable", "Scan", "ExportTableToPointInTime"},
    "s3": {"AbortMultipartUpload", "ListBucket", "PutObject", "PutObjectAcl"},
    "kms": {"GenerateDataKey"},
}


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


TRUST = _doc(
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    backend_run = moto_backend(tmp_path_factory)
    backend = next(backend_run)
    data_dir = tmp_path_factory.mktemp("ostiary-activity")
    backends = [arg for service in ("dynamodb", "kms", "s3") for arg in ("--backend", f"{service}={backend}")]
    server = start_server(data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite", *backends)
    yield server
    stop_server(server)
    backend_run.close()


@pytest.fixture(scope="module")
def day(gateway: Server) -> dict[str, Any]:
    """The scenario's resources and people, then the day: Michael assumes the role, the role works."""
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
    dynamodb.put_item(TableName=TABLE, Item={"OrderId": {"S": "o-1"}})
    key_arn = gateway.client("kms").create_key(Description="scenario export key")["KeyMetadata"]["Arn"]
    gateway.client("kms").create_alias(AliasName=ALIAS, TargetKeyId=key_arn)
    gateway.client("s3").create_bucket(Bucket=BUCKET)
    iam = gateway.client("iam")
    iam.create_user(UserName="Michael")
    iam.put_user_policy(
        UserName="Michael",
        PolicyName="assume-export",
        PolicyDocument=_doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}),
    )
    key = iam.create_access_key(UserName="Michael")["AccessKey"]
    iam.create_role(RoleName="DynamoDBExportRole", AssumeRolePolicyDocument=TRUST)
    iam.put_role_policy(
        RoleName="DynamoDBExportRole",
        PolicyName="export",
        PolicyDocument=_doc(
            {"Effect": "Allow", "Action": "dynamodb:*", "Resource": [TABLE_ARN, f"{TABLE_ARN}/*"]},
            {
                "Effect": "Allow",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
            },
            {
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": key_arn,
            },
        ),
    )
    michael = (key["AccessKeyId"], key["SecretAccessKey"])
    _work(gateway, michael, ROLE_ARN, "nightly")
    return {"michael": michael, "key_arn": key_arn}


def _work(gateway: Server, michael: tuple[str, str], role_arn: str, prefix: str) -> None:
    """The role's part of the day: describe, scan, export with the scenario's key, list the export."""
    creds = gateway.client("sts", *michael).assume_role(RoleArn=role_arn, RoleSessionName=prefix)[
        "Credentials"
    ]
    session = (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    dynamodb = gateway.client("dynamodb", *session)
    dynamodb.describe_table(TableName=TABLE)
    dynamodb.scan(TableName=TABLE)
    dynamodb.export_table_to_point_in_time(
        TableArn=TABLE_ARN, S3Bucket=BUCKET, S3Prefix=prefix, S3SseAlgorithm="KMS", S3SseKmsKeyId=ALIAS
    )
    s3 = gateway.client("s3", *session)
    for _ in range(100):  # moto writes the export on a thread of its own
        if s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/").get("KeyCount"):
            return
        time.sleep(0.1)
    raise AssertionError("the export wrote nothing into the bucket")


def _report(iam: Any, arn: str) -> dict[str, dict[str, Any]]:
    job = iam.generate_service_last_accessed_details(Arn=arn, Granularity="ACTION_LEVEL")["JobId"]
    services = iam.get_service_last_accessed_details(JobId=job)["ServicesLastAccessed"]
    return {s["ServiceNamespace"]: s for s in services}


def test_the_roles_last_accessed_data_lists_the_services_and_actions_of_its_day(
    gateway: Server, day: dict[str, Any]
) -> None:
    services = _report(gateway.client("iam"), ROLE_ARN)
    assert sorted(services) == ["dynamodb", "kms", "s3"]  # what the role's policy allows
    now = datetime.now(UTC)
    for namespace, expected in DAY_ACTIONS.items():
        entry = services[namespace]
        assert entry["LastAuthenticatedEntity"] == ROLE_ARN and entry["TotalAuthenticatedEntities"] == 1
        assert entry["LastAuthenticatedRegion"] == "us-east-1"
        assert now - entry["LastAuthenticated"] < timedelta(minutes=5)
        used = {a["ActionName"] for a in entry["TrackedActionsLastAccessed"] if "LastAccessedTime" in a}
        assert used == expected, namespace
    michael = _report(gateway.client("iam"), MICHAEL_ARN)
    tracked = {a["ActionName"]: a for a in michael["sts"]["TrackedActionsLastAccessed"]}
    assert tracked["AssumeRole"]["LastAccessedEntity"] == MICHAEL_ARN


def test_the_generated_policy_allows_exactly_what_the_role_did(gateway: Server, day: dict[str, Any]) -> None:
    analyzer = gateway.client("accessanalyzer")
    now = datetime.now(UTC)
    job = analyzer.start_policy_generation(
        policyGenerationDetails={"principalArn": ROLE_ARN},
        cloudTrailDetails={
            "trails": [
                {"cloudTrailArn": f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/main", "allRegions": True}
            ],
            "accessRole": f"arn:aws:iam::{ACCOUNT}:role/service-role/AccessAnalyzerMonitorServiceRole",
            "startTime": now - timedelta(hours=1),
            "endTime": now + timedelta(minutes=1),
        },
    )["jobId"]
    found = analyzer.get_generated_policy(jobId=job, includeResourcePlaceholders=True)
    assert found["jobDetails"]["status"] == "SUCCEEDED"
    documents = [p["policy"] for p in found["generatedPolicyResult"]["generatedPolicies"]]
    statements = [s for d in documents for s in json.loads(d)["Statement"]]
    granted = {a for s in statements for a in s["Action"]}
    assert granted == {f"{service}:{a}" for service, names in DAY_ACTIONS.items() for a in names}
    resources = {
        r for s in statements for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
    }
    assert "*" not in resources and TABLE_ARN in resources and day["key_arn"] in resources
    assert f"arn:aws:s3:::{BUCKET}" in resources

    # A new role holding only the generated policy repeats the day, and may do nothing else.
    iam = gateway.client("iam")
    iam.create_role(RoleName="GeneratedExportRole", AssumeRolePolicyDocument=TRUST)
    for i, document in enumerate(documents):
        iam.put_role_policy(
            RoleName="GeneratedExportRole", PolicyName=f"generated-{i}", PolicyDocument=document
        )
    generated_arn = f"arn:aws:iam::{ACCOUNT}:role/GeneratedExportRole"
    _work(gateway, day["michael"], generated_arn, "nightly")
    creds = gateway.client("sts", *day["michael"]).assume_role(RoleArn=generated_arn, RoleSessionName="more")
    session = [creds["Credentials"][k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")]
    for refused in (
        lambda: gateway.client("dynamodb", *session).put_item(
            TableName=TABLE, Item={"OrderId": {"S": "o-9"}}
        ),
        lambda: gateway.client("s3", *session).get_object(Bucket=BUCKET, Key="nightly/manifest-summary.json"),
        lambda: gateway.client("kms", *session).decrypt(CiphertextBlob=b"x" * 64, KeyId=day["key_arn"]),
    ):
        with pytest.raises(ClientError) as exc:
            refused()
        assert exc.value.response["Error"]["Code"] in ("AccessDeniedException", "AccessDenied")
