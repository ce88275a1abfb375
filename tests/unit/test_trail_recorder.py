"""The recorder over a real SQLite store: written down at once, in the store after a flush, replayed
from a dead process's segments, each event once (also when a segment is read twice); segments made
ahead with their pages present, a frame larger than a segment, no secret in a segment; and
LookupEvents' parameter checks."""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import resource
import threading
import time
import types
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ostiary.auth.caller import root_caller, user_caller
from ostiary.errors import AwsError
from ostiary.protocol import ApiCall, HttpRequest
from ostiary.store import trail_store
from ostiary.store.db import Database
from ostiary.trail import calls, events, lookup, recorder, redaction, segments
from ostiary.trail.identity import user_identity
from ostiary.trail.segments import SEGMENT_BYTES, Segment, frame, read_frames

ACCOUNT = "111122223333"


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'ostiary.db'}")
    database.migrate()
    return database


_REQUESTS = itertools.count()


def _call(
    name: str = "CreateUser",
    user: str = "alice",
    when: float | None = None,
    params: dict[str, Any] | None = None,
    **more: Any,
) -> tuple[Any, ...]:
    identity = user_identity(root_caller(ACCOUNT, "AKIAROOT"))
    request_id = f"req-{next(_REQUESTS)}"
    moment = time.time() if when is None else when
    return events.call(
        identity,
        ACCOUNT,
        "iam",
        name,
        params if params is not None else {"UserName": user},
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


def _events(db: Database) -> list[dict[str, Any]]:
    return [json.loads(e["CloudTrailEvent"]) for e in lookup.lookup_events(db, ACCOUNT, {})["Events"]]


def test_a_segment_read_twice_inserts_each_event_once(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "trail"
    folder.mkdir()
    cross = _call(
        "AssumeRole", params={"RoleArn": "arn:aws:iam::444455556666:role/R"}, others=["444455556666"]
    )
    data = frame(_call(user="once")) + frame(cross)
    (folder / "999-dead.lock").touch()
    (folder / "999-dead.1.seg").write_bytes(data)
    trail = recorder.Recorder(db, folder)
    try:
        first = _events(db)
        assert sorted(e["eventName"] for e in first) == ["AssumeRole", "CreateUser"]
        theirs = lookup.lookup_events(db, "444455556666", {})["Events"]
        assert len(theirs) == 1
        (mine,) = [e for e in first if e["eventName"] == "AssumeRole"]
        assert mine["eventID"] == events.event_id_of(mine["requestID"], ACCOUNT)
        assert json.loads(theirs[0]["CloudTrailEvent"])["sharedEventID"] == mine["sharedEventID"]
        # the same frames again (a process killed after inserting, before deleting its segment)
        (folder / "998-dead.lock").touch()
        (folder / "998-dead.1.seg").write_bytes(data)
        assert trail.replay() == 0
        assert sorted(e["eventID"] for e in _events(db)) == sorted(e["eventID"] for e in first)
        assert len(lookup.lookup_events(db, "444455556666", {})["Events"]) == 1
    finally:
        trail.close()


def test_a_frame_larger_than_a_segment_is_written_whole(db: Database, tmp_path: Path) -> None:
    document = "x" * (SEGMENT_BYTES + 1024)
    trail = recorder.Recorder(db, tmp_path / "trail")
    try:
        trail.record(_call(user="before"))
        trail.record(_call("PutUserPolicy", params={"UserName": "big", "PolicyDocument": document}))
        trail.record(_call(user="after"))
        sizes = [p.stat().st_size for p in (tmp_path / "trail").glob("*.seg")]
        assert max(sizes) > SEGMENT_BYTES
        trail.flush()
        found = {e["requestParameters"]["userName"]: e for e in _events(db)}
        assert set(found) == {"before", "big", "after"}
        assert found["big"]["requestParameters"]["policyDocument"] == document
    finally:
        trail.close()


def test_the_next_segment_is_made_ahead_and_swapped_in(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "trail"
    trail = recorder.Recorder(db, folder)
    try:
        made = set(folder.glob("*.seg"))
        assert len(made) == 2  # the one written to and the next, made ahead
        trail.record(_call(user="first"))
        (written,) = [p for p in made if read_frames(p)]
        (ahead,) = made - {written}
        trail.flush()
        assert not written.exists() and ahead.exists()
        trail.record(_call(user="second"))
        assert [f[5]["userName"] for f in read_frames(ahead)] == ["second"]  # swapped in, not made
        assert len(set(folder.glob("*.seg")) - made) == 1  # and the next one made ahead
    finally:
        trail.close()


def test_a_new_segments_pages_are_present_before_it_is_written(tmp_path: Path) -> None:
    segment = Segment(tmp_path / "1.seg", 64 * 1024)
    data = b"x" * 4096
    try:
        before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        while segment.has_room(len(data)):
            segment.append(data)
        faults = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before
        assert faults < 4  # 16 pages written
    finally:
        segment.close(sync=False)


def test_no_secret_reaches_a_segment(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "trail"
    trail = recorder.Recorder(db, folder)
    hooks = calls.Trail(types.SimpleNamespace(), db, None, trail)  # type: ignore[arg-type]
    caller = user_caller(ACCOUNT, "AIDAX", "alice", "/", "AKIAX")
    request = HttpRequest("POST", "/", "", (("user-agent", "test"),), b"", "127.0.0.1")
    answered = [
        ("CreateLoginProfile", {"UserName": "bob", "Password": "pw-SECRET-1"}, {"LoginProfile": {}}),
        ("ChangePassword", {"OldPassword": "pw-SECRET-2", "NewPassword": "pw-SECRET-3"}, {}),
        (
            "CreateAccessKey",
            {"UserName": "bob"},
            {"AccessKey": {"AccessKeyId": "AKIA1", "SecretAccessKey": "SECRET-4"}},
        ),
        (
            "GetSessionToken",
            {},
            {
                "Credentials": {
                    "AccessKeyId": "ASIA1",
                    "SecretAccessKey": "SECRET-5",
                    "SessionToken": "SECRET-6",
                }
            },
        ),
    ]
    try:
        for n, (operation, params, result) in enumerate(answered):
            ctx = types.SimpleNamespace(
                request_id=f"r{n}", caller=caller, now=datetime.now(UTC), region="us-east-1", settings=None
            )
            hooks.begin(ctx, ApiCall("iam", operation, params), request)  # type: ignore[arg-type]
            hooks.answered(f"r{n}", result)
        written = b"".join(p.read_bytes() for p in folder.glob("*.seg"))
        assert b"AKIA1" in written  # what is no secret is there
        assert b"SECRET" not in written
        trail.flush()
        found = {e["eventName"]: e for e in _events(db)}
        assert found["CreateLoginProfile"]["requestParameters"]["password"] == redaction.HIDDEN
        assert found["CreateAccessKey"]["responseElements"] == {"accessKey": {"accessKeyId": "AKIA1"}}
        assert found["GetSessionToken"]["resources"][0]["ARN"] == "ASIA1"
    finally:
        trail.close()


def test_threads_recording_across_many_rotations_lose_nothing(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(segments, "MIN_SEGMENT_BYTES", 4096)
    monkeypatch.setattr(segments, "SEGMENT_BYTES", 16384)  # segments fill between flushes
    trail = recorder.Recorder(db, tmp_path / "trail", separate_writer=True)
    counts = {"rotations": 0}
    rotate = trail._rotate  # noqa: SLF001 - counted

    def counted(length: int) -> None:
        counts["rotations"] += 1
        rotate(length)

    monkeypatch.setattr(trail, "_rotate", counted)

    def write(thread: int) -> None:
        for n in range(1500):
            trail.record(_call(user=f"t{thread}-{n}"))

    try:
        workers = [threading.Thread(target=write, args=(t,)) for t in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        trail.flush()
        with trail_store.of(db).read() as conn:  # the trail's own file
            stored = conn.exec_driver_sql("SELECT count(*), count(DISTINCT event_id) FROM trail_events").one()
        assert tuple(stored) == (6000, 6000)
        assert counts["rotations"] > 20
    finally:
        trail.close()
