"""The reference's decision: AWS's evaluation flow chart, read literally, over reference.py's matches."""

from __future__ import annotations

from typing import Any

from tests.reference.reference import WORDS, listed, statement_applies

_ORDER = ("identity", "resource", "boundary", "session", "scp")


def _context(case: dict[str, Any]) -> dict[str, list[str]]:
    principal = case["principal"]
    context: dict[str, list[str]] = {}
    if principal["type"] == "user":
        context["aws:username"] = [principal["arn"].rsplit("/", 1)[-1]]
    if principal.get("account"):
        context["aws:principalaccount"] = [principal["account"]]
    for key, value in (principal.get("tags") or {}).items():
        context["aws:principaltag/" + key.lower()] = [value]
    for key, value in case["request"].get("context", {}).items():
        context[key.lower()] = [str(v) for v in listed(value)]
    return context


def _policies(case: dict[str, Any]) -> dict[str, list[tuple[str, dict[str, Any]]] | None]:
    root = case["principal"]["type"] == "root"
    return {
        "identity": []
        if root
        else [(f"identity[{i}]", d) for i, d in enumerate(case.get("identity_policies") or [])],
        "resource": [("resource", case["resource_policy"])] if case.get("resource_policy") else [],
        "boundary": None if root or case.get("boundary") is None else [("boundary", case["boundary"])],
        "session": _sessions(case),
        "scp": None if case.get("scps") is None else [(f"scp[{i}]", d) for i, d in enumerate(case["scps"])],
    }


def _sessions(case: dict[str, Any]) -> list[tuple[str, dict[str, Any]]] | None:
    """Session policies; a GetFederationToken session without any has none allowing anything."""
    if case.get("session_policies") is not None:
        return [(f"session[{i}]", d) for i, d in enumerate(case["session_policies"])]
    principal = case["principal"]
    return [] if principal["type"] == "federated" and principal.get("user_arn") else None


def _label(policy_id: str, index: int, statement: dict[str, Any]) -> str:
    return f"{policy_id}:{statement['Sid']}" if statement.get("Sid") else f"{policy_id}:#{index}"


def decide(case: dict[str, Any]) -> tuple[str, list[str]]:
    """(decision, reasons) for a case, in the eval format's terms."""
    bounded = case.get("boundary") is not None and case["principal"]["type"] != "root"
    principal = dict(case["principal"], has_boundary=bounded)
    context = _context(case)
    groups = _policies(case)
    allows: dict[str, list[str]] = {name: [] for name in _ORDER}
    denies: list[str] = []
    first_deny = ""
    level = 0
    for name in _ORDER:
        for policy_id, document in groups[name] or []:
            variables = document.get("Version") == "2012-10-17"
            statements = listed(document["Statement"])
            for index, statement in enumerate(statements):
                hit = statement_applies(statement, case["request"], context, principal, variables)
                if not hit:
                    continue
                if statement["Effect"] == "Deny":
                    denies.append(_label(policy_id, index, statement))
                    first_deny = first_deny or name
                else:
                    allows[name].append(_label(policy_id, index, statement))
                    if name == "resource":
                        level = max(level, hit)
    action = case["request"]["action"]
    if denies:
        article = "an" if WORDS[first_deny][0] in "aeiou" else "a"
        return "ExplicitDeny", denies + [f"with an explicit deny in {article} {WORDS[first_deny]}"]
    everything = [label for name in _ORDER for label in allows[name]]
    if groups["scp"] is not None and not allows["scp"]:
        return "ImplicitDeny", [f"because no service control policy allows the {action} action"]
    same_account = (case.get("resource_account") or principal["account"]) == principal["account"]
    if same_account and level == 3:
        return "Allow", everything
    needed = []
    if principal["type"] != "root" and not (same_account and level == 2):
        needed.append("identity")
    needed += [n for n in ("boundary", "session") if groups[n] is not None]
    for name in needed:
        if not allows[name]:
            return "ImplicitDeny", [f"because no {WORDS[name]} allows the {action} action"]
    key_policy = action.lower().startswith("kms:")  # a KMS key policy must allow, in any account
    if (not same_account or key_policy) and level == 0:
        return "ImplicitDeny", [f"because no resource-based policy allows the {action} action"]
    return "Allow", everything
