"""Access Analyzer's ValidatePolicy through boto3 and the AWS CLI against the real server.

Authorized by the engine as access-analyzer:ValidatePolicy; paginated by maxResults/nextToken; bad
input refused with Access Analyzer's ValidationException.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.conftest import ROOT_KEY, ROOT_SECRET, Server, start_server, stop_server
from tests.integration.authz_helpers import Principal, allow, deny

TYPO = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObjectt", "dynamodbb:Scan"], "Resource": "*"}]}'  # noqa: E501
MANY = json.dumps(
    {
        "Statement": [
            {"Sid": "", "Effect": "Allow", "Action": ["s3:GetObjectt", "iam:PassRole"], "Resource": "*"},
            {"Effect": "Allow", "Action": "ec2:DescribeInstancez", "Resource": "arn:aws:s4:::b"},
        ]
    }
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("ostiary-analyzer")
    srv = start_server(data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite")
    yield srv
    stop_server(srv)


@pytest.fixture(scope="module")
def analyzer(server: Server) -> Any:
    return server.client("accessanalyzer")


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]


def test_findings_of_the_issue_examples(analyzer: Any) -> None:
    out = analyzer.validate_policy(policyDocument=TYPO, policyType="IDENTITY_POLICY")
    codes = [(f["issueCode"], f["findingType"]) for f in out["findings"]]
    assert codes == [("INVALID_ACTION", "ERROR"), ("INVALID_SERVICE_IN_ACTION", "ERROR")]
    first = out["findings"][0]
    assert first["findingDetails"] == "The action s3:GetObjectt does not exist. Did you mean s3:GetObject?"
    assert first["locations"][0]["path"] == [
        {"value": "Statement"},
        {"index": 0},
        {"value": "Action"},
        {"index": 0},
    ]
    span = first["locations"][0]["span"]
    assert TYPO[span["start"]["offset"] : span["end"]["offset"]] == '"s3:GetObjectt"'
    assert span["start"]["line"] == 1 and span["start"]["column"] == span["start"]["offset"]
    assert "nextToken" not in out


def test_trailing_comma_and_trust_policy(analyzer: Any) -> None:
    broken = (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"},]}'
    )
    (finding,) = analyzer.validate_policy(policyDocument=broken, policyType="IDENTITY_POLICY")["findings"]
    offset = broken.index("]")
    assert finding["issueCode"] == "JSON_SYNTAX_ERROR"
    assert finding["locations"][0]["span"]["start"] == {"line": 1, "column": offset, "offset": offset}
    trust = {
        "Statement": {
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "sts:AssumeRole",
            "Resource": "*",
        }
    }
    out = analyzer.validate_policy(
        policyDocument=json.dumps(trust),
        policyType="RESOURCE_POLICY",
        validatePolicyResourceType="AWS::IAM::AssumeRolePolicyDocument",
    )
    assert {f["issueCode"] for f in out["findings"]} == {
        "MISSING_VERSION",
        "ROLE_TRUST_POLICY_UNSUPPORTED_WILDCARD_IN_PRINCIPAL",
        "ROLE_TRUST_POLICY_SYNTAX_ERROR_RESOURCE",
    }


def test_pages_follow_max_results_and_next_token(analyzer: Any) -> None:
    everything = analyzer.validate_policy(policyDocument=MANY, policyType="IDENTITY_POLICY")["findings"]
    assert len(everything) >= 5
    pages, token = [], None
    while True:
        extra = {"nextToken": token} if token else {}
        out = analyzer.validate_policy(
            policyDocument=MANY, policyType="IDENTITY_POLICY", maxResults=2, **extra
        )
        pages.append(out["findings"])
        token = out.get("nextToken")
        if not token:
            break
    assert all(len(page) <= 2 for page in pages)
    assert [f for page in pages for f in page] == everything
    paginated = analyzer.get_paginator("validate_policy").paginate(
        policyDocument=MANY, policyType="IDENTITY_POLICY", PaginationConfig={"PageSize": 3}
    )
    assert [f for page in paginated for f in page["findings"]] == everything


def test_next_token_is_bound_to_its_request(analyzer: Any) -> None:
    token = analyzer.validate_policy(policyDocument=MANY, policyType="IDENTITY_POLICY", maxResults=1)[
        "nextToken"
    ]
    for kwargs in (
        {"policyDocument": TYPO, "policyType": "IDENTITY_POLICY", "nextToken": token},
        {"policyDocument": MANY, "policyType": "RESOURCE_POLICY", "nextToken": token},
        {"policyDocument": MANY, "policyType": "IDENTITY_POLICY", "nextToken": "bm90LWEtdG9rZW4="},
        {"policyDocument": MANY, "policyType": "IDENTITY_POLICY", "nextToken": "-1:" + "0" * 16},
    ):
        with pytest.raises(ClientError) as exc:
            analyzer.validate_policy(**kwargs)
        assert exc.value.response["Error"]["Code"] == "ValidationException"
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_bad_enum_is_a_validation_exception(analyzer: Any) -> None:
    with pytest.raises(ClientError) as exc:
        analyzer.validate_policy(policyDocument=TYPO, policyType="USER_POLICY")
    error = exc.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith("1 validation error detected: Value 'USER_POLICY' at 'policyType' ")
    assert exc.value.response["reason"] == "fieldValidationFailed"
    assert exc.value.response["fieldList"][0]["name"] == "policyType"
    with pytest.raises(ClientError) as exc:
        analyzer.validate_policy(
            policyDocument=TYPO, policyType="IDENTITY_POLICY", validatePolicyResourceType="AWS::S3::Bucket"
        )
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        analyzer.validate_policy(policyDocument=TYPO, policyType="IDENTITY_POLICY", maxResults=0)
    assert exc.value.response["Error"]["Code"] == "ValidationException"


def _raw(server: Server, body: bytes, path: str = "/policy/validation", secret: str = ROOT_SECRET) -> Any:
    """A request signed for access-analyzer with any body, past boto3's own validation."""
    url = server.endpoint + path
    request = AWSRequest("POST", url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(ROOT_KEY, secret), "access-analyzer", "us-east-1").add_auth(request)
    return urllib3.request("POST", url, body=body, headers=dict(request.headers))


def test_missing_members_and_unparsable_bodies(server: Server) -> None:
    response = _raw(server, json.dumps({"policyType": "IDENTITY_POLICY"}).encode())
    body = json.loads(response.data)
    assert response.status == 400 and body["__type"] == "ValidationException"
    assert body["fieldList"] == [{"name": "policyDocument", "message": "Member must not be null"}]
    for bad in (
        b"{not json",
        b"[]",
        json.dumps({"policyDocument": 7, "policyType": "IDENTITY_POLICY"}).encode(),
    ):
        response = _raw(server, bad)
        assert response.status == 400 and json.loads(response.data)["__type"] == "ValidationException"
    response = _raw(server, b"{}", path="/analyzer")
    assert response.status == 400 and json.loads(response.data)["reason"] == "unknownOperation"


def test_bad_signature_is_refused_not_answered(server: Server) -> None:
    body = json.dumps({"policyDocument": TYPO, "policyType": "IDENTITY_POLICY"}).encode()
    response = _raw(server, body, secret="wrong" * 8)
    assert response.status == 403
    assert "findings" not in json.loads(response.data)


def test_engine_decides_who_may_validate(server: Server, unique: str) -> None:
    root_iam = server.client("iam")
    nobody = Principal(server, root_iam, f"nobody-{unique}")
    allowed = Principal(server, root_iam, f"allowed-{unique}", allow("access-analyzer:ValidatePolicy"))
    fenced = Principal(
        server, root_iam, f"fenced-{unique}", allow("access-analyzer:*"), deny("access-analyzer:Validate*")
    )
    ok = _client_of(server, root_iam, allowed.name)
    assert ok.validate_policy(policyDocument=TYPO, policyType="IDENTITY_POLICY")["findings"]
    for who in (nobody, fenced):
        with pytest.raises(ClientError) as exc:
            _client_of(server, root_iam, who.name).validate_policy(
                policyDocument=TYPO, policyType="IDENTITY_POLICY"
            )
        error = exc.value.response["Error"]
        assert error["Code"] == "AccessDeniedException"
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert (
            f"user/{who.name} is not authorized to perform: access-analyzer:ValidatePolicy"
            in error["Message"]
        )


def _client_of(server: Server, root_iam: Any, name: str) -> Any:
    """An accessanalyzer client with a fresh key of the user."""
    key = root_iam.create_access_key(UserName=name)["AccessKey"]
    return server.client("accessanalyzer", key["AccessKeyId"], key["SecretAccessKey"])


def test_aws_cli_validate_policy(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text(TYPO)
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID=ROOT_KEY,
        AWS_SECRET_ACCESS_KEY=ROOT_SECRET,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
    )
    command = [
        sys.executable, "-m", "awscli", "accessanalyzer", "validate-policy",
        "--endpoint-url", server.endpoint, "--policy-type", "IDENTITY_POLICY",
        "--policy-document", f"file://{path}", "--output", "json",
    ]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert [f["issueCode"] for f in findings] == ["INVALID_ACTION", "INVALID_SERVICE_IN_ACTION"]


def test_hostile_documents_get_answers(analyzer: Any) -> None:
    deep = '{"Statement": ' + "[" * 50_000 + "]" * 50_000 + "}"
    (finding,) = analyzer.validate_policy(policyDocument=deep, policyType="IDENTITY_POLICY")["findings"]
    assert finding["issueCode"] == "JSON_SYNTAX_ERROR"
    patterns = [f"*:*{i}*" for i in range(20_000)]
    wide = json.dumps(
        {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": patterns, "Resource": "*"}}
    )
    out = analyzer.validate_policy(policyDocument=wide, policyType="IDENTITY_POLICY", maxResults=5)
    assert len(out["findings"]) <= 5
    odd = json.dumps({"Statement": {"Effect": "Allow", "Action": "\ud800:\u00e9", "Resource": "*"}})
    codes = [
        f["issueCode"]
        for f in analyzer.validate_policy(policyDocument=odd, policyType="IDENTITY_POLICY")["findings"]
    ]
    assert "INVALID_SERVICE_IN_ACTION" in codes
