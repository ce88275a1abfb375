"""The instance metadata endpoint attacked: tokens forged, stretched, borrowed from another instance or
asked for through a proxy, paths that climb out of a role's name (one server for the module, SQLite)."""

from __future__ import annotations

import http.client
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conftest import Server, start_server, stop_server
from tests.integration.imds_helpers import EC2_TRUST, TOKEN, TTL, running_imds

CREDENTIALS = "/latest/meta-data/iam/security-credentials/"


@pytest.fixture(scope="module")
def imds_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("imds-abuse")
    server = start_server(data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite")
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def two_instances(imds_server: Server) -> Iterator[dict[str, str]]:
    """Two v2-only instances, each with an instance profile and role of its own."""
    iam: Any = imds_server.client("iam")
    names = [f"imds-abuse-{n}-{uuid.uuid4().hex[:6]}" for n in (1, 2)]
    for name in names:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=EC2_TRUST)
        iam.create_instance_profile(InstanceProfileName=name)
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    with (
        running_imds(imds_server, names[0], "i-0000000000000001a", "--v2-only") as first,
        running_imds(imds_server, names[1], "i-0000000000000002b", "--v2-only") as second,
    ):
        yield {"first": first, "second": second, "role": names[0], "other_role": names[1]}


def _token(endpoint: str, ttl: str = "60", **headers: str) -> requests.Response:
    return requests.put(f"{endpoint}/latest/api/token", headers={TTL: ttl, **headers}, timeout=10)


def _raw_get(endpoint: str, path: str, token: str) -> int:
    """The status of a GET of `path` sent as written (no client normalizes `..` or `//` away)."""
    connection = http.client.HTTPConnection(endpoint.split("//", 1)[1], timeout=10)
    try:
        connection.request("GET", path, headers={TOKEN: token})
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.parametrize("ttl", ["0", "21601", "-1", "1e3", "0021600", "", "60.5"])
def test_a_token_ttl_outside_1_to_21600_seconds_is_a_bad_request(
    two_instances: dict[str, str], ttl: str
) -> None:
    assert _token(two_instances["first"], ttl).status_code == 400


@pytest.mark.parametrize("ttl", ["1", "21600"])
def test_the_bounds_of_the_token_ttl_are_accepted(two_instances: dict[str, str], ttl: str) -> None:
    assert _token(two_instances["first"], ttl).status_code == 200


@pytest.mark.parametrize("forwarded", ["203.0.113.7", ""])
def test_a_token_asked_for_through_a_proxy_is_refused_as_ec2_refuses_it(
    two_instances: dict[str, str], forwarded: str
) -> None:
    assert _token(two_instances["first"], **{"X-Forwarded-For": forwarded}).status_code == 403


def test_a_token_opens_only_the_instance_that_issued_it(two_instances: dict[str, str]) -> None:
    token = _token(two_instances["first"]).text
    assert _raw_get(two_instances["first"], CREDENTIALS, token) == 200
    assert _raw_get(two_instances["second"], CREDENTIALS, token) == 401


def test_a_token_altered_or_stretched_opens_nothing(two_instances: dict[str, str]) -> None:
    token = _token(two_instances["first"]).text
    stamp, _, mac = token.partition(".")
    for forged in (token + "x", f"{int(stamp) + 10**12}.{mac}", f"{stamp}.", stamp, "", "a.b"):
        assert _raw_get(two_instances["first"], CREDENTIALS, forged) == 401, forged


def test_paths_that_climb_out_of_the_role_name_find_nothing(two_instances: dict[str, str]) -> None:
    endpoint, role = two_instances["first"], two_instances["role"]
    token = _token(endpoint).text
    assert _raw_get(endpoint, CREDENTIALS + role, token) == 200
    for path in (
        f"{CREDENTIALS}../security-credentials/{role}",
        f"{CREDENTIALS}{two_instances['other_role']}",  # another instance's role
        f"{CREDENTIALS}{role.upper()}",
        f"{CREDENTIALS}{role}/",
        f"{CREDENTIALS}/{role}",
        f"{CREDENTIALS}{role}%00",
        f"{CREDENTIALS}{role}/..",
    ):
        assert _raw_get(endpoint, path, token) == 404, path


def test_metadata_is_read_only(two_instances: dict[str, str]) -> None:
    endpoint = two_instances["first"]
    token = _token(endpoint).text
    for method in ("PUT", "POST", "DELETE"):
        answer = requests.request(
            method, f"{endpoint}{CREDENTIALS}{two_instances['role']}", headers={TOKEN: token}
        )
        assert answer.status_code == 405, method
    assert requests.get(f"{endpoint}/latest/api/token", timeout=10).status_code == 405
