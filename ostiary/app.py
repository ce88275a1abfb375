"""The AWS endpoint as a plain ASGI callable: the request flow, in order.

HTTP → sigv4.parse → authenticate → query.parse → enforce.check → services.dispatch → xml.serialize
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from ostiary import console, enforce, ids, services
from ostiary.access_analyzer import endpoint as analyzer_endpoint
from ostiary.access_analyzer import solver_threads
from ostiary.auth import sigv4
from ostiary.auth.authenticate import authenticate
from ostiary.errors import AwsError, InternalFailure, MissingAuthenticationToken, RequestEntityTooLarge
from ostiary.federation import discovery
from ostiary.gateway import backends, endpoint
from ostiary.operations import health, logs, metrics, notify, request_info
from ostiary.protocol import ApiCall, HttpRequest, models, query, unserved, xml
from ostiary.server import answer_lifespan, http_request, read_body
from ostiary.settings import Settings
from ostiary.store.db import Database
from ostiary.store.keyring import Keyring
from ostiary.trail import calls as trail

log = logging.getLogger("ostiary")

MAX_BODY_BYTES = 1024 * 1024
_XML = b"text/xml"
_UNSIGNED_OPERATIONS = frozenset({"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"})


def app_from_environment() -> OstiaryApp:
    """The app of a worker process, from the OSTIARY_* variables its parent set (`serve --workers`)."""
    from ostiary.bootstrap import open_store

    settings = Settings.from_env()
    logs.configure(settings.log_format)  # a worker is a process of its own: the parent's setup is not here
    db, keyring = open_store(settings)
    return OstiaryApp(settings, db, keyring)


class OstiaryApp:
    """The IAM and STS endpoint on one port, over one store."""

    def __init__(self, settings: Settings, db: Database, keyring: Keyring) -> None:
        self.settings = settings
        self.db = db
        self.keyring = keyring
        # off the event loop: the slow by design, and those that read a page of an account or count it
        self._blocking = services.blocking_operations() | _account_wide_operations()
        self.gateway = endpoint.Gateway(settings, db, keyring, backends.from_environment())
        self.trail = trail.start(settings, db, keyring)
        self.solver = solver_threads.SolverThreads()  # Access Analyzer's exact checks: threads of their own
        self.listener = notify.start(db.url, metrics.heard)  # PostgreSQL: other nodes' changes drop caches
        metrics.read_from(db, self.listener)
        for service in ("iam", "sts"):  # compile the models now, not in the first requests
            models.service(service)

    def handle(self, request: HttpRequest, solver_busy: bool = False) -> tuple[int, bytes, bytes]:
        """Answer one request: (HTTP status, body, content type). Never raises. `solver_busy`: an exact
        check found no place on the solver's threads (ThrottlingException once authorized)."""
        request_id = ids.request_id()
        request_info.note(request_id=request_id)  # its log lines and metrics
        service = "iam"
        try:
            now = datetime.now(UTC)
            signed = sigv4.parse(request)
            if analyzer_endpoint.takes(signed):  # Access Analyzer (REST-JSON): its own module answers
                return analyzer_endpoint.handle(self, request, signed, request_id, solver_busy)
            other = unserved.requested_service(request, signed)
            if other is not None:  # DynamoDB, S3...: said in the client's own protocol
                refusal = unserved.refusal(other)
                body, content_type = unserved.serialize(other, refusal, request, request_id)
                return refusal.status, body, content_type.encode()
            service = query.service_of(request, signed)
            if signed is None:  # only the operation can tell whether that is allowed
                call = query.parse(service, request)
                caller = _anonymous(call)
            else:  # a bad signature is refused before any parameter is read
                caller = authenticate(
                    request, signed, db=self.db, keyring=self.keyring, settings=self.settings, now=now
                )
                call = query.parse(service, request)
            ctx = services.Context(
                db=self.db,
                keyring=self.keyring,
                settings=self.settings,
                caller=caller,
                request_id=request_id,
                now=now,
                source_ip=request.client_ip,
                region=signed.region if signed else None,
                is_secure=request.is_secure,
            )
            request_info.note(call.service, call.operation)
            self.trail.begin(ctx, call, request)
            enforce.check(ctx, call.service, call.operation, call.params)
            result = services.dispatch(ctx, call.service, call.operation, call.params)
            self.trail.answered(request_id, result)
            return 200, xml.serialize_result(call.service, call.operation, result, request_id), _XML
        except AwsError as exc:
            self.trail.failed(request_id, exc)
            return exc.status, xml.serialize_error(service, exc, request_id), _XML
        except Exception:
            log.exception("internal failure in request %s", request_id)
            failure = InternalFailure(
                "The request processing has failed because of an unknown error, exception or failure."
            )
            self.trail.failed(request_id, failure)
            return 500, xml.serialize_error(service, failure, request_id), _XML

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        send = metrics.watch(send)
        if self.listener is not None:  # a change another node committed before this request is seen
            seen = self.listener.arriving()
            if seen is not None:  # one is arriving: waited for off the event loop
                await asyncio.to_thread(self.listener.settle, seen)
            send = self.listener.hold_answers(send)  # and this node's changes reach the others first
        if metrics.takes(scope):
            return await metrics.answer(send)
        if discovery.takes(scope):  # an outbound issuer's OIDC documents: public GETs, never S3's
            return await discovery.serve(self.db, self.settings, scope, send)
        if console.takes(scope):  # the web console: pages as the signed-in person, never S3's
            return await console.serve(self, scope, receive, send)
        if health.takes(scope):  # probes, before the gateway: S3 would take an unsigned GET
            return await health.answer(self.db, scope, send)
        if self.trail.takes(scope):  # CloudTrail's LookupEvents: the trail is read here, never forwarded
            await self.trail.serve(scope, receive, send)
            return
        if self.gateway.takes(scope):  # signed for another service: authorized here, served by a backend
            await self.gateway(scope, receive, send)
            return
        body, too_large = await read_body(receive, MAX_BODY_BYTES)
        request = http_request(scope, body)
        if too_large:
            refusal = RequestEntityTooLarge("Request body is too large.")
            status, payload, content_type = (
                refusal.status,
                xml.serialize_error("iam", refusal, ids.request_id()),
                _XML,
            )
        elif analyzer_endpoint.is_signed_for(scope) and solver_threads.is_check(request.method, request.path):
            status, payload, content_type = await self._check(request)
        elif analyzer_endpoint.is_signed_for(scope) or query.action_name(request) in self._blocking:
            # may be slow (Access Analyzer's solver, policy generation, findings): off the event loop
            status, payload, content_type = await asyncio.to_thread(self.handle, request)
        else:
            status, payload, content_type = self.handle(request)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(payload)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def _check(self, request: HttpRequest) -> tuple[int, bytes, bytes]:
        """An exact check, on the solver's threads when one of their places is free; its place is given
        back when the check ends (even after its client has gone)."""
        if not self.solver.admit():
            return await asyncio.to_thread(self.handle, request, True)
        try:
            running = self.solver.executor.submit(self.handle, request)
        except RuntimeError:  # the executor is shut down: the server is stopping
            self.solver.release()
            raise
        running.add_done_callback(lambda _: self.solver.release())
        return await asyncio.wrap_future(running)


def _account_wide_operations() -> frozenset[str]:
    """IAM's operations that read a page (those that take a Marker) or count the account: their time
    grows with the account, so served on the event loop one would hold up every other client."""
    model = models.service("iam").model
    paged = {
        name
        for name in model.operation_names
        if "Marker" in getattr(model.operation_model(name).input_shape, "members", {})
    }
    return frozenset(paged | {"GetAccountSummary"})


def _anonymous(call: ApiCall) -> None:
    """No caller: allowed for the operations AWS takes unsigned, refused for every other."""
    if call.operation not in _UNSIGNED_OPERATIONS:
        raise MissingAuthenticationToken("Request is missing Authentication Token")
