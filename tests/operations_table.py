"""The table of every IAM and STS operation of the served models with its status: docs/operations.md.

Run `python -m tests.operations_table` to write it; test_operations_table fails when it is out of date.
"""

from __future__ import annotations

from pathlib import Path

from ostiary import services
from ostiary.protocol import models

DOC = Path(__file__).resolve().parent.parent / "docs" / "operations.md"


def render() -> str:
    """docs/operations.md as the code and the served models make it now."""
    lines = [
        "# IAM and STS operations",
        "",
        f"Every operation of the served models ({models.DATA_SOURCE}) and whether Ostiary implements it.",
        "Generated from the code by `python -m tests.operations_table`; `tests/test_operations_table.py`",
        "fails when this file is out of date.",
        "",
    ]
    rows = []
    for service in models.SERVICES:
        names = sorted(models.service(service).operations)
        handlers = {name: services.handler_for(service, name) for name in names}
        done = sum(handler is not None for handler in handlers.values())
        lines.append(f"- {service.upper()}: {done} of {len(names)} implemented")
        for name, handler in handlers.items():
            where = f"`{handler.__module__}.{handler.__name__}`" if handler else ""
            status = "implemented" if handler else "not implemented"
            rows.append(f"| {service} | {name} | {status} | {where} |")
    lines += ["", "| Service | Operation | Status | Handler |", "|---|---|---|---|", *rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    DOC.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC}")
