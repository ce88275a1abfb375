"""`ostiary trail export`: the trail's records since a time, as JSON lines or in CloudTrail's own file
layout (what a trail delivers to its S3 bucket), for tools that read CloudTrail logs.

CloudTrail's layout: `AWSLogs/<account>/CloudTrail/<region>/<YYYY>/<MM>/<DD>/` holding gzipped files
named `<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz`, each `{"Records": [...]}`
of about five minutes of events.
"""

from __future__ import annotations

import gzip
import json
import os
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from ostiary.store import trail_events, trail_store
from ostiary.store.db import Database

_WINDOW_MINUTES = 5


def parse_since(text: str) -> datetime:
    """A time given as ISO 8601 (a date, or a date and time; UTC unless it says otherwise)."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def records(db: Database, since: datetime, account_id: str | None = None) -> Iterator[str]:
    """Each record's JSON from `since` on, oldest first (one account's, or every account's)."""
    with trail_store.of(db).read() as conn:
        for row in trail_events.since(conn, since, account_id):
            yield row.record


def write_files(db: Database, since: datetime, folder: Path, account_id: str | None = None) -> list[Path]:
    """Write the records in CloudTrail's layout under `folder`; the files written."""
    groups: dict[tuple[str, str, datetime], list[dict[str, Any]]] = defaultdict(list)
    for text in records(db, since, account_id):
        record = orjson.loads(text)
        at = datetime.strptime(record["eventTime"], "%Y-%m-%dT%H:%M:%SZ")
        window = at.replace(minute=at.minute - at.minute % _WINDOW_MINUTES, second=0)
        groups[(record["recipientAccountId"], record.get("awsRegion") or "us-east-1", window)].append(record)
    written = []
    for (account, region, window), found in sorted(groups.items()):
        where = folder / "AWSLogs" / account / "CloudTrail" / region / window.strftime("%Y/%m/%d")
        where.mkdir(parents=True, exist_ok=True)
        name = (
            f"{account}_CloudTrail_{region}_{window.strftime('%Y%m%dT%H%MZ')}_{os.urandom(8).hex().upper()}"
        )
        path = where / f"{name}.json.gz"
        path.write_bytes(gzip.compress(json.dumps({"Records": found}, separators=(",", ":")).encode()))
        written.append(path)
    return written
