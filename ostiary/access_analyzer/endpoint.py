"""Access Analyzer's REST-JSON API on the IAM endpoint.

A request SigV4-signed for `access-analyzer` is routed by botocore's model (`routes`), authenticated like
any call and authorized by the engine as `access-analyzer:<Operation>` on the resource the operation's
module names (`*` where the Service Authorization Reference names none); the module answers with the
output shape as plain data. Errors are the model's, in the JSON body's `__type`. An operation of the
model that no module serves is refused as unknown.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Protocol, TypeGuard

from ostiary import enforce, services
from ostiary.access_analyzer import (
    analyzers,
    archive_rules,
    checks,
    findings,
    generation,
    routes,
    validation,
)
from ostiary.access_analyzer.errors import (
    AccessDeniedException,
    InternalServerException,
    ThrottlingException,
    ValidationException,
    error_body,
)
from ostiary.access_analyzer.operation import Operation
from ostiary.auth import sigv4
from ostiary.auth.authenticate import authenticate
from ostiary.errors import AwsError
from ostiary.gateway import endpoint as gateway_endpoint
from ostiary.protocol import ApiCall, HttpRequest

log = logging.getLogger("ostiary")

SERVICE = "access-analyzer"
_JSON = b"application/json"

OPERATIONS: dict[str, Operation] = {
    **validation.OPERATIONS,
    **analyzers.OPERATIONS,
    **archive_rules.OPERATIONS,
    **findings.OPERATIONS,
    **generation.OPERATIONS,
    **checks.OPERATIONS,
}


class App(Protocol):
    """What is used of the IAM endpoint's app: its store, keyring and settings."""

    db: Any
    keyring: Any
    settings: Any
    trail: Any  # ostiary.trail.calls.Trail: every call recorded as the IAM endpoint's are


def is_signed_for(scope: dict[str, Any]) -> bool:
    """Whether an ASGI request is signed for Access Analyzer (its credential scope names it)."""
    return gateway_endpoint.scope_service(scope) == SERVICE


def takes(signed: sigv4.SignedRequest | None) -> TypeGuard[sigv4.SignedRequest]:
    """Whether a request is Access Analyzer's (signed for its service)."""
    return signed is not None and signed.service == SERVICE


def handle(
    app: App, request: HttpRequest, signed: sigv4.SignedRequest, request_id: str, solver_busy: bool = False
) -> tuple[int, bytes, bytes]:
    """Answer one Access Analyzer request: (status, JSON body, content type). Never raises.
    `solver_busy`: the exact checks' threads are full, so an authorized check is ThrottlingException."""
    try:
        now = datetime.now(UTC)
        caller = authenticate(
            request, signed, db=app.db, keyring=app.keyring, settings=app.settings, now=now,
            services=frozenset({SERVICE}),
        )  # fmt: skip
        found = routes.route(request)
        operation = None if found is None else OPERATIONS.get(found[0])
        if found is None or operation is None:
            raise ValidationException("Unknown operation", "unknownOperation")
        name, params = found
        ctx = services.Context(
            db=app.db, keyring=app.keyring, settings=app.settings, caller=caller, request_id=request_id,
            now=now, source_ip=request.client_ip, region=signed.region, is_secure=request.is_secure,
        )  # fmt: skip
        app.trail.begin(ctx, ApiCall(SERVICE, name, params), request)
        _authorize(ctx, f"{SERVICE}:{operation.action or name}", operation.resource(ctx, params))
        if solver_busy:
            raise ThrottlingException("Rate exceeded")
        result = operation.run(ctx, params)
        app.trail.answered(request_id, result)
        return 200, json.dumps(result).encode(), _JSON
    except AwsError as error:
        app.trail.failed(request_id, error)
        return error.status, json.dumps(error_body(error)).encode(), _JSON
    except Exception:
        log.exception("internal failure in request %s", request_id)
        failure = InternalServerException("Internal server error")
        app.trail.failed(request_id, failure)
        return 500, json.dumps(error_body(failure)).encode(), _JSON


def _authorize(ctx: services.Context, action: str, resource: str) -> None:
    """The engine decides `action` on `resource` for the caller (root may do all)."""
    caller = ctx.caller
    if caller is None or caller.is_root:
        return
    decision = enforce.authorize_call(ctx, action, resource)
    if decision.decision != "Allow":
        raise AccessDeniedException(decision.message(caller.arn, action, resource))
