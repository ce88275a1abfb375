"""Access Analyzer's errors, in the JSON body's `__type` as botocore's rest-json parser reads them."""

from __future__ import annotations

from typing import Any

from ostiary.errors import AwsError


class ValidationException(AwsError):
    """Access Analyzer's 400: `reason` and the fields that failed."""

    code, status, sender_fault = "ValidationException", 400, True

    def __init__(
        self, message: str, reason: str = "fieldValidationFailed", fields: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.fields = fields or []


class AccessDeniedException(AwsError):
    """Access Analyzer's 403."""

    code, status, sender_fault = "AccessDeniedException", 403, True


class InternalServerException(AwsError):
    """Access Analyzer's 500."""

    code, status, sender_fault = "InternalServerException", 500, False


class ThrottlingException(AwsError):
    """Access Analyzer's 429: a caller over the rate (here, the exact checks' threads are full)."""

    code, status, sender_fault = "ThrottlingException", 429, True


class ResourceNotFoundException(AwsError):
    """Access Analyzer's 404 (`resourceId`, `resourceType`)."""

    code, status, sender_fault = "ResourceNotFoundException", 404, True

    def __init__(self, message: str, resource_id: str, resource_type: str) -> None:
        super().__init__(message)
        self.resource_id = resource_id
        self.resource_type = resource_type


class ConflictException(AwsError):
    """Access Analyzer's 409 (`resourceId`, `resourceType`)."""

    code, status, sender_fault = "ConflictException", 409, True

    def __init__(self, message: str, resource_id: str, resource_type: str) -> None:
        super().__init__(message)
        self.resource_id = resource_id
        self.resource_type = resource_type


class ServiceQuotaExceededException(AwsError):
    """Access Analyzer's 402 (`resourceId`, `resourceType`)."""

    code, status, sender_fault = "ServiceQuotaExceededException", 402, True

    def __init__(self, message: str, resource_id: str, resource_type: str) -> None:
        super().__init__(message)
        self.resource_id = resource_id
        self.resource_type = resource_type


def field_errors(errors: list[dict[str, str]]) -> ValidationException:
    """One ValidationException naming every field that failed, as AWS's Coral validator words it."""
    parts = []
    for error in errors:
        shown = f"Value '{error['value']}'" if "value" in error else "Value null"
        parts.append(f"{shown} at '{error['name']}' failed to satisfy constraint: {error['message']}")
    count = len(errors)
    message = f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(parts)
    fields = [{"name": e["name"], "message": e["message"]} for e in errors]
    return ValidationException(message, "fieldValidationFailed", fields)


def error_body(error: AwsError) -> dict[str, Any]:
    """The JSON error body (`__type`, message, and the error's own members)."""
    body: dict[str, Any] = {"__type": error.code, "message": error.message}
    if isinstance(error, ValidationException):
        body["reason"] = error.reason
        if error.fields:
            body["fieldList"] = error.fields
    if isinstance(error, ResourceNotFoundException | ConflictException | ServiceQuotaExceededException):
        body["resourceId"] = error.resource_id
        body["resourceType"] = error.resource_type
    return body
