"""Centralized root access through boto3: every account stands alone, so IAM's organization features
answer OrganizationNotFoundException, after the caller's policies have been asked like on every call."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server

_CALLS = (
    "ListOrganizationsFeatures",
    "EnableOrganizationsRootCredentialsManagement",
    "DisableOrganizationsRootCredentialsManagement",
    "EnableOrganizationsRootSessions",
    "DisableOrganizationsRootSessions",
)
_SNAKE = {
    "ListOrganizationsFeatures": "list_organizations_features",
    "EnableOrganizationsRootCredentialsManagement": "enable_organizations_root_credentials_management",
    "DisableOrganizationsRootCredentialsManagement": "disable_organizations_root_credentials_management",
    "EnableOrganizationsRootSessions": "enable_organizations_root_sessions",
    "DisableOrganizationsRootSessions": "disable_organizations_root_sessions",
}
_NO_ORGANIZATION = (
    "OrganizationNotFoundException",
    "The request was rejected because no organization is associated with your account.",
    400,
)


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = exc.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


def _user_client(server: Server, iam: Any, name: str, actions: list[str] | None) -> Any:
    iam.create_user(UserName=name)
    if actions:
        document = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
        }
        iam.put_user_policy(UserName=name, PolicyName="org", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return server.client("iam", key["AccessKeyId"], key["SecretAccessKey"])


@pytest.mark.parametrize("action", _CALLS)
def test_a_standalone_account_has_no_organization(iam: Any, action: str) -> None:
    with pytest.raises(ClientError) as exc:
        getattr(iam, _SNAKE[action])()
    assert _error(exc) == _NO_ORGANIZATION


def test_the_features_stay_off_after_an_enable_was_refused(iam: Any) -> None:
    for action in ("EnableOrganizationsRootSessions", "EnableOrganizationsRootCredentialsManagement"):
        with pytest.raises(ClientError):
            getattr(iam, _SNAKE[action])()
    with pytest.raises(ClientError) as exc:
        iam.list_organizations_features()
    assert _error(exc) == _NO_ORGANIZATION


def test_a_caller_without_permission_is_refused_before_anything_else(
    server: Server, iam: Any, unique: str
) -> None:
    client = _user_client(server, iam, f"no-org-{unique}", None)
    arn = f"arn:aws:iam::{server.account_id}:user/no-org-{unique}"
    for action in _CALLS:
        with pytest.raises(ClientError) as exc:
            getattr(client, _SNAKE[action])()
        assert _error(exc) == (
            "AccessDenied",
            f"User: {arn} is not authorized to perform: iam:{action} on resource: * "
            f"because no identity-based policy allows the iam:{action} action",
            403,
        )


def test_a_caller_allowed_one_action_gets_the_answer_for_that_one_only(
    server: Server, iam: Any, unique: str
) -> None:
    client = _user_client(server, iam, f"org-reader-{unique}", ["iam:ListOrganizationsFeatures"])
    with pytest.raises(ClientError) as exc:
        client.list_organizations_features()
    assert _error(exc) == _NO_ORGANIZATION
    with pytest.raises(ClientError) as exc:
        client.enable_organizations_root_sessions()
    assert _error(exc)[0] == "AccessDenied"
