"""The corpus: every case in tests/corpus/*.jsonl through evaluate_case, decision and reasons pinned."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ostiary.policy import evaluate_case

_CASES = [json.loads(line) for path in sorted(Path(__file__).parent.glob("*.jsonl")) for line in path.open()]


@pytest.mark.parametrize("case", _CASES, ids=[c["id"] for c in _CASES])
def test_case(case: dict[str, Any]) -> None:
    got = evaluate_case(case)
    assert "error" not in got, got
    assert (got["decision"], got["reasons"]) == (case["expect"]["decision"], case["expect"]["reasons"])
