"""Access Analyzer's REST-JSON API on the IAM endpoint: ValidatePolicy (POST /policy/validation).

The request is SigV4-signed for `access-analyzer`, authenticated like any call and authorized by the
engine as `access-analyzer:ValidatePolicy` on `*` (the Service Authorization Reference names no
resource type for it). Findings come from the pure `ostiary.analyzer`; pages are cut by `maxResults`
and continued by an opaque `nextToken` bound to the document and type it was issued for. Errors are the
model's: ValidationException (reason, fieldList), AccessDeniedException, in the JSON body's `__type`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any, Protocol, TypeGuard
from urllib.parse import parse_qs

from ostiary import enforce, services
from ostiary.analyzer import validate
from ostiary.auth import sigv4
from ostiary.auth.authenticate import authenticate
from ostiary.errors import AwsError
from ostiary.protocol import HttpRequest

log = logging.getLogger("ostiary")

SERVICE = "access-analyzer"
ACTION = "access-analyzer:ValidatePolicy"
_JSON = b"application/json"
_POLICY_TYPES = ("IDENTITY_POLICY", "RESOURCE_POLICY", "SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY")
_RESOURCE_TYPES = (
    "AWS::S3::Bucket", "AWS::S3::AccessPoint", "AWS::S3::MultiRegionAccessPoint",
    "AWS::S3ObjectLambda::AccessPoint", "AWS::IAM::AssumeRolePolicyDocument", "AWS::DynamoDB::Table",
)  # fmt: skip
_LOCALES = ("DE", "EN", "ES", "FR", "IT", "JA", "KO", "PT_BR", "ZH_CN", "ZH_TW")


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


class App(Protocol):
    """What is used of the IAM endpoint's app: its store, keyring and settings."""

    db: Any
    keyring: Any
    settings: Any


def takes(signed: sigv4.SignedRequest | None) -> TypeGuard[sigv4.SignedRequest]:
    """Whether a request is Access Analyzer's (signed for its service)."""
    return signed is not None and signed.service == SERVICE


def handle(
    app: App, request: HttpRequest, signed: sigv4.SignedRequest, request_id: str
) -> tuple[int, bytes, bytes]:
    """Answer one Access Analyzer request: (status, JSON body, content type). Never raises."""
    try:
        now = datetime.now(UTC)
        caller = authenticate(
            request, signed, db=app.db, keyring=app.keyring, settings=app.settings, now=now,
            services=frozenset({SERVICE}),
        )  # fmt: skip
        if (request.method, request.path) != ("POST", "/policy/validation"):
            raise ValidationException("Unknown operation", "unknownOperation")
        ctx = services.Context(
            db=app.db, keyring=app.keyring, settings=app.settings, caller=caller, request_id=request_id,
            now=now, source_ip=request.client_ip, region=signed.region, is_secure=request.is_secure,
        )  # fmt: skip
        _authorize(ctx)
        return 200, json.dumps(validate_policy(_params(request))).encode(), _JSON
    except AwsError as error:
        return error.status, json.dumps(_error_body(error)).encode(), _JSON
    except Exception:
        log.exception("internal failure in request %s", request_id)
        body = {"__type": "InternalServerException", "message": "Internal server error"}
        return 500, json.dumps(body).encode(), _JSON


def _authorize(ctx: services.Context) -> None:
    """The engine decides `access-analyzer:ValidatePolicy` on `*` for the caller (root may do all)."""
    caller = ctx.caller
    if caller is None or caller.is_root:
        return
    decision = enforce.authorize_call(ctx, ACTION, "*")
    if decision.decision != "Allow":
        raise AccessDeniedException(decision.message(caller.arn, ACTION, "*"))


def _params(request: HttpRequest) -> dict[str, Any]:
    """The JSON body's members and the query's maxResults and nextToken."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise ValidationException("Unable to parse request body", "cannotParse") from None
    if not isinstance(body, dict):
        raise ValidationException("Unable to parse request body", "cannotParse")
    query = parse_qs(request.query_string, keep_blank_values=True)
    for name in ("maxResults", "nextToken"):
        if name in query:
            body[name] = query[name][0]
    return body


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
        raise _field_errors(errors)
    resource_type = params.get("validatePolicyResourceType")
    if resource_type is not None and params["policyType"] != "RESOURCE_POLICY":
        raise ValidationException(
            "validatePolicyResourceType can only be specified with policyType RESOURCE_POLICY", "other"
        )
    return params["policyDocument"], params["policyType"], resource_type


def _field_errors(errors: list[dict[str, str]]) -> ValidationException:
    """One ValidationException naming every field that failed."""
    parts = []
    for error in errors:
        shown = f"Value '{error['value']}'" if "value" in error else "Value null"
        parts.append(f"{shown} at '{error['name']}' failed to satisfy constraint: {error['message']}")
    count = len(errors)
    message = f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(parts)
    fields = [{"name": e["name"], "message": e["message"]} for e in errors]
    return ValidationException(message, "fieldValidationFailed", fields)


def _max_results(value: Any) -> int | None:
    """maxResults as a positive page size, or None (everything)."""
    if value is None:
        return None
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise _field_errors(
            [{"name": "maxResults", "message": "Member must be an integer", "value": str(value)}]
        ) from None
    if size < 1:
        raise _field_errors(
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


def _error_body(error: AwsError) -> dict[str, Any]:
    """The JSON error body botocore's rest-json parser reads (`__type`, message, reason, fieldList)."""
    body: dict[str, Any] = {"__type": error.code, "message": error.message}
    if isinstance(error, ValidationException):
        body["reason"] = error.reason
        if error.fields:
            body["fieldList"] = error.fields
    return body
