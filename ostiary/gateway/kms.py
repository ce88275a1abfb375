"""What KMS operations need: the key's ARN however the call names it (key id, key ARN, alias name,
alias ARN: aliases resolved through `Facts.resolve_alias`), alias ARNs for the alias operations, and
KMS's request keys: `kms:EncryptionContext:*`, `kms:CallerAccount`, `kms:ViaService`, grants' keys ...

A call that names no key (Decrypt of a symmetric ciphertext without `KeyId`) is asked on "*": the
key is inside the ciphertext, which only the backend can open.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ostiary.gateway.mapping import (
    Facts,
    Permission,
    entries,
    fill,
    listed_only,
    on_behalf,
    resource_types,
    tag_keys,
)
from ostiary.gateway.operations import Operation

_MEMBER_KEYS = {
    "kms:EncryptionAlgorithm": "EncryptionAlgorithm",
    "kms:SigningAlgorithm": "SigningAlgorithm",
    "kms:MacAlgorithm": "MacAlgorithm",
    "kms:MessageType": "MessageType",
    "kms:KeySpec": "KeySpec",
    "kms:KeyUsage": "KeyUsage",
    "kms:KeyOrigin": "Origin",
    "kms:MultiRegion": "MultiRegion",
    "kms:BypassPolicyLockoutSafetyCheck": "BypassPolicyLockoutSafetyCheck",
    "kms:DataKeyPairSpec": "KeyPairSpec",
    "kms:KeyAgreementAlgorithm": "KeyAgreementAlgorithm",
    "kms:ScheduleKeyDeletionPendingWindowInDays": "PendingWindowInDays",
    "kms:RotationPeriodInDays": "RotationPeriodInDays",
    "kms:ReplicaRegion": "ReplicaRegion",
    "kms:PrimaryRegion": "PrimaryRegion",
    "kms:WrappingAlgorithm": "WrappingAlgorithm",
    "kms:WrappingKeySpec": "WrappingKeySpec",
    "kms:ExpirationModel": "ExpirationModel",
    "kms:GrantOperations": "Operations",
    "kms:GranteePrincipal": "GranteePrincipal",
    "kms:RetiringPrincipal": "RetiringPrincipal",
    "kms:CustomerMasterKeySpec": "CustomerMasterKeySpec",
    "kms:CustomerMasterKeyUsage": "KeyUsage",
}
# The members naming the key (and its context and algorithm) of each half of ReEncrypt.
_REENCRYPT = {
    "kms:ReEncryptFrom": ("SourceKeyId", "SourceEncryptionContext", "SourceEncryptionAlgorithm"),
    "kms:ReEncryptTo": ("DestinationKeyId", "DestinationEncryptionContext", "DestinationEncryptionAlgorithm"),
}
# Permissions whose key only the answer names (a symmetric ciphertext carries its key's id): the
# gateway asks them once the backend has answered, on the key the answer names, and drops a refused one.
_KEY_IN_ANSWER = {("Decrypt", "kms:Decrypt"): "KeyId", ("ReEncrypt", "kms:ReEncryptFrom"): "SourceKeyId"}
# Calls whose `Tags` tag the key they make: "To add tags when creating a KMS key, the caller must have
# kms:TagResource permission in an IAM policy" (on "*": the key does not exist yet).
_TAGS_ON_CREATE = frozenset({"CreateKey", "ReplicateKey"})
_ALIAS_OPERATIONS = frozenset({"CreateAlias", "UpdateAlias", "DeleteAlias"})
_KEY_FORMAT = "arn:${Partition}:kms:${Region}:${Account}:key/${KeyId}"
# The AWS managed key S3 encrypts with when SSE-KMS names no key.
S3_MANAGED_KEY = "alias/aws/s3"
_ALIAS_FORMAT = "arn:${Partition}:kms:${Region}:${Account}:alias/${Alias}"


def permissions(operation: Operation, facts: Facts) -> list[Permission]:
    """Every (action, resource, keys) a KMS operation needs."""
    params = operation.params
    out = []
    for action in _actions(operation.name, params):
        key_member, context_member, algorithm_member = _REENCRYPT.get(action, ("KeyId", "", ""))
        context = request_keys(params, facts)
        context.update(_context_keys(params, context_member, algorithm_member))
        for resource, alias in _resources(operation.name, action, params, key_member, facts):
            keys = {**context, "kms:RequestAlias": alias} if alias else context
            out.append(Permission(action, resource, listed_only(action, keys)))
    return out


def for_service(
    actions: Iterable[str],
    key_id: str | None,
    service: str,
    facts: Facts,
    encryption_context: Mapping[str, str] | None = None,
    called_via: tuple[str, ...] = (),
) -> list[Permission]:
    """The KMS permissions a service asks with the caller's credentials when it encrypts for the caller
    (S3 storing an object with SSE-KMS): `actions` on the key `key_id` names (S3's managed key when
    none), `kms:ViaService` the service's endpoint in the key's region, `kms:CallerAccount` the caller's.

    The via keys come from here alone: nothing a request says can set them.
    """
    resource, alias = key_arn(key_id or S3_MANAGED_KEY, facts)
    region = resource.split(":")[3] if resource.startswith("arn:") else facts.region
    keys: dict[str, str | list[str]] = {
        "kms:CallerAccount": facts.caller_account or facts.account,
        "kms:ViaService": f"{service}.{region or facts.region}.amazonaws.com",
    }
    if alias and key_id:
        keys["kms:RequestAlias"] = alias
    if encryption_context:
        keys.update({f"kms:EncryptionContext:{k}": str(v) for k, v in encryption_context.items()})
        keys["kms:EncryptionContextKeys"] = [str(k) for k in encryption_context]
    forwarded = on_behalf(called_via)
    return [Permission(a, resource, {**listed_only(a, keys), **forwarded}) for a in actions]


def key_in_answer(operation: Operation, permission: Permission) -> str | None:
    """The member of the answer that names the key of `permission`, when the request named none."""
    if operation.service != "kms" or permission.resource != "*":
        return None
    return _KEY_IN_ANSWER.get((operation.name, permission.action))


def _actions(operation: str, params: Mapping[str, Any]) -> list[str]:
    found = entries("kms", operation)
    if found is None:
        listed = [f"kms:{operation}"]
    else:
        listed = [str(e["action"]) for e in found if "action" in e and e["action"].startswith("kms:")]
    if operation in _TAGS_ON_CREATE and params.get("Tags"):
        listed.append("kms:TagResource")
    return listed


def _resources(
    operation: str, action: str, params: Mapping[str, Any], key_member: str, facts: Facts
) -> Iterator[tuple[str, str | None]]:
    """(ARN, the alias the call named the key by) of every resource `action` is asked on."""
    if operation in _ALIAS_OPERATIONS and isinstance(params.get("AliasName"), str):
        alias = params["AliasName"]
        yield fill(_ALIAS_FORMAT, {"Alias": alias.removeprefix("alias/")}, facts), None
        target = params.get("TargetKeyId") if operation != "DeleteAlias" else alias
        if isinstance(target, str):
            yield key_arn(target, facts)[0], None
        if operation == "UpdateAlias":  # "kms:UpdateAlias on the current KMS key" as well as the new one
            yield key_arn(alias, facts)[0], None
        return
    tags_new_key = operation in _TAGS_ON_CREATE and action == "kms:TagResource"
    if action == "kms:CreateKey" or tags_new_key or not resource_types(action):
        yield "*", None
        return
    value = params.get(key_member)
    if isinstance(value, str) and value:
        yield key_arn(value, facts)
    else:
        yield "*", None
        return
    region = params.get("PrimaryRegion")
    if operation == "UpdatePrimaryRegion" and isinstance(region, str) and region:
        # "kms:UpdatePrimaryRegion on the current replica key (in the replica key's Region)" as well
        found = key_arn(value, facts)[0].split(":", 5)
        if len(found) == 6:
            yield ":".join([*found[:3], region, *found[4:]]), None


def key_arn(value: str, facts: Facts) -> tuple[str, str | None]:
    """The key ARN a `KeyId` names, and the alias it was named by (`alias/x`), if any.

    An alias that points nowhere stays an alias ARN: no key policy or key grant matches it.
    """
    if value.startswith("arn:"):
        parts = value.split(":", 5)
        if len(parts) < 6 or not parts[5].startswith("alias/"):
            return value, None
        alias, region, account = parts[5], parts[3], parts[4]
    elif value.startswith("alias/"):
        alias, region, account = value, facts.region, facts.account
    else:
        return fill(_KEY_FORMAT, {"KeyId": value}, facts), None
    target = facts.resolve_alias(account, alias)
    scoped = Facts(account=account, region=region)
    if target is None:
        return fill(_ALIAS_FORMAT, {"Alias": alias.removeprefix("alias/")}, scoped), alias
    if target.startswith("arn:"):
        return target, alias
    return fill(_KEY_FORMAT, {"KeyId": target}, scoped), alias


def request_keys(params: Mapping[str, Any], facts: Facts) -> dict[str, str | list[str]]:
    """KMS's keys from the caller and the request's members (each action keeps those it lists)."""
    out: dict[str, str | list[str]] = {"kms:CallerAccount": facts.caller_account or facts.account}
    if facts.via_service:
        out["kms:ViaService"] = facts.via_service
    out["kms:GrantIsForAWSResource"] = "true" if facts.via_service else "false"
    for key, member in _MEMBER_KEYS.items():
        value = params.get(member)
        if value is not None and value != "" and not isinstance(value, dict):
            out[key] = [str(v) for v in value] if isinstance(value, list) else _text(value)
    if isinstance(params.get("SourceKeyId"), str) and isinstance(params.get("DestinationKeyId"), str):
        out["kms:ReEncryptOnSameKey"] = _text(params["SourceKeyId"] == params["DestinationKeyId"])
    out.update(tag_keys(params, "TagKey", "TagValue"))
    out.update(_grant_keys(params))
    return out


def _context_keys(params: Mapping[str, Any], context_member: str, algorithm_member: str) -> dict[str, Any]:
    """`kms:EncryptionContext:K` and `kms:EncryptionContextKeys` (of ReEncrypt's side, when one is named)."""
    out: dict[str, str | list[str]] = {}
    context = params.get(context_member or "EncryptionContext")
    if isinstance(context, dict) and context:
        out.update({f"kms:EncryptionContext:{k}": str(v) for k, v in context.items()})
        out["kms:EncryptionContextKeys"] = [str(k) for k in context]
    if algorithm_member and isinstance(params.get(algorithm_member), str):
        out["kms:EncryptionAlgorithm"] = params[algorithm_member]
    return out


def _grant_keys(params: Mapping[str, Any]) -> dict[str, str | list[str]]:
    """CreateGrant's constraint: its type, and its encryption context as `kms:EncryptionContext:K`."""
    constraints = params.get("Constraints")
    if not isinstance(constraints, dict):
        return {}
    for kind in ("EncryptionContextEquals", "EncryptionContextSubset"):
        context = constraints.get(kind)
        if isinstance(context, dict):
            out: dict[str, str | list[str]] = {"kms:GrantConstraintType": kind}
            out.update({f"kms:EncryptionContext:{k}": str(v) for k, v in context.items()})
            out["kms:EncryptionContextKeys"] = [str(k) for k in context]
            return out
    return {}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
