"""A client whose botocore is newer than the models Ostiary serves: every implemented operation, called
with every member of the newer model's input shape filled, gets an answer and never a 500.

The newer models are botocore 1.44.8's IAM and STS models, kept in tests/data so that the test does not
depend on which botocore is installed. Their members the served models lack (`MinimumSessionTokenSize`,
`MaxSigninSessionDuration`, `ContextProvider`...) are ignored, as AWS's query services ignore parameters
they do not know.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from ostiary import services
from ostiary.protocol import models
from tests.conftest import Server
from tests.model_samples import sample_value

NEWER_MODELS = Path(__file__).parents[1] / "data" / "botocore-1.44.8"


def _newer_session() -> botocore.session.Session:
    """A botocore session that finds the newer models before its own."""
    core = botocore.session.get_session()
    core.get_component("data_loader").search_paths.insert(0, str(NEWER_MODELS))
    return core


def newer_client(server: Server, service: str, creds: dict[str, str]) -> Any:
    """A boto3 client of `service` that knows the newer model, signed with `creds`."""
    return boto3.Session(botocore_session=_newer_session()).client(
        service,
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="module")
def account(server: Server) -> dict[str, str]:
    """A fresh account's root credentials: the calls below change account-wide settings."""
    out = subprocess.run(
        [sys.executable, "-m", "ostiary", "account", "create"],
        env=server.cli_env(),
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return {k: str(v) for k, v in json.loads(out.stdout).items()}


def test_the_newer_models_add_members_the_served_ones_lack() -> None:
    newer = _newer_session().get_service_model("sts")
    assert "MinimumSessionTokenSize" in newer.operation_model("GetSessionToken").input_shape.members
    served = models.service("sts").model.operation_model("GetSessionToken").input_shape.members
    assert "MinimumSessionTokenSize" not in served


@pytest.mark.parametrize(("service", "operation"), services.implemented())
def test_every_operation_with_the_newer_full_input_gets_no_500(
    server: Server, account: dict[str, str], service: str, operation: str
) -> None:
    client = newer_client(server, service, account)
    shape = client.meta.service_model.operation_model(operation).input_shape
    params = sample_value(shape) if shape is not None else {}
    method = getattr(client, botocore.xform_name(operation))
    try:
        method(**params)
    except ClientError as exc:
        error = exc.response["Error"]
        assert exc.response["ResponseMetadata"]["HTTPStatusCode"] < 500, error
        assert error["Code"] != "InternalFailure", error
    assert "Traceback" not in (server.data_dir / "server.log").read_text(errors="replace")


def test_newer_members_are_ignored_as_aws_ignores_unknown_parameters(
    server: Server, account: dict[str, str], unique: str
) -> None:
    sts = newer_client(server, "sts", account)
    creds = sts.get_session_token(MinimumSessionTokenSize=2048)["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    iam = newer_client(server, "iam", account)
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    iam.create_role(RoleName=f"newer-{unique}", AssumeRolePolicyDocument=trust, MaxSigninSessionDuration=7200)
    iam.update_role(RoleName=f"newer-{unique}", MaxSigninSessionDuration=3600, Description="d")
    role = iam.get_role(RoleName=f"newer-{unique}")["Role"]
    assert role["Description"] == "d"
    assert "MaxSigninSessionDuration" not in role


_NEWER_ONLY = [
    ("iam", "GetAccountProperties", {}),
    (
        "iam",
        "UpdateOpenIDConnectProvider",
        {"OpenIDConnectProviderArn": "arn:aws:iam::123456789012:oidc-provider/x"},
    ),
    ("sts", "GetScopedCredentials", {}),
]


@pytest.mark.parametrize(("service", "operation", "params"), _NEWER_ONLY, ids=[o for _, o, _ in _NEWER_ONLY])
def test_an_operation_only_the_newer_model_has_is_an_invalid_action(
    server: Server, account: dict[str, str], service: str, operation: str, params: dict[str, str]
) -> None:
    assert operation not in models.service(service).model.operation_names
    client = newer_client(server, service, account)
    with pytest.raises(ClientError) as exc:
        getattr(client, botocore.xform_name(operation))(**params)
    error = exc.value.response["Error"]
    assert (error["Code"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidAction", 400)
    assert (
        error["Message"]
        == f"Could not find operation {operation} for version {client.meta.service_model.api_version}"
    )
