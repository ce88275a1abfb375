"""Outbound web identity federation: an account's signing keys, its OpenID Connect documents and the
JWTs it issues (STS GetWebIdentityToken), verifiable by any OIDC library against the published JWKS.

The issuer of an account is `{base}/_outbound/{issuer id}`: AWS gives each account its own host
(`https://{id}.tokens.sts.global.api.aws`); one Ostiary port tells accounts apart by path instead. The
`_` makes the path an impossible S3 bucket name, so it never shadows a bucket behind the gateway. Its
discovery document and JWKS are at `{issuer}/.well-known/openid-configuration` and `/jwks.json`, as
AWS's are. Private keys leave this module only sealed with the keyring.
"""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from ostiary.store.keyring import Keyring
from ostiary.store.outbound_federation import SigningKey

ALGORITHMS = ("RS256", "ES384")
ISSUER_PREFIX = "/_outbound/"
DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/.well-known/jwks.json"
CLAIMS_NAMESPACE = "https://sts.amazonaws.com/"
# AWS's kid for its RSA key is `RSA_0` (seen in issued tokens); the EC key follows the same pattern.
_KIDS = {"RS256": "RSA_0", "ES384": "EC_0"}
_PURPOSE = b"outbound-signing-key:v1:"


@dataclass(frozen=True)
class Identity:
    """Who a token speaks for: the claims AWS derives from the caller.

    `principal_arn` is aws:PrincipalArn (the role's ARN for a role session), `principal_id` aws:userid;
    `session_expires_at` is set for temporary credentials.
    """

    account_id: str
    principal_arn: str
    principal_id: str
    region: str
    principal_tags: dict[str, str]
    session_expires_at: datetime | None = None


def new_issuer_id() -> str:
    """A fresh, unguessable issuer id."""
    return str(uuid.uuid4())


def issuer_url(base_url: str, issuer_id: str) -> str:
    """The issuer identifier (URL) of an issuer id, under the server's base URL."""
    return f"{base_url.rstrip('/')}{ISSUER_PREFIX}{issuer_id}"


def base_url(host: str, port: int, is_secure: bool = False, public_url: str | None = None) -> str:
    """The server's own address as a URL: `public_url` when configured (OSTIARY_PUBLIC_URL), else the
    listen address (a wildcard one reached on loopback)."""
    if public_url:
        return public_url.rstrip("/")
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"{'https' if is_secure else 'http'}://{host}:{port}"


def new_signing_keys(keyring: Keyring, account_id: str) -> list[SigningKey]:
    """An RSA-2048 key (RS256) and a P-384 key (ES384) for an account, private halves sealed."""
    private_keys: dict[str, Any] = {
        "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ES384": ec.generate_private_key(ec.SECP384R1()),
    }
    keys = []
    for algorithm, private in private_keys.items():
        kid = _KIDS[algorithm]
        der = private.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        sealed = keyring.seal(der, _purpose(account_id, kid))
        keys.append(SigningKey(kid, algorithm, json.dumps(_public_jwk(algorithm, kid, private)), sealed))
    return keys


def _public_jwk(algorithm: str, kid: str, private: Any) -> dict[str, Any]:
    codec = RSAAlgorithm if algorithm == "RS256" else ECAlgorithm
    jwk: dict[str, Any] = json.loads(codec.to_jwk(private.public_key()))
    return {**jwk, "kid": kid, "use": "sig", "alg": algorithm}


def _purpose(account_id: str, kid: str) -> bytes:
    """The sealing purpose binds a private key to its account and key id: no row can borrow another's."""
    return _PURPOSE + f"{account_id}/{kid}".encode()


def jwks(keys: list[SigningKey]) -> dict[str, Any]:
    """The JSON Web Key Set of an account: its public keys only."""
    return {"keys": [json.loads(k.public_jwk) for k in keys]}


def discovery_document(issuer: str) -> dict[str, Any]:
    """The OpenID Connect discovery document of an issuer (the fields a verifier needs)."""
    return {
        "issuer": issuer,
        "jwks_uri": issuer + JWKS_PATH,
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(ALGORITHMS),
    }


def claims(
    identity: Identity,
    issuer: str,
    audience: list[str],
    issued_at: int,
    duration_seconds: int,
    request_tags: dict[str, str],
) -> dict[str, Any]:
    """The claims of a token: the standard ones, then AWS's under its namespace."""
    aws: dict[str, Any] = {
        "aws_account": identity.account_id,
        "source_region": identity.region,
        "principal_id": identity.principal_id,
    }
    if identity.session_expires_at is not None:
        aws["original_session_exp"] = identity.session_expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    if identity.principal_tags:
        aws["principal_tags"] = dict(identity.principal_tags)
    if request_tags:
        aws["request_tags"] = dict(request_tags)
    return {
        "iss": issuer,
        "aud": audience[0] if len(audience) == 1 else list(audience),
        "sub": identity.principal_arn,
        "iat": issued_at,
        "exp": issued_at + duration_seconds,
        "jti": str(uuid.uuid4()),
        CLAIMS_NAMESPACE: aws,
    }


def sign(keyring: Keyring, account_id: str, key: SigningKey, payload: dict[str, Any]) -> str:
    """The compact JWT of `payload`, signed with the account's key (header: kid, typ, alg)."""
    private = _private_key(keyring, account_id, key.kid, key.sealed_private_key)
    return jwt.encode(payload, private, algorithm=key.algorithm, headers={"kid": key.kid, "typ": "JWT"})


@functools.lru_cache(maxsize=256)
def _private_key(keyring: Keyring, account_id: str, kid: str, sealed: bytes) -> Any:
    """The private key opened from its sealed form, once per process (keyed by the sealed bytes)."""
    return serialization.load_der_private_key(keyring.open(sealed, _purpose(account_id, kid)), None)
