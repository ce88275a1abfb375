"""aws:SourceIp is the connection's address; X-Forwarded-For counts only from a trusted proxy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, start_server, stop_server

_FORWARDED = "10.1.2.3"


@pytest.fixture(scope="module")
def proxied_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that believes X-Forwarded-For from 127.0.0.1 (a reverse proxy on the same host)."""
    data_dir = tmp_path_factory.mktemp("ostiary-proxied")
    srv = start_server(
        data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite", "--trusted-proxies", "127.0.0.1"
    )
    yield srv
    stop_server(srv)


def _client_from(server: Server, name: str, cidr: str, forwarded_for: str | None) -> Any:
    """A user allowed iam:GetUser only from `cidr`, as a boto3 client that may send X-Forwarded-For."""
    iam = server.client("iam")
    iam.create_user(UserName=name)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "iam:GetUser",
                "Resource": "*",
                "Condition": {"IpAddress": {"aws:SourceIp": cidr}},
            }
        ],
    }
    iam.put_user_policy(UserName=name, PolicyName="from-network", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    client = server.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
    if forwarded_for is not None:

        def _add_header(request: Any, **_: Any) -> None:
            request.headers["X-Forwarded-For"] = forwarded_for

        client.meta.events.register("before-send.iam.GetUser", _add_header)
    return client


def test_the_connections_address_is_the_source_ip(sqlite_server: Server, unique: str) -> None:
    client = _client_from(sqlite_server, f"local-{unique}", "127.0.0.1/32", None)
    assert client.get_user()["User"]["UserName"] == f"local-{unique}"


def test_x_forwarded_for_is_ignored_by_default(sqlite_server: Server, unique: str) -> None:
    client = _client_from(sqlite_server, f"spoof-{unique}", "10.0.0.0/8", _FORWARDED)
    with pytest.raises(ClientError) as exc:
        client.get_user()
    assert exc.value.response["Error"]["Code"] == "AccessDenied"


def test_x_forwarded_for_from_a_trusted_proxy_is_the_source_ip(proxied_server: Server, unique: str) -> None:
    client = _client_from(proxied_server, f"proxied-{unique}", "10.0.0.0/8", _FORWARDED)
    assert client.get_user()["User"]["UserName"] == f"proxied-{unique}"
    local = _client_from(proxied_server, f"proxied-local-{unique}", "127.0.0.1/32", _FORWARDED)
    with pytest.raises(ClientError) as exc:
        local.get_user()
    assert exc.value.response["Error"]["Code"] == "AccessDenied"
