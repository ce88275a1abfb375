"""Analyzers (Create/Get/List/Update/DeleteAnalyzer) and their tags (Tag/Untag/ListTagsForResource), per
account and region, named `arn:aws:access-analyzer:REGION:ACCOUNT:analyzer/NAME`.

An account has at most one analyzer of each type per region, as AWS allows one per zone of trust; the
organization types need an organization, which Ostiary's accounts are not members of.
"""

from __future__ import annotations

import json
from typing import Any

from ostiary import services
from ostiary.access_analyzer import archive_rules
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
    region_of,
)
from ostiary.access_analyzer.errors import ConflictException, ValidationException, field_errors
from ostiary.access_analyzer.findings_compute import aware, timestamp
from ostiary.access_analyzer.operation import Operation, Params
from ostiary.store import analyzers as store

TYPES = (
    "ACCOUNT",
    "ORGANIZATION",
    "ACCOUNT_UNUSED_ACCESS",
    "ORGANIZATION_UNUSED_ACCESS",
    "ACCOUNT_INTERNAL_ACCESS",
    "ORGANIZATION_INTERNAL_ACCESS",
)
SERVED_TYPES = ("ACCOUNT", "ACCOUNT_UNUSED_ACCESS")
DEFAULT_UNUSED_ACCESS_AGE = 90
MAX_TAGS = 50
MAX_EXCLUSIONS = 100
_MAX_ANALYZERS_PAGE = 1000


def summary(ctx: services.Context, row: Any, tags: dict[str, str]) -> dict[str, Any]:
    """AnalyzerSummary of a stored analyzer."""
    out: dict[str, Any] = {
        "arn": analyzer_arn(ctx, row.name),
        "name": row.name,
        "type": row.type,
        "createdAt": timestamp(aware(row.created_at) or ctx.now),
        "status": row.status,
        "tags": tags,
    }
    if row.configuration:
        out["configuration"] = json.loads(row.configuration)
    return out


def _configuration(kind: str, value: Any) -> dict[str, Any] | None:
    """The configuration stored for an analyzer: unused-access analyzers get their tracking period."""
    if value is not None and not isinstance(value, dict):
        raise ValidationException("Invalid configuration", "other")
    unused = (value or {}).get("unusedAccess")
    if kind != "ACCOUNT_UNUSED_ACCESS":
        if value:
            raise ValidationException(
                f"Configuration is not supported for analyzer type {kind}", "notSupported"
            )
        return None
    if unused is not None and not isinstance(unused, dict):
        raise ValidationException("Invalid configuration", "other")
    if set(value or {}) - {"unusedAccess"} or set(unused or {}) - {"unusedAccessAge", "analysisRule"}:
        raise ValidationException("Invalid configuration", "other")
    age = (unused or {}).get("unusedAccessAge", DEFAULT_UNUSED_ACCESS_AGE)
    if isinstance(age, bool) or not isinstance(age, int) or not 1 <= age <= 365:
        raise ValidationException(
            "unusedAccessAge must be between 1 and 365 days",
            "fieldValidationFailed",
            [{"name": "unusedAccessAge", "message": "must be between 1 and 365"}],
        )
    configuration: dict[str, Any] = {"unusedAccessAge": age}
    rule = (unused or {}).get("analysisRule")
    if rule is not None:
        configuration["analysisRule"] = _analysis_rule(rule)
    return {"unusedAccess": configuration}


def _analysis_rule(rule: Any) -> dict[str, Any]:
    """analysisRule: exclusions, each naming accounts (12 digits) and/or sets of resource tags."""
    invalid = ValidationException("Invalid analysisRule", "other")
    if not isinstance(rule, dict) or set(rule) - {"exclusions"}:
        raise invalid
    exclusions = rule.get("exclusions", [])
    if not isinstance(exclusions, list) or len(exclusions) > MAX_EXCLUSIONS:
        raise invalid
    for criteria in exclusions:
        if not isinstance(criteria, dict) or not criteria or set(criteria) - {"accountIds", "resourceTags"}:
            raise invalid
        accounts = criteria.get("accountIds", [])
        if not isinstance(accounts, list) or len(accounts) > 2000:
            raise invalid
        if not all(isinstance(a, str) and len(a) == 12 and a.isdigit() for a in accounts):
            raise invalid
        tag_sets = criteria.get("resourceTags", [])
        if not isinstance(tag_sets, list) or len(tag_sets) > MAX_EXCLUSIONS:
            raise invalid
        for tags in tag_sets:
            if not isinstance(tags, dict) or not tags:
                raise invalid
            check_tags(tags)
    return dict(rule)


def check_tags(value: Any) -> dict[str, str]:
    """A TagsMap: at most 50, keys of 1 to 128 and values of at most 256 characters."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValidationException(
            "Invalid tags", "fieldValidationFailed", [{"name": "tags", "message": "Invalid tags"}]
        )
    if len(value) > MAX_TAGS:
        raise ValidationException(
            f"Cannot have more than {MAX_TAGS} tags",
            "fieldValidationFailed",
            [{"name": "tags", "message": "Too many tags"}],
        )
    for key, tag in value.items():
        if not 1 <= len(key) <= 128 or len(tag) > 256 or key.lower().startswith("aws:"):
            raise ValidationException(
                "Invalid tag key or value",
                "fieldValidationFailed",
                [{"name": "tags", "message": "Invalid tag key or value"}],
            )
    return value


def _create_analyzer(ctx: services.Context, params: Params) -> dict[str, Any]:
    key = key_of_name(ctx, params.get("analyzerName"))
    kind = params.get("type")
    if kind not in TYPES:
        shown = [{"name": "type", "message": f"Member must satisfy enum value set: [{', '.join(TYPES)}]"}]
        if isinstance(kind, str):
            shown[0]["value"] = kind[:300]
        else:
            shown = [{"name": "type", "message": "Member must not be null"}]
        raise field_errors(shown)
    if kind.startswith("ORGANIZATION"):
        raise ValidationException(
            "You must be a member of an organization to create an organization analyzer", "notSupported"
        )
    if kind not in SERVED_TYPES:
        raise ValidationException(f"Analyzer type {kind} is not supported", "notSupported")
    configuration = _configuration(kind, params.get("configuration"))
    tags = check_tags(params.get("tags"))
    rules = archive_rules.check_inline(params.get("archiveRules"), kind)
    token = client_token(params.get("clientToken"))
    conflict = ConflictException(f"Analyzer with name {key[2]} already exists", key[2], "Analyzer")
    with ctx.db.transaction(on_conflict=conflict) as conn:
        existing_rows = store.of_account(conn, key[0], key[1])
        for row in existing_rows:
            if row.name == key[2] and token is not None and (row.client_token, row.type) == (token, kind):
                return {"arn": analyzer_arn(ctx, key[2])}  # a retry of the call that made it
            if row.name == key[2]:
                raise conflict
        same = [r.name for r in existing_rows if r.type == kind]
        if same:
            raise ConflictException(
                f"An analyzer of type {kind} already exists in this region: {same[0]}", same[0], "Analyzer"
            )
        store.insert(conn, key, kind, configuration, ctx.now, token)
        store.set_tags(conn, key, tags)
        for name, criteria in rules:
            store.insert_rule(conn, key, name, criteria, ctx.now)
    return {"arn": analyzer_arn(ctx, key[2])}


def _get_analyzer(ctx: services.Context, params: Params) -> dict[str, Any]:
    key = key_of_name(ctx, params.get("analyzerName"))
    with ctx.db.read() as conn:
        row = existing(conn, key)
        return {"analyzer": summary(ctx, row, store.tags(conn, key))}


def _list_analyzers(ctx: services.Context, params: Params) -> dict[str, Any]:
    kind = params.get("type")
    if kind is not None and kind not in TYPES:
        raise field_errors(
            [
                {
                    "name": "type",
                    "value": str(kind)[:300],
                    "message": f"Member must satisfy enum value set: [{', '.join(TYPES)}]",
                }
            ]
        )
    size = page_size(params.get("maxResults"), _MAX_ANALYZERS_PAGE)
    after = read_token(params.get("nextToken"), "analyzers")
    with ctx.db.read() as conn:
        rows = [r for r in store.of_account(conn, ctx.account_id, region_of(ctx)) if kind in (None, r.type)]
        rows = [r for r in rows if after is None or r.name > after]
        page = rows[:size]
        out: dict[str, Any] = {
            "analyzers": [
                summary(ctx, r, store.tags(conn, (ctx.account_id, region_of(ctx), r.name))) for r in page
            ]
        }
    if len(rows) > size:
        out["nextToken"] = make_token("analyzers", page[-1].name)
    return out


def _update_analyzer(ctx: services.Context, params: Params) -> dict[str, Any]:
    key = key_of_name(ctx, params.get("analyzerName"))
    with ctx.db.transaction() as conn:
        row = existing(conn, key)
        if row.type != "ACCOUNT_UNUSED_ACCESS":
            raise ValidationException(
                f"UpdateAnalyzer is not supported for analyzer type {row.type}", "notSupported"
            )
        configuration = _configuration(row.type, params.get("configuration")) or {}
        store.set_configuration(conn, key, configuration)
    return {"configuration": configuration}


def _delete_analyzer(ctx: services.Context, params: Params) -> dict[str, Any]:
    key = key_of_name(ctx, params.get("analyzerName"))
    with ctx.db.transaction() as conn:
        existing(conn, key, lock=True)
        store.remove(conn, key)
    return {}


def _tag_resource(ctx: services.Context, params: Params) -> dict[str, Any]:
    key = key_of_arn(ctx, params.get("resourceArn"), "resourceArn")
    tags = check_tags(params.get("tags"))
    with ctx.db.transaction() as conn:
        existing(conn, key)
        if len(set(store.tags(conn, key)) | set(tags)) > MAX_TAGS:
            raise ValidationException(
                f"Cannot have more than {MAX_TAGS} tags",
                "fieldValidationFailed",
                [{"name": "tags", "message": "Too many tags"}],
            )
        store.set_tags(conn, key, tags)
    return {}


def _untag_resource(ctx: services.Context, params: Params) -> dict[str, Any]:
    key = key_of_arn(ctx, params.get("resourceArn"), "resourceArn")
    keys = params.get("tagKeys")
    if (
        not isinstance(keys, list)
        or not keys
        or len(keys) > MAX_TAGS
        or not all(isinstance(k, str) for k in keys)
    ):
        raise field_errors([{"name": "tagKeys", "message": "Member must not be null"}])
    with ctx.db.transaction() as conn:
        existing(conn, key)
        store.remove_tags(conn, key, keys)
    return {}


def _list_tags(ctx: services.Context, params: Params) -> dict[str, Any]:
    key = key_of_arn(ctx, params.get("resourceArn"), "resourceArn")
    with ctx.db.read() as conn:
        existing(conn, key)
        return {"tags": store.tags(conn, key)}


def _named_resource(ctx: services.Context, params: Params) -> str:
    return analyzer_arn(ctx, check_name(params.get("analyzerName")))


def _tagged_resource(ctx: services.Context, params: Params) -> str:
    arn = params.get("resourceArn")
    return arn if isinstance(arn, str) and len(arn) <= 2048 else "*"


OPERATIONS = {
    "CreateAnalyzer": Operation(_create_analyzer, _named_resource),
    "GetAnalyzer": Operation(_get_analyzer, _named_resource),
    "ListAnalyzers": Operation(_list_analyzers),
    "UpdateAnalyzer": Operation(_update_analyzer, _named_resource),
    "DeleteAnalyzer": Operation(_delete_analyzer, _named_resource),
    "TagResource": Operation(_tag_resource, _tagged_resource),
    "UntagResource": Operation(_untag_resource, _tagged_resource),
    "ListTagsForResource": Operation(_list_tags, _tagged_resource),
}
