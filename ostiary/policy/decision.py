"""Decision: Allow, ExplicitDeny or ImplicitDeny, the statements that decided, and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ostiary.policy.model import Position

ALLOW = "Allow"
EXPLICIT_DENY = "ExplicitDeny"
IMPLICIT_DENY = "ImplicitDeny"

# policy type → the words AWS uses for it in an AccessDenied message
TYPE_WORDS = {
    "identity": "identity-based policy",
    "resource": "resource-based policy",
    "trust": "resource-based policy",
    "boundary": "permissions boundary",
    "session": "session policy",
    "scp": "service control policy",
}


@dataclass(frozen=True, slots=True)
class MatchedStatement:
    """A statement that applied to the request: which policy, which statement, where it is."""

    policy_id: str
    policy_type: str
    index: int
    effect: str
    sid: str | None = None
    start: Position | None = None
    end: Position | None = None

    @property
    def label(self) -> str:
        """`policy_id:Sid`, or `policy_id:#index` when the statement has no Sid."""
        return f"{self.policy_id}:{self.sid}" if self.sid else f"{self.policy_id}:#{self.index}"

    def as_dict(self) -> dict[str, object]:
        """The statement as plain data for the eval format."""
        found: dict[str, object] = {
            "policy": self.policy_id,
            "type": self.policy_type,
            "effect": self.effect,
            "sid": self.sid,
            "index": self.index,
        }
        if self.start is not None and self.end is not None:
            found["start"] = [self.start.line, self.start.column]
            found["end"] = [self.end.line, self.end.column]
        return found


@dataclass(frozen=True, slots=True)
class Decision:
    """The engine's answer. `statements` are the deciding ones: the Denies, or the Allows used."""

    decision: str
    reason: str = ""
    statements: tuple[MatchedStatement, ...] = ()
    errors: tuple[str, ...] = ()
    missing_context_keys: tuple[str, ...] = ()

    @property
    def is_allowed(self) -> bool:
        """Whether the request is allowed."""
        return self.decision == ALLOW

    def message(self, principal_arn: str, action: str, resource: str) -> str:
        """AWS's AccessDenied message for this decision."""
        text = f"User: {principal_arn} is not authorized to perform: {action} on resource: {resource}"
        return f"{text} {self.reason}" if self.reason else text


def explicit_deny_reason(policy_type: str) -> str:
    """AWS's phrase for an explicit deny in one type of policy."""
    return f"with an explicit deny in {_article(TYPE_WORDS[policy_type])}"


def implicit_deny_reason(policy_type: str, action: str) -> str:
    """AWS's phrase for a missing allow in one type of policy."""
    return f"because no {TYPE_WORDS[policy_type]} allows the {action} action"


def _article(words: str) -> str:
    """`an identity-based policy`, `a service control policy`."""
    return ("an " if words[0] in "aeiou" else "a ") + words


_new = object.__new__


def _slot(name: str) -> Any:
    """The setter of one of Decision's slots (bypassing the frozen `__setattr__`)."""
    return getattr(Decision, name).__set__


_set_decision = _slot("decision")
_set_reason = _slot("reason")
_set_statements = _slot("statements")
_set_errors = _slot("errors")
_set_missing = _slot("missing_context_keys")


def make_decision(
    decision: str,
    reason: str,
    statements: tuple[MatchedStatement, ...],
    errors: tuple[str, ...] = (),
    missing: tuple[str, ...] = (),
) -> Decision:
    """`Decision(...)` without the frozen dataclass's per-field `object.__setattr__` (the hot path's)."""
    found = _new(Decision)
    _set_decision(found, decision)
    _set_reason(found, reason)
    _set_statements(found, statements)
    _set_errors(found, errors)
    _set_missing(found, missing)
    return found
