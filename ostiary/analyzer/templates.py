"""Policy variables in the exact checks: a pattern holding `${key}` is a membership whose glob is known only
once the key's value is.

The solver treats such a membership as a free Boolean: any proof of PASS then holds for every value
(an over-approximation, so it is sound). An example is made concrete by rendering the pattern with
the values chosen for the other variables, as the engine renders it: a key with exactly one value
substitutes it (literally: its `*` and `?` are characters in Resource and StringLike); otherwise the
default (`${key, 'default'}`), or no value at all, and the pattern matches nothing. `${*}`, `${?}` and
`${$}` are the characters themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ostiary.analyzer.globs import Budget, Glob, Token, arn_glob, glob, witness
from ostiary.policy import Policy, variables

MODES = ("glob", "literal", "ignore_case", "arn")


@dataclass(frozen=True)
class Variable:
    """`${key}` or `${key, 'default'}` (key lowercased)."""

    key: str
    default: str | None = None


Part = str | Variable  # text of the pattern, or a variable; a special is a Variable with key ""


@dataclass(frozen=True)
class Template:
    """A pattern with variables and how it is compared: glob, literal, ignore_case or arn."""

    parts: tuple[Part, ...]
    mode: str

    @property
    def keys(self) -> frozenset[str]:
        """The keys whose values it reads."""
        return frozenset(p.key for p in self.parts if isinstance(p, Variable) and p.key)

    def render(self, values: Callable[[str], Sequence[str] | None]) -> Glob | None:
        """The glob once each variable has its value, or None when one has none."""
        pieces: list[tuple[str, bool]] = []  # (text, is literal)
        for part in self.parts:
            if isinstance(part, str):
                pieces.append((part, False))
                continue
            if not part.key:
                pieces.append((part.default or "", True))
                continue
            found = values(part.key)
            value = found[0] if found is not None and len(found) == 1 else part.default
            if value is None:
                return None
            pieces.append((value, True))
        text = "".join(t for t, _ in pieces)
        if self.mode == "literal":
            return glob(text, is_literal=True)
        if self.mode == "ignore_case":
            return glob(text, is_literal=True, ignore_case=True)
        if self.mode == "arn":
            return arn_glob(text)
        tokens = tuple(t for text, literal in pieces for t in glob(text, is_literal=literal).tokens)
        return Glob(tokens)

    def widened(self) -> Glob | None:
        """A glob holding every rendering: each variable as `*` (None for ArnLike, whose segments shift)."""
        if self.mode == "arn":
            return None
        tokens: list[Token] = []
        for part in self.parts:
            if isinstance(part, str):
                literal = self.mode != "glob"
                tokens.extend(glob(part, is_literal=literal, ignore_case=self.mode == "ignore_case").tokens)
            elif part.key:
                tokens.extend(glob("*").tokens)
            else:
                tokens.extend(glob(part.default or "", is_literal=True).tokens)
        return Glob(tuple(tokens))

    def split(self) -> tuple[Glob, str, Glob] | None:
        """(before, key, after) for `before ${key} after` with one variable and no default, else None."""
        keyed = [i for i, p in enumerate(self.parts) if isinstance(p, Variable) and p.key]
        if self.mode not in ("glob", "literal") or len(keyed) != 1:
            return None
        variable = self.parts[keyed[0]]
        if not isinstance(variable, Variable) or variable.default is not None:
            return None
        return self._glob(self.parts[: keyed[0]]), variable.key, self._glob(self.parts[keyed[0] + 1 :])

    def _glob(self, parts: tuple[Part, ...]) -> Glob:
        tokens: list[Token] = []
        for part in parts:
            if isinstance(part, str):
                tokens.extend(glob(part, is_literal=self.mode != "glob").tokens)
            else:
                tokens.extend(glob(part.default or "", is_literal=True).tokens)
        return Glob(tuple(tokens))


def parse(text: str, mode: str) -> Template | None:
    """The pattern's template, or None when it holds no variable (read by the engine's
    `parse_template`; a special character becomes a Variable with key "")."""
    found = variables.parse_template(text)
    if found is None:
        return None
    parts = tuple(
        p
        if isinstance(p, str)
        else Variable("", p.char)
        if isinstance(p, variables.Special)
        else Variable(p.key, p.default)
        for p in found
    )
    return Template(parts, mode)


def keys_read(policies: Sequence[Policy]) -> set[str]:
    """The keys policy variables read in the policies' resources and string condition values."""
    found: set[str] = set()
    for policy in policies:
        if not policy.has_variables:
            continue
        for statement in policy.statements:
            for text in statement.resources or ():
                template = parse(text, "glob")
                found |= template.keys if template is not None else set()
            for condition in statement.conditions:
                for text in condition.values:
                    template = parse(text, "glob")
                    found |= template.keys if template is not None else set()
    return found


def within(small: Glob, large: Glob) -> bool:
    """Whether every string of `small` matches `large` (False when the automata give up)."""
    try:
        return witness([small], [large], budget=2000) is None
    except Budget:
        return False
