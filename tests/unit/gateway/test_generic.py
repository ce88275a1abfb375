"""Services mapped generically: the map's actions, ARNs only where the call surely names them, else
`*` unnamed (any Deny of the action refuses)."""

from __future__ import annotations

from typing import Any

import pytest

from ostiary.gateway.operations import Operation
from ostiary.gateway.permissions import Facts, permissions_of

ACCOUNT = "123456789012"
OTHER = "999999999999"
FACTS = Facts(account=ACCOUNT, region="us-east-1", caller_account=ACCOUNT)
URL = f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/jobs"


def _needs(service: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str, bool]]:
    return [
        (p.action, p.resource, p.is_unnamed)
        for p in permissions_of(Operation(service, operation, params), FACTS)
    ]


@pytest.mark.parametrize(
    ("operation", "action"),
    [
        ("SendMessage", "sqs:SendMessage"),
        ("SendMessageBatch", "sqs:SendMessage"),
        ("DeleteMessageBatch", "sqs:DeleteMessage"),
        ("ChangeMessageVisibilityBatch", "sqs:ChangeMessageVisibility"),
        ("ReceiveMessage", "sqs:ReceiveMessage"),
    ],
)
def test_a_queue_is_named_by_its_url_with_the_map_s_action(operation: str, action: str) -> None:
    assert _needs("sqs", operation, {"QueueUrl": URL}) == [
        (action, f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs", False)
    ]


def test_a_queue_url_or_owner_of_another_account_names_that_accounts_queue() -> None:
    url = URL.replace(ACCOUNT, OTHER)
    assert _needs("sqs", "SendMessage", {"QueueUrl": url}) == [
        ("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{OTHER}:jobs", False)
    ]
    assert _needs("sqs", "GetQueueUrl", {"QueueName": "jobs", "QueueOwnerAWSAccountId": OTHER}) == [
        ("sqs:GetQueueUrl", f"arn:aws:sqs:us-east-1:{OTHER}:jobs", False)
    ]


@pytest.mark.parametrize("url", ["jobs", f"{URL}/", "https://sqs.us-east-1.amazonaws.com/jobs", ""])
def test_a_queue_url_of_another_shape_is_unnamed(url: str) -> None:
    assert _needs("sqs", "SendMessage", {"QueueUrl": url}) == [("sqs:SendMessage", "*", True)]


def test_a_secret_is_named_only_by_its_arn() -> None:
    arn = f"arn:aws:secretsmanager:us-east-1:{OTHER}:secret:db-AbCdEf"
    assert _needs("secretsmanager", "GetSecretValue", {"SecretId": arn}) == [
        ("secretsmanager:GetSecretValue", arn, False)
    ]
    assert _needs("secretsmanager", "GetSecretValue", {"SecretId": "db"}) == [
        ("secretsmanager:GetSecretValue", "*", True)
    ]
    assert _needs("secretsmanager", "BatchGetSecretValue", {"SecretIdList": ["db", arn]}) == [
        ("secretsmanager:BatchGetSecretValue", "*", False),
        ("secretsmanager:GetSecretValue", "*", True),
    ]


def test_a_topic_is_named_by_its_arn_and_a_subscription_by_its_topic() -> None:
    topic = f"arn:aws:sns:us-east-1:{OTHER}:alerts"
    assert _needs("sns", "Publish", {"TopicArn": topic, "Message": "m"}) == [("sns:Publish", topic, False)]
    assert _needs("sns", "PublishBatch", {"TopicArn": topic}) == [("sns:Publish", topic, False)]
    assert _needs("sns", "Unsubscribe", {"SubscriptionArn": f"{topic}:0f1e2d3c"}) == [
        ("sns:Unsubscribe", topic, False)
    ]


def test_a_function_is_named_by_name_or_arn_in_its_own_account() -> None:
    own = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:work"
    theirs = f"arn:aws:lambda:us-east-1:{OTHER}:function:work"
    assert _needs("lambda", "Invoke", {"FunctionName": "work"}) == [("lambda:InvokeFunction", own, False)]
    assert _needs("lambda", "Invoke", {"FunctionName": theirs}) == [("lambda:InvokeFunction", theirs, False)]
    assert _needs("lambda", "Invoke", {"FunctionName": f"{theirs}:live"}) == [
        ("lambda:InvokeFunction", theirs, False)
    ]
    assert _needs("lambda", "GetFunction", {"FunctionName": f"{OTHER}:function:work"}) == [
        ("lambda:GetFunction", "*", True)
    ]


def test_a_parameter_is_named_without_its_leading_slash() -> None:
    arn = f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/app/db"
    assert _needs("ssm", "GetParameter", {"Name": "/app/db"}) == [("ssm:GetParameter", arn, False)]
    assert _needs("ssm", "GetParameters", {"Names": ["/app/db", "x"]}) == [
        ("ssm:GetParameters", arn, False),
        ("ssm:GetParameters", f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/x", False),
    ]
    assert _needs("ssm", "GetParameter", {"Name": "/app/db:3"}) == [("ssm:GetParameter", "*", True)]


def test_only_an_action_with_resource_types_is_unnamed() -> None:
    assert _needs("sqs", "ListQueues", {}) == [("sqs:ListQueues", "*", False)]
    assert _needs("logs", "PutLogEvents", {"logGroupName": "g", "logStreamName": "s"}) == [
        ("logs:PutLogEvents", "*", True)
    ]


def test_a_layer_version_is_named_by_its_arn() -> None:
    arn = f"arn:aws:lambda:us-east-1:{OTHER}:layer:tools:3"
    assert _needs("lambda", "GetLayerVersionByArn", {"Arn": arn}) == [("lambda:GetLayerVersion", arn, False)]
