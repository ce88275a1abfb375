"""Trusted identity propagation settings of an identity provider: the ContextProvider and the associated
IAM Identity Center instance, checked as the model's documentation describes them.

The texts are ours: AWS's recordings show none of these refusals.
"""

from __future__ import annotations

import json
import re
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


def stored(text: str | None) -> dict[str, Any] | None:
    """The ContextProvider as a response carries it, from its stored JSON."""
    return None if text is None else dict(json.loads(text))


def _check_key(member: str, value: str) -> None:
    if _KEY.fullmatch(value) is None:
        raise InvalidInputException(
            f"{member} can contain only ASCII letters, numbers, single spaces and the characters "
            "_ . : / = + - @ #, and cannot start or end with a space."
        )
