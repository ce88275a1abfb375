"""The console attacked over HTTP: what a person leaves behind, or an attacker copies or forges, must
open nothing (one server for the module, over SQLite)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conftest import Server, start_server, stop_server
from tests.integration.console_helpers import PASSWORD, Visitor, new_account


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("console-abuse")
    server = start_server(data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite")
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def account(console_server: Server) -> dict[str, Any]:
    created = new_account(console_server)
    iam = created["iam"]
    iam.create_user(UserName="mallory")
    iam.create_login_profile(UserName="mallory", Password=PASSWORD, PasswordResetRequired=False)
    iam.attach_user_policy(UserName="mallory", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    return created


def _signed_in(server: Server, account: dict[str, Any]) -> Visitor:
    visitor = Visitor(server)
    assert visitor.sign_in(account["AccountId"], "mallory", PASSWORD).url.endswith("/console/home")
    return visitor


def _home_with(server: Server, cookies: dict[str, str]) -> requests.Response:
    return requests.get(f"{server.endpoint}/console/home", cookies=cookies, allow_redirects=False, timeout=30)


def test_a_cookie_copied_before_sign_out_opens_nothing_after_it(
    console_server: Server, account: dict[str, Any]
) -> None:
    visitor = _signed_in(console_server, account)
    copied = dict(visitor.http.cookies)
    assert _home_with(console_server, copied).status_code == 200
    visitor.get("/console/account")
    token = visitor.csrf()  # what a copy of the page gives away with the cookie
    visitor.get("/console/home")
    assert visitor.post("/console/signout", {}).url.endswith("/console/signin")
    answer = _home_with(console_server, copied)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/signin"
    refused = requests.post(  # nor does it act: the copied session's form token is dead too
        f"{console_server.endpoint}/console/account",
        data={"action": "alias", "alias": "copied-cookie", "csrf_token": token},
        cookies=copied,
        allow_redirects=False,
        timeout=30,
    )
    assert refused.status_code == 303 and refused.headers["location"] == "/console/signin"
    assert account["iam"].list_account_aliases()["AccountAliases"] == []


def test_signing_out_ends_only_that_sign_in(console_server: Server, account: dict[str, Any]) -> None:
    first, second = _signed_in(console_server, account), _signed_in(console_server, account)
    first.get("/console/home")
    first.post("/console/signout", {})
    assert second.get("/console/home").url.endswith("/console/home")
    again = _signed_in(console_server, account)  # a new sign-in in the browser that signed out works
    assert again.get("/console/home").status_code == 200


def test_a_flood_of_sign_ins_is_refused_cleanly_while_the_api_answers(
    console_server: Server, account: dict[str, Any]
) -> None:
    """Anyone may send sign-ins: a flood of wrong ones (argon2 checks, slow by design, on threads of
    their own: `test_sign_in_threads`) is answered as a failed sign-in each, never an error, and the API's
    paged calls (served off the event loop) go on answering meanwhile. (How long they wait is a
    measurement, not a test: session 10's note.)"""
    stop = threading.Event()
    statuses: list[int] = []

    def flood() -> None:
        visitor = Visitor(console_server)
        visitor.get("/console/signin")
        token = visitor.csrf()
        while not stop.is_set():
            form = {"account": account["AccountId"], "username": uuid.uuid4().hex, "password": "x"}
            answer = visitor.http.post(
                f"{console_server.endpoint}/console/signin", data={**form, "csrf_token": token}
            )
            statuses.append(answer.status_code)

    flooders = [threading.Thread(target=flood) for _ in range(16)]
    for flooder in flooders:
        flooder.start()
    try:
        while len(statuses) < 16:  # the flood is under way
            time.sleep(0.05)
        iam = account["iam"]
        for _ in range(5):
            assert iam.list_users(MaxItems=1)["Users"]  # a paged call: served off the event loop
    finally:
        stop.set()
        for flooder in flooders:
            flooder.join()
    assert set(statuses) <= {200, 401, 403, 429}, sorted(set(statuses))
