"""S3's requests, streamed: authenticated from the head, identified, authorized, and forwarded with the
body checked as it flows (its declared SHA-256 or its chunk signatures); the backend's answer flows back.

A body that does not verify never becomes whole in the backend: the last verified piece is held back
until the body's end has been checked, and a failed check drops the backend connection before it.
Bodies up to `MAX_BUFFERED_BYTES`, and XML documents the operation is read from (DeleteObjects,
PutBucketPolicy...), are read whole and checked before anything is sent (`s3_bodies`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ostiary import blocking, ids
from ostiary.auth import payload, sigv4
from ostiary.auth.authenticate import authenticate_with_key
from ostiary.auth.caller import Caller
from ostiary.blocking import WouldBlock
from ostiary.errors import AccessDenied
from ostiary.frozen import quick_init
from ostiary.gateway import (
    kmsaliases,
    listtokens,
    multidelete,
    multipart,
    objectownership,
    ownership,
    publicaccess,
    s3,
    s3_answers,
    s3_bodies,
    s3_store_answers,
)
from ostiary.gateway.backend_async import AsyncBackend, AsyncResponse
from ostiary.gateway.backend_http import BackendError, BackendResponse
from ostiary.gateway.decide import Authorizer, Pending
from ostiary.gateway.forwarding import Answer, BackendUnavailable, Forwarder, answer_headers, backend_target
from ostiary.gateway.mapping import Facts
from ostiary.gateway.operations import Operation, UnknownOperation, identify, needs_body
from ostiary.gateway.s3_answers import (
    ANSWER_PIECE_BYTES,
    answered,
    failed,
    on_loop_or_thread,
    refusal_answer,
    send_whole,
    settle,
    stream_answer,
)
from ostiary.gateway.streaming import Bridge, ClientGone
from ostiary.protocol import HttpRequest
from ostiary.settings import Settings
from ostiary.store import resources
from ostiary.store.db import Database
from ostiary.store.keyring import Keyring
from ostiary.trail import calls as trail

log = logging.getLogger("ostiary.gateway")

SERVICE = "s3"
MAX_BUFFERED_BYTES = 1024 * 1024  # bodies up to this are checked whole before they are sent
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024  # an XML document an operation is read from (DeleteObjects: 1,000 keys)


class S3Requests:
    """Serves S3 requests: on the event loop when the body is small and the decision's facts are cached,
    else over a worker thread each."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        keyring: Keyring,
        forwarder: Forwarder,
        authorizer: Authorizer,
        backend: str,
        backend_async: AsyncBackend,
        threads: Executor,
    ) -> None:
        self.backend_async = backend_async
        self.threads = threads
        self.settings = settings
        self.db = db
        self.keyring = keyring
        self.forwarder = forwarder
        self.authorizer = authorizer
        self.backend = backend

    def serve(self, head: HttpRequest, bridge: Bridge) -> None:
        """Answer one request (its body still unread in `bridge`). Never raises but ClientGone."""
        request_id = ids.request_id()
        try:
            self._serve(head, bridge, request_id)
        except ClientGone:
            raise
        except Exception as exc:  # noqa: BLE001 - the outer guard (`s3_answers.failure`): never a traceback on the wire
            refusal = s3_answers.failure(head, exc, request_id)
            if bridge.started:  # the answer is under way: nothing left to say but to stop
                log.warning("s3 request %s failed after its answer began (%d)", request_id, refusal[0])
                raise ClientGone(str(refusal[0])) from exc
            bridge.whole(refusal_answer(refusal, request_id))

    async def serve_on_loop(self, head: HttpRequest, body: bytes, send: Any) -> bool:
        """Answer a request whose body is all in memory without leaving the event loop, when what its
        decision needs is cached; False (nothing sent) when it must run on a thread after all."""
        request_id = ids.request_id()
        try:
            with blocking.on_loop():
                prepared = self._prepare(head, iter((body,)), request_id)
        except WouldBlock:
            return False
        except Exception as exc:  # noqa: BLE001 - the outer guard (`s3_answers.failure`)
            await send_whole(send, refusal_answer(s3_answers.failure(head, exc, request_id), request_id))
            return True
        if isinstance(prepared, Answer):
            await send_whole(send, prepared)
            return True
        draft = prepared.draft
        started = False
        try:
            response = await self.backend_async.open(
                self.backend, head.method, prepared.target, prepared.signed_headers, prepared.body or b""
            )
            try:
                await on_loop_or_thread(self.threads, self._decide_answer, prepared, response)
                if 200 <= response.status < 300 and self._reads_answer(prepared):
                    data = await response.read(MAX_DOCUMENT_BYTES)
                    answer = await on_loop_or_thread(
                        self.threads, self._answer_whole, prepared, response, data
                    )
                    settle(draft, answered(answer))
                    await send_whole(send, answer)
                    return True
                if 200 <= response.status < 300:
                    await on_loop_or_thread(self.threads, self._succeeded, prepared)
                length = response.header("content-length")
                small = length is not None and length.isdigit() and int(length) <= ANSWER_PIECE_BYTES
                if head.method != "HEAD" and small:
                    answer = Answer(response.status, answer_headers(response), await response.read())
                    settle(draft, answered(answer))
                    await send_whole(send, answer)
                    return True
                settle(draft, answered(Answer(response.status, answer_headers(response), b"")))
                await s3_answers.start(send, response.status, answer_headers(response))
                started = True
                async for piece in response.pieces(ANSWER_PIECE_BYTES):
                    await send({"type": "http.response.body", "body": piece, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            finally:
                response.release()
        except BackendError as exc:
            failure: Exception = BackendUnavailable(str(exc))
        except Exception as exc:  # noqa: BLE001 - the outer guard (`s3_answers.failure`)
            failure = exc
        else:
            return True
        refusal = s3_answers.failure(head, failure, request_id)
        settle(draft, answered(refusal_answer(refusal, request_id), failure))  # (no-op once under way)
        if started:  # the answer is under way: nothing left to say but to stop
            log.warning("s3 request %s failed after its answer began (%d)", request_id, refusal[0])
            raise ClientGone(str(refusal[0])) from failure
        await send_whole(send, refusal_answer(refusal, request_id))
        return True

    def _prepare(self, head: HttpRequest, pieces: Iterator[bytes], request_id: str) -> _Prepared | Answer:
        """Authenticate, identify and authorize a request; its body read whole when it is small or the
        operation is read from it (`pieces`: the body as it arrives). The gateway's own answer (a bucket
        policy call) instead when it has one."""
        now = datetime.now(UTC)
        if _is_signature_v2(head):
            raise sigv4.InvalidRequest(
                "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."
            )
        signed = sigv4.parse(head)
        caller: Caller | None = None
        key: bytes | None = None
        if signed is not None:
            caller, key = authenticate_with_key(
                head,
                signed,
                db=self.db,
                keyring=self.keyring,
                settings=self.settings,
                now=now,
                services=frozenset({SERVICE}),
            )
        region = signed.region if signed is not None else self.settings.region
        reader = payload.payload_reader(head, signed, key)
        service = _service_of(head)
        operation = identify(service, head)
        if isinstance(operation, UnknownOperation):
            raise s3_answers.unknown(operation)
        body: bytes | None = None
        length = reader.decoded_length
        if length is None and head.header("transfer-encoding") is not None:  # a body of unsaid length
            raise payload.MissingContentLength("You must provide the Content-Length HTTP header.")
        reads_body = needs_body(operation)
        if reads_body or length is None or length <= MAX_BUFFERED_BYTES:
            body = s3_bodies.whole(pieces, reader, MAX_DOCUMENT_BYTES if reads_body else MAX_BUFFERED_BYTES)
            if reads_body:
                operation = identify(service, dataclasses.replace(head, body=body))
                if isinstance(operation, UnknownOperation):
                    raise s3_answers.unknown(operation)
        pending, draft = trail.decided(self.authorizer, head, caller, operation, region, request_id, now)
        try:
            prepared = self._decided(head, caller, operation, region, pending, draft, body, reader, now)
        except WouldBlock:
            raise  # decided again on a thread, and recorded there
        except Exception as exc:
            settle(draft, failed(exc))
            raise
        if isinstance(prepared, Answer):
            settle(draft, answered(prepared))
        return prepared

    def _decided(
        self,
        head: HttpRequest,
        caller: Caller | None,
        operation: Operation,
        region: str,
        pending: Pending,
        draft: trail.Draft | None,
        body: bytes | None,
        reader: payload.PayloadReader,
        now: datetime,
    ) -> _Prepared | Answer:
        """What follows an allowed decision: the refusals S3 makes of itself, the gateway's own answers,
        else the request signed for the backend."""
        self.authorizer.before_forward(operation, caller, region, body)
        if operation.service == "s3control":
            return s3_store_answers.account_settings(self.db, operation, caller, body, now)
        self._block_public_access(operation, caller, region, body)
        self._object_ownership(operation, region)
        lookups = self.authorizer.lookups
        multipart.refuse_another_keys_upload(
            operation, lambda bucket, key, upload_id: lookups.upload_is_of(region, bucket, key, upload_id)
        )
        here = self.authorizer.answer_here(operation, caller, region, body, now)
        if here is not None:
            return here
        if operation.name == "GetBucketPolicyStatus":
            return s3_store_answers.policy_status(self.db, self.authorizer.lookups, operation, region)
        everything = multidelete.answer_refused(  # a DeleteObjects whose every object is refused
            operation, pending.refused, lambda bucket: self.authorizer.lookups.bucket_exists(region, bucket)
        )
        if everything is not None:
            return everything
        headers = reader.forward_headers(head.headers)
        if caller is not None:  # an SSE-KMS key named by the caller's alias: its key (`kmsaliases`)
            lookups = self.authorizer.lookups
            headers = kmsaliases.service_headers(
                headers,
                caller.account_id,
                region,
                lambda owner, alias: lookups.resolve_alias(region, owner, alias),
            )
            bucket, named = operation.params.get("Bucket"), operation.params.get("ServerSideEncryption")
            if operation.name in s3.WRITES_OBJECT and isinstance(bucket, str) and not named:
                headers += kmsaliases.default_key_headers(  # the bucket's default key
                    operation,
                    lookups.bucket_encryption(region, bucket),
                    caller.account_id,
                    region,
                    lambda owner, alias: lookups.resolve_alias(region, owner, alias),
                )
        if body is not None and operation.name == "PutBucketEncryption":  # its key named by an alias
            account = caller.account_id if caller is not None else self.settings.account_id
            rewritten = kmsaliases.bucket_encryption_body(operation, account, region, body)
            if rewritten is not None:
                body, headers = rewritten, kmsaliases.digests_of(headers, rewritten)
        if body is not None and pending.refused:  # the objects the caller may delete, alone
            body, headers = multidelete.forwarded(operation, pending.refused, headers)
        if operation.name == "CreateBucket" and not operation.params.get("ObjectOwnership"):
            headers.append((objectownership.HEADER, objectownership.ENFORCED))  # S3's default since 2023
        if body is not None:
            headers = [(k, v) for k, v in headers if k != "content-length"]
            headers.append(("content-length", str(len(body))))
        target = self.forwarder.backend_path(backend_target(head, operation), SERVICE)
        account = caller.account_id if caller is not None else self.settings.account_id
        target = listtokens.s3_target(self.keyring, account, operation, target)
        signed_headers = self.forwarder.signed_for_stream(self.backend, head.method, target, headers, region)
        return _Prepared(caller, operation, region, pending, target, signed_headers, body, reader, draft)

    def _serve(self, head: HttpRequest, bridge: Bridge, request_id: str) -> None:
        prepared = self._prepare(head, bridge.body(), request_id)
        if isinstance(prepared, Answer):
            bridge.whole(prepared)
            return
        try:
            self._exchange(head, bridge, prepared)
        except ClientGone:
            settle(prepared.draft, None)  # the client left: what the backend was asked is recorded
            raise
        except Exception as exc:
            settle(prepared.draft, failed(exc))
            raise

    def _exchange(self, head: HttpRequest, bridge: Bridge, prepared: _Prepared) -> None:
        """Forward a prepared request and stream the answer back, its record settled before it starts."""
        body = prepared.body
        sent: bytes | Iterable[bytes] = (
            body if body is not None else s3_bodies.verified(bridge.body(), prepared.reader)
        )
        response = self.forwarder.send_signed(
            self.backend, head.method, prepared.target, prepared.signed_headers, sent
        )
        try:
            self._decide_answer(prepared, response)
            if not 200 <= response.status < 300:
                stream_answer(response, bridge, head.method, prepared.draft)
            elif self._reads_answer(prepared):
                answer = self._answer_whole(prepared, response, response.read(MAX_DOCUMENT_BYTES))
                settle(prepared.draft, answered(answer))
                bridge.whole(answer)
            else:
                self._succeeded(prepared)
                stream_answer(response, bridge, head.method, prepared.draft)
        finally:
            response.release()

    def _answer_whole(
        self, prepared: _Prepared, response: BackendResponse | AsyncResponse, data: bytes
    ) -> Answer:
        """A successful answer read whole: cut to what the caller may see (lists), its creations kept."""
        replaced = self.authorizer.after_success(prepared.operation, prepared.caller, prepared.region, data)
        self._after_success(prepared, dict(response.headers), data)
        returned = answer_headers(response)
        if replaced is None and prepared.operation.name == "GetBucketEncryption":
            shown = kmsaliases.client_text(data.decode("utf-8", "replace")).encode("utf-8")
            replaced = shown if shown != data else None  # a key named by an alias, as its owner named it
        if prepared.pending.refused:  # a DeleteObjects' refused objects, as S3 answers them
            replaced = multidelete.merged(prepared.operation, prepared.pending.refused, data)
        if replaced is not None:
            data, returned = replaced, ownership.headers_for(returned, replaced)
        return Answer(response.status, returned, data)

    def _succeeded(self, prepared: _Prepared) -> None:
        """What a success created or deleted, kept."""
        self.authorizer.after_success(prepared.operation, prepared.caller, prepared.region, None)
        self._after_success(prepared, {}, None)

    def _reads_answer(self, prepared: _Prepared) -> bool:
        """Whether a success's body is read whole before it is sent (lists, multipart uploads' answers, a
        DeleteObjects' with refused objects)."""
        operation = prepared.operation
        return (
            self.authorizer.needs_answer(operation)
            or multipart.reads_answer(operation)
            or operation.name == "GetBucketEncryption"
            or bool(prepared.pending.refused)
        )

    def _block_public_access(
        self, operation: Operation, caller: Caller | None, region: str, body: bytes | None
    ) -> None:
        """AccessDenied for what the bucket's Block Public Access settings refuse (`publicaccess`): a
        public bucket policy under BlockPublicPolicy, a public ACL under BlockPublicAcls."""
        bucket = operation.params.get("Bucket")
        if not isinstance(bucket, str) or caller is None:
            return
        if operation.name == "PutBucketPolicy":
            text = operation.params.get("Policy")
            text = text if isinstance(text, str) else (body or b"").decode("utf-8", "replace")
            if publicaccess.is_public_text(text) and self._settings(region, bucket).block_public_policy:
                raise publicaccess.refuse_public_policy(caller.arn, bucket)
        elif publicaccess.writes_public_acl(operation):
            if self._settings(region, bucket).block_public_acls:
                raise AccessDenied("Access Denied")

    def _object_ownership(self, operation: Operation, region: str) -> None:
        """S3's refusals of an ACL where ACLs are disabled (`objectownership`): asked of the backend only
        for a write that sets an ACL other than the owner's full control."""
        bucket = operation.params.get("Bucket")
        if not isinstance(bucket, str):
            return
        lookups = self.authorizer.lookups
        if operation.name == "CreateBucket":
            objectownership.check_create(operation)
        elif operation.name == "PutBucketOwnershipControls":
            if objectownership.requested(operation) == objectownership.ENFORCED:
                objectownership.check_enforcing(operation, lookups.bucket_acl(region, bucket))
        elif objectownership.sets_acl(operation):
            objectownership.check_write(lookups.object_ownership(region, bucket))

    def _settings(self, region: str, bucket: str) -> publicaccess.PublicAccessBlock:
        """The Block Public Access settings that hold for a bucket: its own with its owner account's."""
        found = resources.recent_find(self.db, "s3", resources.GLOBAL_REGION, bucket)
        owner = found[0] if found is not None else self.settings.account_id
        return publicaccess.effective(self.authorizer.lookups, self.db, region, bucket, owner)

    def _after_success(self, prepared: _Prepared, headers: dict[str, str], body: bytes | None) -> None:
        """What a success changed of the bucket's Block Public Access settings (a new bucket's are all
        on, as S3 makes them) and Object Ownership, and of multipart uploads (`multipart`)."""
        operation = prepared.operation
        if operation.name in publicaccess.CHANGES and isinstance(operation.params.get("Bucket"), str):
            bucket = operation.params["Bucket"]
            if operation.name == "CreateBucket":
                self.authorizer.lookups.block_public_access(prepared.region, bucket)
            self.authorizer.lookups.forget_public_access_block(bucket)
        if operation.name in objectownership.CHANGES and isinstance(operation.params.get("Bucket"), str):
            self.authorizer.lookups.forget_object_ownership(operation.params["Bucket"])
        if operation.name in _ENCRYPTION_CHANGES and isinstance(operation.params.get("Bucket"), str):
            self.authorizer.lookups.forget_bucket_encryption(prepared.region, operation.params["Bucket"])
        if not multipart.keeps(operation):
            return
        caller = prepared.caller
        account = caller.account_id if caller is not None else self.settings.account_id
        facts = self.authorizer.facts(account, prepared.region, with_key_schema=False)
        multipart.after_success(self.db, prepared.operation, headers, body, facts, datetime.now(UTC))

    def _decide_answer(self, prepared: _Prepared, response: BackendResponse | AsyncResponse) -> None:
        """Decide what only the answer's headers name (the KMS key of an SSE-KMS object read), before
        any of its body is sent; AccessDenied drops the answer. KMS serves no anonymous caller: an
        unsigned read of an SSE-KMS object is refused."""
        caller, operation, region, pending = (
            prepared.caller,
            prepared.operation,
            prepared.region,
            prepared.pending,
        )
        if caller is None:
            if s3.answer_permissions(operation, response.status, dict(response.headers), Facts("", region)):
                raise AccessDenied("Access Denied")
            return
        if pending.ctx is None:
            return
        facts = self.authorizer.facts(caller.account_id, region, with_key_schema=False)
        for permission in s3.answer_permissions(operation, response.status, dict(response.headers), facts):
            self.authorizer.decide(pending.ctx, permission, region)


_ENCRYPTION_CHANGES = frozenset({"PutBucketEncryption", "DeleteBucketEncryption", "DeleteBucket"})


def _service_of(head: HttpRequest) -> str:
    """`s3control` for S3 Control's account calls (signed for S3 too), else `s3`."""
    if not head.path.startswith(publicaccess.CONTROL_PREFIX):  # most requests: no header read
        return SERVICE
    return (
        "s3control" if publicaccess.is_account_call(head.path, head.header("x-amz-account-id")) else SERVICE
    )


def _is_signature_v2(head: HttpRequest) -> bool:
    """Signed with AWS's version 2 (`Authorization: AWS ...`, or `AWSAccessKeyId` and `Signature` in the
    query), which S3 refuses for every bucket created since June 2020."""
    authorization = head.header("authorization") or ""
    query = head.query_string
    return authorization.startswith("AWS ") or ("AWSAccessKeyId=" in query and "Signature=" in query)


@quick_init
@dataclass(frozen=True)
class _Prepared:
    """A request authorized and signed for the backend, and what its answer is decided with."""

    caller: Caller | None
    operation: Operation
    region: str
    pending: Pending
    target: str
    signed_headers: list[tuple[str, str]]
    body: bytes | None  # None: streamed as it arrives, checked by `reader`
    reader: payload.PayloadReader
    draft: trail.Draft | None  # its record, settled before its answer starts
