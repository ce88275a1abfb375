"""Outbound web identity federation: IAM's Enable/Disable/GetOutboundWebIdentityFederationInfo and STS
GetWebIdentityToken, a signed JWT of the caller's identity for services outside AWS.

The three IAM calls are authorized by `enforce.check` like every IAM call (resource "*", no condition
keys); GetWebIdentityToken by the engine here, as STS calls are, with sts:IdentityTokenAudience,
sts:SigningAlgorithm, sts:DurationSeconds and the request tags, and sts:TagGetWebIdentityToken too
when tags are given. The issuer URL is the server's own address (`--host`, `--port`) plus the
account's issuer path: see federation/outbound.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ostiary import actions, enforce
from ostiary.errors import (
    FeatureDisabledException,
    FeatureEnabledException,
    InvalidParameterValue,
    OutboundWebIdentityFederationDisabledException,
    SessionDurationEscalationException,
    ValidationError,
)
from ostiary.federation import outbound
from ostiary.services import Context, operation, trust
from ostiary.store import outbound_federation as store

DEFAULT_TOKEN_SECONDS = 300

# The texts are the first sentence of each error shape's documentation in AWS's service models (no
# recording of AWS's own messages was found).
_ENABLED = "The request failed because outbound identity federation is already enabled for your AWS account."
_DISABLED = (
    "The request failed because outbound identity federation is already disabled for your AWS account."
)
_NOT_ENABLED = "The outbound web identity federation feature is not enabled for this account."
_ESCALATION = "The requested token duration would extend the session beyond its original expiration time."


@operation("EnableOutboundWebIdentityFederation", blocking=True)  # generates an RSA key the first time
def enable_outbound_web_identity_federation(ctx: Context) -> dict[str, Any]:
    """Let the account's principals get web identity tokens; its issuer is created on the first call."""
    account = ctx.account_id
    with ctx.db.transaction(on_conflict=FeatureEnabledException(_ENABLED)) as conn:
        issuer = store.issuer_of(conn, account)
        if issuer is None:
            issuer_id = outbound.new_issuer_id()
            keys = outbound.new_signing_keys(ctx.keyring, account)
            store.create_issuer(conn, account, issuer_id, keys, ctx.now)
        elif store.set_enabled(conn, account, True, ctx.now):
            issuer_id = issuer.issuer_id
        else:
            raise FeatureEnabledException(_ENABLED)
    return {"IssuerIdentifier": _issuer_url(ctx, issuer_id)}


@operation("DisableOutboundWebIdentityFederation")
def disable_outbound_web_identity_federation(ctx: Context) -> dict[str, Any]:
    """Stop issuing tokens; those already issued stay verifiable (the JWKS is still served)."""
    with ctx.db.transaction() as conn:
        if not store.set_enabled(conn, ctx.account_id, False, ctx.now):
            raise FeatureDisabledException(_DISABLED)
    return {}


@operation("GetOutboundWebIdentityFederationInfo")
def get_outbound_web_identity_federation_info(ctx: Context) -> dict[str, Any]:
    """The account's issuer URL and whether tokens are issued; FeatureDisabled while disabled."""
    with ctx.db.read() as conn:
        issuer = store.issuer_of(conn, ctx.account_id)
    if issuer is None or not issuer.is_enabled:
        raise FeatureDisabledException(_DISABLED)
    return {"IssuerIdentifier": _issuer_url(ctx, issuer.issuer_id), "JwtVendingEnabled": True}


@operation("GetWebIdentityToken", "sts")
def get_web_identity_token(
    ctx: Context,
    audience: list[str],
    signing_algorithm: str,
    duration_seconds: int | None = None,
    tags: list[dict[str, str]] | None = None,
    subject_mode: str | None = None,
    scope: str | None = None,
) -> dict[str, Any]:
    """A JWT of the caller's identity for `audience`, signed with the account's RS256 or ES384 key.

    The subject is always the caller's ARN (`AWSIdentity`): `OriginIdentity` takes the subject from the
    session's trusted identity propagation context, which no Ostiary session carries, and AWS refuses
    it then with a validation error; `Scope` is allowed only with `OriginIdentity`, so it is refused
    too. Both texts are ours: AWS records none.
    """
    if signing_algorithm not in outbound.ALGORITHMS:
        raise ValidationError(
            f"1 validation error detected: Value '{signing_algorithm}' at 'signingAlgorithm' failed to "
            f"satisfy constraint: Member must satisfy enum value set: [{', '.join(outbound.ALGORITHMS)}]"
        )
    if subject_mode == "OriginIdentity":
        raise ValidationError(_NO_ORIGIN_IDENTITY)
    if scope is not None:
        raise ValidationError(_SCOPE_NEEDS_ORIGIN_IDENTITY)
    request_tags = _request_tags(tags or [])
    _authorize(ctx, audience, signing_algorithm, duration_seconds, tags)
    caller = ctx.caller
    with ctx.db.read() as conn:
        issuer = store.issuer_of(conn, caller.account_id)
        keys = store.signing_keys(conn, caller.account_id) if issuer is not None else []
    if issuer is None or not issuer.is_enabled:
        raise OutboundWebIdentityFederationDisabledException(_NOT_ENABLED)
    seconds = duration_seconds or DEFAULT_TOKEN_SECONDS
    issued_at = ctx.now.replace(microsecond=0)
    expires_at = issued_at + timedelta(seconds=seconds)
    session = caller.session
    if session is not None and expires_at > session.expires_at:
        raise SessionDurationEscalationException(_ESCALATION)
    key = next(k for k in keys if k.algorithm == signing_algorithm)
    payload = outbound.claims(
        _identity(ctx),
        _issuer_url(ctx, issuer.issuer_id),
        audience,
        int(issued_at.timestamp()),
        seconds,
        request_tags,
    )
    token = outbound.sign(ctx.keyring, caller.account_id, key, payload)
    return {"WebIdentityToken": token, "Expiration": expires_at}


_NO_ORIGIN_IDENTITY = (
    "SubjectMode OriginIdentity requires the calling session's trusted identity propagation context to "
    "contain aws:OriginIdentity/Subject and aws:OriginIdentity/Issuer or "
    "aws:OriginIdentity/FederatedProviderArn."
)
_SCOPE_NEEDS_ORIGIN_IDENTITY = "Scope can be specified only when SubjectMode is OriginIdentity."


def _authorize(
    ctx: Context,
    audience: list[str],
    signing_algorithm: str,
    duration_seconds: int | None,
    tags: list[dict[str, str]] | None,
) -> None:
    """AccessDenied unless the caller may get this token (and tag it, when tags are given)."""
    if ctx.caller.is_root:
        return
    params: dict[str, Any] = {
        "Audience": audience,
        "SigningAlgorithm": signing_algorithm,
        "DurationSeconds": duration_seconds,
        "Tags": tags,
    }
    names = ("GetWebIdentityToken", "TagGetWebIdentityToken") if tags else ("GetWebIdentityToken",)
    for name in names:
        trust.authorize_own(ctx, f"sts:{name}", "*", actions.request_keys("sts", name, params))


def _request_tags(tags: list[dict[str, str]]) -> dict[str, str]:
    """The request's tags as claims; keys are case-insensitive, so a repeated key is refused."""
    lowered = [t["Key"].lower() for t in tags]
    if len(set(lowered)) != len(lowered):
        raise InvalidParameterValue(
            "Duplicate tag keys found. Please note that Tag keys are case insensitive."
        )
    return {t["Key"]: t.get("Value", "") for t in tags}


def _identity(ctx: Context) -> outbound.Identity:
    """The caller as a token's subject: aws:PrincipalArn, aws:userid, its tags and its session's end."""
    caller = ctx.caller
    tags: dict[str, str] = {}
    principal_arn = caller.arn
    if not caller.is_root:
        policies = enforce.principal_policies(ctx.db, caller)
        tags = policies.principal_tags
        principal_arn = policies.principal_arn or caller.arn
    return outbound.Identity(
        account_id=caller.account_id,
        principal_arn=principal_arn,
        principal_id=caller.user_id,
        region=ctx.region or ctx.settings.region,
        principal_tags=tags,
        session_expires_at=caller.session.expires_at if caller.session is not None else None,
    )


def _issuer_url(ctx: Context, issuer_id: str) -> str:
    base = outbound.base_url(ctx.settings.host, ctx.settings.port, ctx.is_secure, ctx.settings.public_url)
    return outbound.issuer_url(base, issuer_id)
