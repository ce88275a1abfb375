"""Every console action is an API call as the signed-in person: encoded as the query protocol encodes
it, decoded by the endpoint's own parser (so the model's constraints apply), authorized by `enforce`
and answered by the same service function, then recorded in the trail as any API call is.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from botocore.serialize import create_serializer

from ostiary import enforce, ids, services
from ostiary.access_analyzer import validation
from ostiary.access_analyzer.errors import AccessDeniedException
from ostiary.auth.caller import session_caller
from ostiary.auth.tokens import Session
from ostiary.errors import AwsError
from ostiary.protocol import ApiCall, HttpRequest, models, query

if TYPE_CHECKING:
    from ostiary.app import OstiaryApp

_SERIALIZER = create_serializer("query", include_validation=False)
_FORM = "application/x-www-form-urlencoded; charset=utf-8"
_JSON = "application/json"
_VALIDATE = "access-analyzer:ValidatePolicy"


@dataclass(frozen=True)
class Principal:
    """Who the console acts as for one page: the session, and the browser request's facts."""

    session: Session
    source_ip: str
    user_agent: str
    is_secure: bool


def encoded(service: str, operation: str, params: dict[str, Any]) -> bytes:
    """The query-protocol body of a call, as an SDK sends it."""
    model = models.service(service).model.operation_model(operation)
    request = _SERIALIZER.serialize_to_request(params, model)
    body = request["body"]
    return urlencode(body).encode() if isinstance(body, dict) else bytes(body)


def call(
    app: OstiaryApp, who: Principal, service: str, operation: str, params: dict[str, Any]
) -> dict[str, Any]:
    """The answer of `operation` called by `who`, or its AwsError (AccessDenied with AWS's text)."""
    request = _request(who, "/", _FORM, encoded(service, operation, params))
    ctx = _context(app, who)
    api_call = query.parse(service, request)
    app.trail.begin(ctx, api_call, request)
    try:
        enforce.check(ctx, api_call.service, api_call.operation, api_call.params)
        result = services.dispatch(ctx, api_call.service, api_call.operation, api_call.params)
    except AwsError as exc:
        app.trail.failed(ctx.request_id, exc)
        raise
    app.trail.answered(ctx.request_id, result)
    return result


def validate_policy(app: OstiaryApp, who: Principal, params: dict[str, Any]) -> dict[str, Any]:
    """Access Analyzer's ValidatePolicy as `who`: `access-analyzer:ValidatePolicy` decided by the engine
    (as its endpoint decides it), then the findings of `ostiary policy validate`, in its output shape;
    recorded in the trail as the endpoint records it."""
    ctx = _context(app, who)
    app.trail.begin(
        ctx,
        ApiCall("access-analyzer", "ValidatePolicy", params),
        _request(who, "/policy/validation", _JSON, b""),
    )
    try:
        caller = ctx.caller
        if caller is not None and not caller.is_root:
            decision = enforce.authorize_call(ctx, _VALIDATE, "*")
            if decision.decision != "Allow":
                raise AccessDeniedException(decision.message(caller.arn, _VALIDATE, "*"))
        result = validation.validate_policy(params)
    except AwsError as exc:
        app.trail.failed(ctx.request_id, exc)
        raise
    app.trail.answered(ctx.request_id, result)
    return result


def _request(who: Principal, path: str, content_type: str, body: bytes) -> HttpRequest:
    """The request the trail is told of: the browser's address and agent (the body is never kept)."""
    return HttpRequest(
        method="POST",
        path=path,
        query_string="",
        headers=(("content-type", content_type), ("user-agent", who.user_agent)),
        body=body,
        client_ip=who.source_ip,
        is_secure=who.is_secure,
    )


def _context(app: OstiaryApp, who: Principal) -> services.Context:
    return services.Context(
        db=app.db,
        keyring=app.keyring,
        settings=app.settings,
        caller=session_caller(who.session),
        request_id=ids.request_id(),
        now=datetime.now(UTC),
        source_ip=who.source_ip,
        region=app.settings.region,
        is_secure=who.is_secure,
    )


async def call_async(
    app: OstiaryApp, who: Principal, service: str, operation: str, params: dict[str, Any]
) -> dict[str, Any]:
    """`call` off the event loop: a page may read much of an account, and argon2 is slow by design."""
    return await asyncio.to_thread(call, app, who, service, operation, params)
