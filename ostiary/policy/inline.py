"""One identity policy's candidate statements for an action as one generated function, conditions inline.

`inline(statements, build)` gives `decide(request) -> Decision | None`: it reads each context key
the statements test once, straight from the caller's mapping (case-insensitive, through
`context_names`), runs the resource tests and the conditions in the general path's order, and
returns the Decision remembered for (statements that apply, keys found missing). It answers None,
and the caller takes the general path, for anything unusual: a key with several values, an
address it cannot read. Shapes it does not inline (a Principal element, Null, a policy value
error, operators that can report errors) make `inline` itself answer None.

The source holds names, bit values and network integers only, no policy text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ostiary.policy.checks import _PREPARED_HITS, _absent, parse_ip
from ostiary.policy.decision import Decision
from ostiary.policy.matchers import _always
from ostiary.policy.memo import remembered
from ostiary.policy.operators import _any_glob, _in_lower_set, _in_network, _in_set, _lower_set
from ostiary.policy.plan import _resource_test
from ostiary.policy.request import Request, context_names
from ostiary.policy.variables import Variable

if TYPE_CHECKING:
    from ostiary.policy.compile import CompiledStatement
    from ostiary.policy.conditions import CompiledCondition

Decide = Callable[[Request], Decision | None]
Build = Callable[[int, list[str]], Decision]
_LIMIT = 64
_MEMO_LIMIT = 1024


class _Unsupported(Exception):
    """A shape this module does not inline."""


class _Source:
    """The generated function's lines, names and the keys it reads."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {}
        self.keys: dict[str, int] = {}  # lowercased key → local index
        self.template_keys: set[str] = set()
        self.missing: list[str] = []  # bit → the condition's key as written

    def name(self, value: Any) -> str:
        """A namespace name for a value the source refers to."""
        label = f"N{len(self.names)}"
        self.names[label] = value
        return label

    def key(self, key: str) -> str:
        """The local holding a key's value."""
        return f"v{self.keys.setdefault(key, len(self.keys))}"


def inline(statements: Sequence[CompiledStatement], build: Build) -> Decide | None:
    """The generated function for these statements (bit i for statement i), or None when not inlinable."""
    if len(statements) > _LIMIT:
        return None
    source = _Source()
    body: list[str] = []
    try:
        for i, statement in enumerate(statements):
            body += _statement(source, statement, 1 << i)
    except _Unsupported:
        return None
    return _assemble(source, body, len(statements), build)


def _assemble(source: _Source, body: list[str], count: int, build: Build) -> Decide:
    """The function around the statements' code: key reads first, the remembered Decision last."""
    memo: dict[int, Decision] = {}
    missing = tuple(source.missing)

    def remember(key: int) -> Decision:
        miss = key >> count
        found = build(key & ((1 << count) - 1), [missing[b] for b in range(len(missing)) if miss >> b & 1])
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        memo[key] = found
        return found

    head = [
        "def decide(request):",
        "    ctx = request._context",
        "    names = NAMES(ctx)",
        "    flat = request._principal.flat",
        "    res = request._resource",
        "    mask = 0",
        "    miss = 0",
    ]
    for key, index in source.keys.items():
        label = source.name(key)
        head += [
            f"    n = names.get({label})",
            f"    v{index} = flat.get({label}) if n is None else ctx[n]",
            f"    if v{index}.__class__ is not str and v{index} is not None:",
            "        return None",
            f"    ip{index} = None",
        ]
    if source.template_keys:
        pairs = ", ".join(f"{source.name(k)}: v{source.keys[k]}" for k in sorted(source.template_keys))
        head.append(f"    K = {{{pairs}}}")
    tail = [
        f"    key = mask | miss << {count}",
        "    found = MEMO.get(key)",
        "    return REMEMBER(key) if found is None else found",
    ]
    namespace = dict(source.names, NAMES=context_names, MEMO=memo, REMEMBER=remember, PARSE=parse_ip)
    exec("\n".join(head + body + tail), namespace)  # noqa: S102 (the source holds no policy text)
    decide: Decide = namespace["decide"]
    return decide


def _statement(source: _Source, statement: CompiledStatement, bit: int) -> list[str]:
    """One statement's lines: `ok` from its resource test, then each condition while `ok`."""
    if statement.principals is not None:
        raise _Unsupported
    lines = [f"    ok = {_resource(source, statement)}"]
    depth = "    "
    for condition in statement.conditions:
        lines.append(f"{depth}if ok:")
        depth += "    "
        lines += [depth + line for line in _condition(source, condition)]
    return [*lines, "    if ok:", f"        mask |= {bit}"]


def _resource(source: _Source, statement: CompiledStatement) -> str:
    """The resource test as an expression."""
    matchers, is_not = statement._resources, statement._is_not_resource
    if statement._templates:
        for _, parts in statement._templates:
            _template_keys(source, parts)
        return f"{source.name(_resource_test(statement))}(request, K)"
    if len(matchers) != 1:
        return f"{source.name(statement.resource_applies)}(request)"
    if matchers[0] is _always:
        return "False" if is_not else "True"
    return f"{'not ' if is_not else 'bool('}{source.name(matchers[0])}(res){'' if is_not else ')'}"


def _template_keys(source: _Source, parts: Sequence[object]) -> None:
    """Note the keys a template's variables read (they go in `K`)."""
    for part in parts:
        if isinstance(part, Variable):
            source.key(part.key)
            source.template_keys.add(part.key)


def _condition(source: _Source, condition: CompiledCondition) -> list[str]:
    """Lines that set `ok` to whether the condition holds (a missing key sets its bit in `miss`)."""
    if condition._error or condition.is_null:
        raise _Unsupported
    value = source.key(condition.key)
    bit = 1 << len(source.missing)
    source.missing.append(condition.name)
    hit = _hit(source, condition, value)
    return [
        f"if {value} is None:",
        f"    miss |= {bit}",
        f"    ok = {_absent(condition)}",
        "else:",
        *("    " + line for line in hit),
    ]


def _hit(source: _Source, condition: CompiledCondition, value: str) -> list[str]:
    """Lines that set `ok` for a present single value."""
    match, negated = condition._match, condition.negated
    if condition._templates is not None:
        return _template_hit(source, condition, value)
    prepared = source.name(condition._prepared)
    if match is _in_set:
        return [f"ok = {value} {'not in' if negated else 'in'} {prepared}"]
    if match is _in_lower_set:
        return [f"ok = {value}.lower() {'not in' if negated else 'in'} {prepared}"]
    if match is _any_glob:
        test = source.name(lambda text, found=condition._prepared: any(m(text) for m in found))
        return [f"ok = {'not ' if negated else ''}{test}({value})"]
    if match is _in_network:
        return _network_hit(condition, value)
    raise _Unsupported


def _network_hit(condition: CompiledCondition, value: str) -> list[str]:
    """(Not)IpAddress: the address parsed once per request, the networks as integers."""
    ip = "ip" + value[1:]
    tests = " or ".join(
        f"({ip}[0] == {n.version} and {ip}[1] & {int(n.netmask)} == {int(n.network_address)})"
        for n in condition._prepared
    )
    return [
        f"if {ip} is None:",
        f"    {ip} = PARSE({value})",
        f"    if {ip} is None:",
        "        return None",
        f"ok = {'not ' if condition.negated else ''}({tests or 'False'})",
    ]


def _template_hit(source: _Source, condition: CompiledCondition, value: str) -> list[str]:
    """String operators with variables in their values, rendered once per variable values."""
    hit = _PREPARED_HITS.get(condition._match)
    if hit is None or (condition._match is _in_lower_set and condition._prepare is not _lower_set):
        raise _Unsupported
    templates = condition._templates or ()
    for template in templates:
        if not isinstance(template, str):
            _template_keys(source, template)
    render = source.name(remembered(templates, lambda request: condition._render(request, [])))
    test = source.name(hit)
    return [
        f"p = {render}(request, K)",
        f"ok = False if p is None else {test}(p, {value}) != {condition.negated}",
    ]
