"""Sealed session tokens: round trip, size, expiry, tampering, foreign keyrings, key-id accounts."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from ostiary.auth import tokens
from ostiary.auth.tokens import Session
from ostiary.errors import ExpiredToken, InvalidClientTokenId
from ostiary.store.keyring import Keyring

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _keyring(byte: int = 1) -> Keyring:
    return Keyring(bytes([byte]) * 32)


def _role_session(**overrides: object) -> Session:
    values: dict[str, object] = dict(
        access_key_id=tokens.temporary_key_id("123456789012"),
        secret="s" * 40,
        account_id="123456789012",
        principal_type="AssumedRole",
        arn="arn:aws:sts::123456789012:assumed-role/Deployer/build-42",
        user_id="AROAEXAMPLEEXAMPLE123:build-42",
        issued_at=NOW,
        expires_at=NOW + timedelta(hours=1),
        role_id="AROAEXAMPLEEXAMPLE123",
        role_arn="arn:aws:iam::123456789012:role/ci/Deployer",
        session_name="build-42",
        is_mfa_authenticated=True,
        mfa_authenticated_at=NOW - timedelta(minutes=5),
        policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"}
                ],
            }
        ),
        policy_arns=("arn:aws:iam::aws:policy/ReadOnlyAccess",),
        has_session_policy=True,
        tags=(("Project", "Apollo"), ("CostCenter", "42")),
        transitive_tag_keys=("Project",),
        source_identity="alice",
        is_chained=True,
    )
    values.update(overrides)
    return Session(**values)  # type: ignore[arg-type]  # test factory


def test_every_fact_survives_the_round_trip() -> None:
    session = _role_session()
    assert tokens.open_token(_keyring(), tokens.seal(_keyring(), session), NOW) == session


def test_a_minimal_session_round_trips_with_defaults() -> None:
    session = _role_session(
        role_id=None,
        role_arn=None,
        session_name=None,
        is_mfa_authenticated=False,
        mfa_authenticated_at=None,
        policy=None,
        policy_arns=(),
        has_session_policy=False,
        tags=(),
        transitive_tag_keys=(),
        source_identity=None,
        is_chained=False,
        principal_type="User",
        arn="arn:aws:iam::123456789012:user/alice",
        user_id="AIDAEXAMPLEEXAMPLE123",
    )
    assert tokens.open_token(_keyring(), tokens.seal(_keyring(), session), NOW) == session


def test_a_typical_token_stays_under_two_kilobytes() -> None:
    assert len(tokens.seal(_keyring(), _role_session())) < 2048


def test_the_secret_is_not_readable_in_the_token() -> None:
    token = tokens.seal(_keyring(), _role_session(secret="VERYSECRET" * 4))
    assert "VERYSECRET" not in token
    assert "VERYSECRET" not in repr(_role_session(secret="VERYSECRET" * 4))


def test_an_expired_token_is_refused_with_expired_token() -> None:
    token = tokens.seal(_keyring(), _role_session(expires_at=NOW - timedelta(seconds=1)))
    with pytest.raises(ExpiredToken) as err:
        tokens.open_token(_keyring(), token, NOW)
    assert err.value.message == "The security token included in the request is expired"


def test_a_token_expires_at_its_expiry_instant() -> None:
    token = tokens.seal(_keyring(), _role_session(expires_at=NOW))
    with pytest.raises(ExpiredToken):
        tokens.open_token(_keyring(), token, NOW)


@pytest.mark.parametrize("position", [5, 20, -3])
def test_a_tampered_token_is_invalid(position: int) -> None:
    token = tokens.seal(_keyring(), _role_session())
    index = position % len(token)
    flipped = "A" if token[index] != "A" else "B"
    with pytest.raises(InvalidClientTokenId) as err:
        tokens.open_token(_keyring(), token[:index] + flipped + token[index + 1 :], NOW)
    assert err.value.message == "The security token included in the request is invalid."


def test_a_token_sealed_by_another_keyring_is_invalid() -> None:
    token = tokens.seal(_keyring(2), _role_session())
    with pytest.raises(InvalidClientTokenId):
        tokens.open_token(_keyring(1), token, NOW)


def test_a_value_sealed_for_another_purpose_is_invalid() -> None:
    sealed = _keyring().seal(b"{}", b"access-key:ASIAEXAMPLE")
    token = "Os1" + base64.urlsafe_b64encode(sealed).decode().rstrip("=")
    with pytest.raises(InvalidClientTokenId):
        tokens.open_token(_keyring(), token, NOW)


@pytest.mark.parametrize("token", ["", "garbage", "Os1!!!!", "Os1", "IQoJb3JpZ2luX2VjEAAaCXVzLWVhc3QtMQ"])
def test_foreign_or_malformed_tokens_are_invalid(token: str) -> None:
    with pytest.raises(InvalidClientTokenId):
        tokens.open_token(_keyring(), token, NOW)


@pytest.mark.parametrize("account", ["123456789012", "000000000001", "999999999999"])
def test_temporary_key_ids_carry_their_account_as_aws_encodes_it(account: str) -> None:
    key_id = tokens.temporary_key_id(account)
    assert key_id.startswith("ASIA") and len(key_id) == 20 and key_id.isalnum()
    assert tokens.account_of_key_id(key_id) == account


def test_aws_documented_key_id_decodes_to_its_account() -> None:
    # AWS's sts get-access-key-info example: ASIAQNZGKIQY56JQ7WML belongs to 029608264753
    assert tokens.account_of_key_id("ASIAQNZGKIQY56JQ7WML") == "029608264753"


def test_temporary_key_ids_are_unique() -> None:
    assert len({tokens.temporary_key_id("123456789012") for _ in range(200)}) == 200


def _token_with_spare_bits_and_url_safe_characters() -> str:
    for attempt in range(400):
        token = tokens.seal(_keyring(), _role_session(session_name="s" * (1 + attempt % 40)))
        if "-" in token and "_" in token and len(token[3:]) % 4 in (2, 3):
            return token
    raise AssertionError("no token held `-`, `_` and spare bits")


def _other_spellings(token: str) -> list[str]:
    """Every other spelling of the same bytes that a lenient base64 decoder reads."""
    body = token[3:]
    assert len(body) % 4 in (2, 3)  # spare bits in the last character
    last = body[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    spare = 0b1111 if len(body) % 4 == 2 else 0b11
    return [
        token + "=" * (-len(body) % 4),  # padded
        token + "==",
        token.replace("-", "+").replace("_", "/"),  # standard alphabet
        token.replace("-", "+"),
        token.replace("_", "/"),
        token[:20] + "\n" + token[20:],  # stray characters are skipped by a lenient decoder
        token[:20] + "." + token[20:],
        token[:20] + "=" + token[20:],
        token[:-1] + alphabet[alphabet.index(last) | spare],  # non-zero spare bits
    ]


def test_a_token_has_one_spelling() -> None:
    token = _token_with_spare_bits_and_url_safe_characters()
    assert tokens.open_token(_keyring(), token, NOW).session_name is not None
    for spelling in _other_spellings(token):
        assert spelling != token
        decoded = base64.urlsafe_b64decode(spelling[3:].replace("+", "-").replace("/", "_") + "===")
        assert decoded == base64.urlsafe_b64decode(token[3:] + "==="), spelling  # the same bytes
        with pytest.raises(InvalidClientTokenId) as err:
            tokens.open_token(_keyring(), spelling, NOW)
        assert err.value.message == "The security token included in the request is invalid."
