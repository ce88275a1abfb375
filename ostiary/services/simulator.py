"""The policy simulator: SimulatePrincipalPolicy, SimulateCustomPolicy and the GetContextKeys* pair.

It answers from the same engine and the same stored policies as enforcement. Only the context
entries the request gives are in the context; keys that conditions test but were not given come
back as MissingContextValues, as AWS reports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ostiary.errors import InvalidInputException, MalformedPolicyDocumentException, NoSuchEntityException
from ostiary.policy import (
    Decision,
    MatchedStatement,
    PolicySyntaxError,
    Principal,
    Request,
    authorize,
    compile_policy,
    glob_matches,
    parse_policy,
)
from ostiary.services import Context, operation
from ostiary.store import principals as store
from ostiary.store.pages import page_range

IDENTITY_TYPE = "IAM Policy"  # the SourcePolicyType AWS reports for identity policies
RESOURCE_TYPE = "Resource Policy"
_SOURCE_TYPES = {"resource": RESOURCE_TYPE, "trust": RESOURCE_TYPE}
_DECISIONS = {"Allow": "allowed", "ExplicitDeny": "explicitDeny", "ImplicitDeny": "implicitDeny"}
_PRINCIPAL_TYPES = {"user": "user", "group": "user", "role": "assumed-role"}


@dataclass(frozen=True)
class Simulation:
    """Everything one simulation evaluates: compiled policies, the principal, the context."""

    identity: list[Any]
    boundary: Any | None
    resource_policy: Any | None
    resource_owner: str | None
    principal: Any
    context: dict[str, list[str]]
    condition_keys: tuple[str, ...]
    statement_keys: tuple[tuple[tuple[str, ...], bool, tuple[str, ...]], ...] = ()


@operation("SimulatePrincipalPolicy")
def simulate_principal_policy(
    ctx: Context,
    policy_source_arn: str,
    action_names: list[str],
    policy_input_list: list[str] | None = None,
    permissions_boundary_policy_input_list: list[str] | None = None,
    resource_arns: list[str] | None = None,
    resource_policy: str | None = None,
    resource_owner: str | None = None,
    caller_arn: str | None = None,
    context_entries: list[dict[str, Any]] | None = None,
    resource_handling_option: str | None = None,
    max_items: int | None = None,
    marker: str | None = None,
) -> dict[str, Any]:
    """Simulate the policies of a stored user, group or role (and any extra ones given)."""
    kind, stored, boundary = _source_policies(ctx, policy_source_arn)
    identity = [(d.policy_id, d.document) for d in stored]
    identity += _inputs("PolicyInputList", policy_input_list)
    if permissions_boundary_policy_input_list:
        boundary = _inputs("PermissionsBoundaryPolicyInputList", permissions_boundary_policy_input_list)[0]
    arn = caller_arn or policy_source_arn
    sim = _simulation(identity, boundary, resource_policy, resource_owner, arn, kind, context_entries)
    return _results(sim, action_names, resource_arns, max_items, marker)


@operation("SimulateCustomPolicy")
def simulate_custom_policy(
    ctx: Context,
    policy_input_list: list[str],
    action_names: list[str],
    permissions_boundary_policy_input_list: list[str] | None = None,
    resource_arns: list[str] | None = None,
    resource_policy: str | None = None,
    resource_owner: str | None = None,
    caller_arn: str | None = None,
    context_entries: list[dict[str, Any]] | None = None,
    resource_handling_option: str | None = None,
    max_items: int | None = None,
    marker: str | None = None,
) -> dict[str, Any]:
    """Simulate policies given as text."""
    identity = _inputs("PolicyInputList", policy_input_list)
    boundary = None
    if permissions_boundary_policy_input_list:
        boundary = _inputs("PermissionsBoundaryPolicyInputList", permissions_boundary_policy_input_list)[0]
    arn = caller_arn or f"arn:aws:iam::{ctx.account_id}:user/SimulatedUser"
    kind = "user"
    if caller_arn and ":role/" in caller_arn:
        kind = "role"
    sim = _simulation(identity, boundary, resource_policy, resource_owner, arn, kind, context_entries)
    return _results(sim, action_names, resource_arns, max_items, marker)


@operation("GetContextKeysForPrincipalPolicy")
def get_context_keys_for_principal_policy(
    ctx: Context, policy_source_arn: str, policy_input_list: list[str] | None = None
) -> dict[str, Any]:
    """The context keys that the policies of a user, group or role (and the ones given) test."""
    _, stored, _ = _source_policies(ctx, policy_source_arn)
    texts = [d.document for d in stored] + list(policy_input_list or [])
    return {"ContextKeyNames": _context_keys(texts)}


@operation("GetContextKeysForCustomPolicy")
def get_context_keys_for_custom_policy(ctx: Context, policy_input_list: list[str]) -> dict[str, Any]:
    """The context keys that the given policies test."""
    return {"ContextKeyNames": _context_keys(policy_input_list)}


# -- inputs ---------------------------------------------------------------------------------------


def _source_policies(
    ctx: Context, arn: str
) -> tuple[str, list[store.PolicyDocument], tuple[str, str] | None]:
    kind, name = _parse_source_arn(arn)
    with ctx.db.read() as conn:
        # only the caller's own account: another account's principals are not found, as in AWS
        own = _account_of(arn) in (None, ctx.account_id)
        entity = store.find_named(conn, ctx.account_id, kind, name) if own else None
        if entity is None:
            raise NoSuchEntityException(f"The {kind} with name {name} cannot be found.")
        if kind == "group":
            docs = store.group_policies(conn, entity.entity_id)
        else:
            docs = store.identity_policies(conn, kind, entity.entity_id)
        boundary = None
        if entity.permissions_boundary:
            found = store.boundary_policy(conn, entity.permissions_boundary)
            boundary = (found.policy_id, found.document)
    return kind, docs, boundary


def _parse_source_arn(arn: str) -> tuple[str, str]:
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam":
        raise InvalidInputException(f"Invalid ARN: {arn}")
    kind, _, rest = parts[5].partition("/")
    if kind not in ("user", "group", "role") or not rest:
        raise InvalidInputException(f"Invalid ARN: {arn}")
    return kind, rest.rsplit("/", 1)[-1]


def _account_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4] else None


def _inputs(label: str, texts: list[str] | None) -> list[tuple[str, str]]:
    return [(f"{label}.{i}", text) for i, text in enumerate(texts or [], start=1)]


def _simulation(
    identity: list[tuple[str, str]],
    boundary: tuple[str, str] | None,
    resource_policy: str | None,
    resource_owner: str | None,
    caller_arn: str,
    kind: str,
    entries: list[dict[str, Any]] | None,
) -> Simulation:
    texts = [t for _, t in identity] + ([boundary[1]] if boundary else [])
    statement_keys = _statement_keys(texts + ([resource_policy] if resource_policy else []))
    account = _account_of(caller_arn)
    role_arn = caller_arn if kind == "role" else None
    principal = Principal(
        arn=caller_arn, type=_PRINCIPAL_TYPES.get(kind, "user"), account=account, role_arn=role_arn
    )
    return Simulation(
        identity=[_compile(text, "identity", pid) for pid, text in identity],
        boundary=_compile(boundary[1], "boundary", boundary[0]) if boundary else None,
        resource_policy=_compile(resource_policy, "resource", "ResourcePolicy") if resource_policy else None,
        resource_owner=_account_of(resource_owner or "") if resource_owner else None,
        principal=principal,
        context=_context(entries or []),
        condition_keys=tuple(_keys_of(statement_keys)),
        statement_keys=tuple(statement_keys),
    )


def _compile(text: str, kind: str, policy_id: str) -> Any:
    try:
        return compile_policy(parse_policy(text, kind), policy_id, kind)
    except PolicySyntaxError as exc:
        raise MalformedPolicyDocumentException(exc.message) from exc


def _context(entries: list[dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for entry in entries:
        name = entry.get("ContextKeyName")
        if not name:
            continue
        out[str(name)] = [str(v) for v in entry.get("ContextKeyValues") or []]
    return out


def _context_keys(texts: list[str]) -> list[str]:
    return _keys_of(_statement_keys(texts))


def _keys_of(statement_keys: list[tuple[tuple[str, ...], bool, tuple[str, ...]]]) -> list[str]:
    """The condition keys of the statements, first spelling kept, without case duplicates."""
    seen: dict[str, str] = {}
    for _, _, keys in statement_keys:
        for key in keys:
            seen.setdefault(key.lower(), key)
    return list(seen.values())


def _statement_keys(texts: list[str]) -> list[tuple[tuple[str, ...], bool, tuple[str, ...]]]:
    """(actions, is NotAction, condition keys) of every statement of the documents."""
    found = []
    for text in texts:
        for statement in _parse_any(text).statements:
            keys = tuple(c.key for c in statement.conditions)
            found.append((tuple(a.lower() for a in statement.actions), statement.is_not_action, keys))
    return found


def _parse_any(text: str) -> Any:
    try:
        return parse_policy(text, "identity")
    except PolicySyntaxError:
        try:
            return parse_policy(text, "resource")
        except PolicySyntaxError as exc:
            raise MalformedPolicyDocumentException(exc.message) from exc


# -- results --------------------------------------------------------------------------------------


def _results(
    sim: Simulation,
    action_names: list[str],
    resource_arns: list[str] | None,
    max_items: int | None,
    marker: str | None,
) -> dict[str, Any]:
    """One page of the results, each action on each resource: only the page's are evaluated (every
    pair of 8,000 actions and 8,000 resources, all a 1 MiB request holds, took hours and tens of GB)."""
    resources = resource_arns or ["*"]
    positions, fields = page_range(len(action_names) * len(resources), marker, max_items)
    results = [
        _evaluate(
            sim, action_names[i // len(resources)], resources[i % len(resources)], resource_arns is not None
        )
        for i in positions
    ]
    return {"EvaluationResults": results, **fields}


def _evaluate(sim: Simulation, action: str, resource: str, per_resource: bool) -> dict[str, Any]:
    request = Request(sim.principal, action, resource, sim.context)
    decision = authorize(
        request,
        identity=sim.identity,
        boundary=sim.boundary,
        resource=sim.resource_policy,
        resource_account=sim.resource_owner,
        resource_known=sim.resource_policy is not None,  # as AWS's simulator: no key policy, none required
    )
    word = _DECISIONS.get(str(decision.decision), "implicitDeny")
    matched = [_statement(m) for m in decision.statements]
    missing = _missing(sim, action, decision)
    result: dict[str, Any] = {
        "EvalActionName": action,
        "EvalResourceName": resource,
        "EvalDecision": word,
        "MatchedStatements": matched,
        "MissingContextValues": missing,
        "OrganizationsDecisionDetail": {"AllowedByOrganizations": True},
    }
    cross_account = sim.resource_owner not in (None, sim.principal.account)
    if resource != "*" or cross_account:  # AWS: not returned for "*" within one account
        result["EvalDecisionDetails"] = {}
    boundary_detail = None
    if sim.boundary is not None:
        boundary_detail = {"AllowedByPermissionsBoundary": "permissions boundary" not in decision.reason}
        result["PermissionsBoundaryDecisionDetail"] = boundary_detail
    if per_resource:
        specific: dict[str, Any] = {
            "EvalResourceName": resource,
            "EvalResourceDecision": word,
            "MatchedStatements": matched,
            "MissingContextValues": missing,
        }
        if boundary_detail is not None:
            specific["PermissionsBoundaryDecisionDetail"] = boundary_detail
        result["ResourceSpecificResults"] = [specific]
    return result


def _statement(matched: MatchedStatement) -> dict[str, Any]:
    out: dict[str, Any] = {
        "SourcePolicyId": matched.policy_id,
        "SourcePolicyType": _SOURCE_TYPES.get(matched.policy_type, IDENTITY_TYPE),
    }
    start, end = matched.start, matched.end
    if start is not None:
        out["StartPosition"] = {"Line": start.line, "Column": start.column}
    if end is not None:
        out["EndPosition"] = {"Line": end.line, "Column": end.column}
    return out


def _missing(sim: Simulation, action: str, decision: Decision) -> list[str]:
    """The keys the statements that apply to `action` test but the request did not give."""
    found = {_spelled(sim, k) for k in decision.missing_context_keys}
    given = {k.lower() for k in sim.context}
    wanted = action.lower()
    for patterns, is_not_action, keys in sim.statement_keys:
        matches = any(glob_matches(p, wanted) for p in patterns)
        if matches != is_not_action:
            found.update(k for k in keys if k.lower() not in given)
    return sorted(found, key=str.lower)


def _spelled(sim: Simulation, key: str) -> str:
    for known in sim.condition_keys:
        if known.lower() == key.lower():
            return known
    return key
