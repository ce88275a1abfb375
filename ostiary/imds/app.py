"""The EC2 instance metadata protocol as a plain ASGI app: IMDSv2 session tokens, and v1 unless v2-only.

Routes (as EC2 serves them): `PUT /latest/api/token`, `/latest/meta-data/instance-id`,
`/latest/meta-data/iam/info`, `/latest/meta-data/iam/security-credentials/` and `.../<role>`.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ostiary.imds.credentials import RoleCredentials, public
from ostiary.server import answer_lifespan

TOKEN_HEADER = "x-aws-ec2-metadata-token"
TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds"
MAX_TTL = 21600
_CREDENTIALS = "/latest/meta-data/iam/security-credentials/"


@dataclass
class MetadataApp:
    """One instance's metadata endpoint, bound to one instance profile."""

    credentials: RoleCredentials
    instance_id: str
    v2_only: bool = False
    _tokens: dict[str, float] = field(default_factory=dict, repr=False)  # token -> monotonic expiry

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        status, content_type, body = self.respond(scope["method"], scope["path"], headers)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", content_type.encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def respond(self, method: str, path: str, headers: dict[str, str]) -> tuple[int, str, bytes]:
        """(status, content type, body) of one request."""
        if path == "/latest/api/token":
            return self._token(method, headers)
        if method not in ("GET", "HEAD"):
            return _text(405, "Method Not Allowed")
        if not self._may_read(headers):
            return _text(401, "Unauthorized")
        return self._metadata(path)

    def _token(self, method: str, headers: dict[str, str]) -> tuple[int, str, bytes]:
        if method != "PUT":
            return _text(405, "Method Not Allowed")
        if "x-forwarded-for" in headers:
            return _text(403, "Forbidden")
        ttl = headers.get(TTL_HEADER, "")
        if not ttl.isdigit() or not 1 <= int(ttl) <= MAX_TTL:
            return _text(400, "Bad Request")
        token = secrets.token_urlsafe(40)
        now = time.monotonic()
        self._tokens = {t: end for t, end in self._tokens.items() if end > now}
        self._tokens[token] = now + int(ttl)
        return _text(200, token)

    def _may_read(self, headers: dict[str, str]) -> bool:
        token = headers.get(TOKEN_HEADER)
        if token is None:
            return not self.v2_only
        return self._tokens.get(token, 0.0) > time.monotonic()

    def _metadata(self, path: str) -> tuple[int, str, bytes]:
        if path == "/latest/meta-data/instance-id":
            return _text(200, self.instance_id)
        if path == "/latest/meta-data/iam/info":
            return self._info()
        if path.startswith(_CREDENTIALS):
            name = path[len(_CREDENTIALS) :]
            role_name = self.credentials.profile().role_name
            if role_name is None:
                return _text(404, "Not Found")
            if name == "":
                return _text(200, role_name)
            if name == role_name:
                return _json(public(self.credentials.current()))
        if path in ("/latest/meta-data/iam", "/latest/meta-data/iam/"):
            return _text(200, "info\nsecurity-credentials/")
        return _text(404, "Not Found")

    def _info(self) -> tuple[int, str, bytes]:
        info = self.credentials.profile()
        return _json(
            {
                "Code": "Success",
                "LastUpdated": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "InstanceProfileArn": info.arn,
                "InstanceProfileId": info.profile_id,
            }
        )


def _text(status: int, body: str) -> tuple[int, str, bytes]:
    return status, "text/plain", body.encode()


def _json(document: dict[str, Any]) -> tuple[int, str, bytes]:
    return 200, "text/plain", json.dumps(document, indent=2).encode()
