"""Suggestions on what a policy says twice: actions, resources and whole statements."""

from __future__ import annotations

from collections import Counter

from ostiary.analyzer.context import Context, Path, strings
from ostiary.analyzer.jsontext import Node
from ostiary.analyzer.targets import expand
from ostiary.policy.matchers import glob_matches

_IGNORED = ("Sid",)


def check_redundant_actions(context: Context, path: Path, statement: Node) -> None:
    """Actions whose every known action another kept entry of the list grants (later entries go first).

    Each known action counts the kept entries that grant it: an entry is redundant when all its
    actions count two or more, and dropping it lowers their counts (linear in the expansions).
    """
    node = statement.get("Action")
    if node is None or node.kind != "array":
        return
    entries = strings(node, (*path, "Action"))
    expanded = [expand(text, context) for text, _, _ in entries]
    if any(found is None for found in expanded):
        return  # over the work budget: no finding rather than a wrong one
    sets = [found or frozenset() for found in expanded]
    counts: Counter[str] = Counter()
    for granted in sets:
        counts.update(granted)
    redundant: list[int] = []
    for i in reversed(range(len(entries))):
        if sets[i] and all(counts[action] > 1 for action in sets[i]):
            counts.subtract(sets[i])
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
    if not context.afford(len(entries) * len(entries)):
        return
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
