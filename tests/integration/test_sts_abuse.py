"""STS attacked: federated and chained sessions given what AWS refuses must be refused, change nothing
and never reach the session a later call carries (one server for the module, over SQLite)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, start_server, stop_server
from tests.integration.test_saml import _metadata, saml_response

SOURCE_IDENTITY = "https://aws.amazon.com/SAML/Attributes/SourceIdentity"


@pytest.fixture(scope="module")
def abuse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("sts-abuse")
    server = start_server(data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite")
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def saml_role(abuse_server: Server) -> dict[str, str]:
    """A SAML provider and a role that trusts it to assume, set a source identity and tag."""
    iam: Any = abuse_server.client("iam")
    name = f"abuse-{uuid.uuid4().hex[:8]}"
    provider = iam.create_saml_provider(Name=name, SAMLMetadataDocument=_metadata())["SAMLProviderArn"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Action": ["sts:AssumeRoleWithSAML", "sts:SetSourceIdentity"],
            }
        ],
    }
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    return {"provider": provider, "role": role}


def _with_source_identity(saml_role: dict[str, str], *values: str) -> str:
    given = "".join(f"<saml:AttributeValue>{v}</saml:AttributeValue>" for v in values)
    return saml_response(
        [f"{saml_role['role']},{saml_role['provider']}"],
        attributes=f'<saml:Attribute Name="{SOURCE_IDENTITY}">{given}</saml:Attribute>',
    )


def _assume_saml(server: Server, saml_role: dict[str, str], response: str) -> dict[str, Any]:
    sts: Any = server.client("sts")
    out: dict[str, Any] = sts.assume_role_with_saml(
        RoleArn=saml_role["role"], PrincipalArn=saml_role["provider"], SAMLAssertion=response
    )
    return out


@pytest.mark.parametrize(
    "values",
    [("x" * 65,), ("x",), ("a b",), ("a&lt;b&gt;",), ("ünï",), ("",), ("alice", "bob")],
    ids=["too-long", "too-short", "space", "markup", "non-ascii", "empty", "two-values"],
)
def test_a_saml_source_identity_assumerole_would_refuse_is_refused(
    abuse_server: Server, saml_role: dict[str, str], values: tuple[str, ...]
) -> None:
    with pytest.raises(ClientError) as caught:
        _assume_saml(abuse_server, saml_role, _with_source_identity(saml_role, *values))
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidIdentityToken"
    assert "SourceIdentity" in error["Message"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_valid_saml_source_identity_is_kept_by_the_session(
    abuse_server: Server, saml_role: dict[str, str]
) -> None:
    out = _assume_saml(abuse_server, saml_role, _with_source_identity(saml_role, "alice@example.com"))
    assert out["SourceIdentity"] == "alice@example.com"
    sts: Any = abuse_server.client(
        "sts",
        out["Credentials"]["AccessKeyId"],
        out["Credentials"]["SecretAccessKey"],
        out["Credentials"]["SessionToken"],
    )
    assert sts.get_caller_identity()["Arn"].endswith(f"/{saml_role['role'].rsplit('/', 1)[1]}/alice")
