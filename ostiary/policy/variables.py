"""Policy variables: `${aws:username}`, `${aws:PrincipalTag/team}`, `${*}` `${?}` `${$}`, defaults.

A template is text with variables; it renders against a request to a plain string (for exact
operators) or to a matcher (for Resource and the Like operators), where substituted values and the
special characters `${*}` and `${?}` match only themselves. A variable with no value and no
default renders to None: the element does not match.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ostiary.policy.matchers import Matcher, compile_glob, compile_pieces
from ostiary.policy.request import reference_key

_SPECIAL = {"*": "*", "?": "?", "$": "$"}


class Lookup(Protocol):
    """Anything with the request's `get(key) -> values | None`."""

    def get(self, key: str) -> tuple[str, ...] | None: ...  # pragma: no cover


@dataclass(frozen=True, slots=True)
class Variable:
    """`${key}` or `${key, 'default'}`; `key` is lowercased."""

    key: str
    default: str | None = None

    def __post_init__(self) -> None:
        reference_key(self.key)


@dataclass(frozen=True, slots=True)
class Special:
    """`${*}`, `${?}` or `${$}`: one character that matches only itself."""

    char: str


Part = str | Variable | Special


def parse_template(text: str) -> tuple[Part, ...] | None:
    """The parts of a text holding variables, or None when it holds none."""
    if "${" not in text:
        return None
    parts: list[Part] = []
    index = 0
    while True:
        start = text.find("${", index)
        end = text.find("}", start + 2) if start >= 0 else -1
        if start < 0 or end < 0:
            parts.append(text[index:])
            break
        parts.append(text[index:start])
        parts.append(_variable(text[start + 2 : end]))
        index = end + 1
    found = tuple(p for p in parts if p != "")
    return found if any(not isinstance(p, str) for p in found) else None


def _variable(body: str) -> Variable | Special:
    """One variable from the text between `${` and `}`."""
    if body in _SPECIAL:
        return Special(_SPECIAL[body])
    name, comma, rest = body.partition(",")
    default = None
    rest = rest.strip()
    if comma and len(rest) >= 2 and rest[0] == rest[-1] == "'":
        default = rest[1:-1]
    return Variable(name.strip().lower(), default)


def _value(variable: Variable, request: Lookup) -> str | None:
    """A variable's value: the key's single value, else its default, else None."""
    values = request.get(variable.key)
    if values is not None and len(values) == 1:
        return values[0]
    return variable.default


def render_text(parts: tuple[Part, ...], request: Lookup) -> str | None:
    """The template as a plain string, or None when a variable has no value."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, Special):
            out.append(part.char)
        else:
            value = _value(part, request)
            if value is None:
                return None
            out.append(value)
    return "".join(out)


def render_matcher(parts: tuple[Part, ...], request: Lookup) -> Matcher | None:
    """The template as a wildcard matcher in which substituted text is literal, or None."""
    values: list[str] = []
    is_plain = True
    for part in parts:
        if isinstance(part, str):
            values.append(part)
            continue
        value = part.char if isinstance(part, Special) else _value(part, request)
        if value is None:
            return None
        if "*" in value or "?" in value:
            is_plain = False
        values.append(value)
    if is_plain:
        return compile_glob("".join(values))
    return compile_pieces(tuple((v, not isinstance(p, str)) for p, v in zip(parts, values, strict=True)))
