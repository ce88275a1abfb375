"""The simulator evaluates only the page it answers: each action on each resource is a position, and a
request naming thousands of both (all a 1 MiB request holds) costs one page's evaluations."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ostiary.services import simulator

POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
)


def test_only_the_page_asked_for_is_evaluated(monkeypatch: pytest.MonkeyPatch) -> None:
    evaluated: list[tuple[str, str]] = []
    real = simulator._evaluate

    def counted(sim: Any, action: str, resource: str, per_resource: bool) -> dict[str, Any]:
        evaluated.append((action, resource))
        return real(sim, action, resource, per_resource)

    monkeypatch.setattr(simulator, "_evaluate", counted)
    sim = simulator._simulation(
        [("PolicyInputList.1", POLICY)], None, None, None, "arn:aws:iam::111122223333:user/u", "user", None
    )
    actions = [f"s3:Get{i}" for i in range(300)]
    resources = [f"arn:aws:s3:::b/{i}" for i in range(300)]
    first = simulator._results(sim, actions, resources, 3, None)
    assert evaluated == [("s3:Get0", "arn:aws:s3:::b/0"), ("s3:Get0", "arn:aws:s3:::b/1"),
                         ("s3:Get0", "arn:aws:s3:::b/2")]  # fmt: skip
    evaluated.clear()
    second = simulator._results(sim, actions, resources, 2, first["Marker"])
    assert evaluated == [("s3:Get0", "arn:aws:s3:::b/3"), ("s3:Get0", "arn:aws:s3:::b/4")]
    assert [r["EvalDecision"] for r in first["EvaluationResults"] + second["EvaluationResults"]] == [
        "allowed"
    ] * 5
    assert first["IsTruncated"] and second["IsTruncated"]
    last = simulator._results(
        sim, actions, resources, 1000, simulator.page_range(90000, None, 89999)[1]["Marker"]
    )
    assert [(r["EvalActionName"], r["EvalResourceName"]) for r in last["EvaluationResults"]] == [
        ("s3:Get299", "arn:aws:s3:::b/299")
    ]
    assert last["IsTruncated"] is False
