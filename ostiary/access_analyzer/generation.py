"""Access Analyzer's policy generation: StartPolicyGeneration, GetGeneratedPolicy, ListPolicyGenerations
and CancelPolicyGeneration, over what a user or role did as the trail recorded it.

A job reads Ostiary's own trail (the CloudTrail ARNs a request names are echoed back, not read: there
is one trail) over the requested period, at most 90 days, made whole inside the call that starts it,
after this process's trail is moved into the store: the first read finds it SUCCEEDED, or FAILED with
RESOURCE_NOT_FOUND_ERROR when the principal does not exist. The caller needs iam:PassRole on the
`accessRole`, as with AWS. The generated policy is written when it is read (`trail.policy_generation`),
as `includeResourcePlaceholders` asks. A job is its account's only.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from ostiary import enforce, services
from ostiary.access_analyzer.errors import (
    AccessDeniedException,
    ConflictException,
    ValidationException,
    field_errors,
)
from ostiary.access_analyzer.operation import Operation
from ostiary.errors import AwsError
from ostiary.services import _access_subjects as subjects
from ostiary.store import last_access as store
from ostiary.store import roles, trail_store, users
from ostiary.store.users import utc
from ostiary.trail import policy_generation, recorder

KIND = "policy-generation"
MAX_PERIOD = timedelta(days=90)
DEFAULT_MAX_RESULTS = 100
_PRINCIPAL = re.compile(r"arn:[^:]*:iam::[^:]*:(role|user)/.{1,576}")
_TRAIL = re.compile(r"arn:[^:]*:cloudtrail:[^:]*:[^:]*:trail/.{1,576}")
_ROLE = re.compile(r"arn:[^:]*:iam::[^:]*:role/.{1,576}")


def start_policy_generation(ctx: services.Context, params: dict[str, Any]) -> dict[str, Any]:
    """Start (and finish) a job; the same client token gives back the same job."""
    principal_arn, trail, token = _checked_start(params)
    _authorize_pass_role(ctx, trail["accessRole"])
    with ctx.db.read() as conn:
        previous = store.job_by_token(conn, ctx.account_id, KIND, token) if token else None
    if previous is not None:
        return {"jobId": previous.job_id}
    start = _time(trail["startTime"], "cloudTrailDetails.startTime")
    end = (
        _time(trail["endTime"], "cloudTrailDetails.endTime") if trail.get("endTime") is not None else ctx.now
    )
    _check_period(start, end, ctx.now)
    status, report = _generate(ctx, principal_arn, trail["trails"], start, end)
    job_id = str(uuid.uuid4())
    try:
        same = ConflictException("A job with this client token exists.", token or "", "PolicyGeneration")
        with ctx.db.transaction(on_conflict=same) as conn:
            store.insert_job(
                conn,
                job_id=job_id,
                account_id=ctx.account_id,
                kind=KIND,
                arn=principal_arn,
                status=status,
                created_at=ctx.now,
                completed_at=ctx.now,
                client_token=token,
                report=json.dumps(report),
            )
    except ConflictException:  # a concurrent start with the same token won: its job is this one
        with ctx.db.read() as conn:
            previous = store.job_by_token(conn, ctx.account_id, KIND, token or "")
        if previous is None:
            raise ValidationException("Please retry the request.", "other") from None
        return {"jobId": previous.job_id}
    return {"jobId": job_id}


def _generate(
    ctx: services.Context, principal_arn: str, trails: list[Any], start: datetime, end: datetime
) -> tuple[str, dict[str, Any]]:
    """The job's status and report: the (action, resource) pairs the principal was allowed within the
    period, or RESOURCE_NOT_FOUND_ERROR for a principal the account does not have."""
    found = recorder.of(ctx.db)
    if found is not None:
        found.flush()  # the calls this process answered so far are in the store
    report: dict[str, Any] = {
        "trails": [_trail_properties(t) for t in trails],
        "startTime": _text(start),
        "endTime": _text(end),
    }
    with ctx.db.read() as conn:
        principal_id = _principal_id(conn, ctx.account_id, principal_arn)
        if principal_id is None:
            report["jobError"] = {
                "code": "RESOURCE_NOT_FOUND_ERROR",
                "message": f"The principal {principal_arn} does not exist.",
            }
            return "FAILED", report
    with trail_store.of(ctx.db).read() as conn:
        used = store.used(conn, ctx.account_id, [principal_id], start, end, allowed_only=True)
    report["uses"] = sorted(
        {(u.action, u.resource) for u in used if u.last_at >= start and _in_regions(u.region, report)}
    )
    return "SUCCEEDED", report


def get_generated_policy(ctx: services.Context, params: dict[str, Any]) -> dict[str, Any]:
    """A job's details and, once it succeeded, its policy."""
    row = _job(ctx, params.get("jobId"))
    report = json.loads(row.report)
    with_resources = _flag(params.get("includeResourcePlaceholders"), "includeResourcePlaceholders")
    _flag(params.get("includeServiceLevelTemplate"), "includeServiceLevelTemplate")  # every use has actions
    properties: dict[str, Any] = {
        "isComplete": row.status == "SUCCEEDED",
        "principalArn": row.arn,
        "cloudTrailProperties": {
            "trailProperties": report["trails"],
            "startTime": report["startTime"],
            "endTime": report["endTime"],
        },
    }
    result: dict[str, Any] = {"properties": properties}
    if row.status == "SUCCEEDED":
        uses = [(action, resource) for action, resource in report.get("uses", [])]
        documents = policy_generation.policies(uses, ctx.account_id, with_resources=with_resources)
        result["generatedPolicies"] = [{"policy": d} for d in documents]
    return {"jobDetails": _details(row, report), "generatedPolicyResult": result}


def list_policy_generations(ctx: services.Context, params: dict[str, Any]) -> dict[str, Any]:
    """The account's jobs (of one principal when asked), oldest first, in pages."""
    principal_arn = params.get("principalArn")
    if principal_arn is not None and not _PRINCIPAL.fullmatch(str(principal_arn)):
        raise _invalid("principalArn", str(principal_arn), "Member must satisfy regular expression pattern")
    size = _max_results(params.get("maxResults"))
    after = _position(params.get("nextToken"), principal_arn)
    with ctx.db.read() as conn:
        rows = store.jobs(conn, ctx.account_id, KIND, principal_arn, after, size + 1)
    answer: dict[str, Any] = {
        "policyGenerations": [
            {
                "jobId": row.job_id,
                "principalArn": row.arn,
                "status": row.status,
                "startedOn": _text(utc(row.created_at)),
                **({"completedOn": _text(utc(row.completed_at))} if row.completed_at else {}),
            }
            for row in rows[:size]
        ]
    }
    if len(rows) > size:
        last = rows[size - 1]
        answer["nextToken"] = _token(utc(last.created_at), last.job_id, principal_arn)
    return answer


def cancel_policy_generation(ctx: services.Context, params: dict[str, Any]) -> dict[str, Any]:
    """Cancel a job in progress; a finished job stays as it finished."""
    row = _job(ctx, params.get("jobId"))
    if row.status == "IN_PROGRESS":
        with ctx.db.transaction() as conn:
            store.set_status(conn, row.job_id, "CANCELED", ctx.now)
    return {}


OPERATIONS = {
    "StartPolicyGeneration": Operation(start_policy_generation),
    "GetGeneratedPolicy": Operation(get_generated_policy),
    "ListPolicyGenerations": Operation(list_policy_generations),
    "CancelPolicyGeneration": Operation(cancel_policy_generation),
}


def _checked_start(params: dict[str, Any]) -> tuple[str, dict[str, Any], str | None]:
    """(principalArn, cloudTrailDetails, clientToken), each refused as Access Analyzer's validator does."""
    details = params.get("policyGenerationDetails")
    principal = details.get("principalArn") if isinstance(details, dict) else None
    if not isinstance(principal, str):
        raise _null(
            "policyGenerationDetails.principalArn" if isinstance(details, dict) else "policyGenerationDetails"
        )
    if not _PRINCIPAL.fullmatch(principal):
        raise _invalid(
            "policyGenerationDetails.principalArn",
            principal,
            "Member must satisfy regular expression pattern",
        )
    trail = params.get("cloudTrailDetails")
    if not isinstance(trail, dict):
        raise _null("cloudTrailDetails")
    for name in ("trails", "accessRole", "startTime"):
        if trail.get(name) is None:
            raise _null(f"cloudTrailDetails.{name}")
    if not isinstance(trail["trails"], list) or not trail["trails"]:
        raise _invalid("cloudTrailDetails.trails", "[]", "Member must have length greater than or equal to 1")
    for entry in trail["trails"]:
        arn = entry.get("cloudTrailArn") if isinstance(entry, dict) else None
        if not isinstance(arn, str) or not _TRAIL.fullmatch(arn):
            raise _invalid(
                "cloudTrailDetails.trails.member.cloudTrailArn",
                str(arn),
                "Member must satisfy regular expression pattern",
            )
    if not isinstance(trail["accessRole"], str) or not _ROLE.fullmatch(trail["accessRole"]):
        raise _invalid(
            "cloudTrailDetails.accessRole",
            str(trail["accessRole"]),
            "Member must satisfy regular expression pattern",
        )
    token = params.get("clientToken")
    if token is not None and (not isinstance(token, str) or not 1 <= len(token) <= 256):
        raise _invalid("clientToken", str(token)[:64], "Member must have length between 1 and 256")
    return principal, trail, token


def _authorize_pass_role(ctx: services.Context, role_arn: str) -> None:
    caller = ctx.caller
    if caller is None or caller.is_root:
        return
    decision = enforce.authorize_call(ctx, "iam:PassRole", role_arn)
    if decision.decision != "Allow":
        raise AccessDeniedException(decision.message(caller.arn, "iam:PassRole", role_arn))


def _check_period(start: datetime, end: datetime, now: datetime) -> None:
    if start >= end:
        raise ValidationException("The start time must be before the end time.", "other")
    if start > now:
        raise ValidationException("The start time must not be in the future.", "other")
    if end - start > MAX_PERIOD:
        raise ValidationException("The time range must not exceed 90 days.", "other")


def _principal_id(conn: Any, account_id: str, arn: str) -> str | None:
    """The unique id of the user or role an ARN names in the caller's account, None when there is none."""
    try:
        kind, _, name = subjects.parse_arn(arn, account_id, ("user", "role"))
    except AwsError:  # not an ARN of the caller's account: nothing there
        return None
    if kind == "user":
        user = users.find(conn, account_id, name)
        return None if user is None else str(user.user_id)
    role = roles.find_by_name(conn, account_id, name)
    return None if role is None else str(role.role_id)


def _in_regions(region: str, report: dict[str, Any]) -> bool:
    """Whether a use falls in the regions the trails ask for (all, when any trail says allRegions or
    names none)."""
    wanted: set[str] = set()
    for trail in report["trails"]:
        if trail.get("allRegions") or not trail.get("regions"):
            return True
        wanted.update(trail["regions"])
    return region in wanted


def _trail_properties(entry: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {"cloudTrailArn": entry["cloudTrailArn"]}
    regions = entry.get("regions")
    if isinstance(regions, list):
        found["regions"] = [str(r) for r in regions]
    found["allRegions"] = bool(entry.get("allRegions", False))
    return found


def _details(row: Any, report: dict[str, Any]) -> dict[str, Any]:
    details: dict[str, Any] = {
        "jobId": row.job_id,
        "status": row.status,
        "startedOn": _text(utc(row.created_at)),
    }
    if row.completed_at is not None:
        details["completedOn"] = _text(utc(row.completed_at))
    if "jobError" in report:
        details["jobError"] = report["jobError"]
    return details


def _job(ctx: services.Context, job_id: Any) -> Any:
    if not isinstance(job_id, str) or not job_id:
        raise _null("jobId")
    with ctx.db.read() as conn:
        row = store.job(conn, ctx.account_id, KIND, job_id)
    if row is None:
        raise ValidationException(f"Invalid job id: {job_id}", "other")
    return row


def _time(value: Any, name: str) -> datetime:
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str):
            found = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return found if found.tzinfo is not None else found.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        pass
    raise _invalid(name, str(value)[:64], "Member must be a timestamp")


def _text(moment: datetime | None) -> str:
    assert moment is not None  # the columns read here are set
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _flag(value: Any, name: str) -> bool:
    if value is None or value in (False, "false"):
        return False
    if value in (True, "true"):
        return True
    raise _invalid(name, str(value)[:64], "Member must be a boolean")


def _max_results(value: Any) -> int:
    if value is None:
        return DEFAULT_MAX_RESULTS
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise _invalid("maxResults", str(value)[:64], "Member must be an integer") from None
    if size < 1:
        raise _invalid("maxResults", str(size), "Member must have value greater than or equal to 1")
    return min(size, 1000)


def _token(at: datetime | None, job_id: str, principal_arn: Any) -> str:
    assert at is not None
    raw = json.dumps([at.isoformat(), job_id, principal_arn], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _position(token: Any, principal_arn: Any) -> tuple[datetime, str] | None:
    if token is None:
        return None
    try:
        at, job_id, issued_for = json.loads(base64.urlsafe_b64decode(str(token).encode()))
        if issued_for == principal_arn and isinstance(job_id, str) and isinstance(at, str):
            return datetime.fromisoformat(at), job_id
    except (ValueError, TypeError, binascii.Error, OverflowError, OSError, RecursionError):
        pass  # RecursionError: a forged token of nested arrays
    raise ValidationException("Invalid next token", "other")


def _null(name: str) -> ValidationException:
    return field_errors([{"name": name, "message": "Member must not be null"}])


def _invalid(name: str, value: str, message: str) -> ValidationException:
    return field_errors([{"name": name, "message": message, "value": value}])
