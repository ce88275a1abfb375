"""LookupEvents over a large trail on PostgreSQL: how long one page takes.

Fills a fresh database (made with the server's migrations) with `--events` synthetic events spread over
10 accounts, 1,000 user names, 50 event names and one resource each, in one INSERT ... SELECT, then times
`lookup.lookup_events` (the handler LookupEvents runs, without HTTP) for a first page and a page deep in
the trail, unfiltered and with each kind of lookup attribute. Prints the median of `--repeat` runs, ms.

    PYTHONPATH=. python bench/trail_lookup_bench.py [--events 1000000] [--pg postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

import psycopg

from ostiary.store.db import Database
from ostiary.trail import lookup

_RECORD = '{"eventVersion":"1.08","eventSource":"iam.amazonaws.com",' + '"pad":"' + "x" * 600 + '"}'


def fill(url: str, count: int) -> None:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO trail_events (event_id, account_id, event_time, event_name, event_source, read_only,
                                      username, access_key_id, record)
            SELECT md5(i::text), lpad((i %% 10)::text, 12, '0'),
                   now() - make_interval(secs => i * 0.5),
                   'Op' || (i %% 50), 'iam.amazonaws.com', i %% 3 = 0,
                   'user' || (i %% 1000), 'AKIA' || lpad((i %% 1000)::text, 16, '0'), %s
            FROM generate_series(1, %s) AS i
            """,
            (_RECORD, count),
        )
        conn.execute(
            """
            INSERT INTO trail_resources (event_id, account_id, event_time, resource_type, resource_name)
            SELECT md5(i::text), lpad((i %% 10)::text, 12, '0'), now() - make_interval(secs => i * 0.5),
                   'AWS::IAM::User', 'user' || (i %% 1000)
            FROM generate_series(1, %s) AS i
            """,
            (count,),
        )
        conn.execute("ANALYZE trail_events")
        conn.execute("ANALYZE trail_resources")


def timed(db: Database, params: dict[str, object], repeat: int) -> tuple[float, dict[str, object]]:
    runs = []
    answer: dict[str, object] = {}
    for _ in range(repeat):
        start = time.perf_counter()
        answer = lookup.lookup_events(db, "000000000003", params)
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs), answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    name = f"ostiary_trail_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = args.pg.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"
    db = Database(url)
    try:
        db.migrate()
        start = time.perf_counter()
        fill(url, args.events)
        print(f"{args.events:,} events written in {time.perf_counter() - start:.0f} s")
        cases: dict[str, dict[str, object]] = {
            "no attribute": {},
            "Username": {"LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": "user13"}]},
            "EventName": {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "Op13"}]},
            "ResourceName": {
                "LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": "user13"}]
            },
            "AccessKeyId": {
                "LookupAttributes": [
                    {"AttributeKey": "AccessKeyId", "AttributeValue": "AKIA0000000000000013"}
                ]
            },
            "ReadOnly": {"LookupAttributes": [{"AttributeKey": "ReadOnly", "AttributeValue": "true"}]},
        }
        print(f"{'lookup':<14}{'first page ms':>15}{'20th page ms':>14}")
        for label, params in cases.items():
            first, answer = timed(db, params, args.repeat)
            page = dict(params)
            for _ in range(19):
                token = answer.get("NextToken")
                if not token:
                    break
                page["NextToken"] = token
                answer = lookup.lookup_events(db, "000000000003", page)
            deep, _ = timed(db, page, args.repeat)
            print(f"{label:<14}{first:>15.1f}{deep:>14.1f}")
    finally:
        db.dispose()
        with psycopg.connect(args.pg, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
