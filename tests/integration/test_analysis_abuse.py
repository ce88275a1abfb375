"""An attacker's pass over the analysis features: Access Analyzer (checks, analyzers, findings, policy
generation), IAM's last-accessed reports, the credential report, the simulator and CloudTrail's
LookupEvents, driven through boto3 (and raw signed requests where boto3 would refuse to send).

Each test names the hole it closes: hostile input answered with AWS's error and never a 500, and
another account's ids, tokens and entities never reached.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from ostiary.access_analyzer.solver_threads import LIMIT
from tests.conftest import Server, start_server, stop_server

DEEP = 30_000  # arrays nested past the interpreter's recursion limit (within CloudTrail's 64 KiB body)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("ostiary-analysis-abuse")
    srv = start_server(data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite")
    yield srv
    stop_server(srv)  # fails the module when the server logged a traceback


def _client(server: Server, service: str, account: dict[str, str], **config: Any) -> Any:
    return server.client(service, account["AccessKeyId"], account["SecretAccessKey"], **config)


def _post(
    server: Server, account: dict[str, str], service: str, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    """A request boto3 would not send, signed as the account's root: (status, JSON body)."""
    url = server.endpoint + path
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    SigV4Auth(Credentials(account["AccessKeyId"], account["SecretAccessKey"]), service, "us-east-1").add_auth(
        request
    )
    sent = urllib.request.Request(url, data=body, method="POST", headers=dict(request.headers))
    try:
        with urllib.request.urlopen(sent, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_request_bodies_nested_past_the_recursion_limit_are_refused_as_unparsable(server: Server) -> None:
    """Was: RecursionError out of json.loads, answered 500 with a traceback in the log."""
    account = server.new_account()
    body = b'{"a":' + b"[" * DEEP + b"]" * DEEP + b"}"
    status, answer = _post(
        server, account, "access-analyzer", "/policy/check-no-new-access", body,
        {"Content-Type": "application/json"},
    )  # fmt: skip
    assert (status, answer["__type"]) == (400, "ValidationException")
    assert answer["message"] == "Unable to parse request body"
    status, answer = _post(
        server, account, "cloudtrail", "/", body,
        {"Content-Type": "application/x-amz-json-1.1",
         "X-Amz-Target": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"},
    )  # fmt: skip
    assert status == 400 and answer["__type"].endswith("SerializationException")


def test_forged_next_tokens_of_nested_arrays_are_invalid_tokens(server: Server) -> None:
    """Was: the token decoded to arrays nested past the recursion limit, answered 500."""
    account = server.new_account()
    analyzer = _client(server, "accessanalyzer", account)
    forged = base64.urlsafe_b64encode(b"[" * 3000).decode()
    principal = f"arn:aws:iam::{account['AccountId']}:user/nobody"
    for call in (
        lambda: analyzer.list_analyzers(nextToken=forged),
        lambda: analyzer.list_policy_generations(principalArn=principal, nextToken=forged),
        lambda: analyzer.list_archive_rules(analyzerName="any", nextToken=forged),
    ):
        with pytest.raises(ClientError) as error:
            call()
        assert _code(error) == "ValidationException"


def test_a_statement_with_a_hundred_conditions_is_decided_not_a_failure(server: Server, unique: str) -> None:
    """Was: the engine's inlined statement nested an `if` per condition past Python's 100 levels, so
    every request of a principal holding such a policy (6,144 characters allow 110) answered 500."""
    account = server.new_account()
    iam = _client(server, "iam", account)
    keys = {f"aws:RequestTag/k{i}": "x" for i in range(110)}
    condition = {"StringNotEquals": keys}
    statement = {"Effect": "Allow", "Action": "iam:Get*", "Resource": "*", "Condition": condition}
    document = json.dumps({"Version": "2012-10-17", "Statement": [statement]}, separators=(",", ":"))
    iam.create_user(UserName=f"wide-{unique}")
    arn = iam.create_policy(PolicyName=f"wide-{unique}", PolicyDocument=document)["Policy"]["Arn"]
    iam.attach_user_policy(UserName=f"wide-{unique}", PolicyArn=arn)
    key = iam.create_access_key(UserName=f"wide-{unique}")["AccessKey"]
    user = server.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
    assert user.get_user()["User"]["UserName"] == f"wide-{unique}"
    analyzer = _client(server, "accessanalyzer", account, read_timeout=120)
    out = analyzer.check_access_not_granted(
        policyDocument=document, access=[{"actions": ["iam:GetUser"]}], policyType="IDENTITY_POLICY"
    )
    assert out["result"] == "FAIL"


def _slow_check(analyzer: Any) -> Any:
    """A check that spends seconds of solver work (a `*a??…?` pattern past the automaton budget)."""
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*a" + "?" * 40}
    narrower = dict(statement, Resource="arn:aws:s3:::*a" + "?" * 39 + "b")
    return analyzer.check_no_new_access(
        newPolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [narrower]}),
        existingPolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
        policyType="IDENTITY_POLICY",
    )


def test_checks_flooding_the_server_never_hold_up_another_accounts_calls(server: Server) -> None:
    """Was: the checks ran on the event loop's shared threads; one account's dozen checks held all of
    them and another account's ListUsers waited behind every check. Now the checks have threads of
    their own, and past `solver_threads.LIMIT` admitted a check is ThrottlingException at once."""
    attacker, victim = server.new_account(), server.new_account()
    analyzer = _client(server, "accessanalyzer", attacker, read_timeout=300, max_pool_connections=16)
    iam = _client(server, "iam", victim)
    iam.list_users()  # connected and warm
    finished: list[str] = []  # what ended, in order: an answered check, or ListUsers

    def check(_: int) -> str:
        try:
            _slow_check(analyzer)
        except ClientError as error:
            return str(error.response["Error"]["Code"])
        finished.append("check")
        return "answered"

    with ThreadPoolExecutor(12) as pool:
        answers = pool.map(check, range(12))
        time.sleep(0.5)  # every check sent first (nothing is timed: only the order things ended in)
        iam.list_users()
        finished.append("ListUsers")
        outcomes = sorted(answers)
    assert finished[0] == "ListUsers", finished
    assert outcomes.count("ThrottlingException") == 12 - LIMIT
    assert outcomes.count("answered") == LIMIT


def test_validate_policy_floods_are_admitted_as_checks_are(server: Server) -> None:
    """ValidatePolicy has no size limit in AWS's model, and a document of 120 KB takes half a second of
    its checks: it runs on the checks' threads, past `solver_threads.LIMIT` admitted a ThrottlingException
    at once, instead of holding the threads every other request shares."""
    analyzer = _client(
        server, "accessanalyzer", server.new_account(), read_timeout=300, max_pool_connections=16
    )
    statements = [
        {
            "Sid": f"S{i}",
            "Effect": "Allow",
            "Action": [f"s3:Get{i}Object"],
            "Resource": f"arn:aws:s3:::b{i}/*",
        }
        for i in range(1000)
    ]
    document = json.dumps({"Version": "2012-10-17", "Statement": statements})

    def validate(_: int) -> str:
        try:
            analyzer.validate_policy(policyDocument=document, policyType="IDENTITY_POLICY")
        except ClientError as error:
            return str(error.response["Error"]["Code"])
        return "answered"

    with ThreadPoolExecutor(LIMIT + 4) as pool:
        outcomes = sorted(pool.map(validate, range(LIMIT + 4)))
    assert outcomes.count("ThrottlingException") >= 1, outcomes  # (a fast machine answers some early)
    assert set(outcomes) <= {"answered", "ThrottlingException"}, outcomes


def test_a_simulation_of_every_pair_a_request_can_hold_answers_one_page(server: Server) -> None:
    """Was: every action on every resource was evaluated (and held) before the page was cut: 8,000
    of each in one 1 MiB request meant 64 million results, hours of work and tens of GB."""
    account = server.new_account()
    iam = _client(server, "iam", account, read_timeout=120)
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    actions = [f"s3:A{i}" for i in range(8000)]
    resources = [f"arn:aws:s3:::b/{i}" for i in range(8000)]
    first = iam.simulate_custom_policy(
        PolicyInputList=[json.dumps(policy)], ActionNames=actions, ResourceArns=resources, MaxItems=2
    )
    second = iam.simulate_custom_policy(
        PolicyInputList=[json.dumps(policy)], ActionNames=actions, ResourceArns=resources, MaxItems=2,
        Marker=first["Marker"],
    )  # fmt: skip
    pairs = [(r["EvalActionName"], r["EvalResourceName"]) for r in first["EvaluationResults"]]
    pairs += [(r["EvalActionName"], r["EvalResourceName"]) for r in second["EvaluationResults"]]
    assert pairs == [("s3:A0", f"arn:aws:s3:::b/{i}") for i in range(4)]
    assert first["IsTruncated"] and second["IsTruncated"]


def test_a_lookup_token_of_another_account_is_refused(server: Server) -> None:
    """Was: a NextToken was bound to the query only, so another account's token was taken as a
    position in the caller's own events (nothing leaked, but CloudTrail refuses a token not its own)."""
    owner, other = server.new_account(), server.new_account()
    for account in (owner, other):
        iam = _client(server, "iam", account)
        for _ in range(3):
            iam.list_users()
    trail = _client(server, "cloudtrail", owner)
    attribute = [{"AttributeKey": "EventName", "AttributeValue": "ListUsers"}]
    deadline = time.monotonic() + 30
    page = trail.lookup_events(LookupAttributes=attribute, MaxResults=1)
    while "NextToken" not in page and time.monotonic() < deadline:  # the trail writes in batches
        time.sleep(0.2)
        page = trail.lookup_events(LookupAttributes=attribute, MaxResults=1)
    assert trail.lookup_events(LookupAttributes=attribute, MaxResults=1, NextToken=page["NextToken"])[
        "Events"
    ]
    with pytest.raises(ClientError) as error:
        _client(server, "cloudtrail", other).lookup_events(
            LookupAttributes=attribute, MaxResults=1, NextToken=page["NextToken"]
        )
    assert _code(error) == "InvalidNextTokenException"
