"""Access Analyzer's policy generation through boto3: StartPolicyGeneration over what a user or role did
as the trail recorded it, GetGeneratedPolicy with and without resources, ListPolicyGenerations in
pages, CancelPolicyGeneration, the job states and the refusals."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.integration.authz_helpers import Principal, allow, denied, doc


def _analyzer(server: Server, user: str | None = None) -> Any:
    """An Access Analyzer client of the root, or of a new access key of `user`."""
    if user is None:
        return server.client("accessanalyzer")
    key = server.client("iam").create_access_key(UserName=user)["AccessKey"]
    return server.client("accessanalyzer", key["AccessKeyId"], key["SecretAccessKey"])


def _details(server: Server, principal_arn: str, **extra: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    trail = {
        "trails": [
            {
                "cloudTrailArn": f"arn:aws:cloudtrail:us-east-1:{server.account_id}:trail/main",
                "allRegions": True,
            }
        ],
        "accessRole": f"arn:aws:iam::{server.account_id}:role/service-role/AccessAnalyzerMonitorServiceRole",
        "startTime": now - timedelta(hours=1),
        "endTime": now + timedelta(minutes=5),
    }
    trail.update(extra)
    return {"policyGenerationDetails": {"principalArn": principal_arn}, "cloudTrailDetails": trail}


def _statements(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s
        for p in result["generatedPolicyResult"]["generatedPolicies"]
        for s in json.loads(p["policy"])["Statement"]
    ]


def test_the_generated_policy_allows_what_the_user_was_allowed_to_do(
    server: Server, iam: Any, unique: str
) -> None:
    account = server.account_id
    user = Principal(
        server,
        iam,
        f"gen-{unique}",
        allow(["iam:GetUser", "iam:ListAccessKeys"]),
        allow("iam:GetRole", "arn:aws:iam::1:role/x"),
    )
    user.iam.get_user()
    user.iam.list_access_keys(UserName=user.name)
    with pytest.raises(ClientError) as exc:
        user.iam.get_role(RoleName="elsewhere")
    denied(exc)
    analyzer = _analyzer(server)
    job = analyzer.start_policy_generation(**_details(server, user.arn))["jobId"]
    found = analyzer.get_generated_policy(jobId=job, includeResourcePlaceholders=True)
    assert found["jobDetails"]["status"] == "SUCCEEDED" and "jobError" not in found["jobDetails"]
    assert found["jobDetails"]["completedOn"] >= found["jobDetails"]["startedOn"]
    properties = found["generatedPolicyResult"]["properties"]
    assert properties["principalArn"] == user.arn and properties["isComplete"] is True
    assert properties["cloudTrailProperties"]["trailProperties"][0]["allRegions"] is True
    assert _statements(found) == [
        {
            "Effect": "Allow",
            "Action": ["iam:GetUser", "iam:ListAccessKeys"],
            "Resource": f"arn:aws:iam::{account}:user/{user.name}",
        }
    ]
    wildcard = analyzer.get_generated_policy(jobId=job)
    assert _statements(wildcard) == [
        {"Effect": "Allow", "Action": ["iam:GetUser", "iam:ListAccessKeys"], "Resource": "*"}
    ]


def test_jobs_are_listed_in_pages_and_a_finished_one_cannot_be_cancelled(
    server: Server, iam: Any, unique: str
) -> None:
    user = Principal(server, iam, f"gen-list-{unique}")
    analyzer = _analyzer(server)
    jobs = [analyzer.start_policy_generation(**_details(server, user.arn))["jobId"] for _ in range(3)]
    first = analyzer.list_policy_generations(principalArn=user.arn, maxResults=2)
    rest = analyzer.list_policy_generations(principalArn=user.arn, maxResults=2, nextToken=first["nextToken"])
    listed = first["policyGenerations"] + rest["policyGenerations"]
    assert [g["jobId"] for g in listed] == jobs and "nextToken" not in rest
    assert {g["status"] for g in listed} == {"SUCCEEDED"} and {g["principalArn"] for g in listed} == {
        user.arn
    }
    analyzer.cancel_policy_generation(jobId=jobs[0])
    assert analyzer.get_generated_policy(jobId=jobs[0])["jobDetails"]["status"] == "SUCCEEDED"
    with pytest.raises(ClientError) as exc:
        analyzer.list_policy_generations(principalArn=user.arn, nextToken="bm90IGEgdG9rZW4=")
    assert exc.value.response["Error"]["Code"] == "ValidationException"


def test_the_same_client_token_gives_the_same_job(server: Server, iam: Any, unique: str) -> None:
    user = Principal(server, iam, f"gen-token-{unique}")
    analyzer = _analyzer(server)
    details = _details(server, user.arn)
    first = analyzer.start_policy_generation(clientToken=f"t-{unique}", **details)["jobId"]
    assert analyzer.start_policy_generation(clientToken=f"t-{unique}", **details)["jobId"] == first
    assert analyzer.start_policy_generation(clientToken=f"u-{unique}", **details)["jobId"] != first
    with ThreadPoolExecutor(8) as pool:  # at once: one job, whoever stores it first
        found = set(
            pool.map(
                lambda _: analyzer.start_policy_generation(clientToken=f"v-{unique}", **details)["jobId"],
                range(8),
            )
        )
    assert len(found) == 1


def test_a_principal_that_does_not_exist_fails_the_job(server: Server, unique: str) -> None:
    analyzer = _analyzer(server)
    arn = f"arn:aws:iam::{server.account_id}:role/nobody-{unique}"
    job = analyzer.start_policy_generation(**_details(server, arn))["jobId"]
    found = analyzer.get_generated_policy(jobId=job)
    assert found["jobDetails"]["status"] == "FAILED"
    assert found["jobDetails"]["jobError"]["code"] == "RESOURCE_NOT_FOUND_ERROR"
    assert "generatedPolicies" not in found["generatedPolicyResult"]


def test_bad_periods_arns_and_job_ids_are_refused(server: Server, iam: Any, unique: str) -> None:
    user = Principal(server, iam, f"gen-bad-{unique}")
    analyzer = _analyzer(server)
    now = datetime.now(UTC)
    cases = [
        _details(server, user.arn, startTime=now - timedelta(days=100), endTime=now),
        _details(server, user.arn, startTime=now, endTime=now - timedelta(hours=1)),
        _details(server, user.arn, startTime=now + timedelta(days=1), endTime=now + timedelta(days=2)),
        _details(server, user.arn, trails=[{"cloudTrailArn": "arn:aws:s3:::not-a-trail"}]),
        _details(server, user.arn, accessRole=f"arn:aws:iam::{server.account_id}:user/not-a-role"),
        {"policyGenerationDetails": {"principalArn": user.arn}},
    ]
    for params in cases:
        with pytest.raises(ClientError) as exc:
            analyzer.start_policy_generation(**params)
        assert exc.value.response["Error"]["Code"] == "ValidationException", params
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    for call in (analyzer.get_generated_policy, analyzer.cancel_policy_generation):
        with pytest.raises(ClientError) as exc:
            call(jobId=f"no-such-job-{unique}")
        assert exc.value.response["Error"]["Code"] == "ValidationException"


def test_generation_is_authorized_and_needs_pass_role(server: Server, iam: Any, unique: str) -> None:
    target = Principal(server, iam, f"gen-target-{unique}")
    nobody = _analyzer(server, Principal(server, iam, f"gen-nobody-{unique}").name)
    with pytest.raises(ClientError) as exc:
        nobody.start_policy_generation(**_details(server, target.arn))
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "access-analyzer:StartPolicyGeneration" in exc.value.response["Error"]["Message"]
    starter = Principal(server, iam, f"gen-starter-{unique}", allow("access-analyzer:*"))
    starting = _analyzer(server, starter.name)
    with pytest.raises(ClientError) as exc:
        starting.start_policy_generation(**_details(server, target.arn))
    assert "iam:PassRole" in exc.value.response["Error"]["Message"]
    iam.put_user_policy(UserName=starter.name, PolicyName="pass", PolicyDocument=doc(allow("iam:PassRole")))
    job = starting.start_policy_generation(**_details(server, target.arn))["jobId"]
    assert starting.get_generated_policy(jobId=job)["jobDetails"]["status"] == "SUCCEEDED"
    # the job is the account's: a user without the permission does not read it
    with pytest.raises(ClientError) as exc:
        nobody.get_generated_policy(jobId=job)
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"


def test_another_accounts_jobs_and_principals_are_out_of_reach(server: Server, iam: Any, unique: str) -> None:
    user = Principal(server, iam, f"gen-iso-{unique}", allow("iam:GetUser"))
    user.iam.get_user()
    analyzer = _analyzer(server)
    job = analyzer.start_policy_generation(**_details(server, user.arn))["jobId"]
    report = iam.generate_service_last_accessed_details(Arn=user.arn)["JobId"]
    root = server.new_account()
    other_analyzer = server.client("accessanalyzer", root["AccessKeyId"], root["SecretAccessKey"])
    other_iam = server.client("iam", root["AccessKeyId"], root["SecretAccessKey"])
    with pytest.raises(ClientError) as exc:
        other_analyzer.get_generated_policy(jobId=job)
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert other_analyzer.list_policy_generations()["policyGenerations"] == []
    # the other account names the first account's user: that principal is not its own, the job fails
    theirs = other_analyzer.start_policy_generation(**_details(server, user.arn))["jobId"]
    assert other_analyzer.get_generated_policy(jobId=theirs)["jobDetails"]["status"] == "FAILED"
    for call in (
        lambda: other_iam.get_service_last_accessed_details(JobId=report),
        lambda: other_iam.generate_service_last_accessed_details(Arn=user.arn),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert exc.value.response["Error"]["Code"] == "NoSuchEntity"
