"""S3 requests' answers: a failure as S3's XML error and as the request's record says it, the
backend's answer streamed to the client (whole when small), and the event loop's own sending.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any, TypeVar

from ostiary import blocking
from ostiary.blocking import WouldBlock
from ostiary.errors import AwsError
from ostiary.gateway import ownership, refusals
from ostiary.gateway.backend_http import BackendResponse
from ostiary.gateway.forwarding import Answer, BackendUnavailable, answer_headers
from ostiary.gateway.multidelete import MALFORMED_XML, MalformedXML
from ostiary.gateway.operations import UnknownOperation
from ostiary.gateway.streaming import Bridge
from ostiary.protocol import HttpRequest
from ostiary.trail import calls as trail

log = logging.getLogger("ostiary.gateway")

ANSWER_PIECE_BYTES = 256 * 1024

_T = TypeVar("_T")


def stream_answer(response: BackendResponse, bridge: Bridge, method: str, draft: trail.Draft | None) -> None:
    """The backend's answer to the client, whole when small; the request's record settled first."""
    length = response.header("content-length")
    if method != "HEAD" and length is not None and length.isdigit() and int(length) <= ANSWER_PIECE_BYTES:
        answer = Answer(response.status, answer_headers(response), response.read())
        settle(draft, answered(answer))
        bridge.whole(answer)
        return
    settle(draft, answered(Answer(response.status, answer_headers(response), b"")))
    bridge.start(response.status, answer_headers(response))
    for piece in response.stream(ANSWER_PIECE_BYTES):
        if piece:
            bridge.piece(piece)
    bridge.piece(b"", more=False)


def unknown(operation: UnknownOperation) -> AwsError:
    if operation.operation is None:
        return ownership.MethodNotAllowed(
            f"The specified method is not allowed against this resource: {operation.reason}."
        )
    return MalformedXML(MALFORMED_XML)


def failure(head: HttpRequest, exc: Exception, request_id: str) -> tuple[int, bytes, str]:
    """S3's error for a failure: its AWS error, 503 ServiceUnavailable for a backend that did not
    answer, 500 InternalError (logged with its traceback) for anything else."""
    if isinstance(exc, AwsError):
        has_token = head.header("x-amz-security-token") is not None or "X-Amz-Security-Token=" in (
            head.query_string
        )
        return refusals.xml_refusal(exc, request_id, has_session_token=has_token)
    if isinstance(exc, BackendUnavailable):
        log.warning("backend of s3 unavailable in request %s: %s", request_id, exc)
        return refusals.xml_error("ServiceUnavailable", 503, "Please reduce your request rate.", request_id)
    log.error("internal failure in gateway request %s", request_id, exc_info=exc)
    message = "We encountered an internal error. Please try again."
    return refusals.xml_error("InternalError", 500, message, request_id)


def answered(answer: Answer, error: Exception | None = None) -> tuple[str, str] | None:
    """What a request's record says of its answer: an AWS error's own code and message when one was
    raised, else the error the answer's body names (None: a success)."""
    if isinstance(error, AwsError):
        return error.code, error.message
    if answer.status < 400:
        return None
    kind = next((value for name, value in answer.headers if name == "content-type"), None)
    return trail.answered_error(answer.status, kind, answer.body)


def failed(exc: Exception) -> tuple[str, str]:
    """What a request's record says of a failure (`failure` answers it, and logs what is unexpected)."""
    if isinstance(exc, AwsError):
        return exc.code, exc.message
    if isinstance(exc, BackendUnavailable):
        return "ServiceUnavailable", "Please reduce your request rate."
    return "InternalError", "We encountered an internal error. Please try again."


def settle(draft: trail.Draft | None, error: tuple[str, str] | None) -> None:
    if draft is not None:
        draft.settle(error)


def refusal_answer(refusal: tuple[int, bytes, str], request_id: str) -> Answer:
    status, body, content_type = refusal
    return Answer(status, (("content-type", content_type), ("x-amz-request-id", request_id)), body)


async def on_loop_or_thread(threads: Executor, work: Callable[..., _T], *args: Any) -> _T:
    """`work(*args)` on the event loop, or on a worker thread when it would wait for I/O there."""
    try:
        with blocking.on_loop():
            return work(*args)
    except WouldBlock:
        return await asyncio.get_running_loop().run_in_executor(threads, work, *args)


async def start(send: Any, status: int, headers: Sequence[tuple[str, str]]) -> None:
    encoded = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    await send({"type": "http.response.start", "status": status, "headers": encoded})


async def send_whole(send: Any, answer: Answer) -> None:
    """A whole answer, its content-length its body's."""
    headers = [(k, v) for k, v in answer.headers if k != "content-length"]
    headers.append(("content-length", str(len(answer.body))))
    await start(send, answer.status, headers)
    await send({"type": "http.response.body", "body": answer.body})
