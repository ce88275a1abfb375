"""Templates rendered once per set of variable values: `${aws:username}` is the same on most requests.

A rendering (a resource matcher, a condition's prepared values) depends only on the value each
variable takes, so it is remembered under those values; `resolve` reads a variable exactly as
`variables._value` does, from the request's lowercased keys.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from ostiary.policy.request import Request, _values
from ostiary.policy.variables import Part, Variable

T = TypeVar("T")
Render = Callable[[Request, dict[str, object]], T]
_LIMIT = 256
_MISS = object()


def resolve(keys: dict[str, object], variable: Variable) -> str | None:
    """The variable's value: the key's single value, else its default, else None."""
    value = keys.get(variable.key)
    if value.__class__ is str:
        return value
    if value is not None:
        values = _values(value)  # type: ignore[arg-type]
        if len(values) == 1:
            return values[0]
    return variable.default


def remembered(templates: Sequence[tuple[Part, ...] | str], build: Callable[[Request], T]) -> Render[T]:
    """`build(request)`, remembered per the values of the templates' variables."""
    variables = tuple(p for t in templates if not isinstance(t, str) for p in t if isinstance(p, Variable))
    only = variables[0] if len(variables) == 1 else None  # the values' key is then the value itself
    memo: dict[object, T] = {}

    def render(request: Request, keys: dict[str, object]) -> T:
        if only is not None:
            values: object = resolve(keys, only)
        else:
            values = tuple([resolve(keys, v) for v in variables])
        found = memo.get(values, _MISS)
        if found is _MISS:
            found = build(request)
            if len(memo) >= _LIMIT:
                memo.clear()
            memo[values] = found
        return found  # type: ignore[return-value]

    return render
