"""The SAML replay cache: an assertion is accepted once while it is valid, in bounded memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ostiary.federation.saml_response import ReplayCache

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_an_assertion_is_claimed_once_until_its_limit() -> None:
    cache = ReplayCache(limit=10)
    key = ("arn:aws:iam::123456789012:saml-provider/idp", "_a1")
    assert cache.claim(key, NOW + timedelta(minutes=5), NOW)
    assert not cache.claim(key, NOW + timedelta(minutes=5), NOW + timedelta(minutes=4))
    assert cache.claim(key, NOW + timedelta(minutes=15), NOW + timedelta(minutes=5))  # expired


def test_the_cache_stays_within_its_limit_dropping_expired_entries_first() -> None:
    cache = ReplayCache(limit=100)
    for n in range(50):
        cache.claim(("p", f"old{n}"), NOW + timedelta(seconds=1), NOW)
    for n in range(10_000):
        cache.claim(("p", f"new{n}"), NOW + timedelta(hours=1), NOW + timedelta(seconds=2))
    assert len(cache._seen) <= 100  # noqa: SLF001 - the bound is the behaviour under test
    assert not cache.claim(("p", "new9999"), NOW + timedelta(hours=1), NOW + timedelta(seconds=3))
