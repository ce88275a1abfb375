"""A service this endpoint does not serve, called through it: a 400 `InvalidAction` naming the services
served, in the client's own protocol, which its SDK parses (not a SignatureDoesNotMatch in raw XML)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server

_SERVED = "This endpoint serves only iam, sts (AWS IAM and STS)"


@pytest.mark.parametrize(
    ("service", "call", "protocol"),
    [
        ("dynamodb", lambda c: c.list_tables(), "json"),  # awsJson 1.0
        ("logs", lambda c: c.describe_log_groups(), "json"),  # awsJson 1.1
        ("lambda", lambda c: c.list_functions(), "json"),  # REST-JSON
        ("s3", lambda c: c.list_buckets(), "xml"),  # REST-XML, S3's <Error>
        ("sns", lambda c: c.list_topics(), "xml"),  # query, <ErrorResponse>
        ("ec2", lambda c: c.describe_instances(), "xml"),  # EC2's <Response><Errors>
    ],
)
def test_an_unserved_service_is_told_which_services_are_served(
    sqlite_server: Server, service: str, call: Any, protocol: str
) -> None:
    client = sqlite_server.client(service)
    with pytest.raises(ClientError) as caught:
        call(client)
    response = caught.value.response
    assert response["Error"]["Code"] == "InvalidAction"
    assert response["Error"]["Message"] == (
        f"{_SERVED}; the request is for `{service}`. Start the server with `--backend {service}=URL` "
        "to forward it to a backend, or send it to that service's own endpoint."
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    content_type = response["ResponseMetadata"]["HTTPHeaders"]["content-type"]
    assert ("json" in content_type) == (protocol == "json")


def test_the_served_services_still_answer(sqlite_server: Server) -> None:
    assert sqlite_server.client("sts").get_caller_identity()["Account"] == sqlite_server.account_id
    assert "Users" in sqlite_server.client("iam").list_users()
