"""The public half of outbound federation: each issuer's OpenID Connect discovery document and JWKS,
answered to unsigned GETs so that any OIDC library can verify the tokens Ostiary issues.

`app.py` routes here before the gateway, which would otherwise take an unsigned GET as S3's. An issuer
whose account has disabled the feature still publishes its keys: tokens issued before stay verifiable.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ostiary.federation import outbound
from ostiary.settings import Settings
from ostiary.store import outbound_federation as store
from ostiary.store.db import Database

_PATH = re.compile(
    "^"
    + re.escape(outbound.ISSUER_PREFIX)
    + r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    + f"({re.escape(outbound.DISCOVERY_PATH)}|{re.escape(outbound.JWKS_PATH)})$"
)
_MAX_AGE_SECONDS = 300


def takes(scope: dict[str, Any]) -> bool:
    """Whether an HTTP request asks for an issuer's discovery document or JWKS."""
    return scope.get("method") in ("GET", "HEAD") and _PATH.match(scope.get("path", "")) is not None


def answer(db: Database, settings: Settings, path: str, is_secure: bool) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) for a request path of `takes`."""
    match = _PATH.match(path)
    if match is None:
        return 404, {"message": "Not Found"}
    with db.read() as conn:
        issuer = store.issuer_by_id(conn, match[1])
        keys = store.signing_keys(conn, issuer.account_id) if issuer is not None else []
    if issuer is None:
        return 404, {"message": "Not Found"}
    if match[2] == outbound.JWKS_PATH:
        return 200, outbound.jwks(keys)
    base = outbound.base_url(settings.host, settings.port, is_secure, settings.public_url)
    return 200, outbound.discovery_document(outbound.issuer_url(base, issuer.issuer_id))


async def serve(db: Database, settings: Settings, scope: dict[str, Any], send: Any) -> None:
    """Answer one request that `takes` accepted."""
    status, document = answer(db, settings, scope["path"], scope.get("scheme") == "https")
    body = json.dumps(document).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", f"public, max-age={_MAX_AGE_SECONDS}".encode() if status == 200 else b"no-store"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
