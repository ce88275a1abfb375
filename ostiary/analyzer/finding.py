"""A validation finding as Access Analyzer's ValidatePolicy returns it: type, code, details, locations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ostiary.analyzer.issues import ISSUES, learn_more_link


@dataclass(frozen=True, slots=True)
class Key:
    """A last path step that points at an object's key itself ({"key": ...}), not at its value."""

    name: str


# A member's value ({"value": name}), an array index ({"index": n}) or a key itself ({"key": name}).
PathStep = str | int | Key


@dataclass(frozen=True, slots=True)
class Position:
    """A place in the text: line 1-based, column 0-based, offset 0-based (as AWS reports them)."""

    line: int
    column: int
    offset: int


@dataclass(frozen=True, slots=True)
class Location:
    """Where a finding points: the path to an element and the span of its text."""

    path: tuple[PathStep, ...]
    start: Position
    end: Position

    def as_api(self) -> dict[str, Any]:
        """The `Location` shape of botocore's accessanalyzer model."""
        steps = [_step(s) for s in self.path]
        return {
            "path": steps,
            "span": {
                "start": {"line": self.start.line, "column": self.start.column, "offset": self.start.offset},
                "end": {"line": self.end.line, "column": self.end.column, "offset": self.end.offset},
            },
        }


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding: the issue code (its type and link come from the catalogue) and its details."""

    issue_code: str
    details: str
    locations: tuple[Location, ...]

    @property
    def finding_type(self) -> str:
        """ERROR, SECURITY_WARNING, WARNING or SUGGESTION."""
        return ISSUES[self.issue_code][0]

    def as_api(self) -> dict[str, Any]:
        """The `ValidatePolicyFinding` shape of botocore's accessanalyzer model."""
        return {
            "findingDetails": self.details,
            "findingType": self.finding_type,
            "issueCode": self.issue_code,
            "learnMoreLink": learn_more_link(self.issue_code),
            "locations": [location.as_api() for location in self.locations],
        }


def _step(step: PathStep) -> dict[str, Any]:
    """One PathElement of botocore's model."""
    if isinstance(step, Key):
        return {"key": step.name}
    return {"index": step} if isinstance(step, int) else {"value": step}
