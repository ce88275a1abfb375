"""One identity policy's candidate statements for an action as one generated function, conditions inline.

`inline(statements, build)` gives `decide(request) -> Decision | None`: it reads each context key
the statements test once, straight from the caller's mapping (case-insensitive, through
`context_names`), runs the resource tests and the conditions in the general path's order, and
returns the Decision remembered for (statements that apply, keys found missing). Which
statements' resource patterns match is remembered per resource (a bounded memo per function;
templates with variables are tested on every request). It answers None,
and the caller takes the general path, for anything unusual: a key with several values, an
address it cannot read. Shapes it does not inline (a Principal element, Null, a policy value
error, operators that can report errors, more conditions in a statement than Python nests blocks)
make `inline` itself answer None.

The source holds names, bit values and network integers only, no policy text.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from functools import partial
from ipaddress import IPv4Network
from types import CodeType
from typing import TYPE_CHECKING, Any

from ostiary.policy.checks import renders_safely
from ostiary.policy.decision import Decision
from ostiary.policy.matchers import Matcher, _always
from ostiary.policy.operators import _any_glob, _in_lower_set, _in_network, _in_set
from ostiary.policy.request import _NAMES, Request, context_names
from ostiary.policy.variables import Variable, render_matcher

if TYPE_CHECKING:
    from ostiary.policy.compile import CompiledStatement
    from ostiary.policy.conditions import CompiledCondition

Decide = Callable[[Request], Decision | None]
Build = Callable[[int, list[str]], Decision]
_LIMIT = 64
# conditions of one statement: each nests one `if ok:` deeper, and Python compiles at most 100 levels
_CONDITION_LIMIT = 64
_UNREAD = object()
_CODE: dict[str, CodeType] = {}
_CODE_LIMIT = 1024
_MEMO_LIMIT = 1024


class _Unsupported(Exception):
    """A shape this module does not inline."""


class _Source:
    """The generated function's lines, names and the keys it reads."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {}
        self.keys: dict[str, int] = {}  # lowercased key → local index
        self.missing: list[str] = []  # bit → the condition's key as written
        self.plain: list[str] = []  # bit → a statement's resource patterns as one expression on `res`

    def name(self, value: Any) -> str:
        """A namespace name for a value the source refers to."""
        label = f"N{len(self.names)}"
        self.names[label] = value
        return label

    def read(self, key: str) -> tuple[str, list[str]]:
        """The local holding a key's value, and the lines that read it on first use."""
        local = f"v{self.keys.setdefault(key, len(self.keys))}"
        label = self.name(key)
        return local, [
            f"if {local} is U:",
            f"    n = names.get({label})",
            f"    {local} = flat.get({label}) if n is None else ctx[n]",
            f"    if {local}.__class__ is not str and {local} is not None:",
            "        return None",
        ]


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
    """The function around the statements' code: the remembered Decision last."""
    memo: dict[int, Decision] = {}
    missing = tuple(source.missing)

    def remember(key: int) -> Decision:
        miss = key >> count
        found = build(key & ((1 << count) - 1), [missing[b] for b in range(len(missing)) if miss >> b & 1])
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        memo[key] = found
        return found

    head = _head(source)
    resources: dict[str, int] = {}
    tail = [
        f"    key = mask | miss << {count}",
        "    found = MEMO.get(key)",
        "    return REMEMBER(key) if found is None else found",
    ]
    namespace = dict(
        source.names,
        NAMES=context_names,
        SHAPES=_NAMES,
        MEMO=memo,
        RES=resources,
        REMEMBER=remember,
        U=_UNREAD,
        ANY=_any_glob,
        PTON=socket.inet_pton,
        AF4=socket.AF_INET,
    )
    exec(_compiled("\n".join(head + body + tail)), namespace)  # noqa: S102 (the source holds no policy text)
    decide: Decide = namespace["decide"]
    return decide


def _head(source: _Source) -> list[str]:
    """The function's first lines: the request's parts, and which resource patterns match (remembered)."""
    head = ["def decide(request):", "    res = request._resource", "    mask = 0", "    miss = 0"]
    if source.keys:
        head += [
            "    ctx = request._context",
            "    names = SHAPES.get(tuple(ctx)) or NAMES(ctx)",
            "    flat = request._principal.flat",
        ]
        head += [f"    v{i} = ip{i} = U" for i in source.keys.values()]
    if source.plain:
        head += ["    rm = RES.get(res)", "    if rm is None:", "        rm = 0"]
        for i, test in enumerate(source.plain):
            head += [f"        if {test}:", f"            rm |= {1 << i}"]
        head += [f"        if len(RES) >= {_MEMO_LIMIT}:", "            RES.clear()", "        RES[res] = rm"]
    return head


def _compiled(source: str) -> CodeType:
    """The source compiled, remembered: actions and principals with statements of one shape share it."""
    code = _CODE.get(source)
    if code is None:
        code = compile(source, "<ostiary.policy.inline>", "exec")
        if len(_CODE) >= _CODE_LIMIT:
            _CODE.clear()
        _CODE[source] = code
    return code


def _statement(source: _Source, statement: CompiledStatement, bit: int) -> list[str]:
    """One statement's lines: `ok` from its resource test, then each condition while `ok`."""
    if statement.principals is not None or len(statement.conditions) > _CONDITION_LIMIT:
        raise _Unsupported
    resource = _resource(source, statement)
    if resource == ["ok = False"]:
        return []  # no resource applies: the statement never does, its conditions are not read
    lines = [] if resource == ["ok = True"] else ["    " + line for line in resource]
    depth = "    "
    for condition in statement.conditions:
        if lines:
            lines.append(f"{depth}if ok:")
            depth += "    "
        lines += [depth + line for line in _condition(source, condition)]
    if not lines:
        return [f"    mask |= {bit}"]
    return [*lines, "    if ok:", f"        mask |= {bit}"]


def _resource(source: _Source, statement: CompiledStatement) -> list[str]:
    """Lines that set `ok` to the resource test."""
    is_not = statement._is_not_resource
    plain = [_glob(source, pattern, matcher) for pattern, matcher in
             zip(statement.resource_patterns, statement._resources, strict=True)]  # fmt: skip
    if "True" in plain:
        return [f"ok = {not is_not}"]
    lines = ["ok = False"]
    if plain:
        lines = [f"ok = rm & {1 << len(source.plain)}"]
        source.plain.append(" or ".join(plain))
    for prefix, parts in statement._templates:
        values, reads = _variables(source, (parts,))
        build = _rendered(partial(render_matcher, parts))
        lines += [f"if not ok and res.startswith({source.name(prefix)}):", *("    " + r for r in reads),
                  *("    " + r for r in _render_lines(source, build, values, "m")),
                  "    ok = m is not None and bool(m(res))"]  # fmt: skip
    if is_not:
        lines.append("ok = not ok")
    return lines


def _glob(source: _Source, pattern: str, matcher: Matcher) -> str:
    """A resource pattern's test on `res` as an expression."""
    if matcher is _always:
        return "True"
    if "*" not in pattern and "?" not in pattern:
        return f"res == {source.name(pattern)}"
    if "?" not in pattern and pattern.count("*") == 1:
        head, _, tail = pattern.partition("*")
        if not tail:
            return f"res.startswith({source.name(head)})"
        if not head:
            return f"res.endswith({source.name(tail)})"
    return f"bool({source.name(matcher)}(res))"


def _condition(source: _Source, condition: CompiledCondition) -> list[str]:
    """Lines that set `ok` to whether the condition holds (a missing key sets its bit in `miss`)."""
    if condition._error or condition.is_null:
        raise _Unsupported
    value, read = source.read(condition.key)
    bit = 1 << len(source.missing)
    source.missing.append(condition.name)
    hit = _hit(source, condition, value)
    return [
        *read,
        f"if {value} is None:",
        f"    miss |= {bit}",
        f"    ok = {condition.absent}",
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
        matchers: tuple[Matcher, ...] = condition._prepared
        tests = " or ".join(f"{source.name(m)}({value})" for m in matchers)
        return [f"ok = {'not ' if negated else ''}bool({tests or 'False'})"]
    if match is _in_network:
        return _network_hit(condition, value)
    raise _Unsupported


def _network_hit(condition: CompiledCondition, value: str) -> list[str]:
    """(Not)IpAddress on a dotted quad, packed once per request and compared byte by byte (else None)."""
    ip = "ip" + value[1:]
    tests = " or ".join(_network_test(ip, n) for n in condition._prepared if n.version == 4)
    return [
        f"if {ip} is U:",
        "    try:",
        f"        {ip} = PTON(AF4, {value})",
        "    except (OSError, ValueError):",
        "        return None",
        f"ok = {'not ' if condition.negated else ''}({tests or 'False'})",
    ]


def _network_test(ip: str, network: IPv4Network) -> str:
    """Whether the packed address `ip` is in the network: its whole bytes, then the masked one."""
    packed, full, rest = network.network_address.packed, network.prefixlen // 8, network.prefixlen % 8
    tests = [f"{ip}[{i}] == {packed[i]}" for i in range(full)]
    if rest:
        mask = (0xFF << (8 - rest)) & 0xFF
        tests.append(f"{ip}[{full}] & {mask} == {packed[full]}")
    return f"({' and '.join(tests) or 'True'})"


def _variables(source: _Source, templates: Sequence[Sequence[object] | str]) -> tuple[str, list[str]]:
    """The expression of the templates' variable values (as `memo.resolve` reads them), and their reads."""
    values: list[str] = []
    reads: list[str] = []
    for variable in (p for t in templates if not isinstance(t, str) for p in t if isinstance(p, Variable)):
        local, read = source.read(variable.key)
        reads += read
        if variable.default is None:
            values.append(local)
        else:
            values.append(f"({local} if {local} is not None else {source.name(variable.default)})")
    if len(values) == 1:
        return values[0], reads
    return (f"({', '.join(values)},)" if values else "()"), reads  # no values: `${*}` and the like only


def _template_hit(source: _Source, condition: CompiledCondition, value: str) -> list[str]:
    """String operators with variables in their values, rendered once per variable values."""
    if not renders_safely(condition):
        raise _Unsupported
    values, reads = _variables(source, condition._templates or ())
    test = _PREPARED_TESTS[condition._match]
    build = _rendered(lambda request: condition._render(request, []))
    return [
        *reads,
        *_render_lines(source, build, values, "p"),
        f"ok = False if p is None else {test.format(value)} != {condition.negated}",
    ]


# match → the test of a present value `{}` against rendered values `p` (the operator, inline)
_PREPARED_TESTS = {_in_set: "({} in p)", _in_lower_set: "({}.lower() in p)", _any_glob: "ANY(p, {})"}


Rendered = tuple[dict[object, Any], Callable[[object, Request], Any]]


def _rendered(build: Callable[[Request], Any]) -> Rendered:
    """A memo of `build(request)` per variable values, and the function that fills it."""
    memo: dict[object, Any] = {}

    def fill(values: object, request: Request) -> Any:
        found = build(request)
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        memo[values] = found
        return found

    return memo, fill


def _render_lines(source: _Source, rendered: Rendered, values: str, target: str) -> list[str]:
    """Lines that set `target` to the rendering for `values`, from the memo when it is there."""
    memo, fill = source.name(rendered[0]), source.name(rendered[1])
    return [
        f"{target} = {memo}.get({values}, U)",
        f"if {target} is U:",
        f"    {target} = {fill}({values}, request)",
    ]
