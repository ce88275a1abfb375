"""cvc5 beside z3: a query z3 leaves unknown, decided by cvc5 in a process of its own.

The z3 assertions are written as SMT-LIB 2 (each constant renamed `c<n>`, each shared subterm defined
once), `cvc5_worker.py` solves them within the time left, and a sat answer comes back as a z3 model
of the same constants: the caller uses it exactly as z3's own, and only once every assertion is true
under it (a model that does not satisfy the query is an error, never an answer). `TALLY` counts what
cvc5 decided, for the bench.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import z3

WORKER = Path(__file__).with_name("cvc5_worker.py")
STARTUP_SECONDS = 1.0  # the worker's interpreter and cvc5 starting, beyond the solving time

_OPERATORS = {
    z3.Z3_OP_AND: "and", z3.Z3_OP_OR: "or", z3.Z3_OP_NOT: "not", z3.Z3_OP_IMPLIES: "=>",
    z3.Z3_OP_XOR: "xor", z3.Z3_OP_ITE: "ite", z3.Z3_OP_EQ: "=", z3.Z3_OP_DISTINCT: "distinct",
    z3.Z3_OP_LE: "<=", z3.Z3_OP_LT: "<", z3.Z3_OP_GE: ">=", z3.Z3_OP_GT: ">", z3.Z3_OP_ADD: "+",
    z3.Z3_OP_SUB: "-", z3.Z3_OP_MUL: "*", z3.Z3_OP_UMINUS: "-", z3.Z3_OP_TO_REAL: "to_real",
    z3.Z3_OP_TO_INT: "to_int", z3.Z3_OP_IS_INT: "is_int", z3.Z3_OP_DIV: "/", z3.Z3_OP_IDIV: "div",
    z3.Z3_OP_MOD: "mod", z3.Z3_OP_BAND: "bvand", z3.Z3_OP_BOR: "bvor", z3.Z3_OP_BNOT: "bvnot",
    z3.Z3_OP_BXOR: "bvxor", z3.Z3_OP_ULEQ: "bvule", z3.Z3_OP_ULT: "bvult", z3.Z3_OP_UGEQ: "bvuge",
    z3.Z3_OP_UGT: "bvugt", z3.Z3_OP_BADD: "bvadd", z3.Z3_OP_CONCAT: "concat",
}  # fmt: skip


class Untranslatable(ValueError):
    """A z3 term with no SMT-LIB reading here."""


class _Tally:
    """What cvc5 answered (sat, unsat, unknown, error), counted across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, answer: str) -> None:
        with self._lock:
            self._counts[answer] += 1

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self._counts)


TALLY = _Tally()


@dataclass(frozen=True)
class Answer:
    """cvc5's answer: `model` (a z3 model) when sat, `unsat`, or else why not (`reason`)."""

    model: Any = None
    unsat: bool = False
    reason: str = ""


def decide(assertions: Sequence[Any], ctx: Any, seconds: float) -> Answer:
    """cvc5's answer on the conjunction of z3 Booleans `assertions`, within `seconds`."""
    try:
        script, constants = smtlib(assertions)
    except Untranslatable as error:
        TALLY.add("error")
        return Answer(reason=f"cvc5 was not given the query ({error})")
    request = json.dumps({"script": script, "milliseconds": max(1, int(seconds * 1000))})
    try:
        ran = subprocess.run(
            [sys.executable, "-I", str(WORKER)],
            input=request,
            capture_output=True,
            text=True,
            timeout=seconds + STARTUP_SECONDS,
            check=False,
        )
        reply = json.loads(ran.stdout)
    except subprocess.TimeoutExpired:
        TALLY.add("unknown")
        return Answer(reason="cvc5 passed the time limit")
    except (OSError, ValueError):
        TALLY.add("error")
        return Answer(reason="cvc5 did not answer")
    answer = reply.get("answer") if isinstance(reply, dict) else None
    if answer == "unsat":
        TALLY.add("unsat")
        return Answer(unsat=True)
    if answer != "sat":
        TALLY.add("unknown" if answer == "unknown" else "error")
        return Answer(reason=f"cvc5 could not decide ({str(reply.get('reason', ''))[:200]})")
    model = _model(ctx, constants, reply.get("values", {}))
    if model is None or not all(z3.is_true(model.eval(a, model_completion=True)) for a in assertions):
        TALLY.add("error")
        return Answer(reason="cvc5's model does not satisfy the query")
    TALLY.add("sat")
    return Answer(model=model)


def smtlib(assertions: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """The SMT-LIB 2 script asserting every term, and its constants by name (z3 declarations)."""
    lines: list[str] = []
    names: dict[int, str] = {}
    constants: dict[str, Any] = {}
    for one in assertions:
        _write(one, lines, names, constants)
        lines.append(f"(assert {names[one.get_id()]})")
    return "\n".join(lines) + "\n", constants


def _write(root: Any, lines: list[str], names: dict[int, str], constants: dict[str, Any]) -> None:
    """Name `root` and every subterm not yet named, children before parents (no recursion)."""
    stack = [(root, False)]
    while stack:
        term, ready = stack.pop()
        key = term.get_id()
        if key in names:
            continue
        if z3.is_const(term) and term.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            name = f"c{len(constants)}"
            constants[name] = term.decl()
            lines.append(f"(declare-const {name} {_sort(term.sort())})")
            names[key] = name
            continue
        leaf = _literal(term)
        if leaf is not None:
            names[key] = leaf
            continue
        if not ready:
            stack.append((term, True))
            stack.extend((child, False) for child in term.children() if child.get_id() not in names)
            continue
        name = f"t{len(names)}"
        body = _application(term, [names[c.get_id()] for c in term.children()])
        lines.append(f"(define-fun {name} () {_sort(term.sort())} {body})")
        names[key] = name


def _literal(term: Any) -> str | None:
    """A value's SMT-LIB text, or None for a term that is no value."""
    if z3.is_true(term):
        return "true"
    if z3.is_false(term):
        return "false"
    if z3.is_int_value(term):
        number = term.as_long()
        return str(number) if number >= 0 else f"(- {-number})"
    if z3.is_rational_value(term):
        exact = Fraction(term.numerator_as_long(), term.denominator_as_long())
        text = f"(/ {abs(exact.numerator)}.0 {exact.denominator}.0)"
        return text if exact >= 0 else f"(- {text})"
    if z3.is_bv_value(term):
        return f"(_ bv{term.as_long()} {term.size()})"
    return None


def _application(term: Any, children: list[str]) -> str:
    """One operator applied to its (named) children."""
    kind = term.decl().kind()
    if kind in (z3.Z3_OP_AND, z3.Z3_OP_OR) and len(children) < 2:
        return children[0] if children else ("true" if kind == z3.Z3_OP_AND else "false")
    if kind in (z3.Z3_OP_PB_AT_MOST, z3.Z3_OP_PB_AT_LEAST):
        bound = z3.Z3_get_decl_int_parameter(term.ctx.ref(), term.decl().ast, 0)
        ones = [f"(ite {c} 1 0)" for c in children]
        total = ones[0] if len(ones) == 1 else f"(+ {' '.join(ones)})" if ones else "0"
        return f"({'<=' if kind == z3.Z3_OP_PB_AT_MOST else '>='} {total} {bound})"
    if kind == z3.Z3_OP_EXTRACT:
        high, low = term.params()
        return f"((_ extract {high} {low}) {children[0]})"
    operator = _OPERATORS.get(kind)
    if operator is None or not children:
        raise Untranslatable(f"operator {term.decl().name()}")
    return f"({operator} {' '.join(children)})"


def _sort(sort: Any) -> str:
    kind = sort.kind()
    if kind == z3.Z3_BOOL_SORT:
        return "Bool"
    if kind == z3.Z3_INT_SORT:
        return "Int"
    if kind == z3.Z3_REAL_SORT:
        return "Real"
    if kind == z3.Z3_BV_SORT:
        return f"(_ BitVec {sort.size()})"
    raise Untranslatable(f"sort {sort}")


def _model(ctx: Any, constants: dict[str, Any], values: Any) -> Any:
    """A z3 model giving each constant cvc5's value, or None when a value does not fit its sort."""
    if not isinstance(values, dict):
        return None
    model = z3.Model(ctx)
    for name, decl in constants.items():
        value = values.get(name)
        if value is None:
            continue
        kind = decl.range().kind()
        if kind == z3.Z3_BOOL_SORT and isinstance(value, bool):
            model.update_value(decl, z3.BoolVal(value, ctx))
        elif kind == z3.Z3_INT_SORT and type(value) is int:
            model.update_value(decl, z3.IntVal(value, ctx))
        elif kind == z3.Z3_REAL_SORT and _pair(value):
            model.update_value(decl, z3.RealVal(f"{value[0]}/{value[1]}", ctx))
        elif kind == z3.Z3_BV_SORT and type(value) is int and 0 <= value < 2 ** decl.range().size():
            model.update_value(decl, z3.BitVecVal(value, decl.range().size(), ctx))
        else:
            return None
    return model


def _pair(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value) and value[1] > 0
