"""A console visitor over HTTP (requests keeps the cookies), and the accounts the console tests use."""

from __future__ import annotations

import re
from typing import Any

import requests

from tests.conftest import Server

PASSWORD = "Initial-Passw0rd!"
NEW_PASSWORD = "Changed-Passw0rd!"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def new_account(server: Server) -> dict[str, Any]:
    """A fresh account (its own users, throttles and password policy) with its root's IAM client."""
    created: dict[str, Any] = dict(server.new_account())
    created["iam"] = server.client("iam", created["AccessKeyId"], created["SecretAccessKey"])
    return created


class Visitor:
    """One browser's worth of console: cookies kept, CSRF tokens read from each page's forms."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.http = requests.Session()
        self.page = ""

    def get(self, path: str, **kw: Any) -> requests.Response:
        answer = self.http.get(self.server.endpoint + path, timeout=30, **kw)
        self.page = answer.text
        return answer

    def post(self, path: str, data: dict[str, str], *, csrf: bool = True) -> requests.Response:
        form = dict(data)
        if csrf:
            form["csrf_token"] = self.csrf()
        answer = self.http.post(self.server.endpoint + path, data=form, timeout=60)
        self.page = answer.text
        return answer

    def csrf(self) -> str:
        found = _CSRF.search(self.page)
        assert found, "the page has no form with a CSRF token"
        return found.group(1)

    def sign_in(self, account: str, user: str, password: str) -> requests.Response:
        self.get("/console/signin")
        return self.post("/console/signin", {"account": account, "username": user, "password": password})

    def sign_in_root(self, account: str, key_id: str, secret: str) -> requests.Response:
        self.get("/console/signin/root")
        return self.post(
            "/console/signin/root", {"account": account, "accesskeyid": key_id, "secretkey": secret}
        )


def alert(page: str) -> str:
    """The text of the page's first alert (AWS's error), tags removed."""
    found = re.search(r'role="alert"[^>]*>(.*?)</div>', page, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip() if found else ""
