"""UpdateOpenIDConnectProvider, and the trusted identity propagation settings of CreateOpenIDConnectProvider,
through a boto3 client on botocore 1.44.8's model: what the model's documentation describes."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.integration.newer_helpers import new_account, newer_client, user_client

INSTANCE = "arn:aws:sso:::instance/ssoins-1234567890abcdef"
CONTEXT = {
    "SubjectSourceKey": "sub",
    "SubjectTypeValue": "user",
    "KeyDefinitionList": [{"SourceKey": "email", "TargetKey": "aws:OriginIdentity/Email"}],
}


@pytest.fixture(scope="module")
def account(server: Server) -> dict[str, str]:
    return new_account(server)


@pytest.fixture(scope="module")
def iam(server: Server, account: dict[str, str]) -> Any:
    return newer_client(server, "iam", account)


def _provider(iam: Any, unique: str, **extra: Any) -> str:
    url = f"https://idp-{unique}.example.com"
    return str(
        iam.create_open_id_connect_provider(Url=url, ClientIDList=["app"], **extra)[
            "OpenIDConnectProviderArn"
        ]
    )


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    return exc.value.response["Error"]["Code"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


def _listed(iam: Any, arn: str) -> dict[str, Any]:
    return next(
        p for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] if p["Arn"] == arn
    )


def test_set_associate_disassociate_and_remove_in_the_documented_order(iam: Any, unique: str) -> None:
    arn = _provider(iam, unique, ThumbprintList=["a" * 40])
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert "ContextProvider" not in got and "IdentityCenterInstanceArn" not in got
    assert _listed(iam, arn) == {"Arn": arn}
    iam.update_open_id_connect_provider(OpenIDConnectProviderArn=arn, ContextProvider=CONTEXT)
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)["ContextProvider"] == CONTEXT
    iam.update_open_id_connect_provider(OpenIDConnectProviderArn=arn, IdentityCenterInstanceArn=INSTANCE)
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert (got["IdentityCenterInstanceArn"], got["ThumbprintList"], got["ClientIDList"]) == (
        INSTANCE,
        ["a" * 40],
        ["app"],
    )
    assert _listed(iam, arn) == {"Arn": arn, "IsTrustedIdentityPropagationEnabled": True}
    with pytest.raises(ClientError) as exc:  # the association goes first
        iam.update_open_id_connect_provider(OpenIDConnectProviderArn=arn, RemoveContextProvider=True)
    assert _error(exc) == ("InvalidInput", 400)
    iam.update_open_id_connect_provider(OpenIDConnectProviderArn=arn, RemoveIdentityCenterInstance=True)
    iam.update_open_id_connect_provider(OpenIDConnectProviderArn=arn, RemoveContextProvider=True)
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert "ContextProvider" not in got and "IdentityCenterInstanceArn" not in got
    assert _listed(iam, arn) == {"Arn": arn}


def test_create_takes_both_settings_and_an_instance_needs_a_context(iam: Any, unique: str) -> None:
    arn = _provider(
        iam, f"c-{unique}", ContextProvider={"SubjectSourceKey": "sub"}, IdentityCenterInstanceArn=INSTANCE
    )
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert (got["ContextProvider"], got["IdentityCenterInstanceArn"]) == (
        {"SubjectSourceKey": "sub"},
        INSTANCE,
    )
    with pytest.raises(ClientError) as exc:
        _provider(iam, f"n-{unique}", IdentityCenterInstanceArn=INSTANCE)
    assert _error(exc) == ("InvalidInput", 400)
    bare = _provider(iam, f"b-{unique}")
    with pytest.raises(ClientError) as exc:
        iam.update_open_id_connect_provider(OpenIDConnectProviderArn=bare, IdentityCenterInstanceArn=INSTANCE)
    assert _error(exc) == ("InvalidInput", 400)


_REFUSED = [
    {},
    {"ContextProvider": CONTEXT, "RemoveContextProvider": True},
    {"IdentityCenterInstanceArn": INSTANCE, "RemoveIdentityCenterInstance": True},
    {"ContextProvider": CONTEXT, "IdentityCenterInstanceArn": INSTANCE},
    {"ContextProvider": {"SubjectSourceKey": " sub"}},
    {"ContextProvider": {"SubjectSourceKey": "a  b"}},
    {"ContextProvider": {"SubjectSourceKey": "sub<script>"}},
    {"ContextProvider": {"SubjectSourceKey": "sub", "SubjectTypeValue": "u", "SubjectTypeSourceKey": "t"}},
    {
        "ContextProvider": {
            "SubjectSourceKey": "sub",
            "KeyDefinitionList": [{"SourceKey": "s", "TargetKey": "t\n"}],
        }
    },
    {"ContextProvider": {"SubjectSourceKey": "sub", "KeyDefinitionList": [{"SourceKey": "s"}] * 11}},
    {"ContextProvider": {"SubjectSourceKey": "x" * 129}},
    {"RemoveContextProvider": False},
]


@pytest.mark.parametrize("params", _REFUSED, ids=[str(i) for i in range(len(_REFUSED))])
def test_a_malformed_update_is_refused_and_changes_nothing(
    server: Server, account: dict[str, str], iam: Any, unique: str, params: dict[str, Any]
) -> None:
    arn = _provider(iam, unique, ContextProvider={"SubjectSourceKey": "kept"})
    hostile = newer_client(server, "iam", account, validate=False)
    with pytest.raises(ClientError) as exc:
        hostile.update_open_id_connect_provider(OpenIDConnectProviderArn=arn, **params)
    assert _error(exc) in {("InvalidInput", 400), ("ValidationError", 400)}
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["ContextProvider"] == {"SubjectSourceKey": "kept"} and "IdentityCenterInstanceArn" not in got


@pytest.mark.parametrize(
    "instance",
    ["arn:aws:sso:::instance/ssoins-short", "arn:aws:iam::123456789012:role/x", "ssoins-1234567890abcdef"],
)
def test_an_instance_arn_of_another_form_is_refused(iam: Any, unique: str, instance: str) -> None:
    arn = _provider(iam, unique, ContextProvider={"SubjectSourceKey": "sub"})
    with pytest.raises(ClientError) as exc:
        iam.update_open_id_connect_provider(OpenIDConnectProviderArn=arn, IdentityCenterInstanceArn=instance)
    assert _error(exc) == ("InvalidInput", 400)
    assert "IdentityCenterInstanceArn" not in iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)


def test_an_unknown_or_another_accounts_provider_is_no_such_entity(
    server: Server, iam: Any, unique: str
) -> None:
    arn = _provider(iam, f"o-{unique}")
    stranger = newer_client(server, "iam", new_account(server))
    for client, target in ((iam, arn + "x"), (stranger, arn)):
        with pytest.raises(ClientError) as exc:
            client.update_open_id_connect_provider(OpenIDConnectProviderArn=target, ContextProvider=CONTEXT)
        assert _error(exc) == ("NoSuchEntity", 404)
    assert "ContextProvider" not in iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)


def test_update_is_authorized_on_the_providers_arn(server: Server, iam: Any, unique: str) -> None:
    mine = _provider(iam, f"m-{unique}")
    theirs = _provider(iam, f"t-{unique}")
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:UpdateOpenIDConnectProvider", "Resource": mine}],
    }
    user = user_client(server, iam, f"u-{unique}", policy)
    user.update_open_id_connect_provider(OpenIDConnectProviderArn=mine, ContextProvider=CONTEXT)
    with pytest.raises(ClientError) as exc:
        user.update_open_id_connect_provider(OpenIDConnectProviderArn=theirs, ContextProvider=CONTEXT)
    assert _error(exc) == ("AccessDenied", 403)
    assert theirs in exc.value.response["Error"]["Message"]
    assert "ContextProvider" not in iam.get_open_id_connect_provider(OpenIDConnectProviderArn=theirs)
