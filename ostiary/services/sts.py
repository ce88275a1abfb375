"""STS: AssumeRole, GetSessionToken, GetFederationToken, GetCallerIdentity, GetAccessKeyInfo,
DecodeAuthorizationMessage.

Temporary credentials are sealed session tokens (auth/tokens.py): nothing about a session is
stored, so every node can open them and they survive a restart. Who may assume a role is decided
by services/trust.py through the engine.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from ostiary import actions, ids
from ostiary.auth import tokens
from ostiary.auth.caller import Caller
from ostiary.auth.tokens import Session
from ostiary.errors import (
    AccessDenied,
    InvalidAuthorizationMessageException,
    InvalidParameterValue,
    NoSuchEntityException,
    PackedPolicyTooLargeException,
    ValidationError,
)
from ostiary.services import Context, operation, trust
from ostiary.services.documents import IDENTITY, check_document
from ostiary.store import access_keys, principals, roles
from ostiary.store import policies as policy_store
from ostiary.store.keyring import Keyring, KeyringError

DEFAULT_ROLE_SECONDS = 3600
CHAINED_MAX_SECONDS = 3600
DEFAULT_USER_SECONDS = 43200
ROOT_MAX_SECONDS = 3600
_SESSION_POLICY_MAX = 2048
_PACKED_BUDGET = 870  # deflated bytes of session policies and tags that make 100 %, fitted to AWS's answers
# Role names are ASCII: a character that merely lower-cases to a letter of one names no role. The
# partition is this server's (`aws`): a role ARN of another partition is well formed but names no role
# here, refused as one that does not exist (AWS's answer to a GovCloud ARN sent to its aws partition).
_ROLE_ARN = re.compile(r"^arn:(aws):iam::(\d{12}):role(/(?:[^/]+/)*)([\w+=,.@-]+)$", re.ASCII)
_ANY_ARN = re.compile(r"^arn:[^:]+:[^:]+:[^:]*:[^:]*:.+$")
_AUTH_MESSAGE_PURPOSE = b"authorization-message:v2:"  # + the account the message was issued to
_RESERVED_TAG_PREFIX = "aws:"


@operation("GetCallerIdentity", "sts")
def get_caller_identity(ctx: Context) -> dict[str, Any]:
    """Who is calling: always allowed, whatever the policies say."""
    caller = ctx.caller
    return {"UserId": caller.user_id, "Account": caller.account_id, "Arn": caller.arn}


@operation("AssumeRole", "sts")
def assume_role(
    ctx: Context,
    role_arn: str,
    role_session_name: str,
    policy_arns: list[dict[str, str]] | None = None,
    policy: str | None = None,
    duration_seconds: int | None = None,
    tags: list[dict[str, str]] | None = None,
    transitive_tag_keys: list[str] | None = None,
    external_id: str | None = None,
    serial_number: str | None = None,
    token_code: str | None = None,
    source_identity: str | None = None,
    provided_contexts: list[Any] | None = None,
) -> dict[str, Any]:
    """Credentials of a role session, when the trust policy (and the caller's policies) allow it."""
    caller = ctx.caller
    _refuse_federated(caller, "AssumeRole")
    if caller.is_root:
        raise AccessDenied("Roles may not be assumed by root accounts.")
    seconds = duration_seconds or DEFAULT_ROLE_SECONDS
    session_tags, transitive = _session_tags(caller, tags or [], transitive_tag_keys or [])
    identity = _source_identity(caller, source_identity, role_arn)
    arns = session_policy_arns(policy_arns)
    check_session_policy(policy)
    is_new_mfa = trust.check_mfa(ctx, serial_number, token_code)
    role, tags_of_role = _role_to_assume(ctx, role_arn, seconds)
    check_session_policy_arns(ctx, arns, role.account_id)
    params = {
        "RoleSessionName": role_session_name,
        "ExternalId": external_id,
        "SourceIdentity": source_identity,
        "DurationSeconds": seconds,
        "TransitiveTagKeys": transitive_tag_keys,
    }
    trust.authorize_assume(
        ctx, _trust_request(role, tags_of_role, params, session_tags, transitive, bool(tags), is_new_mfa)
    )
    size = packed_size(policy, arns, tags or []) if policy or arns or tags else None
    session = replace(
        role_session(ctx, role, role_session_name, seconds),
        is_mfa_authenticated=is_new_mfa or _mfa_of(caller),
        mfa_authenticated_at=_second(ctx.now) if is_new_mfa else _mfa_at(caller),
        policy=minified(policy),
        policy_arns=arns,
        has_session_policy=policy is not None or bool(arns),
        tags=tuple(session_tags),
        transitive_tag_keys=tuple(transitive),
        source_identity=identity,
        is_chained=caller.principal_type == "AssumedRole",
        source_principal_arn=caller.arn,
    )
    with ctx.db.transaction(durable=False) as conn:
        roles.record_use(conn, role.role_id, ctx.settings.region, ctx.now)
    return assume_role_output(ctx, session, size)


def _trust_request(
    role: Any,
    tags_of_role: tuple[tuple[str, str], ...],
    params: dict[str, Any],
    session_tags: list[tuple[str, str]],
    transitive: list[str],
    has_new_tags: bool,
    is_mfa: bool,
) -> trust.AssumeRequest:
    """The trust decision's view of one AssumeRole call, on the role's own ARN and with its tags.

    The ARN is the stored role's, never the spelling of the request: names are found ignoring case.
    """
    canonical = stored_role_arn(role)
    return trust.AssumeRequest(
        role_arn=canonical,
        role_account=role.account_id,
        trust_policy=role.trust_policy,
        role_tags=tags_of_role,
        params={"RoleArn": canonical, **params},
        tags=tuple(session_tags),
        transitive_tag_keys=tuple(transitive),
        has_new_tags=has_new_tags,
        has_source_identity=params.get("SourceIdentity") is not None,
        is_mfa_authenticated=is_mfa,
    )


def assume_role_output(ctx: Context, session: Session, packed_size: int | None) -> dict[str, Any]:
    """The result of an AssumeRole* call: credentials, AssumedRoleUser, and what the session carries."""
    out: dict[str, Any] = {
        "Credentials": _credentials(ctx, session),
        "AssumedRoleUser": {"AssumedRoleId": session.user_id, "Arn": session.arn},
    }
    if packed_size is not None:
        out["PackedPolicySize"] = packed_size
    if session.source_identity is not None:
        out["SourceIdentity"] = session.source_identity
    return out


def _role_to_assume(ctx: Context, role_arn: str, seconds: int) -> tuple[Any, tuple[tuple[str, str], ...]]:
    """The role row that `role_arn` names, within the durations AWS allows, and its tags (read on the
    same connection: on PostgreSQL a connection's checkout is a round trip); AccessDenied when none."""
    caller = ctx.caller
    match = _parse_role_arn(role_arn)
    role = None
    tags_of_role: tuple[tuple[str, str], ...] = ()
    if match is not None:
        with ctx.db.read() as conn:
            role = roles.find_by_name(conn, match.group(2), match.group(4))
            if role is not None:
                tags_of_role = tuple(principals.tags_of(conn, "role", role.role_id).items())
    if role is None or match is None or role.path != match.group(3):
        raise AccessDenied(trust.denied_message(caller, role_arn))
    if seconds > role.max_session_duration:
        raise ValidationError(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
        )
    if caller.principal_type == "AssumedRole" and seconds > CHAINED_MAX_SECONDS:
        raise ValidationError(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role "
            "chaining."
        )
    return role, tags_of_role


def stored_role_arn(role: Any) -> str:
    """The ARN of a stored role, in its own spelling (names are found ignoring case)."""
    return f"arn:aws:iam::{role.account_id}:role{role.path}{role.name}"


def role_tags(ctx: Context, role: Any) -> tuple[tuple[str, str], ...]:
    """The tags of a stored role: aws:ResourceTag/* and iam:ResourceTag/* when it is assumed."""
    with ctx.db.read() as conn:
        return tuple(principals.tags_of(conn, "role", role.role_id).items())


def role_session(ctx: Context, role: Any, session_name: str, seconds: int) -> Session:
    """A fresh session of `role` named `session_name`, valid `seconds` from now."""
    return Session(
        access_key_id=tokens.temporary_key_id(role.account_id),
        secret=ids.secret_access_key(),
        account_id=role.account_id,
        principal_type="AssumedRole",
        arn=f"arn:aws:sts::{role.account_id}:assumed-role/{role.name}/{session_name}",
        user_id=f"{role.role_id}:{session_name}",
        issued_at=_second(ctx.now),
        expires_at=_second(ctx.now) + timedelta(seconds=seconds),
        role_id=role.role_id,
        role_arn=stored_role_arn(role),
        session_name=session_name,
    )


@operation("GetSessionToken", "sts")
def get_session_token(
    ctx: Context,
    duration_seconds: int | None = None,
    serial_number: str | None = None,
    token_code: str | None = None,
) -> dict[str, Any]:
    """Temporary credentials of the calling user (or root) itself, optionally MFA-authenticated.

    Needs no permission: AWS treats it as authentication, which policies do not control.
    """
    caller = ctx.caller
    if caller.is_temporary:
        raise AccessDenied("Cannot call GetSessionToken with session credentials")
    seconds = duration_seconds or DEFAULT_USER_SECONDS
    if caller.is_root:
        seconds = min(seconds, ROOT_MAX_SECONDS)
    is_mfa = trust.check_mfa(ctx, serial_number, token_code)
    session = Session(
        access_key_id=tokens.temporary_key_id(caller.account_id),
        secret=ids.secret_access_key(),
        account_id=caller.account_id,
        principal_type=caller.principal_type,
        arn=caller.arn,
        user_id=caller.user_id,
        issued_at=_second(ctx.now),
        expires_at=_second(ctx.now) + timedelta(seconds=seconds),
        user_name=caller.user_name,
        user_path=caller.path,
        source_user_id=caller.user_id,
        is_mfa_authenticated=is_mfa,
        mfa_authenticated_at=_second(ctx.now) if is_mfa else None,
    )
    return {"Credentials": _credentials(ctx, session)}


@operation("GetFederationToken", "sts")
def get_federation_token(
    ctx: Context,
    name: str,
    policy: str | None = None,
    policy_arns: list[dict[str, str]] | None = None,
    duration_seconds: int | None = None,
    tags: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A federated-user session: the calling user's permissions narrowed by the session policies."""
    caller = ctx.caller
    if caller.is_temporary:
        raise AccessDenied("Cannot call GetFederationToken with session credentials")
    arn = f"arn:aws:sts::{caller.account_id}:federated-user/{name}"
    for action in ("GetFederationToken", "TagSession") if tags else ("GetFederationToken",):
        trust.authorize_own(ctx, f"sts:{action}", arn, actions.request_keys("sts", action, {"Tags": tags}))
    check_session_policy(policy)
    arns = session_policy_arns(policy_arns)
    check_session_policy_arns(ctx, arns, caller.account_id)
    session_tags, _ = _session_tags(caller, tags or [], [])
    seconds = duration_seconds or DEFAULT_USER_SECONDS
    if caller.is_root:
        seconds = min(seconds, ROOT_MAX_SECONDS)
    session = Session(
        access_key_id=tokens.temporary_key_id(caller.account_id),
        secret=ids.secret_access_key(),
        account_id=caller.account_id,
        principal_type="FederatedUser",
        arn=arn,
        user_id=f"{caller.account_id}:{name}",
        issued_at=_second(ctx.now),
        expires_at=_second(ctx.now) + timedelta(seconds=seconds),
        session_name=name,
        user_name=caller.user_name,
        user_path=caller.path,
        source_user_id=caller.user_id,
        policy=minified(policy),
        policy_arns=arns,
        has_session_policy=True,
        tags=tuple(session_tags),
        source_principal_arn=caller.arn,
    )
    return {
        "Credentials": _credentials(ctx, session),
        "FederatedUser": {"FederatedUserId": session.user_id, "Arn": arn},
        "PackedPolicySize": packed_size(policy, arns, tags or []),
    }


@operation("GetAccessKeyInfo", "sts")
def get_access_key_info(ctx: Context, access_key_id: str) -> dict[str, Any]:
    """The account an access key belongs to: from the store, else from the key id's own encoding."""
    _refuse_federated(ctx.caller, "GetAccessKeyInfo")
    trust.authorize_own(ctx, "sts:GetAccessKeyInfo")
    with ctx.db.read() as conn:
        owner = access_keys.find_owner(conn, ctx.keyring, access_key_id)
    account = owner.account_id if owner is not None else tokens.account_of_key_id(access_key_id)
    if account is None:
        raise ValidationError(f"{access_key_id} is invalid")
    return {"Account": account}


@operation("DecodeAuthorizationMessage", "sts")
def decode_authorization_message(ctx: Context, encoded_message: str) -> dict[str, Any]:
    """The decision behind an encoded authorization message that this server sealed for the caller's
    account: a message names another account's principals, actions and resources, so only a caller of
    the account it was issued to opens it (another account's is invalid to it, as a tampered one is)."""
    _refuse_federated(ctx.caller, "DecodeAuthorizationMessage")
    trust.authorize_own(ctx, "sts:DecodeAuthorizationMessage")
    try:
        raw = ctx.keyring.open(_b64decode(encoded_message), _message_purpose(ctx.account_id))
    except (ValueError, KeyringError) as exc:
        raise InvalidAuthorizationMessageException("Message is invalid") from exc
    return {"DecodedMessage": raw.decode()}


def encode_authorization_message(keyring: Keyring, account_id: str, decision: dict[str, Any]) -> str:
    """An encoded authorization message of a refusal in `account_id` (the caller's): only
    DecodeAuthorizationMessage called from that account opens it again."""
    text = json.dumps(decision, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(keyring.seal(text, _message_purpose(account_id))).decode()


def _message_purpose(account_id: str) -> bytes:
    """The associated data a message is sealed with: it binds the message to its account."""
    return _AUTH_MESSAGE_PURPOSE + account_id.encode()


def service_session(
    keyring: Keyring, account_id: str, service: str, seconds: int, now: datetime
) -> dict[str, Any]:
    """Credentials of the service principal `service`: it may assume the roles whose trust names it.

    Nothing is stored: the sealed token is the credential, valid until it expires (or the keyring
    changes). Printed by `ostiary service-credentials`.
    """
    session = Session(
        access_key_id=tokens.temporary_key_id(account_id),
        secret=ids.secret_access_key(),
        account_id=account_id,
        principal_type="Service",
        arn=service,
        user_id=service,
        issued_at=_second(now),
        expires_at=_second(now) + timedelta(seconds=seconds),
        service=service,
    )
    return {
        "AccountId": account_id,
        "AccessKeyId": session.access_key_id,
        "SecretAccessKey": session.secret,
        "SessionToken": tokens.seal(keyring, session),
        "Expiration": session.expires_at.isoformat().replace("+00:00", "Z"),
    }


# -- parameters ---------------------------------------------------------------------------------


def _refuse_federated(caller: Caller, operation_name: str) -> None:
    """Federated-user sessions may call no STS operation but GetCallerIdentity."""
    if caller.principal_type == "FederatedUser":
        raise AccessDenied(f"Cannot call {operation_name} with session credentials")


def _parse_role_arn(role_arn: str) -> re.Match[str] | None:
    if not _ANY_ARN.match(role_arn):
        raise ValidationError(f"{role_arn} is invalid")
    return _ROLE_ARN.match(role_arn)


def check_session_policy(policy: str | None) -> None:
    if policy is None:
        return
    if len(policy) > _SESSION_POLICY_MAX:
        raise ValidationError(
            f"1 validation error detected: Value '{policy}' at 'policy' failed to satisfy "
            f"constraint: Member must have length less than or equal to {_SESSION_POLICY_MAX}"
        )
    check_document(policy, IDENTITY, _SESSION_POLICY_MAX)


def session_policy_arns(policy_arns: list[dict[str, str]] | None) -> tuple[str, ...]:
    found = []
    for item in policy_arns or []:
        arn = item.get("arn") or ""
        if not _ANY_ARN.match(arn) or ":policy/" not in arn:
            raise InvalidParameterValue(f"The policy ARN {arn} is invalid.")
        found.append(arn)
    return tuple(found)


def check_session_policy_arns(ctx: Context, arns: tuple[str, ...], account_id: str) -> None:
    """Each managed session policy must exist, in the account of the session (or be AWS's)."""
    if not arns:
        return
    with ctx.db.read() as conn:
        for arn in arns:
            owner = arn.split(":")[4]
            if owner not in (account_id, "aws") or not policy_store.attachable_policy_exists(conn, arn):
                raise NoSuchEntityException(f"Policy {arn} does not exist or is not attachable.")


def _session_tags(
    caller: Caller, tags: list[dict[str, str]], transitive_keys: list[str]
) -> tuple[list[tuple[str, str]], list[str]]:
    """The session's tags: the caller's transitive tags, then the new ones; and the transitive keys."""
    lowered = [t["Key"].lower() for t in tags]
    if len(set(lowered)) != len(lowered):
        raise InvalidParameterValue(
            "Duplicate tag keys found. Please note that Tag keys are case insensitive."
        )
    if any(k.startswith(_RESERVED_TAG_PREFIX) for k in lowered + [k.lower() for k in transitive_keys]):
        raise InvalidParameterValue("Tag keys beginning with aws: are reserved for system use.")
    if any(k.lower() not in lowered for k in transitive_keys):
        raise InvalidParameterValue(
            "The specified transitive tag key must be included in the requested tags."
        )
    inherited: list[tuple[str, str]] = []
    inherited_keys: list[str] = []
    if caller.session is not None:
        carried = {k.lower() for k in caller.session.transitive_tag_keys}
        inherited = [(k, v) for k, v in caller.session.tags if k.lower() in carried]
        inherited_keys = list(caller.session.transitive_tag_keys)
    if {k.lower() for k, _ in inherited} & set(lowered):
        raise InvalidParameterValue(
            "One of the specified transitive tag keys can't be set because it conflicts "
            "with a transitive tag key from the calling session."
        )
    new = [(t["Key"], t.get("Value", "")) for t in tags]
    return inherited + new, inherited_keys + list(transitive_keys)


def _source_identity(caller: Caller, requested: str | None, role_arn: str) -> str | None:
    """The session's source identity: once set in a chain, it cannot change."""
    current = caller.session.source_identity if caller.session is not None else None
    if requested is not None and current is not None and requested != current:
        raise AccessDenied(trust.denied_message(caller, role_arn, "sts:SetSourceIdentity"))
    return current or requested


def minified(policy: str | None) -> str | None:
    if policy is None:
        return None
    return json.dumps(json.loads(policy), separators=(",", ":"))


def packed_size(policy: str | None, arns: tuple[str, ...], tags: list[dict[str, str]]) -> int:
    """The share of the session's packed space its policies and tags use, in percent, as AWS reports."""
    if policy is None and not arns and not tags:
        return 0
    tag_text = "".join(f"{t['Key']}={t.get('Value', '')}" for t in tags)
    percent = _packed_percent((minified(policy) or "") + "".join(arns) + tag_text)
    if percent <= 100:
        return percent
    if tags and (tag_share := _packed_percent(tag_text)) > 100:  # the tags alone are too many
        raise PackedPolicyTooLargeException(
            f"Packed size of session tags consumes {tag_share}% of allotted space."
        )
    raise PackedPolicyTooLargeException(
        f"Packed policy consumes {percent}% of allotted space, please use smaller policy set."
    )


def _packed_percent(text: str) -> int:
    return -(-len(zlib.compress(text.encode(), 9)) * 100 // _PACKED_BUDGET)


def _mfa_of(caller: Caller) -> bool:
    return caller.session.is_mfa_authenticated if caller.session is not None else False


def _mfa_at(caller: Caller) -> datetime | None:
    return caller.session.mfa_authenticated_at if caller.session is not None else None


def _second(now: datetime) -> datetime:
    return now.replace(microsecond=0)


def _credentials(ctx: Context, session: Session) -> dict[str, Any]:
    return {
        "AccessKeyId": session.access_key_id,
        "SecretAccessKey": session.secret,
        "SessionToken": tokens.seal(ctx.keyring, session),
        "Expiration": session.expires_at,
    }


def _b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64") from exc
