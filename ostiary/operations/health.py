"""`/_ostiary/health` (liveness) and `/_ostiary/ready` (readiness): JSON, unauthenticated, no secrets.

Health answers 200 while the process serves, touching nothing. Ready answers 200 when the store
answers a query and its Alembic revision is this Ostiary's head, else 503 with a reason; the reason is
one of a few fixed sentences (the exception goes to the log, where a database address may appear).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from ostiary.operations import request_info
from ostiary.store.db import Database
from ostiary.store.revision import head_revision, store_revision

log = logging.getLogger("ostiary.health")

HEALTH, READY = "/_ostiary/health", "/_ostiary/ready"
_TIMEOUT_SECONDS = 5.0


def takes(scope: dict[str, Any]) -> bool:
    """Whether this is a probe: GET or HEAD of one of the two paths (S3 bucket names cannot start
    with `_`, so no bucket is shadowed)."""
    return scope["path"] in (HEALTH, READY) and scope["method"] in ("GET", "HEAD")


async def answer(db: Database, scope: dict[str, Any], send: Any) -> None:
    """Answer a probe that `takes` took."""
    request_info.note("ostiary", "Health" if scope["path"] == HEALTH else "Ready")
    if scope["path"] == HEALTH:
        status, body = 200, {"status": "ok"}
    else:
        status, body = await _readiness(db)
    payload = json.dumps(body, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else payload})


async def _readiness(db: Database) -> tuple[int, dict[str, str]]:
    try:
        revision = await asyncio.wait_for(
            asyncio.to_thread(store_revision, db, _TIMEOUT_SECONDS), _TIMEOUT_SECONDS
        )
    except TimeoutError:
        return 503, {"status": "unavailable", "reason": "the store did not answer in time"}
    except Exception as exc:  # noqa: BLE001 - any failure to read the store means: not ready
        log.warning("not ready: the store does not answer: %s: %s", type(exc).__name__, exc)
        return 503, {"status": "unavailable", "reason": "the store does not answer"}
    if revision != head_revision():
        return 503, {
            "status": "unavailable",
            "reason": f"the store's schema is at revision {revision}, not {head_revision()}",
        }
    return 200, {"status": "ready", "revision": revision}
