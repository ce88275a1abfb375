"""The server's log: text lines, or JSON lines (`--log-format json`) that carry the request id.

In both formats every line written during a request names its request id (the one the client got in
`x-amzn-RequestId`), and what could be a secret is masked before it is written: the values of
signature, token, secret and password fields, and strings shaped like a secret access key or a session
token. The JSON format also writes one line per request answered (service, operation, status, time):
never its path, query or body, where signatures, tokens and passwords travel.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from ostiary.operations import request_info

FORMATS = ("text", "json")
_TEXT = "%(asctime)s %(levelname)s %(name)s%(request_id_text)s %(message)s"
_REQUESTS = logging.getLogger("ostiary.requests")
_EXTRA_FIELDS = ("service", "operation", "status", "duration_ms")
_MASK = "***"
_SECRET_FIELD = re.compile(
    r"(?i)((?:x-amz-)?(?:signature|security-?token|session-?token|secret[-_ ]?(?:access[-_ ]?)?key|"
    r"password|authenticationcode[12]?|private[-_ ]?key)\"?\s*[=:]\s*[\"']?)([^\s\"'&,;}]+)"
)
_SECRET_SHAPED = re.compile(
    r"(?<![A-Za-z0-9/+=])(?:[A-Za-z0-9/+]{40}|[A-Za-z0-9/+=_-]{100,})(?![A-Za-z0-9/+=])"
)


def mask(text: str) -> str:
    """`text` with what could be a secret replaced by ***."""
    return _SECRET_SHAPED.sub(_MASK, _SECRET_FIELD.sub(lambda m: m.group(1) + _MASK, text))


class _RequestId(logging.Filter):
    """Gives every record the id of the request under way ("" outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            info = request_info.current()
            record.request_id = info.request_id if info is not None else ""
        request_id = getattr(record, "request_id", "")
        record.request_id_text = f" [{request_id}]" if request_id else ""
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(_TEXT)

    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, request_id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask(record.getMessage()),
        }
        request_id = getattr(record, "request_id", "")
        if request_id:
            line["request_id"] = request_id
        for name in _EXTRA_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exception"] = mask(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


def configure(log_format: str, level: int = logging.INFO) -> None:
    """Send every logger's records (uvicorn's included) to stderr in `log_format` (text or json)."""
    if log_format not in FORMATS:
        raise ValueError(f"--log-format must be text or json, not `{log_format}`")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestId())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    _REQUESTS.setLevel(logging.INFO if log_format == "json" else logging.WARNING)


def answered(info: request_info.RequestInfo, status: int, seconds: float) -> None:
    """The line of one request answered (JSON format only)."""
    if not _REQUESTS.isEnabledFor(logging.INFO):
        return
    _REQUESTS.info(
        "answered",
        extra={
            "service": info.service,
            "operation": info.operation,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "request_id": info.request_id,
        },
    )
