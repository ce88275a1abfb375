"""The threads Access Analyzer's exact checks (and ValidatePolicy) run on, apart from every other request's.

A check may take its whole time limit (seconds of solver work). On the event loop's shared threads a
few of them at once held every thread, and another account's ListUsers waited half a minute behind
them; here they have threads of their own, and at most `limit` are admitted (running or waiting) at
a time: beyond, a check is answered ThrottlingException at once (AWS's answer to a caller over its
rate), never queued without bound.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

# the paths in botocore's model (POST) of CheckNoNewAccess, CheckAccessNotGranted, CheckNoPublicAccess, and
# of ValidatePolicy (no size limit in AWS's model: a document of 790 KB takes seconds of its checks)
PATHS = frozenset(
    {
        "/policy/check-no-new-access",
        "/policy/check-access-not-granted",
        "/policy/check-no-public-access",
        "/policy/validation",
    }
)
THREADS = 2
LIMIT = 8


def is_check(method: str, path: str) -> bool:
    """Whether a request (signed for Access Analyzer) asks for an exact check."""
    return method == "POST" and path.rstrip("/") in PATHS


class SolverThreads:
    """The checks' own threads and the count of checks admitted to them."""

    def __init__(self, threads: int = THREADS, limit: int = LIMIT) -> None:
        self.executor = ThreadPoolExecutor(threads, thread_name_prefix="ostiary-solver")
        self._limit = limit
        self._admitted = 0
        self._lock = threading.Lock()

    def admit(self) -> bool:
        """Take a place for one check; False when `limit` are admitted already."""
        with self._lock:
            if self._admitted >= self._limit:
                return False
            self._admitted += 1
            return True

    def release(self) -> None:
        """Give back the place of a check that has been answered."""
        with self._lock:
            self._admitted -= 1
