"""Outbound web identity federation through boto3 and the AWS CLI: enable, info, GetWebIdentityToken,
and a real OIDC verification of each token with PyJWT against the JWKS served over HTTP.

The feature is account-wide, so each test makes its own account and calls it as that account's root.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jwt
import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, start_server, stop_server
from tests.integration.gateway_helpers import moto_backend
from tests.integration.outbound_helpers import (
    AUDIENCE,
    NAMESPACE,
    Account,
    allow,
    error,
    new_account,
    verify,
)


@pytest.fixture
def account(server: Server) -> Account:
    return new_account(server)


def test_enable_info_disable_lifecycle(account: Account) -> None:
    iam = account.client("iam")
    with pytest.raises(ClientError) as exc:
        iam.get_outbound_web_identity_federation_info()
    assert error(exc)[0::2] == ("FeatureDisabled", 404)
    issuer = iam.enable_outbound_web_identity_federation()["IssuerIdentifier"]
    assert issuer.startswith(account.server.endpoint + "/_outbound/")
    info = iam.get_outbound_web_identity_federation_info()
    assert (info["IssuerIdentifier"], info["JwtVendingEnabled"]) == (issuer, True)
    with pytest.raises(ClientError) as exc:
        iam.enable_outbound_web_identity_federation()
    assert error(exc)[0::2] == ("FeatureEnabled", 409)
    iam.disable_outbound_web_identity_federation()
    with pytest.raises(ClientError) as exc:
        iam.disable_outbound_web_identity_federation()
    assert error(exc)[0::2] == ("FeatureDisabled", 404)
    with pytest.raises(ClientError) as exc:
        iam.get_outbound_web_identity_federation_info()
    assert error(exc)[0::2] == ("FeatureDisabled", 404)
    # Enabled again, the account keeps its issuer: trust set up outside stays valid.
    assert iam.enable_outbound_web_identity_federation()["IssuerIdentifier"] == issuer


@pytest.mark.parametrize("algorithm", ["RS256", "ES384"])
def test_user_token_verifies_with_pyjwt_against_the_served_jwks(account: Account, algorithm: str) -> None:
    issuer = account.client("iam").enable_outbound_web_identity_federation()["IssuerIdentifier"]
    sts, arn = account.user("alice", allow("sts:GetWebIdentityToken"), tags={"team": "data"})
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
    permissions = allow("sts:GetWebIdentityToken", "sts:TagGetWebIdentityToken")
    iam.put_role_policy(RoleName="worker", PolicyName="p", PolicyDocument=json.dumps(permissions))
    assumer, _ = account.user("assumer", allow("sts:AssumeRole", "sts:TagSession"))
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
    user_sts, _ = account.user("bob", allow("sts:GetWebIdentityToken"))
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
    assert error(exc)[0::2] == ("SessionDurationEscalationException", 403)


def test_disabled_account_gets_awss_error_and_old_tokens_still_verify(account: Account) -> None:
    iam = account.client("iam")
    sts = account.client("sts")
    with pytest.raises(ClientError) as exc:
        sts.get_web_identity_token(Audience=[AUDIENCE], SigningAlgorithm="RS256")
    assert error(exc)[0::2] == ("OutboundWebIdentityFederationDisabledException", 403)
    issuer = iam.enable_outbound_web_identity_federation()["IssuerIdentifier"]
    token = sts.get_web_identity_token(Audience=[AUDIENCE], SigningAlgorithm="RS256")["WebIdentityToken"]
    iam.disable_outbound_web_identity_federation()
    with pytest.raises(ClientError) as exc:
        sts.get_web_identity_token(Audience=[AUDIENCE], SigningAlgorithm="RS256")
    assert error(exc)[0::2] == ("OutboundWebIdentityFederationDisabledException", 403)
    assert verify(token, issuer, AUDIENCE)["sub"].endswith(":root")


def test_one_accounts_token_does_not_verify_as_anothers(server: Server, account: Account) -> None:
    other = new_account(server)
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


def test_concurrent_enables_make_one_issuer(account: Account) -> None:
    clients = [account.client("iam") for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(_enable_outcome, clients))
    issuers = [o for o in outcomes if o.startswith("http")]
    assert len(issuers) == 1 and outcomes.count("FeatureEnabled") == 3, outcomes
    assert clients[0].get_outbound_web_identity_federation_info()["IssuerIdentifier"] == issuers[0]


def _enable_outcome(iam: Any) -> str:
    try:
        return str(iam.enable_outbound_web_identity_federation()["IssuerIdentifier"])
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
