"""JSON text to a Policy, refusing what IAM refuses, with IAM's MalformedPolicyDocument messages."""

from __future__ import annotations

import json
from typing import Any

from ostiary.policy import grammar as g
from ostiary.policy.matchers import glob_matches
from ostiary.policy.model import KINDS, VERSION_2008, VERSION_2012, Condition, Policy, Position, Statement
from ostiary.policy.operators import OPERATORS as CONDITION_OPERATORS
from ostiary.policy.principals import principal_pairs
from ostiary.policy.spans import statement_spans

INVALID_JSON = "This policy contains invalid Json"
NO_PRINCIPAL_ALLOWED = "Policy document should not specify a principal."
MISSING_PRINCIPAL = "Missing required field Principal"
TRUST_ACTIONS = "AssumeRole policy may only specify STS AssumeRole actions."

_TOP = frozenset({"Version", "Id", "Statement"})
_ELEMENTS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)
_WITH_PRINCIPAL = frozenset({"resource", "trust"})
OPERATORS = frozenset({*CONDITION_OPERATORS, "Null"})
TRUST_ACTION_NAMES = (
    "sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity", "sts:tagsession",
    "sts:setsourceidentity", "sts:setcontext",
)  # fmt: skip


def parse_policy(document: str | dict[str, Any], kind: str = "identity", *, managed: bool = False) -> Policy:
    """Parse a policy document of one kind; raise PolicySyntaxError with IAM's message.

    `managed=True` adds the rule of CreatePolicy/CreatePolicyVersion: the version must be 2012-10-17.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown policy kind `{kind}`")
    text = document if isinstance(document, str) else None
    data = _load(document, kind)
    raw = _check_syntax(data, kind)
    if managed and data.get("Version") != VERSION_2012:
        raise g.fail(g.VERSION, "Version")
    resource_error = _check_legacy(raw)
    _check_sids(raw)
    _check_actions_present(raw)
    if kind == "trust":
        _check_trust(raw)
    else:
        _check_resources_present(raw)
        if resource_error:
            raise g.fail(resource_error)
        _check_action_vendors(raw)
    if kind == "resource":
        _check_principals_present(raw)
    return _build(data, raw, kind, text)


def strip_operator(operator: str) -> str:
    """The base operator: without ForAllValues:/ForAnyValue: and without IfExists."""
    for prefix in ("ForAnyValue:", "ForAllValues:"):
        if operator.startswith(prefix):
            operator = operator[len(prefix) :]
            break
    return operator[:-8] if operator.endswith("IfExists") else operator


def _reject_constant(name: str) -> Any:
    """JSON's NaN and Infinity are not JSON to IAM."""
    raise ValueError(name)


def _load(document: str | dict[str, Any], kind: str) -> dict[str, Any]:
    """Decode the text (or accept a dict); refuse anything but a JSON object."""
    message = INVALID_JSON if kind == "trust" else g.SYNTAX
    if isinstance(document, dict):
        data: Any = document
    elif isinstance(document, str):
        try:
            data = json.loads(document, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            raise g.fail(message) from None
    else:
        raise TypeError("a policy document is a str or a dict")
    if not isinstance(data, dict):
        raise g.fail(message)
    return data


def _check_syntax(data: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The syntax stage: element names and value types; return the statements as dicts."""
    if not set(data) <= _TOP or "Statement" not in data:
        raise g.fail(g.SYNTAX)
    if "Version" in data and data["Version"] not in (VERSION_2012, VERSION_2008):
        raise g.fail(g.SYNTAX, "Version")
    if "Id" in data and not isinstance(data["Id"], str):
        raise g.fail(g.SYNTAX, "Id")
    raw = data["Statement"]
    statements = [raw] if isinstance(raw, dict) else raw
    if not isinstance(statements, list) or not statements:
        raise g.fail(g.SYNTAX, "Statement")
    for index, statement in enumerate(statements):
        _check_statement_syntax(statement, kind, f"Statement[{index}]")
    return statements


def _check_statement_syntax(statement: Any, kind: str, path: str) -> None:
    """One statement's syntax: known elements, no pair of opposites, value types."""
    if not isinstance(statement, dict) or not set(statement) <= _ELEMENTS:
        raise g.fail(g.SYNTAX, path)
    if ("Principal" in statement or "NotPrincipal" in statement) and kind not in _WITH_PRINCIPAL:
        raise g.fail(NO_PRINCIPAL_ALLOWED, f"{path}.Principal")
    for one, other in (("Resource", "NotResource"), ("Action", "NotAction"), ("Principal", "NotPrincipal")):
        if one in statement and other in statement:
            raise g.fail(g.SYNTAX, path)
    effect = statement.get("Effect")
    if not isinstance(effect, str) or effect.lower() not in ("allow", "deny"):
        raise g.fail(g.SYNTAX, f"{path}.Effect")
    for name in ("Action", "NotAction", "Resource", "NotResource"):
        if name in statement and not _is_strings(statement[name]):
            raise g.fail(g.SYNTAX, f"{path}.{name}")
    if "Sid" in statement and not isinstance(statement["Sid"], str):
        raise g.fail(g.SYNTAX, f"{path}.Sid")
    if "Condition" in statement:
        _check_condition_syntax(statement["Condition"], f"{path}.Condition")
    for name in ("Principal", "NotPrincipal"):
        if name in statement:
            principal_pairs(statement[name], f"{path}.{name}")


def _is_strings(value: Any) -> bool:
    """Whether a value is a string or a list of strings."""
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))


def _check_condition_syntax(block: Any, path: str) -> None:
    """A Condition block: operator → {key: scalar or list of scalars}; an operator that tests keys is known.

    IAM accepts an operator whose map is empty, even an unknown one (`{"a": {}}`): it tests nothing.
    """
    if not isinstance(block, dict):
        raise g.fail(g.SYNTAX, path)
    for operator, tests in block.items():
        if not isinstance(tests, dict):
            raise g.fail(g.SYNTAX, f"{path}.{operator}")
        for value in tests.values():
            items = value if isinstance(value, list) else [value]
            if not all(isinstance(v, str | bool | int | float) for v in items):
                raise g.fail(g.SYNTAX, f"{path}.{operator}")
        if tests and strip_operator(operator) not in OPERATORS:
            raise g.fail(g.SYNTAX, f"{path}.{operator}")


def _check_legacy(statements: list[dict[str, Any]]) -> str:
    """The legacy stage: Effect case, Date values, resource shapes; return the first format error."""
    for index, statement in enumerate(statements):
        if statement["Effect"] not in ("Allow", "Deny"):
            raise g.fail(g.LEGACY, f"Statement[{index}].Effect")
        for operator, tests in statement.get("Condition", {}).items():
            if strip_operator(operator).startswith("Date"):
                for value in tests.values():
                    for item in value if isinstance(value, list) else [value]:
                        if not g.is_legacy_date(scalar_text(item)):
                            raise g.fail(g.LEGACY, f"Statement[{index}].Condition")
    error = ""
    for index, statement in enumerate(statements):
        for name in ("Resource", "NotResource"):
            if name not in statement:
                continue
            for resource in sorted(g.as_list(statement[name]), reverse=True):
                error = g.resource_format_error(resource) or error
            if not error and not all(g.is_legacy_resource(r) for r in g.as_list(statement[name])):
                raise g.fail(g.LEGACY, f"Statement[{index}].{name}")
    return error


def _check_sids(statements: list[dict[str, Any]]) -> None:
    """Sids, when given and not empty, are unique within the document (IAM repeats `"Sid": ""` freely)."""
    sids = [s["Sid"] for s in statements if s.get("Sid")]
    if len(sids) != len(set(sids)):
        raise g.fail(g.SID)


def _check_actions_present(statements: list[dict[str, Any]]) -> None:
    """Every statement has a non-empty Action or NotAction."""
    for index, statement in enumerate(statements):
        value = statement.get("Action", statement.get("NotAction"))
        if value is None or value == []:
            raise g.fail(g.NO_ACTIONS, f"Statement[{index}]")


def _check_resources_present(statements: list[dict[str, Any]]) -> None:
    """Every statement has a non-empty Resource or NotResource."""
    for index, statement in enumerate(statements):
        value = statement.get("Resource", statement.get("NotResource"))
        if value is None or value == []:
            raise g.fail(g.NO_RESOURCES, f"Statement[{index}]")


def _check_action_vendors(statements: list[dict[str, Any]]) -> None:
    """Every action is `vendor:name` with a valid vendor and one colon (or `*`)."""
    for index, statement in enumerate(statements):
        for name in ("Action", "NotAction"):
            for action in g.as_list(statement.get(name, [])):
                message = g.action_error(action)
                if message:
                    raise g.fail(message, f"Statement[{index}].{name}")


def _check_trust(statements: list[dict[str, Any]]) -> None:
    """A trust policy: only STS assume actions, no Resource, a Principal in every statement."""
    for index, statement in enumerate(statements):
        actions = g.as_list(statement.get("Action", []))
        if "Action" not in statement or not all(
            any(glob_matches(a.lower(), name) for name in TRUST_ACTION_NAMES) for a in actions
        ):
            raise g.fail(TRUST_ACTIONS, f"Statement[{index}].Action")
    for index, statement in enumerate(statements):
        for name in ("Resource", "NotResource"):
            if name in statement:
                raise g.fail(f"Has prohibited field {name}", f"Statement[{index}].{name}")
    _check_principals_present(statements)


def _check_principals_present(statements: list[dict[str, Any]]) -> None:
    """Every statement of a resource or trust policy names a Principal or NotPrincipal."""
    for index, statement in enumerate(statements):
        if "Principal" not in statement and "NotPrincipal" not in statement:
            raise g.fail(MISSING_PRINCIPAL, f"Statement[{index}]")


def scalar_text(value: Any) -> str:
    """A condition (or context) value as the string IAM compares: JSON true → "true", 10 → "10"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _build(data: dict[str, Any], raw: list[dict[str, Any]], kind: str, text: str | None) -> Policy:
    """The checked dicts as a Policy model, statements with their positions when text is known."""
    spans = statement_spans(text) if text is not None else []
    if len(spans) != len(raw):
        spans = [(None, None)] * len(raw)
    statements = tuple(_statement(i, s, spans[i]) for i, s in enumerate(raw))
    return Policy(statements, data.get("Version"), data.get("Id"), kind, text)


def _statement(index: int, raw: dict[str, Any], span: tuple[Position | None, Position | None]) -> Statement:
    """One checked statement dict as a Statement."""
    action_key = "Action" if "Action" in raw else "NotAction"
    resource_key = "Resource" if "Resource" in raw else "NotResource"
    principal_key = "Principal" if "Principal" in raw else "NotPrincipal"
    conditions = tuple(
        Condition(
            operator, key, tuple(scalar_text(v) for v in (value if isinstance(value, list) else [value]))
        )
        for operator, tests in raw.get("Condition", {}).items()
        for key, value in tests.items()
    )
    return Statement(
        index=index,
        effect=raw["Effect"],
        sid=raw.get("Sid"),
        actions=tuple(g.as_list(raw.get(action_key, []))),
        is_not_action="NotAction" in raw,
        resources=tuple(g.as_list(raw[resource_key])) if resource_key in raw else None,
        is_not_resource="NotResource" in raw,
        principals=principal_pairs(raw[principal_key], "") if principal_key in raw else None,
        is_not_principal="NotPrincipal" in raw,
        conditions=conditions,
        start=span[0],
        end=span[1],
    )
