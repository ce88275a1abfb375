"""The console's cookies are Secure when the console is served over TLS (here: behind a trusted proxy
that says so with X-Forwarded-Proto), and only then."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.conftest import Server, start_server, stop_server


@pytest.fixture(scope="module")
def proxied_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("ostiary-console-tls")
    srv = start_server(
        data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite", "--trusted-proxies", "127.0.0.1"
    )
    yield srv
    stop_server(srv)


def _sign_in_cookies(server: Server, headers: dict[str, str]) -> list[str]:
    form = requests.get(server.endpoint + "/console/signin/root", headers=headers, timeout=30)
    token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    data = {
        "csrf_token": token,
        "account": server.account_id,
        "accesskeyid": server.access_key_id,
        "secretkey": server.secret_access_key,
    }
    # sent by hand: the client speaks plain HTTP to the proxy's port, and keeps a Secure cookie for TLS
    cookies = {"ostiary-console-csrf": form.cookies["ostiary-console-csrf"]}
    answer = requests.post(
        server.endpoint + "/console/signin/root",
        data=data,
        headers=headers,
        cookies=cookies,
        timeout=30,
        allow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/home"
    return [form.headers["set-cookie"], answer.headers["set-cookie"]]


def test_cookies_are_secure_over_tls(proxied_server: Server) -> None:
    for cookie in _sign_in_cookies(proxied_server, {"X-Forwarded-Proto": "https"}):
        assert (
            "; secure" in cookie.lower()
            and "httponly" in cookie.lower()
            and "samesite=strict" in cookie.lower()
        )


def test_cookies_are_not_secure_over_plain_http(proxied_server: Server, sqlite_server: Server) -> None:
    for cookie in _sign_in_cookies(proxied_server, {}):
        assert "; secure" not in cookie.lower()
    # a client that is no trusted proxy cannot claim TLS: its header is not believed
    for cookie in _sign_in_cookies(sqlite_server, {"X-Forwarded-Proto": "https"}):
        assert "; secure" not in cookie.lower()
