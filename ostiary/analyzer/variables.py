"""Checks on policy variables (`${…}`) in Resource and Condition values."""

from __future__ import annotations

from ostiary.analyzer.context import Context, Path, strings
from ostiary.analyzer.jsontext import Node


def check_variables(context: Context, path: Path, statement: Node) -> None:
    """Each `${` opens a closed, non-empty variable without spaces in its name."""
    places: list[tuple[str, Path, Node]] = []
    for name in ("Resource", "NotResource"):
        node = statement.get(name)
        if node is not None:
            places += strings(node, (*path, name))
    condition = statement.get("Condition")
    if condition is not None and condition.kind == "object":
        for operator, _, block in condition.members:
            if block.kind == "object":
                for key, _, values in block.members:
                    places += strings(values, (*path, "Condition", operator, key))
    for text, where, item in places:
        code = variable_error(text)
        if code:
            context.add(code, where, item)


def variable_error(text: str) -> str:
    """The issue code of the first malformed variable in a value, or ""."""
    start = text.find("${")
    while start >= 0:
        end = text.find("}", start + 2)
        if end < 0:
            return "MISSING_BRACE_IN_VARIABLE"
        inside = text[start + 2 : end]
        name, comma, default = inside.partition(",")
        if not name.strip():
            return "EMPTY_VARIABLE"
        if " " in name.strip():
            return "UNSUPPORTED_SPACE_IN_VARIABLE"
        start = text.find("${", end + 1)
    return ""
