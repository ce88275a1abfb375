"""Checks on the document's shape: top-level elements, statement elements, Sids, effects, principals."""

from __future__ import annotations

import re

from ostiary.analyzer.context import IDENTITY, RCP, RESOURCE, SCP, Context, Path, strings
from ostiary.analyzer.finding import Key
from ostiary.analyzer.jsontext import Node

VERSIONS = ("2012-10-17", "2008-10-17")
_TOP = ("Version", "Id", "Statement")
_ELEMENTS = (
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)
_PAIRS = (("Action", "NotAction"), ("Resource", "NotResource"), ("Principal", "NotPrincipal"))
_PRINCIPAL_KEYS = ("AWS", "Service", "Federated", "CanonicalUser")
_SID = re.compile(r"[A-Za-z0-9]*")


def check_top(context: Context, root: Node) -> list[tuple[int, Node]]:
    """The top level: known elements, Version, Statement; return the statements that are objects."""
    if root.kind != "object":
        context.add("DATA_TYPE_MISMATCH", (), root, data_type="Object")
        return []
    for name, key, _ in root.members:
        if name not in _TOP:
            context.add("INVALID_POLICY_ELEMENT", (Key(name),), key, element=name)
    _check_version(context, root)
    statement = root.get("Statement")
    if statement is None:
        context.add("MISSING_STATEMENT", (), root)
        return []
    if statement.kind == "object":
        return [(-1, statement)]
    if statement.kind != "array":
        context.add("DATA_TYPE_MISMATCH", ("Statement",), statement, data_type="Array")
        return []
    found = []
    for index, item in enumerate(statement.items):
        if item.kind == "object":
            found.append((index, item))
        else:
            context.add("DATA_TYPE_MISMATCH", ("Statement", index), item, data_type="Object")
    return found


def _check_version(context: Context, root: Node) -> None:
    """Version: recommended; when given, one of the two versions of the language."""
    version = root.get("Version")
    if version is None:
        context.add("MISSING_VERSION", (), root)
    elif version.kind != "string":
        context.add("DATA_TYPE_MISMATCH", ("Version",), version, data_type="String")
    elif version.value not in VERSIONS:
        context.add(
            "INVALID_VERSION", ("Version",), version, version=version.value, versions=", ".join(VERSIONS)
        )


def statement_path(index: int) -> Path:
    """The path of a statement (a lone statement object has no index)."""
    return ("Statement",) if index < 0 else ("Statement", index)


def check_statement(context: Context, path: Path, statement: Node) -> None:
    """One statement's elements: names, pairs, types, Effect, required elements, principals."""
    for name, key, value in statement.members:
        if name not in _ELEMENTS:
            context.add("INVALID_POLICY_ELEMENT", (*path, Key(name)), key, element=name)
        elif name in ("Sid", "Effect") and value.kind != "string":
            context.add("DATA_TYPE_MISMATCH", (*path, name), value, data_type="String")
        elif name in ("Action", "NotAction", "Resource", "NotResource") and not _is_strings(value):
            context.add("DATA_TYPE_MISMATCH", (*path, name), value, data_type="Array")
        elif name == "Condition" and value.kind != "object":
            context.add("DATA_TYPE_MISMATCH", (*path, name), value, data_type="Object")
    for one, other in _PAIRS:
        if statement.get(one) is not None and statement.get(other) is not None:
            context.add("UNSUPPORTED_ELEMENT_COMBINATION", path, statement, element1=one, element2=other)
    _check_effect(context, path, statement)
    _check_required(context, path, statement)
    _check_principals(context, path, statement)


def _is_strings(node: Node) -> bool:
    """Whether an element is a string or an array of strings."""
    return node.kind == "string" or (node.kind == "array" and all(i.kind == "string" for i in node.items))


def _check_effect(context: Context, path: Path, statement: Node) -> None:
    """Effect is Allow or Deny (case-sensitive)."""
    effect = statement.get("Effect")
    if effect is None:
        context.add("MISSING_EFFECT", path, statement)
    elif effect.kind == "string" and effect.value not in ("Allow", "Deny"):
        context.add("INVALID_EFFECT", (*path, "Effect"), effect, effect=effect.value)


def _check_required(context: Context, path: Path, statement: Node) -> None:
    """Action always; Resource except in trust policies; empty arrays do nothing."""
    for names, missing, empty in (
        (("Action", "NotAction"), "MISSING_ACTION", "EMPTY_ARRAY_ACTION"),
        (("Resource", "NotResource"), "MISSING_RESOURCE", "EMPTY_ARRAY_RESOURCE"),
    ):
        present = [(n, statement.get(n)) for n in names if statement.get(n) is not None]
        if not present:
            if missing == "MISSING_ACTION" or not (context.is_trust or context.policy_type == SCP):
                context.add(missing, path, statement)
            continue
        for name, node in present:
            if node is not None and node.kind == "array" and not node.items:
                context.add(empty, (*path, name), node)
    if context.is_trust:
        for name in ("Resource", "NotResource"):
            node = statement.get(name)
            if node is not None:
                context.add("ROLE_TRUST_POLICY_SYNTAX_ERROR_RESOURCE", (*path, name), node)


def _check_principals(context: Context, path: Path, statement: Node) -> None:
    """Principal and NotPrincipal: where they are allowed, their shape, their wildcards."""
    principal = statement.get("Principal")
    not_principal = statement.get("NotPrincipal")
    if context.policy_type in (IDENTITY, SCP):
        for name, node in (("Principal", principal), ("NotPrincipal", not_principal)):
            if node is None:
                continue
            if context.policy_type == SCP:
                context.add("SCP_SYNTAX_ERROR_PRINCIPAL", (*path, name), node)
            else:
                context.add("UNSUPPORTED_PRINCIPAL", (*path, name), node, policy_type=context.policy_type)
        return
    if context.policy_type not in (RESOURCE, RCP):
        return
    if principal is None and not_principal is None:
        context.add("MISSING_PRINCIPAL", path, statement)
    if not_principal is not None:
        effect = statement.get("Effect")
        if context.is_trust:
            context.add("ROLE_TRUST_POLICY_SYNTAX_ERROR_NOTPRINCIPAL", (*path, "NotPrincipal"), not_principal)
        elif effect is not None and effect.value == "Allow":
            context.add("ALLOW_WITH_NOT_PRINCIPAL", (*path, "NotPrincipal"), not_principal)
        _check_principal_shape(context, (*path, "NotPrincipal"), not_principal)
    if principal is not None:
        _check_principal_shape(context, (*path, "Principal"), principal)
        _check_github(context, path, statement, principal)


def _check_principal_shape(context: Context, path: Path, node: Node) -> None:
    """`"*"` or an object of known keys whose values are strings; wildcards only as a whole `*`."""
    if node.kind == "string":
        if node.value != "*":
            context.add("INVALID_PRINCIPAL_FORMAT", path, node)
        elif context.is_trust:
            context.add("ROLE_TRUST_POLICY_UNSUPPORTED_WILDCARD_IN_PRINCIPAL", path, node)
        return
    if node.kind == "array":
        context.add("EMPTY_ARRAY_PRINCIPAL" if not node.items else "INVALID_PRINCIPAL_FORMAT", path, node)
        return
    if node.kind != "object":
        context.add("INVALID_PRINCIPAL_FORMAT", path, node)
        return
    if not node.members:
        context.add("EMPTY_OBJECT_PRINCIPAL", path, node)
    for name, key, value in node.members:
        if name not in _PRINCIPAL_KEYS:
            context.add("INVALID_PRINCIPAL_KEY", (*path, Key(name)), key, principal_key=name)
            continue
        if value.kind == "array" and not value.items:
            context.add("EMPTY_ARRAY_PRINCIPAL", (*path, name), value)
        if name == "Federated" and context.policy_type == RESOURCE and not context.is_trust:
            context.add("FEDERATED_PRINCIPAL_NOT_SUPPORTED", (*path, name), value)
        for text, where, item in strings(value, (*path, name)):
            _check_principal_value(context, name, text, where, item)


def _check_principal_value(context: Context, name: str, text: str, path: Path, node: Node) -> None:
    """One principal value: `*` alone is anyone (refused in trust policies), a partial wildcard is refused."""
    if text == "*":
        if context.is_trust and name == "AWS":
            context.add("ROLE_TRUST_POLICY_UNSUPPORTED_WILDCARD_IN_PRINCIPAL", path, node)
        return
    if "*" in text or "?" in text:
        context.add("UNSUPPORTED_WILDCARD_IN_PRINCIPAL", path, node, principal_key=name)


def _check_github(context: Context, path: Path, statement: Node, principal: Node) -> None:
    """A GitHub OIDC principal needs a `token.actions.githubusercontent.com:sub` condition."""
    federated = principal.get("Federated") if principal.kind == "object" else None
    if federated is None or not any(
        t.endswith("token.actions.githubusercontent.com") for t, _, _ in strings(federated, ())
    ):
        return
    condition = statement.get("Condition")
    keys = [
        k.lower() for _, _, block in (condition.members if condition else []) for k, _, _ in block.members
    ]
    if "token.actions.githubusercontent.com:sub" not in keys:
        context.add("MISSING_GITHUB_REPO_CONDITION_KEY", (*path, "Principal", "Federated"), federated)


def check_sids(context: Context, statements: list[tuple[int, Node]]) -> None:
    """Sids: not empty; unique (required in identity policies and SCPs); IAM's characters in identity ones."""
    seen: dict[str, int] = {}
    for index, statement in statements:
        sid = statement.get("Sid")
        if sid is None or sid.kind != "string":
            continue
        path = (*statement_path(index), "Sid")
        if sid.value == "":
            context.add("EMPTY_SID_VALUE", path, sid)
            continue
        if context.policy_type == IDENTITY and not _SID.fullmatch(sid.value):
            context.add("UNSUPPORTED_SID", path, sid)
        if sid.value in seen:
            required = context.policy_type in (IDENTITY, SCP)
            context.add("UNIQUE_SIDS_REQUIRED" if required else "UNIQUE_SIDS_RECOMMENDED", path, sid)
        seen.setdefault(sid.value, index)
