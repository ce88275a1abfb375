"""The `ostiary policy eval` line format: one input case (a dict) to one output line (a dict)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from ostiary.policy.authorize import authorize
from ostiary.policy.compile import CompiledPolicy, compile_policy
from ostiary.policy.decision import Decision
from ostiary.policy.errors import PolicySyntaxError
from ostiary.policy.parse import parse_policy, scalar_text
from ostiary.policy.request import Principal, Request

_PRINCIPAL_FIELDS = ("arn", "type", "account", "user_id", "role_arn", "role_id", "session_name", "user_arn",
                     "federation", "provider", "is_current")  # fmt: skip


class CaseError(ValueError):
    """A case line that cannot be read."""


def evaluate_case(case: dict[str, Any]) -> dict[str, Any]:
    """One eval-format input case to its output line; a case that cannot be read gives `error`."""
    case_id = case.get("id") if isinstance(case, dict) else None
    try:
        return _evaluate(case, case_id)
    except CaseError as error:
        return {"id": case_id, "error": str(error)}
    except PolicySyntaxError as error:
        where = f" at `{error.path}`" if error.path else ""
        return {"id": case_id, "error": f"invalid policy{where}: {error.message}"}


def decision_line(case_id: Any, decision: Decision) -> dict[str, Any]:
    """A Decision as an output line."""
    reasons = [s.label for s in decision.statements]
    if decision.reason:
        reasons.append(decision.reason)
    line: dict[str, Any] = {"id": case_id, "decision": decision.decision, "reasons": reasons}
    line["statements"] = [s.as_dict() for s in decision.statements]
    if decision.errors:
        line["errors"] = list(decision.errors)
    if decision.missing_context_keys:
        line["missing_context_keys"] = list(decision.missing_context_keys)
    return line


def _evaluate(case: Any, case_id: Any) -> dict[str, Any]:
    """Read the case, build the request and the policies, decide."""
    if not isinstance(case, dict):
        raise CaseError("a case is a JSON object")
    request = _request(case)
    trust = case.get("trust_policy")
    resource_account = case.get("resource_account")
    if trust is not None and not resource_account:
        resource_account = _account_of(case.get("role_arn") or request.resource)
    decision = authorize(
        request,
        identity=_many(case.get("identity_policies"), "identity") or (),
        boundary=_one(case.get("boundary"), "boundary"),
        session=_many(case.get("session_policies"), "session"),
        scps=_many(case.get("scps"), "scp"),
        resource=_one(case.get("resource_policy"), "resource"),
        trust=_one(trust, "trust"),
        resource_account=resource_account or None,
    )
    return decision_line(case_id, decision)


def _request(case: dict[str, Any]) -> Request:
    """The Request of a case."""
    raw_principal = case.get("principal")
    raw_request = case.get("request")
    if not isinstance(raw_principal, dict) or not isinstance(raw_request, dict):
        raise CaseError("`principal` and `request` must be objects")
    fields = {k: raw_principal[k] for k in _PRINCIPAL_FIELDS if raw_principal.get(k) is not None}
    if not isinstance(fields.get("arn"), str) or not isinstance(raw_request.get("action"), str):
        raise CaseError("`principal.arn` and `request.action` are required strings")
    tags = raw_principal.get("tags") or {}
    context = raw_request.get("context") or {}
    if not isinstance(tags, dict) or not isinstance(context, dict):
        raise CaseError("`principal.tags` and `request.context` must be objects")
    try:
        principal = Principal(tags={str(k): str(v) for k, v in tags.items()}, **fields)
        return Request(
            principal, raw_request["action"], str(raw_request.get("resource") or "*"), _context(context)
        )
    except (TypeError, ValueError) as error:
        raise CaseError(str(error)) from None


def _context(context: dict[str, Any]) -> dict[str, list[str]]:
    """Context values as lists of strings (JSON true → "true")."""
    out: dict[str, list[str]] = {}
    for key, value in context.items():
        items = value if isinstance(value, list) else [value]
        out[str(key)] = [scalar_text(v) for v in items]
    return out


def _account_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


def _many(documents: Any, kind: str) -> list[CompiledPolicy] | None:
    """A list of documents of one kind compiled (ids `kind[i]`), or None when the field is null."""
    if documents is None:
        return None
    if not isinstance(documents, list):
        raise CaseError(f"`{kind}` policies must be a list")
    return [_compiled(_key(d), kind, f"{kind}[{i}]") for i, d in enumerate(documents)]


def _one(document: Any, kind: str) -> CompiledPolicy | None:
    """One document compiled (its id is its kind), or None when the field is null."""
    return None if document is None else _compiled(_key(document), kind, kind)


def _key(document: Any) -> str:
    """A document as the text to parse (strings as given, objects as JSON)."""
    return document if isinstance(document, str) else json.dumps(document)


@lru_cache(maxsize=1024)
def _compiled(text: str, kind: str, policy_id: str) -> CompiledPolicy:
    """Parse and compile a document once per (text, kind, id)."""
    return compile_policy(parse_policy(text, kind), policy_id, kind)
