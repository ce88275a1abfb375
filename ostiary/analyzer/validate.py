"""ValidatePolicy: every finding on one document, in the order of the text."""

from __future__ import annotations

from ostiary.analyzer import conditions, document, permissive, redundancy, targets, variables
from ostiary.analyzer.context import IDENTITY, RCP, RESOURCE, SCP, TRUST, Context
from ostiary.analyzer.finding import Finding, Location
from ostiary.analyzer.issues import details
from ostiary.analyzer.jsontext import JsonSyntaxError, parse

POLICY_TYPES = (IDENTITY, RESOURCE, SCP, RCP)
_STATEMENT_CHECKS = (
    document.check_statement,
    targets.check_actions,
    targets.check_resources,
    conditions.check_condition,
    variables.check_variables,
    permissive.check_broad_grants,
    redundancy.check_redundant_actions,
    redundancy.check_redundant_resources,
)


def validate(text: str, policy_type: str = IDENTITY, resource_type: str | None = None) -> list[Finding]:
    """All findings on a policy document of one type (and, for resource policies, resource type)."""
    if policy_type not in POLICY_TYPES:
        raise ValueError(f"unknown policy type `{policy_type}`")
    context = Context(text, policy_type, resource_type)
    try:
        root = parse(text)
    except JsonSyntaxError as error:
        where = context.position(min(error.offset, len(text)))
        fields = {"index": where.offset, "line": where.line, "column": where.column}
        return [
            Finding(
                "JSON_SYNTAX_ERROR", details("JSON_SYNTAX_ERROR", **fields), (Location((), where, where),)
            )
        ]
    statements = document.check_top(context, root)
    for index, statement in statements:
        path = document.statement_path(index)
        for check in _STATEMENT_CHECKS:
            check(context, path, statement)
    document.check_sids(context, statements)
    redundancy.check_redundant_statements(context, [(i, s) for i, s in statements if i >= 0])
    _check_version_variables(context, root)
    permissive.check_size(context, root)
    return sorted(context.findings, key=_order)


def _check_version_variables(context: Context, root: object) -> None:
    """Variables need Version 2012-10-17: without it they are literal text."""
    from ostiary.analyzer.jsontext import Node

    assert isinstance(root, Node)
    version = root.get("Version") if root.kind == "object" else None
    if context.uses_variables and (version is None or version.value != "2012-10-17"):
        context.add("VARIABLE_UNSUPPORTED_IN_VERSION", ("Version",) if version else (), version or root)


def _order(finding: Finding) -> tuple[int, int]:
    """Findings in the order of their first location in the text."""
    first = finding.locations[0] if finding.locations else None
    return (first.start.offset, first.end.offset) if first else (0, 0)


def guess_kind(text: str) -> str:
    """identity, resource or trust, from what the document holds (Principal, sts:AssumeRole*, Resource)."""
    try:
        data = parse(text).plain()
    except JsonSyntaxError:
        return "identity"
    raw = data.get("Statement") if isinstance(data, dict) else None
    statements = [raw] if isinstance(raw, dict) else raw if isinstance(raw, list) else []
    statements = [s for s in statements if isinstance(s, dict)]
    if not any("Principal" in s or "NotPrincipal" in s for s in statements):
        return "identity"
    actions = [a for s in statements for a in _as_list(s.get("Action"))]
    is_trust = actions and all(isinstance(a, str) and a.lower().startswith("sts:assumerole") for a in actions)
    if is_trust and not any("Resource" in s or "NotResource" in s for s in statements):
        return "trust"
    return "resource"


def _as_list(value: object) -> list[object]:
    """A string-or-list element as a list."""
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


KINDS: dict[str, tuple[str, str | None]] = {
    "identity": (IDENTITY, None),
    "boundary": (IDENTITY, None),
    "session": (IDENTITY, None),
    "resource": (RESOURCE, None),
    "trust": (RESOURCE, TRUST),
    "scp": (SCP, None),
    "rcp": (RCP, None),
}
