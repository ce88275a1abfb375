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
