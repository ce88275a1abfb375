"""Small factories for the authorization tests: policies, users with keys, roles, refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server

ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"


def doc(*statements: dict[str, Any]) -> str:
    """An identity policy document of these statements."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def account_trust(account: str) -> str:
    """A trust policy that lets the account's principals assume the role (if their policies allow)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "*"}
            ],
        }
    )


class Principal:
    """A user with an access key and inline policies: its IAM and STS clients and its ARN."""

    def __init__(self, server: Server, root_iam: Any, name: str, *statements: dict[str, Any], **create: Any):
        self.name = name
        self.arn = root_iam.create_user(UserName=name, **create)["User"]["Arn"]
        if statements:
            root_iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=doc(*statements))
        key = root_iam.create_access_key(UserName=name)["AccessKey"]
        self.iam = server.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
        self.sts = server.client("sts", key["AccessKeyId"], key["SecretAccessKey"])


def role_clients(server: Server, credentials: dict[str, Any]) -> tuple[Any, Any]:
    """(IAM client, STS client) of temporary credentials."""
    args = (credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"])
    return server.client("iam", *args), server.client("sts", *args)


def denied(exc: pytest.ExceptionInfo[ClientError]) -> str:
    """The message of an AccessDenied (403), after checking that it is one."""
    assert exc.value.response["Error"]["Code"] == "AccessDenied", exc.value.response["Error"]
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    return str(exc.value.response["Error"]["Message"])


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = exc.value.response["Error"]
    return err["Code"], err["Message"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]
