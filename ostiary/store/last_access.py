"""What each user and role did, day by day (the source of last-accessed data and policy generation),
and the jobs that report on it.

`trail_access` holds one row per principal, UTC day, IAM action and resource: the last time that day
the principal attempted the action on the resource, from which region, and whether any attempt was
allowed. The trail's writer adds to it in the transaction that inserts the events, with upserts that
keep the latest time, so a replayed event changes nothing. `activity_jobs` holds the reports of
GenerateServiceLastAccessedDetails and Access Analyzer's StartPolicyGeneration, as JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Index,
    Row,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    case,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from ostiary.store.tables import metadata

_CHUNK = 500
TRACKING_PERIOD = timedelta(days=400)  # IAM's last-accessed data reaches this far back

# Migration 0014. No foreign keys: the history outlives the user or role it names.
trail_access = Table(
    "trail_access",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("principal_id", String(128), primary_key=True),  # AIDA.../AROA...: a re-created name is new
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD (UTC)
    Column("action", String(256), primary_key=True),  # s3:GetObject
    Column("resource", String(2048), primary_key=True),  # its ARN, or "*"
    Column("principal_arn", String(2048), nullable=False),
    Column("last_at", DateTime(timezone=True), nullable=False),
    Column("region", String(64), nullable=False),
    Column("is_allowed", Boolean, nullable=False),
)

activity_jobs = Table(
    "activity_jobs",
    metadata,
    Column("job_id", String(64), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("kind", String(32), nullable=False),  # last-accessed | policy-generation
    Column("arn", String(2048), nullable=False),  # the entity or principal reported on
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
    Column("client_token", String(256)),
    Column("report", Text, nullable=False),  # JSON
    Index("ix_activity_jobs_account_kind", "account_id", "kind", "created_at", "job_id"),
    UniqueConstraint("account_id", "kind", "client_token", name="uq_activity_jobs_token"),  # NULLs differ
)


@dataclass(frozen=True)
class Access:
    """One attempt of a principal to do `action` on `resource`, as the trail recorded it."""

    account_id: str
    principal_id: str
    principal_arn: str
    action: str
    resource: str
    at: datetime
    region: str
    is_allowed: bool


def add(conn: Connection, accesses: Iterable[Access]) -> None:
    """Fold attempts into the day rows: the latest time (and its region) wins; allowed once, allowed."""
    rows: dict[tuple[str, str, str, str, str], dict[str, Any]] = {}
    for a in accesses:
        key = (a.account_id, a.principal_id, a.at.strftime("%Y-%m-%d"), a.action, a.resource)
        row = rows.get(key)
        if row is None or a.at > row["last_at"]:
            rows[key] = {
                "account_id": a.account_id,
                "principal_id": a.principal_id,
                "day": key[2],
                "action": a.action,
                "resource": a.resource,
                "principal_arn": a.principal_arn,
                "last_at": a.at,
                "region": a.region,
                "is_allowed": a.is_allowed or bool(row and row["is_allowed"]),
            }
        elif a.is_allowed:
            row["is_allowed"] = True
    if rows:  # in key order: two writers upserting the same rows never wait on each other in a cycle
        conn.execute(_upsert(conn), [rows[key] for key in sorted(rows)])


def _upsert(conn: Connection) -> Any:
    t = trail_access.c
    is_pg = conn.dialect.name == "postgresql"
    stmt = (postgresql.insert if is_pg else sqlite.insert)(trail_access)
    new = stmt.excluded
    latest = func.greatest if is_pg else func.max
    return stmt.on_conflict_do_update(
        index_elements=[t.account_id, t.principal_id, t.day, t.action, t.resource],
        set_={
            "last_at": latest(t.last_at, new.last_at),
            "region": case((new.last_at > t.last_at, new.region), else_=t.region),
            "principal_arn": new.principal_arn,
            "is_allowed": or_(t.is_allowed, new.is_allowed),
        },
    )


@dataclass(frozen=True)
class Used:
    """A principal's last attempt of one action on one resource within a period."""

    principal_id: str
    principal_arn: str
    action: str
    resource: str
    last_at: datetime
    region: str


def used(
    conn: Connection,
    account_id: str,
    principal_ids: Sequence[str],
    since: datetime,
    until: datetime | None = None,
    *,
    allowed_only: bool = False,
) -> list[Used]:
    """The actions (and resources) the principals attempted from the day of `since` to the day of
    `until`, each with its last time and region."""
    if not principal_ids:
        return []
    t = trail_access.c
    where = [t.account_id == account_id, t.day >= since.strftime("%Y-%m-%d")]
    if until is not None:
        where.append(t.day <= until.strftime("%Y-%m-%d"))
    if allowed_only:
        where.append(t.is_allowed.is_(True))
    columns = (t.principal_id, t.principal_arn, t.action, t.resource, t.last_at, t.region)
    rows = [
        row
        for start in range(0, len(principal_ids), _CHUNK)  # a group of thousands: bounded IN lists
        for row in conn.execute(
            select(*columns).where(t.principal_id.in_(list(principal_ids[start : start + _CHUNK])), *where)
        )
    ]
    latest: dict[tuple[str, str, str], Used] = {}
    for row in rows:
        found = Used(
            row.principal_id, row.principal_arn, row.action, row.resource, _aware(row.last_at), row.region
        )
        key = (found.principal_id, found.action, found.resource)
        if key not in latest or found.last_at > latest[key].last_at:
            latest[key] = found
    return list(latest.values())


def delete_before(conn: Connection, cutoff: datetime) -> int:
    """Remove the day rows before the day of `cutoff`; their count."""
    found = conn.execute(delete(trail_access).where(trail_access.c.day < cutoff.strftime("%Y-%m-%d")))
    return int(found.rowcount or 0)


# -- jobs --------------------------------------------------------------------------------------


def insert_job(conn: Connection, **values: Any) -> None:
    """Store a new job (job_id, account_id, kind, arn, status, created_at, completed_at, report...)."""
    conn.execute(activity_jobs.insert().values(**values))


def job(conn: Connection, account_id: str, kind: str, job_id: str) -> Row[Any] | None:
    """One of the account's jobs of `kind`, or None (another account's job is none of its business)."""
    j = activity_jobs.c
    return conn.execute(
        select(activity_jobs).where(j.job_id == job_id, j.account_id == account_id, j.kind == kind)
    ).first()


def job_by_token(conn: Connection, account_id: str, kind: str, client_token: str) -> Row[Any] | None:
    """The account's job of `kind` started with this client token, if any."""
    j = activity_jobs.c
    return conn.execute(
        select(activity_jobs).where(
            j.account_id == account_id, j.kind == kind, j.client_token == client_token
        )
    ).first()


def jobs(
    conn: Connection,
    account_id: str,
    kind: str,
    arn: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Row[Any]]:
    """The account's jobs of `kind` (of one principal when `arn` is given), oldest first, after the
    (created_at, job_id) of the previous page."""
    j = activity_jobs.c
    stmt = select(activity_jobs).where(j.account_id == account_id, j.kind == kind)
    if arn is not None:
        stmt = stmt.where(j.arn == arn)
    if after is not None:
        at, job_id = after
        stmt = stmt.where(or_(j.created_at > at, and_(j.created_at == at, j.job_id > job_id)))
    return list(conn.execute(stmt.order_by(j.created_at, j.job_id).limit(limit)))


def set_status(conn: Connection, job_id: str, status: str, completed_at: datetime | None) -> None:
    """Change a job's status (a cancelled generation)."""
    conn.execute(
        update(activity_jobs)
        .where(activity_jobs.c.job_id == job_id)
        .values(status=status, completed_at=completed_at)
    )


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes (stored in UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
