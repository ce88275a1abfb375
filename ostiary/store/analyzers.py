"""Access Analyzer's analyzers, their archive rules and tags, and the status records of their findings,
per account and region. A finding's content is computed from the current policies when read; its record
keeps when it was first seen, its status (ACTIVE, ARCHIVED, RESOLVED) and its last content."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Connection, DateTime, Row, String, Table, Text, delete, select, update

from ostiary.store.tables import metadata


def _ts(name: str, nullable: bool = False) -> Column[Any]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


analyzers = Table(
    "analyzers",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("type", String(32), nullable=False),
    Column("configuration", Text),  # the AnalyzerConfiguration as JSON, NULL for none
    Column("status", String(16), nullable=False),
    Column("client_token", String(64)),  # CreateAnalyzer's: its retry answers as the first call did
    _ts("created_at"),
)

analyzer_tags = Table(
    "analyzer_tags",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("analyzer_name", String(255), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", String(256), nullable=False),
)

archive_rules = Table(
    "analyzer_archive_rules",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("analyzer_name", String(255), primary_key=True),
    Column("rule_name", String(255), primary_key=True),
    Column("filter", Text, nullable=False),  # FilterCriteriaMap as JSON
    Column("client_token", String(64)),  # CreateArchiveRule's
    _ts("created_at"),
    _ts("updated_at"),
)

finding_records = Table(
    "analyzer_findings",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("analyzer_name", String(255), primary_key=True),
    Column("finding_id", String(36), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("content", Text, nullable=False),  # the finding as last computed, JSON
    _ts("created_at"),
    _ts("updated_at"),
)

Key = tuple[str, str, str]  # account, region, analyzer name


def _where(table: Table, key: Key, name_column: str = "analyzer_name") -> Any:
    account, region, name = key
    return (table.c.account_id == account) & (table.c.region == region) & (table.c[name_column] == name)


def find(conn: Connection, key: Key, *, lock: bool = False) -> Row[Any] | None:
    """The analyzer, or None; `lock` holds its row until the transaction ends (PostgreSQL), so that a
    deletion waits for the writes of a reconciliation of its findings, and takes them with it."""
    stmt = select(analyzers).where(_where(analyzers, key, "name"))
    return conn.execute(stmt.with_for_update() if lock else stmt).first()


def of_account(conn: Connection, account: str, region: str) -> list[Row[Any]]:
    """The account's analyzers in the region, by name."""
    t = analyzers
    stmt = select(t).where((t.c.account_id == account) & (t.c.region == region)).order_by(t.c.name)
    return list(conn.execute(stmt))


def insert(
    conn: Connection,
    key: Key,
    kind: str,
    configuration: dict[str, Any] | None,
    now: datetime,
    client_token: str | None = None,
) -> None:
    """A new analyzer, ACTIVE."""
    account, region, name = key
    conn.execute(
        analyzers.insert().values(
            account_id=account,
            region=region,
            name=name,
            type=kind,
            status="ACTIVE",
            client_token=client_token,
            created_at=now,
            configuration=json.dumps(configuration) if configuration is not None else None,
        )
    )


def set_configuration(conn: Connection, key: Key, configuration: dict[str, Any]) -> None:
    """Replace an analyzer's configuration."""
    conn.execute(
        update(analyzers)
        .where(_where(analyzers, key, "name"))
        .values(configuration=json.dumps(configuration))
    )


def remove(conn: Connection, key: Key) -> None:
    """The analyzer and everything that belongs to it."""
    for table in (analyzer_tags, archive_rules, finding_records):
        conn.execute(delete(table).where(_where(table, key)))
    conn.execute(delete(analyzers).where(_where(analyzers, key, "name")))


def tags(conn: Connection, key: Key) -> dict[str, str]:
    """An analyzer's tags."""
    rows = conn.execute(select(analyzer_tags.c.key, analyzer_tags.c.value).where(_where(analyzer_tags, key)))
    return {str(r.key): str(r.value) for r in rows}


def set_tags(conn: Connection, key: Key, values: dict[str, str]) -> None:
    """Add or overwrite tags."""
    account, region, name = key
    t = analyzer_tags
    for tag, value in values.items():
        conn.execute(delete(t).where(_where(t, key) & (t.c.key == tag)))
        conn.execute(
            t.insert().values(account_id=account, region=region, analyzer_name=name, key=tag, value=value)
        )


def remove_tags(conn: Connection, key: Key, keys: list[str]) -> None:
    """Drop tags by key (absent keys are ignored)."""
    conn.execute(delete(analyzer_tags).where(_where(analyzer_tags, key) & analyzer_tags.c.key.in_(keys)))


def rules(conn: Connection, key: Key) -> list[Row[Any]]:
    """The analyzer's archive rules, by name."""
    t = archive_rules
    return list(conn.execute(select(t).where(_where(t, key)).order_by(t.c.rule_name)))


def find_rule(conn: Connection, key: Key, rule: str) -> Row[Any] | None:
    """An archive rule of the analyzer, or None."""
    t = archive_rules
    return conn.execute(select(t).where(_where(t, key) & (t.c.rule_name == rule))).first()


def insert_rule(
    conn: Connection,
    key: Key,
    rule: str,
    criteria: dict[str, Any],
    now: datetime,
    client_token: str | None = None,
) -> None:
    """A new archive rule (its filter checked by the caller)."""
    account, region, name = key
    conn.execute(
        archive_rules.insert().values(
            account_id=account,
            region=region,
            analyzer_name=name,
            rule_name=rule,
            filter=json.dumps(criteria),
            client_token=client_token,
            created_at=now,
            updated_at=now,
        )
    )


def update_rule(conn: Connection, key: Key, rule: str, criteria: dict[str, Any], now: datetime) -> None:
    """Replace an archive rule's filter."""
    t = archive_rules
    conn.execute(
        update(t)
        .where(_where(t, key) & (t.c.rule_name == rule))
        .values(filter=json.dumps(criteria), updated_at=now)
    )


def remove_rule(conn: Connection, key: Key, rule: str) -> None:
    """Delete an archive rule."""
    conn.execute(
        delete(archive_rules).where(_where(archive_rules, key) & (archive_rules.c.rule_name == rule))
    )


def records(conn: Connection, key: Key) -> dict[str, Row[Any]]:
    """The analyzer's finding records, by finding id."""
    rows = conn.execute(select(finding_records).where(_where(finding_records, key)))
    return {str(r.finding_id): r for r in rows}


def insert_record(
    conn: Connection, key: Key, finding_id: str, status: str, content: dict[str, Any], now: datetime
) -> None:
    """The record of a finding seen for the first time."""
    account, region, name = key
    conn.execute(
        finding_records.insert().values(
            account_id=account,
            region=region,
            analyzer_name=name,
            finding_id=finding_id,
            status=status,
            content=json.dumps(content, sort_keys=True),
            created_at=now,
            updated_at=now,
        )
    )


def update_record(
    conn: Connection,
    key: Key,
    finding_id: str,
    now: datetime,
    *,
    status: str | None = None,
    content: dict[str, Any] | None = None,
) -> None:
    """Change a record's status and/or content; its updatedAt becomes `now`."""
    values: dict[str, Any] = {"updated_at": now}
    if status is not None:
        values["status"] = status
    if content is not None:
        values["content"] = json.dumps(content, sort_keys=True)
    t = finding_records
    conn.execute(update(t).where(_where(t, key) & (t.c.finding_id == finding_id)).values(**values))
