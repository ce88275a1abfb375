"""The gateway's endpoint: a request signed for a service other than IAM and STS is authenticated with
Ostiary's credentials, authorized by the engine for every permission its operation needs, re-signed
with the backend's credentials and forwarded; the backend's answer goes back unchanged.

HTTP → sigv4.parse → authenticate → operations.identify → permissions_of → enforce → forward

`--enforce soft` logs each refusal and forwards the request all the same; `--enforce off` forwards what
authenticates without asking the engine (rollout modes; IAM and STS are always enforced).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from ostiary import enforce, ids, services
from ostiary.auth import sigv4
from ostiary.auth.authenticate import authenticate
from ostiary.auth.caller import Caller
from ostiary.errors import AwsError, MissingAuthenticationToken
from ostiary.gateway import keypolicies, kms, refusals
from ostiary.gateway.backends import Backends
from ostiary.gateway.forwarding import Answer, BackendUnavailable, Forwarder
from ostiary.gateway.lookups import BackendLookups
from ostiary.gateway.operations import Operation, UnknownOperation, identify, service_model
from ostiary.gateway.permissions import Facts, Permission, permissions_of
from ostiary.policy import Decision
from ostiary.protocol import HttpRequest
from ostiary.server import http_request, read_body
from ostiary.settings import OFF, SOFT, Settings
from ostiary.store.db import Database
from ostiary.store.keyring import Keyring

log = logging.getLogger("ostiary.gateway")

MAX_BODY_BYTES = 16 * 1024 * 1024  # DynamoDB's largest request (BatchWriteItem)
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/([^/,\s]+)/")
_BARE = re.compile(r"[!-~]+")  # printable, no space: logged as it is


def scope_service(scope: dict[str, Any]) -> str | None:
    """The service a request's SigV4 credential scope names (header or presigned query), if any."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"authorization":
            found = _SCOPE.search(value.decode("latin-1"))
            return found[1] if found else None
    query = unquote(scope.get("query_string", b"").decode("latin-1"))
    found = _SCOPE.search(query.replace("X-Amz-Credential=", "Credential="))
    return found[1] if found else None


class Gateway:
    """Authorizes and forwards the requests of services that have a backend."""

    def __init__(self, settings: Settings, db: Database, keyring: Keyring, backends: Backends) -> None:
        self.settings = settings
        self.db = db
        self.keyring = keyring
        self.backends = backends
        self.forwarder = Forwarder(backends.access_key_id, backends.secret_access_key)
        self.lookups = BackendLookups(self.forwarder, backends.url_for)
        self.is_soft = settings.enforce == SOFT

    def takes(self, scope: dict[str, Any]) -> bool:
        """Whether a request is the gateway's: signed for a service that has a backend.

        Requests for other services are left to the IAM endpoint, which refuses them in their protocol.
        """
        service = scope_service(scope)
        return service is not None and self.backends.url_for(service) is not None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body, too_large = await read_body(receive, MAX_BODY_BYTES)
        request = http_request(scope, body)
        if too_large:
            answer = _refusal(
                scope_service(scope) or "", *refusals.REQUEST_TOO_LARGE, "the request body is too large"
            )
        else:
            answer = await asyncio.to_thread(self.handle, request)
        headers = [
            (k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers if k != "content-length"
        ]
        headers.append((b"content-length", str(len(answer.body)).encode()))
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})

    def handle(self, request: HttpRequest) -> Answer:
        """Answer one request: the backend's answer, or a refusal in the service's protocol. Never raises."""
        request_id = ids.request_id()
        service = ""
        try:
            signed = sigv4.parse(request)
            if signed is None:
                raise MissingAuthenticationToken("Request is missing Authentication Token")
            service = signed.service
            backend = self.backends.url_for(service)
            if backend is None:
                message = f"no backend serves `{service}`: start ostiary serve with --backend {service}=URL"
                return _refusal(service, *refusals.SERVICE_UNAVAILABLE, message, request_id)
            if _json_version(service) is None:
                message = (
                    f"the gateway forwards JSON-protocol services only so far: `{service}` is not served yet"
                )
                return _refusal(service, *refusals.NOT_IMPLEMENTED, message, request_id)
            now = datetime.now(UTC)
            caller = authenticate(
                request,
                signed,
                db=self.db,
                keyring=self.keyring,
                settings=self.settings,
                now=now,
                services=frozenset({service}),
            )
            operation = identify(service, request)
            if isinstance(operation, UnknownOperation):
                kind = refusals.UNKNOWN_OPERATION if operation.operation is None else refusals.SERIALIZATION
                return _refusal(service, *kind, operation.reason, request_id)
            pending = self._authorize(request, caller, operation, signed.region, request_id, now)
            return self._forward(backend, request, service, signed.region, pending)
        except AwsError as exc:
            return _aws_refusal(service, exc, request_id)
        except BackendUnavailable as exc:
            log.warning("backend of %s unavailable in request %s: %s", service, request_id, exc)
            message = f"the backend of `{service}` did not answer"
            return _refusal(service, *refusals.SERVICE_UNAVAILABLE, message, request_id)
        except Exception:  # noqa: BLE001 - the gateway's outer guard, as app.py's: never a traceback on the wire
            log.exception("internal failure in gateway request %s", request_id)
            message = "The request processing has failed because of an unknown error, exception or failure."
            return _refusal(service, "InternalFailure", 500, message, request_id)

    def _authorize(
        self,
        request: HttpRequest,
        caller: Caller,
        operation: Operation,
        region: str,
        request_id: str,
        now: datetime,
    ) -> _Pending:
        """Ask the engine about every permission the operation needs; AccessDenied at the first refusal.

        Returns the permissions only the answer can name the resource of (KMS Decrypt of a ciphertext).
        """
        # the root of an account may do everything to its own resources; `--enforce off` decides nothing
        if caller.is_root or self.settings.enforce == OFF:
            return _Pending(None, ())
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
                policy = self._resource_policy(permission, caller.account_id, region)
                _decide(ctx, permission, policy, is_soft=self.is_soft)
        return _Pending(ctx, tuple(later))

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

    def _forward(
        self, backend: str, request: HttpRequest, service: str, region: str, pending: _Pending
    ) -> Answer:
        """The backend's answer, once the permissions that needed it are allowed too."""
        answer = self.forwarder.forward(backend, request, service, region)
        if not pending.permissions or pending.ctx is None or answer.status != 200:
            return answer
        try:
            named = json.loads(answer.body)
        except ValueError:
            named = {}
        for permission, member in pending.permissions:
            resource = named.get(member) if isinstance(named, dict) else None
            resource = resource if isinstance(resource, str) and resource.startswith("arn:") else "*"
            found = Permission(permission.action, resource, permission.context)
            policy = self._resource_policy(found, pending.ctx.account_id, region)
            _decide(pending.ctx, found, policy, is_soft=self.is_soft)
        return answer


@dataclass(frozen=True)
class _Pending:
    """The caller's context, and the permissions to ask once the backend has answered."""

    ctx: services.Context | None
    permissions: tuple[tuple[Permission, str], ...]


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


def _json_version(service: str) -> str | None:
    model = service_model(service)
    if model is None or model.metadata.get("protocol") != "json":
        return None
    return str(model.metadata.get("jsonVersion", "1.0"))


def _refusal(service: str, code: str, status: int, message: str, request_id: str = "") -> Answer:
    """A refusal in the service's own protocol: JSON for the JSON services, else S3's XML."""
    version = _json_version(service)
    request_id = request_id or ids.request_id()
    if version is not None:
        status, body, content_type = refusals.json_error(code, status, message, version)
    else:
        status, body, content_type = refusals.xml_error(code, status, message, request_id)
    return Answer(status, (("content-type", content_type), ("x-amzn-requestid", request_id)), body)


def _aws_refusal(service: str, error: AwsError, request_id: str) -> Answer:
    version = _json_version(service)
    if version is None:
        return _refusal(service, error.code, error.status, error.message, request_id)
    status, body, content_type = refusals.json_refusal(error, version)
    return Answer(status, (("content-type", content_type), ("x-amzn-requestid", request_id)), body)
