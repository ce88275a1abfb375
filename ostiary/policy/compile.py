"""Policies compiled once: wildcards to matchers, statements indexed by action, then by resource.

A request looks only at the statements its action can match: `CompiledPolicy.candidates(action)`
finds them through the index the first time and remembers the answer for that action. When an
action has many candidates, they are indexed by resource too (`slices`, `resource_index`): the
request's `Slice` holds only the candidates whose Resource could match its resource, in the same
order, so a statement left out is one that would not have applied.
"""

from __future__ import annotations

from collections.abc import Sequence

from ostiary.policy.conditions import CompiledCondition
from ostiary.policy.decision import MatchedStatement
from ostiary.policy.matchers import Matcher, compile_glob
from ostiary.policy.model import KINDS, Policy, Statement
from ostiary.policy.plan import Plan, Run, statement_runner
from ostiary.policy.principals import match_level
from ostiary.policy.request import Principal
from ostiary.policy.slices import INDEX_AT, Budget, Slice, Sliced
from ostiary.policy.variables import Part, parse_template

_MEMO_LIMIT = 4096
_WILD = frozenset("*?")
__all__ = ["CompiledPolicy", "CompiledStatement", "Plan", "combine_policies", "compile_policy"]


class CompiledStatement:
    """One statement ready to run: action, resource and principal matchers, conditions."""

    __slots__ = ("is_deny", "matched", "conditions", "principals", "is_not_principal", "action_patterns",
                 "is_not_action", "_actions", "_resources", "_templates", "_is_not_resource",
                 "_run", "_blind_run", "resource_patterns", "index_keys")  # fmt: skip

    def __init__(self, statement: Statement, policy_id: str, policy_type: str, has_variables: bool) -> None:
        self.is_deny = statement.effect == "Deny"
        self.matched = MatchedStatement(
            policy_id,
            policy_type,
            statement.index,
            statement.effect,
            statement.sid,
            statement.start,
            statement.end,
        )
        self.action_patterns = tuple(a.lower() for a in statement.actions)
        self._actions = tuple(compile_glob(a) for a in self.action_patterns)
        self.is_not_action = statement.is_not_action
        self._is_not_resource = statement.is_not_resource
        resources = statement.resources if statement.resources is not None else ("*",)
        templates = [parse_template(r) if has_variables else None for r in resources]
        self._templates: tuple[tuple[str, tuple[Part, ...]], ...] = tuple(
            (_literal_prefix(t), t) for t in templates if t is not None
        )
        self.resource_patterns = tuple(r for r, t in zip(resources, templates, strict=True) if t is None)
        self._resources: tuple[Matcher, ...] = tuple(compile_glob(r) for r in self.resource_patterns)
        self.principals = statement.principals
        self.is_not_principal = statement.is_not_principal
        self.conditions = tuple(CompiledCondition(c, has_variables) for c in statement.conditions)
        self._run: Run | None = None
        self._blind_run: Run | None = None
        self.index_keys: tuple[object] | None = None  # `resource_index.pattern_keys`, remembered there

    def runner(self) -> Run:
        """The statement as one closure (built on first use): its level for a request, 0 when not."""
        if self._run is None:
            self._run = statement_runner(self)
        return self._run

    def resource_blind_runner(self) -> Run:
        """The statement's closure without its Resource/NotResource test (built on first use)."""
        if self._blind_run is None:
            self._blind_run = statement_runner(self, tests_resource=False)
        return self._blind_run

    def action_applies(self, action: str) -> bool:
        """Whether the (lowercased) action is covered by Action, or not excluded by NotAction."""
        return any(m(action) for m in self._actions) != self.is_not_action

    def principal_level(self, principal: Principal) -> int:
        """How the Principal element names the caller: 0 not, 1 its account, 2 its role, 3 itself.

        NotPrincipal spares only a caller it names itself: a role session by its session ARN (naming
        the role and the account is not enough), and never a caller with a permissions boundary.
        """
        if self.principals is None:
            return 3
        if self.is_not_principal and principal.has_boundary:
            return 3
        level = max((match_level(kind, name, principal) for kind, name in self.principals), default=0)
        if self.is_not_principal:
            return 0 if level == 3 else 3
        return level


def _literal_prefix(parts: tuple[Part, ...]) -> str:
    """The text every match must start with: the template up to its first wildcard or variable."""
    first = parts[0]
    if not isinstance(first, str):
        return ""
    cut = min((i for i in (first.find("*"), first.find("?")) if i >= 0), default=len(first))
    return first[:cut]


class CompiledPolicy:
    """The statements of one or more policies of one type, indexed by action (and by resource)."""

    __slots__ = ("policy_id", "policy_type", "statements", "_exact", "_service", "_any", "_memo", "_plans",
                 "decisions", "inlined", "_sliced", "_budget")  # fmt: skip

    def __init__(self, policy_id: str, policy_type: str, statements: Sequence[CompiledStatement]) -> None:
        self.policy_id = policy_id
        self.policy_type = policy_type
        self.statements = tuple(statements)
        self._exact: dict[str, list[tuple[int, CompiledStatement]]] = {}
        self._service: dict[str, list[tuple[int, CompiledStatement]]] = {}
        self._any: list[tuple[int, CompiledStatement]] = []
        self._memo: dict[str, tuple[CompiledStatement, ...]] = {}
        self._plans: dict[str, Plan] = {}
        self.decisions: dict[tuple[object, ...], object] = {}  # the identity-only path's, by what matched
        self.inlined: dict[str, object] = {}  # the identity-only path's generated functions, by action
        self._sliced: dict[str, Sliced] = {}
        self._budget = Budget(self._sliced)
        for rank, statement in enumerate(self.statements):
            self._index(rank, statement)

    def _index(self, rank: int, statement: CompiledStatement) -> None:
        """File the statement under each action it names (NotAction and `*:…` under any)."""
        if statement.is_not_action:
            self._any.append((rank, statement))
            return
        for action in sorted(set(statement.action_patterns)):
            service, colon, name = action.partition(":")
            if not colon or _WILD & set(service):
                self._any.append((rank, statement))
            elif _WILD & set(name):
                self._service.setdefault(service, []).append((rank, statement))
            else:
                self._exact.setdefault(action, []).append((rank, statement))

    def candidates(self, action: str) -> tuple[CompiledStatement, ...]:
        """The statements whose Action/NotAction applies to the (lowercased) action, in order."""
        found = self._memo.get(action)
        if found is None:
            pool = dict(self._exact.get(action, ()))
            pool.update(self._service.get(action.partition(":")[0], ()))
            pool.update(self._any)
            found = tuple(pool[rank] for rank in sorted(pool) if pool[rank].action_applies(action))
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[action] = found
        return found

    def plan(self, action: str) -> Plan:
        """(is Deny, MatchedStatement, run) of each candidate statement for the action (any case)."""
        found = self._plans.get(action)
        if found is None:
            found = tuple((s.is_deny, s.matched, s.runner()) for s in self.candidates(action.lower()))
            if len(self._plans) >= _MEMO_LIMIT:
                self._plans.clear()
            self._plans[action] = found
        return found

    def sliced(self, action: str) -> Sliced:
        """The action's (any case) candidate statements by resource."""
        found = self._sliced.get(action)
        if found is None:
            candidates = self.candidates(action.lower())
            whole = Slice(None, candidates, None if len(candidates) > INDEX_AT else self.plan(action))
            found = Sliced(whole, self._budget)
            if len(self._sliced) >= _MEMO_LIMIT:
                self._sliced.clear()
            self._sliced[action] = found
        return found

    def slice(self, action: str, resource: str) -> Slice:
        """The candidate statements for the action (any case) whose Resource could match the resource."""
        found = self._sliced.get(action)
        if found is None:
            found = self.sliced(action)
        return found.get(resource)

    def plan_for(self, action: str, resource: str) -> Plan:
        """`plan(action)` without the statements whose Resource cannot match the resource (same order)."""
        found = self._sliced.get(action)
        if found is None:
            found = self.sliced(action)
        return found.get(resource).plan


def compile_policy(policy: Policy, policy_id: str, policy_type: str) -> CompiledPolicy:
    """Compile a parsed policy once; `policy_type` is identity, resource, boundary, session, scp or trust."""
    if policy_type not in KINDS:
        raise ValueError(f"unknown policy type `{policy_type}`")
    statements = [
        CompiledStatement(s, policy_id, policy_type, policy.has_variables) for s in policy.statements
    ]
    return CompiledPolicy(policy_id, policy_type, statements)


def combine_policies(policies: Sequence[CompiledPolicy], policy_type: str = "identity") -> CompiledPolicy:
    """One indexed policy holding the statements of several (a principal's identity policies)."""
    statements = [s for policy in policies for s in policy.statements]
    return CompiledPolicy(",".join(p.policy_id for p in policies), policy_type, statements)
