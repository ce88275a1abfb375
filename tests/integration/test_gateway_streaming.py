"""A gigabyte up and down through the gateway keeps the server's memory flat: bodies stream, they are
never held whole. The backend (bench/constant_backend.py) drops uploads and makes up downloads."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Server, free_port, start_server, stop_server, wait_for_port

GIB = 1024**3
MAX_GROWTH_BYTES = 96 * 1024 * 1024  # the peak resident size may grow by this much, whatever the body


@pytest.fixture(scope="module")
def constant_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("constant") / "backend.log"
    script = Path(__file__).parents[2] / "bench" / "constant_backend.py"
    process = subprocess.Popen(
        [sys.executable, str(script), str(port)], stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    wait_for_port(port, process, log)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def gateway(constant_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("ostiary-streaming")
    server = start_server(
        data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite", "--backend", f"s3={constant_backend}"
    )
    yield server
    stop_server(server)


def _peak_resident_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak memory from /proc")
def test_a_gibibyte_up_and_down_keeps_the_servers_memory_flat(gateway: Server, tmp_path: Path) -> None:
    s3: Any = gateway.client("s3")
    s3.get_object(Bucket="any", Key="warm")["Body"].read()  # the S3 path's code and models loaded
    before = _peak_resident_bytes(gateway.process.pid)

    upload = tmp_path / "gib.bin"
    with upload.open("wb") as sparse:
        sparse.truncate(GIB)
    with upload.open("rb") as body:
        answer = s3.put_object(Bucket="any", Key="gib", Body=body)
    assert answer["ResponseMetadata"]["HTTPHeaders"]["x-constant-received"] == str(GIB)

    received = 0
    stream = s3.get_object(Bucket="any", Key=f"size-{GIB}")["Body"]
    for piece in stream.iter_chunks(1024 * 1024):
        received += len(piece)
    assert received == GIB

    growth = _peak_resident_bytes(gateway.process.pid) - before
    assert growth < MAX_GROWTH_BYTES, f"the peak resident size grew by {growth / 2**20:.0f} MiB"
