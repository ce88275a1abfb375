"""The sign-in subjects this process saw paused, and until when: while paused, a sign-in of that subject
is refused at once, on the event loop, before it queues for the sign-in threads.

A flood of sign-ins against one name then costs its own refusals only: after the failures that pause it
(each an argon2 check) the store answers one more with the pause's end, and the rest never reach the
two sign-in threads that other users' sign-ins wait on. The store stays the authority: a subject not seen
paused here (another node's, or one not tried yet) is asked for as before.
"""

from __future__ import annotations

from datetime import datetime

_MAX_SUBJECTS = 10_000  # a bounded memory: names tried at sign-in need not exist


class Pauses:
    """Paused subjects (throttle subject -> end of its pause), for one process's event loop."""

    def __init__(self, max_subjects: int = _MAX_SUBJECTS) -> None:
        self._until: dict[str, datetime] = {}
        self._max = max_subjects

    def is_paused(self, subject: str, now: datetime) -> bool:
        until = self._until.get(subject)
        if until is None:
            return False
        if now < until:
            return True
        del self._until[subject]  # the pause ended: the store decides again
        return False

    def remember(self, subject: str, until: datetime, now: datetime) -> None:
        if len(self._until) >= self._max:
            self._until = {s: u for s, u in self._until.items() if now < u}
        while len(self._until) >= self._max:  # still full of live pauses: the oldest-remembered goes
            del self._until[next(iter(self._until))]
        self._until[subject] = until

    def __len__(self) -> int:
        return len(self._until)
