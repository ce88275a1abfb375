"""Suggestions on what a policy says twice: actions, resources and whole statements."""

from __future__ import annotations

from ostiary.analyzer.context import Context, Path, strings
from ostiary.analyzer.jsontext import Node
from ostiary.analyzer.targets import expand
from ostiary.policy.matchers import glob_matches

_IGNORED = ("Sid",)


def check_redundant_actions(context: Context, path: Path, statement: Node) -> None:
    """Actions whose every known action the other kept entries of the list grant (later ones go first)."""
    node = statement.get("Action")
    if node is None or node.kind != "array":
        return
    entries = strings(node, (*path, "Action"))
    sets = [expand(text) for text, _, _ in entries]
    kept = list(range(len(entries)))
    redundant: list[int] = []
    for i in reversed(range(len(entries))):
        if not sets[i]:
            continue
        others: set[str] = set()
        for j in kept:
            if j != i:
                others |= sets[j]
        if sets[i] <= others:
            kept.remove(i)
            redundant.insert(0, i)
    if redundant:
        places = [(entries[i][1], entries[i][2]) for i in redundant]
        context.add_many("REDUNDANT_ACTION", places, count=len(redundant), action=entries[redundant[0]][0])


def check_redundant_resources(context: Context, path: Path, statement: Node) -> None:
    """Resources that another resource of the same list already matches."""
    node = statement.get("Resource")
    if node is None or node.kind != "array":
        return
    entries = strings(node, (*path, "Resource"))
    redundant = []
    for i, (text, where, item) in enumerate(entries):
        for j, (other, _, _) in enumerate(entries):
            if i != j and glob_matches(other, text) and (other != text or j < i):
                redundant.append((where, item))
                break
    if redundant:
        context.add_many("REDUNDANT_RESOURCE", redundant, count=len(redundant))


def check_redundant_statements(context: Context, statements: list[tuple[int, Node]]) -> None:
    """Statements identical but for their Sid (lists compared as sets)."""
    seen: dict[object, tuple[int, Node]] = {}
    for index, statement in statements:
        shape = _shape(statement)
        if shape in seen:
            first_index, first = seen[shape]
            context.add_many(
                "REDUNDANT_STATEMENT",
                [(("Statement", first_index), first), (("Statement", index), statement)],
            )
        else:
            seen[shape] = (index, statement)


def _shape(node: Node) -> object:
    """A hashable, order-insensitive form of a statement without its Sid."""
    if node.kind == "object":
        return frozenset((k, _shape(v)) for k, _, v in node.members if k not in _IGNORED)
    if node.kind == "array":
        return frozenset(_shape(i) for i in node.items)
    return (node.kind, node.value)
