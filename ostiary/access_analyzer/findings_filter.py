"""Filters on findings (FilterCriteriaMap): what ListFindings and archive rules select by. A key names a
finding's attribute (`status`, `resource`, `principal.AWS`, `condition.aws:SourceIp`...); a Criterion
holds eq, neq, contains (lists of 1 to 20 strings) and exists. Every criterion of a filter must hold."""

from __future__ import annotations

from typing import Any

from ostiary.access_analyzer.errors import ValidationException

MAX_KEYS = 50
MAX_VALUE_LENGTH = 2048
_COMMON = frozenset(
    ("id", "status", "resource", "resourceType", "resourceOwnerAccount", "findingType", "error")
)
_EXTERNAL = frozenset(
    (
        "isPublic",
        "action",
        "principal.AWS",
        "principal.Federated",
        "principal.CanonicalUser",
        "principal.Service",
    )
)
_OPERATORS = ("eq", "neq", "contains", "exists")

Filter = dict[str, dict[str, Any]]


def check(value: Any, analyzer_type: str, member: str = "filter") -> Filter:
    """A filter as given, checked: known keys for the analyzer's type, well-formed criteria."""
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_KEYS:
        raise ValidationException(
            f"Invalid {member}", "fieldValidationFailed", [{"name": member, "message": "Invalid filter"}]
        )
    checked: Filter = {}
    for key, criterion in value.items():
        if not _is_known(key, analyzer_type):
            raise ValidationException(
                f"Invalid filter key: {str(key)[:256]}",
                "fieldValidationFailed",
                [{"name": member, "message": "Invalid filter key"}],
            )
        checked[key] = _criterion(key, criterion, member)
    return checked


def _is_known(key: Any, analyzer_type: str) -> bool:
    if not isinstance(key, str) or not 1 <= len(key) <= 256:
        return False
    if key in _COMMON:
        return True
    external = analyzer_type == "ACCOUNT"
    return external and (key in _EXTERNAL or (key.startswith("condition.") and len(key) > len("condition.")))


def _criterion(key: str, value: Any, member: str) -> dict[str, Any]:
    def invalid(reason: str) -> ValidationException:
        return ValidationException(
            f"Invalid criterion for {key}: {reason}",
            "fieldValidationFailed",
            [{"name": member, "message": reason}],
        )

    if not isinstance(value, dict) or not value or set(value) - set(_OPERATORS):
        raise invalid("a criterion holds eq, neq, contains or exists")
    for operator in ("eq", "neq", "contains"):
        values = value.get(operator)
        if values is None:
            continue
        if not isinstance(values, list) or not 1 <= len(values) <= 20:
            raise invalid(f"{operator} must list 1 to 20 values")
        if not all(isinstance(v, str) and len(v) <= MAX_VALUE_LENGTH for v in values):
            raise invalid(f"{operator} values must be strings of at most {MAX_VALUE_LENGTH} characters")
    if "exists" in value and not isinstance(value["exists"], bool):
        raise invalid("exists must be a boolean")
    return dict(value)


def matches(criteria: Filter, finding: dict[str, Any]) -> bool:
    """Whether a finding (its content, with `id` and `status`) meets every criterion."""
    return all(_meets(criterion, attribute(finding, key)) for key, criterion in criteria.items())


def attribute(finding: dict[str, Any], key: str) -> list[str]:
    """A finding's values for a filter key (none when it has no such attribute)."""
    if key.startswith("principal."):
        value = (finding.get("principal") or {}).get(key.split(".", 1)[1])
        return [] if value is None else [value]
    if key.startswith("condition."):
        wanted = key.split(".", 1)[1].lower()
        return [v for k, v in (finding.get("condition") or {}).items() if k.lower() == wanted]
    value = finding.get(key)
    if value is None:
        return []
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def _meets(criterion: dict[str, Any], values: list[str]) -> bool:
    if "eq" in criterion and not any(v in criterion["eq"] for v in values):
        return False
    if "neq" in criterion and any(v in criterion["neq"] for v in values):
        return False
    if "contains" in criterion and not any(part in v for v in values for part in criterion["contains"]):
        return False
    return "exists" not in criterion or criterion["exists"] == bool(values)
