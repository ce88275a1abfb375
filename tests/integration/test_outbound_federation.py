"""Outbound web identity federation through boto3: enable, info, GetWebIdentityToken, and a real OIDC
verification of the token with PyJWT against the JWKS fetched over HTTP from the discovery document.

The feature is account-wide, so each test makes its own account and calls it as that account's root.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from botocore.exceptions import ClientError

from ostiary.bootstrap import create_account
from ostiary.store.db import Database
from ostiary.store.keyring import Keyring
from tests.conftest import Server, start_server, stop_server
from tests.integration.gateway_helpers import moto_backend

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


@pytest.fixture
def account(server: Server) -> Iterator[Account]:
    db = Database(server.database_url, pool=False)
    try:
        made = create_account(db, Keyring.load(server.data_dir))
    finally:
        db.dispose()
    yield Account(server, made["AccountId"], made["AccessKeyId"], made["SecretAccessKey"])


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = exc.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310  # the test's own server
        return json.loads(response.read())


def _allow(*actions: str, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": list(actions), "Resource": "*"}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def verify(token: str, issuer: str, audience: str, *, clock_ahead_seconds: int = 0) -> dict[str, Any]:
    """A relying party's OIDC verification: discovery → jwks_uri → key by kid → every check, pinned.

    `clock_ahead_seconds` runs the verifier's clock ahead (a negative leeway, so no test sleeps); the
    issue time is then not checked, as a shifted clock would see every token as issued in the past.
    """
    discovery = _get_json(issuer + "/.well-known/openid-configuration")
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


def test_enable_info_disable_lifecycle(account: Account) -> None:
    iam = account.client("iam")
    with pytest.raises(ClientError) as exc:
        iam.get_outbound_web_identity_federation_info()
    assert _error(exc)[0::2] == ("FeatureDisabled", 404)
    issuer = iam.enable_outbound_web_identity_federation()["IssuerIdentifier"]
    assert issuer.startswith(account.server.endpoint + "/_outbound/")
    info = iam.get_outbound_web_identity_federation_info()
    assert (info["IssuerIdentifier"], info["JwtVendingEnabled"]) == (issuer, True)
    with pytest.raises(ClientError) as exc:
        iam.enable_outbound_web_identity_federation()
    assert _error(exc)[0::2] == ("FeatureEnabled", 409)
    iam.disable_outbound_web_identity_federation()
    with pytest.raises(ClientError) as exc:
        iam.disable_outbound_web_identity_federation()
    assert _error(exc)[0::2] == ("FeatureDisabled", 404)
    with pytest.raises(ClientError) as exc:
        iam.get_outbound_web_identity_federation_info()
    assert _error(exc)[0::2] == ("FeatureDisabled", 404)
    # Enabled again, the account keeps its issuer: trust set up outside stays valid.
    assert iam.enable_outbound_web_identity_federation()["IssuerIdentifier"] == issuer


@pytest.mark.parametrize("algorithm", ["RS256", "ES384"])
def test_user_token_verifies_with_pyjwt_against_the_served_jwks(account: Account, algorithm: str) -> None:
    issuer = account.client("iam").enable_outbound_web_identity_federation()["IssuerIdentifier"]
    sts, arn = account.user("alice", _allow("sts:GetWebIdentityToken"), tags={"team": "data"})
    before = int(time.time())
    answer = sts.get_web_identity_token(Audience=[AUDIENCE], SigningAlgorithm=algorithm, DurationSeconds=120)
    token = answer["WebIdentityToken"]
    assert jwt.get_unverified_header(token)["alg"] == algorithm
    claims = verify(token, issuer, AUDIENCE)
    assert claims["sub"] == arn
    assert claims["aud"] == AUDIENCE
    assert before - 1 <= claims["iat"] <= int(time.time())
    assert claims["exp"] - claims["iat"] == 120
    assert int(answer["Expiration"].timestamp()) == claims["exp"]
    aws = claims[NAMESPACE]
    assert aws["aws_account"] == account.account_id
    assert aws["source_region"] == "us-east-1"
    assert aws["principal_tags"] == {"team": "data"}
    assert aws["principal_id"].startswith("AIDA")


def test_default_duration_is_five_minutes_and_each_token_has_its_own_jti(account: Account) -> None:
    issuer = account.client("iam").enable_outbound_web_identity_federation()["IssuerIdentifier"]
    sts = account.client("sts")  # root may do everything in its account
    tokens = [
        sts.get_web_identity_token(Audience=[AUDIENCE], SigningAlgorithm="RS256")["WebIdentityToken"]
        for _ in range(2)
    ]
    claims = [verify(t, issuer, AUDIENCE) for t in tokens]
    assert [c["exp"] - c["iat"] for c in claims] == [300, 300]
    assert claims[0]["jti"] != claims[1]["jti"]
    assert claims[0]["sub"] == f"arn:aws:iam::{account.account_id}:root"


def test_assumed_role_token_names_the_role_and_carries_session_and_request_tags(account: Account) -> None:
    iam = account.client("iam")
    issuer = iam.enable_outbound_web_identity_federation()["IssuerIdentifier"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account.account_id}:root"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    }
    role_arn = iam.create_role(
        RoleName="worker", AssumeRolePolicyDocument=json.dumps(trust), Tags=[{"Key": "env", "Value": "prod"}]
    )["Role"]["Arn"]
    allow = _allow("sts:GetWebIdentityToken", "sts:TagGetWebIdentityToken")
    iam.put_role_policy(RoleName="worker", PolicyName="p", PolicyDocument=json.dumps(allow))
    assumer, _ = account.user("assumer", _allow("sts:AssumeRole", "sts:TagSession"))
    creds = assumer.assume_role(
        RoleArn=role_arn, RoleSessionName="job-7", Tags=[{"Key": "job", "Value": "7"}]
    )["Credentials"]
    sts = account.client(
        "sts",
        access_key_id=creds["AccessKeyId"],
        secret_access_key=creds["SecretAccessKey"],
        session_token=creds["SessionToken"],
    )
    token = sts.get_web_identity_token(
        Audience=[AUDIENCE, "second"], SigningAlgorithm="ES384", Tags=[{"Key": "run", "Value": "42"}]
    )["WebIdentityToken"]
    claims = verify(token, issuer, "second")
    assert claims["sub"] == role_arn
    assert claims["aud"] == [AUDIENCE, "second"]
    aws = claims[NAMESPACE]
    assert aws["principal_id"].endswith(":job-7")
    assert aws["principal_tags"] == {"env": "prod", "job": "7"}
    assert aws["request_tags"] == {"run": "42"}
    assert aws["original_session_exp"] == creds["Expiration"].strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_token_may_not_outlive_the_session_it_was_asked_with(account: Account) -> None:
    account.client("iam").enable_outbound_web_identity_federation()
    user_sts, _ = account.user("bob", _allow("sts:GetWebIdentityToken"))
    creds = user_sts.get_session_token(DurationSeconds=900)["Credentials"]
    session_sts = account.client(
        "sts",
        access_key_id=creds["AccessKeyId"],
        secret_access_key=creds["SecretAccessKey"],
        session_token=creds["SessionToken"],
    )
    session_sts.get_web_identity_token(Audience=[AUDIENCE], SigningAlgorithm="RS256", DurationSeconds=600)
    with pytest.raises(ClientError) as exc:
        session_sts.get_web_identity_token(
            Audience=[AUDIENCE], SigningAlgorithm="RS256", DurationSeconds=3600
        )
    assert _error(exc)[0::2] == ("SessionDurationEscalationException", 403)


def test_disabled_account_gets_awss_error_and_old_tokens_still_verify(account: Account) -> None:
    iam = account.client("iam")
    sts = account.client("sts")
    with pytest.raises(ClientError) as exc:
        sts.get_web_identity_token(Audience=[AUDIENCE], SigningAlgorithm="RS256")
    assert _error(exc)[0::2] == ("OutboundWebIdentityFederationDisabledException", 403)
    issuer = iam.enable_outbound_web_identity_federation()["IssuerIdentifier"]
    token = sts.get_web_identity_token(Audience=[AUDIENCE], SigningAlgorithm="RS256")["WebIdentityToken"]
    iam.disable_outbound_web_identity_federation()
    with pytest.raises(ClientError) as exc:
        sts.get_web_identity_token(Audience=[AUDIENCE], SigningAlgorithm="RS256")
    assert _error(exc)[0::2] == ("OutboundWebIdentityFederationDisabledException", 403)
    assert verify(token, issuer, AUDIENCE)["sub"].endswith(":root")


def test_one_accounts_token_does_not_verify_as_anothers(server: Server, account: Account) -> None:
    db = Database(server.database_url, pool=False)
    try:
        made = create_account(db, Keyring.load(server.data_dir))
    finally:
        db.dispose()
    other = Account(server, made["AccountId"], made["AccessKeyId"], made["SecretAccessKey"])
    mine = account.client("iam").enable_outbound_web_identity_federation()["IssuerIdentifier"]
    theirs = other.client("iam").enable_outbound_web_identity_federation()["IssuerIdentifier"]
    assert mine != theirs
    for algorithm in ("RS256", "ES384"):
        answer = account.client("sts").get_web_identity_token(Audience=[AUDIENCE], SigningAlgorithm=algorithm)
        token = answer["WebIdentityToken"]
        assert verify(token, mine, AUDIENCE)["iss"] == mine
        # The other issuer publishes the same key ids but other keys: the signature fails there...
        with pytest.raises(jwt.InvalidSignatureError):
            verify(token, theirs, AUDIENCE)
        # ...and the issuer claim names the first account's issuer, which a verifier pins.
        assert jwt.decode(token, options={"verify_signature": False})["iss"] == mine


def test_expired_token_fails_verification(account: Account) -> None:
    issuer = account.client("iam").enable_outbound_web_identity_federation()["IssuerIdentifier"]
    token = account.client("sts").get_web_identity_token(
        Audience=[AUDIENCE], SigningAlgorithm="RS256", DurationSeconds=60
    )["WebIdentityToken"]
    verify(token, issuer, AUDIENCE)
    verify(token, issuer, AUDIENCE, clock_ahead_seconds=50)
    with pytest.raises(jwt.ExpiredSignatureError):
        verify(token, issuer, AUDIENCE, clock_ahead_seconds=61)


def test_wrong_audience_fails_verification(account: Account) -> None:
    issuer = account.client("iam").enable_outbound_web_identity_federation()["IssuerIdentifier"]
    token = account.client("sts").get_web_identity_token(Audience=[AUDIENCE], SigningAlgorithm="RS256")
    with pytest.raises(jwt.InvalidAudienceError):
        verify(token["WebIdentityToken"], issuer, "https://evil.example.com")


# -- what an attacker would try -------------------------------------------------------------------


def test_unauthorized_callers_get_access_denied_with_awss_text(account: Account) -> None:
    account.client("iam").enable_outbound_web_identity_federation()
    sts, arn = account.user("nobody")
    with pytest.raises(ClientError) as exc:
        sts.get_web_identity_token(Audience=[AUDIENCE], SigningAlgorithm="RS256")
    assert _error(exc) == (
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
        assert _error(exc) == (
            "AccessDenied",
            f"User: {arn} is not authorized to perform: iam:{action} on resource: * "
            f"because no identity-based policy allows the iam:{action} action",
            403,
        )


def test_condition_keys_bound_audience_duration_algorithm_and_tags(account: Account) -> None:
    account.client("iam").enable_outbound_web_identity_federation()
    policy = _allow(
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
        assert _error(exc)[0::2] == ("AccessDenied", 403), params


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
        assert _error(exc)[0::2] == ("ValidationError", 400), params


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
    assert _error(exc)[0::2] == ("InvalidParameterValue", 400)


def test_the_private_keys_are_sealed_and_never_served_or_logged(server: Server, account: Account) -> None:
    issuer = account.client("iam").enable_outbound_web_identity_federation()["IssuerIdentifier"]
    token = account.client("sts").get_web_identity_token(Audience=[AUDIENCE], SigningAlgorithm="RS256")
    served = json.dumps(
        [
            _get_json(issuer + "/.well-known/openid-configuration"),
            _get_json(issuer + "/.well-known/jwks.json"),
            token["WebIdentityToken"],
        ]
    )
    jwks = _get_json(issuer + "/.well-known/jwks.json")
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


@pytest.fixture(scope="module")
def s3_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose gateway sends S3 to moto: it would take any unsigned GET as S3's."""
    backend = moto_backend(tmp_path_factory)
    url = next(backend)
    data_dir = tmp_path_factory.mktemp("ostiary-outbound-s3")
    server = start_server(
        data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite", "--backend", f"s3={url}"
    )
    yield server
    stop_server(server)
    backend.close()


def test_discovery_is_served_before_an_s3_backend_takes_the_get(s3_gateway: Server) -> None:
    issuer = s3_gateway.client("iam").enable_outbound_web_identity_federation()["IssuerIdentifier"]
    token = s3_gateway.client("sts").get_web_identity_token(Audience=[AUDIENCE], SigningAlgorithm="ES384")
    assert verify(token["WebIdentityToken"], issuer, AUDIENCE)["sub"].endswith(":root")
    s3_gateway.client("s3").create_bucket(Bucket="outbound-neighbour")  # S3 itself still works
    assert [b["Name"] for b in s3_gateway.client("s3").list_buckets()["Buckets"]] == ["outbound-neighbour"]


def _aws_cli(account: Account, *args: str) -> Any:
    """The AWS CLI as the account's root, as a user would run it; its JSON output."""
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID=account.key_id,
        AWS_SECRET_ACCESS_KEY=account.secret,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    env.pop("AWS_PROFILE", None)
    command = [sys.executable, "-m", "awscli", "--endpoint-url", account.server.endpoint, "--output", "json"]
    done = subprocess.run([*command, *args], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def test_the_aws_cli_enables_and_gets_a_token(account: Account) -> None:
    issuer = _aws_cli(account, "iam", "enable-outbound-web-identity-federation")["IssuerIdentifier"]
    info = _aws_cli(account, "iam", "get-outbound-web-identity-federation-info")
    assert info == {"IssuerIdentifier": issuer, "JwtVendingEnabled": True}
    # Not a URL: the CLI (v1) would fetch an http(s) parameter value as a remote file.
    answer = _aws_cli(
        account, "sts", "get-web-identity-token", "--audience", "vault", "--signing-algorithm", "RS256"
    )
    assert verify(answer["WebIdentityToken"], issuer, "vault")["sub"].endswith(":root")
    assert _aws_cli(account, "iam", "disable-outbound-web-identity-federation") is None
