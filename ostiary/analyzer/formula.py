"""Formulas over a request: And/Or/Not of string memberships (decided by `globs`) and z3 terms.

A membership `Atom` is a z3 Boolean to the solver; which strings make it true is known only to the
glob automata. `implicant` walks a formula under a z3 model and keeps the memberships the formula's
truth depends on: the only ones a witness string has to honour.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import z3

from ostiary.analyzer.globs import Glob
from ostiary.analyzer.templates import Template


@dataclass(eq=False)
class Atom:
    """`variable ∈ glob`: the variable is a string of the request (action, resource, a key's slot)."""

    variable: str
    glob: Glob | None  # None for a pattern with policy variables (`template`)
    name: str
    term: Any = field(repr=False)
    template: Template | None = None


class Node:
    """A formula: `kind` is and, or, not, atom, term (a z3 Boolean), true or false."""

    __slots__ = ("kind", "children", "atom", "term", "_z3")

    def __init__(
        self, kind: str, children: tuple[Node, ...] = (), atom: Atom | None = None, term: Any = None
    ) -> None:
        self.kind = kind
        self.children = children
        self.atom = atom
        self.term = term
        self._z3: Any = None

    def to_z3(self, ctx: Any) -> Any:
        """The formula as a z3 Boolean (built once)."""
        if self._z3 is None:
            kind = self.kind
            if kind == "atom":
                self._z3 = self.atom.term  # type: ignore[union-attr]
            elif kind == "term":
                self._z3 = self.term
            elif kind == "true":
                self._z3 = z3.BoolVal(True, ctx)
            elif kind == "false":
                self._z3 = z3.BoolVal(False, ctx)
            elif kind == "not":
                inner = self.children[0].to_z3(ctx)
                self._z3 = z3.BoolRef(z3.Z3_mk_not(ctx.ref(), inner.as_ast()), ctx)
            else:
                self._z3 = _connect(kind, [c.to_z3(ctx) for c in self.children], ctx)
        return self._z3


def _connect(kind: str, terms: list[Any], ctx: Any) -> Any:
    """And or Or of z3 Booleans through the C API (z3.And's argument coercion dominates otherwise)."""
    array = (z3.Ast * len(terms))()
    for i, one in enumerate(terms):
        array[i] = one.as_ast()
    make = z3.Z3_mk_and if kind == "and" else z3.Z3_mk_or
    return z3.BoolRef(make(ctx.ref(), len(terms), array), ctx)


TRUE = Node("true")
FALSE = Node("false")


def atom(found: Atom) -> Node:
    """A membership as a formula."""
    return Node("atom", atom=found)


def term(expression: Any) -> Node:
    """A z3 Boolean as a formula."""
    return Node("term", term=expression)


def all_of(children: Iterable[Node]) -> Node:
    """Conjunction, with constants folded."""
    kept: list[Node] = []
    for child in children:
        if child.kind == "false":
            return FALSE
        if child.kind == "and":
            kept.extend(child.children)
        elif child.kind != "true":
            kept.append(child)
    if not kept:
        return TRUE
    return kept[0] if len(kept) == 1 else Node("and", tuple(kept))


def any_of(children: Iterable[Node]) -> Node:
    """Disjunction, with constants folded."""
    kept: list[Node] = []
    for child in children:
        if child.kind == "true":
            return TRUE
        if child.kind == "or":
            kept.extend(child.children)
        elif child.kind != "false":
            kept.append(child)
    if not kept:
        return FALSE
    return kept[0] if len(kept) == 1 else Node("or", tuple(kept))


def negate(child: Node) -> Node:
    """Negation, with constants and double negation folded."""
    if child.kind == "true":
        return FALSE
    if child.kind == "false":
        return TRUE
    if child.kind == "not":
        return child.children[0]
    return Node("not", (child,))


def implies(condition: Node, consequence: Node) -> Node:
    """`condition → consequence`."""
    return any_of((negate(condition), consequence))


class Valuation:
    """A formula's truth under one z3 model (memoised per node)."""

    def __init__(self, model: Any, atoms: dict[str, Atom]) -> None:
        self._model = model
        self._memo: dict[int, bool] = {}
        truth: dict[str, bool] = {}
        for decl in model.decls():
            name = decl.name()
            if name in atoms:
                truth[name] = z3.is_true(model[decl])
        self._atoms = truth

    def value(self, node: Node) -> bool:
        """Whether the node is true under the model."""
        key = id(node)
        found = self._memo.get(key)
        if found is None:
            found = self._compute(node)
            self._memo[key] = found
        return found

    def _compute(self, node: Node) -> bool:
        kind = node.kind
        if kind == "atom":
            return self._atoms.get(node.atom.name, False)  # type: ignore[union-attr]
        if kind == "term":
            return bool(z3.is_true(self._model.eval(node.term, model_completion=True)))
        if kind == "true":
            return True
        if kind == "false":
            return False
        if kind == "not":
            return not self.value(node.children[0])
        if kind == "and":
            return all(self.value(c) for c in node.children)
        return any(self.value(c) for c in node.children)

    def atom_value(self, found: Atom) -> bool:
        """A membership's value in the model."""
        return self._atoms.get(found.name, False)


def implicant(root: Node, valuation: Valuation) -> dict[str, tuple[Atom, bool]]:
    """Memberships (with their polarity) that keep `root` true under the model, whatever the others are."""
    kept: dict[str, tuple[Atom, bool]] = {}
    stack: list[tuple[Node, bool]] = [(root, True)]
    seen: set[tuple[int, bool]] = set()
    while stack:
        node, wanted = stack.pop()
        key = (id(node), wanted)
        if key in seen:
            continue
        seen.add(key)
        kind = node.kind
        if kind == "atom" and node.atom is not None:
            kept[node.atom.name] = (node.atom, wanted)
        elif kind == "not":
            stack.append((node.children[0], not wanted))
        elif kind in ("and", "or"):
            every = (kind == "and") == wanted
            if every:
                stack.extend((c, wanted) for c in node.children)
            else:
                stack.append((_cheapest(node.children, wanted, valuation), wanted))
    return kept


def _cheapest(children: tuple[Node, ...], wanted: bool, valuation: Valuation) -> Node:
    """A child with the wanted value, preferring one without memberships."""
    best: Node | None = None
    for child in children:
        if valuation.value(child) == wanted:
            if child.kind in ("term", "true", "false"):
                return child
            if best is None:
                best = child
    if best is None:
        raise ValueError("the model does not satisfy the formula")
    return best
