"""The region of the SigV4 scope through the real server: a region of the partition, or AWS's refusal."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.integration.authz_helpers import allow, doc


def _client(server: Server, service: str, region: str, key: dict[str, str] | None = None) -> Any:
    """A boto3 client that signs for `region` (an SDK given an endpoint URL signs with its own region)."""
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name=region,
        aws_access_key_id=key["AccessKeyId"] if key else server.access_key_id,
        aws_secret_access_key=key["SecretAccessKey"] if key else server.secret_access_key,
        config=Config(retries={"max_attempts": 1}),
    )


def _refusal(call: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    err = caught.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


@pytest.mark.parametrize("region", ["xx", "aws-global", "cn-north-1"])
def test_a_name_that_is_no_region_is_refused_with_awss_text(server: Server, region: str) -> None:
    iam, sts = _client(server, "iam", region), _client(server, "sts", region)
    assert _refusal(iam.list_users) == (
        "SignatureDoesNotMatch",
        f"Credential should be scoped to a valid region, not '{region}'.",
        403,
    )
    assert _refusal(sts.get_caller_identity) == (
        "SignatureDoesNotMatch",
        "Credential should be scoped to a valid region.",
        403,
    )


def test_a_region_of_the_partition_is_served_and_recorded(server: Server, unique: str) -> None:
    root: Any = server.client("iam")
    root.create_user(UserName=f"region-{unique}")
    key = root.create_access_key(UserName=f"region-{unique}")["AccessKey"]
    for service in ("iam", "sts"):
        client = _client(server, service, "eu-west-1", key)
        if service == "sts":
            assert client.get_caller_identity()["Arn"].endswith(f":user/region-{unique}")
        else:
            assert _refusal(client.list_users)[0] == "AccessDenied"  # authenticated; no policy allows it
    used = root.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
    assert used["Region"] == "eu-west-1"


def test_an_iam_call_requests_us_east_1_whatever_region_it_was_signed_for(
    server: Server, unique: str
) -> None:
    """AWS: IAM's single endpoint is in us-east-1, so aws:RequestedRegion of an IAM call is us-east-1;
    an STS call requests the region it was signed for."""
    root: Any = server.client("iam")
    name = f"region-key-{unique}"
    root.create_user(UserName=name)
    only = {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}
    east = {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}
    statements = [
        allow("iam:GetUser", Condition=east),
        allow("iam:ListUsers", Condition=only),
        allow("sts:GetSessionToken"),
        allow("sts:GetFederationToken", Condition=only),
    ]
    root.put_user_policy(UserName=name, PolicyName="regions", PolicyDocument=doc(*statements))
    key = root.create_access_key(UserName=name)["AccessKey"]
    iam_eu, sts_eu = _client(server, "iam", "eu-west-1", key), _client(server, "sts", "eu-west-1", key)
    assert iam_eu.get_user(UserName=name)["User"]["UserName"] == name
    code, message, status = _refusal(iam_eu.list_users)
    assert (code, status) == ("AccessDenied", 403) and "iam:ListUsers" in message
    assert sts_eu.get_federation_token(Name="eu")["FederatedUser"]["Arn"].endswith(":federated-user/eu")
    sts_east = _client(server, "sts", "us-east-1", key)
    assert _refusal(lambda: sts_east.get_federation_token(Name="east"))[0] == "AccessDenied"
