"""The EC2 instance metadata protocol as a plain ASGI app: IMDSv2 session tokens, and v1 unless v2-only.

Routes (as EC2 serves them): `PUT /latest/api/token`, `/latest/meta-data/instance-id`,
`/latest/meta-data/iam/info`, `/latest/meta-data/iam/security-credentials/` and `.../<role>`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ostiary.imds.credentials import ProfileInfo, RoleCredentials, public
from ostiary.server import answer_lifespan

TOKEN_HEADER = "x-aws-ec2-metadata-token"
TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds"
MAX_TTL = 21600
_CREDENTIALS = "/latest/meta-data/iam/security-credentials/"
_SECONDS = re.compile(r"[0-9]{1,5}")  # ASCII digits: str.isdigit() takes `１２３` and `²`
_STAMP = re.compile(r"[0-9]{1,25}")


@dataclass
class MetadataApp:
    """One instance's metadata endpoint, bound to one instance profile."""

    credentials: RoleCredentials
    instance_id: str
    v2_only: bool = False
    # session tokens are sealed, not stored: HMAC over their expiry with a key of this process
    _token_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

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
        if not _SECONDS.fullmatch(ttl) or not 1 <= int(ttl) <= MAX_TTL:
            return _text(400, "Bad Request")
        return _text(200, self._seal(time.monotonic_ns() + int(ttl) * 1_000_000_000))

    def _may_read(self, headers: dict[str, str]) -> bool:
        token = headers.get(TOKEN_HEADER)
        if token is None:
            return not self.v2_only
        expires_ns = self._opened(token)
        return expires_ns is not None and expires_ns > time.monotonic_ns()

    def _seal(self, expires_ns: int) -> str:
        """A session token: its expiry (this process's monotonic clock) and a MAC over it."""
        stamp = str(expires_ns)
        mac = hmac.new(self._token_key, stamp.encode(), hashlib.sha256).digest()
        return f"{stamp}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"

    def _opened(self, token: str) -> int | None:
        """The expiry a token was sealed with, or None when this endpoint did not seal it."""
        stamp, _, mac = token.partition(".")
        if not _STAMP.fullmatch(stamp):
            return None
        expected = self._seal(int(stamp)).partition(".")[2]
        return int(stamp) if hmac.compare_digest(mac.encode(), expected.encode()) else None

    def _metadata(self, path: str) -> tuple[int, str, bytes]:
        if path == "/latest/meta-data/instance-id":
            return _text(200, self.instance_id)
        if not path.startswith("/latest/meta-data/iam"):
            return _text(404, "Not Found")
        info = self.credentials.find_profile()  # read on every request: the profile may have changed
        if info is None:
            return _text(404, "Not Found")  # the instance profile was deleted
        if path == "/latest/meta-data/iam/info":
            return self._info(info)
        if path.startswith(_CREDENTIALS):
            name = path[len(_CREDENTIALS) :]
            if info.role_name is None:
                return _text(404, "Not Found")
            if name == "":
                return _text(200, info.role_name)
            if name == info.role_name:
                return _json(public(self.credentials.current(info)))
        if path in ("/latest/meta-data/iam", "/latest/meta-data/iam/"):
            return _text(200, "info\nsecurity-credentials/")
        return _text(404, "Not Found")

    def _info(self, info: ProfileInfo) -> tuple[int, str, bytes]:
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
