"""S3 request bodies as the gateway reads them: whole and checked before anything is sent (up to a
limit), or checked as they stream to the backend, the last verified piece held back until the body's end
has been checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ostiary.auth import payload
from ostiary.errors import AwsError


class EntityTooLarge(AwsError):
    code, status = "MaxMessageLengthExceeded", 400


def whole(pieces: Iterable[bytes], reader: payload.PayloadReader, limit: int) -> bytes:
    """The whole body, checked; EntityTooLarge past `limit`."""
    parts: list[bytes] = []
    size = 0
    for piece in pieces:
        ready = reader.feed(piece)
        size += len(ready)
        if size > limit:
            raise EntityTooLarge(f"Your request was too big (over {limit} bytes here).")
        parts.append(ready)
    reader.finish()
    return b"".join(parts)


def verified(pieces: Iterable[bytes], reader: payload.PayloadReader) -> Iterator[bytes]:
    """The body as it is checked, the last piece held back until the whole body has been."""
    held = b""
    sent = 0
    for piece in pieces:
        ready = reader.feed(piece)
        if ready:
            if held:
                yield held
                sent += len(held)
            held = ready
    reader.finish()
    if reader.decoded_length is not None and sent + len(held) != reader.decoded_length:
        raise payload.IncompleteBody(
            "You did not provide the number of bytes specified by the Content-Length HTTP header"
        )
    if held:
        yield held
