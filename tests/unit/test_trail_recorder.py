"""The recorder over a real SQLite store: written down at once, in the store after a flush, replayed
from a dead process's segments, each event once; and LookupEvents' parameter checks."""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from ostiary.auth.caller import root_caller
from ostiary.errors import AwsError
from ostiary.store.db import Database
from ostiary.trail import events, lookup, recorder
from ostiary.trail.identity import user_identity
from ostiary.trail.segments import frame, read_frames

ACCOUNT = "111122223333"


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'ostiary.db'}")
    database.migrate()
    return database


_REQUESTS = itertools.count()


def _call(
    name: str = "CreateUser", user: str = "alice", when: float | None = None, **more: Any
) -> tuple[Any, ...]:
    identity = user_identity(root_caller(ACCOUNT, "AKIAROOT"))
    request_id = f"req-{next(_REQUESTS)}"
    moment = time.time() if when is None else when
    return events.call(
        identity,
        ACCOUNT,
        "iam",
        name,
        {"UserName": user},
        request_id,
        moment,
        "127.0.0.1",
        "test",
        "us-east-1",
        **more,
    )


@pytest.mark.parametrize("separate_writer", [False, True], ids=["in-process", "writer-process"])
def test_written_down_before_flush_and_in_the_store_after(
    db: Database, tmp_path: Path, separate_writer: bool
) -> None:
    trail = recorder.Recorder(db, tmp_path / "trail", separate_writer=separate_writer)
    try:
        trail.record(_call())
        (segment,) = [s for s in (tmp_path / "trail").glob("*.seg") if s.read_bytes().strip(b"\0")]
        assert [r["eventName"] for f in read_frames(segment) for r in events.records(f)] == ["CreateUser"]
        trail.flush()
        answer = lookup.lookup_events(db, ACCOUNT, {})
        assert [e["EventName"] for e in answer["Events"]] == ["CreateUser"]
        assert lookup.lookup_events(db, "444455556666", {}) == {"Events": []}
    finally:
        trail.close()
    assert not list((tmp_path / "trail").iterdir())  # a clean stop leaves nothing behind


def test_a_dead_processs_segments_are_replayed_once(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "trail"
    folder.mkdir()
    line = frame(_call(user="from-the-dead"))
    (folder / "999-dead.lock").touch()
    torn = frame(_call(user="never-answered"))[:-9]  # a copy cut short by kill -9
    (folder / "999-dead.1.seg").write_bytes(line + line + torn + bytes(64))  # one repeated, then cut
    live = folder / "998-live.lock"
    held = os.open(live, os.O_WRONLY | os.O_CREAT)
    fcntl.flock(held, fcntl.LOCK_EX)
    (folder / "998-live.1.seg").write_bytes(frame(_call(user="alive")))
    trail = recorder.Recorder(db, folder)
    try:
        found = lookup.lookup_events(db, ACCOUNT, {})["Events"]
        assert [json.loads(e["CloudTrailEvent"])["requestParameters"]["userName"] for e in found] == [
            "from-the-dead"
        ]
        assert not (folder / "999-dead.1.seg").exists()
        assert (folder / "998-live.1.seg").exists()  # a live process moves its own events
        assert trail.replay() == 0
    finally:
        trail.close()
        os.close(held)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"MaxResults": 0}, "InvalidMaxResultsException"),
        ({"MaxResults": True}, "InvalidMaxResultsException"),
        ({"LookupAttributes": "Username"}, "InvalidLookupAttributesException"),
        (
            {"LookupAttributes": [{"AttributeKey": "ReadOnly", "AttributeValue": "maybe"}]},
            "InvalidLookupAttributesException",
        ),
        ({"StartTime": 20, "EndTime": 10}, "InvalidTimeRangeException"),
        ({"StartTime": "yesterday"}, "InvalidTimeRangeException"),
        ({"EventCategory": "management"}, "InvalidEventCategoryException"),
        ({"NextToken": "e30="}, "InvalidNextTokenException"),
    ],
)
def test_bad_lookup_parameters_get_cloudtrails_exceptions(params: dict[str, object], code: str) -> None:
    with pytest.raises(AwsError) as exc:
        lookup.parse(params)
    assert exc.value.code == code and exc.value.status == 400


def test_retention_removes_only_older_events(db: Database, tmp_path: Path) -> None:
    trail = recorder.Recorder(db, tmp_path / "trail", retention_days=90)
    try:
        trail.record(_call(user="old", when=1577836800.0))  # 2020-01-01
        trail.record(_call(user="new"))
        trail.flush()
        assert len(lookup.lookup_events(db, ACCOUNT, {})["Events"]) == 2
        assert trail.remove_expired() == 1  # what the background thread does once an hour
        found = lookup.lookup_events(db, ACCOUNT, {})["Events"]
        assert [json.loads(e["CloudTrailEvent"])["requestParameters"]["userName"] for e in found] == ["new"]
        old_name = [{"AttributeKey": "ResourceName", "AttributeValue": "old"}]
        assert lookup.lookup_events(db, ACCOUNT, {"LookupAttributes": old_name}) == {"Events": []}
    finally:
        trail.close()


def test_events_handed_to_a_writer_that_died_are_moved_in_process(db: Database, tmp_path: Path) -> None:
    trail = recorder.Recorder(db, tmp_path / "trail", separate_writer=True)
    try:
        assert trail._writer is not None  # noqa: SLF001 - the writer process, killed below
        trail._writer._process.kill()  # noqa: SLF001
        trail._writer._process.wait()  # noqa: SLF001
        trail.record(_call(user="after-the-writer"))
        trail.flush()
        found = lookup.lookup_events(db, ACCOUNT, {})["Events"]
        assert [json.loads(e["CloudTrailEvent"])["requestParameters"]["userName"] for e in found] == [
            "after-the-writer"
        ]
        assert not list((tmp_path / "trail").glob("*.1.seg"))
    finally:
        trail.close()
