"""SAML identity providers from IdP metadata: create, get, list, update, delete, tags.

`find_saml_provider` gives AssumeRoleWithSAML the provider's entity id and signing certificates.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ostiary.errors import EntityAlreadyExistsException, InvalidInputException, NoSuchEntityException
from ostiary.federation.saml_response import parse_xml
from ostiary.services import Context, operation
from ostiary.services import _context_provider as propagation
from ostiary.services import tags as tagging
from ostiary.services.mfa import tag_page
from ostiary.store import providers as store
from ostiary.store import tags as tag_store
from ostiary.store.db import Connection
from ostiary.store.users import utc

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
DEFAULT_VALIDITY = timedelta(days=365 * 100)  # metadata without validUntil stays valid this long
_UNPARSABLE = "Could not parse metadata"  # not recorded: AWS's InvalidInput text as clients report it


def saml_provider_arn(account_id: str, name: str) -> str:
    return f"arn:aws:iam::{account_id}:saml-provider/{name}"


def find_saml_provider(conn: Connection, provider_arn: str) -> dict[str, Any] | None:
    """The provider as AssumeRoleWithSAML reads it, or None.

    Arn, AccountId, ProviderUUID, EntityId, SigningCertificates (PEM), ValidUntil, Metadata."""
    row = store.find_saml(conn, provider_arn)
    if row is None:
        return None
    metadata = parse_metadata(row.metadata_document)
    return {
        "Arn": row.arn,
        "AccountId": row.account_id,
        "ProviderUUID": row.provider_uuid,
        "EntityId": metadata.entity_id,
        "SigningCertificates": [c.public_bytes(Encoding.PEM) for c in metadata.certificates],
        "ValidUntil": utc(row.valid_until),
        "Metadata": row.metadata_document,
    }


class IdpMetadata:
    """What Ostiary needs from an IdP's SAML metadata: entity id, signing certificates, validUntil."""

    def __init__(self, entity_id: str, certificates: list[x509.Certificate], valid_until: datetime | None):
        self.entity_id = entity_id
        self.certificates = certificates
        self.valid_until = valid_until


def parse_metadata(document: str) -> IdpMetadata:
    """Parse IdP metadata XML (EntityDescriptor with an IDPSSODescriptor); InvalidInput otherwise."""
    root = parse_xml(document.encode())
    if root is None:
        raise InvalidInputException(_UNPARSABLE)
    if root.tag == f"{{{MD}}}EntitiesDescriptor":
        root = root.find(f"{{{MD}}}EntityDescriptor")
    if root is None or root.tag != f"{{{MD}}}EntityDescriptor" or not root.get("entityID"):
        raise InvalidInputException(_UNPARSABLE)
    idp = root.find(f"{{{MD}}}IDPSSODescriptor")
    if idp is None:
        raise InvalidInputException(_UNPARSABLE)
    certificates = [_certificate(text) for text in _signing_certificates(idp)]
    if not certificates:
        raise InvalidInputException(_UNPARSABLE)
    return IdpMetadata(root.get("entityID"), certificates, _valid_until(root, idp))


@operation("CreateSAMLProvider", blocking=True)  # metadata parsing
def create_saml_provider(
    ctx: Context,
    saml_metadata_document: str,
    name: str,
    tags: list[dict[str, Any]] | None = None,
    assertion_encryption_mode: str | None = None,
    add_private_key: str | None = None,
    context_provider: dict[str, Any] | None = None,
    identity_center_instance_arn: str | None = None,
) -> dict[str, Any]:
    if tags:
        tagging.check_tags(tags, "saml-provider")
    trust = propagation.for_create(context_provider, identity_center_instance_arn)
    metadata = parse_metadata(saml_metadata_document)
    arn = saml_provider_arn(ctx.account_id, name)
    conflict = EntityAlreadyExistsException(f"SAMLProvider {name} already exists.")  # not recorded
    with ctx.db.transaction(on_conflict=conflict) as conn:
        if store.find_saml(conn, arn) is not None:
            raise conflict
        store.insert_saml(
            conn,
            arn=arn,
            account_id=ctx.account_id,
            name=name,
            provider_uuid=str(uuid.uuid4()),
            metadata_document=saml_metadata_document,
            assertion_encryption_mode=assertion_encryption_mode or "Allowed",
            valid_until=metadata.valid_until or ctx.now + DEFAULT_VALIDITY,
            created_at=ctx.now,
            **trust,
        )
        if tags:
            tagging.apply_tags(conn, "saml-provider", arn, tags)
        return tagging.with_tags(conn, "saml-provider", arn, {"SAMLProviderArn": arn})


@operation("GetSAMLProvider")
def get_saml_provider(ctx: Context, saml_provider_arn: str) -> dict[str, Any]:
    with ctx.db.read() as conn:
        row = _provider(conn, ctx, saml_provider_arn)
        out = {
            "SAMLProviderUUID": row.provider_uuid,
            "SAMLMetadataDocument": row.metadata_document,
            "CreateDate": utc(row.created_at),
            "ValidUntil": utc(row.valid_until),
            "Tags": tagging.tag_list(conn, "saml-provider", row.arn),
            "AssertionEncryptionMode": row.assertion_encryption_mode,
            "PrivateKeyList": [],
        }
        if row.context_provider is not None:
            out["ContextProvider"] = propagation.stored(row.context_provider)
        if row.identity_center_instance_arn is not None:
            out["IdentityCenterInstanceArn"] = row.identity_center_instance_arn
        return out


@operation("ListSAMLProviders")
def list_saml_providers(ctx: Context) -> dict[str, Any]:
    with ctx.db.read() as conn:
        rows = store.saml_list(conn, ctx.account_id)
    return {
        "SAMLProviderList": [
            {"Arn": r.arn, "ValidUntil": utc(r.valid_until), "CreateDate": utc(r.created_at)}
            | ({"IsTrustedIdentityPropagationEnabled": True} if r.propagation else {})
            for r in rows
        ]
    }


@operation("UpdateSAMLProvider", blocking=True)
def update_saml_provider(
    ctx: Context,
    saml_provider_arn: str,
    saml_metadata_document: str | None = None,
    assertion_encryption_mode: str | None = None,
    add_private_key: str | None = None,
    remove_private_key: str | None = None,
    context_provider: dict[str, Any] | None = None,
    identity_center_instance_arn: str | None = None,
    remove_context_provider: bool | None = None,
    remove_identity_center_instance: bool | None = None,
) -> dict[str, Any]:
    """The metadata, encryption mode and IAM Identity Center association; or, alone in its request, the
    context provider (the model's documentation)."""
    metadata_change = (saml_metadata_document, assertion_encryption_mode, add_private_key, remove_private_key)
    change = propagation.for_update(
        context_provider,
        identity_center_instance_arn,
        remove_context_provider,
        remove_identity_center_instance,
        other_change="the provider metadata" if any(v is not None for v in metadata_change) else None,
    )
    values: dict[str, Any] = dict(change.values)
    if saml_metadata_document is not None:
        metadata = parse_metadata(saml_metadata_document)
        values.update(
            metadata_document=saml_metadata_document,
            valid_until=metadata.valid_until or ctx.now + DEFAULT_VALIDITY,
        )
    if assertion_encryption_mode is not None:
        values["assertion_encryption_mode"] = assertion_encryption_mode
    with ctx.db.transaction() as conn:
        row = _provider(conn, ctx, saml_provider_arn, lock=True)
        propagation.check_stored(change, row)
        if values:
            store.change_saml(conn, saml_provider_arn, **values)
    return {"SAMLProviderArn": saml_provider_arn}


@operation("DeleteSAMLProvider")
def delete_saml_provider(ctx: Context, saml_provider_arn: str) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        _provider(conn, ctx, saml_provider_arn)
        tag_store.remove_all(conn, "saml-provider", saml_provider_arn)
        store.delete_saml(conn, saml_provider_arn)
    return {}


@operation("TagSAMLProvider")
def tag_saml_provider(ctx: Context, saml_provider_arn: str, tags: list[dict[str, Any]]) -> dict[str, Any]:
    tagging.check_tags(tags, "saml-provider")
    with ctx.db.transaction() as conn:
        _provider(conn, ctx, saml_provider_arn)
        tagging.apply_tags(conn, "saml-provider", saml_provider_arn, tags)
    return {}


@operation("UntagSAMLProvider")
def untag_saml_provider(ctx: Context, saml_provider_arn: str, tag_keys: list[str]) -> dict[str, Any]:
    tagging.check_tag_keys(tag_keys)
    with ctx.db.transaction() as conn:
        _provider(conn, ctx, saml_provider_arn)
        tag_store.remove(conn, "saml-provider", saml_provider_arn, tag_keys)
    return {}


@operation("ListSAMLProviderTags")
def list_saml_provider_tags(
    ctx: Context, saml_provider_arn: str, marker: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        _provider(conn, ctx, saml_provider_arn)
        return tag_page(conn, "saml-provider", saml_provider_arn, marker, max_items)


# -- private --------------------------------------------------------------------------------


def _provider(conn: Connection, ctx: Context, arn: str, *, lock: bool = False) -> Any:
    row = store.find_saml(conn, arn, ctx.account_id, lock=lock)
    if row is None:
        raise NoSuchEntityException(f"Manifest not found for arn {arn}")
    return row


def _signing_certificates(idp: Any) -> list[str]:
    """The X509Certificate texts of the IdP's signing keys (a KeyDescriptor without `use` signs too)."""
    found = []
    for key in idp.findall(f"{{{MD}}}KeyDescriptor"):
        if key.get("use", "signing") != "signing":
            continue
        found += [el.text or "" for el in key.iter(f"{{{DS}}}X509Certificate")]
    return found


def _certificate(text: str) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(base64.b64decode("".join(text.split()), validate=True))
    except (binascii.Error, ValueError) as exc:
        raise InvalidInputException(_UNPARSABLE) from exc


def _valid_until(*elements: Any) -> datetime | None:
    """The earliest validUntil of the EntityDescriptor and its IDPSSODescriptor, if any."""
    found = []
    for element in elements:
        text = element.get("validUntil")
        if text:
            try:
                found.append(utc(datetime.fromisoformat(text.replace("Z", "+00:00"))))
            except ValueError as exc:
                raise InvalidInputException(_UNPARSABLE) from exc
    return min(found) if found else None  # type: ignore[type-var]  # utc() of a datetime is a datetime
