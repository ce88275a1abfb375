"""Policies as formulas over one symbolic request (`Space`), with the engine's semantics.

The request has an action (lower case, `service:name`), a resource (an ARN or `*`), a principal (one of
a finite universe, for resource policies) and context keys. A key is modelled as present or not and
as `slots` values, each present or not (a key may be present with no value): `slots` is the number of
distinct tests on the key, enough for every test to have its own witness value, so the model is exact.
A slot is a string (memberships), a number, a date, a Boolean word or an IP address, by the operators
used on the key; a key tested as two of these, binary values and policy variables are `Unsupported`.

Semantics (the engine's, `ostiary.policy`): a statement applies when its action, resource, principal
and every condition do; a policy allows when an Allow applies and no Deny does. Resource and StringLike
wildcards are flat; ArnLike wildcards stay in their ARN segment. An absent key: positive operators are
false, negated ones true (ForAnyValue: false), IfExists and ForAllValues true, Null tests presence.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import z3

from ostiary.analyzer import formula as f
from ostiary.analyzer import templates
from ostiary.analyzer.globs import Glob, arn_glob, glob
from ostiary.analyzer.templates import Template
from ostiary.policy import Condition, Policy, Statement, operators

SLOT_LIMIT = 16
_NEGATED = {
    "StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike", "NumericNotEquals": "NumericEquals", "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike",
}  # fmt: skip
_TYPES = {
    "StringEquals": "string", "StringEqualsIgnoreCase": "string", "StringLike": "string",
    "ArnEquals": "string", "ArnLike": "string", "Bool": "bool", "IpAddress": "ip", "BinaryEquals": "binary",
    "NumericEquals": "number", "NumericLessThan": "number", "NumericLessThanEquals": "number",
    "NumericGreaterThan": "number", "NumericGreaterThanEquals": "number", "DateEquals": "date",
    "DateLessThan": "date", "DateLessThanEquals": "date", "DateGreaterThan": "date",
    "DateGreaterThanEquals": "date",
}  # fmt: skip
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "Equals": lambda a, b: a == b, "LessThan": lambda a, b: a < b, "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b, "GreaterThanEquals": lambda a, b: a >= b,
}  # fmt: skip
_BAD = (ValueError, OverflowError, TypeError)
ACTION, RESOURCE = "action", "resource"
_MODES = {
    "StringEquals": "literal", "StringEqualsIgnoreCase": "ignore_case", "StringLike": "glob",
    "ArnEquals": "arn", "ArnLike": "arn",
}  # fmt: skip


class Unsupported(Exception):
    """A construct beyond the decision procedure: the check cannot PASS."""


@dataclass(frozen=True)
class Test:
    """One condition test as the engine reads it."""

    base: str  # the positive operator (StringEquals for StringNotEquals), or Null
    key: str  # lowercased
    name: str  # as written
    values: tuple[str, ...]
    modifier: str = ""  # ForAllValues, ForAnyValue or ""
    if_exists: bool = False
    negated: bool = False


def read_test(condition: Condition) -> Test:
    """The condition's operator split into modifier, base operator, IfExists and negation."""
    name = condition.operator
    modifier = ""
    for prefix in ("ForAllValues:", "ForAnyValue:"):
        if name.startswith(prefix):
            modifier, name = prefix[:-1], name[len(prefix) :]
    if_exists = name.endswith("IfExists") and name != "IfExists"
    name = name[:-8] if if_exists else name
    negated = name in _NEGATED
    base = _NEGATED.get(name, name)
    return Test(base, condition.key.lower(), condition.key, condition.values, modifier, if_exists, negated)


def witnesses_needed(policy: Policy, allows: bool) -> dict[str, int]:
    """How many values of each key a request needs so that the policy allows (or does not), at most.

    Any request doing so keeps doing so with a key's values cut to one witness per test that needs
    one: a positive test (or ForAnyValue) in the statement that applies, a negated test (or
    ForAllValues) made false in each statement that must not apply.
    """
    applies: dict[str, int] = {}  # the most one applying statement needs (max)
    fails: dict[str, int] = {}  # what every statement that must not apply needs (sum)
    for statement in policy.statements:
        when_true: dict[str, int] = {}
        when_false: dict[str, int] = {}
        for condition in statement.conditions:
            test = read_test(condition)
            when_true[test.key] = when_true.get(test.key, 0) + _needs_when_true(test)
            when_false[test.key] = max(when_false.get(test.key, 0), _needs_when_false(test))
        if (statement.effect != "Deny") == allows:  # the one that applies (an Allow, or a Deny)
            for key, count in when_true.items():
                applies[key] = max(applies.get(key, 0), count)
        else:  # each that must not apply (every Deny, or every Allow)
            for key, count in when_false.items():
                fails[key] = fails.get(key, 0) + count
    if allows:
        return {k: applies.get(k, 0) + fails.get(k, 0) for k in {*applies, *fails}}
    return {k: max(applies.get(k, 0), fails.get(k, 0)) for k in {*applies, *fails}}


def _needs_when_true(test: Test) -> int:
    if test.base == "Null" or test.modifier == "ForAllValues":
        return 0
    return 1 if test.modifier == "ForAnyValue" or not test.negated else 0


def _needs_when_false(test: Test) -> int:
    if test.base == "Null" or test.modifier == "ForAnyValue":
        return 0
    return 1 if test.modifier == "ForAllValues" or test.negated else 0


def has_variable(text: str) -> bool:
    """Whether a 2012-10-17 text holds a policy variable (`${…}`)."""
    start = text.find("${")
    return start >= 0 and text.find("}", start + 2) >= 0


@dataclass
class Key:
    """A context key's model: presence, slots and each slot's value terms."""

    name: str
    kind: str | None
    present: Any
    slots: list[Any]  # each slot's presence
    values: list[Any]  # per slot: a string variable name, or the kind's z3 terms


class Space:
    """The symbolic request shared by the policies of one check, and the memberships it uses."""

    def __init__(
        self,
        policies: Sequence[Policy],
        principal_count: int = 1,
        deadline: float | None = None,
        allowing: Sequence[bool] | None = None,
    ) -> None:
        self.deadline = deadline  # time.monotonic() past which encoding gives up (Unsupported)
        self.atoms: dict[str, Atom] = {}
        self._by_glob: dict[tuple[str, Glob], Atom] = {}
        self._by_template: dict[tuple[str, Template], Atom] = {}
        self.lemmas: list[f.Node] = []  # facts true of every request (template ⊆ its widening)
        self.ctx = _context()
        self.principal = z3.Int("principal", self.ctx)
        self.principal_count = principal_count
        self.is_bounded = False  # a key needed more slots than SLOT_LIMIT: an UNSAT proves nothing
        self.keys: dict[str, Key] = {}
        self.networks: dict[str, list[Any]] = {}  # key → the networks its IpAddress tests name
        self.tested: set[str] = set()
        self._plan_keys(policies, allowing)

    def _plan_keys(self, policies: Sequence[Policy], allowing: Sequence[bool] | None) -> None:
        """Each key's kind and slot count, from every test on it in the policies.

        `allowing[i]` says whether the goal needs policies[i] to allow (True) or not (False); it bounds
        the values a request needs on a key (`witnesses_needed`), else each distinct test may need one.
        """
        kinds: dict[str, set[str]] = {}
        tests: dict[str, set[Test]] = {}
        for key in templates.keys_read(policies):
            kinds.setdefault(key, set()).add("string")
            tests.setdefault(key, set())
        self.tested.clear()  # keys some condition tests (not only read by policy variables)
        for policy in policies:
            for statement in policy.statements:
                for condition in statement.conditions:
                    test = read_test(condition)
                    tests.setdefault(test.key, set()).add(test)
                    self.tested.add(test.key)
                    kind = _TYPES.get(test.base)
                    found = kinds.setdefault(test.key, set())
                    if kind is not None:
                        found.add(kind)
        needed = (
            [witnesses_needed(p, a) for p, a in zip(policies, allowing, strict=True)]
            if allowing is not None
            else []
        )
        for key, found in kinds.items():
            if "binary" in found:
                raise Unsupported(f"BinaryEquals on `{key}`")
            if len(found) > 1:
                raise Unsupported(f"`{key}` is tested as {' and '.join(sorted(found))}")
            count = len(tests[key])
            if allowing is not None and count:
                count = min(count, sum(n.get(key, 0) for n in needed))
            if count > SLOT_LIMIT:
                self.is_bounded, count = True, SLOT_LIMIT
            self.keys[key] = self._key(key, next(iter(found), None), max(count, 1))

    def _key(self, key: str, kind: str | None, count: int) -> Key:
        ctx = self.ctx
        present = z3.Bool(f"has {key}", ctx)
        slots = [z3.Bool(f"has {key}#{i}", ctx) for i in range(count)]
        values: list[Any] = []
        for i in range(count):
            label = f"{key}#{i}"
            if kind == "number":
                values.append((z3.Bool(f"ok {label}", ctx), z3.Real(f"n {label}", ctx)))
            elif kind == "date":
                values.append((z3.Bool(f"ok {label}", ctx), z3.Int(f"d {label}", ctx)))
            elif kind == "bool":
                values.append(z3.Int(f"b {label}", ctx))
            elif kind == "ip":
                values.append(
                    (
                        z3.Int(f"v {label}", ctx),
                        z3.BitVec(f"ip4 {label}", 32, ctx),
                        z3.BitVec(f"ip6 {label}", 128, ctx),
                    )
                )
            else:
                values.append(label)
        return Key(key, kind, present, slots, values)

    def template_member(self, variable: str, template: Template) -> f.Node:
        """`variable ∈ template` (a pattern with policy variables) as a free membership."""
        found = self._by_template.get((variable, template))
        if found is None:
            name = f"in{len(self.atoms)}"
            found = Atom(variable, None, name, z3.Bool(name, self.ctx), template)
            self._by_template[(variable, template)] = found
            self.atoms[name] = found
            widened = template.widened()
            if widened is not None:  # every rendering lies inside it
                self.lemmas.append(f.implies(f.atom(found), self.member(variable, widened)))
            for part in template.parts:  # a variable without a value and a default matches nothing
                if isinstance(part, templates.Variable) and part.key and part.default is None:
                    self.lemmas.append(f.implies(f.atom(found), self._single(part.key)))
            self._include(found)
        return f.atom(found)

    def _include(self, found: Atom) -> None:
        """`before ${k} after` inside `before' ${k} after'` when before ⊆ before' and after ⊆ after'."""
        mine = found.template.split() if found.template is not None else None
        if mine is None:
            return
        for (variable, template), other in self._by_template.items():
            theirs = template.split()
            if other is found or variable != found.variable or theirs is None or theirs[1] != mine[1]:
                continue
            for small, large, inner, outer in ((mine, theirs, found, other), (theirs, mine, other, found)):
                if templates.within(small[0], large[0]) and templates.within(small[2], large[2]):
                    self.lemmas.append(f.implies(f.atom(inner), f.atom(outer)))

    def _single(self, name: str) -> f.Node:
        """The key has exactly one value (a policy variable substitutes it)."""
        key = self.keys[name]
        ones = [
            z3.And(slot, *[z3.Not(other) for other in key.slots if other is not slot]) for slot in key.slots
        ]
        return f.term(z3.And(key.present, z3.Or(ones)))

    def pattern(self, variable: str, text: str, mode: str, has_variables: bool) -> f.Node:
        """`variable ∈ text` read in a mode (glob, literal, ignore_case, arn), with its variables."""
        template = templates.parse(text, mode) if has_variables else None
        if template is not None:
            return self.template_member(variable, template)
        if mode == "glob":
            return self.member(variable, glob(text))
        if mode == "arn":
            return self.member(variable, arn_glob(text))
        return self.member(variable, glob(text, is_literal=True, ignore_case=mode == "ignore_case"))

    def member(self, variable: str, pattern: Glob) -> f.Node:
        """`variable ∈ pattern` as a formula (one atom per distinct pair)."""
        if pattern.is_everything:
            return f.TRUE
        found = self._by_glob.get((variable, pattern))
        if found is None:
            name = f"in{len(self.atoms)}"
            found = Atom(variable, pattern, name, z3.Bool(name, self.ctx))
            self._by_glob[(variable, pattern)] = found
            self.atoms[name] = found
        return f.atom(found)

    def universe(self) -> f.Node:
        """What every request is: a `service:name` action, an ARN or `*`, a slot only in a present key."""
        parts = [
            self.member(ACTION, glob("?*:?*")),
            f.negate(self.member(ACTION, glob("*:*:*"))),
            f.any_of(
                (self.member(RESOURCE, glob("arn:*")), self.member(RESOURCE, glob("*", is_literal=True)))
            ),
            f.term(z3.And(self.principal >= 0, self.principal < self.principal_count)),
            *self.lemmas,
        ]
        for key in self.keys.values():
            for i, slot in enumerate(key.slots):
                parts.append(f.term(z3.Implies(slot, key.present)))
                if key.kind == "bool":
                    parts.append(f.term(z3.And(key.values[i] >= 0, key.values[i] <= 2)))
                elif key.kind == "ip":
                    parts.append(
                        f.term(z3.Or(key.values[i][0] == 4, key.values[i][0] == 6, key.values[i][0] == 0))
                    )
        return f.all_of(parts)

    def has_values(self, key: str) -> f.Node:
        """The key is present with at least one value (a principal's own keys always are)."""
        found = self.keys.get(key)
        if found is None:
            return f.TRUE
        return f.term(z3.And(found.present, z3.Or(found.slots)))

    def ip_outside_named(self, name: str) -> Any:
        """The key's present values lie in no network an IpAddress test names (but `/0`)."""
        key = self.keys[name]
        named = [n for n in self.networks.get(name, ()) if n.prefixlen > 0]
        return z3.And(
            [
                z3.Implies(s, z3.Not(_in_network(v, n)))
                for s, v in zip(key.slots, key.values, strict=True)
                for n in named
            ]
            + [z3.BoolVal(True, self.ctx)]
        )

    def allows(self, policy: Policy, principal_applies: Sequence[Sequence[int]] | None = None) -> f.Node:
        """The policy allows the request: an Allow applies and no Deny does.

        `principal_applies[i]` lists the principals statement i applies to (None: no Principal element).
        """
        allows: list[f.Node] = []
        denies: list[f.Node] = []
        for i, statement in enumerate(policy.statements):
            applies = None if principal_applies is None else principal_applies[i]
            node = self.statement(statement, policy.has_variables, applies)
            (denies if statement.effect == "Deny" else allows).append(node)
        return f.all_of((f.any_of(allows), f.negate(f.any_of(denies))))

    def statement(
        self, statement: Statement, has_variables: bool, principals: Sequence[int] | None
    ) -> f.Node:
        """The statement applies to the request."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise Unsupported("the check passed its time limit")
        action = f.any_of(self.member(ACTION, glob(a.lower())) for a in statement.actions)
        parts = [f.negate(action) if statement.is_not_action else action]
        if statement.resources is not None:
            resource = f.any_of(self.pattern(RESOURCE, r, "glob", has_variables) for r in statement.resources)
            parts.append(f.negate(resource) if statement.is_not_resource else resource)
        if principals is not None:
            parts.append(f.any_of(f.term(self.principal == i) for i in principals))
        for condition in statement.conditions:
            test = read_test(condition)
            if has_variables and test.base not in _MODES and any(has_variable(v) for v in test.values):
                raise Unsupported(f"policy variables in the values of `{test.name}`")
            parts.append(self.condition(test, has_variables))
        return f.all_of(parts)

    def condition(self, test: Test, has_variables: bool = False) -> f.Node:
        """One condition test (`CompiledCondition.test`)."""
        key = self.keys[test.key]
        if test.base == "Null":
            wanted = {v.lower() for v in test.values}
            if not wanted <= {"true", "false"}:
                return f.FALSE
            no_value = f.term(z3.Not(z3.Or(key.slots)))
            return f.any_of(
                ([no_value] if "true" in wanted else []) + ([f.negate(no_value)] if "false" in wanted else [])
            )
        hit = self._hit(test, key, has_variables)
        if hit is None:  # a policy value the engine cannot read: the test is false
            return f.FALSE
        absent = (
            test.if_exists
            or test.modifier == "ForAllValues"
            or (test.negated and test.modifier != "ForAnyValue")
        )
        hits = [hit(i) for i in range(len(key.slots))]
        slots = [f.term(s) for s in key.slots]
        if test.modifier == "ForAllValues":
            body = f.all_of(f.implies(s, _flip(h, test.negated)) for s, h in zip(slots, hits, strict=True))
        elif test.modifier == "ForAnyValue":
            body = f.any_of(f.all_of((s, _flip(h, test.negated))) for s, h in zip(slots, hits, strict=True))
        else:
            body = _flip(f.any_of(f.all_of((s, h)) for s, h in zip(slots, hits, strict=True)), test.negated)
        present = f.term(key.present)
        if absent:
            return f.any_of((f.negate(present), body))
        return f.all_of((present, body))

    def _hit(self, test: Test, key: Key, has_variables: bool = False) -> Any:
        """slot index → the positive operator on that slot's value; None when a policy value is bad."""
        base, values = test.base, test.values
        if not values:
            return lambda i: f.FALSE
        if base in _MODES:
            mode = _MODES[base]
            return lambda i: f.any_of(self.pattern(key.values[i], v, mode, has_variables) for v in values)
        try:
            if base.startswith("Numeric"):
                compare = _COMPARE[base[7:]]
                numbers = [_fraction(float(v.strip()), self.ctx) for v in values]
                return lambda i: f.term(
                    z3.And(key.values[i][0], z3.Or([compare(key.values[i][1], n) for n in numbers]))
                )
            if base.startswith("Date"):
                compare = _COMPARE[base[4:]]
                dates = [_fraction(operators.date(v), self.ctx) for v in values]
                return lambda i: f.term(
                    z3.And(key.values[i][0], z3.Or([compare(z3.ToReal(key.values[i][1]), d) for d in dates]))
                )
            if base == "Bool":
                words = {v.lower() for v in values}
                if not words <= {"true", "false"}:
                    return None
                codes = [1 if w == "true" else 0 for w in sorted(words)]
                return lambda i: f.term(z3.Or([key.values[i] == c for c in codes]))
            if base == "IpAddress":
                networks = [ipaddress.ip_network(v.strip(), strict=False) for v in values]
                self.networks.setdefault(key.name, []).extend(networks)
                return lambda i: f.term(z3.Or([_in_network(key.values[i], n) for n in networks]))
        except _BAD:
            return None
        raise Unsupported(f"the operator `{base}`")


def _flip(node: f.Node, negated: bool) -> f.Node:
    return f.negate(node) if negated else node


_THREAD = threading.local()


def _context() -> Any:
    """This thread's z3 context (z3's default one is not safe across threads; making one costs ms)."""
    found = getattr(_THREAD, "context", None)
    if found is None:
        found = _THREAD.context = z3.Context()
    return found


def _fraction(value: float, ctx: Any) -> Any:
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("not a number")
    found = Fraction(value)
    return z3.RealVal(f"{found.numerator}/{found.denominator}", ctx)


def _in_network(value: Any, network: Any) -> Any:
    version, v4, v6 = value
    if network.version == 4:
        mask = int(network.netmask)
        return z3.And(version == 4, v4 & mask == int(network.network_address))
    mask = int(network.netmask)
    return z3.And(
        version == 6,
        v6 & z3.BitVecVal(mask, 128, v6.ctx) == z3.BitVecVal(int(network.network_address), 128, v6.ctx),
    )


Atom = f.Atom
