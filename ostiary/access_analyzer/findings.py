"""Findings: ListFindings(V2), GetFinding(V2), UpdateFindings and GetFindingsStatistics.

Findings are computed from the current state when read (`findings_compute`) and reconciled with their
records in one transaction: a new finding is recorded ACTIVE (ARCHIVED when an archive rule matches it),
a finding whose access went away becomes RESOLVED, one that comes back is active again.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ostiary import services
from ostiary.access_analyzer import findings_filter
from ostiary.access_analyzer.analyzer_keys import analyzer_arn, existing, key_of_arn, page_size, region_of
from ostiary.access_analyzer.errors import ResourceNotFoundException, ValidationException, field_errors
from ostiary.access_analyzer.findings_compute import Scope, aware, current, timestamp
from ostiary.access_analyzer.operation import Operation, Params
from ostiary.errors import ConcurrentModificationException
from ostiary.store import analyzers as store
from ostiary.store import trail_store

MAX_PAGE = 1000
MAX_IDS = 1000
_SORTABLE = (
    "createdAt",
    "updatedAt",
    "analyzedAt",
    "id",
    "resource",
    "resourceType",
    "status",
    "resourceOwnerAccount",
    "findingType",
)
_V1 = (
    "id",
    "principal",
    "action",
    "resource",
    "isPublic",
    "resourceType",
    "condition",
    "createdAt",
    "analyzedAt",
    "updatedAt",
    "status",
    "resourceOwnerAccount",
    "sources",
)
_V2 = (
    "analyzedAt",
    "createdAt",
    "id",
    "resource",
    "resourceType",
    "resourceOwnerAccount",
    "status",
    "updatedAt",
    "findingType",
)
_ATTEMPTS = 3


@dataclass
class _Reconciled:
    """The analyzer's findings as they stand, and the record writes that make the store agree."""

    findings: list[dict[str, Any]] = field(default_factory=list)
    inserts: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # id, status, content
    updates: list[tuple[str, str | None, dict[str, Any] | None]] = field(default_factory=list)


def synced(ctx: services.Context, key: store.Key) -> list[dict[str, Any]]:
    """The analyzer's findings (current and resolved), reconciled with their records; each with its id,
    status and times. A read when nothing changed; else one write transaction holding the analyzer."""
    with ctx.db.read() as conn:
        reconciled = _reconcile(ctx, conn, existing(conn, key), key)
    if not reconciled.inserts and not reconciled.updates:
        return reconciled.findings
    for attempt in range(_ATTEMPTS):
        try:
            with ctx.db.transaction() as conn:
                reconciled = _reconcile(ctx, conn, existing(conn, key, lock=True), key)
                for finding_id, status, content in reconciled.inserts:
                    store.insert_record(conn, key, finding_id, status, content, ctx.now)
                for finding_id, changed_status, changed_content in reconciled.updates:
                    store.update_record(
                        conn, key, finding_id, ctx.now, status=changed_status, content=changed_content
                    )
                return reconciled.findings
        except ConcurrentModificationException:
            if attempt == _ATTEMPTS - 1:
                raise
    return []


def _reconcile(ctx: services.Context, conn: Any, row: Any, key: store.Key) -> _Reconciled:
    configuration = json.loads(row.configuration) if row.configuration else {}
    unused = configuration.get("unusedAccess", {})
    exclusions = tuple(unused.get("analysisRule", {}).get("exclusions", ()))
    age = int(unused.get("unusedAccessAge", 90))
    scope = Scope(analyzer_arn(ctx, key[2]), row.type, key[0], key[1], ctx.now, age, exclusions)
    with trail_store.of(ctx.db).read() as trail:
        computed = current(conn, scope, trail)
    records = store.records(conn, key)
    rules = [json.loads(r.filter) for r in store.rules(conn, key)]
    out = _Reconciled()
    for finding_id, content in computed.items():
        record = records.get(finding_id)
        view = {**content, "id": finding_id, "status": "ACTIVE"}
        fresh = "ARCHIVED" if any(findings_filter.matches(rule, view) for rule in rules) else "ACTIVE"
        if record is None:
            out.inserts.append((finding_id, fresh, content))
            out.findings.append(_full(content, finding_id, fresh, ctx.now, ctx.now, ctx.now))
            continue
        status, updated = record.status, aware(record.updated_at) or ctx.now
        if status == "RESOLVED" or json.dumps(content, sort_keys=True) != record.content:
            status = fresh if status == "RESOLVED" else status
            out.updates.append((finding_id, status, content))
            updated = ctx.now
        created = aware(record.created_at) or ctx.now
        out.findings.append(_full(content, finding_id, status, created, updated, ctx.now))
    for finding_id, record in records.items():
        if finding_id in computed:
            continue
        updated = aware(record.updated_at) or ctx.now
        if record.status != "RESOLVED":
            out.updates.append((finding_id, "RESOLVED", None))
            updated = ctx.now
        created = aware(record.created_at) or ctx.now
        out.findings.append(
            _full(json.loads(record.content), finding_id, "RESOLVED", created, updated, ctx.now)
        )
    return out


def _full(
    content: dict[str, Any], finding_id: str, status: str, created: Any, updated: Any, now: Any
) -> dict[str, Any]:
    return {
        **content,
        "id": finding_id,
        "status": status,
        "createdAt": timestamp(created),
        "updatedAt": timestamp(updated),
        "analyzedAt": timestamp(now),
    }


def _v1(finding: dict[str, Any]) -> dict[str, Any]:
    out = {name: finding[name] for name in _V1 if name in finding}
    out.setdefault("condition", {})
    return out


def _v2(finding: dict[str, Any]) -> dict[str, Any]:
    return {name: finding[name] for name in _V2 if name in finding}


def _analyzer_key(ctx: services.Context, params: Params) -> tuple[store.Key, str]:
    key = key_of_arn(ctx, params.get("analyzerArn"))
    with ctx.db.read() as conn:
        row = existing(conn, key)
    return key, str(row.type)


def _listed(ctx: services.Context, params: Params) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the analyzer's findings, filtered and sorted, and the next token."""
    key, kind = _analyzer_key(ctx, params)
    criteria = findings_filter.check(params.get("filter"), kind)
    sort = params.get("sort") or {}
    if not isinstance(sort, dict) or set(sort) - {"attributeName", "orderBy"}:
        raise ValidationException("Invalid sort criteria", "other")
    attribute, order = sort.get("attributeName", "createdAt"), sort.get("orderBy", "ASC")
    if attribute not in _SORTABLE or order not in ("ASC", "DESC"):
        raise ValidationException("Invalid sort criteria", "other")
    size = page_size(params.get("maxResults"), MAX_PAGE)
    fingerprint = hashlib.sha256(
        json.dumps([key, criteria, attribute, order], sort_keys=True).encode()
    ).hexdigest()[:16]
    start = _offset(params.get("nextToken"), fingerprint)
    found = [f for f in synced(ctx, key) if findings_filter.matches(criteria, f)]
    found.sort(key=lambda f: (str(f.get(attribute, "")), f["id"]), reverse=order == "DESC")
    end = start + size
    return found[start:end], (f"{end}:{fingerprint}" if end < len(found) else None)


def _offset(token: Any, fingerprint: str) -> int:
    if token is None:
        return 0
    offset, _, issued_for = str(token).partition(":")
    if len(offset) > 9 or not offset.isdigit() or issued_for != fingerprint:
        raise ValidationException("Invalid next token", "other")
    return int(offset)


def _external_only(ctx: services.Context, params: Params, operation: str) -> None:
    """ListFindings and GetFinding serve external access analyzers only (V2 serves every type)."""
    _, kind = _analyzer_key(ctx, params)
    if kind != "ACCOUNT":
        raise ValidationException(
            f"{operation} is not supported for {kind} analyzers; use {operation}V2", "notSupported"
        )


def _list_findings(ctx: services.Context, params: Params) -> dict[str, Any]:
    _external_only(ctx, params, "ListFindings")
    page, token = _listed(ctx, params)
    out: dict[str, Any] = {"findings": [_v1(f) for f in page]}
    return out | ({"nextToken": token} if token else {})


def _list_findings_v2(ctx: services.Context, params: Params) -> dict[str, Any]:
    page, token = _listed(ctx, params)
    out: dict[str, Any] = {"findings": [_v2(f) for f in page]}
    return out | ({"nextToken": token} if token else {})


def _one(ctx: services.Context, params: Params) -> dict[str, Any]:
    key, _ = _analyzer_key(ctx, params)
    finding_id = params.get("id")
    if not isinstance(finding_id, str) or not finding_id:
        raise field_errors([{"name": "id", "message": "Member must not be null"}])
    for finding in synced(ctx, key):
        if finding["id"] == finding_id:
            return finding
    raise ResourceNotFoundException("Finding not found", finding_id[:256], "Finding")


def _get_finding(ctx: services.Context, params: Params) -> dict[str, Any]:
    _external_only(ctx, params, "GetFinding")
    return {"finding": _v1(_one(ctx, params))}


def _get_finding_v2(ctx: services.Context, params: Params) -> dict[str, Any]:
    finding = _one(ctx, params)
    details = finding["details"]
    size = page_size(params.get("maxResults"), MAX_PAGE)
    start = _offset(params.get("nextToken"), finding["id"][:16])
    out = _v2(finding) | {"findingDetails": details[start : start + size]}
    if start + size < len(details):
        out["nextToken"] = f"{start + size}:{finding['id'][:16]}"
    return out


def _update_findings(ctx: services.Context, params: Params) -> dict[str, Any]:
    key, _ = _analyzer_key(ctx, params)
    status = params.get("status")
    if status not in ("ACTIVE", "ARCHIVED"):
        shown = {"name": "status", "message": "Member must satisfy enum value set: [ACTIVE, ARCHIVED]"}
        raise field_errors([shown | ({"value": str(status)[:300]} if status is not None else {})])
    ids, resource = params.get("ids"), params.get("resourceArn")
    if ids is None and resource is None:
        raise ValidationException("Either ids or resourceArn must be specified", "other")
    if ids is not None and (
        not isinstance(ids, list) or len(ids) > MAX_IDS or not all(isinstance(i, str) for i in ids)
    ):
        raise ValidationException(
            "Invalid ids", "fieldValidationFailed", [{"name": "ids", "message": "Invalid ids"}]
        )
    if resource is not None and not isinstance(resource, str):
        raise ValidationException("Invalid resourceArn", "other")
    findings = {f["id"]: f for f in synced(ctx, key)}
    chosen = [i for i in ids or []] + [f["id"] for f in findings.values() if f.get("resource") == resource]
    missing = [i for i in chosen if i not in findings]
    if missing:
        raise ResourceNotFoundException("Finding not found", missing[0][:256], "Finding")
    with ctx.db.transaction() as conn:
        existing(conn, key, lock=True)
        records = store.records(conn, key)
        for finding_id in dict.fromkeys(chosen):
            record = records.get(finding_id)
            if record is not None and record.status not in ("RESOLVED", status):
                store.update_record(conn, key, finding_id, ctx.now, status=status)
    return {}


def _statistics(ctx: services.Context, params: Params) -> dict[str, Any]:
    key, kind = _analyzer_key(ctx, params)
    findings = synced(ctx, key)
    totals = Counter(f["status"] for f in findings)
    counts = {
        "totalActiveFindings": totals["ACTIVE"],
        "totalArchivedFindings": totals["ARCHIVED"],
        "totalResolvedFindings": totals["RESOLVED"],
    }
    active = [f for f in findings if f["status"] == "ACTIVE"]
    if kind == "ACCOUNT":
        by_type: dict[str, dict[str, int]] = {}
        for f in active:
            entry = by_type.setdefault(
                f["resourceType"],
                {"totalActivePublic": 0, "totalActiveCrossAccount": 0, "totalActiveErrors": 0},
            )
            entry["totalActivePublic" if f.get("isPublic") else "totalActiveCrossAccount"] += 1
        stats = {"externalAccessFindingsStatistics": {"resourceTypeStatistics": by_type, **counts}}
    else:
        types = Counter(f["findingType"] for f in active)
        listed = [{"unusedAccessType": t, "total": n} for t, n in sorted(types.items())]
        stats = {"unusedAccessFindingsStatistics": {"unusedAccessTypeStatistics": listed, **counts}}
        if active:
            top = {
                "account": key[0],
                "numberOfActiveFindings": len(active),
                "details": dict(sorted(types.items())),
            }
            stats["unusedAccessFindingsStatistics"]["topAccounts"] = [top]
    return {"findingsStatistics": [stats], "lastUpdatedAt": timestamp(ctx.now)}


def _analyzer_resource(ctx: services.Context, params: Params) -> str:
    arn = params.get("analyzerArn")
    return arn if isinstance(arn, str) and len(arn) <= 2048 else f"arn:aws:access-analyzer:{region_of(ctx)}:*"


OPERATIONS = {
    "ListFindings": Operation(_list_findings, _analyzer_resource),
    "ListFindingsV2": Operation(_list_findings_v2, _analyzer_resource, "ListFindings"),
    "GetFinding": Operation(_get_finding, _analyzer_resource),
    "GetFindingV2": Operation(_get_finding_v2, _analyzer_resource, "GetFinding"),
    "UpdateFindings": Operation(_update_findings, _analyzer_resource),
    "GetFindingsStatistics": Operation(_statistics, _analyzer_resource),
}
