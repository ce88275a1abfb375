"""The gateway's endpoint: a request signed for a service other than IAM and STS is authenticated with
Ostiary's credentials, authorized by the engine for every permission its operation needs, re-signed
with the backend's credentials and forwarded; the backend's answer goes back unchanged.

HTTP → sigv4.parse → authenticate → operations.identify → permissions_of → enforce → forward

`--enforce soft` logs each refusal and forwards the request all the same; `--enforce off` forwards what
authenticates without asking the engine (rollout modes; IAM and STS are always enforced).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from ostiary import blocking, ids
from ostiary.auth import sigv4
from ostiary.auth.authenticate import authenticate
from ostiary.auth.caller import Caller
from ostiary.blocking import WouldBlock
from ostiary.errors import AwsError, MissingAuthenticationToken
from ostiary.frozen import quick_init
from ostiary.gateway import backendarns, keypolicies, kmsaliases, listtokens, ownership, refusals
from ostiary.gateway.backend_async import AsyncBackend
from ostiary.gateway.backend_http import BackendError
from ostiary.gateway.backends import Backends
from ostiary.gateway.decide import Authorizer, Pending
from ostiary.gateway.forwarding import Answer, BackendUnavailable, Forwarder, Outgoing, answer_headers
from ostiary.gateway.lookups import BackendLookups
from ostiary.gateway.operations import Operation, UnknownOperation, identify, service_model
from ostiary.gateway.s3_requests import S3Requests
from ostiary.gateway.streaming import Bridge, ClientGone
from ostiary.protocol import HttpRequest
from ostiary.server import http_request, read_body
from ostiary.settings import Settings
from ostiary.store.db import Database
from ostiary.store.keyring import Keyring
from ostiary.trail import calls as trail

log = logging.getLogger("ostiary.gateway")

MAX_BODY_BYTES = 16 * 1024 * 1024  # DynamoDB's largest request (BatchWriteItem)
MAX_PRELOADED_BYTES = 64 * 1024  # an S3 body up to this is read on the event loop, before its thread runs
MAX_CONCURRENT_REQUESTS = 64  # forwarded at once by one process; more wait for a thread
_SCOPE_KEY = "ostiary.signed_service"  # an ASGI scope extension: namespaced, as the spec asks
# The service of a scope: `key/date/region/SERVICE/terminator` (SigV4), `key/date/SERVICE/terminator`
# (SigV4a, whose scope names no region).
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/(?:[^/,\s]+/)?([^/,\s]+)/[^/,\s&]+(?:$|[,\s&])")


def scope_service(scope: dict[str, Any]) -> str | None:
    """The service a request's SigV4 credential scope names (header or presigned query), if any; kept
    in the scope, as the trail, the gateway and its refusals each ask."""
    if _SCOPE_KEY in scope:
        known: str | None = scope[_SCOPE_KEY]
        return known
    service = None
    for name, value in scope.get("headers", ()):
        if name.lower() == b"authorization":
            found = _SCOPE.search(value.decode("latin-1"))
            service = found[1] if found else None
            break
    else:
        query = unquote(scope.get("query_string", b"").decode("latin-1"))
        found = _SCOPE.search(query.replace("X-Amz-Credential=", "Credential="))
        service = found[1] if found else None
    scope[_SCOPE_KEY] = service
    return service


def _named_service(request: HttpRequest) -> str:
    """The service a request's credential scope names, as `scope_service` reads it, '' when none: a
    signature that does not parse is refused in that service's protocol."""
    text = request.header("authorization") or unquote(request.query_string).replace(
        "X-Amz-Credential=", "Credential="
    )
    found = _SCOPE.search(text)
    return found[1] if found else ""


def is_unsigned_s3(scope: dict[str, Any]) -> bool:
    """Whether an unsigned request is S3's: anything but the query protocol's POST to `/` and
    `?Action=` calls (IAM's and STS's unsigned operations)."""
    query = scope.get("query_string", b"")
    if b"Action=" in query:
        return False
    return not (scope["method"] == "POST" and scope.get("path", "/") == "/")


class Gateway:
    """Authorizes and forwards the requests of services that have a backend."""

    def __init__(self, settings: Settings, db: Database, keyring: Keyring, backends: Backends) -> None:
        self.settings = settings
        self.db = db
        self.keyring = keyring
        self.backends = backends
        self.forwarder = Forwarder(
            backends.access_key_id, backends.secret_access_key, read_timeout_seconds=backends.timeout_seconds
        )
        self._backend = AsyncBackend(read_timeout=backends.timeout_seconds)
        # The gateway's own threads: a slow upload holds one, and never one the IAM endpoint needs.
        self._threads = ThreadPoolExecutor(MAX_CONCURRENT_REQUESTS, thread_name_prefix="ostiary-gateway")
        self.authorizer = Authorizer(
            settings, db, keyring, BackendLookups(self.forwarder, backends.url_for, backends.account_id)
        )
        for service in backends.services:  # their models read now, with the rest of start-up
            service_model(service)
        s3_backend = backends.url_for("s3")
        self._s3 = (
            None
            if s3_backend is None
            else S3Requests(
                settings,
                db,
                keyring,
                self.forwarder,
                self.authorizer,
                s3_backend,
                self._backend,
                self._threads,
            )
        )

    def takes(self, scope: dict[str, Any]) -> bool:
        """Whether a request is the gateway's: signed for a service that has a backend, or an unsigned
        S3 request (no IAM or STS call) when S3 has one.

        Requests for other services are left to the IAM endpoint, which refuses them in their protocol.
        """
        service = scope_service(scope)
        if service is None:
            return self._s3 is not None and is_unsigned_s3(scope)
        return self.backends.url_for(service) is not None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        loop = asyncio.get_running_loop()
        if self._s3 is not None and (scope_service(scope) or "s3") == "s3":
            bridge = Bridge(loop, receive, send)
            head = http_request(scope, b"")
            try:
                length = head.header("content-length") or "0"
                if length.isdigit() and int(length) <= MAX_PRELOADED_BYTES:
                    await bridge.preload(MAX_PRELOADED_BYTES)
                    body = bridge.preloaded_whole()
                    if body is not None and await self._s3.serve_on_loop(head, body, send):
                        return
                await loop.run_in_executor(self._threads, self._s3.serve, head, bridge)
                await bridge.send_held()
            except ClientGone:
                pass  # nothing to answer: the client left, or our answer broke off (the connection closes)
            return
        body, too_large = await read_body(receive, MAX_BODY_BYTES)
        request = http_request(scope, body)
        if too_large:
            answer = _refusal(
                scope_service(scope) or "", *refusals.REQUEST_TOO_LARGE, "the request body is too large"
            )
        else:
            answer = await self.answer(request)
        headers = [
            (k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers if k != "content-length"
        ]
        headers.append((b"content-length", str(len(answer.body)).encode()))
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})

    async def answer(self, request: HttpRequest) -> Answer:
        """Answer one request on the event loop when all it needs is known here (credentials, policies,
        owners and backend facts cached), else on a worker thread. Never raises."""
        loop = asyncio.get_running_loop()
        request_id = ids.request_id()
        service = ""
        try:
            with blocking.on_loop():
                signed = sigv4.parse(request)
                service = signed.service if signed is not None else ""
                prepared = self._prepare(request, signed, request_id)
        except WouldBlock:
            return await loop.run_in_executor(self._threads, self.handle, request)
        except Exception as exc:  # noqa: BLE001 - the gateway's outer guard (`_failure`)
            return _failure(service or _named_service(request), exc, request_id)
        if isinstance(prepared, Answer):
            return prepared
        return _settled(prepared, await self._exchange(prepared, service, request_id))

    async def _exchange(self, prepared: Prepared, service: str, request_id: str) -> Answer:
        """The backend's answer to a prepared request, as the client gets it (`_finish`). Never raises."""
        out = prepared.outgoing
        try:
            response = await self._backend.open(
                out.backend_url, out.method, out.target, out.headers, out.body
            )
            try:
                answer = Answer(response.status, answer_headers(response), await response.read())
            finally:
                response.release()
        except BackendError as exc:
            return _failure(service, BackendUnavailable(str(exc)), request_id)
        try:
            with blocking.on_loop():
                return self._finish(prepared, answer)
        except WouldBlock:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._threads, self._finished, prepared, answer, request_id)
        except Exception as exc:  # noqa: BLE001 - the gateway's outer guard (`_failure`)
            return _failure(service, exc, request_id)

    def handle(self, request: HttpRequest) -> Answer:
        """Answer one request on this thread: the backend's answer, or a refusal in the service's
        protocol. Never raises."""
        request_id = ids.request_id()
        service = ""
        try:
            signed = sigv4.parse(request)
            service = signed.service if signed is not None else ""
            prepared = self._prepare(request, signed, request_id)
        except Exception as exc:  # noqa: BLE001 - the gateway's outer guard (`_failure`)
            return _failure(service or _named_service(request), exc, request_id)
        if isinstance(prepared, Answer):
            return prepared
        try:
            answer = self._finish(prepared, self.forwarder.send(prepared.outgoing))
        except Exception as exc:  # noqa: BLE001 - the gateway's outer guard (`_failure`)
            answer = _failure(service, exc, request_id)
        return _settled(prepared, answer)

    def _prepare(
        self, request: HttpRequest, signed: sigv4.SignedRequest | None, request_id: str
    ) -> Prepared | Answer:
        """Authenticate, identify and authorize a request, and sign it for its backend; or the refusal."""
        if signed is None:
            raise MissingAuthenticationToken("Request is missing Authentication Token")
        service = signed.service
        backend = self.backends.url_for(service)
        if backend is None:
            message = f"no backend serves `{service}`: start ostiary serve with --backend {service}=URL"
            return _refusal(service, *refusals.SERVICE_UNAVAILABLE, message, request_id)
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
        pending, draft = trail.decided(
            self.authorizer, request, caller, operation, signed.region, request_id, now
        )
        try:
            self.authorizer.before_forward(operation, caller, signed.region)
            if listtokens.given_token(operation) is not None:  # the backend's own token, opened
                body = listtokens.json_body(self.keyring, caller.account_id, operation, request.body)
                request = dataclasses.replace(request, body=body)
            with_policy = keypolicies.with_default_policy(operation, caller.account_id, request.body)
            if with_policy is not None:  # a new key's default policy names its owner, not the backend
                request = dataclasses.replace(request, body=with_policy)
            aliased = self._aliased(operation, caller.account_id, signed.region, request.body)
            if aliased is not None:  # the caller's aliases as the backend knows them
                request = dataclasses.replace(request, body=aliased)
            lookups, region = self.authorizer.lookups, signed.region
            in_backend = backendarns.backend_body(
                operation, request.body, lambda: lookups.backend_account(service, region)
            )
            if in_backend is not None:  # its table and key ARNs in the backend's account
                request = dataclasses.replace(request, body=in_backend)
            outgoing = self.forwarder.outgoing(backend, request, service, signed.region)
        except WouldBlock:
            raise  # decided again on a thread, and recorded there
        except Exception as exc:
            if draft is not None:
                draft.settle(_error_of(service, exc))
            raise
        return Prepared(caller, operation, signed.region, pending, outgoing, draft)

    def _aliased(self, operation: Operation, account: str, region: str, body: bytes) -> bytes | None:
        """The request's body with the aliases it names as the backend knows them (`kmsaliases`)."""
        if operation.service == "kms":
            return kmsaliases.backend_body(operation, account, body)
        lookups = self.authorizer.lookups
        return kmsaliases.service_body(
            operation, account, region, body, lambda owner, alias: lookups.resolve_alias(region, owner, alias)
        )

    def _finish(self, prepared: Prepared, answer: Answer) -> Answer:
        """The answer the client gets, once the permissions that needed the backend's answer are allowed
        and what a success created or deleted is recorded."""
        if answer.status == 200:
            self.authorizer.after_answer(prepared.pending, prepared.region, lambda: answer.body)
        if answer.status >= 300 and prepared.operation.service == "kms":
            body = kmsaliases.client_error(ownership.plain(answer.body))
            if body is not None:  # names the caller's aliases, not the backend's
                answer = Answer(answer.status, ownership.headers_for(answer.headers, body), body)
        if 200 <= answer.status < 300:
            operation, caller = prepared.operation, prepared.caller
            body = self.authorizer.after_success(operation, caller, prepared.region, answer.body)
            if body is not None:
                answer = Answer(answer.status, ownership.headers_for(answer.headers, body), body)
        if backendarns.rewritten(prepared.operation, answer.status):
            answer = self._owners_arns(prepared, answer)
        return answer

    def _owners_arns(self, prepared: Prepared, answer: Answer) -> Answer:
        """A DynamoDB or KMS answer with its ARNs in their owners' accounts (`backendarns`)."""
        service, region = prepared.operation.service, prepared.region
        backend = self.authorizer.lookups.backend_account(service, region)
        if backend is None:
            return answer
        body = backendarns.client_body(
            service, ownership.plain(answer.body), backend, region, self.authorizer.owner_of
        )
        if body is None:
            return answer
        return Answer(answer.status, ownership.headers_for(answer.headers, body), body)

    def _finished(self, prepared: Prepared, answer: Answer, request_id: str) -> Answer:
        """`_finish` on a worker thread. Never raises."""
        try:
            return self._finish(prepared, answer)
        except Exception as exc:  # noqa: BLE001 - the gateway's outer guard (`_failure`)
            return _failure(prepared.operation.service, exc, request_id)


@quick_init
@dataclass(frozen=True)
class Prepared:
    """A request authorized and signed for its backend, and what its answer is decided with."""

    caller: Caller
    operation: Operation
    region: str
    pending: Pending
    outgoing: Outgoing
    draft: trail.Draft | None  # its record, settled with its answer


def _settled(prepared: Prepared, answer: Answer) -> Answer:
    """The answer, its request's record written down first with what it says (`trail.settle`)."""
    if prepared.draft is None:
        return answer
    if answer.status < 400:  # a success: nothing to read of it
        prepared.draft.settle(None)
        return answer
    kind = next((value for name, value in answer.headers if name == "content-type"), None)
    trail.settle(prepared.draft, answer.status, kind, answer.body)
    return answer


def _error_of(service: str, exc: Exception) -> tuple[str, str]:
    """What a request's record says of a failure (`_failure` answers it, and logs what is unexpected)."""
    if isinstance(exc, AwsError):
        return exc.code, exc.message
    if isinstance(exc, BackendUnavailable):
        return refusals.SERVICE_UNAVAILABLE[0], f"the backend of `{service}` did not answer"
    return (
        "InternalFailure",
        "The request processing has failed because of an unknown error, exception or failure.",
    )


def _failure(service: str, exc: Exception, request_id: str) -> Answer:
    """The refusal for a failure, in the service's protocol: its AWS error, 503 for a backend that did
    not answer, 500 (logged with its traceback) for anything else."""
    if isinstance(exc, AwsError):
        return _aws_refusal(service, exc, request_id)
    if isinstance(exc, BackendUnavailable):
        log.warning("backend of %s unavailable in request %s: %s", service, request_id, exc)
        message = f"the backend of `{service}` did not answer"
        return _refusal(service, *refusals.SERVICE_UNAVAILABLE, message, request_id)
    log.error("internal failure in gateway request %s", request_id, exc_info=exc)
    message = "The request processing has failed because of an unknown error, exception or failure."
    return _refusal(service, "InternalFailure", 500, message, request_id)


def _protocol(service: str) -> tuple[str, str]:
    """The service's protocol (`json`, `rest-json`, `query`, `ec2`, `rest-xml`) and JSON version."""
    model = service_model(service)
    if model is None:
        return "rest-xml", "1.0"
    return str(model.metadata.get("protocol", "rest-xml")), str(model.metadata.get("jsonVersion", "1.0"))


def _answer(refusal: tuple[int, bytes, str, tuple[tuple[str, str], ...]], request_id: str) -> Answer:
    status, body, content_type, extra = refusal
    return Answer(status, (("content-type", content_type), ("x-amzn-requestid", request_id), *extra), body)


def _refusal(service: str, code: str, status: int, message: str, request_id: str = "") -> Answer:
    """A refusal in the service's own protocol."""
    request_id = request_id or ids.request_id()
    protocol, version = _protocol(service)
    return _answer(refusals.protocol_error(protocol, code, status, message, request_id, version), request_id)


def _aws_refusal(service: str, error: AwsError, request_id: str) -> Answer:
    protocol, version = _protocol(service)
    return _answer(refusals.protocol_refusal(protocol, error, request_id, version), request_id)
