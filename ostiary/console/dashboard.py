"""The IAM dashboard: the account's resources and AWS's security recommendations (root MFA, users
without MFA, access keys older than 90 days, credentials unused for 90 days), from GetAccountSummary
and the credential report, read as the person (a section they may not read shows AWS's refusal)."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from starlette.responses import Response

from ostiary.console.pages import Visit, page
from ostiary.errors import AwsError, CredentialReportExpiredException, CredentialReportNotPresentException

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
    # both at once: each is read off the event loop, and each grows with the account
    answers = await asyncio.gather(
        visit.call("GetAccountSummary"), _recommendations(visit), return_exceptions=True
    )
    problems = [a for a in answers if isinstance(a, AwsError)]
    for answer in answers:
        if isinstance(answer, BaseException) and not isinstance(answer, AwsError):
            raise answer
    summary = answers[0]["SummaryMap"] if isinstance(answers[0], dict) else None
    advice = answers[1] if isinstance(answers[1], Recommendations) else None
    if advice is not None and summary is not None:
        advice.is_root_mfa_missing = not summary.get("AccountMFAEnabled")
    return visit.render(
        "dashboard.html",
        summary=summary,
        advice=advice,
        problems=problems,
        changed=visit.request.query_params.get("changed") == "1",
    )


async def _recommendations(visit: Visit) -> Recommendations:
    try:  # the report of the last four hours, else a new one (AWS's console does the same)
        answer = await visit.call("GetCredentialReport")
    except (CredentialReportNotPresentException, CredentialReportExpiredException):
        await visit.call("GenerateCredentialReport")
        answer = await visit.call("GetCredentialReport")
    # a report never changes once made: its advice is worked out once (it was read as the person)
    key = (visit.principal.session.account_id, str(answer["GeneratedTime"]), datetime.now(UTC).date())
    found = _advised.get(key)
    if found is None:
        report = answer["Content"]
        text = (report if isinstance(report, bytes) else base64.b64decode(report)).decode()
        lines = csv.reader(io.StringIO(text))
        header = next(lines, [])
        found = advise([dict(zip(header, line, strict=False)) for line in lines], datetime.now(UTC))
        if len(_advised) >= _ADVISED_MAX:
            _advised.clear()
        _advised[key] = found
    return replace(found)


_ADVISED_MAX = 64
_advised: dict[tuple[str, str, date], Recommendations] = {}


def advise(rows: list[dict[str, str]], now: datetime) -> Recommendations:
    """AWS's recommendations from the credential report's rows.

    The report's times are ISO 8601 in UTC, all of one width, so they compare as text (parsing each of
    an account's tens of thousands would take longer than the page may)."""
    found = Recommendations()
    stale = (now - timedelta(days=STALE_DAYS)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    for row in rows:
        name = row["user"]
        if name == "<root_account>":
            found.is_root_mfa_missing = row.get("mfa_active") != "true"
            continue
        if row.get("password_enabled") == "true" and row.get("mfa_active") != "true":
            found.without_mfa.append(name)
        for n in ("1", "2"):
            if row.get(f"access_key_{n}_active") == "true" and _before(
                row.get(f"access_key_{n}_last_rotated"), stale
            ):
                found.old_keys.append(name)
                break
        if _is_unused(row, stale):
            found.unused.append(name)
    return found


def _is_unused(row: dict[str, str], stale: str) -> bool:
    """A credential (password or active key) not used since `stale`, though older than that."""
    created = row.get("user_creation_time")
    if not _before(created, stale):
        return False
    uses = [row.get("password_last_used")] if row.get("password_enabled") == "true" else []
    uses += [
        row.get(f"access_key_{n}_last_used_date")
        for n in ("1", "2")
        if row.get(f"access_key_{n}_active") == "true"
    ]
    return any(_before(used, stale) or not _is_time(used) for used in uses)


def _is_time(text: str | None) -> bool:
    return text is not None and text[:1].isdigit()


def _before(text: str | None, cutoff: str) -> bool:
    """Whether a report time is earlier than `cutoff` (False for N/A, no_information...)."""
    return text is not None and text[:1].isdigit() and text[:19] < cutoff
