"""Trusted identity propagation settings of an identity provider: the ContextProvider and the associated
IAM Identity Center instance, checked as the model's documentation describes them.

The texts are ours: AWS's recordings show none of these refusals.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ostiary.errors import InvalidInputException

# ASCII letters, digits, single spaces and `_ . : / = + - @ #`; no leading, trailing or double space.
_KEY = re.compile(r"[A-Za-z0-9_.:/=+\-@#]+(?: [A-Za-z0-9_.:/=+\-@#]+)*")
# IAM Identity Center's InstanceMetadata: arn:${Partition}:sso:::instance/ssoins-<16 characters>.
_INSTANCE_ARN = re.compile(
    r"arn:(?:aws|aws-us-gov|aws-cn|aws-iso|aws-iso-b):sso:::instance/(?:sso)?ins-[a-zA-Z0-9\-.]{16}"
)


def check_context_provider(provider: dict[str, Any]) -> str:
    """The provider as stored (JSON), or InvalidInput when a key or the subject type is malformed."""
    _check_key("SubjectSourceKey", provider["SubjectSourceKey"])
    if "SubjectTypeSourceKey" in provider:
        if "SubjectTypeValue" in provider:
            raise InvalidInputException("Specify either SubjectTypeValue or SubjectTypeSourceKey, not both.")
        _check_key("SubjectTypeSourceKey", provider["SubjectTypeSourceKey"])
    for definition in provider.get("KeyDefinitionList", []):
        _check_key("SourceKey", definition["SourceKey"])
        if "TargetKey" in definition:
            _check_key("TargetKey", definition["TargetKey"])
    return json.dumps(provider, sort_keys=True, separators=(",", ":"))


def check_instance_arn(arn: str) -> None:
    """InvalidInput unless `arn` is an IAM Identity Center instance's ARN."""
    if _INSTANCE_ARN.fullmatch(arn) is None:
        raise InvalidInputException(
            f"IdentityCenterInstanceArn {arn} is not a valid IAM Identity Center instance ARN."
        )


@dataclass(frozen=True)
class Change:
    """What one update asks of the two settings: the columns to set, and what the stored ones must allow."""

    values: dict[str, Any]
    removes_context: bool = False
    sets_instance: bool = False


def for_create(context_provider: dict[str, Any] | None, instance_arn: str | None) -> dict[str, Any]:
    """The columns a new provider starts with; an instance needs a context provider in the same call."""
    values: dict[str, Any] = {}
    if context_provider is not None:
        values["context_provider"] = check_context_provider(context_provider)
    if instance_arn is not None:
        if context_provider is None:
            raise InvalidInputException(INSTANCE_NEEDS_CONTEXT)
        check_instance_arn(instance_arn)
        values["identity_center_instance_arn"] = instance_arn
    return values


def for_update(
    context_provider: dict[str, Any] | None,
    instance_arn: str | None,
    remove_context: bool | None,
    remove_instance: bool | None,
    *,
    other_change: str | None = None,
) -> Change:
    """The change an update asks for: a new value or its Remove flag, never both; the context provider
    alone, or else the rest (`other_change` names what else the request changes, if anything)."""
    if context_provider is not None and remove_context:
        raise InvalidInputException("Specify either ContextProvider or RemoveContextProvider, not both.")
    if instance_arn is not None and remove_instance:
        raise InvalidInputException(
            "Specify either IdentityCenterInstanceArn or RemoveIdentityCenterInstance, not both."
        )
    changes_context = context_provider is not None or bool(remove_context)
    changes_instance = instance_arn is not None or bool(remove_instance)
    if changes_context and (changes_instance or other_change):
        other = other_change or "the IAM Identity Center association"
        raise InvalidInputException(f"A request can change either the context provider or {other}, not both.")
    if context_provider is not None:
        return Change({"context_provider": check_context_provider(context_provider)})
    if remove_context:
        return Change({"context_provider": None}, removes_context=True)
    if instance_arn is not None:
        check_instance_arn(instance_arn)
        return Change({"identity_center_instance_arn": instance_arn}, sets_instance=True)
    return Change({"identity_center_instance_arn": None} if remove_instance else {})


def check_stored(change: Change, row: Any) -> None:
    """InvalidInput when the provider's stored settings forbid the change: the association is removed
    before the context provider, and made only where a context provider is."""
    if change.removes_context and row.identity_center_instance_arn is not None:
        raise InvalidInputException(
            "Remove the IAM Identity Center association before removing the context provider."
        )
    if change.sets_instance and row.context_provider is None:
        raise InvalidInputException(INSTANCE_NEEDS_CONTEXT)


INSTANCE_NEEDS_CONTEXT = "An IAM Identity Center instance can be associated only with a context provider."


def stored(text: str | None) -> dict[str, Any] | None:
    """The ContextProvider as a response carries it, from its stored JSON."""
    return None if text is None else dict(json.loads(text))


def _check_key(member: str, value: str) -> None:
    if _KEY.fullmatch(value) is None:
        raise InvalidInputException(
            f"{member} can contain only ASCII letters, numbers, single spaces and the characters "
            "_ . : / = + - @ #, and cannot start or end with a space."
        )
