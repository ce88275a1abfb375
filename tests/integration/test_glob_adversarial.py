"""Wildcards an attacker writes cannot freeze the server: each decision ends, right, while others are served.

A regex of `*a*a*…*b` backtracked for seconds (hours at this size) against a long user path, on
the event loop. The bounds here are generous so a loaded machine passes: they catch a freeze,
not a slow matcher. Real timings live in bench/.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from botocore.exceptions import ClientError

from tests.conftest import Server

PATTERN = "*a" * 23 + "*b"  # AWS's 23 stars before the `b`: each one a `.*` for a regex
PROMPT_SECONDS = 5.0  # another client's answer, while the attacker's requests run
PATIENCE = {"read_timeout": 120, "connect_timeout": 10}  # the attacker's client waits for a frozen server


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _attacker(server: Server, iam: Any, unique: str) -> Any:
    """A user whose only policy allows ListUsers and GetUser on `user/*a*a…*b`: its boto3 IAM client."""
    name = f"glob-{unique}"
    iam.create_user(UserName=name)
    resource = f"arn:aws:iam::{server.account_id}:user/{PATTERN}"
    policy = _doc({"Effect": "Allow", "Action": ["iam:ListUsers", "iam:GetUser"], "Resource": resource})
    iam.put_user_policy(UserName=name, PolicyName="glob", PolicyDocument=policy)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return server.client("iam", key["AccessKeyId"], key["SecretAccessKey"], **PATIENCE)


def _code(call: Any, **params: Any) -> str:
    """The AWS error code of a call, or "" when it succeeds."""
    try:
        call(**params)
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    return ""


def _while_others_are_served(iam: Any, unique: str, attack: Any) -> list[Any]:
    """`attack()` in a thread; meanwhile another client (root) calls, each answered within PROMPT_SECONDS."""
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(attack()))
    waits: list[float] = []
    thread.start()
    while thread.is_alive() or not waits:
        start = time.monotonic()
        assert _code(iam.get_user, UserName=f"nobody-{unique}") == "NoSuchEntity"
        waits.append(time.monotonic() - start)
    thread.join()
    assert max(waits) < PROMPT_SECONDS, f"another client waited {max(waits):.1f} s"
    return results


def test_list_users_with_a_long_path_prefix_is_decided_while_others_are_served(
    server: Server, iam: Any, unique: str
) -> None:
    client = _attacker(server, iam, unique)

    def attack() -> list[str]:
        return [
            _code(client.list_users, PathPrefix="/" + "a" * 511),  # ARN user/aaa…a/: no final `b`, denied
            _code(client.list_users, PathPrefix="/" + "ab" * 255 + "a"),
            _code(client.get_user, UserName="a" * 64),
            _code(client.get_user, UserName="a" * 63 + "b"),  # allowed; there is no such user
        ]

    (codes,) = _while_others_are_served(iam, unique, attack)
    assert codes == ["AccessDenied", "AccessDenied", "AccessDenied", "NoSuchEntity"]


def test_simulate_custom_policy_with_a_pathological_string_like_is_decided(
    server: Server, iam: Any, unique: str
) -> None:
    policy = _doc(
        {
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "*",
            "Condition": {"StringLike": {"s3:prefix": "*a" * 120 + "*b"}},
        }
    )
    client = server.client("iam", **PATIENCE)

    def attack() -> list[str]:
        decisions = []
        for value in ("a" * 10_000, "a" * 10_000 + "b"):
            entry = {"ContextKeyName": "s3:prefix", "ContextKeyValues": [value], "ContextKeyType": "string"}
            result = client.simulate_custom_policy(
                PolicyInputList=[policy], ActionNames=["s3:ListBucket"], ContextEntries=[entry]
            )
            decisions.append(result["EvaluationResults"][0]["EvalDecision"])
        return decisions

    (decisions,) = _while_others_are_served(iam, unique, attack)
    assert decisions == ["implicitDeny", "allowed"]


def test_simulator_reads_brackets_in_an_action_as_characters(server: Server, iam: Any) -> None:
    """IAM's wildcards are `*` and `?` only: `iam:[g]etuser` does not name GetUser, nor its keys missing."""
    policy = _doc(
        {
            "Effect": "Allow",
            "Action": "iam:[g]etuser",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestTag/team": "blue"}},
        }
    )
    result = iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=["iam:GetUser"])
    (evaluation,) = result["EvaluationResults"]
    assert evaluation["EvalDecision"] == "implicitDeny"
    assert evaluation["MissingContextValues"] == []
