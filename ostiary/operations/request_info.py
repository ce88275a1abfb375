"""The request under way, as the stages that know it name it: its service, operation and request id.

One `RequestInfo` per HTTP request, made where the request enters the app (`begin`) and filled in by
the stages that have checked what the request is (`note`): its metrics labels and the request id of
its log lines. A request handled in a worker thread shares the object (the thread copies the context,
which holds the same object). Only names from a service's model are noted, never raw client input.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

UNKNOWN = "unknown"


@dataclass
class RequestInfo:
    service: str = UNKNOWN
    operation: str = UNKNOWN
    request_id: str = ""


_current: ContextVar[RequestInfo | None] = ContextVar("ostiary_request", default=None)


def begin() -> RequestInfo:
    """A new request enters, in its own task: what its stages note goes to it only."""
    info = RequestInfo()
    _current.set(info)
    return info


def current() -> RequestInfo | None:
    return _current.get()


def note(service: str | None = None, operation: str | None = None, request_id: str | None = None) -> None:
    """Name the request under way (each part given): call only with names checked against a model."""
    info = _current.get()
    if info is None:
        return
    if service is not None:
        info.service = service
    if operation is not None:
        info.operation = operation
    if request_id is not None:
        info.request_id = request_id
