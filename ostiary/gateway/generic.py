"""Every service without a module of its own (not S3, DynamoDB, KMS): its permissions, as AWS names them.

The map's entry of an operation (`data/sdk_map.json`) gives its actions, which may differ from the
operation's name (`sqs:SendMessage` for SendMessageBatch), and how its parameters fill each ARN
(`%%regex%${QueueUrl}%...%%`); without an entry the operation's name is the action and same-named
parameters fill the ARN. A parameter holding an ARN of the action's own service and resource type
(a topic's `TopicArn`, a secret's ARN as `SecretId`) is that resource, in whatever account it names.

What cannot be named surely is not guessed: a value with a colon where a bare name belongs (a partial
ARN), a regex template that does not match, or a secret's name (its ARN carries a suffix the name
lacks) leave the ARN unfilled. The call is then asked on `*`, and when the action has resource
types the permission is unnamed: any Deny of the action refuses it (fail closed). Pure.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator, Mapping
from typing import Any

from ostiary.gateway.mapping import (
    Facts,
    Permission,
    applies,
    arn_variables,
    entries,
    iam_prefix,
    resource_types,
    resources,
    values_at,
    variables_from_params,
)
from ostiary.gateway.operations import Operation

_TEMPLATE = re.compile(r"^\$\{([^}]*)\}$")
_REGEX_TEMPLATE = re.compile(r"^%%regex%\$\{([^}]*)\}%/(.*)/g%%$")
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
# ARN variables a resource's bare name does not fill: the ARN holds more than the name.
_PARTIAL_NAMES = frozenset({("secretsmanager", "SecretId")})  # secret ARNs end in a random suffix
_ANY_VALUE = {"Partition": "[^:]+", "Region": "[^:]*", "Account": "[^:]*"}


def permissions(operation: Operation, facts: Facts) -> list[Permission]:
    """The permissions an operation of a service mapped generically needs (no request keys)."""
    service, params = operation.service, operation.params
    found = entries(service, operation.name)
    if found is None:
        action = f"{iam_prefix(service)}:{operation.name}"
        return [_permission(action, arn) for arn in _own_resources(action, params, facts)]
    out: list[Permission] = []
    for entry in found:
        if "action" not in entry or "arn_override" in entry or not applies(entry.get("conditions"), params):
            continue
        action = str(entry["action"])
        out += [_permission(action, arn) for arn in _entry_resources(action, entry, params, facts)]
    return out


def _permission(action: str, arn: str) -> Permission:
    return Permission(action, arn, {}, is_unnamed=arn == "*" and bool(resource_types(action)))


def _own_resources(action: str, params: Mapping[str, Any], facts: Facts) -> list[str]:
    """The ARNs the call's parameters name for an action without a map entry, else `*`."""
    given = given_arns(action, params)
    if given:
        return given
    service = action.partition(":")[0]
    values = {
        variable: value
        for variable, value in variables_from_params(action, params).items()
        if ":" not in value and (service, variable) not in _PARTIAL_NAMES
    }
    found = resources(action, values, facts)
    if found != ["*"]:
        return found
    for name in ("ResourceArn", "Arn", "ResourceARN"):  # a tagging call's resource, of any type
        value = params.get(name)
        if isinstance(value, str) and value.startswith("arn:"):
            return [value]
    return found


def _entry_resources(
    action: str, entry: Mapping[str, Any], params: Mapping[str, Any], facts: Facts
) -> Iterator[str]:
    """The ARNs of one map entry's action: its templates filled from the call, else `*`."""
    given = given_arns(action, params)
    if given:
        yield from given
        return
    service = action.partition(":")[0]
    choices: dict[str, list[str]] = {}
    for variable, spec in (entry.get("resource_mappings") or {}).items():
        if isinstance(spec, dict) and applies(spec.get("conditions"), params):
            values = sure_values(str(spec.get("template", "")), params)
            if values and (service, variable) not in _PARTIAL_NAMES:
                choices[variable] = values
    if all(len(values) == 1 for values in choices.values()):
        yield from resources(action, {n: values[0] for n, values in choices.items()}, facts)
        return
    names = list(choices)
    for combo in itertools.product(*(choices[n] for n in names)):
        yield from resources(action, dict(zip(names, combo, strict=True)), facts)


def sure_values(template: str, params: Mapping[str, Any]) -> list[str] | None:
    """The values a template takes from the call, or None when any is unsure: a regex that does not
    match, a value with a colon (a partial ARN where a name belongs), `*`, no value at all."""
    parsed = _parsed(template)
    if parsed is None:
        return None  # `*`, or a literal mixed with variables
    path, regex = parsed
    if "." in path or "[" in path:
        values = values_at(params, path)
    else:
        one = params.get(path)
        values = [] if one is None else [one]
    out = []
    for value in values:
        if not isinstance(value, str | int):
            return None
        text = str(value)
        if regex is not None:
            found = regex.match(text)
            if found is None or not found.groups() or not found[1]:
                return None
            text = found[1]
        elif not text or ":" in text:
            return None
        out.append(text)
    return out or None


@functools.lru_cache(maxsize=1024)
def _parsed(template: str) -> tuple[str, re.Pattern[str] | None] | None:
    """A template as the parameter path it reads and the regex it applies (None: the value itself)."""
    regex = _REGEX_TEMPLATE.match(template)
    if regex is not None:
        return regex[1], re.compile(regex[2])
    plain = _TEMPLATE.match(template)
    return (plain[1], None) if plain is not None else None


def given_arns(action: str, params: Mapping[str, Any]) -> list[str]:
    """The parameters (top-level) holding an ARN of one of the action's resource types, as given."""
    patterns = _arn_patterns(action)
    if not patterns:
        return []
    return [
        value
        for value in params.values()
        if isinstance(value, str) and value.startswith("arn:") and any(p.fullmatch(value) for p in patterns)
    ]


@functools.lru_cache(maxsize=2048)
def _arn_patterns(action: str) -> tuple[re.Pattern[str], ...]:
    """The action's resource ARN formats as patterns: each variable a run without a colon."""
    found = []
    for _, fmt, _ in resource_types(action):
        if not arn_variables(fmt):
            continue
        pieces, at = [], 0
        for variable in _VARIABLE.finditer(fmt):
            pieces.append(re.escape(fmt[at : variable.start()]))
            pieces.append(_ANY_VALUE.get(variable[1], "[^:]+"))
            at = variable.end()
        pieces.append(re.escape(fmt[at:]))
        found.append(re.compile("".join(pieces)))
    return tuple(found)
