"""The gateway's decisions: every permission an operation needs asked of the engine, with the resource's
own policy (a KMS key policy) where it has one; AccessDenied with AWS's message at the first refusal.

`--enforce soft` logs each refusal (who, what, on what, the deciding statements) and lets it through;
`--enforce off` decides nothing. The root of an account may do everything to its own resources.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ostiary import enforce, services
from ostiary.auth.caller import Caller
from ostiary.gateway import keypolicies, kms
from ostiary.gateway.lookups import BackendLookups
from ostiary.gateway.operations import Operation
from ostiary.gateway.permissions import Facts, Permission, permissions_of
from ostiary.policy import Decision
from ostiary.protocol import HttpRequest
from ostiary.settings import OFF, SOFT, Settings
from ostiary.store.db import Database
from ostiary.store.keyring import Keyring

log = logging.getLogger("ostiary.gateway")

_BARE = re.compile(r"[!-~]+")  # printable, no space: logged as it is


@dataclass(frozen=True)
class Pending:
    """The caller's context, and the permissions to ask once the backend has answered (KMS Decrypt of a
    ciphertext names its key only in the answer)."""

    ctx: services.Context | None
    permissions: tuple[tuple[Permission, str], ...]


class Authorizer:
    """Decides the gateway's requests with the engine, over one store and the backends' facts."""

    def __init__(self, settings: Settings, db: Database, keyring: Keyring, lookups: BackendLookups) -> None:
        self.settings = settings
        self.db = db
        self.keyring = keyring
        self.lookups = lookups
        self.is_soft = settings.enforce == SOFT

    def authorize(
        self,
        request: HttpRequest,
        caller: Caller,
        operation: Operation,
        region: str,
        request_id: str,
        now: datetime,
    ) -> Pending:
        """Ask the engine about every permission the operation needs; AccessDenied at the first refusal.

        Returns the permissions only the answer can name the resource of.
        """
        if caller.is_root or self.settings.enforce == OFF:
            return Pending(None, ())
        ctx = services.Context(
            db=self.db,
            keyring=self.keyring,
            settings=self.settings,
            caller=caller,
            request_id=request_id,
            now=now,
            source_ip=request.client_ip,
            region=region,
            is_secure=request.is_secure,
        )
        facts = Facts(
            account=caller.account_id,
            region=region,
            caller_account=caller.account_id,
            key_schema=lambda table, index: self.lookups.key_schema(region, table, index),
            resolve_alias=lambda alias: self.lookups.resolve_alias(region, alias),
        )
        later = []
        for permission in permissions_of(operation, facts):
            member = kms.key_in_answer(operation, permission)
            if member is not None:
                later.append((permission, member))
            else:
                self.decide(ctx, permission, region)
        return Pending(ctx, tuple(later))

    def after_answer(self, pending: Pending, region: str, answer_body: Callable[[], bytes]) -> None:
        """Decide the permissions whose resource the backend's (successful) answer names."""
        if not pending.permissions or pending.ctx is None:
            return
        try:
            named = json.loads(answer_body())
        except ValueError:
            named = {}
        for permission, member in pending.permissions:
            resource = named.get(member) if isinstance(named, dict) else None
            resource = resource if isinstance(resource, str) and resource.startswith("arn:") else "*"
            self.decide(pending.ctx, Permission(permission.action, resource, permission.context), region)

    def decide(self, ctx: services.Context, permission: Permission, region: str) -> None:
        """AccessDenied, with AWS's message, unless the engine allows the caller this permission (soft
        mode: logged instead)."""
        account_id = ctx.caller.account_id if ctx.caller is not None else ""
        policy = self._resource_policy(permission, account_id, region)
        _decide(ctx, permission, policy, is_soft=self.is_soft)

    def _resource_policy(self, permission: Permission, caller_account: str, region: str) -> Any:
        """The key policy a KMS permission is also decided by (None for other services).

        A key's own policy comes from the backend; a key it cannot tell of, and a call on no key (CreateKey,
        ListKeys), take AWS's default key policy, which lets the account's identity policies decide.
        """
        if not permission.action.startswith("kms:"):
            return None
        resource = permission.resource
        is_key = resource.startswith("arn:") and ":key/" in resource
        account = resource.split(":")[4] if is_key else caller_account
        text = self.lookups.key_policy(region, resource) if is_key else None
        return keypolicies.compiled(text, account)


def _decide(
    ctx: services.Context, permission: Permission, resource_policy: Any = None, *, is_soft: bool = False
) -> None:
    """AccessDenied, with AWS's message, unless the engine allows the caller this permission.

    `resource_policy` is the compiled policy of the resource (a KMS key's key policy), if it has one.
    `is_soft` (`--enforce soft`): a refusal is logged instead of raised.
    """
    context: dict[str, str | list[str]] = dict(permission.context)
    account = permission.resource.split(":")[4] if permission.resource.startswith("arn:") else ""
    if account:
        context["aws:ResourceAccount"] = account
    decision = enforce.authorize_call(
        ctx,
        permission.action,
        permission.resource,
        context,
        resource_policy=resource_policy,
        resource_account=(account or None) if resource_policy is not None else None,
    )
    if decision.is_allowed:
        return
    if ctx.caller is None:
        raise TypeError("the gateway authorizes signed callers only")
    if is_soft:
        _log_let_through(ctx.request_id, ctx.caller.arn, permission, decision)
        return
    raise enforce.access_denied(ctx.caller, permission.action, permission.resource, decision)


def _log_let_through(request_id: str, principal_arn: str, permission: Permission, decision: Decision) -> None:
    """One log line for a refusal `--enforce soft` let through: who, what, on what, and why.

    Names and policy ids only: never a signature, a session token or a key.
    """
    statements = [f"{s.effect} {s.label} ({s.policy_type})" for s in decision.statements]
    log.warning(
        "soft mode let a refused request through: request=%s principal=%s action=%s resource=%s "
        "decision=%s reason=%s statements=%s",
        request_id,
        _field(principal_arn),
        _field(permission.action),
        _field(permission.resource),
        decision.decision,
        _field(decision.reason or "none"),
        _field("; ".join(statements) or "none"),
    )


def _field(text: str) -> str:
    """A value for a `key=value` log line: as it is when printable without spaces, else a JSON string
    (so no value can break the line or pose as another key)."""
    return text if _BARE.fullmatch(text) and '"' not in text and "=" not in text else json.dumps(text)
