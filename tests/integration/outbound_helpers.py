"""Helpers of the outbound federation tests: a fresh account per test (the feature is account-wide),
AWS's error triple, and a relying party's OIDC verification with PyJWT against the served JWKS."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from botocore.exceptions import ClientError

from ostiary.bootstrap import create_account
from ostiary.store.db import Database
from ostiary.store.keyring import Keyring
from tests.conftest import Server

NAMESPACE = "https://sts.amazonaws.com/"
AUDIENCE = "https://api.example.com"


@dataclass
class Account:
    """A fresh account of the running server, with clients as its root."""

    server: Server
    account_id: str
    key_id: str
    secret: str

    def client(self, service: str, **credentials: Any) -> Any:
        if not credentials:
            return self.server.client(service, self.key_id, self.secret)
        return self.server.client(service, **credentials)

    def user(
        self, name: str, policy: dict[str, Any] | None = None, tags: dict[str, str] | None = None
    ) -> Any:
        """An STS client of a new user of this account, with `policy` inline; and the user's ARN."""
        iam = self.client("iam")
        tag_list = [{"Key": k, "Value": v} for k, v in (tags or {}).items()]
        iam.create_user(UserName=name, Tags=tag_list)
        if policy is not None:
            iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return self.client(
            "sts", access_key_id=key["AccessKeyId"], secret_access_key=key["SecretAccessKey"]
        ), f"arn:aws:iam::{self.account_id}:user/{name}"


def new_account(server: Server) -> Account:
    """A fresh account of the running server, made with Ostiary's admin code."""
    db = Database(server.database_url, pool=False)
    try:
        made = create_account(db, Keyring.load(server.data_dir))
    finally:
        db.dispose()
    return Account(server, made["AccountId"], made["AccessKeyId"], made["SecretAccessKey"])


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = exc.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310  # the test's own server
        return json.loads(response.read())


def allow(*actions: str, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": list(actions), "Resource": "*"}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def verify(token: str, issuer: str, audience: str, *, clock_ahead_seconds: int = 0) -> dict[str, Any]:
    """A relying party's OIDC verification: discovery → jwks_uri → key by kid → every check, pinned.

    `clock_ahead_seconds` runs the verifier's clock ahead (a negative leeway, so no test sleeps); the
    issue time is then not checked, as a shifted clock would see every token as issued in the past.
    """
    discovery = get_json(issuer + "/.well-known/openid-configuration")
    assert discovery["issuer"] == issuer
    header = jwt.get_unverified_header(token)
    assert header["alg"] in discovery["id_token_signing_alg_values_supported"]
    key = jwt.PyJWKClient(discovery["jwks_uri"], cache_keys=False).get_signing_key(header["kid"])
    claims: dict[str, Any] = jwt.decode(
        token,
        key.key,
        algorithms=["RS256", "ES384"],
        audience=audience,
        issuer=issuer,
        leeway=-clock_ahead_seconds,
        options={
            "require": ["iss", "sub", "aud", "exp", "iat", "jti"],
            "verify_signature": True,
            "verify_exp": True,
            "verify_iat": clock_ahead_seconds == 0,
            "verify_aud": True,
            "verify_iss": True,
        },
    )
    return claims
