"""A statement as one closure, `run(request, keys, errors, missing) -> level` (0 or False: it does not
apply; True: level 3).

It tests the resource (Resource, or NotResource), then `CompiledStatement.principal_level`, then
each condition's `test`, in that order (conditions stop at the first that fails), with the resource
test and the conditions specialised for the statement's shape.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ostiary.policy.checks import Check, compile_check
from ostiary.policy.decision import MatchedStatement
from ostiary.policy.matchers import Matcher, _always
from ostiary.policy.memo import Render, remembered
from ostiary.policy.request import Request
from ostiary.policy.variables import Part, render_matcher

if TYPE_CHECKING:
    from ostiary.policy.compile import CompiledStatement

Run = Callable[[Request, dict[str, object], list[str], list[str]], int | bool]
Plan = tuple[tuple[bool, MatchedStatement, Run], ...]  # (is Deny, the statement, its closure) in order
Test = Callable[[Request, dict[str, object]], bool]


def statement_runner(statement: CompiledStatement, *, tests_resource: bool = True) -> Run:
    """The statement's closure; it answers True for level 3 when it has no Principal element.

    `tests_resource` False: Resource and NotResource are not looked at (a request on no named resource).
    """
    resource = _resource_test(statement) if tests_resource else None
    checks = tuple(compile_check(c) for c in statement.conditions)
    if statement.principals is not None or len(checks) > 1:
        return _general(statement, resource, checks)
    if not checks:
        if resource is None:
            return lambda request, keys, errors, missing: True
        return lambda request, keys, errors, missing: resource(request, keys)
    only = checks[0]
    if resource is None:
        return only
    return lambda request, keys, errors, missing: (
        resource(request, keys) and only(request, keys, errors, missing)
    )


def _general(statement: CompiledStatement, resource: Test | None, checks: tuple[Check, ...]) -> Run:
    """Any shape: resource, principal, then every condition."""
    has_principals = statement.principals is not None
    principal_level = statement.principal_level

    def run(request: Request, keys: dict[str, object], errors: list[str], missing: list[str]) -> int:
        if resource is not None and not resource(request, keys):
            return 0
        level = principal_level(request._principal) if has_principals else 3
        if level == 0:
            return 0
        for check in checks:
            if not check(request, keys, errors, missing):
                return 0
        return level

    return run


def _resource_test(statement: CompiledStatement) -> Test | None:
    """The Resource/NotResource test, or None when every resource applies."""
    matchers, is_not = statement._resources, statement._is_not_resource
    if statement._templates or len(matchers) != 1:
        return _patterns_test(statement)
    only = matchers[0]
    if only is _always:
        return None if not is_not else (lambda request, keys: False)
    if is_not:
        return lambda request, keys: not only(request._resource)
    return lambda request, keys: bool(only(request._resource))


def _patterns_test(statement: CompiledStatement) -> Test:
    """Several resource patterns, or templates: each template's matcher rendered once per variable values."""
    matchers, is_not = statement._resources, statement._is_not_resource
    templates = tuple((prefix, _remembered_matcher(parts)) for prefix, parts in statement._templates)

    def test(request: Request, keys: dict[str, object]) -> bool:
        resource = request._resource
        for matcher in matchers:
            if matcher(resource):
                return not is_not
        for prefix, render in templates:
            if resource.startswith(prefix):
                rendered = render(request, keys)
                if rendered is not None and rendered(resource):
                    return not is_not
        return is_not

    return test


def _remembered_matcher(parts: tuple[Part, ...]) -> Render[Matcher | None]:
    """One resource template's matcher, rendered once per variable values."""
    return remembered((parts,), lambda request: render_matcher(parts, request))


Fused = Callable[[Request, dict[str, object], list[str], list[str]], int]
_FUSE_LIMIT = 256


def fuse(runs: Sequence[Run]) -> Fused:
    """One function running the statements in order: bit i of its answer is set when statement i applies.

    Generated source (names and bit values only, no policy text), so that a request pays no loop.
    """
    if len(runs) > _FUSE_LIMIT:
        return _looped(tuple(runs))
    lines = ["def fused(request, keys, errors, missing):", "    mask = 0"]
    for i in range(len(runs)):
        lines += [f"    if r{i}(request, keys, errors, missing):", f"        mask |= {1 << i}"]
    lines.append("    return mask")
    namespace: dict[str, Any] = {f"r{i}": run for i, run in enumerate(runs)}
    exec("\n".join(lines), namespace)  # noqa: S102 (the source above holds no input)
    fused: Fused = namespace["fused"]
    return fused


def _looped(runs: tuple[Run, ...]) -> Fused:
    """`fuse` for long lists: the same answer from a loop."""

    def fused(request: Request, keys: dict[str, object], errors: list[str], missing: list[str]) -> int:
        mask = 0
        for i, run in enumerate(runs):
            if run(request, keys, errors, missing):
                mask |= 1 << i
        return mask

    return fused
