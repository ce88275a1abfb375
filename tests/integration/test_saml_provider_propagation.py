"""The trusted identity propagation settings of SAML providers (CreateSAMLProvider, UpdateSAMLProvider,
GetSAMLProvider, ListSAMLProviders) through a boto3 client on botocore 1.44.8's model."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.integration.newer_helpers import new_account, newer_client
from tests.integration.test_saml_providers import metadata

INSTANCE = "arn:aws:sso:::instance/ssoins-abcdef1234567890"
CONTEXT = {"SubjectSourceKey": "NameID", "SubjectTypeSourceKey": "urn:oid:1.3.6.1.4.1.5923.1.1.1.1"}


@pytest.fixture(scope="module")
def iam(server: Server) -> Any:
    return newer_client(server, "iam", new_account(server))


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    return exc.value.response["Error"]["Code"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


def _listed(iam: Any, arn: str) -> dict[str, Any]:
    return next(p for p in iam.list_saml_providers()["SAMLProviderList"] if p["Arn"] == arn)


def test_settings_are_kept_shown_and_removed_in_the_documented_order(iam: Any, unique: str) -> None:
    arn = iam.create_saml_provider(
        Name=f"s-{unique}", SAMLMetadataDocument=metadata(), ContextProvider=CONTEXT
    )["SAMLProviderArn"]
    got = iam.get_saml_provider(SAMLProviderArn=arn)
    assert got["ContextProvider"] == CONTEXT and "IdentityCenterInstanceArn" not in got
    assert "IsTrustedIdentityPropagationEnabled" not in _listed(iam, arn)
    iam.update_saml_provider(
        SAMLProviderArn=arn, IdentityCenterInstanceArn=INSTANCE, AssertionEncryptionMode="Required"
    )
    got = iam.get_saml_provider(SAMLProviderArn=arn)
    assert (got["IdentityCenterInstanceArn"], got["AssertionEncryptionMode"]) == (INSTANCE, "Required")
    assert _listed(iam, arn)["IsTrustedIdentityPropagationEnabled"] is True
    with pytest.raises(ClientError) as exc:
        iam.update_saml_provider(SAMLProviderArn=arn, RemoveContextProvider=True)
    assert _error(exc) == ("InvalidInput", 400)
    iam.update_saml_provider(SAMLProviderArn=arn, RemoveIdentityCenterInstance=True)
    iam.update_saml_provider(SAMLProviderArn=arn, RemoveContextProvider=True)
    got = iam.get_saml_provider(SAMLProviderArn=arn)
    assert "ContextProvider" not in got and "IdentityCenterInstanceArn" not in got


@pytest.mark.parametrize(
    "params",
    [
        {"ContextProvider": CONTEXT, "AssertionEncryptionMode": "Required"},
        {"ContextProvider": CONTEXT, "SAMLMetadataDocument": metadata()},
        {"ContextProvider": CONTEXT, "RemoveIdentityCenterInstance": True},
        {"ContextProvider": CONTEXT, "RemoveContextProvider": True},
        {"IdentityCenterInstanceArn": INSTANCE, "RemoveIdentityCenterInstance": True},
        {"IdentityCenterInstanceArn": "arn:aws:sso:::instance/other"},
        {"ContextProvider": {"SubjectSourceKey": "a  b"}},
    ],
    ids=[
        "context-and-mode",
        "context-and-metadata",
        "context-and-instance",
        "set-and-remove",
        "instance-twice",
        "bad-instance",
        "bad-key",
    ],
)
def test_a_refused_update_changes_nothing(iam: Any, unique: str, params: dict[str, Any]) -> None:
    arn = iam.create_saml_provider(
        Name=f"r-{unique}", SAMLMetadataDocument=metadata(), ContextProvider=CONTEXT
    )["SAMLProviderArn"]
    before = iam.get_saml_provider(SAMLProviderArn=arn)
    with pytest.raises(ClientError) as exc:
        iam.update_saml_provider(SAMLProviderArn=arn, **params)
    assert _error(exc) == ("InvalidInput", 400)
    after = iam.get_saml_provider(SAMLProviderArn=arn)
    assert {
        k: after.get(k) for k in ("ContextProvider", "IdentityCenterInstanceArn", "AssertionEncryptionMode")
    } == {
        k: before.get(k) for k in ("ContextProvider", "IdentityCenterInstanceArn", "AssertionEncryptionMode")
    }


def test_create_refuses_an_instance_without_a_context_and_makes_nothing(iam: Any, unique: str) -> None:
    with pytest.raises(ClientError) as exc:
        iam.create_saml_provider(
            Name=f"n-{unique}", SAMLMetadataDocument=metadata(), IdentityCenterInstanceArn=INSTANCE
        )
    assert _error(exc) == ("InvalidInput", 400)
    assert not [p for p in iam.list_saml_providers()["SAMLProviderList"] if p["Arn"].endswith(f"/n-{unique}")]
