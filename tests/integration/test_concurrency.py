"""Uniqueness and quotas under concurrent clients, on both backends."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from tests.conftest import Server

CLIENTS = 8


def _race(server: Server, call: Callable[[Any], object]) -> Counter[str]:
    """Run `call(client)` from CLIENTS threads at once, each with its own client; count the outcomes."""
    clients = [server.client("iam") for _ in range(CLIENTS)]
    start = threading.Barrier(CLIENTS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(client: Any) -> None:
        start.wait()
        try:
            call(client)
            outcome = "ok"
        except ClientError as exc:
            outcome = exc.response["Error"]["Code"]
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Counter(outcomes)


def test_eight_clients_create_the_same_user_once(server: Server, iam, unique: str) -> None:
    name = f"race-{unique}"
    outcomes = _race(server, lambda c: c.create_user(UserName=name, Path=f"/race-{unique}/"))
    assert outcomes == Counter({"ok": 1, "EntityAlreadyExists": CLIENTS - 1})
    listed = iam.list_users(PathPrefix=f"/race-{unique}/")["Users"]
    assert [u["UserName"] for u in listed] == [name]


def test_eight_clients_create_the_same_group_once(server: Server, iam, unique: str) -> None:
    name = f"grace-{unique}"
    outcomes = _race(server, lambda c: c.create_group(GroupName=name, Path=f"/grace-{unique}/"))
    assert outcomes == Counter({"ok": 1, "EntityAlreadyExists": CLIENTS - 1})
    assert len(iam.list_groups(PathPrefix=f"/grace-{unique}/")["Groups"]) == 1


def test_concurrent_access_keys_respect_the_quota(server: Server, iam, unique: str) -> None:
    name = f"keys-{unique}"
    iam.create_user(UserName=name)
    outcomes = _race(server, lambda c: c.create_access_key(UserName=name))
    assert outcomes == Counter({"ok": 2, "LimitExceeded": CLIENTS - 2})
    assert len(iam.list_access_keys(UserName=name)["AccessKeyMetadata"]) == 2


def test_concurrent_group_joins_respect_the_quota(server: Server, iam, unique: str) -> None:
    name = f"joins-{unique}"
    iam.create_user(UserName=name)
    groups = [f"j{i}-{unique}" for i in range(12)]
    for group in groups[:8]:
        iam.create_group(GroupName=group)
        iam.add_user_to_group(GroupName=group, UserName=name)
    extra = groups[8:] * 2  # 8 calls over 4 more groups: only 2 more fit
    for group in groups[8:]:
        iam.create_group(GroupName=group)
    pending = iter(extra)
    lock = threading.Lock()

    def join(client: Any) -> None:
        with lock:
            group = next(pending)
        client.add_user_to_group(GroupName=group, UserName=name)

    outcomes = _race(server, join)
    assert outcomes["LimitExceeded"] >= 1
    assert len(iam.list_groups_for_user(UserName=name)["Groups"]) == 10
