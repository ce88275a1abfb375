"""The short-lived read cache of the gateway's hot path (store/recent.py)."""

from __future__ import annotations

import time

from ostiary.store.recent import Recent


def test_a_value_is_read_again_after_its_time_or_a_change_here() -> None:
    loads: list[int] = []

    def load() -> int:
        loads.append(1)
        return len(loads)

    recent: Recent[int] = Recent(ttl=0.05)
    assert recent.get("k", load) == 1
    assert recent.get("k", load) == 1  # kept
    recent.changed()
    assert recent.get("k", load) == 2  # a change here: read again at once
    time.sleep(0.06)
    assert recent.get("k", load) == 3  # older than its time: read again


def test_a_value_loaded_across_a_change_is_not_used_after_it() -> None:
    recent: Recent[str] = Recent(ttl=60)

    def load_while_changing() -> str:
        recent.changed()  # another thread's write lands while this read is under way
        return "stale"

    assert recent.get("k", load_while_changing) == "stale"
    assert recent.get("k", lambda: "fresh") == "fresh"


def test_past_its_size_every_value_is_dropped() -> None:
    recent: Recent[str] = Recent(ttl=60, size=2)
    recent.get("a", lambda: "a1")
    recent.get("b", lambda: "b1")
    recent.get("c", lambda: "c1")  # the third: the two kept before are dropped
    assert recent.get("a", lambda: "a2") == "a2"
    assert recent.get("c", lambda: "c2") == "c1"
