"""Archive rules: Create/Get/List/Update/DeleteArchiveRule, and ApplyArchiveRule, which archives the active
findings a rule matches (a rule otherwise archives the new findings it matches as they appear)."""

from __future__ import annotations

import json
import re
from typing import Any

from ostiary import services
from ostiary.access_analyzer import findings_filter
from ostiary.access_analyzer.analyzer_keys import (
    analyzer_arn,
    check_name,
    client_token,
    existing,
    key_of_arn,
    key_of_name,
    make_token,
    page_size,
    read_token,
)
from ostiary.access_analyzer.errors import (
    ConflictException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    field_errors,
)
from ostiary.access_analyzer.findings import synced
from ostiary.access_analyzer.findings_compute import aware, timestamp
from ostiary.access_analyzer.operation import Operation, Params
from ostiary.store import analyzers as store

MAX_RULES = 100  # AWS's quota of archive rules per analyzer
_RULE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*\Z")
_RULE_PATTERN = "[A-Za-z][A-Za-z0-9_.-]*"


def check_rule_name(value: Any) -> str:
    """A rule name as the model constrains it."""
    if not isinstance(value, str):
        raise field_errors([{"name": "ruleName", "message": "Member must not be null"}])
    errors = []
    if not 1 <= len(value) <= 255:
        errors.append(
            {"name": "ruleName", "value": value[:300], "message": "Member must have length between 1 and 255"}
        )
    if not _RULE.match(value):
        errors.append(
            {
                "name": "ruleName",
                "value": value[:300],
                "message": f"Member must satisfy regular expression pattern: {_RULE_PATTERN}",
            }
        )
    if errors:
        raise field_errors(errors)
    return value


def _check_filter(value: Any, analyzer_type: str) -> dict[str, Any]:
    if value is None:
        raise field_errors([{"name": "filter", "message": "Member must not be null"}])
    return findings_filter.check(value, analyzer_type)


def check_inline(value: Any, analyzer_type: str) -> list[tuple[str, dict[str, Any]]]:
    """CreateAnalyzer's archiveRules: (name, filter) each, names unique, at most MAX_RULES."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_RULES or not all(isinstance(r, dict) for r in value):
        raise field_errors(
            [
                {
                    "name": "archiveRules",
                    "message": f"Member must have length less than or equal to {MAX_RULES}",
                }
            ]
        )
    rules = [
        (check_rule_name(r.get("ruleName")), _check_filter(r.get("filter"), analyzer_type)) for r in value
    ]
    names = [name for name, _ in rules]
    if len(set(names)) != len(names):
        duplicate = next(n for n in names if names.count(n) > 1)
        raise ConflictException(f"Archive rule {duplicate} already exists", duplicate, "ArchiveRule")
    return rules


def _stored_rule(conn: Any, key: Any, rule: str) -> Any:
    """An analyzer's archive rule as stored; ResourceNotFoundException when it has none of that name."""
    row = store.find_rule(conn, key, rule)
    if row is None:
        raise ResourceNotFoundException("Archive rule not found", rule, "ArchiveRule")
    return row


def _summary(row: Any) -> dict[str, Any]:
    return {
        "ruleName": row.rule_name,
        "filter": json.loads(row.filter),
        "createdAt": timestamp(aware(row.created_at)),
        "updatedAt": timestamp(aware(row.updated_at)),
    }


def _create_rule(ctx: services.Context, params: Params) -> dict[str, Any]:
    key = key_of_name(ctx, params.get("analyzerName"))
    rule = check_rule_name(params.get("ruleName"))
    token = client_token(params.get("clientToken"))
    conflict = ConflictException(f"Archive rule {rule} already exists", rule, "ArchiveRule")
    with ctx.db.transaction(on_conflict=conflict) as conn:
        analyzer = existing(conn, key)
        criteria = _check_filter(params.get("filter"), analyzer.type)
        rules = store.rules(conn, key)
        same = next((r for r in rules if r.rule_name == rule), None)
        if same is not None and token is not None and same.client_token == token:
            return {}  # a retry of the call that made it
        if same is not None:
            raise conflict
        if len(rules) >= MAX_RULES:
            raise ServiceQuotaExceededException(
                f"Cannot have more than {MAX_RULES} archive rules", rule, "ArchiveRule"
            )
        store.insert_rule(conn, key, rule, criteria, ctx.now, token)
    return {}


def _get_rule(ctx: services.Context, params: Params) -> dict[str, Any]:
    key = key_of_name(ctx, params.get("analyzerName"))
    rule = check_rule_name(params.get("ruleName"))
    with ctx.db.read() as conn:
        existing(conn, key)
        row = _stored_rule(conn, key, rule)
    return {"archiveRule": _summary(row)}


def _list_rules(ctx: services.Context, params: Params) -> dict[str, Any]:
    key = key_of_name(ctx, params.get("analyzerName"))
    size = page_size(params.get("maxResults"), MAX_RULES)
    after = read_token(params.get("nextToken"), "archive-rules")
    with ctx.db.read() as conn:
        existing(conn, key)
        rows = [r for r in store.rules(conn, key) if after is None or r.rule_name > after]
    out: dict[str, Any] = {"archiveRules": [_summary(r) for r in rows[:size]]}
    if len(rows) > size:
        out["nextToken"] = make_token("archive-rules", rows[size - 1].rule_name)
    return out


def _update_rule(ctx: services.Context, params: Params) -> dict[str, Any]:
    key = key_of_name(ctx, params.get("analyzerName"))
    rule = check_rule_name(params.get("ruleName"))
    with ctx.db.transaction() as conn:
        analyzer = existing(conn, key)
        criteria = _check_filter(params.get("filter"), analyzer.type)
        _stored_rule(conn, key, rule)
        store.update_rule(conn, key, rule, criteria, ctx.now)
    return {}


def _delete_rule(ctx: services.Context, params: Params) -> dict[str, Any]:
    key = key_of_name(ctx, params.get("analyzerName"))
    rule = check_rule_name(params.get("ruleName"))
    with ctx.db.transaction() as conn:
        existing(conn, key)
        _stored_rule(conn, key, rule)
        store.remove_rule(conn, key, rule)
    return {}


def _apply_rule(ctx: services.Context, params: Params) -> dict[str, Any]:
    key = key_of_arn(ctx, params.get("analyzerArn"))
    rule = check_rule_name(params.get("ruleName"))
    with ctx.db.read() as conn:
        existing(conn, key)
        row = _stored_rule(conn, key, rule)
    criteria = json.loads(row.filter)
    chosen = [
        f["id"] for f in synced(ctx, key) if f["status"] == "ACTIVE" and findings_filter.matches(criteria, f)
    ]
    with ctx.db.transaction() as conn:
        existing(conn, key, lock=True)
        records = store.records(conn, key)
        for finding_id in chosen:
            record = records.get(finding_id)
            if record is not None and record.status == "ACTIVE":
                store.update_record(conn, key, finding_id, ctx.now, status="ARCHIVED")
    return {}


def _analyzer_resource(ctx: services.Context, params: Params) -> str:
    return analyzer_arn(ctx, check_name(params.get("analyzerName")))


def _rule_resource(ctx: services.Context, params: Params) -> str:
    """The ArchiveRule resource of the Service Authorization Reference: `analyzer/NAME/archive-rule/RULE`."""
    return f"{_analyzer_resource(ctx, params)}/archive-rule/{check_rule_name(params.get('ruleName'))}"


def _arn_resource(ctx: services.Context, params: Params) -> str:
    arn = params.get("analyzerArn")
    return arn if isinstance(arn, str) and len(arn) <= 2048 else "*"


OPERATIONS = {
    "CreateArchiveRule": Operation(_create_rule, _rule_resource),
    "GetArchiveRule": Operation(_get_rule, _rule_resource),
    "ListArchiveRules": Operation(_list_rules, _analyzer_resource),
    "UpdateArchiveRule": Operation(_update_rule, _rule_resource),
    "DeleteArchiveRule": Operation(_delete_rule, _rule_resource),
    "ApplyArchiveRule": Operation(_apply_rule, _arn_resource),
}
