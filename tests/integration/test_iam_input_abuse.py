"""Hostile input to the IAM API through boto3: forged Markers, and quotas raced from several workers.

A server of one worker runs IAM's writes one at a time on its event loop, so a quota checked by
counting and then inserting holds there by accident. Several workers (or nodes) on one PostgreSQL
run them side by side: there every quota must hold by a lock taken in the write's own transaction.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pyotp
import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, start_server, stop_server

WORKERS = 3
CLIENTS = 12
ROUNDS = 3  # a race lost once in a round is a hole; three rounds make losing it by luck unlikely


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = exc.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def _document(size: int) -> str:
    """An identity policy of exactly `size` characters, none of them white space."""
    head = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject",'
        '"Resource":"arn:aws:s3:::'
    )
    tail = '"}]}'
    return head + "b" * (size - len(head) - len(tail)) + tail


# -- Markers ------------------------------------------------------------------------------------

_INVALID_MARKER = ("ValidationError", "Invalid Marker.", 400)


@pytest.mark.parametrize(
    "marker",
    [
        "!!!",  # no base 64 character at all: once read as an empty start, the first page again
        "a$b%c&d",  # base 64 with foreign characters in it, once skipped silently
        "====",
        "AAA=",  # a NUL-led marker without its count
    ],
)
def test_a_forged_marker_is_refused_by_every_list(server: Server, iam: Any, unique: str, marker: str) -> None:
    iam.create_user(UserName=f"mk-{unique}", Path=f"/mk{unique}/")
    calls: list[Callable[[], object]] = [
        lambda: iam.list_users(Marker=marker),
        lambda: iam.list_roles(Marker=marker),
        lambda: iam.list_policies(Marker=marker),
        lambda: iam.list_user_tags(UserName=f"mk-{unique}", Marker=marker),
        lambda: iam.list_virtual_mfa_devices(Marker=marker),
    ]
    for call in calls:
        with pytest.raises(ClientError) as exc:
            call()
        assert _error(exc) == _INVALID_MARKER


def test_a_marker_from_another_account_lists_only_the_callers_own(server: Server, unique: str) -> None:
    theirs = server.client("iam")
    for i in range(3):
        theirs.create_user(UserName=f"a{i}-{unique}", Path=f"/x{unique}/")
    marker = theirs.list_users(PathPrefix=f"/x{unique}/", MaxItems=1)["Marker"]
    account = server.new_account()
    mine = server.client("iam", account["AccessKeyId"], account["SecretAccessKey"])
    mine.create_user(UserName=f"b-{unique}", Path=f"/x{unique}/")
    listed = mine.list_users(PathPrefix=f"/x{unique}/", Marker=marker)["Users"]
    assert [u["Arn"].split(":")[4] for u in listed] == [account["AccountId"]] * len(listed)
    forged = base64.urlsafe_b64encode(f"\0{10**8}\0a".encode()).decode()  # a huge count to skip
    page = theirs.list_users(Marker=forged)
    assert (page["Users"], page["IsTruncated"]) == ([], False)


# -- quotas raced from several workers ------------------------------------------------------------


@pytest.fixture(scope="module")
def workers(module_pg_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of several workers on PostgreSQL: IAM's writes run side by side."""
    srv = start_server(
        tmp_path_factory.mktemp("workers"), module_pg_database, "postgresql", "--workers", str(WORKERS)
    )
    yield srv
    stop_server(srv)


def _race(server: Server, calls: list[Callable[[Any], object]]) -> list[str]:
    """Run each call from its own thread and client at once; the outcomes, `ok` or an error code."""
    return _race_clients([server.client("iam") for _ in calls], calls)


def _race_clients(clients: list[Any], calls: list[Callable[[Any], object]]) -> list[str]:
    start = threading.Barrier(len(calls))
    outcomes = [""] * len(calls)

    def run(i: int) -> None:
        start.wait()
        try:
            calls[i](clients[i])
            outcomes[i] = "ok"
        except ClientError as exc:
            outcomes[i] = exc.response["Error"]["Code"]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_parallel_attaches_never_pass_ten_managed_policies(workers: Server, unique: str) -> None:
    iam = workers.client("iam")
    arns = [
        iam.create_policy(PolicyName=f"q{i}-{unique}", PolicyDocument=_document(200))["Policy"]["Arn"]
        for i in range(CLIENTS)
    ]
    for round_ in range(ROUNDS):
        name = f"att{round_}-{unique}"
        iam.create_user(UserName=name)
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(workers.account_id))
        outcomes = _race(workers, _attaching(name, arns))
        attached = len(iam.list_attached_user_policies(UserName=name)["AttachedPolicies"])
        on_role = len(iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"])
        assert (attached, on_role) == (10, 10), outcomes
        assert outcomes.count("ok") == 20
        assert outcomes.count("LimitExceeded") == 2 * CLIENTS - 20


def _attaching(name: str, arns: list[str]) -> list[Callable[[Any], object]]:
    """Calls attaching each policy to the user and to the role called `name`."""
    to_user = [lambda c, a=a: c.attach_user_policy(UserName=name, PolicyArn=a) for a in arns]
    return to_user + [lambda c, a=a: c.attach_role_policy(RoleName=name, PolicyArn=a) for a in arns]


def _trust(account_id: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"AWS": account_id}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def test_parallel_tag_calls_never_pass_fifty_tags(workers: Server, unique: str) -> None:
    iam = workers.client("iam")
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(45)]
    for round_ in range(ROUNDS):
        user = f"tag{round_}-{unique}"
        iam.create_user(UserName=user, Tags=tags)
        policy = iam.create_policy(PolicyName=user, PolicyDocument=_document(200), Tags=tags)["Policy"]["Arn"]
        outcomes = _race(workers, _tagging(user, policy))
        on_user = len(iam.list_user_tags(UserName=user)["Tags"])
        on_policy = len(iam.list_policy_tags(PolicyArn=policy)["Tags"])
        assert (on_user, on_policy) == (50, 50), outcomes
        assert outcomes.count("ok") == 10
        assert outcomes.count("LimitExceeded") == 2 * CLIENTS - 10


def _tagging(user: str, policy: str) -> list[Callable[[Any], object]]:
    """Calls adding one new tag each to the user and to the policy."""
    new = [[{"Key": f"x{i}", "Value": "v"}] for i in range(CLIENTS)]
    to_user = [lambda c, t=t: c.tag_user(UserName=user, Tags=t) for t in new]
    return to_user + [lambda c, t=t: c.tag_policy(PolicyArn=policy, Tags=t) for t in new]


def test_parallel_inline_policies_never_pass_the_users_aggregate_size(workers: Server, unique: str) -> None:
    iam = workers.client("iam")
    for round_ in range(ROUNDS):
        user = f"inl{round_}-{unique}"
        iam.create_user(UserName=user)
        outcomes = _race(workers, _putting(user))
        names = iam.list_user_policies(UserName=user)["PolicyNames"]
        assert len(names) == 3, outcomes  # three of 600 characters fit in the user's 2,048, a fourth not
        assert outcomes.count("LimitExceeded") == CLIENTS - 3


def _putting(user: str) -> list[Callable[[Any], object]]:
    document = _document(600)
    return [
        lambda c, i=i: c.put_user_policy(UserName=user, PolicyName=f"p{i}", PolicyDocument=document)
        for i in range(CLIENTS)
    ]


def test_parallel_policy_versions_never_pass_five(workers: Server, unique: str) -> None:
    iam = workers.client("iam")
    for round_ in range(ROUNDS):
        created = iam.create_policy(PolicyName=f"ver{round_}-{unique}", PolicyDocument=_document(200))
        arn = created["Policy"]["Arn"]
        for _ in range(3):
            iam.create_policy_version(PolicyArn=arn, PolicyDocument=_document(300))
        outcomes = _race(workers, _versioning(arn))
        assert len(iam.list_policy_versions(PolicyArn=arn)["Versions"]) == 5, outcomes
        # the losers are told what AWS tells them: no room, not a conflict to try again
        assert sorted(outcomes) == ["LimitExceeded"] * (CLIENTS - 1) + ["ok"]


def _versioning(arn: str) -> list[Callable[[Any], object]]:
    document = _document(400)
    return [lambda c: c.create_policy_version(PolicyArn=arn, PolicyDocument=document)] * CLIENTS


def test_parallel_creates_of_one_name_in_other_cases_make_one_user(workers: Server, unique: str) -> None:
    iam = workers.client("iam")
    for round_ in range(ROUNDS):
        name = f"Race{round_}-{unique}"
        spellings = [name, name.upper(), name.lower(), name.swapcase()] * (CLIENTS // 4)
        outcomes = _race(workers, _creating(spellings, f"/r{unique}/"))
        assert sorted(outcomes) == ["EntityAlreadyExists"] * (len(spellings) - 1) + ["ok"]
    assert len(iam.list_users(PathPrefix=f"/r{unique}/")["Users"]) == ROUNDS


def _creating(names: list[str], path: str) -> list[Callable[[Any], object]]:
    return [lambda c, n=n: c.create_user(UserName=n, Path=path) for n in names]


def test_a_version_made_default_while_deleted_never_leaves_the_default_missing(
    workers: Server, unique: str
) -> None:
    iam = workers.client("iam")
    for round_ in range(ROUNDS):
        arns = []
        for i in range(CLIENTS // 2):
            created = iam.create_policy(PolicyName=f"d{round_}-{i}-{unique}", PolicyDocument=_document(200))
            arns.append(created["Policy"]["Arn"])
            iam.create_policy_version(PolicyArn=arns[-1], PolicyDocument=_document(300))
        outcomes = _race(workers, _defaulting_and_deleting(arns, "v2"))
        for arn in arns:
            default = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            iam.get_policy_version(
                PolicyArn=arn, VersionId=default
            )  # NoSuchEntity: a policy granting nothing
        assert set(outcomes) <= {"ok", "DeleteConflict", "NoSuchEntity"}, outcomes


def _defaulting_and_deleting(arns: list[str], version_id: str) -> list[Callable[[Any], object]]:
    """For each policy, a call making the version its default and a call deleting the version."""
    calls: list[Callable[[Any], object]] = []
    for arn in arns:
        calls.append(lambda c, a=arn: c.set_default_policy_version(PolicyArn=a, VersionId=version_id))
        calls.append(lambda c, a=arn: c.delete_policy_version(PolicyArn=a, VersionId=version_id))
    return calls


def _users_and_policies(iam: Any, prefix: str, unique: str) -> list[tuple[str, str]]:
    """Half as many users as clients, each with a policy of its own name: (name, policy ARN)."""
    pairs = []
    for i in range(CLIENTS // 2):
        name = f"{prefix}-{i}-{unique}"
        iam.create_user(UserName=name)
        created = iam.create_policy(PolicyName=name, PolicyDocument=_document(200))
        pairs.append((name, created["Policy"]["Arn"]))
    return pairs


def test_a_policy_deleted_while_made_a_boundary_never_leaves_a_user_unbounded(
    workers: Server, unique: str
) -> None:
    """A boundary naming no policy bounds nothing: the user would be allowed all its policies allow."""
    iam = workers.client("iam")
    for round_ in range(ROUNDS):
        pairs = _users_and_policies(iam, f"b{round_}", unique)
        outcomes = _race(workers, _bounding_and_deleting(pairs))
        for name, _ in pairs:
            boundary = iam.get_user(UserName=name)["User"].get("PermissionsBoundary")
            if boundary is not None:
                iam.get_policy(PolicyArn=boundary["PermissionsBoundaryArn"])  # NoSuchEntity: unbounded
        assert set(outcomes) <= {"ok", "DeleteConflict", "NoSuchEntity"}, outcomes


def _bounding_and_deleting(pairs: list[tuple[str, str]]) -> list[Callable[[Any], object]]:
    """For each (user, policy), a call making the policy the user's boundary and a call deleting it."""
    calls: list[Callable[[Any], object]] = []
    for name, arn in pairs:
        calls.append(
            lambda c, n=name, a=arn: c.put_user_permissions_boundary(UserName=n, PermissionsBoundary=a)
        )
        calls.append(lambda c, a=arn: c.delete_policy(PolicyArn=a))
    return calls


def test_parallel_creates_never_pass_the_accounts_managed_policies(workers: Server, unique: str) -> None:
    for _ in range(ROUNDS):
        account = workers.new_account()
        _fill_with_policies(workers, account["AccountId"], POLICIES_PER_ACCOUNT - 5)
        outcomes = _race_as(workers, account, _creating_policies())
        iam = workers.client("iam", account["AccessKeyId"], account["SecretAccessKey"])
        pages = iam.get_paginator("list_policies").paginate(Scope="Local")
        assert sum(len(page["Policies"]) for page in pages) == POLICIES_PER_ACCOUNT, outcomes
        assert sorted(outcomes) == ["LimitExceeded"] * (CLIENTS - 5) + ["ok"] * 5


def _creating_policies() -> list[Callable[[Any], object]]:
    document = _document(200)
    return [
        lambda c, i=i: c.create_policy(PolicyName=f"late{i}", PolicyDocument=document) for i in range(CLIENTS)
    ]


POLICIES_PER_ACCOUNT = 1500


def _fill_with_policies(server: Server, account_id: str, count: int) -> None:
    """`count` managed policies in the account, written straight to the store (1,500 calls take long)."""
    from datetime import UTC, datetime

    from ostiary import ids
    from ostiary.store import policies
    from ostiary.store.db import Database

    db = Database(server.database_url, pool=False)
    try:
        with db.transaction() as conn:
            for i in range(count):
                policies.insert(
                    conn,
                    policy_id=ids.unique_id("ANPA"),
                    account_id=account_id,
                    name=f"filler{i}",
                    path="/",
                    description=None,
                    document=_document(200),
                    now=datetime.now(UTC),
                )
    finally:
        db.dispose()


def _race_as(server: Server, account: dict[str, str], calls: list[Callable[[Any], object]]) -> list[str]:
    """`_race` with clients of another account's root."""
    clients = [server.client("iam", account["AccessKeyId"], account["SecretAccessKey"]) for _ in calls]
    return _race_clients(clients, calls)


def test_parallel_enables_never_pass_eight_mfa_devices_per_user(workers: Server, unique: str) -> None:
    iam = workers.client("iam")
    user = f"mfa-{unique}"
    iam.create_user(UserName=user)
    devices = [
        iam.create_virtual_mfa_device(VirtualMFADeviceName=f"mfa{i}-{unique}")["VirtualMFADevice"]
        for i in range(CLIENTS)
    ]
    outcomes = _race(workers, _enabling(user, devices))
    assert len(iam.list_mfa_devices(UserName=user)["MFADevices"]) == 8, outcomes
    assert sorted(outcomes) == ["LimitExceeded"] * (CLIENTS - 8) + ["ok"] * 8


def _enabling(user: str, devices: list[dict[str, Any]]) -> list[Callable[[Any], object]]:
    """Calls enabling each device for the user, with its two codes of now."""
    step = int(time.time()) // 30
    calls: list[Callable[[Any], object]] = []
    for device in devices:
        totp = pyotp.TOTP(device["Base32StringSeed"].decode())
        one, two = totp.generate_otp(step - 1), totp.generate_otp(step)
        calls.append(
            lambda c, s=device["SerialNumber"], a=one, b=two: c.enable_mfa_device(
                UserName=user, SerialNumber=s, AuthenticationCode1=a, AuthenticationCode2=b
            )
        )
    return calls


def test_a_user_deleted_while_a_policy_is_attached_leaves_no_attachment_behind(
    workers: Server, unique: str
) -> None:
    """An attachment to a deleted user counts forever: its policy could never be deleted."""
    iam = workers.client("iam")
    for round_ in range(ROUNDS):
        pairs = _users_and_policies(iam, f"del{round_}", unique)
        outcomes = _race(workers, _deleting_and_attaching(pairs))
        for name, arn in pairs:
            if not _exists(lambda n=name: iam.get_user(UserName=n)):
                assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 0, outcomes
                iam.delete_policy(PolicyArn=arn)
        assert set(outcomes) <= {"ok", "DeleteConflict", "NoSuchEntity"}, outcomes


def _exists(call: Callable[[], object]) -> bool:
    try:
        call()
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchEntity"
        return False
    return True


def _deleting_and_attaching(pairs: list[tuple[str, str]]) -> list[Callable[[Any], object]]:
    """For each (user, policy), a call deleting the user and a call attaching the policy to it."""
    calls: list[Callable[[Any], object]] = []
    for name, arn in pairs:
        calls.append(lambda c, n=name: c.delete_user(UserName=n))
        calls.append(lambda c, n=name, a=arn: c.attach_user_policy(UserName=n, PolicyArn=a))
    return calls
