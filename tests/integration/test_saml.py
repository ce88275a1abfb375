"""AssumeRoleWithSAML with SAML responses signed by a test IdP key (signxml), against the real server."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner

from tests.conftest import Server

ENTITY_ID = "https://idp.ostiary.test/saml"
AUDIENCE = "https://signin.aws.amazon.com/saml"


def _idp_key() -> tuple[bytes, bytes, str]:
    """A key, its self-signed certificate (both PEM) and the certificate's base64 DER for metadata."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp.ostiary.test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    return (
        key_pem,
        cert.public_bytes(Encoding.PEM),
        base64.b64encode(cert.public_bytes(Encoding.DER)).decode(),
    )


IDP_KEY, IDP_CERT, IDP_CERT_B64 = _idp_key()
OTHER_KEY, OTHER_CERT, _ = _idp_key()


def _metadata(valid_until: str = "") -> str:
    until = f' validUntil="{valid_until}"' if valid_until else ""
    md = "urn:oasis:names:tc:SAML:2.0:metadata"
    return f"""<md:EntityDescriptor xmlns:md="{md}" entityID="{ENTITY_ID}"{until}>
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
      <ds:X509Data><ds:X509Certificate>{IDP_CERT_B64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
                            Location="https://idp.ostiary.test/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"""


def saml_response(
    roles: list[str],
    *,
    subject: str = "alice@example.com",
    issuer: str = ENTITY_ID,
    audience: str = AUDIENCE,
    session_name: str | None = "alice",
    expires_in: int = 300,
    sign_with: tuple[bytes, bytes] | None = (IDP_KEY, IDP_CERT),
    attributes: str = "",
    recipient: str = AUDIENCE,
    session_ends_in: int | None = None,
    confirmation: str = "urn:oasis:names:tc:SAML:2.0:cm:bearer",
) -> str:
    """A base64 SAMLResponse whose assertion is signed (or not) with the given key and certificate."""
    now = datetime.now(UTC)
    stamp = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731 - a local formatter
    until = stamp(now + timedelta(seconds=expires_in))
    values = "".join(f"<saml:AttributeValue>{r}</saml:AttributeValue>" for r in roles)
    authn = (
        ""
        if session_ends_in is None
        else f'<saml:AuthnStatement AuthnInstant="{stamp(now)}" '
        f'SessionNotOnOrAfter="{stamp(now + timedelta(seconds=session_ends_in))}"><saml:AuthnContext>'
        "<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef>"
        "</saml:AuthnContext></saml:AuthnStatement>"
    )
    name = (
        ""
        if session_name is None
        else f'<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName">'
        f"<saml:AttributeValue>{session_name}</saml:AttributeValue></saml:Attribute>"
    )
    assertion = f"""<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"
 ID="_{uuid.uuid4().hex}" Version="2.0" IssueInstant="{stamp(now)}"><saml:Issuer>{issuer}</saml:Issuer>
<saml:Subject>
<saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">{subject}</saml:NameID>
<saml:SubjectConfirmation Method="{confirmation}">
<saml:SubjectConfirmationData NotOnOrAfter="{until}" Recipient="{recipient}"/>
</saml:SubjectConfirmation></saml:Subject>
<saml:Conditions NotBefore="{stamp(now - timedelta(seconds=60))}" NotOnOrAfter="{until}">
<saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>
{authn}<saml:AttributeStatement><saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/Role">{values}</saml:Attribute>
{name}{attributes}</saml:AttributeStatement></saml:Assertion>"""
    element = etree.fromstring(assertion.encode())
    if sign_with is not None:
        element = XMLSigner(c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#").sign(
            element, key=sign_with[0], cert=sign_with[1].decode()
        )
    response = etree.fromstring(
        b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r" Version="2.0"/>'
    )
    response.append(element)
    return base64.b64encode(etree.tostring(response)).decode()


def _trust(provider_arn: str, subject: str = "alice@example.com") -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithSAML",
                    "Condition": {
                        "StringEquals": {
                            "SAML:aud": AUDIENCE,
                            "SAML:sub": subject,
                            "SAML:iss": ENTITY_ID,
                            "SAML:sub_type": "persistent",
                        }
                    },
                }
            ],
        }
    )


@pytest.fixture
def setup(iam: Any, unique: str) -> dict[str, str]:
    provider = iam.create_saml_provider(Name=f"idp-{unique}", SAMLMetadataDocument=_metadata())[
        "SAMLProviderArn"
    ]
    role = iam.create_role(RoleName=f"saml-{unique}", AssumeRolePolicyDocument=_trust(provider))["Role"]
    return {"provider": provider, "role": role["Arn"], "role_name": role["RoleName"]}


def _assume(sts: Any, setup: dict[str, str], response: str, role: str | None = None) -> dict[str, Any]:
    return sts.assume_role_with_saml(
        RoleArn=role or setup["role"], PrincipalArn=setup["provider"], SAMLAssertion=response
    )


def _error(sts: Any, setup: dict[str, str], response: str, role: str | None = None) -> dict[str, str]:
    with pytest.raises(ClientError) as caught:
        _assume(sts, setup, response, role)
    return caught.value.response["Error"]


@pytest.mark.parametrize("order", ["role,provider", "provider,role"])
def test_signed_response_gives_role_credentials(
    server: Server, sts: Any, setup: dict[str, str], order: str
) -> None:
    pair = (
        f"{setup['role']},{setup['provider']}"
        if order == "role,provider"
        else f"{setup['provider']},{setup['role']}"
    )
    out = _assume(sts, setup, saml_response([pair]))
    arn = f"arn:aws:sts::{server.account_id}:assumed-role/{setup['role_name']}/alice"
    assert out["AssumedRoleUser"]["Arn"] == arn
    assert out["Subject"] == "alice@example.com"
    assert out["SubjectType"] == "persistent"
    assert out["Issuer"] == ENTITY_ID
    assert out["Audience"] == AUDIENCE
    name = setup["provider"].rsplit("/", 1)[1]
    import hashlib

    expected = base64.b64encode(
        hashlib.sha1(f"{ENTITY_ID}{server.account_id}/{name}".encode()).digest()
    ).decode()
    assert out["NameQualifier"] == expected
    creds = out["Credentials"]
    session = server.client("sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    assert session.get_caller_identity()["Arn"] == arn


def test_unsigned_response_refused(sts: Any, setup: dict[str, str]) -> None:
    error = _error(sts, setup, saml_response([f"{setup['role']},{setup['provider']}"], sign_with=None))
    assert (error["Code"], error["Message"]) == ("InvalidIdentityToken", "Response signature invalid")


def test_response_signed_by_another_key_refused(sts: Any, setup: dict[str, str]) -> None:
    response = saml_response([f"{setup['role']},{setup['provider']}"], sign_with=(OTHER_KEY, OTHER_CERT))
    assert _error(sts, setup, response)["Message"] == "Response signature invalid"


def test_tampered_response_refused(sts: Any, setup: dict[str, str]) -> None:
    good = base64.b64decode(saml_response([f"{setup['role']},{setup['provider']}"]))
    tampered = base64.b64encode(good.replace(b"alice@example.com", b"mallory@example.com")).decode()
    error = _error(sts, setup, tampered)
    assert (error["Code"], error["Message"]) == ("InvalidIdentityToken", "Response signature invalid")


def test_expired_response_refused(sts: Any, setup: dict[str, str]) -> None:
    error = _error(sts, setup, saml_response([f"{setup['role']},{setup['provider']}"], expires_in=-60))
    assert error["Code"] == "ExpiredTokenException"


def test_foreign_issuer_and_audience_refused(sts: Any, setup: dict[str, str]) -> None:
    pair = [f"{setup['role']},{setup['provider']}"]
    error = _error(sts, setup, saml_response(pair, issuer="https://evil.example.com/saml"))
    assert (error["Code"], error["Message"]) == (
        "InvalidIdentityToken",
        "Issuer not present in specified provider",
    )
    error = _error(sts, setup, saml_response(pair, audience="https://other.example.com/acs"))
    assert error["Message"] == "Response does not contain the required audience"


def test_role_attribute_must_name_this_role(iam: Any, sts: Any, setup: dict[str, str], unique: str) -> None:
    other = iam.create_role(RoleName=f"saml2-{unique}", AssumeRolePolicyDocument=_trust(setup["provider"]))
    response = saml_response([f"{other['Role']['Arn']},{setup['provider']}"])
    error = _error(sts, setup, response)
    assert (error["Code"], error["Message"]) == (
        "AccessDenied",
        "Not authorized to perform sts:AssumeRoleWithSAML",
    )


def test_trust_policy_conditions_and_untrusting_role(
    iam: Any, sts: Any, setup: dict[str, str], unique: str
) -> None:
    pair = [f"{setup['role']},{setup['provider']}"]
    assert _error(sts, setup, saml_response(pair, subject="bob@example.com"))["Code"] == "AccessDenied"
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    role = iam.create_role(RoleName=f"nosaml-{unique}", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    error = _error(sts, setup, saml_response([f"{role},{setup['provider']}"]), role=role)
    assert (error["Code"], error["Message"]) == (
        "AccessDenied",
        "Not authorized to perform sts:AssumeRoleWithSAML",
    )


def test_session_name_required(sts: Any, setup: dict[str, str]) -> None:
    error = _error(sts, setup, saml_response([f"{setup['role']},{setup['provider']}"], session_name=None))
    assert (error["Code"], error["Message"]) == (
        "InvalidIdentityToken",
        "RoleSessionName is required in AuthnResponse",
    )


def test_unknown_provider_refused(server: Server, sts: Any, setup: dict[str, str]) -> None:
    missing = f"arn:aws:iam::{server.account_id}:saml-provider/none-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ClientError) as caught:
        sts.assume_role_with_saml(
            RoleArn=setup["role"],
            PrincipalArn=missing,
            SAMLAssertion=saml_response([f"{setup['role']},{missing}"]),
        )
    assert caught.value.response["Error"]["Message"] == "Specified provider doesn't exist"


def test_wrapped_second_assertion_refused(sts: Any, setup: dict[str, str]) -> None:
    pair = [f"{setup['role']},{setup['provider']}"]
    signed = etree.fromstring(base64.b64decode(saml_response(pair)))
    forged = etree.fromstring(base64.b64decode(saml_response(pair, subject="mallory", sign_with=None)))[0]
    signed.insert(0, forged)  # an unsigned assertion ahead of the signed one
    error = _error(sts, setup, base64.b64encode(etree.tostring(signed)).decode())
    assert error["Code"] == "InvalidIdentityToken"


def test_a_doctype_with_an_entity_reference_is_refused_not_a_crash(sts: Any, setup: dict[str, str]) -> None:
    signed = base64.b64decode(saml_response([f"{setup['role']},{setup['provider']}"]))
    hostile = b'<!DOCTYPE r [<!ENTITY who "alice">]>' + signed.replace(
        b"<saml:AttributeValue>alice<", b"<saml:AttributeValue>&who;<"
    )
    for document in (hostile, b"<!DOCTYPE r>" + signed):
        error = _error(sts, setup, base64.b64encode(document).decode())
        assert (error["Code"], error["Message"]) == ("InvalidIdentityToken", "Invalid SAML response")


def test_a_session_duration_of_non_ascii_digits_is_ignored_not_a_crash(
    sts: Any, setup: dict[str, str]
) -> None:
    duration = (
        '<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/SessionDuration">'
        "<saml:AttributeValue>\u00b2\u00b3</saml:AttributeValue></saml:Attribute>"
    )
    out = _assume(sts, setup, saml_response([f"{setup['role']},{setup['provider']}"], attributes=duration))
    lifetime = out["Credentials"]["Expiration"] - datetime.now(UTC)
    assert timedelta(minutes=55) < lifetime <= timedelta(hours=1)  # the default hour


def test_metadata_with_a_doctype_is_refused(iam: Any, unique: str) -> None:
    document = '<!DOCTYPE m [<!ENTITY id "https://idp.ostiary.test/saml">]>' + _metadata().replace(
        f'entityID="{ENTITY_ID}"', 'entityID="&id;"'
    )
    with pytest.raises(ClientError) as caught:
        iam.create_saml_provider(Name=f"dtd-{unique}", SAMLMetadataDocument=document)
    error = caught.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("InvalidInput", "Could not parse metadata")


def _lifetime(out: dict[str, Any]) -> float:
    return (out["Credentials"]["Expiration"] - datetime.now(UTC)).total_seconds()


def test_session_not_on_or_after_ends_the_session(sts: Any, setup: dict[str, str]) -> None:
    pair = [f"{setup['role']},{setup['provider']}"]
    past = _error(sts, setup, saml_response(pair, session_ends_in=-5))
    assert (past["Code"], past["Message"]) == ("ExpiredTokenException", "Response is expired")
    sooner = sts.assume_role_with_saml(
        RoleArn=setup["role"],
        PrincipalArn=setup["provider"],
        SAMLAssertion=saml_response(pair, session_ends_in=600),
        DurationSeconds=3600,
    )
    assert 590 <= _lifetime(sooner) <= 601  # the IdP's limit, not DurationSeconds
    later = sts.assume_role_with_saml(
        RoleArn=setup["role"],
        PrincipalArn=setup["provider"],
        SAMLAssertion=saml_response(pair, session_ends_in=7200),
        DurationSeconds=900,
    )
    assert 890 <= _lifetime(later) <= 901  # DurationSeconds, the shorter


def test_recipient_must_be_the_aws_sign_in_endpoint(iam: Any, sts: Any, setup: dict[str, str]) -> None:
    pair = [f"{setup['role']},{setup['provider']}"]
    uuid_of = iam.get_saml_provider(SAMLProviderArn=setup["provider"])["SAMLProviderUUID"]
    for recipient in (
        "https://sp.example.com/acs",
        "https://signin.aws.amazon.com.evil.example/saml",
        "https://signin.aws.amazon.com/saml/acs/another-provider",
        "http://signin.aws.amazon.com/saml",
    ):
        error = _error(sts, setup, saml_response(pair, recipient=recipient))
        assert (error["Code"], error["Message"]) == ("InvalidIdentityToken", "Invalid SAML response"), (
            recipient
        )
    for recipient in (
        "https://eu-west-1.signin.aws.amazon.com/saml",
        f"https://signin.aws.amazon.com/saml/acs/{uuid_of}",
        f"https://us-gov-west-1.signin.aws.amazon.com/saml/acs/{uuid_of}",
    ):
        assert _assume(sts, setup, saml_response(pair, recipient=recipient))["Subject"] == "alice@example.com"


def test_only_one_bearer_subject_confirmation_is_accepted(sts: Any, setup: dict[str, str]) -> None:
    pair = [f"{setup['role']},{setup['provider']}"]
    holder = saml_response(pair, confirmation="urn:oasis:names:tc:SAML:2.0:cm:holder-of-key")
    assert _error(sts, setup, holder) == {
        "Type": "Sender",
        "Code": "InvalidIdentityToken",
        "Message": "Invalid SAML response",
    }


def test_a_provider_whose_metadata_expired_issues_nothing(iam: Any, sts: Any, unique: str) -> None:
    expired = iam.create_saml_provider(
        Name=f"old-{unique}", SAMLMetadataDocument=_metadata(valid_until="2020-01-01T00:00:00Z")
    )["SAMLProviderArn"]
    role = iam.create_role(RoleName=f"saml-old-{unique}", AssumeRolePolicyDocument=_trust(expired))["Role"]
    setup = {"provider": expired, "role": role["Arn"]}
    error = _error(sts, setup, saml_response([f"{role['Arn']},{expired}"]))
    assert (error["Code"], error["Message"]) == ("InvalidIdentityToken", "Invalid SAML response")


def test_the_same_response_is_not_accepted_twice(sts: Any, setup: dict[str, str]) -> None:
    response = saml_response([f"{setup['role']},{setup['provider']}"])
    assert _assume(sts, setup, response)["Subject"] == "alice@example.com"
    error = _error(sts, setup, response)
    assert (error["Code"], error["Message"]) == ("InvalidIdentityToken", "Invalid SAML response")
