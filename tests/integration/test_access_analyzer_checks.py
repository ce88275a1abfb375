"""CheckNoNewAccess, CheckAccessNotGranted and CheckNoPublicAccess through boto3 against the real server.

The reference story on a real role (DynamoDBExportRole), AWS's shapes and errors, the engine deciding
who may call them, and hostile documents answered.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, start_server, stop_server
from tests.integration.authz_helpers import Principal, allow, deny, doc

EXPORT_POLICY = doc(
    allow(
        ["dynamodb:ExportTableToPointInTime", "dynamodb:DescribeExport"], "arn:aws:dynamodb:*:*:table/orders"
    ),
    allow(["s3:PutObject", "s3:AbortMultipartUpload", "s3:PutObjectAcl"], "arn:aws:s3:::ddb-exports/*"),
)
PUBLIC_BUCKET = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Site",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::site/*",
            }
        ],
    }
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("ostiary-checks")
    srv = start_server(data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite")
    yield srv
    stop_server(srv)


@pytest.fixture(scope="module")
def analyzer(server: Server) -> Any:
    return server.client("accessanalyzer")


def test_reference_story_on_the_export_role(server: Server, analyzer: Any) -> None:
    iam = server.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    name = f"DynamoDBExportRole-{uuid.uuid4().hex[:6]}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName=name, PolicyName="export", PolicyDocument=EXPORT_POLICY)
    stored = iam.get_role_policy(RoleName=name, PolicyName="export")["PolicyDocument"]
    existing = stored if isinstance(stored, str) else json.dumps(stored)
    edited = json.loads(existing)
    edited["Statement"][1]["Action"].append("s3:DeleteObject")
    out = analyzer.check_no_new_access(
        newPolicyDocument=json.dumps(edited), existingPolicyDocument=existing, policyType="IDENTITY_POLICY"
    )
    assert out["result"] == "FAIL"
    assert out["message"] == "The modified permissions grant new access compared to your existing policy."
    (reason,) = out["reasons"]
    assert reason["statementIndex"] == 1 and "statementId" not in reason
    assert reason["description"].startswith("New access in the statement with index: 1. Example request:")
    assert (
        "`s3:deleteobject`" in reason["description"] and "arn:aws:s3:::ddb-exports/" in reason["description"]
    )
    out = analyzer.check_access_not_granted(
        policyDocument=existing, access=[{"actions": ["iam:*"]}], policyType="IDENTITY_POLICY"
    )
    assert out["result"] == "PASS" and out["reasons"] == []
    same = analyzer.check_no_new_access(
        newPolicyDocument=existing, existingPolicyDocument=json.dumps(edited), policyType="IDENTITY_POLICY"
    )
    assert same["result"] == "PASS"
    assert (
        same["message"]
        == "The modified permissions do not grant new access compared to your existing policy."
    )


def test_trust_policy_allow_list(analyzer: Any) -> None:
    def trust(*accounts: str) -> str:
        principal = {"AWS": [f"arn:aws:iam::{a}:root" for a in accounts]}
        statement = {"Sid": "Partners", "Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]})

    out = analyzer.check_no_new_access(
        newPolicyDocument=trust("210987654321", "333344445555"),
        existingPolicyDocument=trust("210987654321"),
        policyType="RESOURCE_POLICY",
    )
    assert out["result"] == "FAIL"
    assert (
        out["reasons"][0]["statementId"] == "Partners" and "333344445555" in out["reasons"][0]["description"]
    )


def test_access_not_granted_with_resources(analyzer: Any) -> None:
    policy = doc(allow("s3:*", "arn:aws:s3:::public-*"), deny("s3:DeleteBucket"))
    out = analyzer.check_access_not_granted(
        policyDocument=policy,
        access=[{"resources": ["arn:aws:s3:::payroll/*"]}],
        policyType="IDENTITY_POLICY",
    )
    assert out["result"] == "PASS"
    out = analyzer.check_access_not_granted(
        policyDocument=policy,
        access=[{"actions": ["s3:DeleteBucket", "s3:PutObject"], "resources": ["arn:aws:s3:::public-web*"]}],
        policyType="IDENTITY_POLICY",
    )
    assert out["result"] == "FAIL" and "`s3:putobject`" in out["reasons"][0]["description"]
    assert out["reasons"][0]["description"].startswith(
        "One or more of the listed actions or resources in the statement with index: 0."
    )


def test_no_public_access(analyzer: Any) -> None:
    out = analyzer.check_no_public_access(policyDocument=PUBLIC_BUCKET, resourceType="AWS::S3::Bucket")
    assert out["result"] == "FAIL"
    assert out["message"] == "The resource policy grants public access for the given resource type."
    assert out["reasons"][0]["statementId"] == "Site" and out["reasons"][0]["statementIndex"] == 0
    fenced = json.loads(PUBLIC_BUCKET)
    fenced["Statement"][0]["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3"}}
    out = analyzer.check_no_public_access(policyDocument=json.dumps(fenced), resourceType="AWS::S3::Bucket")
    assert out == {**out, "result": "PASS", "reasons": []}
    key_policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
    )
    assert (
        analyzer.check_no_public_access(policyDocument=key_policy, resourceType="AWS::KMS::Key")["result"]
        == "PASS"
    )


def _error(call: Any, **params: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as exc:
        call(**params)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return exc.value.response["Error"]


def test_bad_requests_are_validation_exceptions(server: Server, analyzer: Any) -> None:
    error = _error(
        analyzer.check_no_new_access,
        newPolicyDocument="{",
        existingPolicyDocument=EXPORT_POLICY,
        policyType="IDENTITY_POLICY",
    )
    assert error["Code"] == "ValidationException" and error["Message"].startswith("Invalid policy document")
    error = _error(
        analyzer.check_no_public_access, policyDocument=PUBLIC_BUCKET, resourceType="AWS::EC2::Instance"
    )
    assert error["Code"] == "ValidationException" and "Member must satisfy enum value set" in error["Message"]
    actions = [f"s3:Get{i}" for i in range(101)]
    error = _error(
        analyzer.check_access_not_granted,
        policyDocument=EXPORT_POLICY,
        access=[{"actions": actions}],
        policyType="IDENTITY_POLICY",
    )
    assert error["Code"] == "ValidationException" and "less than or equal to 100" in error["Message"]
    error = _error(
        analyzer.check_access_not_granted,
        policyDocument=EXPORT_POLICY,
        access=[{"actions": ["s3:GetObject"]}, {"actions": ["s3:PutObject"]}],
        policyType="IDENTITY_POLICY",
    )
    assert error["Code"] == "ValidationException"
    error = _error(
        analyzer.check_access_not_granted,
        policyDocument=EXPORT_POLICY,
        access=[{}],
        policyType="IDENTITY_POLICY",
    )
    assert error["Code"] == "ValidationException"
    error = _error(
        analyzer.check_no_new_access,
        newPolicyDocument=PUBLIC_BUCKET,
        existingPolicyDocument=EXPORT_POLICY,
        policyType="IDENTITY_POLICY",
    )
    assert error["Code"] == "ValidationException"  # a Principal in an identity policy
    huge = doc(*[allow(f"s3:Get{i}", f"arn:aws:s3:::b{i}") for i in range(3000)])
    error = _error(analyzer.check_no_public_access, policyDocument=huge, resourceType="AWS::S3::Bucket")
    assert error["Code"] == "ValidationException" and "longer than" in error["Message"]


def test_engine_decides_who_may_check(server: Server) -> None:
    root_iam = server.client("iam")
    suffix = uuid.uuid4().hex[:8]
    allowed = Principal(server, root_iam, f"checker-{suffix}", allow("access-analyzer:CheckNoNewAccess"))
    fenced = Principal(
        server, root_iam, f"fenced-{suffix}", allow("access-analyzer:*"), deny("access-analyzer:Check*")
    )
    for who, is_allowed in ((allowed, True), (fenced, False)):
        key = root_iam.create_access_key(UserName=who.name)["AccessKey"]
        client = server.client("accessanalyzer", key["AccessKeyId"], key["SecretAccessKey"])
        params = {
            "newPolicyDocument": EXPORT_POLICY,
            "existingPolicyDocument": EXPORT_POLICY,
            "policyType": "IDENTITY_POLICY",
        }
        if is_allowed:
            assert client.check_no_new_access(**params)["result"] == "PASS"
            continue
        with pytest.raises(ClientError) as exc:
            client.check_no_new_access(**params)
        assert exc.value.response["Error"]["Code"] == "AccessDeniedException"
        assert "access-analyzer:CheckNoNewAccess" in exc.value.response["Error"]["Message"]


def test_hostile_documents_get_answers(server: Server) -> None:
    client = server.client("accessanalyzer", read_timeout=120)
    many = doc(*[allow(f"s3:Get{i}*", f"arn:aws:s3:::b{i}/*") for i in range(900)])
    out = client.check_no_new_access(
        newPolicyDocument=many, existingPolicyDocument=EXPORT_POLICY, policyType="IDENTITY_POLICY"
    )
    assert out["result"] == "FAIL"
    pathological = doc(allow("s3:GetObject", "arn:aws:s3:::*a" + "?" * 40))
    narrower = doc(allow("s3:GetObject", "arn:aws:s3:::*a" + "?" * 39 + "b"))
    out = client.check_no_new_access(
        newPolicyDocument=narrower, existingPolicyDocument=pathological, policyType="IDENTITY_POLICY"
    )
    assert out["result"] == "FAIL" and out["reasons"] == [] and "could not prove" in out["message"]


def test_concurrent_checks_answer_each_its_own(server: Server) -> None:
    client = server.client("accessanalyzer", read_timeout=120)
    added = json.loads(EXPORT_POLICY)
    added["Statement"][1]["Action"].append("s3:DeleteObject")
    cases = [(json.dumps(added), EXPORT_POLICY, "FAIL"), (EXPORT_POLICY, json.dumps(added), "PASS")] * 4

    def run(case: tuple[str, str, str]) -> tuple[str, str]:
        new, old, _ = case
        out = client.check_no_new_access(
            newPolicyDocument=new, existingPolicyDocument=old, policyType="IDENTITY_POLICY"
        )
        return out["result"], json.dumps(out["reasons"])

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(run, cases))
    assert [a[0] for a in answers] == [c[2] for c in cases]
    assert all("s3:deleteobject" in reasons for result, reasons in answers if result == "FAIL")
