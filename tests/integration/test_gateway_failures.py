"""A backend that is down, silent or breaks off: the client gets AWS's 503 in the service's shape within
the backend timeout, never a hang, and the server goes on serving."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, free_port, start_server, stop_server

TIMEOUT_SECONDS = 1


class _Backend:
    """A TCP server that accepts and then stays silent, or answers half an answer and closes."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self.behaviour == "silent":
                self.held.append(conn)  # never answered, never closed
                continue
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\ncontent-type: text/plain\r\n\r\nonly part"
            )
            conn.close()

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture(scope="module")
def backends() -> Iterator[dict[str, str]]:
    silent, broken = _Backend("silent"), _Backend("broken")
    yield {
        "silent": f"http://127.0.0.1:{silent.port}",
        "broken": f"http://127.0.0.1:{broken.port}",
        "down": f"http://127.0.0.1:{free_port()}",
    }
    silent.close()
    broken.close()


@pytest.fixture(scope="module")
def gateway(backends: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("ostiary-failures")
    server = start_server(
        data_dir,
        f"sqlite:///{data_dir / 'ostiary.db'}",
        "sqlite",
        "--backend",
        f"dynamodb={backends['silent']}",
        "--backend",
        f"s3={backends['silent']}",
        "--backend",
        f"kms={backends['down']}",
        "--backend",
        f"sqs={backends['broken']}",
        env_extra={"OSTIARY_BACKEND_TIMEOUT": str(TIMEOUT_SECONDS)},
    )
    yield server
    stop_server(server)


def _refused(call: Any, **params: Any) -> tuple[str, int, float]:
    started = time.monotonic()
    with pytest.raises(ClientError) as refused:
        call(**params)
    response = refused.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        time.monotonic() - started,
    )


def test_a_silent_backend_answers_503_after_the_timeout(gateway: Server) -> None:
    code, status, took = _refused(gateway.client("dynamodb").list_tables)
    assert (code, status) == ("ServiceUnavailableException", 503)
    assert took < TIMEOUT_SECONDS + 10
    code, status, _ = _refused(gateway.client("s3").get_object, Bucket="b", Key="k")
    assert (code, status) == ("ServiceUnavailable", 503)


def test_a_backend_that_is_down_answers_503(gateway: Server) -> None:
    code, status, _ = _refused(gateway.client("kms").list_keys)
    assert (code, status) == ("ServiceUnavailableException", 503)


def test_a_backend_that_breaks_off_answers_503(gateway: Server) -> None:
    code, status, _ = _refused(gateway.client("sqs").list_queues)
    assert status == 503, code


def test_the_server_goes_on_serving(gateway: Server) -> None:
    threads = [
        threading.Thread(target=lambda: _refused(gateway.client("dynamodb").list_tables)) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    assert gateway.client("sts").get_caller_identity()["Account"] == gateway.account_id  # not queued behind
    for thread in threads:
        thread.join()
