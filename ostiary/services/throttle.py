"""The throttle of failed MFA codes and passwords, per user and per device, shared by every node.

An attempt counts as failed when it is made, in the transaction that checks it (so concurrent
attempts cannot outrun the count), and a right one clears its subjects. `failures` attempts within
`window_seconds` pause a subject for `delay_seconds`, doubling with each pause in a row up to
`max_delay_seconds`; a subject quiet for a window and the longest pause starts over. While paused,
every attempt is refused before any code or password is looked at, so the refusal says nothing of
whether it was right, and nothing pauses a user for longer than the longest pause.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from ostiary.errors import Throttling
from ostiary.settings import ThrottleLimits
from ostiary.store import attempts
from ostiary.store.db import Connection

# AWS's throttling text (STS and IAM); AWS records no text of its own for too many wrong codes or
# passwords, nor says that it pauses them: this is its answer to a caller over its rate.
RATE_EXCEEDED = "Rate exceeded"
_MAX_SUBJECT = 400


class Paused(Throttling):
    """The refusal of an attempt on a paused subject, with the moment its pause ends (a caller may refuse
    the subject's next attempts until then without asking the store)."""

    def __init__(self, until: datetime) -> None:
        super().__init__(RATE_EXCEEDED)
        self.until = until


@dataclass(frozen=True)
class Counter:
    """The failures of one subject: in the current window, pauses in a row, and the current pause."""

    failures: int = 0
    blocks: int = 0
    window_started_at: datetime | None = None
    last_failure_at: datetime | None = None
    blocked_until: datetime | None = None

    def is_blocked(self, now: datetime) -> bool:
        return self.blocked_until is not None and now < self.blocked_until


def counted(counter: Counter, now: datetime, limits: ThrottleLimits) -> Counter:
    """The counter after one more failed attempt at `now` (the subject is not paused)."""
    blocks = counter.blocks
    quiet = timedelta(seconds=limits.window_seconds + limits.max_delay_seconds)
    if counter.last_failure_at is None or now - counter.last_failure_at >= quiet:
        blocks = 0
    failures, started = counter.failures, counter.window_started_at
    if started is None or now - started >= timedelta(seconds=limits.window_seconds):
        failures, started = 0, now
    failures += 1
    if failures < limits.failures:
        return Counter(failures, blocks, started, now, counter.blocked_until)
    delay = min(limits.delay_seconds * 2 ** min(blocks, 32), limits.max_delay_seconds)
    return Counter(0, blocks + 1, None, now, now + timedelta(seconds=delay))


def mfa_subjects(user_id: str, serial_numbers: Iterable[str] = ()) -> list[str]:
    """The subjects an MFA code is counted on: the user, and each device it is checked against."""
    return [f"mfa-user:{user_id}", *(f"mfa-device:{serial}" for serial in serial_numbers)]


def password_subjects(user_id: str | None, account_id: str | None = None, user_name: str = "") -> list[str]:
    """The subjects a password is counted on: the user, and for sign-in the name it was tried for.

    A sign-in counts on the name too, so that a name with no user is throttled as one with a user
    (the answer does not tell which names exist).
    """
    subjects = [f"password:{user_id}"] if user_id else []
    if account_id is not None:
        subjects.append(f"console:{account_id}:{user_name.lower()}"[:_MAX_SUBJECT])
    return subjects


def root_sign_in_subjects(account_id: str) -> list[str]:
    """The subject the root user's console sign-in is counted on: its own, never that of an IAM user of
    the account named `root` (a name IAM allows), so neither's failures pause the other."""
    return [f"console-root:{account_id}"[:_MAX_SUBJECT]]


def check(conn: Connection, subjects: list[str], now: datetime) -> None:
    """Throttling when any subject is paused; counts nothing."""
    for subject in subjects:
        until = attempts.blocked_until(conn, subject)
        if until is not None and now < until:
            raise Paused(until)


def attempt(
    conn: Connection, subjects: list[str], now: datetime, limits: ThrottleLimits | None = None
) -> None:
    """Count an attempt on every subject, as failed until `succeeded`; Throttling when any is paused.

    Call it in the transaction that checks the code or password, before checking it.
    """
    limits = limits or ThrottleLimits.from_env()
    counters = {s: Counter(**attempts.lock(conn, s)) for s in sorted(set(subjects))}  # one lock order
    paused = [c.blocked_until for c in counters.values() if c.is_blocked(now) and c.blocked_until]
    if paused:
        raise Paused(max(paused))
    for subject, counter in counters.items():
        attempts.save(conn, subject, **asdict(counted(counter, now, limits)))
    # names tried at sign-in need not exist: forget quiet subjects, so the table holds recent ones only
    attempts.forget_quiet(conn, now - timedelta(seconds=limits.window_seconds + limits.max_delay_seconds))


def succeeded(conn: Connection, subjects: list[str]) -> None:
    """The attempt was right: forget the subjects' failures."""
    attempts.clear(conn, subjects)
