"""Work tried on the event loop: the store and the backends' client refuse to wait there, and what a
refused attempt had begun is not taken as done."""

from __future__ import annotations

from pathlib import Path

import pytest

from ostiary import blocking
from ostiary.blocking import WouldBlock
from ostiary.gateway.backend_http import BackendHttp
from ostiary.store.db import Database


def test_the_store_refuses_to_read_on_the_loop_and_reads_elsewhere(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    with blocking.on_loop(), pytest.raises(WouldBlock), db.read():
        pass
    with blocking.on_loop(), pytest.raises(WouldBlock), db.transaction():
        pass
    with db.read() as conn:  # off the loop again
        assert conn.exec_driver_sql("select 1").scalar() == 1


def test_the_backend_client_refuses_to_send_on_the_loop() -> None:
    with blocking.on_loop(), pytest.raises(WouldBlock):
        BackendHttp().send("http://127.0.0.1:9", "GET", "/", [], None)


def test_would_block_is_no_exception_a_guard_could_swallow() -> None:
    assert not issubclass(WouldBlock, Exception)
    with pytest.raises(WouldBlock), blocking.on_loop():
        try:
            blocking.check()
        except Exception:  # noqa: BLE001 - what the guards on the way do
            pytest.fail("a guard caught WouldBlock")


def test_a_key_use_refused_on_the_loop_is_recorded_by_the_retry() -> None:
    from ostiary.auth import role_use

    uses = role_use._RoleUse()
    with blocking.on_loop(), pytest.raises(WouldBlock):
        uses.due("AROAEXAMPLE")
    assert uses.due("AROAEXAMPLE")  # the retry on a thread still writes it
    assert not uses.due("AROAEXAMPLE")
