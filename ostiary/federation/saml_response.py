"""SAML 2.0 responses: verify the IdP's signature with signxml and read the signed assertion.

Only what the signature covers is read (the element signxml returns), so a second, unsigned
assertion wrapped around or beside the signed one is never looked at. The XML is parsed with
entities, DTDs and network access off, and a document carrying a DOCTYPE is refused. The store
remembers the assertions accepted, so the same one is not accepted twice (`store.saml_assertions`).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lxml import etree
from signxml import DigestAlgorithm, SignatureConfiguration, SignatureMethod, XMLVerifier
from signxml.exceptions import SignXMLException

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
AWS_AUDIENCE = "https://signin.aws.amazon.com/saml"
ROLE_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/Role"
SESSION_NAME_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/RoleSessionName"
DURATION_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/SessionDuration"
SOURCE_IDENTITY_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/SourceIdentity"
_NAMEID_FORMAT = "urn:oasis:names:tc:SAML:2.0:nameid-format:"
_BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
_MAX_RESPONSE_BYTES = 100_000
_DIGITS = re.compile(r"[0-9]{1,9}")  # ASCII digits only: str.isdigit() takes `²`, which int() refuses
# Pinned: public-key signatures with SHA-2 only (no HMAC, no SHA-1); the certificate comes from the
# provider's metadata, never from the response's own KeyInfo.
_EXPECT = SignatureConfiguration(
    require_x509=True,
    location=".//",
    expect_references=1,
    signature_methods=frozenset(
        {
            SignatureMethod.RSA_SHA256,
            SignatureMethod.RSA_SHA384,
            SignatureMethod.RSA_SHA512,
            SignatureMethod.ECDSA_SHA256,
            SignatureMethod.ECDSA_SHA384,
            SignatureMethod.ECDSA_SHA512,
        }
    ),
    digest_algorithms=frozenset({DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512}),
    ignore_ambiguous_key_info=True,
)


class SamlRejected(Exception):
    """The response is refused; the message is AWS's text."""


class SamlExpired(SamlRejected):
    """The assertion's NotOnOrAfter has passed."""


@dataclass(frozen=True)
class SamlAssertion:
    """What AssumeRoleWithSAML needs from a verified assertion."""

    assertion_id: str
    issuer: str
    subject: str
    subject_format: str
    audiences: tuple[str, ...]
    recipient: str  # SubjectConfirmationData's Recipient: where the IdP meant the response to go
    roles: tuple[tuple[str, str], ...]  # (role ARN, provider ARN)
    session_name: str | None
    session_duration: int | None
    source_identities: tuple[str, ...]  # the SourceIdentity attribute's values (one, when valid)
    not_on_or_after: datetime  # the assertion is not accepted from then on (nor again before then)
    session_not_on_or_after: datetime | None  # the IdP's end of the session (AuthnStatement)

    @property
    def source_identity(self) -> str | None:
        """The source identity the assertion sets (its first value), or None."""
        return self.source_identities[0] if self.source_identities else None

    @property
    def subject_type(self) -> str:
        """`persistent`, `transient`, or the full format URI (AWS's SubjectType)."""
        short = self.subject_format.removeprefix(_NAMEID_FORMAT)
        return short if short in ("persistent", "transient") else self.subject_format


def decode(saml_response: str) -> bytes:
    """The XML of a base64 SAMLResponse; SamlRejected when it is not base64."""
    try:
        raw = base64.b64decode(saml_response, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise SamlRejected("Invalid SAML response") from exc
    if not raw or len(raw) > _MAX_RESPONSE_BYTES:
        raise SamlRejected("Invalid SAML response")
    return raw


def verify(xml: bytes, certificates: list[bytes], now: datetime) -> SamlAssertion:
    """The signed assertion, once its signature verifies with an IdP certificate and it is current."""
    signed = _signed_element(xml, certificates)
    assertion = _assertion_of(signed)
    times = _check_times(assertion, now)
    return _read(assertion, times)


def _signed_element(xml: bytes, certificates: list[bytes]) -> Any:
    root = parse_xml(xml)
    if root is None:
        raise SamlRejected("Invalid SAML response")
    if len(root.findall(f".//{{{SAML}}}Assertion")) + (root.tag == f"{{{SAML}}}Assertion") != 1:
        raise SamlRejected("Invalid SAML response")  # exactly one assertion: no wrapping games
    if root.find(".//{http://www.w3.org/2000/09/xmldsig#}Signature") is None:
        raise SamlRejected("Response signature invalid")
    for certificate in certificates:
        try:
            result = XMLVerifier().verify(root, x509_cert=certificate.decode(), expect_config=_EXPECT)
        except (SignXMLException, etree.LxmlError):  # a bad signature, or XML signxml cannot read
            continue
        return result.signed_xml
    raise SamlRejected("Response signature invalid")


def parse_xml(xml: bytes) -> Any:
    """The root element of a document without a DOCTYPE, or None when it is not one.

    A DTD is never read (entities, network off), but a document that carries one is refused
    outright: SAML has no use for it, and its entity references reach signxml unexpanded."""
    try:
        tree = etree.fromstring(xml, parser=_PARSER).getroottree()
    except (etree.XMLSyntaxError, ValueError):
        return None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        return None
    if any(node.tag is etree.Entity for node in tree.iter()):  # an entity reference left unexpanded
        return None
    return tree.getroot()


def _assertion_of(signed: Any) -> Any:
    if signed.tag == f"{{{SAML}}}Assertion":
        return signed
    if signed.tag == f"{{{SAMLP}}}Response":
        found = signed.findall(f"{{{SAML}}}Assertion")
        if len(found) == 1:
            return found[0]
    raise SamlRejected("Response signature invalid")


@dataclass(frozen=True)
class _Times:
    not_on_or_after: datetime  # the earliest of the assertion's NotOnOrAfter limits
    session_not_on_or_after: datetime | None
    recipient: str


def _check_times(assertion: Any, now: datetime) -> _Times:
    """The assertion's limits, once they all lie ahead (SamlExpired otherwise).

    AWS requires exactly one SubjectConfirmation whose data has NotOnOrAfter and Recipient; the
    AuthnStatement's SessionNotOnOrAfter, when given, ends the session and must lie ahead too."""
    conditions = assertion.find(f"{{{SAML}}}Conditions")
    confirmations = assertion.findall(f"{{{SAML}}}Subject/{{{SAML}}}SubjectConfirmation")
    data = confirmations[0].find(f"{{{SAML}}}SubjectConfirmationData") if len(confirmations) == 1 else None
    if data is None or confirmations[0].get("Method") != _BEARER:
        raise SamlRejected("Invalid SAML response")  # a holder-of-key confirmation, say, proves nothing here
    if not data.get("NotOnOrAfter") or not data.get("Recipient"):
        raise SamlRejected("Invalid SAML response")
    limits = [_time(data.get("NotOnOrAfter"))]
    if conditions is not None and conditions.get("NotOnOrAfter"):
        limits.append(_time(conditions.get("NotOnOrAfter")))
    sessions = [
        _time(s.get("SessionNotOnOrAfter"))
        for s in assertion.findall(f"{{{SAML}}}AuthnStatement")
        if s.get("SessionNotOnOrAfter")
    ]
    if any(now >= t for t in limits + sessions):
        raise SamlExpired("Response is expired")
    not_before = conditions.get("NotBefore") if conditions is not None else None
    if not_before and now < _time(not_before):
        raise SamlRejected("Response is not yet valid")
    return _Times(min(limits), min(sessions, default=None), data.get("Recipient").strip())


def _read(assertion: Any, times: _Times) -> SamlAssertion:
    issuer = (assertion.findtext(f"{{{SAML}}}Issuer") or "").strip()
    name_id = assertion.find(f"{{{SAML}}}Subject/{{{SAML}}}NameID")
    if not issuer or name_id is None or not (name_id.text or "").strip() or not assertion.get("ID"):
        raise SamlRejected("Invalid SAML response")
    audiences = tuple(
        (a.text or "").strip()
        for a in assertion.findall(f"{{{SAML}}}Conditions/{{{SAML}}}AudienceRestriction/{{{SAML}}}Audience")
    )
    attributes = _attributes(assertion)
    duration = attributes.get(DURATION_ATTRIBUTE, [None])[0]
    return SamlAssertion(
        assertion_id=assertion.get("ID"),
        issuer=issuer,
        subject=name_id.text.strip(),
        subject_format=name_id.get("Format", _NAMEID_FORMAT + "persistent"),
        audiences=audiences,
        recipient=times.recipient,
        roles=tuple(pair for pair in map(_role_pair, attributes.get(ROLE_ATTRIBUTE, [])) if pair is not None),
        session_name=attributes.get(SESSION_NAME_ATTRIBUTE, [None])[0],
        session_duration=int(duration) if duration and _DIGITS.fullmatch(duration) else None,
        source_identities=tuple(attributes.get(SOURCE_IDENTITY_ATTRIBUTE, [])),
        not_on_or_after=times.not_on_or_after,
        session_not_on_or_after=times.session_not_on_or_after,
    )


def _attributes(assertion: Any) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for attribute in assertion.findall(f"{{{SAML}}}AttributeStatement/{{{SAML}}}Attribute"):
        values = [(v.text or "").strip() for v in attribute.findall(f"{{{SAML}}}AttributeValue")]
        found.setdefault(attribute.get("Name", ""), []).extend(values)
    return found


def _role_pair(value: str) -> tuple[str, str] | None:
    """(role ARN, provider ARN) from `role,provider` in either order."""
    parts = [p.strip() for p in value.split(",")]
    if len(parts) != 2:
        return None
    roles = [p for p in parts if ":role/" in p]
    providers = [p for p in parts if ":saml-provider/" in p]
    return (roles[0], providers[0]) if len(roles) == 1 and len(providers) == 1 else None


def _time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise SamlRejected("Invalid SAML response") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
