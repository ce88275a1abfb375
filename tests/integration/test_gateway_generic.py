"""Services behind `--backend '*=URL'`, authorized generically: the operation named from its model in every
protocol (query, EC2, REST-JSON, REST-XML), its name as the action, refusals in the service's own shape."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, start_server, stop_server
from tests.integration.gateway_helpers import moto_backend

pytest.importorskip("moto.server", reason="moto's server is the gateway's test backend")


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from moto_backend(tmp_path_factory)


@pytest.fixture(scope="module")
def gateway(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("ostiary-generic")
    server = start_server(
        data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite", "--backend", f"*={backend}"
    )
    yield server
    stop_server(server)


def _user(gateway: Server, actions: list[str]) -> tuple[str, str]:
    iam: Any = gateway.client("iam")
    name = f"g-{uuid.uuid4().hex[:10]}"
    iam.create_user(UserName=name)
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
    }
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def _refusal(error: ClientError) -> tuple[str, int, str]:
    return (
        error.response["Error"]["Code"],
        error.response["ResponseMetadata"]["HTTPStatusCode"],
        error.response["Error"].get("Message", ""),
    )


def test_a_query_protocol_service_is_decided_by_action(gateway: Server) -> None:
    allowed: Any = gateway.client("sns", *_user(gateway, ["sns:CreateTopic", "sns:ListTopics"]))
    arn = allowed.create_topic(Name=f"t-{uuid.uuid4().hex[:8]}")["TopicArn"]
    assert arn in [t["TopicArn"] for t in allowed.list_topics()["Topics"]]
    refused: Any = gateway.client("sns", *_user(gateway, ["sns:ListTopics"]))
    with pytest.raises(ClientError) as denied:
        refused.delete_topic(TopicArn=arn)
    code, status, message = _refusal(denied.value)
    assert (code, status) == ("AccessDenied", 403)
    assert "is not authorized to perform: sns:DeleteTopic" in message


def test_ec2_refusals_are_ec2s_own(gateway: Server) -> None:
    allowed: Any = gateway.client("ec2", *_user(gateway, ["ec2:DescribeVpcs"]))
    assert "Vpcs" in allowed.describe_vpcs()
    with pytest.raises(ClientError) as denied:
        allowed.describe_subnets()
    code, status, message = _refusal(denied.value)
    assert (code, status) == ("UnauthorizedOperation", 403)
    assert "ec2:DescribeSubnets" in message


def test_a_rest_json_service_is_routed_by_its_uri(gateway: Server) -> None:
    allowed: Any = gateway.client("lambda", *_user(gateway, ["lambda:ListFunctions"]))
    assert "Functions" in allowed.list_functions()
    with pytest.raises(ClientError) as denied:
        allowed.get_function(FunctionName="nope")
    code, status, message = _refusal(denied.value)
    assert (code, status) == ("AccessDeniedException", 403)
    assert "lambda:GetFunction" in message


def test_a_rest_xml_service_is_routed_by_its_uri(gateway: Server) -> None:
    allowed: Any = gateway.client("route53", *_user(gateway, ["route53:ListHostedZones"]))
    assert "HostedZones" in allowed.list_hosted_zones()
    with pytest.raises(ClientError) as denied:
        allowed.get_hosted_zone(Id="Z0000000000")
    assert _refusal(denied.value)[:2] == ("AccessDenied", 403)


def test_bad_signatures_are_refused_in_each_protocol(gateway: Server) -> None:
    key_id, _ = _user(gateway, ["sns:*", "lambda:*"])
    for service, call in (("sns", "list_topics"), ("lambda", "list_functions")):
        client: Any = gateway.client(service, key_id, "not-the-secret")
        with pytest.raises(ClientError) as refused:
            getattr(client, call)()
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 403)
        assert "Signature" in refused.value.response["Error"]["Code"]


def _policy_user(gateway: Server, statements: list[dict[str, Any]]) -> tuple[str, str]:
    iam: Any = gateway.client("iam")
    name = f"g-{uuid.uuid4().hex[:10]}"
    iam.create_user(UserName=name)
    document = {"Version": "2012-10-17", "Statement": statements}
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


_EXPLICIT = "with an explicit deny in an identity-based policy"


def test_a_deny_on_a_queue_named_by_its_url_is_not_escaped(gateway: Server) -> None:
    secret, other = f"secret-{uuid.uuid4().hex[:8]}", f"open-{uuid.uuid4().hex[:8]}"
    denied_arn = f"arn:aws:sqs:us-east-1:{gateway.account_id}:{secret}"
    sqs: Any = gateway.client(
        "sqs",
        *_policy_user(
            gateway,
            [
                {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
                {"Effect": "Deny", "Action": "sqs:SendMessage", "Resource": denied_arn},
            ],
        ),
    )
    secret_url = sqs.create_queue(QueueName=secret)["QueueUrl"]
    other_url = sqs.create_queue(QueueName=other)["QueueUrl"]
    assert sqs.send_message(QueueUrl=other_url, MessageBody="hello")["MessageId"]
    with pytest.raises(ClientError) as denied:
        sqs.send_message(QueueUrl=secret_url, MessageBody="hello")
    code, status, message = _refusal(denied.value)
    assert status in (400, 403) and "AccessDenied" in code
    assert f"sqs:SendMessage on resource: {denied_arn} {_EXPLICIT}" in message


def test_a_deny_on_a_secret_named_by_its_id_is_not_escaped(gateway: Server) -> None:
    name = f"s-{uuid.uuid4().hex[:8]}"
    pattern = f"arn:aws:secretsmanager:us-east-1:{gateway.account_id}:secret:{name}-??????"
    client: Any = gateway.client(
        "secretsmanager",
        *_policy_user(
            gateway,
            [
                {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"},
                {"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": pattern},
            ],
        ),
    )
    arn = client.create_secret(Name=name, SecretString="hush")["ARN"]
    assert client.describe_secret(SecretId=name)["ARN"] == arn
    for secret_id in (name, arn):
        with pytest.raises(ClientError) as denied:
            client.get_secret_value(SecretId=secret_id)
        code, status, message = _refusal(denied.value)
        assert (code, status) == ("AccessDeniedException", 400)
        assert "secretsmanager:GetSecretValue" in message and message.endswith(_EXPLICIT)


def test_a_deny_with_a_condition_that_does_not_hold_lets_a_call_on_no_named_resource_through(
    gateway: Server,
) -> None:
    name = f"s-{uuid.uuid4().hex[:8]}"
    client: Any = gateway.client(
        "secretsmanager",
        *_policy_user(
            gateway,
            [
                {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"},
                {
                    "Effect": "Deny",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": "arn:aws:secretsmanager:*:*:secret:other-*",
                    "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-3"}},
                },
            ],
        ),
    )
    client.create_secret(Name=name, SecretString="hush")
    assert client.get_secret_value(SecretId=name)["SecretString"] == "hush"


def test_a_resource_of_another_account_named_in_a_parameter_is_decided_as_that_accounts(
    gateway: Server,
) -> None:
    other = "999999999999"
    keys = _policy_user(
        gateway,
        [{"Effect": "Allow", "Action": ["sqs:*", "secretsmanager:*"], "Resource": "*"}],
    )
    sqs: Any = gateway.client("sqs", *keys)
    url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    foreign_url = url.replace(f"/{gateway.account_id}/", f"/{other}/")
    with pytest.raises(ClientError) as denied:
        sqs.send_message(QueueUrl=foreign_url, MessageBody="hello")
    code, _, message = _refusal(denied.value)
    assert "AccessDenied" in code
    assert f"on resource: arn:aws:sqs:us-east-1:{other}:" in message
    secrets: Any = gateway.client("secretsmanager", *keys)
    foreign_arn = f"arn:aws:secretsmanager:us-east-1:{other}:secret:theirs-AbCdEf"
    with pytest.raises(ClientError) as denied:
        secrets.get_secret_value(SecretId=foreign_arn)
    code, status, message = _refusal(denied.value)
    assert (code, status) == ("AccessDeniedException", 400)
    assert f"on resource: {foreign_arn} because no resource-based policy allows" in message


def test_a_deny_is_not_escaped_through_an_operation_of_another_name(gateway: Server) -> None:
    queue, function = f"secret-{uuid.uuid4().hex[:8]}", f"fn-{uuid.uuid4().hex[:8]}"
    queue_arn = f"arn:aws:sqs:us-east-1:{gateway.account_id}:{queue}"
    function_arn = f"arn:aws:lambda:us-east-1:{gateway.account_id}:function:{function}"
    keys = _policy_user(
        gateway,
        [
            {"Effect": "Allow", "Action": ["sqs:*", "lambda:*"], "Resource": "*"},
            {"Effect": "Deny", "Action": "sqs:SendMessage", "Resource": queue_arn},
            {"Effect": "Deny", "Action": "lambda:InvokeFunction", "Resource": function_arn},
        ],
    )
    sqs: Any = gateway.client("sqs", *keys)
    url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    with pytest.raises(ClientError) as denied:
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "hello"}])
    code, _, message = _refusal(denied.value)
    assert "AccessDenied" in code
    assert f"sqs:SendMessage on resource: {queue_arn} {_EXPLICIT}" in message
    with pytest.raises(ClientError) as denied:
        gateway.client("lambda", *keys).invoke(FunctionName=function, Payload=b"{}")
    code, status, message = _refusal(denied.value)
    assert (code, status) == ("AccessDeniedException", 403)
    assert message.endswith(f"lambda:InvokeFunction on resource: {function_arn} {_EXPLICIT}")


def test_a_service_is_decided_in_its_iam_prefix_not_its_model_name(gateway: Server) -> None:
    machine = f"arn:aws:states:us-east-1:{gateway.account_id}:stateMachine:sm-{uuid.uuid4().hex[:8]}"
    client: Any = gateway.client(
        "stepfunctions",
        *_policy_user(
            gateway,
            [
                {"Effect": "Allow", "Action": "states:*", "Resource": "*"},
                {"Effect": "Deny", "Action": "states:StartExecution", "Resource": machine},
            ],
        ),
    )
    assert "stateMachines" in client.list_state_machines()
    with pytest.raises(ClientError) as denied:
        client.start_execution(stateMachineArn=machine)
    code, status, message = _refusal(denied.value)
    assert (code, status) == ("AccessDeniedException", 400)
    assert message.endswith(f"states:StartExecution on resource: {machine} {_EXPLICIT}")
