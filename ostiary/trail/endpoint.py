"""CloudTrail's endpoint on the shared port: LookupEvents, JSON 1.1, signed for `cloudtrail`.

A request signed for `cloudtrail` (or one naming CloudTrail's target) is served here, before the
gateway: the trail is Ostiary's own, never a backend's. It is authenticated as every call is, authorized
as `cloudtrail:LookupEvents` on `*` by the engine, recorded in the trail itself, and answers with the
events of the caller's account only. Errors are JSON 1.1's (`__type`, `message`).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ostiary import enforce, ids, services
from ostiary.auth import sigv4
from ostiary.auth.authenticate import authenticate
from ostiary.errors import AwsError, InternalFailure, MissingAuthenticationToken, RequestEntityTooLarge
from ostiary.gateway import endpoint as gateway_endpoint
from ostiary.gateway.refusals import CONTENT_TYPES, json_refusal
from ostiary.protocol import ApiCall, HttpRequest
from ostiary.server import http_request, read_body
from ostiary.trail import lookup

if TYPE_CHECKING:
    from ostiary.trail.calls import Trail

log = logging.getLogger("ostiary.trail")

SERVICE = "cloudtrail"
TARGET_PREFIX = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
ACTION = "cloudtrail:LookupEvents"
MAX_BODY_BYTES = 64 * 1024
_CONTENT_TYPE = CONTENT_TYPES["1.1"].encode()


def takes(scope: dict[str, Any]) -> bool:
    """Whether a request is CloudTrail's: signed for `cloudtrail`, or naming CloudTrail's target."""
    if gateway_endpoint.scope_service(scope) == SERVICE:
        return True
    for name, value in scope.get("headers", ()):
        if name.lower() == b"x-amz-target":
            return bool(value.decode("latin-1").startswith(TARGET_PREFIX))
    return False


async def serve(trail: Trail, scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer one CloudTrail request."""
    body, too_large = await read_body(receive, MAX_BODY_BYTES)
    request_id = ids.request_id()
    if too_large:
        status, payload = _refusal(RequestEntityTooLarge("Request body is too large."))
    else:
        status, payload = handle(trail, http_request(scope, body), request_id)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", _CONTENT_TYPE),
                (b"content-length", str(len(payload)).encode()),
                (b"x-amzn-requestid", request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def handle(trail: Trail, request: HttpRequest, request_id: str) -> tuple[int, bytes]:
    """(status, body) of one CloudTrail request. Never raises."""
    try:
        signed = sigv4.parse(request)
        if signed is None:
            raise MissingAuthenticationToken("Request is missing Authentication Token")
        now = datetime.now(UTC)
        caller = authenticate(
            request,
            signed,
            db=trail.db,
            keyring=trail.keyring,
            settings=trail.settings,
            now=now,
            services=frozenset({SERVICE}),
        )
        operation = _operation(request)
        params = _params(request)
        ctx = services.Context(
            db=trail.db,
            keyring=trail.keyring,
            settings=trail.settings,
            caller=caller,
            request_id=request_id,
            now=now,
            source_ip=request.client_ip,
            region=signed.region,
            is_secure=request.is_secure,
        )
        trail.begin(ctx, ApiCall(SERVICE, operation, params), request)
        try:
            if not caller.is_root:
                decision = enforce.authorize_call(ctx, ACTION, "*")
                if decision.decision != "Allow":
                    raise enforce.access_denied(caller, ACTION, "*", decision)
            if trail.recorder is not None:
                trail.recorder.flush()  # this process's calls so far are in the store
            answer = lookup.lookup_events(trail.db, caller.account_id, params)
        except AwsError as exc:
            trail.failed(request_id, exc)
            raise
        trail.answered(request_id, {})  # CloudTrail records no responseElements for LookupEvents
        return 200, json.dumps(answer, separators=(",", ":")).encode()
    except AwsError as exc:
        return _refusal(exc)
    except Exception:  # noqa: BLE001 - the outer guard, as app.py's: never a traceback on the wire
        log.exception("internal failure in CloudTrail request %s", request_id)
        return _refusal(
            InternalFailure(
                "The request processing has failed because of an unknown error, exception or failure."
            )
        )


class UnknownOperationException(AwsError):
    code, status, sender_fault = "UnknownOperationException", 400, True


class SerializationException(AwsError):
    code, status, sender_fault = "SerializationException", 400, True


def _operation(request: HttpRequest) -> str:
    target = request.header("x-amz-target") or ""
    if not target.startswith(TARGET_PREFIX) or target[len(TARGET_PREFIX) :] != "LookupEvents":
        raise UnknownOperationException(
            "Ostiary's CloudTrail endpoint serves LookupEvents only (the trail is read, never configured)"
        )
    return "LookupEvents"


def _params(request: HttpRequest) -> dict[str, Any]:
    try:
        params = json.loads(request.body or b"{}")
    except (ValueError, RecursionError) as exc:  # RecursionError: nested past the interpreter's depth
        raise SerializationException("The request body is not valid JSON.") from exc
    if not isinstance(params, dict):
        raise SerializationException("The request body must be a JSON object.")
    return params


def _refusal(error: AwsError) -> tuple[int, bytes]:
    status, body, _ = json_refusal(error, "1.1")
    return status, body
