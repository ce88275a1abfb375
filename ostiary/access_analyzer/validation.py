"""ValidatePolicy (POST /policy/validation): the pure `ostiary.analyzer`'s findings for a document, cut
into pages by `maxResults` and continued by an opaque `nextToken` bound to the document and type it was
issued for."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from ostiary import services
from ostiary.access_analyzer.errors import ValidationException, field_errors
from ostiary.access_analyzer.operation import Operation
from ostiary.analyzer import validate

_POLICY_TYPES = ("IDENTITY_POLICY", "RESOURCE_POLICY", "SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY")
_RESOURCE_TYPES = (
    "AWS::S3::Bucket", "AWS::S3::AccessPoint", "AWS::S3::MultiRegionAccessPoint",
    "AWS::S3ObjectLambda::AccessPoint", "AWS::IAM::AssumeRolePolicyDocument", "AWS::DynamoDB::Table",
)  # fmt: skip
_LOCALES = ("DE", "EN", "ES", "FR", "IT", "JA", "KO", "PT_BR", "ZH_CN", "ZH_TW")


def _validate_policy(ctx: services.Context, params: dict[str, Any]) -> dict[str, Any]:
    return validate_policy(params)


OPERATIONS = {"ValidatePolicy": Operation(_validate_policy)}


def validate_policy(params: dict[str, Any]) -> dict[str, Any]:
    """ValidatePolicy's output for checked parameters: one page of findings and the next token."""
    document, policy_type, resource_type = _check_params(params)
    findings = [f.as_api() for f in validate(document, policy_type, resource_type)]
    fingerprint = hashlib.sha256(f"{policy_type}\0{resource_type}\0{document}".encode()).hexdigest()[:16]
    start = _read_token(params.get("nextToken"), fingerprint)
    size = _max_results(params.get("maxResults"))
    end = len(findings) if size is None else start + size
    output: dict[str, Any] = {"findings": findings[start:end]}
    if end < len(findings):
        output["nextToken"] = base64.urlsafe_b64encode(f"{end}:{fingerprint}".encode()).decode()
    return output


def _check_params(params: dict[str, Any]) -> tuple[str, str, str | None]:
    """The required members and the enums, refused as AWS's Coral validator words it."""
    errors: list[dict[str, str]] = []
    for name in ("policyDocument", "policyType"):
        if not isinstance(params.get(name), str):
            errors.append({"name": name, "message": "Member must not be null"})
    for name, allowed in (
        ("policyType", _POLICY_TYPES),
        ("validatePolicyResourceType", _RESOURCE_TYPES),
        ("locale", _LOCALES),
    ):
        value = params.get(name)
        if value is not None and value not in allowed:
            errors.append(
                {
                    "name": name,
                    "message": f"Member must satisfy enum value set: [{', '.join(allowed)}]",
                    "value": str(value),
                }
            )
    if errors:
        raise field_errors(errors)
    resource_type = params.get("validatePolicyResourceType")
    if resource_type is not None and params["policyType"] != "RESOURCE_POLICY":
        raise ValidationException(
            "validatePolicyResourceType can only be specified with policyType RESOURCE_POLICY", "other"
        )
    return params["policyDocument"], params["policyType"], resource_type


def _max_results(value: Any) -> int | None:
    """maxResults as a positive page size, or None (everything)."""
    if value is None:
        return None
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise field_errors(
            [{"name": "maxResults", "message": "Member must be an integer", "value": str(value)}]
        ) from None
    if size < 1:
        raise field_errors(
            [
                {
                    "name": "maxResults",
                    "message": "Member must have value greater than or equal to 1",
                    "value": str(size),
                }
            ]
        )
    return size


def _read_token(token: Any, fingerprint: str) -> int:
    """Where a page starts: 0, or the offset a token issued for this very request carries."""
    if token is None:
        return 0
    try:
        offset, _, issued_for = base64.urlsafe_b64decode(str(token).encode()).decode().partition(":")
        start = int(offset)
    except (ValueError, UnicodeDecodeError):
        start, issued_for = -1, ""
    if start < 0 or issued_for != fingerprint:
        raise ValidationException("Invalid next token", "other")
    return start
