"""Checks on Action/NotAction and Resource/NotResource against the Service Authorization Reference."""

from __future__ import annotations

import difflib
import re
from functools import lru_cache

from ostiary.analyzer import reference
from ostiary.analyzer.context import SCP, Context, Path, strings
from ostiary.analyzer.jsontext import Node
from ostiary.policy.matchers import glob_matches

PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc")
_ACCOUNT = re.compile(r"\d{12}")
_RESOURCE_SERVICES = {
    "AWS::S3::Bucket": ("s3",),
    "AWS::S3::AccessPoint": ("s3",),
    "AWS::S3::MultiRegionAccessPoint": ("s3",),
    "AWS::S3ObjectLambda::AccessPoint": ("s3-object-lambda",),
    "AWS::IAM::AssumeRolePolicyDocument": ("sts",),
    "AWS::DynamoDB::Table": ("dynamodb",),
}
_WILD = re.compile(r"[*?]")
_CATALOGUE_SIZE = 25_000  # about as many actions as the reference lists, all services together


_EXPANDED: dict[str, frozenset[str]] = {}
_EXPANDED_MAX = 20_000


def expand(action: str, context: Context | None = None) -> frozenset[str] | None:
    """The known actions (`service:name`, lowercased) an action pattern matches.

    With a context, a pattern not expanded before is paid for from its work budget (one unit per
    catalogue action compared); None when the budget cannot pay.
    """
    key = action.lower()
    found = _EXPANDED.get(key)
    if found is not None:
        return found
    if context is not None and not context.afford(_cost(key)):
        return None
    service, _, name = key.partition(":")
    if _WILD.search(service):
        services = [s for s in reference.services() if glob_matches(service, s)]
    else:
        services = [service]
    found = frozenset(f"{s}:{a}" for s in services for a in _matching(s, name))
    if len(_EXPANDED) >= _EXPANDED_MAX:
        _EXPANDED.clear()
    _EXPANDED[key] = found
    return found


def _cost(action: str) -> int:
    """How many catalogue actions expanding a (lowercased) pattern compares."""
    service, _, name = action.partition(":")
    if _WILD.search(service):
        return _CATALOGUE_SIZE
    return len(reference.lower_actions(service)) if _WILD.search(name) else 1


@lru_cache(maxsize=4096)
def _matching(service: str, name: str) -> tuple[str, ...]:
    """The lowercased action names of `service` that `name` (a glob, lowercased) matches."""
    known = reference.lower_actions(service)
    if not _WILD.search(name):
        return (name,) if name in known else ()
    return tuple(a for a in known if glob_matches(name, a))


def check_actions(context: Context, path: Path, statement: Node) -> None:
    """Each action names a known service and at least one of its actions."""
    for name in ("Action", "NotAction"):
        node = statement.get(name)
        if node is None:
            continue
        for text, where, item in strings(node, (*path, name)):
            _check_action(context, text, where, item)


def _check_action(context: Context, action: str, path: Path, node: Node) -> None:
    """One action pattern."""
    if "${" in action:
        context.add("VARIABLE_UNSUPPORTED_IN_ELEMENT", path, node, variable=action)
        return
    if action == "*":
        return
    service, colon, name = action.partition(":")
    if context.policy_type == SCP and "*" in action[:-1]:
        context.add("SCP_SYNTAX_ERROR_ACTION_WILDCARD", path, node, action=action)
    if _WILD.search(service):
        if expand(action, context) == frozenset():
            context.add("INVALID_ACTION", path, node, action=action, suggestion="")
        return
    if not colon or not reference.service_exists(service.lower()):
        close = _closest_service(service.lower())
        hint = f" Did you mean {close}?" if close and colon else ""
        context.add("INVALID_SERVICE_IN_ACTION", path, node, service=action, suggestion=hint)
        return
    if expand(action, context) == frozenset():
        context.add("INVALID_ACTION", path, node, action=action, suggestion=_suggest(service.lower(), name))
    _check_supported(context, service.lower(), action, path, node)


@lru_cache(maxsize=1024)
def _closest_service(service: str) -> str:
    """The known service prefix nearest a misspelt one, or ""."""
    close = difflib.get_close_matches(service, reference.services(), n=1)
    return close[0] if close else ""


def _suggest(service: str, name: str) -> str:
    """ " Did you mean service:Name?" for a near miss, else ""."""
    if _WILD.search(name):
        return ""
    names = {a.lower(): a for a in reference.actions(service)}
    close = difflib.get_close_matches(name.lower(), list(names), n=1, cutoff=0.8)
    return f" Did you mean {service}:{names[close[0]]}?" if close else ""


def _check_supported(context: Context, service: str, action: str, path: Path, node: Node) -> None:
    """In a policy attached to a known resource type, only that resource's service's actions apply."""
    allowed = _RESOURCE_SERVICES.get(context.resource_type or "")
    if allowed is not None and service not in allowed:
        context.add(
            "UNSUPPORTED_ACTION_IN_POLICY", path, node, action=action, resource_type=context.resource_type
        )


def check_resources(context: Context, path: Path, statement: Node) -> None:
    """Each resource is `*` or an ARN of a known service in a format the service documents."""
    for name in ("Resource", "NotResource"):
        node = statement.get(name)
        if node is None:
            continue
        for text, where, item in strings(node, (*path, name)):
            _check_resource(context, text, where, item)


def _check_resource(context: Context, resource: str, path: Path, node: Node) -> None:
    """One resource ARN."""
    if resource == "*":
        return
    if "${" in resource:
        context.uses_variables = True
    parts = resource.split(":", 5)
    if parts[0] != "arn":
        context.add("INVALID_ARN_PREFIX", path, node)
        return
    if len(parts) < 6:
        context.add("MISSING_ARN_FIELD", path, node, fields=6)
        return
    _, partition, service, region, account, rest = parts
    if _WILD.search(service):
        context.add("WILDCARD_IN_SERVICE_NAME", path, node)
        return
    if service != service.lower() and reference.service_exists(service.lower()):
        context.add("INVALID_ARN_SERVICE_CASE", path, node, service=service)
        return
    if not reference.service_exists(service):
        context.add("INVALID_SERVICE", path, node, service=service)
        return
    allowed = _RESOURCE_SERVICES.get(context.resource_type or "")
    if allowed is not None and service not in allowed:
        context.add("UNSUPPORTED_RESOURCE_ARN_IN_POLICY", path, node, resource_type=context.resource_type)
    if partition not in PARTITIONS and not _WILD.search(partition) and "${" not in partition:
        context.add(
            "INVALID_PARTITION",
            path,
            node,
            service=service,
            partition=partition,
            partitions=", ".join(PARTITIONS),
        )
    _check_fields(context, service, region, account, resource, path, node)


def _check_fields(
    context: Context, service: str, region: str, account: str, resource: str, path: Path, node: Node
) -> None:
    """The resource part in one of the service's formats; region and account as those formats have them."""
    arns = reference.arn_formats(service)
    if not arns:
        return
    kind = _resource_kind(resource.split(":", 5)[5])
    indexes = [i for i in range(len(arns)) if kind is None or _kind_matches(arns[i], kind)]
    if not indexes:
        if not (service == "iam" and kind == "root"):
            context.add("INVALID_ARN_RESOURCE", path, node)
        return
    formats = [arns[i].split(":", 5) for i in indexes]
    formats = [f for f in formats if len(f) == 6]
    if not formats:
        return
    if region and not _WILD.search(region) and all(f[3] == "" for f in formats):
        context.add("ARN_REGION_NOT_ALLOWED", path, node, service=service)
    elif not region and all(f[3] != "" for f in formats):
        context.add("MISSING_ARN_REGION", path, node, service=service)
    if account and all(f[4] == "" for f in formats):
        if not _WILD.search(account):
            context.add("ARN_ACCOUNT_NOT_ALLOWED", path, node, service=service)
    elif account and not _WILD.search(account) and "${" not in account and not _valid_account(account):
        context.add("INVALID_ARN_ACCOUNT", path, node, account=account)


def _resource_kind(tail: str) -> str | None:
    """The resource-type word starting an ARN's resource part; None when it is open (wildcards, variables)."""
    kind = re.split(r"[/:]", tail, maxsplit=1)[0]
    if not tail or _WILD.search(tail) or "${" in tail:
        return None
    return kind


def _kind_matches(arn: str, kind: str) -> bool:
    """Whether an ARN format's resource part starts with the resource-type word `kind`."""
    parts = arn.split(":", 5)
    format_kind = re.split(r"[/:]", parts[5] if len(parts) == 6 else arn, maxsplit=1)[0]
    return "${" in format_kind or format_kind == kind


def _valid_account(account: str) -> bool:
    """A 12-digit account, or `aws` (AWS managed resources)."""
    return bool(_ACCOUNT.fullmatch(account)) or account == "aws"
