"""An S3 request's body checked as it streams: the SHA-256 its signature declares (placeholder: the
aws-chunked modes are refused until their verifier lands)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from ostiary.auth.sigv4 import SignedRequest
from ostiary.errors import AwsError
from ostiary.protocol import HttpRequest


class PayloadError(AwsError):
    """A body that is not what its signature says."""

    status = 400


class XAmzContentSHA256Mismatch(PayloadError):
    code = "XAmzContentSHA256Mismatch"


class NotImplementedPayload(AwsError):
    code, status = "NotImplemented", 501


class PayloadReader:
    """Checks one request's body as it arrives; `feed` hands back what may be forwarded."""

    def __init__(self, declared: str | None, content_length: int | None) -> None:
        self.decoded_length = content_length
        self._declared = declared
        self._hash = hashlib.sha256() if declared not in (None, "UNSIGNED-PAYLOAD") else None
        self._seen = 0

    def forward_headers(self, headers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """The request's headers as the backend gets them."""
        return [(k, v) for k, v in headers if k != "x-amz-content-sha256"]

    def feed(self, data: bytes) -> bytes:
        """The bytes of `data` that may be forwarded."""
        self._seen += len(data)
        if self._hash is not None:
            self._hash.update(data)
        return data

    def finish(self) -> dict[str, str]:
        """Raise unless the whole body is what was declared."""
        if self._hash is not None and self._declared is not None:
            if not hmac.compare_digest(self._hash.hexdigest(), self._declared.lower()):
                raise XAmzContentSHA256Mismatch(
                    "The provided 'x-amz-content-sha256' header does not match what was computed."
                )
        return {}


def payload_reader(
    request: HttpRequest, signed: SignedRequest | None, signing_key: bytes | None
) -> PayloadReader:
    """The reader of `request`'s body."""
    declared = request.header("x-amz-content-sha256")
    if declared is not None and declared.startswith("STREAMING-"):
        raise NotImplementedPayload(f"{declared} is not verified yet")
    length = request.header("content-length")
    return PayloadReader(declared, int(length) if length and length.isdigit() else None)
