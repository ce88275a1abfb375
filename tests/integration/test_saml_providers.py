"""SAML providers through boto3 against the real server, from IdP metadata signed by a test key."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from ostiary.services.saml_providers import find_saml_provider
from ostiary.store.db import Database


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def certificate() -> x509.Certificate:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-idp.example.com")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


CERT = certificate()


def metadata(entity_id: str = "https://test-idp.example.com/saml", valid_until: str | None = None) -> str:
    body = base64.b64encode(CERT.public_bytes(Encoding.DER)).decode()
    until = f' validUntil="{valid_until}"' if valid_until else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity_id}"{until}>
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:X509Data><ds:X509Certificate>{body}</ds:X509Certificate></ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
                            Location="https://test-idp.example.com/saml/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"""


def test_create_get_list_update_delete(iam, server, unique):
    name = f"TestSAMLProvider-{unique}"
    document = metadata(valid_until="2030-01-02T03:04:05Z")
    arn = iam.create_saml_provider(Name=name, SAMLMetadataDocument=document)["SAMLProviderArn"]
    assert arn == f"arn:aws:iam::{server.account_id}:saml-provider/{name}"
    got = iam.get_saml_provider(SAMLProviderArn=arn)
    assert got["SAMLMetadataDocument"] == document
    assert got["ValidUntil"] == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert got["AssertionEncryptionMode"] == "Allowed" and got["SAMLProviderUUID"]
    listed = [p for p in iam.list_saml_providers()["SAMLProviderList"] if p["Arn"] == arn]
    assert listed[0]["ValidUntil"] == got["ValidUntil"] and listed[0]["CreateDate"] == got["CreateDate"]
    updated = metadata(entity_id="https://updated-idp.example.com/saml")
    assert (
        iam.update_saml_provider(SAMLProviderArn=arn, SAMLMetadataDocument=updated)["SAMLProviderArn"] == arn
    )
    got = iam.get_saml_provider(SAMLProviderArn=arn)
    assert got["SAMLMetadataDocument"] == updated and got["ValidUntil"].year >= datetime.now(UTC).year + 99
    iam.delete_saml_provider(SAMLProviderArn=arn)
    with pytest.raises(ClientError) as exc:
        iam.get_saml_provider(SAMLProviderArn=arn)
    assert error(exc) == ("NoSuchEntity", f"Manifest not found for arn {arn}")
    with pytest.raises(ClientError) as exc:
        iam.delete_saml_provider(SAMLProviderArn=arn)
    assert error(exc) == ("NoSuchEntity", f"Manifest not found for arn {arn}")


def test_duplicate_and_bad_metadata_are_refused(iam, unique):
    name = f"Dup-{unique}"
    iam.create_saml_provider(Name=name, SAMLMetadataDocument=metadata())
    with pytest.raises(ClientError) as exc:
        iam.create_saml_provider(Name=name, SAMLMetadataDocument=metadata())
    assert error(exc)[0] == "EntityAlreadyExists"
    no_idp = metadata().replace("IDPSSODescriptor", "SPSSODescriptor")
    broken = metadata().replace("</md:EntityDescriptor>", "")
    bad_cert = metadata().replace("<ds:X509Certificate>", "<ds:X509Certificate>AAAA")
    for document in (no_idp, broken, bad_cert):
        with pytest.raises(ClientError) as exc:
            iam.create_saml_provider(Name=f"Bad-{unique}", SAMLMetadataDocument=document)
        assert error(exc) == ("InvalidInput", "Could not parse metadata")
    with pytest.raises(ClientError) as exc:
        iam.get_saml_provider(SAMLProviderArn=f"arn:aws:iam::123456789012:saml-provider/Bad-{unique}")
    assert error(exc)[0] == "NoSuchEntity"


def test_tags(iam, unique):
    arn = iam.create_saml_provider(
        Name=f"Tagged-{unique}", SAMLMetadataDocument=metadata(), Tags=[{"Key": "team", "Value": "a"}]
    )["SAMLProviderArn"]
    iam.tag_saml_provider(SAMLProviderArn=arn, Tags=[{"Key": "env", "Value": "prod"}])
    iam.untag_saml_provider(SAMLProviderArn=arn, TagKeys=["team"])
    assert iam.list_saml_provider_tags(SAMLProviderArn=arn)["Tags"] == [{"Key": "env", "Value": "prod"}]
    assert iam.get_saml_provider(SAMLProviderArn=arn)["Tags"] == [{"Key": "env", "Value": "prod"}]


def test_find_saml_provider_gives_the_signing_certificate(iam, server, unique):
    arn = iam.create_saml_provider(Name=f"Fed-{unique}", SAMLMetadataDocument=metadata())["SAMLProviderArn"]
    db = Database(server.database_url, pool=False)
    try:
        with db.read() as conn:
            found = find_saml_provider(conn, arn)
            assert found is not None and find_saml_provider(conn, arn + "-absent") is None
    finally:
        db.dispose()
    assert found["EntityId"] == "https://test-idp.example.com/saml"
    assert found["SigningCertificates"] == [CERT.public_bytes(Encoding.PEM)]
    assert found["AccountId"] == server.account_id
