"""The wire: AWS requests in, AWS responses out, driven by botocore's service models.

`query.parse` turns an HttpRequest into an ApiCall; `xml.serialize_result` and `xml.serialize_error`
write the answer. Nothing here sees the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ostiary.frozen import quick_init


@quick_init
@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request as received: nothing normalised, so a signature can be checked over it."""

    method: str
    path: str  # raw path, still percent-encoded
    query_string: str  # raw query string, without the `?`
    headers: tuple[tuple[str, str], ...]  # names lower-cased, in arrival order
    body: bytes = field(repr=False)
    client_ip: str = "127.0.0.1"
    is_secure: bool = False

    def header(self, name: str) -> str | None:
        """The first value of a header (name in lower case), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


@quick_init
@dataclass(frozen=True)
class ApiCall:
    """A decoded AWS call: service (`iam`/`sts`), operation (`CreateUser`) and its parameters.

    `params` uses the model's member names (PascalCase); lists are lists, structures dicts, numbers
    ints, booleans bools and timestamps aware datetimes.
    """

    service: str
    operation: str
    params: dict[str, Any]
