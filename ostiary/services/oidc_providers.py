"""OpenID Connect identity providers: create, get, list, delete, client ids, thumbprints, tags.

`find_oidc_provider` is what AssumeRoleWithWebIdentity uses to find the provider of a token's issuer.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from ostiary.errors import (
    EntityAlreadyExistsException,
    InvalidInputException,
    LimitExceededException,
    NoSuchEntityException,
    ValidationError,
)
from ostiary.federation import egress
from ostiary.services import Context, operation
from ostiary.services import _context_provider as propagation
from ostiary.services import tags as tagging
from ostiary.services.mfa import tag_page
from ostiary.store import providers as store
from ostiary.store import tags as tag_store
from ostiary.store.db import Connection
from ostiary.store.users import utc

MAX_CLIENT_IDS = 100
MAX_THUMBPRINTS = 5
_ARN = re.compile(r"arn:aws:iam::\d{12}:oidc-provider/.+")


def oidc_provider_arn(account_id: str, url: str) -> str:
    """The provider's ARN: the URL without its scheme (and without a trailing slash)."""
    return f"arn:aws:iam::{account_id}:oidc-provider/{_host_path(url)}"


def find_oidc_provider(conn: Connection, account_id: str, issuer_url: str) -> dict[str, Any] | None:
    """The account's provider for a token issuer (`iss`): Arn, Url, ClientIDList, ThumbprintList, or None."""
    arn = oidc_provider_arn(account_id, issuer_url)
    row = store.find_oidc(conn, account_id, arn)
    if row is None or ("://" in issuer_url and _scheme(issuer_url) != _scheme(row.url)):
        return None
    return {
        "Arn": arn,
        "Url": row.url,
        "ClientIDList": store.client_ids(conn, arn),
        "ThumbprintList": store.thumbprints(conn, arn),
    }


@operation("CreateOpenIDConnectProvider")
def create_open_id_connect_provider(
    ctx: Context,
    url: str,
    client_id_list: list[str] | None = None,
    thumbprint_list: list[str] | None = None,
    tags: list[dict[str, Any]] | None = None,
    context_provider: dict[str, Any] | None = None,
    identity_center_instance_arn: str | None = None,
) -> dict[str, Any]:
    _check_url(url, ctx.settings.oidc_private_networks)
    _check_thumbprints(thumbprint_list or [])
    clients = list(dict.fromkeys(client_id_list or []))
    if len(clients) > MAX_CLIENT_IDS:
        raise _client_quota()
    if tags:
        tagging.check_tags(tags, "oidc-provider")
    trust = propagation.for_create(context_provider, identity_center_instance_arn)
    arn = oidc_provider_arn(ctx.account_id, url)
    conflict = EntityAlreadyExistsException(f"Provider with url {url} already exists.")
    with ctx.db.transaction(on_conflict=conflict) as conn:
        if store.find_oidc(conn, ctx.account_id, arn) is not None:
            raise conflict
        store.insert_oidc(conn, arn, ctx.account_id, url, ctx.now, **trust)
        store.add_client_ids(conn, arn, clients)
        store.set_thumbprints(conn, arn, thumbprint_list or [])
        if tags:
            tagging.apply_tags(conn, "oidc-provider", arn, tags)
        return tagging.with_tags(conn, "oidc-provider", arn, {"OpenIDConnectProviderArn": arn})


@operation("GetOpenIDConnectProvider")
def get_open_id_connect_provider(ctx: Context, open_id_connect_provider_arn: str) -> dict[str, Any]:
    arn = open_id_connect_provider_arn
    with ctx.db.read() as conn:
        row = _provider(conn, ctx, arn)
        out = {
            "Url": _host_path(row.url),
            "ClientIDList": store.client_ids(conn, arn),
            "ThumbprintList": store.thumbprints(conn, arn),
            "CreateDate": utc(row.created_at),
            "Tags": tagging.tag_list(conn, "oidc-provider", arn),
            "ContextProvider": propagation.stored(row.context_provider),
            "IdentityCenterInstanceArn": row.identity_center_instance_arn,
        }
        return {k: v for k, v in out.items() if v is not None}


@operation("ListOpenIDConnectProviders")
def list_open_id_connect_providers(ctx: Context) -> dict[str, Any]:
    """Each provider's ARN; `IsTrustedIdentityPropagationEnabled` (true) where an IAM Identity Center
    instance is associated, left out elsewhere as AWS's recordings of the list show."""
    with ctx.db.read() as conn:
        listed = store.oidc_list(conn, ctx.account_id)
    return {
        "OpenIDConnectProviderList": [
            {"Arn": arn, "IsTrustedIdentityPropagationEnabled": True} if enabled else {"Arn": arn}
            for arn, enabled in listed
        ]
    }


@operation("UpdateOpenIDConnectProvider")
def update_open_id_connect_provider(
    ctx: Context,
    open_id_connect_provider_arn: str,
    context_provider: dict[str, Any] | None = None,
    identity_center_instance_arn: str | None = None,
    remove_context_provider: bool | None = None,
    remove_identity_center_instance: bool | None = None,
) -> dict[str, Any]:
    """Set, change or remove the context provider, or the IAM Identity Center association: one of the
    two per request, a new value or its Remove flag, never both; the association goes before the
    context provider does. Thumbprints are UpdateOpenIDConnectProviderThumbprint's."""
    change = propagation.for_update(
        context_provider,
        identity_center_instance_arn,
        remove_context_provider,
        remove_identity_center_instance,
    )
    if not change.values:
        raise InvalidInputException(
            "Specify ContextProvider, RemoveContextProvider, IdentityCenterInstanceArn or "
            "RemoveIdentityCenterInstance."
        )
    with ctx.db.transaction() as conn:
        row = _provider(conn, ctx, open_id_connect_provider_arn, lock=True)
        propagation.check_stored(change, row)
        store.change_oidc(conn, open_id_connect_provider_arn, **change.values)
    return {}


@operation("DeleteOpenIDConnectProvider")
def delete_open_id_connect_provider(ctx: Context, open_id_connect_provider_arn: str) -> dict[str, Any]:
    arn = open_id_connect_provider_arn
    _check_arn(arn)
    with ctx.db.transaction() as conn:
        if store.find_oidc(conn, ctx.account_id, arn, lock=True) is None:
            raise NoSuchEntityException(f"OpenId connect Provider {arn} cannot be found.")
        tag_store.remove_all(conn, "oidc-provider", arn)
        store.delete_oidc(conn, arn)
    return {}


@operation("AddClientIDToOpenIDConnectProvider")
def add_client_id_to_open_id_connect_provider(
    ctx: Context, open_id_connect_provider_arn: str, client_id: str
) -> dict[str, Any]:
    arn = open_id_connect_provider_arn
    with ctx.db.transaction() as conn:
        _provider(conn, ctx, arn, lock=True)
        have = store.client_ids(conn, arn)
        if client_id not in have and len(have) >= MAX_CLIENT_IDS:
            raise _client_quota()
        store.add_client_ids(conn, arn, [client_id])
    return {}


@operation("RemoveClientIDFromOpenIDConnectProvider")
def remove_client_id_from_open_id_connect_provider(
    ctx: Context, open_id_connect_provider_arn: str, client_id: str
) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        _provider(conn, ctx, open_id_connect_provider_arn, lock=True)
        store.remove_client_id(conn, open_id_connect_provider_arn, client_id)
    return {}


@operation("UpdateOpenIDConnectProviderThumbprint")
def update_open_id_connect_provider_thumbprint(
    ctx: Context, open_id_connect_provider_arn: str, thumbprint_list: list[str]
) -> dict[str, Any]:
    _check_thumbprints(thumbprint_list)
    with ctx.db.transaction() as conn:
        _provider(conn, ctx, open_id_connect_provider_arn, lock=True)
        store.set_thumbprints(conn, open_id_connect_provider_arn, thumbprint_list)
    return {}


@operation("TagOpenIDConnectProvider")
def tag_open_id_connect_provider(
    ctx: Context, open_id_connect_provider_arn: str, tags: list[dict[str, Any]]
) -> dict[str, Any]:
    tagging.check_tags(tags, "oidc-provider")
    with ctx.db.transaction() as conn:
        _provider(conn, ctx, open_id_connect_provider_arn, lock=True)
        tagging.apply_tags(conn, "oidc-provider", open_id_connect_provider_arn, tags)
    return {}


@operation("UntagOpenIDConnectProvider")
def untag_open_id_connect_provider(
    ctx: Context, open_id_connect_provider_arn: str, tag_keys: list[str]
) -> dict[str, Any]:
    tagging.check_tag_keys(tag_keys)
    with ctx.db.transaction() as conn:
        _provider(conn, ctx, open_id_connect_provider_arn, lock=True)
        tag_store.remove(conn, "oidc-provider", open_id_connect_provider_arn, tag_keys)
    return {}


@operation("ListOpenIDConnectProviderTags")
def list_open_id_connect_provider_tags(
    ctx: Context, open_id_connect_provider_arn: str, marker: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        _provider(conn, ctx, open_id_connect_provider_arn)
        return tag_page(conn, "oidc-provider", open_id_connect_provider_arn, marker, max_items)


# -- private --------------------------------------------------------------------------------


def _host_path(url: str) -> str:
    return url.split("://", 1)[-1].rstrip("/")


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower()


def _check_url(url: str, private: tuple[egress.Network, ...]) -> None:
    """AWS accepts an https URL with a host and no query or fragment; http only for a loopback issuer.

    An address that keys could never be fetched from (link-local, private unless configured,
    multicast, unspecified) is refused now rather than at every AssumeRoleWithWebIdentity."""
    parts = urlsplit(url)
    try:
        egress.check_url(url, private)
    except (egress.Refused, ValueError) as exc:
        raise ValidationError("Invalid Open ID Connect Provider URL") from exc
    if not parts.hostname or parts.query or parts.fragment or "://" not in url:
        raise ValidationError("Invalid Open ID Connect Provider URL")


def _check_thumbprints(values: list[str]) -> None:
    if len(values) > MAX_THUMBPRINTS:
        raise InvalidInputException("Thumbprint list must contain fewer than 5 entries.")


def _check_arn(arn: str) -> None:
    if _ARN.fullmatch(arn) is None:
        raise InvalidInputException(f"ARN {arn} is not valid.")


def _client_quota() -> LimitExceededException:
    return LimitExceededException(
        f"Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: {MAX_CLIENT_IDS}"
    )


def _provider(conn: Connection, ctx: Context, arn: str, *, lock: bool = False) -> Any:
    _check_arn(arn)
    row = store.find_oidc(conn, ctx.account_id, arn, lock=lock)
    if row is None:
        raise NoSuchEntityException(f"OpenIDConnect Provider not found for arn {arn}")
    return row
