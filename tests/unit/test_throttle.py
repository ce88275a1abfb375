"""The throttle's arithmetic: a guesser's attempts per hour are bounded, a pause is bounded, quiet resets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ostiary.services.throttle import Counter, counted
from ostiary.settings import ThrottleLimits

START = datetime(2026, 12, 4, tzinfo=UTC)
DEFAULTS = ThrottleLimits()


def _guess_for(duration: timedelta, limits: ThrottleLimits = DEFAULTS) -> list[datetime]:
    """The moments a guesser who tries again the instant it may gets an answer, over `duration`."""
    counter, now, answered = Counter(), START, []
    while now < START + duration:
        if counter.is_blocked(now):
            assert counter.blocked_until is not None
            now = counter.blocked_until
            continue
        answered.append(now)
        counter = counted(counter, now, limits)
        now += timedelta(milliseconds=5)  # a fast client
    return answered


def test_the_defaults_pause_after_five_failures_for_a_minute_at_first() -> None:
    answered = _guess_for(timedelta(seconds=59))
    assert len(answered) == DEFAULTS.failures == 5


def test_a_guesser_gets_at_most_five_codes_an_hour_once_the_pauses_have_grown() -> None:
    answered = _guess_for(timedelta(days=2))
    second_day = [t for t in answered if t >= START + timedelta(days=1)]
    assert len(second_day) <= 24 * DEFAULTS.failures
    hours = {t.replace(minute=0, second=0, microsecond=0) for t in second_day}
    for hour in hours:
        assert sum(hour <= t < hour + timedelta(hours=1) for t in second_day) <= DEFAULTS.failures


def test_guessing_a_six_digit_code_takes_years() -> None:
    """Three codes are valid at a time (a step either side): a year of guessing finds one with p < 0.15."""
    answered = _guess_for(timedelta(days=365))
    assert len(answered) <= 365 * 24 * DEFAULTS.failures + 50
    assert len(answered) * 3 / 1_000_000 < 0.15


def test_no_pause_is_longer_than_the_longest() -> None:
    counter, now = Counter(), START
    for _ in range(10_000):
        counter = counted(counter, now, DEFAULTS)
        if counter.is_blocked(now):
            assert counter.blocked_until is not None
            assert counter.blocked_until - now <= timedelta(seconds=DEFAULTS.max_delay_seconds)
            now = counter.blocked_until
    assert counter.blocks > 20  # the pauses stopped doubling at the cap, never grew past it


def test_failures_older_than_the_window_do_not_count() -> None:
    counter, now = Counter(), START
    for _ in range(DEFAULTS.failures - 1):
        counter = counted(counter, now, DEFAULTS)
    now += timedelta(seconds=DEFAULTS.window_seconds)
    for _ in range(DEFAULTS.failures - 1):
        counter = counted(counter, now, DEFAULTS)
    assert not counter.is_blocked(now)
    assert counted(counter, now, DEFAULTS).is_blocked(now)


def test_a_quiet_subject_starts_over_with_the_shortest_pause() -> None:
    counter, now = Counter(), START
    for _ in range(DEFAULTS.failures * 6):  # six pauses in a row: the sixth is long
        counter = counted(counter, now, DEFAULTS)
        if counter.blocked_until is not None and counter.is_blocked(now):
            now = counter.blocked_until
    now += timedelta(seconds=DEFAULTS.window_seconds + DEFAULTS.max_delay_seconds)
    for _ in range(DEFAULTS.failures):
        counter = counted(counter, now, DEFAULTS)
    assert counter.blocked_until == now + timedelta(seconds=DEFAULTS.delay_seconds)


def test_the_limits_come_from_the_environment_as_positive_integers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSTIARY_THROTTLE_DELAY_SECONDS", "7")
    assert ThrottleLimits.from_env() == ThrottleLimits(delay_seconds=7)
    for bad in ("0", "-1", "ten", "٣"):
        monkeypatch.setenv("OSTIARY_THROTTLE_FAILURES", bad)
        with pytest.raises(ValueError, match="^OSTIARY_THROTTLE_FAILURES must be a positive integer"):
            ThrottleLimits.from_env()
