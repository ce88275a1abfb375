"""The shortcuts for plain paths (nothing to decode nor encode) give what the general rules give: S3's
canonical URI in SigV4, and the path the gateway sends an S3 backend."""

from __future__ import annotations

import random
import string
from urllib.parse import quote, unquote, unquote_to_bytes

from ostiary.auth import sigv4
from ostiary.gateway.forwarding import Forwarder

_ALPHABET = string.ascii_letters + string.digits + "-_.~/%+ !*'()ü:@&=$,;#[]\t"


def _s3_canonical_uri(path: str) -> str:
    """The general rule: each segment decoded, then encoded as SigV4 encodes."""
    try:
        raw = path.encode("latin-1")
    except UnicodeEncodeError:
        raw = path.encode()
    if not raw:
        return "/"
    return "/".join(quote(unquote_to_bytes(segment), safe="-_.~") for segment in raw.split(b"/"))


def _paths() -> list[str]:
    chooser = random.Random(20261205)
    found = ["", "/", "//", "/a/../b", "/./", "/b/k%2Fk", "/b/%41", "/b/a b", "/b/ü", "b/k", "/b/k~_-."]
    for _ in range(20000):
        path = "/" + "".join(chooser.choice(_ALPHABET) for _ in range(chooser.randint(0, 14)))
        found.append(path if chooser.random() < 0.8 else path[1:])
    return found


def test_s3_canonical_uris_are_the_general_rules() -> None:
    for path in _paths():
        assert sigv4._s3_canonical_uri(path) == _s3_canonical_uri(path), path


def test_backend_paths_are_the_general_rules() -> None:
    forwarder = Forwarder("key", "secret")
    for path in _paths():
        for query in ("", "?acl", "?versionId=a%20b&x=1"):
            expected = quote(unquote(path), safe="/~") + query
            assert forwarder.backend_path(path + query, "s3") == expected, path + query
            assert forwarder.backend_path(path + query, "dynamodb") == path + query
