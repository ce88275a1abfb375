"""The fast engine against the naive reference: equal decisions and equal deciding statements."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings

from ostiary.policy import evaluate_case
from tests.reference.decide import decide
from tests.reference.strategies import cases


@settings(max_examples=400, deadline=None)
@given(cases())
def test_engine_agrees_with_reference(case: dict[str, Any]) -> None:
    got = evaluate_case(case)
    assert "error" not in got, got
    assert (got["decision"], got["reasons"]) == decide(case)
