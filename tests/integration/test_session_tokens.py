"""Session tokens through the real server: only the spelling Ostiary issued opens a session."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_INVALID = ("InvalidClientTokenId", "The security token included in the request is invalid.", 403)


def _session_credentials(server: Server) -> dict[str, str]:
    """Credentials of a GetSessionToken session whose token shows every spelling difference."""
    for _ in range(100):
        creds: dict[str, str] = server.client("sts").get_session_token(DurationSeconds=900)["Credentials"]
        body = creds["SessionToken"][3:]
        if "-" in body and "_" in body and len(body) % 4 in (2, 3):
            return creds
    raise AssertionError("no session token held `-`, `_` and spare bits")


def _identity(server: Server, creds: dict[str, str], token: str) -> Any:
    sts = server.client("sts", creds["AccessKeyId"], creds["SecretAccessKey"], token)
    return sts.get_caller_identity()


def _other_spellings(token: str) -> list[str]:
    body = token[3:]
    spare = 0b1111 if len(body) % 4 == 2 else 0b11
    return [
        token + "=" * (-len(body) % 4),
        token + "==",
        token.replace("-", "+").replace("_", "/"),
        token.replace("-", "+"),
        token.replace("_", "/"),
        token[:20] + "." + token[20:],
        token[:-1] + _ALPHABET[_ALPHABET.index(body[-1]) | spare],
    ]


def test_only_the_issued_spelling_of_a_session_token_is_accepted(server: Server) -> None:
    creds = _session_credentials(server)
    token = creds["SessionToken"]
    assert _identity(server, creds, token)["Arn"] == f"arn:aws:iam::{server.account_id}:root"
    for spelling in _other_spellings(token):
        same = base64.urlsafe_b64decode(spelling[3:].replace("+", "-").replace("/", "_") + "===")
        assert same == base64.urlsafe_b64decode(token[3:] + "==="), spelling
        with pytest.raises(ClientError) as caught:
            _identity(server, creds, spelling)
        err = caught.value.response
        assert (err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]) == (
            _INVALID
        ), spelling
