"""The credential report: AWS's CSV of the root's and every user's password, MFA, access keys and
signing certificates, generated at most once every four hours per account.

A report is made whole inside the GenerateCredentialReport call that starts it (one transaction,
with the account row locked so that concurrent calls make one report), so the next call finds it
COMPLETE and GetCredentialReport never meets one in progress. A report older than four hours has
expired: GetCredentialReport refuses it and GenerateCredentialReport makes a new one, as AWS's guide
describes ("Getting credential reports for your AWS account").
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from ostiary.errors import CredentialReportExpiredException, CredentialReportNotPresentException
from ostiary.services import Context, operation
from ostiary.store import accounts
from ostiary.store import credential_reports as store
from ostiary.store.users import utc

COLUMNS = (
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
)
ROOT_USER = "<root_account>"
LIFETIME = timedelta(hours=4)
REPORT_FORMAT = "text/csv"
_NOT_APPLICABLE = "N/A"
_NO_INFORMATION = "no_information"
_NOT_SUPPORTED = "not_supported"
_FIRST_REPORT = "No report exists. Starting a new report generation task"


@operation("GenerateCredentialReport")
def generate_credential_report(ctx: Context) -> dict[str, Any]:
    """Make the account's report unless one younger than four hours exists (then it is COMPLETE)."""
    with ctx.db.transaction() as conn:
        account = accounts.get(conn, ctx.account_id, lock=True)
        assert account is not None  # a signed caller's account exists
        previous = store.latest(conn, ctx.account_id)
        if previous is not None and not has_expired(previous.generated_at, ctx.now):
            return {"State": "COMPLETE"}
        generated_at = ctx.now.astimezone(UTC).replace(microsecond=0)
        store.replace(conn, ctx.account_id, render(store.credentials(conn, account)), generated_at)
    if previous is None:
        return {"State": "STARTED", "Description": _FIRST_REPORT}
    return {"State": "STARTED"}


@operation("GetCredentialReport")
def get_credential_report(ctx: Context) -> dict[str, Any]:
    """The account's latest report, base64 on the wire; AWS's ReportNotPresent or ReportExpired.

    AWS sends these two errors without a message.
    """
    with ctx.db.read() as conn:
        report = store.latest(conn, ctx.account_id)
    if report is None:
        raise CredentialReportNotPresentException()
    if has_expired(report.generated_at, ctx.now):
        raise CredentialReportExpiredException()
    return {
        "Content": bytes(report.content),
        "ReportFormat": REPORT_FORMAT,
        "GeneratedTime": utc(report.generated_at),
    }


def has_expired(generated_at: datetime, now: datetime) -> bool:
    """Whether a report made at `generated_at` is older than the four hours a report serves."""
    made = utc(generated_at)
    assert made is not None  # the column is NOT NULL
    return now - made > LIFETIME


def render(facts: store.AccountCredentials) -> bytes:
    """The report's CSV: the header, the root's row, then one row per user in name order.

    Quoting follows RFC 4180, so a comma, quote or line break in a name or path stays in its field.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(COLUMNS)
    writer.writerow(_root_row(facts))
    max_age = facts.password_policy.get("MaxPasswordAge")
    for owner in facts.users:
        writer.writerow(_user_row(owner, max_age))
    return out.getvalue().removesuffix("\n").encode()


def _root_row(facts: store.AccountCredentials) -> list[str]:
    """The root's row: its password columns are `not_supported`, its keys and certificates its own."""
    account_id = facts.account.account_id
    return [
        ROOT_USER,
        f"arn:aws:iam::{account_id}:root",
        _iso(facts.account.created_at),
        _NOT_SUPPORTED,
        _NO_INFORMATION,  # the root has no console password here: it was never used
        _NOT_SUPPORTED,
        _NOT_SUPPORTED,
        _flag(False),  # MFA devices are assigned to users only
        *_key_columns(facts.root.keys),
        *_certificate_columns(facts.root.certificates),
    ]


def _user_row(owner: store.Owner, max_age: Any) -> list[str]:
    user = owner.user
    assert user is not None  # user rows have their user
    return [
        user.name,
        f"arn:aws:iam::{user.account_id}:user{user.path}{user.name}",
        _iso(user.created_at),
        *_password_columns(user, owner.profile, max_age),
        _flag(owner.has_mfa),
        *_key_columns(owner.keys),
        *_certificate_columns(owner.certificates),
    ]


def _password_columns(user: Any, profile: Any, max_age: Any) -> list[str]:
    """password_enabled, _last_used, _last_changed and _next_rotation (N/A without a password)."""
    if profile is None:
        return [_flag(False), _NOT_APPLICABLE, _NOT_APPLICABLE, _NOT_APPLICABLE]
    changed = utc(profile.password_changed_at)
    assert changed is not None  # the column is NOT NULL
    used = user.password_last_used_at
    rotation = _iso(changed + timedelta(days=int(max_age))) if max_age else _NOT_APPLICABLE
    return [_flag(True), _iso(used) if used is not None else _NO_INFORMATION, _iso(changed), rotation]


def _key_columns(keys: list[Any]) -> list[str]:
    """The five columns of each of the first two access keys (oldest first).

    An inactive key keeps its dates: AWS's reports show `false` beside the key's last_rotated.
    """
    columns: list[str] = []
    for key in (keys + [None, None])[:2]:
        if key is None:
            columns += [_flag(False), *[_NOT_APPLICABLE] * 4]
            continue
        columns += [
            _flag(key.status == "Active"),
            _iso(key.created_at),
            _iso(key.last_used_at) if key.last_used_at is not None else _NOT_APPLICABLE,
            key.last_used_region or _NOT_APPLICABLE,
            key.last_used_service or _NOT_APPLICABLE,
        ]
    return columns


def _certificate_columns(certificates: list[Any]) -> list[str]:
    """cert_N_active and cert_N_last_rotated of the first two signing certificates (oldest first),
    dated like keys whatever their status."""
    columns: list[str] = []
    for cert in (certificates + [None, None])[:2]:
        if cert is None:
            columns += [_flag(False), _NOT_APPLICABLE]
        else:
            columns += [_flag(cert.status == "Active"), _iso(cert.uploaded_at)]
    return columns


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _iso(value: datetime) -> str:
    """A stored time as the report writes it: ISO 8601 to the second, `+00:00`."""
    aware = utc(value)
    assert aware is not None
    return aware.astimezone(UTC).replace(microsecond=0).isoformat()
