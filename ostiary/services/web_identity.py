"""STS AssumeRoleWithWebIdentity: role credentials for the holder of an OpenID Connect ID token.

No AWS credentials are needed, as in AWS. The token's issuer must be an OIDC provider of the role's
account; its signature is verified against the issuer's published keys (ostiary/oidc.py), its
audience against the provider's client ids. The role's trust policy then sees the provider's keys
(`<provider>:sub`, `<provider>:aud`, `<provider>:amr`...).
"""

from __future__ import annotations

from typing import Any

from ostiary.errors import (
    ExpiredTokenException,
    IDPCommunicationErrorException,
    InvalidIdentityTokenException,
)
from ostiary.federation import oidc
from ostiary.services import Context, operation
from ostiary.services._federation import FederatedRequest, assume, denied, role_account
from ostiary.services.oidc_providers import find_oidc_provider

ACTION = "sts:AssumeRoleWithWebIdentity"
_NOT_JWT = "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"
_NO_KEY = (
    "Couldn't retrieve verification key from your identity provider,  please reference "
    "AssumeRoleWithWebIdentity documentation for requirements"
)
_UNREACHABLE = (
    "The request could not be fulfilled because the identity provider (IDP) that was asked to verify the "
    "incoming identity token could not be reached. Retry the request."
)
_NOT_VALID = (
    "The web identity token that was passed could not be validated by AWS. Get a new identity "
    "token from the identity provider and then retry the request."
)


@operation("AssumeRoleWithWebIdentity", "sts", blocking=True)  # fetches the issuer's keys
def assume_role_with_web_identity(
    ctx: Context,
    role_arn: str,
    role_session_name: str,
    web_identity_token: str,
    provider_id: str | None = None,
    policy_arns: list[dict[str, str]] | None = None,
    policy: str | None = None,
    duration_seconds: int | None = None,
) -> dict[str, Any]:
    """Credentials of a role session for a verified OIDC ID token, when the trust policy allows it."""
    try:
        issuer = oidc.unverified_issuer(web_identity_token)
    except oidc.TokenInvalid as exc:
        raise InvalidIdentityTokenException(_NOT_JWT) from exc
    account = role_account(role_arn)
    if account is None:
        raise denied(ACTION)
    with ctx.db.read() as conn:
        provider = find_oidc_provider(conn, account, issuer)
    if provider is None:
        raise InvalidIdentityTokenException(f"No OpenIDConnect provider found in your account for {issuer}")
    claims = _verified_claims(web_identity_token, provider, ctx)
    audience = _matched_audience(claims, provider["ClientIDList"])
    result = assume(
        ctx,
        FederatedRequest(
            action=ACTION,
            federation="web-identity",
            provider_arn=provider["Arn"],
            role_arn=role_arn,
            session_name=role_session_name,
            claims=condition_keys(provider["Url"], claims, audience),
            duration_seconds=duration_seconds,
            policy=policy,
            policy_arns=policy_arns,
        ),
    )
    return {
        **result,
        "SubjectFromWebIdentityToken": claims["sub"],
        "Audience": audience,
        "Provider": provider["Arn"].split(":oidc-provider/", 1)[1],
    }


def condition_keys(provider_url: str, claims: dict[str, Any], audience: str) -> dict[str, Any]:
    """The trust policy's keys for a token: `<provider>:aud`, `:sub`, `:amr`, `:azp`, `:email`, `:oaud`."""
    name = provider_url.split("://", 1)[-1].rstrip("/")
    keys: dict[str, Any] = {f"{name}:aud": audience, f"{name}:sub": str(claims["sub"])}
    raw_aud = claims.get("aud")
    if isinstance(raw_aud, list):
        keys[f"{name}:oaud"] = [str(a) for a in raw_aud]
    amr = claims.get("amr")
    if isinstance(amr, list):
        keys[f"{name}:amr"] = [str(a) for a in amr]
    elif isinstance(amr, str):
        keys[f"{name}:amr"] = amr
    for claim in ("azp", "email"):
        if isinstance(claims.get(claim), str):
            keys[f"{name}:{claim}"] = claims[claim]
    return keys


def _verified_claims(token: str, provider: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """The token's claims, verified against the provider's issuer; AWS's error for each fault."""
    now, private = ctx.now.timestamp(), ctx.settings.oidc_private_networks
    try:
        return oidc.verify_id_token(token, provider["Url"], provider["ClientIDList"], now, private)
    except oidc.TokenExpired as exc:
        raise ExpiredTokenException(str(exc)) from exc
    except oidc.UnknownKey as exc:
        raise InvalidIdentityTokenException(_NO_KEY) from exc
    except oidc.IssuerUnreachable as exc:
        raise IDPCommunicationErrorException(_UNREACHABLE) from exc
    except oidc.TokenInvalid as exc:
        if str(exc) == "audience":
            raise InvalidIdentityTokenException("Incorrect token audience") from exc
        raise InvalidIdentityTokenException(_NOT_VALID) from exc


def _matched_audience(claims: dict[str, Any], client_ids: list[str]) -> str:
    """The token audience that is one of the provider's client ids (PyJWT checked one is)."""
    raw = claims.get("aud")
    audiences = [raw] if isinstance(raw, str) else list(raw or [])
    return next(a for a in audiences if a in client_ids)
