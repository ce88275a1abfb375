"""What an attacker would try against outbound federation: callers without permission, condition keys
bypassed, out-of-range parameters, forged claims, the private keys, and paths beside the issuer's."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import jwt
import pytest
from botocore.exceptions import ClientError

from ostiary.store.db import Database
from ostiary.store.keyring import Keyring
from tests.conftest import Server
from tests.integration.outbound_helpers import (
    AUDIENCE,
    NAMESPACE,
    Account,
    allow,
    error,
    get_json,
    new_account,
    verify,
)


@pytest.fixture
def account(server: Server) -> Account:
    return new_account(server)


def test_unauthorized_callers_get_access_denied_with_awss_text(account: Account) -> None:
    account.client("iam").enable_outbound_web_identity_federation()
    sts, arn = account.user("nobody")
    with pytest.raises(ClientError) as exc:
        sts.get_web_identity_token(Audience=[AUDIENCE], SigningAlgorithm="RS256")
    assert error(exc) == (
        "AccessDenied",
        f"User: {arn} is not authorized to perform: sts:GetWebIdentityToken on resource: * "
        "because no identity-based policy allows the sts:GetWebIdentityToken action",
        403,
    )
    key = account.client("iam").create_access_key(UserName="nobody")["AccessKey"]
    iam = account.client("iam", access_key_id=key["AccessKeyId"], secret_access_key=key["SecretAccessKey"])
    for call, action in (
        (iam.enable_outbound_web_identity_federation, "EnableOutboundWebIdentityFederation"),
        (iam.disable_outbound_web_identity_federation, "DisableOutboundWebIdentityFederation"),
        (iam.get_outbound_web_identity_federation_info, "GetOutboundWebIdentityFederationInfo"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error(exc) == (
            "AccessDenied",
            f"User: {arn} is not authorized to perform: iam:{action} on resource: * "
            f"because no identity-based policy allows the iam:{action} action",
            403,
        )


def test_condition_keys_bound_audience_duration_algorithm_and_tags(account: Account) -> None:
    account.client("iam").enable_outbound_web_identity_federation()
    policy = allow(
        "sts:GetWebIdentityToken",
        condition={
            "ForAllValues:StringEquals": {"sts:IdentityTokenAudience": [AUDIENCE]},
            "NumericLessThanEquals": {"sts:DurationSeconds": 300},
            "StringEquals": {"sts:SigningAlgorithm": "ES384"},
        },
    )
    sts, _ = account.user("bounded", policy)
    sts.get_web_identity_token(Audience=[AUDIENCE], SigningAlgorithm="ES384", DurationSeconds=300)
    refused = [
        {"Audience": [AUDIENCE, "https://evil.example.com"], "DurationSeconds": 300},  # audience injection
        {"Audience": ["https://evil.example.com"], "DurationSeconds": 300},
        {"Audience": [AUDIENCE], "DurationSeconds": 301},
        {"Audience": [AUDIENCE], "DurationSeconds": 300, "SigningAlgorithm": "RS256"},
        # Tags need sts:TagGetWebIdentityToken as well, which this policy does not grant.
        {"Audience": [AUDIENCE], "DurationSeconds": 300, "Tags": [{"Key": "k", "Value": "v"}]},
    ]
    for params in refused:
        with pytest.raises(ClientError) as exc:
            sts.get_web_identity_token(**{"SigningAlgorithm": "ES384", **params})
        assert error(exc)[0::2] == ("AccessDenied", 403), params


def test_out_of_range_parameters_are_validation_errors(account: Account) -> None:
    account.client("iam").enable_outbound_web_identity_federation()
    sts = account.server.client(
        "sts", account.key_id, account.secret, parameter_validation=False
    )  # send what boto3 would refuse
    bad: list[dict[str, Any]] = [
        {"Audience": [AUDIENCE], "SigningAlgorithm": "RS256", "DurationSeconds": 3601},
        {"Audience": [AUDIENCE], "SigningAlgorithm": "RS256", "DurationSeconds": 59},
        {"Audience": [AUDIENCE], "SigningAlgorithm": "RS256", "DurationSeconds": 2**31},
        {"Audience": [f"aud-{i}" for i in range(11)], "SigningAlgorithm": "RS256"},
        {"Audience": ["x" * 1001], "SigningAlgorithm": "RS256"},
        {"Audience": [AUDIENCE], "SigningAlgorithm": "HS256"},  # a shared-secret algorithm: never
        {"Audience": [AUDIENCE], "SigningAlgorithm": "none"},
        {"Audience": [AUDIENCE], "SigningAlgorithm": "es384"},
    ]
    for params in bad:
        with pytest.raises(ClientError) as exc:
            sts.get_web_identity_token(**params)
        assert error(exc)[0::2] == ("ValidationError", 400), params


def test_request_tags_cannot_overwrite_the_standard_claims(account: Account) -> None:
    issuer = account.client("iam").enable_outbound_web_identity_federation()["IssuerIdentifier"]
    forged = [
        {"Key": "sub", "Value": "arn:aws:iam::999999999999:root"},
        {"Key": "iss", "Value": "https://evil.example.com"},
        {"Key": "aws_account", "Value": "999999999999"},
    ]
    token = account.client("sts").get_web_identity_token(
        Audience=['x", "aud": "https://evil.example.com'], SigningAlgorithm="RS256", Tags=forged
    )["WebIdentityToken"]
    claims = verify(token, issuer, 'x", "aud": "https://evil.example.com')
    assert claims["sub"] == f"arn:aws:iam::{account.account_id}:root"
    assert claims[NAMESPACE]["aws_account"] == account.account_id
    assert claims[NAMESPACE]["request_tags"] == {t["Key"]: t["Value"] for t in forged}
    with pytest.raises(ClientError) as exc:
        account.client("sts").get_web_identity_token(
            Audience=[AUDIENCE],
            SigningAlgorithm="RS256",
            Tags=[{"Key": "Team", "Value": "a"}, {"Key": "team", "Value": "b"}],
        )
    assert error(exc)[0::2] == ("InvalidParameterValue", 400)


def test_the_private_keys_are_sealed_and_never_served_or_logged(server: Server, account: Account) -> None:
    issuer = account.client("iam").enable_outbound_web_identity_federation()["IssuerIdentifier"]
    token = account.client("sts").get_web_identity_token(Audience=[AUDIENCE], SigningAlgorithm="RS256")
    served = json.dumps(
        [
            get_json(issuer + "/.well-known/openid-configuration"),
            get_json(issuer + "/.well-known/jwks.json"),
            token["WebIdentityToken"],
        ]
    )
    jwks = get_json(issuer + "/.well-known/jwks.json")
    assert {k["alg"] for k in jwks["keys"]} == {"RS256", "ES384"}
    for key in jwks["keys"]:
        assert not key.keys() & {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}, key
    private_numbers = _private_numbers(server, account.account_id)
    log = (server.data_dir / "server.log").read_text(errors="replace")
    for number in private_numbers:
        assert number not in served and number not in log


def _private_numbers(server: Server, account_id: str) -> list[str]:
    """The base64url private numbers of the account's keys, opened from the store as the server does."""
    from ostiary.federation import outbound
    from ostiary.store import outbound_federation as store

    db = Database(server.database_url, pool=False)
    keyring = Keyring.load(server.data_dir)
    try:
        with db.read() as conn:
            keys = store.signing_keys(conn, account_id)
    finally:
        db.dispose()
    numbers = []
    for key in keys:
        assert b"PRIVATE" not in key.sealed_private_key
        private = outbound._private_key(keyring, account_id, key.kid, key.sealed_private_key)
        jwk = json.loads(jwt.algorithms.get_default_algorithms()[key.algorithm].to_jwk(private))
        numbers.append(jwk["d"])
    return numbers


def test_discovery_answers_only_known_issuers(account: Account) -> None:
    issuer = account.client("iam").enable_outbound_web_identity_federation()["IssuerIdentifier"]
    base = account.server.endpoint
    for path in (
        "/_outbound/00000000-0000-4000-8000-000000000000/.well-known/jwks.json",
        "/_outbound/" + issuer.rsplit("/", 1)[1] + "/.well-known/../jwks.json",
    ):
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(base + path, timeout=10)  # noqa: S310  # the test's own server
        assert 400 <= exc.value.code < 500, path
    request = urllib.request.Request(issuer + "/.well-known/jwks.json", method="POST", data=b"")
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=10)  # noqa: S310  # the test's own server
