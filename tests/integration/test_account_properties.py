"""GetAccountProperties/PutAccountProperties through a boto3 client on botocore 1.44.8's model."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from ostiary.services.account_properties import MAX_PROPERTIES
from tests.conftest import Server
from tests.integration.newer_helpers import new_account, newer_client, user_client


@pytest.fixture(scope="module")
def account(server: Server) -> dict[str, str]:
    """A fresh account: properties are account-wide."""
    return new_account(server)


@pytest.fixture(scope="module")
def root(server: Server, account: dict[str, str]) -> Any:
    return newer_client(server, "iam", account)


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    return exc.value.response["Error"]["Code"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_put_properties_read_back_replaced_and_kept_per_account(server: Server, root: Any) -> None:
    assert root.get_account_properties()["Properties"] == {}
    assert root.put_account_properties(Properties={"RoleManager/Enabled": "true", "RoleManager/Max-1": "5"})
    root.put_account_properties(Properties={"RoleManager/Enabled": "false"})
    assert root.get_account_properties()["Properties"] == {
        "RoleManager/Enabled": "false",
        "RoleManager/Max-1": "5",
    }
    other = newer_client(server, "iam", new_account(server))
    assert other.get_account_properties()["Properties"] == {}


@pytest.mark.parametrize(
    "properties",
    [
        {},
        {"NoSlash": "v"},
        {"Two/Slashes/Here": "v"},
        {"Trailing/": "v"},
        {"A/x": "1", "B/y": "2"},
        {"A/" + "x" * 60: "v"},
        {"A/x": ""},
        {"A/x": "v" * 1025},
        {"1A/x": "v"},
        {"A/x y": "v"},
    ],
    ids=[
        "empty",
        "no-slash",
        "two-slashes",
        "trailing",
        "two-namespaces",
        "long-key",
        "empty-value",
        "long-value",
        "digit-first",
        "space",
    ],
)
def test_a_malformed_request_is_refused_and_changes_nothing(
    server: Server, account: dict[str, str], root: Any, properties: dict[str, str]
) -> None:
    before = root.get_account_properties()["Properties"]
    with pytest.raises(ClientError) as exc:
        newer_client(server, "iam", account, validate=False).put_account_properties(Properties=properties)
    assert _error(exc) in {("InvalidInput", 400), ("ValidationError", 400)}
    assert root.get_account_properties()["Properties"] == before


def test_an_account_keeps_at_most_its_quota(server: Server) -> None:
    iam = newer_client(server, "iam", new_account(server))
    iam.put_account_properties(Properties={f"Q/p{i}": str(i) for i in range(MAX_PROPERTIES)})
    iam.put_account_properties(Properties={"Q/p0": "again"})  # replacing is not growing
    with pytest.raises(ClientError) as exc:
        iam.put_account_properties(Properties={"Q/one-more": "x"})
    assert _error(exc) == ("InvalidInput", 400)
    assert len(iam.get_account_properties()["Properties"]) == MAX_PROPERTIES


def test_both_calls_are_authorized_and_the_namespace_is_a_condition_key(
    server: Server, root: Any, unique: str
) -> None:
    nobody = user_client(server, root, f"np-{unique}", None)
    for call in (
        nobody.get_account_properties,
        lambda: nobody.put_account_properties(Properties={"A/b": "c"}),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert _error(exc) == ("AccessDenied", 403)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["iam:PutAccountProperties", "iam:GetAccountProperties"],
                "Resource": "*",
                "Condition": {"ForAllValues:StringEquals": {"iam:AccountPropertyNamespaces": "Mine"}},
            }
        ],
    }
    scoped = user_client(server, root, f"sp-{unique}", policy)
    scoped.put_account_properties(Properties={"Mine/x": "1"})
    with pytest.raises(ClientError) as exc:
        scoped.put_account_properties(Properties={"Theirs/x": "1"})
    assert _error(exc) == ("AccessDenied", 403)
    assert "Theirs/x" not in root.get_account_properties()["Properties"]
    assert root.get_account_properties()["Properties"]["Mine/x"] == "1"
