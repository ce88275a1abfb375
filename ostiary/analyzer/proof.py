"""The decision loop: z3 over the Boolean abstraction, glob automata for the memberships (lazy).

z3 proposes a model; its implicant's memberships are grouped by string variable and each group is
handed to `globs.witness`. A group no string realises is shrunk to a small core and blocked with a
clause, and z3 asked again. When every group has a witness, the model and the witnesses make a
concrete request, which the caller's `confirm` (the engine) must accept before it is reported.
UNSAT proves that no request exists; a timeout, an automaton budget or an unconfirmed example is
`unknown`, never a proof.

A portfolio: z3 gets `Z3_SHARE` of the time left on each query; where it answers unknown, the same
query goes to cvc5 (`portfolio`) with the rest, and cvc5's sat (a model of the same constants) or
unsat is used exactly as z3's would be: the example still has to be realised and confirmed.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import z3

from ostiary.analyzer import formula as f
from ostiary.analyzer.encode import ACTION, RESOURCE, Space
from ostiary.analyzer.globs import Budget, Glob, witness
from ostiary.analyzer.portfolio import decide
from ostiary.analyzer.templates import Template

TIMEOUT_SECONDS = 10.0
Z3_SHARE = 0.5  # of the time left, z3's on each query; cvc5 has the rest where z3 answers unknown
Z3_RLIMIT = 0  # z3's resource limit per query (0: none); tests set 1 to make z3 give up on every query
_LEMMA_LIMIT = 4000
_BOOL_WORDS = ("false", "true", "maybe")


@dataclass(frozen=True)
class Example:
    """A concrete request: action, resource, the principal's index in the universe, context keys."""

    action: str
    resource: str
    principal: int = 0
    context: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """One line for a reason's description."""
        text = f"action `{self.action}` on resource `{self.resource}`"
        if self.context:
            shown = ", ".join(f"{k}={v!r}" for k, v in sorted(self.context.items()))
            text += f" with context {{{shown}}}"
        return text

    def as_dict(self) -> dict[str, Any]:
        """Plain data (the principal is the caller's business)."""
        return {"action": self.action, "resource": self.resource, "context": self.context}


@dataclass(frozen=True)
class Outcome:
    """`example` when a request exists (confirmed), `unknown` when neither proven nor found."""

    example: Example | None = None
    unknown: str = ""

    @property
    def is_proven(self) -> bool:
        """No request exists."""
        return self.example is None and not self.unknown


def search(
    space: Space,
    goal: f.Node,
    confirm: Callable[[Example], bool],
    timeout_seconds: float = TIMEOUT_SECONDS,
    budget: int = 20000,
) -> Outcome:
    """Find a request satisfying `goal` in `space`, or prove there is none."""
    deadline = time.monotonic() + timeout_seconds
    root = f.all_of((goal, space.universe()))
    if root.kind == "false":
        return Outcome()
    solver = z3.Solver(ctx=space.ctx)
    solver.set("random_seed", 7)
    solver.add(root.to_z3(space.ctx))
    for lemma in _lemmas(space):
        solver.add(lemma)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return Outcome(unknown="the check passed its time limit")
        solved = _solve(solver, space, deadline)
        if isinstance(solved, str):
            return Outcome(unknown=solved)
        if solved is None:
            if space.is_bounded:
                return Outcome(unknown="a condition key has more distinct tests than the procedure models")
            return Outcome()
        model = solved
        cube = f.implicant(root, f.Valuation(model, space.atoms))
        try:
            witnesses, blocks = _realise(cube, deadline)
        except Budget as error:
            return Outcome(unknown=f"a wildcard pattern is too complex ({error})")
        if blocks:
            for block in blocks:
                solver.add(block)
            continue
        try:
            rendered = _render_templates(space, model, cube, witnesses)
        except Budget as error:
            return Outcome(unknown=f"a wildcard pattern is too complex ({error})")
        if rendered is None:
            return Outcome(unknown="no example found for the patterns holding policy variables")
        example = _example(space, model, *rendered)
        if confirm(example):
            return Outcome(_minimal(example, confirm, deadline))
        return Outcome(unknown=f"the engine did not confirm the example request ({example.describe()})")


def _solve(solver: Any, space: Space, deadline: float) -> Any:
    """A model of the solver's assertions, None when there is none, or why neither is known: z3 first
    (its share of the time left), then cvc5 on the same assertions with the rest."""
    remaining = deadline - time.monotonic()
    solver.set("timeout", max(1, int(remaining * Z3_SHARE * 1000)))
    solver.set("rlimit", Z3_RLIMIT)
    answer = solver.check()
    if answer == z3.sat:
        return solver.model()
    if answer == z3.unsat:
        return None
    first = solver.reason_unknown()
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return f"the solver could not decide ({first})"
    second = decide(solver.assertions(), space.ctx, remaining)
    if second.unsat:
        return None
    if second.model is not None:
        return second.model
    return f"the solver could not decide (z3: {first}; {second.reason})"


def _minimal(example: Example, confirm: Callable[[Example], bool], deadline: float) -> Example:
    """The example without the context keys it does not need (each drop confirmed by the engine),
    dropped in halves, then quarters... down to one key at a time; as far as it got by the deadline
    (a confirmed example either way: thousands of needed keys took a confirmation each, for minutes)."""
    names = sorted(example.context)
    size = len(names)
    while size >= 1 and names:
        index = 0
        while index < len(names):
            if time.monotonic() > deadline:
                return example
            dropped = set(names[index : index + size])
            context = {k: v for k, v in example.context.items() if k not in dropped}
            trial = Example(example.action, example.resource, example.principal, context)
            if confirm(trial):
                example, names = trial, [n for n in names if n not in dropped]
            else:
                index += size
        size //= 2
    return example


def _lemmas(space: Space) -> list[Any]:
    """Eager facts: one variable equals at most one literal, and a literal decides the other patterns."""
    by_variable: dict[str, list[f.Atom]] = {}
    for one in space.atoms.values():
        if one.glob is not None:
            by_variable.setdefault(one.variable, []).append(one)
    lemmas: list[Any] = []
    for atoms in by_variable.values():
        literals = [a for a in atoms if _glob(a).is_literal]
        others = [a for a in atoms if not _glob(a).is_literal]
        if len(literals) > 1:
            lemmas.append(z3.AtMost(*[a.term for a in literals], 1))
        if len(literals) * len(others) <= _LEMMA_LIMIT:
            for literal in literals:
                text = _glob(literal).text()
                for other in others:
                    implied = other.term if _glob(other).matches(text) else z3.Not(other.term)
                    lemmas.append(z3.Implies(literal.term, implied))
    return lemmas


def _realise(cube: dict[str, tuple[f.Atom, bool]], deadline: float) -> tuple[dict[str, str], list[Any]]:
    """A witness string per variable, or the clauses that block the groups no string realises."""
    groups: dict[str, tuple[list[Glob], list[Glob], list[f.Atom], list[f.Atom]]] = {}
    for one, wanted in cube.values():
        if one.glob is None:
            continue
        group = groups.setdefault(one.variable, ([], [], [], []))
        (group[0] if wanted else group[1]).append(one.glob)
        (group[2] if wanted else group[3]).append(one)
    witnesses: dict[str, str] = {}
    blocks: list[Any] = []
    for variable, (inside, outside, atoms_in, atoms_out) in groups.items():
        try:
            found = witness(inside, outside, budget=2000, deadline=deadline)
        except Budget:  # a hard group: one pattern excluding the whole of the others is the usual reason
            pair = _covering(atoms_in, atoms_out, deadline)
            if pair is not None:
                blocks.append(z3.Or([z3.Not(a.term) for a in atoms_in] + [pair.term]))
                continue
            found = witness(inside, outside, deadline=deadline)
        if found is None:
            core_in, core_out = _core(atoms_in, atoms_out, deadline)
            blocks.append(z3.Or([z3.Not(a.term) for a in core_in] + [a.term for a in core_out]))
        else:
            witnesses[variable] = found
    return witnesses, blocks


def _covering(inside: list[f.Atom], outside: list[f.Atom], deadline: float) -> f.Atom | None:
    """An excluded pattern that holds every string the required ones match, if one does."""
    globs = [_glob(a) for a in inside]
    for other in outside:
        try:
            if witness(globs, [_glob(other)], budget=3000, deadline=deadline) is None:
                return other
        except Budget:
            continue
    return None


def _glob(atom: f.Atom) -> Glob:
    """A plain membership's glob."""
    if atom.glob is None:
        raise ValueError("a membership with policy variables has no glob of its own")
    return atom.glob


def _core(inside: list[f.Atom], outside: list[f.Atom], deadline: float) -> tuple[list[f.Atom], list[f.Atom]]:
    """A small unrealisable part of an unrealisable group (a literal conflicts with one other pattern)."""
    for literal in inside:
        if _glob(literal).is_literal:
            text = _glob(literal).text()
            for other in inside:
                if not _glob(other).matches(text):
                    return [literal, other], []
            for other in outside:
                if _glob(other).matches(text):
                    return [literal], [other]
    items = [(a, True) for a in inside] + [(a, False) for a in outside]
    if witness([_glob(a) for a in inside], [], budget=5000, deadline=deadline) is None:
        items = [(a, True) for a in inside]
    index = 0
    while index < len(items) and len(items) > 1 and time.monotonic() < deadline:
        trial = items[:index] + items[index + 1 :]
        try:
            found = witness(
                [_glob(a) for a, w in trial if w], [_glob(a) for a, w in trial if not w], budget=5000
            )
        except Budget:
            found = ""
        if found is None:
            items = trial
        else:
            index += 1
    return [a for a, w in items if w], [a for a, w in items if not w]


def _render_templates(
    space: Space, model: Any, cube: dict[str, tuple[f.Atom, bool]], witnesses: dict[str, str]
) -> tuple[dict[str, str], dict[str, str]] | None:
    """Witnesses and overridden key values once the patterns with policy variables are rendered, or None.

    The values the model chose come first; when they leave some pattern unrealised, a key read by a
    pattern required to match is given the value that makes the pattern's variable's witness fit
    (`${key}` between literal text: the witness without that text). The engine confirms the result.
    """
    pending = [(a, w) for a, w in cube.values() if a.template is not None]
    if not pending:
        return witnesses, {}
    read = {k for a, _ in pending for k in _template(a).keys}
    found = _rendered(space, model, cube, witnesses, pending, {})
    if found is not None:
        return found, {}
    overrides: dict[str, str] = {}
    for one, wanted in pending:
        template = _template(one)
        if not wanted or len(template.keys) != 1:
            continue
        (key,) = template.keys
        text = witness(*_group(cube, one.variable))
        if text is None or key in overrides:
            continue
        value = next((v for v in _unwraps(template, key, text) if _accepts(cube, space, model, key, v)), None)
        if value is not None:
            overrides[key] = value
    fresh = _fresh(cube)
    wider = dict(overrides)
    for key in sorted(read - set(overrides)):
        if _accepts(cube, space, model, key, fresh):
            wider[key] = fresh
    for attempt in (wider, overrides):
        if attempt:
            found = _rendered(space, model, cube, witnesses, pending, attempt)
            if found is not None:
                return found, attempt
    return None


def _fresh(cube: dict[str, tuple[f.Atom, bool]]) -> str:
    """A value no plain pattern of the cube names a character of (it matches their wildcards only)."""
    named: set[str] = set()
    for one, _ in cube.values():
        if one.glob is not None:
            named |= one.glob.chars()
    return next(c for c in "qzjkvwxyfgh" + "".join(map(chr, range(0x3B1, 0x3C9))) if c not in named) * 3


def _rendered(
    space: Space,
    model: Any,
    cube: dict[str, tuple[f.Atom, bool]],
    witnesses: dict[str, str],
    pending: list[tuple[f.Atom, bool]],
    overrides: dict[str, str],
) -> dict[str, str] | None:
    """The witnesses with each pattern rendered from the keys' values (`overrides` first)."""

    def values(name: str) -> list[str] | None:
        if name in overrides:
            return [overrides[name]]
        key = space.keys.get(name)
        if key is None or not z3.is_true(model.eval(key.present, model_completion=True)):
            return None
        return [
            found.get(value, "")
            for slot, value in zip(key.slots, key.values, strict=True)
            if z3.is_true(model.eval(slot, model_completion=True))
        ]

    found = dict(witnesses)
    remaining = sorted({a.variable for a, _ in pending})
    while remaining:  # a key read by a pattern is rendered before the patterns reading it
        ready = [
            v
            for v in remaining
            if not _reads(pending, v) & {r.rpartition("#")[0] for r in remaining if r != v}
        ]
        if not ready:
            return None  # patterns reading each other's keys in a cycle
        for variable in ready:
            remaining.remove(variable)
            inside, outside = _group(cube, variable)
            for one, wanted in pending:
                if one.variable != variable:
                    continue
                rendered = _template(one).render(values)
                if rendered is None:
                    if wanted:
                        return None
                    continue
                (inside if wanted else outside).append(rendered)
            chosen = witness(inside, outside)
            if chosen is None:
                return None
            found[variable] = chosen
    return found


def _reads(pending: list[tuple[f.Atom, bool]], variable: str) -> set[str]:
    """The keys the patterns asked of one variable read."""
    return {k for a, _ in pending if a.variable == variable for k in _template(a).keys}


def _group(cube: dict[str, tuple[f.Atom, bool]], variable: str) -> tuple[list[Glob], list[Glob]]:
    """The plain memberships of one variable in the cube: (inside, outside)."""
    inside = [_glob(a) for a, w in cube.values() if a.variable == variable and a.glob is not None and w]
    outside = [_glob(a) for a, w in cube.values() if a.variable == variable and a.glob is not None and not w]
    return inside, outside


def _template(atom: f.Atom) -> Template:
    if atom.template is None:
        raise ValueError("a plain membership has no template")
    return atom.template


def _unwraps(template: Template, key: str, text: str) -> Iterator[str]:
    """Values of the template's one variable whose rendering matches `text` (substrings of it, then none)."""
    for start in range(len(text) + 1):
        for end in range(len(text), start - 1, -1):
            value = text[start:end]
            rendered = template.render(lambda name, value=value: [value])  # type: ignore[misc]
            if rendered is not None and rendered.matches(text):
                yield value


def _accepts(cube: dict[str, tuple[f.Atom, bool]], space: Space, model: Any, key: str, value: str) -> bool:
    """Whether the key may be given this one value: a key only policy variables read may; a tested key
    only where the model has it with one value, which this one must replace in every membership asked."""
    found = space.keys.get(key)
    if found is None or found.kind not in (None, "string"):
        return False
    if key not in space.tested:
        return True
    if not z3.is_true(model.eval(found.present, model_completion=True)):
        return False
    enabled = [
        v
        for s, v in zip(found.slots, found.values, strict=True)
        if z3.is_true(model.eval(s, model_completion=True))
    ]
    if len(enabled) != 1:
        return False
    inside, outside = _group(cube, enabled[0])
    return all(g.matches(value) for g in inside) and not any(g.matches(value) for g in outside)


def _example(space: Space, model: Any, witnesses: dict[str, str], overrides: dict[str, str]) -> Example:
    """The concrete request of a model and the witness strings (`overrides`: keys given one value)."""
    context: dict[str, Any] = dict(overrides)
    for key in space.keys.values():
        if key.name in overrides:
            continue
        if not z3.is_true(model.eval(key.present, model_completion=True)):
            continue
        values = [
            _render(key.kind, value, model, witnesses)
            for slot, value in zip(key.slots, key.values, strict=True)
            if z3.is_true(model.eval(slot, model_completion=True))
        ]
        context[key.name] = values[0] if len(values) == 1 else values
    principal = model.eval(space.principal, model_completion=True).as_long()
    return Example(witnesses.get(ACTION, ""), witnesses.get(RESOURCE, ""), principal, context)


def _render(kind: str | None, value: Any, model: Any, witnesses: dict[str, str]) -> str:
    """One slot's value as the request text the engine reads."""
    if kind is None or kind == "string":
        return witnesses.get(value, "")
    if kind == "bool":
        return _BOOL_WORDS[model.eval(value, model_completion=True).as_long()]
    if kind == "ip":
        version = model.eval(value[0], model_completion=True).as_long()
        if version == 4:
            return str(ipaddress.IPv4Address(model.eval(value[1], model_completion=True).as_long()))
        if version == 6:
            return str(ipaddress.IPv6Address(model.eval(value[2], model_completion=True).as_long()))
        return "not-an-address"
    ok, number = value
    if not z3.is_true(model.eval(ok, model_completion=True)):
        return "not-a-number"
    found = model.eval(number, model_completion=True)
    if kind == "date":
        return str(found.as_long())
    exact = Fraction(found.numerator_as_long(), found.denominator_as_long())
    return str(exact.numerator) if exact.denominator == 1 else repr(float(exact))
