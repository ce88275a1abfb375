"""An analyzer's findings as the account's current state gives them, each with a stable id: external
access (ACCOUNT) from role trust policies and the resource policies the gateway holds; unused access
(ACCOUNT_UNUSED_ACCESS) from the last-used columns and the trail. The policies are read by the engine's
parser; `ostiary.analyzer` decides who gets what."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, overload

from ostiary.analyzer.external_access import Grant, external_grants
from ostiary.analyzer.unused_access import Usage, granted_actions, is_unused, unused_permissions
from ostiary.policy import Policy, PolicySyntaxError, parse_policy
from ostiary.store import analyzer_inputs as inputs

_IDS = uuid.UUID("6f1c1f7e-6a1d-4c59-9a38-0b8f0c6e7a21")  # the namespace of finding ids
_DENIED = frozenset(
    ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Client.UnauthorizedOperation")
)
_RESOURCE_TYPES = {"s3": "AWS::S3::Bucket", "kms": "AWS::KMS::Key"}


@dataclass(frozen=True)
class Scope:
    """Whose findings: the analyzer's ARN, type, account and region, the moment and the tracking period."""

    analyzer_arn: str
    kind: str
    account: str
    region: str
    now: datetime
    unused_access_age: int = 90
    exclusions: tuple[dict[str, Any], ...] = ()  # the analysisRule's: accountIds and resourceTags


def current(conn: Any, scope: Scope, trail: Any) -> dict[str, dict[str, Any]]:
    """The analyzer's findings now, by id: JSON-ready contents (findingType, resource, resourceType,
    resourceOwnerAccount, details and, for external access, principal, action, condition, isPublic).
    `conn` reads the store, `trail` the trail's tables (`store.trail_store`)."""
    if scope.kind == "ACCOUNT":
        return _external(conn, scope)
    return _unused(conn, scope, trail)


def _finding_id(scope: Scope, *parts: str) -> str:
    return str(uuid.uuid5(_IDS, "\0".join((scope.analyzer_arn, *parts))))


def _external(conn: Any, scope: Scope) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for role in inputs.account_roles(conn, scope.account):
        if role.service_linked:
            continue
        arn = f"arn:aws:iam::{scope.account}:role{role.path}{role.name}"
        policy = _parsed(role.trust_policy, "trust")
        if policy is not None:
            _add_grants(found, scope, arn, "AWS::IAM::Role", external_grants(policy, scope.account, "sts"))
    for row in inputs.resource_policies(conn, scope.account):
        resource_type = _RESOURCE_TYPES.get(row.service)
        if resource_type is None or row.region not in ("", scope.region):
            continue
        if row.service == "s3":
            arn = f"arn:aws:s3:::{row.name}"
        else:
            arn = f"arn:aws:kms:{row.region}:{scope.account}:key/{row.name}"
        policy = _parsed(row.policy, "resource")
        if policy is not None:
            _add_grants(found, scope, arn, resource_type, external_grants(policy, scope.account, row.service))
    return found


@functools.lru_cache(maxsize=4096)
def _parsed(text: str, kind: str) -> Policy | None:
    """A stored document as the engine reads it (parsed once per text: documents repeat across reads)."""
    try:
        return parse_policy(text, kind)
    except PolicySyntaxError:
        return None  # a stored document that no longer parses grants nothing the engine would allow


def _add_grants(
    found: dict[str, dict[str, Any]], scope: Scope, arn: str, resource_type: str, grants: list[Grant]
) -> None:
    for grant in grants:
        kind, value = grant.principal
        condition = dict(grant.condition)
        finding_id = _finding_id(scope, "ExternalAccess", arn, kind, value, repr(grant.condition))
        details = {
            "action": list(grant.actions),
            "condition": condition,
            "isPublic": grant.is_public,
            "principal": {kind: value},
            "sources": [{"type": "POLICY"}],
        }
        found[finding_id] = {
            "findingType": "ExternalAccess",
            "resource": arn,
            "resourceType": resource_type,
            "resourceOwnerAccount": scope.account,
            "details": [{"externalAccessDetails": details}],
            **details,
        }


class _Unused:
    """The unused-access findings of one computation: the period's cutoff, the trail's usage, the found."""

    def __init__(self, conn: Any, scope: Scope, trail: Any) -> None:
        self.conn, self.scope = conn, scope
        self.cutoff = scope.now - timedelta(days=scope.unused_access_age)
        self.usage = _usage(trail, scope.account, self.cutoff - timedelta(days=scope.unused_access_age))
        self.found: dict[str, dict[str, Any]] = {}

    def add(self, kind: str, arn: str, resource_type: str, details: list[dict[str, Any]]) -> None:
        """One finding of `kind` on the entity `arn`."""
        self.found[_finding_id(self.scope, kind, arn)] = {
            "findingType": kind,
            "resource": arn,
            "resourceType": resource_type,
            "resourceOwnerAccount": self.scope.account,
            "details": details,
        }

    def roles(self) -> None:
        """Roles unused in the period; the permissions of the others that went unused."""
        scope, cutoff = self.scope, self.cutoff
        roles = inputs.account_roles(self.conn, scope.account)
        tags = inputs.entity_tags(self.conn, "role", [r.role_id for r in roles]) if scope.exclusions else {}
        documents = inputs.identity_documents(self.conn, "role", [r.role_id for r in roles])
        for role in roles:
            if role.service_linked or _excluded(scope, tags.get(role.role_id, {})):
                continue
            arn = f"arn:aws:iam::{scope.account}:role{role.path}{role.name}"
            last_used = aware(role.last_used_at)
            if is_unused(aware(role.created_at), last_used, cutoff):
                self.add("UnusedIAMRole", arn, "AWS::IAM::Role", [{"unusedIamRoleDetails": _last(last_used)}])
            else:
                self.permissions(documents.get(role.role_id, []), arn, "AWS::IAM::Role")

    def users(self) -> None:
        """Users' access keys and passwords unused in the period, and their unused permissions."""
        scope, cutoff = self.scope, self.cutoff
        keys = inputs.user_access_keys(self.conn, scope.account)
        users = inputs.account_users(self.conn, scope.account)
        tags = inputs.entity_tags(self.conn, "user", [u.user_id for u in users]) if scope.exclusions else {}
        documents = inputs.identity_documents(self.conn, "user", [u.user_id for u in users])
        for user in users:
            if _excluded(scope, tags.get(user.user_id, {})):
                continue
            arn = f"arn:aws:iam::{scope.account}:user{user.path}{user.name}"
            stale = [
                k
                for k in keys.get(user.user_id, [])
                if is_unused(aware(k.created_at), aware(k.last_used_at), cutoff)
            ]
            if stale:
                details = [
                    {
                        "unusedIamUserAccessKeyDetails": {
                            "accessKeyId": k.access_key_id,
                            **_last(aware(k.last_used_at)),
                        }
                    }
                    for k in stale
                ]
                self.add("UnusedIAMUserAccessKey", arn, "AWS::IAM::User", details)
            password_at, password_used = aware(user.password_created_at), aware(user.password_last_used_at)
            if password_at is not None and is_unused(password_at, password_used, cutoff):
                details = [{"unusedIamUserPasswordDetails": _last(password_used)}]
                self.add("UnusedIAMUserPassword", arn, "AWS::IAM::User", details)
            self.permissions(documents.get(user.user_id, []), arn, "AWS::IAM::User")

    def permissions(self, documents: list[str], arn: str, resource_type: str) -> None:
        """The services and actions the entity's policies grant that it did not use in the period."""
        policies = [p for p in (_parsed(d, "identity") for d in documents) if p is not None]
        details = unused_permissions(granted_actions(policies), self.usage.get(arn) or Usage(), self.cutoff)
        if details:
            listed = [{"unusedPermissionDetails": _jsonable(d)} for d in details]
            self.add("UnusedPermission", arn, resource_type, listed)


def _unused(conn: Any, scope: Scope, trail: Any) -> dict[str, dict[str, Any]]:
    if _excluded(scope, {}, tags_only=False):
        return {}
    unused = _Unused(conn, scope, trail)
    unused.roles()
    unused.users()
    return unused.found


def _excluded(scope: Scope, tags: dict[str, str], *, tags_only: bool = True) -> bool:
    """Whether the analysisRule excludes the account (`tags_only=False`) or an entity with these tags."""
    for criteria in scope.exclusions:
        if not tags_only and scope.account in criteria.get("accountIds", ()):
            return True
        if tags_only and any(set(t.items()) <= set(tags.items()) for t in criteria.get("resourceTags", ())):
            return True
    return False


def _usage(conn: Any, account: str, since: datetime) -> dict[str, Usage]:
    """What each user and role (by ARN) called since `since`, from the trail (refused calls excluded)."""
    usage: dict[str, Usage] = {}
    for at, record in inputs.trail_records(conn, account, since):
        if record.get("errorCode") in _DENIED:
            continue
        arn = _identity_arn(record.get("userIdentity"))
        source, name = record.get("eventSource"), record.get("eventName")
        if arn is None or not isinstance(source, str) or not isinstance(name, str):
            continue
        usage.setdefault(arn, Usage()).add(source.split(".", 1)[0], name, aware(at) or at)
    return usage


def _identity_arn(identity: Any) -> str | None:
    """The user's ARN, or the role's for a role session."""
    if not isinstance(identity, dict):
        return None
    if identity.get("type") == "IAMUser":
        return str(identity.get("arn") or "") or None
    if identity.get("type") == "AssumedRole":
        issuer = (identity.get("sessionContext") or {}).get("sessionIssuer") or {}
        return str(issuer.get("arn") or "") or None
    return None


@overload
def aware(moment: datetime) -> datetime: ...
@overload
def aware(moment: None) -> None: ...
@overload
def aware(moment: datetime | None) -> datetime | None: ...
def aware(moment: datetime | None) -> datetime | None:
    """A stored time as UTC-aware (SQLite gives naive values back)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def timestamp(moment: datetime) -> str:
    """A time as the rest-json protocol writes it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _last(moment: datetime | None) -> dict[str, str]:
    return {} if moment is None else {"lastAccessed": timestamp(moment)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value
