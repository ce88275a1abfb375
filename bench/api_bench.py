"""Signed IAM requests per second: Ostiary against moto's server, started the same way in one run.

Each server runs on a free loopback port. Each client process signs its requests with SigV4
(botocore's signer) before the clock starts, then sends them over a kept-alive HTTP connection, so
the servers, not the load generator, set the pace; the 8-client case uses 8 processes. Prints requests
per second for GetUser, ListUsers (1,000 users in the account) and CreateUser, and Ostiary/moto.
Both servers run at once and take turns, case by case, `--rounds` times; each figure is the median of
its measurements, so a slow spell of a shared machine does not land on one server only. A third
server, uvicorn answering a constant (`floor_app.py`), takes its turn too: the rate no server on
Ostiary's HTTP stack can pass on this machine.

    python bench/api_bench.py [--seconds 3] [--rounds 3] [--users 1000] [--workers 1]
"""

from __future__ import annotations

import argparse
import glob
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

KEY, SECRET = "AKIAOSTIARYBENCHROOT", "bench/secret/0123456789abcdefghijklmnopq"
CREDS = Credentials(KEY, SECRET)
_MAX_RATE = 40_000  # requests/s no server here reaches: sizes the batch each client signs beforehand


@dataclass
class Target:
    name: str
    port: int
    process: subprocess.Popen[bytes]


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds(pid: int) -> float:
    """The CPU time of a process's children so far (Ostiary's: the trail's writer process)."""
    total = 0.0
    for tasks in glob.glob(f"/proc/{pid}/task/*/children"):
        with open(tasks) as found:
            for child in found.read().split():
                try:
                    total += cpu_seconds(int(child))
                except (FileNotFoundError, ProcessLookupError):
                    pass
    return total


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError("server exited early")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def start_ostiary(tmp: str, workers: int = 1) -> Target:
    port = _free_port()
    env = dict(os.environ, OSTIARY_ROOT_ACCESS_KEY_ID=KEY, OSTIARY_ROOT_SECRET_ACCESS_KEY=SECRET)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ostiary",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            tmp,
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait(port, proc)
    return Target("ostiary", port, proc)


def start_floor() -> Target:
    """uvicorn answering a constant with Ostiary's server options (`floor_app.py`)."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "floor_app.py"), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait(port, proc)
    return Target("floor", port, proc)


def start_moto() -> Target:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait(port, proc)
    return Target("moto", port, proc)


class Client:
    """A light load generator: one kept-alive socket sending requests signed and serialized
    beforehand, so the timed loop costs the client little and the servers set the pace."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None

    def sign(self, action: str, **params: str) -> bytes:
        """The whole HTTP request, signed with SigV4 now."""
        body = urlencode({"Action": action, "Version": "2010-05-08", **params})
        host = f"127.0.0.1:{self.port}"
        req = AWSRequest(
            "POST",
            f"http://{host}/",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "Host": host},
        )
        SigV4Auth(CREDS, "iam", "us-east-1").add_auth(req)
        head = "".join(f"{k}: {v}\r\n" for k, v in req.headers.items())
        return f"POST / HTTP/1.1\r\n{head}Content-Length: {len(body)}\r\n\r\n{body}".encode()

    def send(self, request: bytes) -> int:
        """Send one request and read its whole response; the HTTP status."""
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            data += self._recv()
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            rest += self._recv()
        keep = lines[0].startswith("HTTP/1.1") and headers.get("connection", "").lower() != "close"
        if not keep:
            self.sock.close()
            self.sock = None
        return int(lines[0].split()[1])

    def _recv(self) -> bytes:
        assert self.sock is not None  # send() connects first
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk

    def call(self, action: str, **params: str) -> int:
        return self.send(self.sign(action, **params))


def _signed(name: str, client: Client, i: int, tag: str) -> bytes:
    if name == "GetUser":
        return client.sign("GetUser", UserName="bench-user-0001")
    if name == "ListUsers":
        return client.sign("ListUsers")
    return client.sign("CreateUser", UserName=f"bench-new-{tag}-{i}")


def _worker(
    port: int, name: str, clients: int, seconds: float, ready: mp.Queue, go: Any, out: mp.Queue, tag: str
) -> None:
    client = Client(port)
    unique = name == "CreateUser"  # each CreateUser needs its own name; reads may repeat a request
    size = int(seconds * _MAX_RATE / clients) + 10 if unique else 200
    batch = [_signed(name, client, i, tag) for i in range(size)]
    done = errors = 0
    ready.put(True)
    go.wait()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        if unique and done == size:
            raise RuntimeError(f"the client ran out of signed requests ({errors} not 200): raise _MAX_RATE")
        status = client.send(batch[done % size])
        done += 1
        errors += status != 200
    out.put((done, errors))


def measure(port: int, name: str, clients: int, seconds: float) -> tuple[float, int]:
    """Requests per second over `seconds`, with `clients` processes; also the count of non-200s."""
    queue: mp.Queue = mp.Queue()
    ready: mp.Queue = mp.Queue()
    go = mp.Event()  # set once every worker has signed its batch
    procs = [
        mp.Process(
            target=_worker,
            args=(port, name, clients, seconds, ready, go, queue, f"{uuid.uuid4().hex[:6]}{c}"),
        )
        for c in range(clients)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get()
    go.set()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    return sum(r[0] for r in results) / seconds, sum(r[1] for r in results)


def seed_users(port: int, count: int) -> None:
    client = Client(port)
    for i in range(count):
        status = client.call("CreateUser", UserName=f"bench-user-{i:04d}")
        if status != 200:
            raise RuntimeError(f"seeding user {i} failed with HTTP {status}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each case on each server")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1, help="Ostiary's server processes (moto has one)")
    args = parser.parse_args()
    cases = [(op, n) for op in ("GetUser", "ListUsers", "CreateUser") for n in (1, 8)]
    runs: dict[str, dict[tuple[str, int], list[float]]] = {"ostiary": {}, "moto": {}, "floor": {}}
    errors = {"ostiary": 0, "moto": 0, "floor": 0}
    with tempfile.TemporaryDirectory() as tmp:
        targets: dict[str, Target] = {}
        try:
            targets["ostiary"] = start_ostiary(tmp, args.workers)
            targets["moto"] = start_moto()
            for target in targets.values():
                seed_users(target.port, args.users)
            targets["floor"] = start_floor()
            for case in cases:  # the servers take turns, so a slow spell of the machine hits both
                for _ in range(args.rounds):
                    for name, target in targets.items():
                        rate, failed = measure(target.port, case[0], case[1], args.seconds)
                        runs[name].setdefault(case, []).append(rate)
                        errors[name] += failed
        finally:
            for target in targets.values():
                target.process.terminate()
                target.process.wait(timeout=10)
    print(f"median of {args.rounds} measurements of {args.seconds:g} s each, the servers taking turns")
    print("floor: uvicorn with Ostiary's options answering a constant, and that rate over moto's")
    print(
        f"{'operation':<12}{'clients':>8}{'ostiary req/s':>16}{'moto req/s':>14}{'ratio':>9}"
        f"{'floor req/s':>14}{'floor/moto':>12}"
    )
    for case in cases:
        o, m, f = (statistics.median(runs[name][case]) for name in ("ostiary", "moto", "floor"))
        ratios = f"{_ratio(o, m):>8.1f}x{f:>14.0f}{_ratio(f, m):>11.1f}x"
        print(f"{case[0]:<12}{case[1]:>8}{o:>16.0f}{m:>14.0f}{ratios}")
    if any(errors.values()):
        print("non-200 answers: " + ", ".join(f"{name} {count}" for name, count in errors.items()))


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("inf")


if __name__ == "__main__":
    main()
