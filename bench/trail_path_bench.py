"""What the audit trail costs on the request path: the trail's hooks timed in one thread, no server.

A gateway DynamoDB GetItem (`calls.decided` around an authorizer that allows at once, with the trail on
and off: the difference is the trail's share), a PutItem (its item's values left out by its redaction
plan, `trail.plans`) and IAM calls (`Trail.begin` and `Trail.answered` for
GetUser and CreateUser, the trail on), each in bursts of 500 calls with a pause between (about the
rate of a busy server, so that the recorder's thread swaps and makes segments as it does in one), each
call with a request id of its own. The figure is the thread's CPU time per call (`time.thread_time`):
the building of what is written, the marshal, the copy into the segment and the lock, all included;
the median of `--rounds` runs of `--calls` calls, and the page faults the thread took in the last run.
The recorder's writer process runs as in the server.

    PYTHONPATH=. python bench/trail_path_bench.py [--calls 10000] [--rounds 8]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ostiary.auth.caller import user_caller
from ostiary.gateway.operations import Operation
from ostiary.protocol import ApiCall, HttpRequest
from ostiary.store.db import Database
from ostiary.trail import calls, recorder

ACCOUNT = "111122223333"
BURST = 500
CALLER = user_caller(ACCOUNT, "AIDAEXAMPLE", "bench", "/", "AKIAEXAMPLE")
HEADERS = (
    ("host", "127.0.0.1:8000"),
    ("x-amz-date", "20261204T160000Z"),
    ("content-type", "application/x-amz-json-1.0"),
    ("authorization", "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261204/us-east-1/dynamodb/aws4_request"),
    ("user-agent", "Boto3/1.35.0 md/Botocore#1.35.0 ua/2.0 os/linux#6 md/arch#x86_64 lang/python#3.11"),
)
REQUEST = HttpRequest("POST", "/", "", HEADERS, b"", "127.0.0.1")


class Allowing:
    """An authorizer that allows every request at once: what is left of `decided` is the trail's."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.settings = SimpleNamespace(account_id=ACCOUNT)
        self.lookups = SimpleNamespace(resolve_alias=lambda region, alias: None)

    def authorize(self, *args: Any) -> None:
        return None


def timed(call: Callable[[str], None], count: int, prefix: str) -> tuple[float, int]:
    """Thread CPU µs per call over `count` calls in bursts, and the page faults the thread took."""
    faults = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    total = 0
    for start in range(0, count, BURST):
        ids = [f"{prefix}-{start + i:08d}" for i in range(BURST)]
        began = time.thread_time_ns()
        for request_id in ids:
            call(request_id)
        total += time.thread_time_ns() - began
        time.sleep(0.01)
    return total / count / 1000, resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - faults


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000, help="calls in one run")
    parser.add_argument("--rounds", type=int, default=8, help="runs of each case")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        on_db, off_db = (Database(f"sqlite:///{folder / name}") for name in ("on.db", "off.db"))
        on_db.migrate()
        off_db.migrate()
        trail = recorder.Recorder(on_db, folder / "trail", separate_writer=True)
        hooks = calls.Trail(SimpleNamespace(), on_db, None, trail)  # type: ignore[arg-type]
        operation = Operation("dynamodb", "GetItem", {"TableName": "bench", "Key": {"id": {"S": "item-1"}}})
        put_item = Operation(  # an operation with a plan: its item's values out, its names kept
            "dynamodb",
            "PutItem",
            {
                "TableName": "bench",
                "Item": {"id": {"S": "item-1"}, "card": {"S": "4111"}},
                "ReturnValues": "NONE",
            },
        )
        now = datetime.now(UTC)

        def gateway(authorizer: Allowing, operation: Operation = operation) -> Callable[[str], None]:
            def one(request_id: str) -> None:
                calls.decided(authorizer, REQUEST, CALLER, operation, "us-east-1", request_id, now)  # type: ignore[arg-type]

            return one

        def iam(name: str, params: dict[str, Any], result: dict[str, Any]) -> Callable[[str], None]:
            call = ApiCall("iam", name, params)

            def one(request_id: str) -> None:
                ctx = SimpleNamespace(
                    request_id=request_id, caller=CALLER, now=now, region="us-east-1", settings=None
                )
                hooks.begin(ctx, call, REQUEST)  # type: ignore[arg-type]
                hooks.answered(request_id, result)

            return one

        user = {"UserName": "bench-1", "UserId": "AIDA1", "Arn": f"arn:aws:iam::{ACCOUNT}:user/bench-1"}
        cases = {
            "gateway GetItem, trail on": gateway(Allowing(on_db)),
            "gateway GetItem, trail off": gateway(Allowing(off_db)),
            "gateway PutItem, trail on": gateway(Allowing(on_db), put_item),
            "IAM GetUser": iam("GetUser", {"UserName": "bench-1"}, {"User": dict(user, CreateDate=now)}),
            "IAM CreateUser": iam(
                "CreateUser", {"UserName": "bench-1"}, {"User": dict(user, CreateDate=now)}
            ),
        }
        runs: dict[str, list[float]] = {name: [] for name in cases}
        faults: dict[str, int] = {}
        try:
            for round_ in range(args.rounds):
                for name, case in cases.items():
                    cost, faults[name] = timed(case, args.calls, f"{round_}-{name}")
                    runs[name].append(cost)
        finally:
            trail.close()
    print(f"thread CPU per call, median of {args.rounds} runs of {args.calls} calls")
    for name, costs in runs.items():
        print(
            f"{name:<30}{statistics.median(costs):>8.2f} µs   (page faults in the last run: {faults[name]})"
        )
    share = statistics.median(runs["gateway GetItem, trail on"]) - statistics.median(
        runs["gateway GetItem, trail off"]
    )
    print(f"{'the trail in a gateway call':<30}{share:>8.2f} µs")


if __name__ == "__main__":
    main()
