"""`/_ostiary/metrics` on the real server, parsed with prometheus_client's own parser: requests by service,
operation and status, latency, decisions, caches and the store's pool; nothing a client sends becomes a
label, and no secret appears."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import botocore.session
import pytest
import requests
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Server, start_server, stop_server

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own: the counts below are this module's requests only."""
    data_dir = tmp_path_factory.mktemp("metrics")
    server = start_server(data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite")
    yield server
    stop_server(server)


def scrape(server: Server) -> tuple[str, Samples]:
    with urllib.request.urlopen(server.endpoint + "/_ostiary/metrics", timeout=30) as response:
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_every_family_is_there_and_parses(served: Server) -> None:
    served.client("iam").list_users()
    text, samples = scrape(served)
    names = {family.name for family in text_string_to_metric_families(text)}
    assert {
        "ostiary_requests",
        "ostiary_request_duration_seconds",
        "ostiary_decisions",
        "ostiary_cache_lookups",
        "ostiary_store_pool",
        "ostiary_notifications",
        "ostiary_notification_lag_seconds",
    } <= names
    assert "ostiary_notify_connected" not in names  # SQLite: no other node to hear
    assert value(samples, "ostiary_store_pool", state="size") >= 1


def test_requests_are_counted_by_service_operation_and_status(served: Server, unique: str) -> None:
    _, before = scrape(served)
    iam = served.client("iam")
    for _ in range(3):
        iam.list_users()
    with pytest.raises(ClientError):
        iam.get_user(UserName=f"{unique}-missing")
    served.client("sts").get_caller_identity()
    _, after = scrape(served)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("ostiary_requests_total", service="iam", operation="ListUsers", status="200") == 3
    assert delta("ostiary_requests_total", service="iam", operation="GetUser", status="404") == 1
    assert delta("ostiary_requests_total", service="sts", operation="GetCallerIdentity", status="200") == 1
    latency = "ostiary_request_duration_seconds"
    assert delta(f"{latency}_count", service="iam", operation="ListUsers") == 3
    assert delta(f"{latency}_bucket", service="iam", operation="ListUsers", le="+Inf") == 3
    assert delta(f"{latency}_sum", service="iam", operation="ListUsers") > 0
    # the scrape before this one was counted once it ended
    assert delta("ostiary_requests_total", service="ostiary", operation="Metrics", status="200") == 1


def test_decisions_and_cache_lookups_are_counted(served: Server, unique: str) -> None:
    iam = served.client("iam")
    iam.create_user(UserName=unique)
    allow = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}],
    }
    deny = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "iam:ListRoles", "Resource": "*"}],
    }
    iam.put_user_policy(UserName=unique, PolicyName="allow", PolicyDocument=json.dumps(allow))
    iam.put_user_policy(UserName=unique, PolicyName="deny", PolicyDocument=json.dumps(deny))
    key = iam.create_access_key(UserName=unique)["AccessKey"]
    user = served.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
    _, before = scrape(served)
    user.list_users()
    user.list_users()
    for call in (user.list_roles, user.list_groups):
        with pytest.raises(ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
    _, after = scrape(served)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("ostiary_decisions_total", outcome="Allow") == 2
    assert delta("ostiary_decisions_total", outcome="ExplicitDeny") == 1
    assert delta("ostiary_decisions_total", outcome="ImplicitDeny") == 1
    assert delta("ostiary_requests_total", service="iam", operation="ListRoles", status="403") == 1
    assert (
        delta("ostiary_cache_lookups_total", cache="policy_sets", result="hit") >= 3
    )  # one build, then hits
    owners = delta("ostiary_cache_lookups_total", cache="key_owners", result="hit")
    owners += delta("ostiary_cache_lookups_total", cache="key_owners", result="miss")
    assert owners == 4  # one lookup per signed request


def test_nothing_a_client_sends_becomes_a_label_and_no_secret_shows(served: Server, unique: str) -> None:
    marker = f"zz{unique}"
    for body in (f"Action={marker}&Version=2010-05-08", f"Action=ListUsers&Version={marker}"):
        requests.post(served.endpoint + "/", data=body, timeout=30)  # unsigned: refused
    requests.get(served.endpoint + f"/{marker}?Action={marker}", timeout=30)
    requests.get(served.endpoint + f"/_ostiary/metrics?{marker}=1", timeout=30)
    try:
        urllib.request.urlopen(
            urllib.request.Request(served.endpoint + "/_ostiary/metrics", data=b"x", method="POST"),
            timeout=30,
        )
    except urllib.error.HTTPError:
        pass
    text, samples = scrape(served)
    assert marker not in text
    assert served.secret_access_key not in text and served.access_key_id not in text
    model = botocore.session.get_session()
    known = {"unknown", "Metrics", "Health", "Ready"}
    for service in ("iam", "sts"):
        known |= set(model.get_service_model(service).operation_names)
    operations = {
        dict(labels).get("operation") for name, labels in samples if name == "ostiary_requests_total"
    }
    assert "unknown" in operations and operations <= known
