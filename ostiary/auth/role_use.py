"""RoleLastUsed kept current by the calls of a role's sessions, IAM's own and the gateway's alike.

AWS reports when and in which Region a role was last used. Every call signed with an assumed role's
temporary credentials is a use; it is written at most once a minute per role on each node, so a busy
role costs one small write a minute, not one per request.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

from ostiary import blocking
from ostiary.auth import sigv4
from ostiary.auth.caller import Caller
from ostiary.store import roles
from ostiary.store.db import Database

_INTERVAL_SECONDS = 60.0
_MAX_TRACKED = 10_000


class _RoleUse:
    """The roles this node recorded, with when (monotonic): a role is written again after a minute."""

    def __init__(self) -> None:
        self._recorded: dict[str, float] = {}
        self._lock = threading.Lock()

    def due(self, role_id: str) -> bool:
        """Whether the role's use should be written now (and, if so, note that it is being written)."""
        tick = time.monotonic()
        with self._lock:
            last = self._recorded.get(role_id)
            if last is not None and tick - last < _INTERVAL_SECONDS:
                return False
            blocking.check()  # on the event loop: noted when the request runs again on a thread
            if len(self._recorded) >= _MAX_TRACKED:
                self._recorded.clear()
            self._recorded[role_id] = tick
            return True


_role_use = _RoleUse()


def noted(db: Database, signed: sigv4.SignedRequest, now: datetime, caller: Caller) -> Caller:
    """`caller`, after recording its role's use in the request's Region when it is a role session."""
    session = caller.session
    if session is None or session.principal_type != "AssumedRole" or session.role_id is None:
        return caller
    if _role_use.due(session.role_id):
        with db.transaction(durable=False) as conn:
            roles.record_use(conn, session.role_id, signed.region, now)
    return caller
