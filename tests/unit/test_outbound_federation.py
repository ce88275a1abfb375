"""federation/outbound.py: issuer URLs, the claims of a token, and keys sealed to their account."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import jwt
import pytest
from jwt import PyJWK

from ostiary.federation import outbound
from ostiary.store.keyring import Keyring, KeyringError

ACCOUNT = "111122223333"


def _identity(**overrides: object) -> outbound.Identity:
    values: dict[str, object] = {
        "account_id": ACCOUNT,
        "principal_arn": f"arn:aws:iam::{ACCOUNT}:role/worker",
        "principal_id": "AROAEXAMPLE:job",
        "region": "eu-west-1",
        "principal_tags": {},
    }
    values.update(overrides)
    return outbound.Identity(**values)  # type: ignore[arg-type]  # test factory


@pytest.mark.parametrize(
    ("host", "port", "is_secure", "expected"),
    [
        ("127.0.0.1", 4566, False, "http://127.0.0.1:4566"),
        ("0.0.0.0", 80, False, "http://127.0.0.1:80"),
        ("::", 443, True, "https://127.0.0.1:443"),
        ("::1", 4566, False, "http://[::1]:4566"),
        ("iam.internal", 8443, True, "https://iam.internal:8443"),
    ],
)
def test_base_url_is_the_servers_own_reachable_address(
    host: str, port: int, is_secure: bool, expected: str
) -> None:
    assert outbound.base_url(host, port, is_secure) == expected


def test_issuer_url_puts_the_issuer_under_its_prefix() -> None:
    assert outbound.issuer_url("http://h:1/", "abc") == "http://h:1/_outbound/abc"


def test_claims_nest_aws_facts_and_request_tags_under_the_namespace() -> None:
    expires = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    claims = outbound.claims(
        _identity(principal_tags={"env": "prod"}, session_expires_at=expires),
        "https://issuer",
        ["a"],
        1000,
        60,
        {"sub": "forged", "iss": "forged"},
    )
    assert (claims["iss"], claims["sub"], claims["aud"], claims["iat"], claims["exp"]) == (
        "https://issuer",
        f"arn:aws:iam::{ACCOUNT}:role/worker",
        "a",
        1000,
        1060,
    )
    assert claims[outbound.CLAIMS_NAMESPACE] == {
        "aws_account": ACCOUNT,
        "source_region": "eu-west-1",
        "principal_id": "AROAEXAMPLE:job",
        "original_session_exp": "2026-01-01T12:00:00Z",
        "principal_tags": {"env": "prod"},
        "request_tags": {"sub": "forged", "iss": "forged"},
    }


def test_several_audiences_are_a_list_and_absent_facts_are_left_out() -> None:
    claims = outbound.claims(_identity(), "https://issuer", ["a", "b"], 0, 60, {})
    assert claims["aud"] == ["a", "b"]
    assert set(claims[outbound.CLAIMS_NAMESPACE]) == {"aws_account", "source_region", "principal_id"}


@pytest.mark.parametrize("algorithm", outbound.ALGORITHMS)
def test_a_signed_token_verifies_with_its_public_jwk_only(algorithm: str) -> None:
    keyring = Keyring(os.urandom(32))
    keys = {k.algorithm: k for k in outbound.new_signing_keys(keyring, ACCOUNT)}
    key = keys[algorithm]
    published = outbound.jwks([key])["keys"][0]
    assert "d" not in published and published["kid"] == key.kid
    payload = outbound.claims(_identity(), "https://issuer", ["aud"], 2_000_000_000, 60, {})
    token = outbound.sign(keyring, ACCOUNT, key, payload)
    assert jwt.get_unverified_header(token) == {"alg": algorithm, "kid": key.kid, "typ": "JWT"}
    decoded = jwt.decode(
        token,
        PyJWK(published).key,
        algorithms=[algorithm],
        audience="aud",
        issuer="https://issuer",
        options={"verify_exp": False, "verify_iat": False},
    )
    assert decoded == payload


def test_a_sealed_key_opens_only_for_its_own_account() -> None:
    keyring = Keyring(os.urandom(32))
    key = outbound.new_signing_keys(keyring, ACCOUNT)[0]
    with pytest.raises(KeyringError):
        outbound.sign(keyring, "999999999999", key, {"sub": "x"})


def test_a_configured_public_url_is_the_issuers_base() -> None:
    assert outbound.base_url("0.0.0.0", 4566, False, "https://iam.example.com/") == "https://iam.example.com"
    assert outbound.base_url("0.0.0.0", 4566) == "http://127.0.0.1:4566"
