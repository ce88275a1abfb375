"""The one place that asks the engine about an API call: may this caller do iam:X on arn:Y?

Between `query.parse` and `services.dispatch`: the call becomes a policy request (action, resource
ARN, request context), the caller's policies come from a cache keyed by the account's policy epoch,
and a refusal is AWS's AccessDenied with AWS's message. The root of an account may do everything in
its account, so it is let through before anything is read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ostiary import actions
from ostiary.auth.caller import Caller
from ostiary.errors import AccessDenied
from ostiary.operations import metrics
from ostiary.policy import (
    PolicySetCache,
    Principal,
    Request,
    authorize,
    authorize_unnamed,
    combine_policies,
    compile_policy,
    parse_policy,
)
from ostiary.services import Context
from ostiary.store import accounts
from ostiary.store import principals as store
from ostiary.store.db import Database

DEFAULT_REGION = "us-east-1"
IAM_REGION = (
    "us-east-1"  # aws:RequestedRegion of every IAM call (AWS: "IAM calls are always made to us-east-1")
)

# Services whose handlers authorize each call themselves (AssumeRole needs the trust policy too):
# they ask this module through `identity_refusal` / `authorize_call`.
SELF_AUTHORIZING = frozenset({"sts"})

_CACHE_MAX = 4096
_CALLERS_KEPT = 64  # callers one principal's policies remember (a role's sessions share its policies)


@dataclass(frozen=True)
class PolicySet:
    """A principal's policies, parsed and compiled once per account epoch.

    `session` is None when the credentials carry no session policy; an empty tuple means a session
    policy is required and none allows (a federated user without one). `sources` keep the stored
    documents, in the same order as `identity`, for the simulator.
    """

    identity: tuple[Any, ...]
    boundary: Any | None
    session: tuple[Any, ...] | None
    sources: tuple[store.PolicyDocument, ...] = ()
    boundary_source: store.PolicyDocument | None = None
    principal_tags: dict[str, str] = field(default_factory=dict)
    principal_arn: str = ""
    needs_resource_tags: bool = False
    is_current: bool = True  # False: the session's user or role has been deleted since it was issued
    federating_user_arn: str | None = None  # a GetFederationToken session's user, under its name now
    combined: tuple[Any, ...] = ()  # the identity policies as one indexed policy, for speed
    # per caller (its access key and ARN) while these policies hold: the engine's Principal and the
    # request context keys that follow from the caller alone
    callers: dict[tuple[str, str], tuple[Principal, dict[str, str | list[str]]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def of_caller(self, caller: Caller) -> tuple[Principal, dict[str, str | list[str]]]:
        """The caller as the engine's Principal and the context keys of the caller alone, made once."""
        key = (caller.access_key_id, caller.arn)
        found = self.callers.get(key)
        if found is None:
            if len(self.callers) >= _CALLERS_KEPT:
                self.callers.clear()
            found = self.callers[key] = (
                engine_principal(
                    caller,
                    self.principal_tags,
                    is_current=self.is_current,
                    arn=self.principal_arn,
                    user_arn=self.federating_user_arn,
                ),
                _caller_context(caller, self),
            )
        return found


@dataclass(frozen=True)
class Resolved:
    """The resource of one call: its ARN, the word AWS's message uses for it, and its facts."""

    arn: str
    shown: str
    context: dict[str, str | list[str]]


_policy_sets = PolicySetCache(max_size=_CACHE_MAX)
policy_sets = _policy_sets  # the cache, as metrics read it
# Users, roles and groups by name: every change of their path, boundary or existence bumps the epoch.
_entities: dict[tuple[str, str, str, str], tuple[int, store.Entity]] = {}
_CACHED_KINDS = frozenset({"user", "role", "group"})


def check(ctx: Context, service: str, operation: str, params: dict[str, Any]) -> None:
    """Authorize one API call for `ctx.caller`, or raise AccessDenied with AWS's message."""
    caller: Caller | None = ctx.caller
    if caller is None or caller.is_root or service in SELF_AUTHORIZING:
        return
    action = actions.action_of(service, operation)
    with ctx.db.read() as conn:
        epoch = accounts.epoch(conn, caller.account_id)
        policies = _policies(conn, ctx.db, caller, epoch)
        found = _Finder(conn, ctx.db.url, epoch)
        resolved = _resolve(found, caller, service, operation, params, policies)
    context = request_context(ctx, policies, service, operation, params, resolved.context)
    decision = _authorize(policies, caller, action, resolved.arn, context)
    if decision.decision == "ImplicitDeny" and _self_service(ctx, caller, action):
        return
    if decision.decision != "Allow":
        raise access_denied(caller, action, resolved.shown, decision)


# What AllowUsersToChangePassword lets every IAM user do on themselves without any identity policy.
_SELF_SERVICE = frozenset({"iam:ChangePassword", "iam:GetAccountPasswordPolicy"})


def _self_service(ctx: Context, caller: Caller, action: str) -> bool:
    """Whether the account password policy lets this IAM user do `action` (only on themselves)."""
    if action not in _SELF_SERVICE or caller.principal_type != "User":
        return False
    with ctx.db.read() as conn:
        policy = accounts.password_policy(conn, caller.account_id) or {}
    return bool(policy.get("AllowUsersToChangePassword"))


def principal_policies(db: Database, caller: Caller) -> PolicySet:
    """The compiled policies of a caller (cached per account epoch, the epoch read at most a second ago:
    `accounts.recent_epoch`)."""
    epoch = accounts.recent_epoch(db, caller.account_id)

    def load() -> PolicySet:
        with db.read() as conn:
            return _load(conn, caller)

    return _policy_sets.get((db.url, _principal_key(caller)), epoch, load)


def authorize_call(
    ctx: Context,
    action: str,
    resource: str,
    extra_context: dict[str, Any] | None = None,
    *,
    resource_policy: Any = None,
    resource_account: str | None = None,
    is_unnamed: bool = False,
) -> Any:
    """The engine's Decision for the caller of `ctx` doing `action` on `resource`.

    The context is the caller's and the request's keys plus `extra_context`; `resource_policy` is a
    compiled resource or trust policy owned by `resource_account`. For AssumeRole across accounts.
    `is_unnamed`: `resource` is `*` for want of the ARN the action's resource types call for, and any
    Deny of the action whose conditions hold refuses (`authorize_unnamed`).
    """
    caller = ctx.caller
    policies = principal_policies(ctx.db, caller)
    principal, own = policies.of_caller(caller)
    context = _request_context(ctx, own)
    if extra_context:
        context.update(extra_context)
    request = Request(principal, action, resource, context)
    decide = authorize_unnamed if is_unnamed else authorize
    return _decided(policies, request, resource_policy, resource_account, decide)


def require(ctx: Context, action: str, resource: str, extra_context: dict[str, Any]) -> None:
    """AccessDenied with AWS's message unless the caller may also do `action` (iam:PassRole) on `resource`."""
    caller = ctx.caller
    if caller is None or caller.is_root:
        return
    decision = authorize_call(ctx, action, resource, extra_context)
    if decision.decision != "Allow":
        raise access_denied(caller, action, resource, decision)


def identity_refusal(ctx: Context, action: str, resource: str, context: dict[str, Any]) -> str | None:
    """None when the caller's own policies allow `action` on `resource`, else the reason (" because ...")."""
    if ctx.caller.is_root:
        return None
    decision = authorize_call(ctx, action, resource, context)
    return None if decision.decision == "Allow" else f" {decision.reason}"


def access_denied(caller: Caller, action: str, resource: str, decision: Any) -> AccessDenied:
    """AWS's AccessDenied for a refused decision, word for word."""
    return AccessDenied(decision.message(caller.arn, action, resource))


# -- the caller's policies --------------------------------------------------------------------------


def _policies(conn: Any, db: Database, caller: Caller, epoch: int) -> PolicySet:
    return _policy_sets.get((db.url, _principal_key(caller)), epoch, lambda: _load(conn, caller))


def _principal_key(caller: Caller) -> str:
    if caller.session is None:
        return f"{caller.account_id}/{caller.user_id}"
    return f"{caller.account_id}/{caller.access_key_id}"


def _load(conn: Any, caller: Caller) -> PolicySet:
    session = caller.session
    entity = _identity_entity(conn, caller)
    sources = store.identity_policies(conn, entity.kind, entity.entity_id) if entity else []
    boundary_doc = (
        store.boundary_policy(conn, entity.permissions_boundary)
        if entity and entity.permissions_boundary
        else None
    )
    tags = store.tags_of(conn, entity.kind, entity.entity_id) if entity else {}
    session_docs = _session_documents(conn, caller)
    if session is not None:
        tags = {**tags, **dict(session.tags)}
    # Whatever policy of the evaluation reads a resource tag (identity, boundary, session), tags are loaded.
    read = [*sources, *([boundary_doc] if boundary_doc else []), *(session_docs or [])]
    identity = tuple(compile_document(d, "identity") for d in sources)
    return PolicySet(
        identity=identity,
        combined=(combine_policies(identity),) if identity else (),
        boundary=compile_document(boundary_doc, "boundary") if boundary_doc else None,
        session=None if session_docs is None else tuple(compile_document(d, "session") for d in session_docs),
        sources=tuple(sources),
        boundary_source=boundary_doc,
        principal_tags=tags,
        principal_arn=_principal_arn(caller, entity),
        needs_resource_tags=any(_reads_resource_tags(d.document) for d in read),
        is_current=entity is not None or caller.principal_type not in _HAS_ENTITY,
        federating_user_arn=_user_arn(caller, entity) if caller.principal_type == "FederatedUser" else None,
    )


_HAS_ENTITY = frozenset({"User", "AssumedRole", "FederatedUser"})  # callers whose policies an entity holds


def _reads_resource_tags(document: str) -> bool:
    """Whether a policy mentions aws:ResourceTag or iam:ResourceTag, however its JSON escapes them."""
    try:
        text = json.dumps(json.loads(document))
    except ValueError:
        text = document
    return "resourcetag" in text.lower()


def _identity_entity(conn: Any, caller: Caller) -> store.Entity | None:
    """The user or role whose identity policies apply to the caller."""
    session = caller.session
    if caller.principal_type == "AssumedRole":
        role_id = (session.role_id if session else None) or caller.user_id.split(":", 1)[0]
        return store.find_by_id(conn, "role", role_id)
    user_id = (session.source_user_id if session else None) or caller.user_id
    return store.find_by_id(conn, "user", user_id)


def _session_documents(conn: Any, caller: Caller) -> list[store.PolicyDocument] | None:
    session = caller.session
    federated = caller.principal_type == "FederatedUser"
    if session is None or not (federated or session.has_session_policy):
        return None
    docs: list[store.PolicyDocument] = []
    if session.policy:
        docs.append(store.PolicyDocument("SessionPolicy", "session", session.policy))
    for arn in session.policy_arns:
        found = store.managed_policy(conn, arn)
        if found is not None:
            docs.append(store.PolicyDocument(found.policy_id, "session", found.document, arn))
    return docs


def _principal_arn(caller: Caller, entity: store.Entity | None = None) -> str:
    """aws:PrincipalArn: the role's ARN for a role session, else the caller's own ARN; an IAM user's as
    it is now (`entity`): a session outlives a rename, and its old name may be another user's."""
    if caller.principal_type == "AssumedRole" and caller.session is not None:
        return caller.session.role_arn or caller.arn
    if caller.principal_type == "User" and entity is not None:
        return _user_arn(caller, entity) or caller.arn
    return caller.arn


def _user_arn(caller: Caller, entity: store.Entity | None) -> str | None:
    """The ARN of the caller's user (its own, or the one who federated) as it is now; None when gone."""
    if entity is None or entity.kind != "user":
        return None
    return f"arn:aws:iam::{caller.account_id}:user{entity.path}{entity.name}"


def compile_document(doc: store.PolicyDocument, kind: str) -> Any:
    """A stored document compiled by the engine, as a policy of `kind` (identity, boundary, session ...)."""
    return compile_policy(parse_policy(doc.document, kind), doc.policy_id, kind)


# -- the resource and the context -----------------------------------------------------------------


@dataclass(frozen=True)
class _Finder:
    """Store reads for one call, with named entities cached per account epoch."""

    conn: Any
    db_url: str
    epoch: int

    def named(self, account: str, kind: str, name: str) -> store.Entity | None:
        if kind not in _CACHED_KINDS:
            return store.find_named(self.conn, account, kind, name)
        key = (self.db_url, account, kind, name.lower())
        hit = _entities.get(key)
        if hit is not None and hit[0] == self.epoch:
            return hit[1]
        entity = store.find_named(self.conn, account, kind, name)
        if entity is not None:
            if len(_entities) >= _CACHE_MAX:
                _entities.clear()
            _entities[key] = (self.epoch, entity)
        return entity


def _resolve(
    found: _Finder, caller: Caller, service: str, operation: str, params: dict[str, Any], policies: PolicySet
) -> Resolved:
    with_tags = policies.needs_resource_tags
    self_user = _self_user(caller, policies.principal_arn)
    target = actions.target_of(service, operation, params, self_user)
    account = target.account or caller.account_id
    entity = _find_target(found, account, target)
    if target.access_key_id is not None and entity is None:
        return Resolved("*", f"access key {target.access_key_id}", {})
    if entity is not None:
        target = actions.Target(target.kind, name=entity.name, path=entity.path)
    arn = actions.arn_of(service, target, caller.account_id)
    shown = arn
    is_create = operation.startswith(("Create", "Upload"))
    if entity is None and target.kind in actions.NAMED_KINDS and target.name and not is_create:
        shown = f"{target.kind} {target.name}"
    context = _resource_context(found.conn, service, operation, target, entity, arn, with_tags)
    return Resolved(arn, shown, context)


def _self_user(caller: Caller, principal_arn: str) -> tuple[str, str] | None:
    """(name, path) of the user a call without UserName acts on: the caller's user as it is now."""
    if caller.principal_type != "User" or not caller.user_name:
        return None
    resource = principal_arn.split(":", 5)[-1]  # user/PATH/NAME
    if not resource.startswith("user/"):
        return caller.user_name, caller.path or "/"
    path, _, name = resource[len("user") :].rpartition("/")
    return name, path + "/"


def _find_target(found: _Finder, account: str, target: actions.Target) -> store.Entity | None:
    """The stored entity a call acts on, found as the services find it (names ignore case).

    The decision is then made on the entity's own ARN, never on the spelling the caller typed.
    """
    if target.access_key_id is not None:
        return store.key_owner(found.conn, target.access_key_id)
    if target.kind not in actions.NAMED_KINDS:
        return None
    if target.arn is not None:
        named = actions.named_in_arn(target.arn)
        if named is None or named[0] != account:
            return None
        return found.named(account, target.kind, named[1])
    return found.named(account, target.kind, target.name) if target.name else None


def _resource_context(
    conn: Any,
    service: str,
    operation: str,
    target: actions.Target,
    entity: store.Entity | None,
    arn: str,
    with_tags: bool,
) -> dict[str, str | list[str]]:
    out: dict[str, str | list[str]] = {}
    if arn.startswith("arn:"):
        out["aws:ResourceAccount"] = arn.split(":")[4]
    if (
        entity is not None
        and entity.permissions_boundary
        and "iam:permissionsboundary" in actions.listed_keys(service, operation)
        and not actions.request_sets(service, operation, "iam:PermissionsBoundary")
    ):
        out["iam:PermissionsBoundary"] = entity.permissions_boundary
    if not with_tags:
        return out
    tags: dict[str, str] = {}
    if entity is not None:
        tags = store.tags_of(conn, entity.kind, entity.entity_id)
    elif target.kind == "policy" and target.arn:
        policy_id = store.managed_policy_id(conn, target.arn)
        tags = store.tags_of(conn, "policy", policy_id) if policy_id else {}
    elif target.arn and target.kind:
        tags = store.tags_of(conn, target.kind, target.arn)
    for key, value in tags.items():
        out[f"aws:ResourceTag/{key}"] = value
        if target.kind in ("user", "role"):
            out[f"iam:ResourceTag/{key}"] = value
    return out


def request_context(
    ctx: Context,
    policies: PolicySet,
    service: str,
    operation: str,
    params: dict[str, Any],
    resource_context: dict[str, str | list[str]] | None = None,
) -> dict[str, str | list[str]]:
    """The request context of a call: the caller's keys, the environment's, the resource's, the call's own.

    The call's own keys come last: a value the request sets is never replaced by a stored one.
    """
    context = _base_context(ctx, policies)
    if service == "iam":  # IAM's one endpoint is in us-east-1, whatever region a client signs for
        context["aws:RequestedRegion"] = IAM_REGION
    context.update(resource_context or {})
    context.update(actions.request_keys(service, operation, params))
    return context


def _base_context(ctx: Context, policies: PolicySet) -> dict[str, str | list[str]]:
    """The request context of a call before its resource's and its own keys."""
    return _request_context(ctx, policies.of_caller(ctx.caller)[1])


def _caller_context(caller: Caller, policies: PolicySet) -> dict[str, str | list[str]]:
    """The context keys that follow from the caller and its policies alone (not the time, not the request)."""
    out: dict[str, str | list[str]] = {
        "aws:PrincipalArn": policies.principal_arn or caller.arn,
        "aws:PrincipalAccount": caller.account_id,
        "aws:PrincipalType": caller.principal_type,
        "aws:userid": caller.user_id,
        "aws:ViaAWSService": "false",
        "aws:PrincipalIsAWSService": "false",
    }
    if caller.principal_type == "User" and caller.user_name:
        out["aws:username"] = policies.principal_arn.rsplit("/", 1)[-1] or caller.user_name
    for key, value in policies.principal_tags.items():
        out[f"aws:PrincipalTag/{key}"] = value
    session = caller.session
    if session is not None:
        out["aws:TokenIssueTime"] = _time_text(session.issued_at)
        out["aws:MultiFactorAuthPresent"] = "true" if session.is_mfa_authenticated else "false"
        if session.source_identity:
            out["aws:SourceIdentity"] = session.source_identity
    return out


def _request_context(ctx: Context, own: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
    """The caller's own keys (`_caller_context`) and those of this request: the time, the connection,
    the region, a session's MFA age."""
    now: datetime = ctx.now
    epoch = int(now.timestamp())
    out = dict(own)
    out["aws:SourceIp"] = ctx.source_ip
    out["aws:CurrentTime"] = _second_text(epoch, now)
    out["aws:EpochTime"] = str(epoch)
    out["aws:SecureTransport"] = "true" if ctx.is_secure else "false"
    out["aws:RequestedRegion"] = ctx.region or DEFAULT_REGION
    session = ctx.caller.session
    if session is not None and session.is_mfa_authenticated and session.mfa_authenticated_at is not None:
        out["aws:MultiFactorAuthAge"] = str(max(0, int((now - session.mfa_authenticated_at).total_seconds())))
    return out


def _time_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


_last_second: tuple[int, str] = (-1, "")  # the last second formatted (one tuple: threads)


def _second_text(epoch: int, now: datetime) -> str:
    """aws:CurrentTime of `now` (whole seconds: `epoch`), formatted once a second."""
    global _last_second
    last = _last_second
    if last[0] != epoch:
        last = _last_second = (epoch, _time_text(now))
    return last[1]


# -- the engine -----------------------------------------------------------------------------------


def _authorize(
    policies: PolicySet,
    caller: Caller,
    action: str,
    resource: str,
    context: dict[str, Any],
    resource_policy: Any = None,
    resource_account: str | None = None,
) -> Any:
    request = Request(policies.of_caller(caller)[0], action, resource, context)
    return _decided(policies, request, resource_policy, resource_account)


def _decided(
    policies: PolicySet,
    request: Request,
    resource_policy: Any,
    resource_account: str | None,
    decide: Callable[..., Any] = authorize,
) -> Any:
    decision = decide(
        request,
        identity=policies.combined,
        boundary=policies.boundary,
        session=None if policies.session is None else list(policies.session),
        resource=resource_policy,
        resource_account=resource_account,
    )
    metrics.decided(decision.decision)
    return decision


_ENGINE_TYPES = {
    "User": "user",
    "AssumedRole": "assumed-role",
    "Account": "root",
    "FederatedUser": "federated",
    "Service": "service",
}


def engine_principal(
    caller: Caller,
    tags: dict[str, str],
    *,
    is_current: bool = True,
    arn: str | None = None,
    user_arn: str | None = None,
) -> Principal:
    """The caller as the engine's Principal, with its principal tags; `is_current` False when the
    session's user or role was deleted (a Principal naming that ARN names whoever holds it now);
    `arn`, `user_arn`: an IAM user's ARN, and a federated session's user's, as they are now (either may
    have been renamed since, and the old name given to another user)."""
    session = caller.session
    is_federated = caller.principal_type == "FederatedUser"
    return Principal(
        arn=arn if arn and caller.principal_type == "User" else caller.arn,
        type=_ENGINE_TYPES.get(caller.principal_type, "user"),
        account=caller.account_id,
        user_id=caller.user_id,
        tags=dict(tags),
        role_arn=session.role_arn if session is not None else None,
        role_id=session.role_id if session is not None else None,
        session_name=session.session_name if session is not None else None,
        user_arn=(user_arn or session.source_principal_arn) if is_federated and session is not None else None,
        is_current=is_current,
    )
