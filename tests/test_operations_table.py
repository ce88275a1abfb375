"""docs/operations.md lists every served IAM and STS operation with the status the code gives it."""

from __future__ import annotations

from ostiary import services
from ostiary.protocol import models
from tests.operations_table import DOC, render


def test_operations_doc_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/operations.md is out of date: run `python -m tests.operations_table`"
    )


def test_operations_doc_marks_each_handler_and_only_those_implemented() -> None:
    text = DOC.read_text(encoding="utf-8")
    served = {(s, name) for s in models.SERVICES for name in models.service(s).operations}
    implemented = set(services.implemented())
    assert implemented <= served
    for service, name in sorted(served):
        status = "implemented" if (service, name) in implemented else "not implemented"
        assert f"| {service} | {name} | {status} |" in text, (service, name)
