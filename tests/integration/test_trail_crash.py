"""No answered call loses its event: kill -9 during a burst of writes, start again over the same
folder and database, and every CreateUser that got a 200 is in the trail (replayed from the killed
process's write-ahead segments)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from tests.conftest import Server, start_server, stop_server


def _created_names(server: Server) -> set[str]:
    """The user names of every CreateUser event in the account's trail."""
    cloudtrail = server.client("cloudtrail")
    kwargs: dict[str, Any] = {
        "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "CreateUser"}]
    }
    names: set[str] = set()
    while True:
        page = cloudtrail.lookup_events(**kwargs)
        for event in page["Events"]:
            record = json.loads(event["CloudTrailEvent"])
            if "errorCode" not in record:
                names.add(record["requestParameters"]["userName"])
        if "NextToken" not in page:
            return names
        kwargs["NextToken"] = page["NextToken"]


@pytest.mark.slow
def test_kill_9_during_a_burst_loses_no_answered_event(tmp_path: Path) -> None:
    data_dir = tmp_path / "ostiary"
    url = f"sqlite:///{data_dir / 'ostiary.db'}"
    server = start_server(data_dir, url, "sqlite")
    answered: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    prefix = uuid.uuid4().hex[:8]

    def burst(worker: int) -> None:
        iam = server.client("iam")
        n = 0
        while not stop.is_set():
            name = f"crash-{prefix}-{worker}-{n}"
            n += 1
            try:
                iam.create_user(UserName=name)
            except (BotoCoreError, ClientError):
                return  # the server is gone: this call got no answer
            with lock:
                answered.append(name)

    threads = [threading.Thread(target=burst, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(answered) < 150 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.process.kill()  # SIGKILL: no flush, no atexit
    server.process.wait(timeout=10)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert len(answered) >= 150
    leftover = list((data_dir / "trail").glob("*.seg"))
    assert leftover, "the killed process left its write-ahead segments"

    again = start_server(data_dir, url, "sqlite")
    try:
        recorded = _created_names(again)
        missing = sorted(set(answered) - recorded)
        assert not missing, f"{len(missing)} answered calls have no event: {missing[:5]}"
        assert not list((data_dir / "trail").glob(f"{server.process.pid}-*.seg"))  # replayed and gone
    finally:
        stop_server(again)
