"""Conditions compiled once: operator, set modifier (ForAllValues/ForAnyValue), IfExists, variables.

What an operator means when the key is absent (AWS's documented rules): a positive operator is
false, a negated one (StringNotEquals, NotIpAddress, ArnNotLike…) true; `…IfExists` is true;
a policy value whose variable has no value matches no request value (a negated operator is true);
ForAllValues is true and ForAnyValue false; Null tests presence itself. A key present with no
values counts as absent for Null, is true for ForAllValues and false for ForAnyValue.
"""

from __future__ import annotations

from typing import Any

from ostiary.policy.matchers import compile_glob
from ostiary.policy.model import Condition
from ostiary.policy.operators import OPERATORS, _any_glob
from ostiary.policy.request import Request, reference_key
from ostiary.policy.variables import Part, parse_template, render_matcher, render_text

_ERRORS = (ValueError, OverflowError, TypeError)


class CompiledCondition:
    """One key test, ready to run against a request; `test` never raises."""

    __slots__ = ("key", "name", "label", "modifier", "if_exists", "negated", "is_null", "absent", "_match",
                 "_prepared", "_prepare", "_templates", "_error")  # fmt: skip

    def __init__(self, condition: Condition, has_variables: bool) -> None:
        self.key = condition.key.lower()
        reference_key(self.key)
        self.name = condition.key
        self.label = f"{condition.operator} {condition.key}"
        name = condition.operator
        self.modifier = ""
        for prefix in ("ForAllValues:", "ForAnyValue:"):
            if name.startswith(prefix):
                self.modifier, name = prefix[:-1], name[len(prefix) :]
        self.if_exists = name.endswith("IfExists") and name != "IfExists"
        name = name[:-8] if self.if_exists else name
        self.is_null = name == "Null"
        self._error = ""
        self._templates: tuple[tuple[Part, ...] | str, ...] | None = None
        self._prepared: Any = None
        if self.is_null:
            self._null_values(condition.values)
            return
        prepare, self._match, self.negated = OPERATORS[name]
        # what the test answers when the key is absent
        self.absent = (
            self.if_exists
            or self.modifier == "ForAllValues"
            or (self.negated and self.modifier != "ForAnyValue")
        )
        self._prepare = prepare
        templates = tuple(parse_template(v) or v for v in condition.values) if has_variables else ()
        if any(not isinstance(t, str) for t in templates):
            self._templates = templates
            return
        try:
            self._prepared = prepare(condition.values)
        except _ERRORS as error:
            self._error = f"{self.label}: {error}"

    def _null_values(self, values: tuple[str, ...]) -> None:
        """Null's values: true (the key must be absent) or false (present)."""
        self.negated = False
        lowered = {v.lower() for v in values}
        if not lowered <= {"true", "false"}:
            self._error = f"{self.label}: Null takes true or false"
        self._prepared = lowered

    def test(self, request: Request, errors: list[str], missing: list[str]) -> bool:
        """Whether the request satisfies this test; problems go to `errors`, absent keys to `missing`."""
        if self._error:
            errors.append(self._error)
            return False
        values = request.values(self.key)
        if self.is_null:
            absent = not values
            return ("true" in self._prepared and absent) or ("false" in self._prepared and not absent)
        if values is None:
            missing.append(self.name)
            return self.absent
        prepared = self._prepared if self._templates is None else self._render(request, errors)
        if prepared is None:
            return False
        if self.modifier == "ForAllValues":
            return all(self._hit(prepared, v, errors) != self.negated for v in values)
        if self.modifier == "ForAnyValue":
            return any(self._hit(prepared, v, errors) != self.negated for v in values)
        return any(self._hit(prepared, v, errors) for v in values) != self.negated

    def _hit(self, prepared: Any, value: str, errors: list[str]) -> bool:
        """The positive operator on one request value; a value it cannot read does not match."""
        try:
            return self._match(prepared, value)
        except _ERRORS:
            errors.append(f"{self.label}: request value `{value}` cannot be compared")
            return False

    def _render(self, request: Request, errors: list[str]) -> Any:
        """Prepare values holding variables; None when a value is bad.

        A value whose variable has no value is left out: it equals and is like nothing, so a
        positive operator does not match it and a negated one (StringNotEquals…) does.
        """
        templates = self._templates or ()
        if self._match is _any_glob:
            matchers = [
                compile_glob(t) if isinstance(t, str) else render_matcher(t, request) for t in templates
            ]
            return tuple(m for m in matchers if m is not None)
        texts = [t if isinstance(t, str) else render_text(t, request) for t in templates]
        rendered = tuple(t for t in texts if t is not None)
        try:
            return self._prepare(rendered)
        except _ERRORS as error:
            errors.append(f"{self.label}: {error}")
            return None
