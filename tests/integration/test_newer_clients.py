"""A client whose botocore is newer than the one the suite pins: every implemented operation, called
with every member of the newer model's input shape filled, gets an answer and never a 500.

The newer models are botocore 1.44.8's IAM and STS models, the ones Ostiary serves, also kept in
tests/data so that the test does not depend on which botocore is installed (the rest of the suite runs
the pinned, older boto3, whose clients keep working). The members of a feature Ostiary does not have
(`MinimumSessionTokenSize`, `MaxSigninSessionDuration`..., services.IGNORED_MEMBERS) are checked against
the model and then ignored, as AWS's query services ignore parameters they do not know.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError

from ostiary import services
from ostiary.protocol import models
from tests.conftest import Server
from tests.integration.newer_helpers import new_account, newer_client, newer_session
from tests.model_samples import sample_value


@pytest.fixture(scope="module")
def account(server: Server) -> dict[str, str]:
    """A fresh account's root credentials: the calls below change account-wide settings."""
    return new_account(server)


@pytest.fixture(scope="module")
def clients(server: Server, account: dict[str, str]) -> dict[str, Any]:
    """The account's newer client of each served model, made once for the module's many calls."""
    return {service: newer_client(server, service, account) for service in models.SERVICES}


def test_the_served_models_are_the_newer_ones_and_the_pinned_botocore_is_older() -> None:
    for service in models.SERVICES:
        newer = newer_session().get_component("data_loader").load_service_model(service, "service-2")
        with gzip.open(Path(models.__file__).with_name("data") / f"{service}.json.gz", "rt") as f:
            assert json.load(f) == newer
    pinned = botocore.session.get_session().get_service_model("iam")
    assert "UpdateOpenIDConnectProvider" not in pinned.operation_names


@pytest.mark.parametrize(("service", "operation"), services.implemented())
def test_every_operation_with_the_newer_full_input_gets_no_500(
    server: Server, clients: dict[str, Any], service: str, operation: str
) -> None:
    client = clients[service]
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
    assert "SessionTokenSize" not in sts.get_session_token(MinimumSessionTokenSize=4096)


_NOT_BUILT = [
    ("iam", "AcquireRole", {"TemplateArn": "arn:aws:iam::aws:role-template/example"}),
    ("iam", "GetRoleTemplateVersion", {"TemplateArn": "arn:aws:iam::aws:role-template/example"}),
    ("sts", "GetScopedCredentials", {"DurationSeconds": 900}),
]


@pytest.mark.parametrize(("service", "operation", "params"), _NOT_BUILT, ids=[o for _, o, _ in _NOT_BUILT])
def test_an_operation_of_the_model_not_built_is_an_invalid_action(
    server: Server, account: dict[str, str], service: str, operation: str, params: dict[str, object]
) -> None:
    assert operation in models.service(service).model.operation_names
    assert (service, operation) not in services.implemented()
    client = newer_client(server, service, account)
    with pytest.raises(ClientError) as exc:
        getattr(client, botocore.xform_name(operation))(**params)
    error = exc.value.response["Error"]
    assert (error["Code"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidAction", 400)
    assert error["Message"] == f"Ostiary does not implement {service}:{operation} yet."


def test_what_was_newer_than_the_served_models_now_works(server: Server, account: dict[str, str]) -> None:
    iam = newer_client(server, "iam", account)
    assert iam.get_account_properties()["Properties"] == {}
    with pytest.raises(ClientError) as exc:
        iam.update_open_id_connect_provider(
            OpenIDConnectProviderArn=f"arn:aws:iam::{account['AccountId']}:oidc-provider/absent.example.com",
            RemoveContextProvider=True,
        )
    assert exc.value.response["Error"]["Code"] == "NoSuchEntity"


@pytest.mark.parametrize(
    "params",
    [{"SubjectMode": "OriginIdentity"}, {"Scope": "read"}, {"SubjectMode": "AWSIdentity", "Scope": "read"}],
    ids=["origin-identity", "scope", "scope-with-aws-identity"],
)
def test_web_identity_tokens_refuse_what_needs_an_origin_identity(
    server: Server, account: dict[str, str], params: dict[str, str]
) -> None:
    sts = newer_client(server, "sts", account)
    with pytest.raises(ClientError) as exc:
        sts.get_web_identity_token(Audience=["https://api.example.com"], SigningAlgorithm="RS256", **params)
    error = exc.value.response["Error"]
    assert (error["Code"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (
        "ValidationError",
        400,
    )
    assert "OriginIdentity" in error["Message"]
