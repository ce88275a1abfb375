"""CloudTrail's LookupEvents over the trail: one lookup attribute, a time range, pages of at most 50
events, newest first, of the caller's own account only.

The parameters are checked as CloudTrail checks them (one attribute, of the eight keys; a start before
the end; 1 to 50 results; a token from the same query), each refusal CloudTrail's exception. The
NextToken names the last event returned and a digest of the account and the query; it grants nothing
(the account always comes from the caller), and another account's token is refused as CloudTrail
refuses a token of another query.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from ostiary.errors import AwsError
from ostiary.store import trail_events, trail_store
from ostiary.store.db import Database
from ostiary.trail import events

MAX_RESULTS = 50
# LookupEvents' attribute keys, with the column each compares.
ATTRIBUTES = {
    "EventId": "event_id",
    "EventName": "event_name",
    "ReadOnly": "read_only",
    "Username": "username",
    "ResourceType": "resource_type",
    "ResourceName": "resource_name",
    "EventSource": "event_source",
    "AccessKeyId": "access_key_id",
}


class _Invalid(AwsError):
    status, sender_fault = 400, True


class InvalidLookupAttributesException(_Invalid):
    code = "InvalidLookupAttributesException"


class InvalidTimeRangeException(_Invalid):
    code = "InvalidTimeRangeException"


class InvalidMaxResultsException(_Invalid):
    code = "InvalidMaxResultsException"


class InvalidNextTokenException(_Invalid):
    code = "InvalidNextTokenException"


class InvalidEventCategoryException(_Invalid):
    code = "InvalidEventCategoryException"


@dataclass(frozen=True)
class Query:
    """A checked LookupEvents request."""

    filters: tuple[trail_events.Filter, ...]
    start: datetime | None
    end: datetime | None
    limit: int
    after: tuple[datetime, str] | None
    digest: str
    insights: bool = False


def parse(params: dict[str, Any], account_id: str = "") -> Query:
    """The query a LookupEvents body asks for, or CloudTrail's exception for what is wrong with it. Its
    NextToken must be one issued to the same account for the same query."""
    filters = _filters(params.get("LookupAttributes"))
    start, end = _time(params.get("StartTime"), "StartTime"), _time(params.get("EndTime"), "EndTime")
    if start is not None and end is not None and start > end:
        raise InvalidTimeRangeException("Start time must be before end time.")
    limit = params.get("MaxResults", MAX_RESULTS)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_RESULTS:
        raise InvalidMaxResultsException(f"MaxResults must be between 1 and {MAX_RESULTS}.")
    category = params.get("EventCategory")
    if category is not None and category != "insight":
        raise InvalidEventCategoryException(f"Event category `{category}` is not valid: only insight is.")
    digest = _digest(account_id, filters, start, end, category)
    after = _position(params.get("NextToken"), digest)
    return Query(filters, start, end, limit, after, digest, insights=category == "insight")


def lookup_events(db: Database, account_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """LookupEvents' answer (Events, NextToken) over `account_id`'s events."""
    query = parse(params, account_id)
    if query.insights:  # no Insights events are recorded
        return {"Events": []}
    with trail_store.of(db).read() as conn:
        rows = trail_events.page(
            conn, account_id, query.filters, query.start, query.end, query.after, query.limit + 1
        )
        more = len(rows) > query.limit
        rows = rows[: query.limit]
    answer: dict[str, Any] = {"Events": [_event(row) for row in rows]}
    if more:
        last = rows[-1]
        answer["NextToken"] = _token(_aware(last.event_time), last.event_id, query.digest)
    return answer


def _filters(attributes: Any) -> tuple[trail_events.Filter, ...]:
    if attributes is None:
        return ()
    if not isinstance(attributes, list):
        raise InvalidLookupAttributesException("LookupAttributes must be a list.")
    if len(attributes) > 1:
        raise InvalidLookupAttributesException("You can specify only one lookup attribute.")
    found = []
    for attribute in attributes:
        key = attribute.get("AttributeKey") if isinstance(attribute, dict) else None
        value = attribute.get("AttributeValue") if isinstance(attribute, dict) else None
        if key not in ATTRIBUTES:
            raise InvalidLookupAttributesException(f"Lookup attribute key `{key}` is not valid.")
        if not isinstance(value, str) or not 1 <= len(value) <= 2000:
            raise InvalidLookupAttributesException("Lookup attribute value must be 1 to 2000 characters.")
        column = ATTRIBUTES[key]
        if column == "read_only":
            if value.lower() not in ("true", "false"):
                raise InvalidLookupAttributesException("ReadOnly must be true or false.")
            found.append(trail_events.Filter(column, value.lower() == "true"))
        else:
            found.append(trail_events.Filter(column, value))
    return tuple(found)


def _time(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str):
            return _aware(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except (ValueError, OverflowError, OSError):
        pass
    raise InvalidTimeRangeException(f"{name} is not a valid time.")


def _digest(
    account_id: str,
    filters: tuple[trail_events.Filter, ...],
    start: datetime | None,
    end: datetime | None,
    category: Any,
) -> str:
    text = json.dumps(
        [
            account_id,
            [(f.column, f.value) for f in filters],
            start and start.isoformat(),
            end and end.isoformat(),
            category,
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _token(at: datetime, event_id: str, digest: str) -> str:
    raw = json.dumps({"t": at.timestamp(), "e": event_id, "q": digest}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _position(token: Any, digest: str) -> tuple[datetime, str] | None:
    if token is None:
        return None
    try:
        if not isinstance(token, str) or len(token) > 1024:
            raise ValueError
        found = json.loads(base64.urlsafe_b64decode(token.encode()))
        at, event_id, seen = found["t"], found["e"], found["q"]
        if seen != digest or not isinstance(event_id, str) or not isinstance(at, int | float):
            raise ValueError
        return datetime.fromtimestamp(at, UTC), event_id
    except (ValueError, TypeError, KeyError, binascii.Error, OverflowError, OSError, RecursionError) as exc:
        raise InvalidNextTokenException("The NextToken is not valid for this query.") from exc


def _event(row: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "EventId": row.event_id,
        "EventName": row.event_name,
        "ReadOnly": "true" if row.read_only else "false",
        "EventTime": _aware(row.event_time).timestamp(),
        "EventSource": row.event_source,
    }
    if row.access_key_id:
        event["AccessKeyId"] = row.access_key_id
    if row.username:
        event["Username"] = row.username
    resources = _resources(row.record)
    event["Resources"] = [{"ResourceType": kind, "ResourceName": name} for kind, name in resources]
    event["CloudTrailEvent"] = row.record
    return event


def _resources(record: str) -> list[tuple[str, str]]:
    """The resources (type, name) an event names, read from its record as the writer read them."""
    try:
        found = orjson.loads(record)
    except ValueError:  # orjson.JSONDecodeError is one
        return []
    return events.lookup_resources(found) if isinstance(found, dict) else []


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes (stored in UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
