"""The trail writer's CPU per event: segments of realistic call frames moved into a fresh, migrated store.

Builds the frames the request path writes for IAM GetUser (1,000 user names) or a gateway DynamoDB
GetItem (10 tables), copies them into segments as the recorder does, then times `writer.move_segments`
(records, their rows, what principals did, the inserts, the checkpoint) in this process, CPU time. The
store is opened as the writer process opens it (`writer.database`). `--batch` events a segment (one
segment of all the events by default: the cost without a transaction's fixed share), `--merge`
segments a transaction (the writer takes up to 8 waiting ones), `--pre` events stored before timing
(a store that already holds some).

    python bench/trail_writer_bench.py [--events 20000] [--kind iam|gw] [--batch N] [--merge 1] [--pre 0]
        [--url postgresql+psycopg://postgres@127.0.0.1:5432/DB]   (default: SQLite in a temporary folder)
"""

from __future__ import annotations

import argparse
import marshal
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from ostiary.trail import events, writer
from ostiary.trail.segments import Segment, frame

_IDENTITY = marshal.dumps(
    {
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLE123456789",
        "arn": "arn:aws:iam::123456789012:user/michael",
        "accountId": "123456789012",
        "accessKeyId": "AKIAEXAMPLE123456789",
        "userName": "michael",
    }
)
_AGENT = "Boto3/1.35 md/Botocore#1.35 ua/2.0 os/linux"


def call(kind: str, i: int) -> tuple[Any, ...]:
    """The frame of the i-th call: GetUser of one of 1,000 users, or GetItem on one of 10 tables."""
    if kind == "iam":
        params: dict[str, Any] = {"UserName": f"user{i % 1000}"}
        return events.call(
            _IDENTITY, "123456789012", "iam", "GetUser", params, str(uuid.uuid4()), time.time(), "127.0.0.1",
            _AGENT, "us-east-1",
        )  # fmt: skip
    arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/t{i % 10}"
    params = {"tableName": f"t{i % 10}", "key": {"pk": {"S": "x"}}}
    return events.call(
        _IDENTITY, "123456789012", "dynamodb", "GetItem", params, str(uuid.uuid4()), time.time(), "127.0.0.1",
        _AGENT, "us-east-1", resources=[(arn, "123456789012", "AWS::DynamoDB::Table")],
    )  # fmt: skip


def segment(folder: Path, kind: str, count: int) -> Path:
    """A closed segment of `count` calls."""
    path = folder / f"segment-{time.monotonic_ns()}"
    frames = [frame(call(kind, i)) for i in range(count)]
    size = max(1 << 16, -(-sum(map(len, frames)) // 4096) * 4096)
    seg = Segment(path, size)
    for data in frames:
        seg.append(data)
    seg.close()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--kind", choices=("iam", "gw"), default="iam")
    parser.add_argument("--batch", type=int, default=0, help="events a segment (0: all in one)")
    parser.add_argument("--merge", type=int, default=1, help="segments a transaction")
    parser.add_argument("--pre", type=int, default=0, help="events stored before the timing")
    parser.add_argument("--url", default=None, help="the store (default: a new SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = writer.database(args.url or f"sqlite:///{folder / 'ostiary.db'}")
        db.migrate()
        writer.move_segment(db, segment(folder, args.kind, 2000))  # warm: the catalogues, the statements
        for start in range(0, args.pre, 20_000):
            writer.move_segment(db, segment(folder, args.kind, min(20_000, args.pre - start)))
        batch = args.batch or args.events
        paths = [segment(folder, args.kind, batch) for _ in range(args.events // batch)]
        started = time.process_time()
        for i in range(0, len(paths), args.merge):
            writer.move_segments(db, paths[i : i + args.merge])
        spent = time.process_time() - started
        db.dispose()
    count = len(paths) * batch
    print(
        f"{args.kind}: {spent / count * 1e6:.1f} µs CPU an event ({count} events, {batch} a segment, "
        f"{args.merge} segments a transaction, {args.pre} stored before)"
    )


if __name__ == "__main__":
    main()
