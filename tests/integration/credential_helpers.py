"""Factories for the user-credential tests: SSH keys and X.509 certificates made with `cryptography`,
a user without permissions, and AWS's error triple."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.x509.oid import NameOID

from tests.conftest import Server


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = exc.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


def unprivileged(server: Server, iam: Any, name: str) -> tuple[Any, str]:
    """A client of a new user with no policy, and that user's ARN."""
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return server.client("iam", key["AccessKeyId"], key["SecretAccessKey"]), arn


def denied_text(arn: str, action: str, resource: str) -> str:
    return (
        f"User: {arn} is not authorized to perform: iam:{action} on resource: {resource} "
        f"because no identity-based policy allows the iam:{action} action"
    )


def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def ssh_text(key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey, comment: str = "") -> str:
    text = (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    return f"{text} {comment}" if comment else text


def certificate(
    key: rsa.RSAPrivateKey,
    name: str = "example.com",
    *,
    issuer: tuple[rsa.RSAPrivateKey, str] | None = None,
    days: int = 365,
    not_before_days: int = -1,
) -> str:
    """A PEM certificate for `key`, self-signed unless `issuer` (its key and common name) signs it."""
    now = dt.datetime.now(dt.UTC)
    signer, issuer_name = issuer or (key, name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=not_before_days))
        .not_valid_after(now + dt.timedelta(days=days))
        .sign(signer, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
