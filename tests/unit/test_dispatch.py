"""services.dispatch leaves out a member its handler does not take (as AWS ignores an unknown
parameter), instead of a TypeError that would answer 500."""

from __future__ import annotations

from typing import Any

import pytest

from ostiary import services


@pytest.fixture
def echo() -> Any:
    """A handler registered for the test only, removed afterwards."""
    key = ("iam", "OstiaryTestEcho")

    def handler(ctx: Any, user_name: str, path: str = "/") -> dict[str, Any]:
        return {"UserName": user_name, "Path": path}

    services.implemented()  # load the real handlers first
    services.operation(key[1])(handler)
    yield handler
    del services._HANDLERS[key]


def test_a_member_the_handler_does_not_take_is_left_out(echo: Any, caplog: pytest.LogCaptureFixture) -> None:
    params = {"UserName": "alice", "MaxSigninSessionDuration": 3600}
    result = services.dispatch(None, "iam", "OstiaryTestEcho", params)  # type: ignore[arg-type]  # unused ctx
    assert result == {"UserName": "alice", "Path": "/"}
    assert "ignored members its handler does not take: ['max_signin_session_duration']" in caplog.text


def test_the_members_it_takes_are_passed(echo: Any) -> None:
    params = {"UserName": "alice", "Path": "/a/"}
    result = services.dispatch(None, "iam", "OstiaryTestEcho", params)  # type: ignore[arg-type]  # unused ctx
    assert result == {"UserName": "alice", "Path": "/a/"}


def test_a_member_listed_as_ignored_is_left_out_without_a_warning(
    echo: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(services.IGNORED_MEMBERS, ("iam", "OstiaryTestEcho"), frozenset({"Path"}))
    result = services.dispatch(None, "iam", "OstiaryTestEcho", {"UserName": "a", "Path": "/x/"})  # type: ignore[arg-type]  # unused ctx
    assert result == {"UserName": "a", "Path": "/"}
    assert "ignored members" not in caplog.text
