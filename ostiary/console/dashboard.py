"""The IAM dashboard: the account's resources and AWS's security recommendations (root MFA, users
without MFA, access keys older than 90 days, credentials unused for 90 days), from GetAccountSummary
and the credential report, read as the person (a section they may not read shows AWS's refusal)."""

from __future__ import annotations

import base64
import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.responses import Response

from ostiary.console.pages import Visit, page
from ostiary.errors import AwsError

STALE_DAYS = 90


@dataclass
class Recommendations:
    """What the dashboard advises, each a list of user names (root's MFA a flag)."""

    is_root_mfa_missing: bool = False
    without_mfa: list[str] = field(default_factory=list)
    old_keys: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)


@page
async def home(visit: Visit) -> Response:
    summary: dict[str, Any] | None = None
    problems: list[AwsError] = []
    try:
        summary = (await visit.call("GetAccountSummary"))["SummaryMap"]
    except AwsError as exc:
        problems.append(exc)
    advice = None
    try:
        advice = await _recommendations(visit, summary)
    except AwsError as exc:
        problems.append(exc)
    return visit.render(
        "dashboard.html",
        summary=summary,
        advice=advice,
        problems=problems,
        changed=visit.request.query_params.get("changed") == "1",
    )


async def _recommendations(visit: Visit, summary: dict[str, Any] | None) -> Recommendations:
    await visit.call("GenerateCredentialReport")
    report = (await visit.call("GetCredentialReport"))["Content"]
    text = (report if isinstance(report, bytes) else base64.b64decode(report)).decode()
    return advise(list(csv.DictReader(io.StringIO(text))), summary, datetime.now(UTC))


def advise(rows: list[dict[str, str]], summary: dict[str, Any] | None, now: datetime) -> Recommendations:
    """AWS's recommendations from the credential report's rows."""
    found = Recommendations()
    stale = now - timedelta(days=STALE_DAYS)
    for row in rows:
        name = row["user"]
        if name == "<root_account>":
            found.is_root_mfa_missing = row.get("mfa_active") != "true"
            continue
        if row.get("password_enabled") == "true" and row.get("mfa_active") != "true":
            found.without_mfa.append(name)
        for n in ("1", "2"):
            rotated = _time(row.get(f"access_key_{n}_last_rotated"))
            if row.get(f"access_key_{n}_active") == "true" and rotated is not None and rotated < stale:
                found.old_keys.append(name)
                break
        if _is_unused(row, stale):
            found.unused.append(name)
    if summary is not None:
        found.is_root_mfa_missing = not summary.get("AccountMFAEnabled")
    return found


def _is_unused(row: dict[str, str], stale: datetime) -> bool:
    """A credential (password or active key) not used since `stale`, though older than that."""
    created = _time(row.get("user_creation_time"))
    if created is None or created >= stale:
        return False
    uses = [row.get("password_last_used")] if row.get("password_enabled") == "true" else []
    uses += [
        row.get(f"access_key_{n}_last_used_date")
        for n in ("1", "2")
        if row.get(f"access_key_{n}_active") == "true"
    ]
    return any((_time(u) or created) < stale for u in uses)


def _time(text: str | None) -> datetime | None:
    if not text or text in ("N/A", "no_information", "not_supported"):
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
