"""Two `ostiary serve` nodes on one PostgreSQL database: a change made on one is seen by the other on its
very next request (LISTEN/NOTIFY), and when the channel drops the node says so and keeps checking."""

from __future__ import annotations

import base64
import functools
import json
import os
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Server, start_server, stop_server
from tests.integration.test_saml import _metadata as saml_metadata
from tests.integration.test_saml import _trust as saml_trust
from tests.integration.test_saml import saml_response

pytestmark = pytest.mark.postgres

ROUNDS = 5  # each round races a change on A against B's next request
FALLBACK_SECONDS = 1.0  # how long a node's caches keep an entry without notifications
# Well inside that second: without the notification, B (which used the key just before) would answer
# for about a second. On an idle machine B's very next request is refused; on a loaded one, PostgreSQL's
# delivery to B's listener has been measured at up to ~140 ms.
HEARD_WITHIN_SECONDS = 0.3


@pytest.fixture(scope="module")
def nodes(
    module_pg_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    shared = {"OSTIARY_KEYRING_KEY": base64.b64encode(os.urandom(32)).decode()}  # one keyring for both
    a = start_server(tmp_path_factory.mktemp("node-a"), module_pg_database, "postgresql", env_extra=shared)
    try:
        b = start_server(
            tmp_path_factory.mktemp("node-b"), module_pg_database, "postgresql", env_extra=shared
        )
        try:
            yield a, b
        finally:
            stop_server(b)
    finally:
        stop_server(a)


def _user_with_key(node: Server, name: str) -> tuple[str, str]:
    iam = node.client("iam")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def _refused_code(call: object) -> str | None:
    try:
        call()  # type: ignore[operator]
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return None


def _stale_answers(call: object, code: str) -> tuple[int, float]:
    """How many answers `call` got before it was refused with `code`, and how long after the change the
    refused call was sent (0 when the very next call was refused; a loaded machine's slow answer to
    the refused call itself is not staleness)."""
    began, stale, sent = time.monotonic(), 0, 0.0
    while (refused := _refused_code(call)) != code:
        assert refused is None, refused
        stale += 1
        sent = time.monotonic() - began
        assert sent < 2 * FALLBACK_SECONDS, "never refused"
    return stale, sent


def _assert_heard(results: list[tuple[int, float]]) -> None:
    """Every change reached the other node well before a cache's second ran out, most of them before
    its very next request (the rest waited on PostgreSQL's delivery to the other listener)."""
    assert all(seconds < HEARD_WITHIN_SECONDS for _, seconds in results), results
    assert any(stale == 0 for stale, _ in results), results


def test_a_key_deactivated_on_one_node_is_refused_by_the_other_at_once(
    nodes: tuple[Server, Server], unique: str
) -> None:
    a, b = nodes
    results = []
    for round_ in range(ROUNDS):
        key_id, secret = _user_with_key(a, f"{unique}-k{round_}")
        on_b = b.client("sts", key_id, secret)
        assert on_b.get_caller_identity()["Arn"].endswith(f"user/{unique}-k{round_}")  # B keeps the key
        a.client("iam").update_access_key(
            UserName=f"{unique}-k{round_}", AccessKeyId=key_id, Status="Inactive"
        )
        results.append(_stale_answers(on_b.get_caller_identity, "InvalidClientTokenId"))
    _assert_heard(results)


def test_a_key_deleted_on_one_node_is_refused_by_the_other_at_once(
    nodes: tuple[Server, Server], unique: str
) -> None:
    a, b = nodes
    results = []
    for round_ in range(ROUNDS):
        key_id, secret = _user_with_key(a, f"{unique}-del{round_}")
        on_b = b.client("sts", key_id, secret)
        on_b.get_caller_identity()
        a.client("iam").delete_access_key(UserName=f"{unique}-del{round_}", AccessKeyId=key_id)
        results.append(_stale_answers(on_b.get_caller_identity, "InvalidClientTokenId"))
    _assert_heard(results)


def _assume_role_setup(a: Server, unique: str, round_: int) -> tuple[str, str, str, str]:
    """A user whose inline policy allows sts:AssumeRole on a role: (user, key, secret, role ARN)."""
    iam = a.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{a.account_id}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(RoleName=f"{unique}-r{round_}", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    user = f"{unique}-p{round_}"
    key_id, secret = _user_with_key(a, user)
    allow = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
    }
    iam.put_user_policy(UserName=user, PolicyName="assume", PolicyDocument=json.dumps(allow))
    return user, key_id, secret, str(role["Arn"])


def test_a_policy_removed_on_one_node_binds_the_other_at_once(
    nodes: tuple[Server, Server], unique: str
) -> None:
    a, b = nodes
    results = []
    for round_ in range(ROUNDS):
        user, key_id, secret, role_arn = _assume_role_setup(a, unique, round_)
        on_b = b.client("sts", key_id, secret)
        assume = functools.partial(on_b.assume_role, RoleArn=role_arn, RoleSessionName="node-b")
        _wait_allowed(assume)  # B now keeps the user's policies
        assert _refused_code(assume) is None
        a.client("iam").delete_user_policy(UserName=user, PolicyName="assume")
        results.append(_stale_answers(assume, "AccessDenied"))
    _assert_heard(results)


def _wait_allowed(call: object) -> None:
    deadline = time.monotonic() + 5
    while _refused_code(call) is not None:
        assert time.monotonic() < deadline, "the user's new policy never allowed the call"
        time.sleep(0.05)


def test_a_dropped_channel_is_logged_and_changes_still_reach_the_node(
    nodes: tuple[Server, Server], unique: str, module_pg_database: str
) -> None:
    a, b = nodes
    admin_url = module_pg_database.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'ostiary-listener' AND datname = current_database()"
        ).fetchall()
    assert len(killed) == 2  # one listener per node
    _wait_for_log(b.data_dir / "server.log", "change notifications lost")
    key_id, secret = _user_with_key(a, f"{unique}-fb")
    on_b = b.client("sts", key_id, secret)
    on_b.get_caller_identity()
    a.client("iam").update_access_key(UserName=f"{unique}-fb", AccessKeyId=key_id, Status="Inactive")
    deadline = time.monotonic() + 3  # without notifications: the version checks, within their second
    while _refused_code(on_b.get_caller_identity) != "InvalidClientTokenId":
        assert time.monotonic() < deadline, "the deactivated key was never refused"
        time.sleep(0.05)
    _wait_for_log(b.data_dir / "server.log", "change notifications restored")
    assert _scraped(b, "ostiary_notify_connected") == 1.0
    test_a_key_deleted_on_one_node_is_refused_by_the_other_at_once(nodes, f"{unique}-again")


def _wait_for_log(log: Path, text: str) -> None:
    deadline = time.monotonic() + 10
    while text not in log.read_text(errors="replace"):
        assert time.monotonic() < deadline, (
            f"`{text}` never logged:\n{log.read_text(errors='replace')[-3000:]}"
        )
        time.sleep(0.05)


def test_the_notifications_heard_and_their_lag_are_in_the_metrics(
    nodes: tuple[Server, Server], unique: str
) -> None:
    a, b = nodes
    before = _scraped(b, "ostiary_notifications_total", kind="keys")
    lags = _scraped(b, "ostiary_notification_lag_seconds_count")
    key_id, _ = _user_with_key(a, f"{unique}-m")
    a.client("iam").update_access_key(UserName=f"{unique}-m", AccessKeyId=key_id, Status="Inactive")
    b.client("sts").get_caller_identity()  # settles: the notification is applied before this answer...
    deadline = time.monotonic() + 5  # ...within the settle's 0.1 s, which a loaded machine may overrun
    while _scraped(b, "ostiary_notifications_total", kind="keys") <= before and time.monotonic() < deadline:
        time.sleep(0.05)  # (how soon a change is heard is the other tests' subject, with their bounds)
    assert _scraped(b, "ostiary_notifications_total", kind="keys") == before + 1
    assert _scraped(b, "ostiary_notification_lag_seconds_count") >= lags + 1
    assert _scraped(b, "ostiary_notify_connected") == 1.0


def _scraped(node: Server, name: str, **labels: str) -> float:
    with urllib.request.urlopen(node.endpoint + "/_ostiary/metrics", timeout=30) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def test_a_key_deactivated_is_refused_in_time_while_the_other_node_is_under_load(
    nodes: tuple[Server, Server], unique: str
) -> None:
    a, b = nodes
    busy_id, busy_secret = _user_with_key(a, f"{unique}-busy")
    stop = threading.Event()

    def load() -> None:  # B answers these without pause while the rounds run
        client = b.client("sts", busy_id, busy_secret)
        while not stop.is_set():
            client.get_caller_identity()

    threads = [threading.Thread(target=load) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        results = []
        for round_ in range(ROUNDS):
            key_id, secret = _user_with_key(a, f"{unique}-l{round_}")
            on_b = b.client("sts", key_id, secret)
            on_b.get_caller_identity()
            a.client("iam").update_access_key(
                UserName=f"{unique}-l{round_}", AccessKeyId=key_id, Status="Inactive"
            )
            results.append(_stale_answers(on_b.get_caller_identity, "InvalidClientTokenId"))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert all(seconds < HEARD_WITHIN_SECONDS for _, seconds in results), results


def test_a_saml_response_accepted_by_one_node_is_refused_by_the_other(
    nodes: tuple[Server, Server], unique: str
) -> None:
    """A SAML assertion is accepted once in the cluster: replayed to another node within its validity, it
    is refused as on the node that took it (the claims are in the store, not in a process's memory)."""
    a, b = nodes
    iam = a.client("iam")
    provider = iam.create_saml_provider(Name=f"idp-{unique}", SAMLMetadataDocument=saml_metadata())
    role = iam.create_role(
        RoleName=f"saml-{unique}", AssumeRolePolicyDocument=saml_trust(provider["SAMLProviderArn"])
    )
    ask = {"RoleArn": role["Role"]["Arn"], "PrincipalArn": provider["SAMLProviderArn"]}
    for first, second in ((a, b), (b, a)):
        response = saml_response([f"{ask['RoleArn']},{ask['PrincipalArn']}"])
        assert first.client("sts").assume_role_with_saml(SAMLAssertion=response, **ask)["Subject"]
        for node in (second, first):
            with pytest.raises(ClientError) as caught:
                node.client("sts").assume_role_with_saml(SAMLAssertion=response, **ask)
            error = caught.value.response["Error"]
            assert (error["Code"], error["Message"]) == ("InvalidIdentityToken", "Invalid SAML response")
