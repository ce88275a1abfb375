"""IAM's service-last-accessed data: GenerateServiceLastAccessedDetails makes a report on a user,
role, group or managed policy from the trail (`trail.last_accessed`); GetServiceLastAccessedDetails
and ...WithEntities read it in pages; ListPoliciesGrantingServiceAccess names the policies that allow
each service.

A report is made whole inside the call that starts its job (after this process's trail is moved into
the store, so the calls just answered count), and kept with the job: the first read finds it
COMPLETED. A job is its account's only: another account's job id is unknown.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Any

from ostiary.errors import InvalidInputException, NoSuchEntityException
from ostiary.services import Context, operation
from ostiary.services import _access_subjects as subjects
from ostiary.store import last_access as store
from ostiary.store import trail_store
from ostiary.store.users import utc
from ostiary.trail import grants, last_accessed, recorder

KIND = "last-accessed"
DEFAULT_MAX_ITEMS = 100
_TIMES = ("LastAuthenticated", "LastAccessedTime")
_ENTITY_KINDS = ("user", "role", "group", "policy")


@operation("GenerateServiceLastAccessedDetails", blocking=True)
def generate_service_last_accessed_details(
    ctx: Context, arn: str, granularity: str | None = None
) -> dict[str, Any]:
    """Make the report on the entity `arn` names; its job id."""
    granularity = granularity or "SERVICE_LEVEL"
    found = recorder.of(ctx.db)
    if found is not None:
        found.flush()  # the calls this process answered so far are in the store
    with ctx.db.read() as conn:
        subject = subjects.find(conn, ctx.account_id, arn, _ENTITY_KINDS)
    ids = [p.principal_id for p in subject.principals]
    with trail_store.of(ctx.db).read() as conn:
        uses = store.used(conn, ctx.account_id, ids, last_accessed.since(ctx.now))
    entries = last_accessed.report(
        grants.granted(subject.documents), uses, action_level=granularity == "ACTION_LEVEL"
    )
    job_id = str(uuid.uuid4())
    principals = [p.info() for p in subject.principals]
    report = {"granularity": granularity, "services": entries, "principals": principals}
    with ctx.db.transaction() as conn:
        store.insert_job(
            conn,
            job_id=job_id,
            account_id=ctx.account_id,
            kind=KIND,
            arn=arn,
            status="COMPLETED",
            created_at=ctx.now,
            completed_at=ctx.now,
            report=json.dumps(report, default=_time_text),
        )
    return {"JobId": job_id}


@operation("GetServiceLastAccessedDetails")
def get_service_last_accessed_details(
    ctx: Context, job_id: str, max_items: int | None = None, marker: str | None = None
) -> dict[str, Any]:
    """One page of a report's services."""
    row, report = _job(ctx, job_id)
    services = [{k: v for k, v in entry.items() if k != "Used"} for entry in report["services"]]
    page, fields = _page(services, job_id, "", max_items, marker)
    return {
        "JobStatus": row.status,
        "JobType": report["granularity"],
        "JobCreationDate": utc(row.created_at),
        "ServicesLastAccessed": page,
        "JobCompletionDate": utc(row.completed_at),
        **fields,
    }


@operation("GetServiceLastAccessedDetailsWithEntities")
def get_service_last_accessed_details_with_entities(
    ctx: Context, job_id: str, service_namespace: str, max_items: int | None = None, marker: str | None = None
) -> dict[str, Any]:
    """One page of the users and roles that could have used one service of a report, the latest first."""
    row, report = _job(ctx, job_id)
    entry = next((e for e in report["services"] if e["ServiceNamespace"] == service_namespace), None)
    used = {k: datetime.fromisoformat(v) for k, v in entry["Used"].items()} if entry is not None else {}
    entities = last_accessed.entities(report["principals"], used) if entry is not None else []
    page, fields = _page(entities, job_id, service_namespace, max_items, marker)
    return {
        "JobStatus": row.status,
        "JobCreationDate": utc(row.created_at),
        "JobCompletionDate": utc(row.completed_at),
        "EntityDetailsList": page,
        **fields,
    }


@operation("ListPoliciesGrantingServiceAccess")
def list_policies_granting_service_access(
    ctx: Context, arn: str, service_namespaces: list[str], marker: str | None = None
) -> dict[str, Any]:
    """For each service asked, the permissions policies of a user (its groups' included), group or role
    that allow it."""
    if marker is not None:
        raise InvalidInputException("Invalid Marker.")  # one page holds every answer: none is issued
    with ctx.db.read() as conn:
        subject = subjects.find(conn, ctx.account_id, arn, ("user", "role", "group"))
    allowed = [(held, grants.granted([held.document])) for held in subject.policies]
    answer = []
    for namespace in service_namespaces:
        found = [held.shape() for held, services in allowed if namespace in services]
        answer.append({"ServiceNamespace": namespace, "Policies": found})
    return {"PoliciesGrantingServiceAccess": answer, "IsTruncated": False}


def _job(ctx: Context, job_id: str) -> tuple[Any, dict[str, Any]]:
    with ctx.db.read() as conn:
        row = store.job(conn, ctx.account_id, KIND, job_id)
    if row is None:
        raise NoSuchEntityException(f"The job with id {job_id} cannot be found.")
    return row, json.loads(row.report, object_hook=_with_times)


def _page(
    items: list[dict[str, Any]], job_id: str, scope: str, max_items: int | None, marker: str | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A page of a report's list and IsTruncated/Marker; a marker names its job and list."""
    start = _start(marker, job_id, scope) if marker is not None else 0
    end = start + (max_items or DEFAULT_MAX_ITEMS)
    if end >= len(items):
        return items[start:], {"IsTruncated": False}
    text = json.dumps([job_id, scope, end], separators=(",", ":"))
    return items[start:end], {"IsTruncated": True, "Marker": base64.b64encode(text.encode()).decode()}


def _start(marker: str, job_id: str, scope: str) -> int:
    try:
        found = json.loads(base64.b64decode(marker.encode(), validate=True))
        if (
            isinstance(found, list)
            and found[:2] == [job_id, scope]
            and isinstance(found[2], int)
            and found[2] >= 0
        ):
            return int(found[2])
    except (ValueError, binascii.Error, IndexError, TypeError, RecursionError):
        pass
    raise InvalidInputException("Invalid Marker.")


def _time_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _with_times(item: dict[str, Any]) -> dict[str, Any]:
    for key in _TIMES:
        if isinstance(item.get(key), str):
            item[key] = datetime.fromisoformat(item[key])
    return item
