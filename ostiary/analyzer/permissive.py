"""Warnings on broad grants (iam:PassRole, iam:CreateServiceLinkedRole on any resource) and on size quotas."""

from __future__ import annotations

from ostiary.analyzer.context import IDENTITY, RESOURCE, SCP, Context, Path, strings
from ostiary.analyzer.jsontext import Node
from ostiary.policy.matchers import glob_matches

# (action, issue-code prefix): PassRole's are security warnings, CreateServiceLinkedRole's general ones.
_SENSITIVE = (("iam:passrole", "PASS_ROLE"), ("iam:createservicelinkedrole", "CREATE_SLR"))
_QUOTAS = {IDENTITY: 6144, SCP: 5120}
_TRUST_QUOTA = 2048
_S3_POLICY_QUOTA = 20480


def check_broad_grants(context: Context, path: Path, statement: Node) -> None:
    """An Allow that grants iam:PassRole or iam:CreateServiceLinkedRole on every (or any unnamed) resource."""
    effect = statement.get("Effect")
    if effect is None or effect.value != "Allow" or context.policy_type != IDENTITY:
        return
    sensitive = _SENSITIVE[1:] if _conditioned_on(statement, "iam:passedtoservice") else _SENSITIVE
    for action, prefix in sensitive:
        _check_one(context, path, statement, action, prefix)


def _check_one(context: Context, path: Path, statement: Node, action: str, prefix: str) -> None:
    """One sensitive action against the statement's actions and resources."""
    how = _granted(statement, action)
    if how is None:
        return
    resources = statement.get("Resource")
    not_resource = statement.get("NotResource")
    if not_resource is not None:
        code = {
            "Action": "WITH_NOT_RESOURCE",
            "Star": "WITH_STAR_IN_ACTION_AND_NOT_RESOURCE",
            "NotAction": "WITH_NOT_ACTION_AND_NOT_RESOURCE",
        }[how]
        context.add(f"{prefix}_{code}", (*path, "NotResource"), not_resource)
        return
    if resources is None:
        return
    for text, where, item in strings(resources, (*path, "Resource")):
        if _is_star(text, action):
            code = {
                "Action": "WITH_STAR_IN_RESOURCE",
                "Star": "WITH_STAR_IN_ACTION_AND_RESOURCE",
                "NotAction": "WITH_STAR_IN_RESOURCE_AND_NOT_ACTION",
            }[how]
            context.add(f"{prefix}_{code}", where, item)
            return


def _granted(statement: Node, action: str) -> str | None:
    """How the statement grants the action: "Action" (named), "Star" (by a wildcard), "NotAction", or None."""
    actions = statement.get("Action")
    if actions is not None:
        texts = [t.lower() for t, _, _ in strings(actions, ())]
        if action in texts:
            return "Action"
        if any(glob_matches(t, action) for t in texts):
            return "Star"
        return None
    not_actions = statement.get("NotAction")
    if not_actions is not None and not any(
        glob_matches(t.lower(), action) for t, _, _ in strings(not_actions, ())
    ):
        return "NotAction"
    return None


def _is_star(resource: str, action: str) -> bool:
    """Whether a resource is `*` or leaves the role name (for PassRole) or the whole name open."""
    if resource == "*":
        return True
    if action == "iam:passrole":
        return resource.endswith(":role/*") or resource.endswith(":*")
    return resource.endswith(":*") or resource.endswith("/*")


def _conditioned_on(statement: Node, key: str) -> bool:
    """Whether any operator of the statement's Condition tests `key`."""
    condition = statement.get("Condition")
    if condition is None or condition.kind != "object":
        return False
    return any(
        name.lower() == key
        for _, _, block in condition.members
        if block.kind == "object"
        for name, _, _ in block.members
    )


def check_size(context: Context, root: Node) -> None:
    """Documents beyond their type's character quota (whitespace not counted, as IAM counts)."""
    size = len("".join(context.text.split()))
    if context.is_trust:
        if size > _TRUST_QUOTA:
            context.add("POLICY_SIZE_EXCEEDS_ROLE_TRUST_POLICY_QUOTA", (), root)
        return
    quota = _QUOTAS.get(context.policy_type)
    if context.policy_type == IDENTITY and quota and size > quota:
        context.add("POLICY_SIZE_EXCEEDS_IDENTITY_POLICY_QUOTA", (), root, size=size, quota=quota)
    elif context.policy_type == SCP and quota and len(context.text) > quota:
        context.add("POLICY_SIZE_EXCEEDS_SCP_QUOTA", (), root, size=len(context.text), quota=quota)
    elif context.policy_type == RESOURCE and (context.resource_type or "").startswith("AWS::S3::"):
        if size > _S3_POLICY_QUOTA:
            context.add(
                "POLICY_SIZE_EXCEEDS_RESOURCE_POLICY_QUOTA", (), root, size=size, quota=_S3_POLICY_QUOTA
            )
