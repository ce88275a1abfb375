"""CheckNoNewAccess, CheckAccessNotGranted and CheckNoPublicAccess: `ostiary.analyzer.exact`'s answers in
AWS's shapes (result, message, reasons with description, statementIndex and statementId).

AWS gives no example request; Ostiary's FAIL names the one it found (and the engine confirmed) in each
reason's description, after AWS's sentence. A FAIL that the procedure could not decide either way says
why in the message and has no reasons.
"""

from __future__ import annotations

from typing import Any

from ostiary import services
from ostiary.access_analyzer.errors import ValidationException, field_errors
from ostiary.access_analyzer.operation import Operation
from ostiary.analyzer.exact import PASS, Check, DocumentError, check_access_not_granted, check_no_new_access
from ostiary.analyzer.exact import check_no_public_access as public_check

POLICY_TYPES = ("IDENTITY_POLICY", "RESOURCE_POLICY")
RESOURCE_TYPES = (
    "AWS::DynamoDB::Table", "AWS::DynamoDB::Stream", "AWS::EFS::FileSystem", "AWS::OpenSearchService::Domain",
    "AWS::Kinesis::Stream", "AWS::Kinesis::StreamConsumer", "AWS::KMS::Key", "AWS::Lambda::Function",
    "AWS::S3::Bucket", "AWS::S3::AccessPoint", "AWS::S3Express::DirectoryBucket", "AWS::S3::Glacier",
    "AWS::S3Outposts::Bucket", "AWS::S3Outposts::AccessPoint", "AWS::SecretsManager::Secret",
    "AWS::SNS::Topic", "AWS::SQS::Queue", "AWS::IAM::AssumeRolePolicyDocument", "AWS::S3Tables::TableBucket",
    "AWS::ApiGateway::RestApi", "AWS::CodeArtifact::Domain", "AWS::Backup::BackupVault",
    "AWS::CloudTrail::Dashboard", "AWS::CloudTrail::EventDataStore", "AWS::S3Tables::Table",
    "AWS::S3Express::AccessPoint",
)  # fmt: skip
DOCUMENT_LIMIT = 131072  # characters: above the largest policy any AWS service stores
ITEM_LIMIT = 100  # actions, and resources, in an Access (the model's max)
RESOURCE_LENGTH = 2048

_MESSAGES = {
    "CheckNoNewAccess": (
        "The modified permissions do not grant new access compared to your existing policy.",
        "The modified permissions grant new access compared to your existing policy.",
        "New access in the statement with index: {index}.",
        "could not prove that no new access is granted",
    ),
    "CheckAccessNotGranted": (
        "The policy document does not grant access to perform one or more of the listed actions or "
        "resources.",
        "The policy document grants access to perform one or more of the listed actions or resources.",
        "One or more of the listed actions or resources in the statement with index: {index}.",
        "could not prove that the listed access is not granted",
    ),
    "CheckNoPublicAccess": (
        "The resource policy does not grant public access for the given resource type.",
        "The resource policy grants public access for the given resource type.",
        "Public access granted in the following statement with index: {index}.",
        "could not prove that the policy grants no public access",
    ),
}


def _no_new_access(ctx: services.Context, params: dict[str, Any]) -> dict[str, Any]:
    _require(params, ("newPolicyDocument", "existingPolicyDocument", "policyType"))
    policy_type = _policy_type(params)
    new, existing = _document(params, "newPolicyDocument"), _document(params, "existingPolicyDocument")
    return _answer("CheckNoNewAccess", _run(lambda: check_no_new_access(new, existing, policy_type)))


def _access_not_granted(ctx: services.Context, params: dict[str, Any]) -> dict[str, Any]:
    _require(params, ("policyDocument", "access", "policyType"))
    policy_type = _policy_type(params)
    document = _document(params, "policyDocument")
    actions, resources = _access(params["access"])
    check = _run(lambda: check_access_not_granted(document, actions, resources, policy_type))
    return _answer("CheckAccessNotGranted", check)


def _no_public_access(ctx: services.Context, params: dict[str, Any]) -> dict[str, Any]:
    _require(params, ("policyDocument", "resourceType"))
    _enum(params, "resourceType", RESOURCE_TYPES)
    document = _document(params, "policyDocument")
    return _answer("CheckNoPublicAccess", _run(lambda: public_check(document)))


OPERATIONS = {
    "CheckNoNewAccess": Operation(_no_new_access),
    "CheckAccessNotGranted": Operation(_access_not_granted),
    "CheckNoPublicAccess": Operation(_no_public_access),
}


def _run(check: Any) -> Check:
    """The check's answer; a document the engine refuses is AWS's ValidationException."""
    try:
        found: Check = check()
    except DocumentError as error:
        raise ValidationException(f"Invalid policy document: {error}", "other") from None
    return found


def _answer(operation: str, check: Check) -> dict[str, Any]:
    """AWS's output shape for a check."""
    passed, failed, reason, unknown = _MESSAGES[operation]
    if check.result == PASS:
        return {"result": PASS, "message": passed, "reasons": []}
    if check.example is None:
        return {
            "result": check.result,
            "message": f"{failed} Ostiary {unknown}: {check.unknown}.",
            "reasons": [],
        }
    example = check.example.describe()
    if check.principal and operation != "CheckNoPublicAccess" and check.principal != "*":
        example += f" by `{check.principal}`"
    reasons = []
    for index, sid in check.statements:
        found: dict[str, Any] = {
            "description": f"{reason.format(index=index)} Example request: {example}.",
            "statementIndex": index,
        }
        if sid:
            found["statementId"] = sid
        reasons.append(found)
    if not reasons:  # no statement of the policy alone granted it (never expected): keep the example
        reasons.append({"description": f"Example request: {example}."})
    return {"result": check.result, "message": failed, "reasons": reasons}


def _require(params: dict[str, Any], names: tuple[str, ...]) -> None:
    errors = [{"name": n, "message": "Member must not be null"} for n in names if params.get(n) is None]
    if errors:
        raise field_errors(errors)


def _policy_type(params: dict[str, Any]) -> str:
    _enum(params, "policyType", POLICY_TYPES)
    return str(params["policyType"])


def _enum(params: dict[str, Any], name: str, allowed: tuple[str, ...]) -> None:
    value = params[name]
    if value not in allowed:
        message = f"Member must satisfy enum value set: [{', '.join(allowed)}]"
        raise field_errors([{"name": name, "message": message, "value": str(value)}])


def _document(params: dict[str, Any], name: str) -> str:
    value = params[name]
    if not isinstance(value, str):
        raise field_errors([{"name": name, "message": "Member must be a string", "value": str(value)[:100]}])
    if len(value) > DOCUMENT_LIMIT:
        raise ValidationException(
            f"Invalid policy document: {name} is longer than {DOCUMENT_LIMIT} characters"
        )
    return value


def _access(value: Any) -> tuple[list[str], list[str]]:
    """The one Access of the list: its actions and resources, within the model's limits."""
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise field_errors([{"name": "access", "message": "Member must be a list of Access"}])
    if len(value) != 1:
        message = (
            "Member must have length less than or equal to 1"
            if value
            else "Member must have length greater than or equal to 1"
        )
        raise field_errors([{"name": "access", "message": message}])
    actions, resources = value[0].get("actions") or [], value[0].get("resources") or []
    for name, items in (("access.1.member.actions", actions), ("access.1.member.resources", resources)):
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise field_errors([{"name": name, "message": "Member must be a list of strings"}])
        if len(items) > ITEM_LIMIT:
            message = f"Member must have length less than or equal to {ITEM_LIMIT}"
            raise field_errors([{"name": name, "message": message}])
    if any(len(r) > RESOURCE_LENGTH for r in resources):
        message = f"Member must have length less than or equal to {RESOURCE_LENGTH}"
        raise field_errors([{"name": "access.1.member.resources.member", "message": message}])
    if not actions and not resources:
        raise ValidationException("Access must contain at least one action or resource.", "other")
    return actions, resources
