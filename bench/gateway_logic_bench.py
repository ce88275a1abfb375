"""Where the gateway's CPU goes: its own logic apart from the exchange with the backend.

gateway_bench.py measures the server process as clients see it. This one calls Ostiary's ASGI app in one
process, on one prepared request of each case, one call after another, and reads the thread's CPU time:
once with the backend answering from memory (a canned answer of the same size, no socket: what
authenticating, identifying, deciding, recording, re-signing and answering cost), once with
`constant_backend.py` over a kept-alive TCP connection (plus what sending to a backend, waiting for it
and reading its answer cost this thread: system calls, the event loop going idle and waking, caches
cooled by the other processes). The HTTP server in front (uvicorn) is not in either figure:
gateway_bench's floor measures it. The server's data folder is made by `ostiary serve` first (the
bench user, its policy and key), then opened here.

    python bench/gateway_logic_bench.py [--calls 2000] [--rounds 7]
    python bench/gateway_logic_bench.py --against ../other-checkout [--calls 300] [--rounds 15]

`--against` compares this checkout with another (a git worktree of the commit before a change, say): each
runs in a process of its own (the other with its own `ostiary` on PYTHONPATH and its own data folder),
and the two take turns, `calls` calls each, round after round, so that a busy spell on a shared machine
falls on both; the table gives each one's median and the median of the rounds' ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import uvloop
from api_bench import _free_port, _wait
from botocore.credentials import Credentials
from gateway_bench import CASES, OBJECT, ROOT_KEY, ROOT_SECRET, bench_user, signed, start_backend


class _CannedAnswer:
    """A backend's answer already in memory: what the in-memory runs get instead of the exchange."""

    def __init__(self, case: str) -> None:
        if case.startswith("DynamoDB"):
            self.body = b'{"Item":{"pk":{"S":"k"},"value":{"S":"' + b"v" * 64 + b'"}}}'
            kind = "application/x-amz-json-1.0"
        else:
            self.body = OBJECT if "Get" in case else b""
            kind = "binary/octet-stream"
        self.status = 200
        self.headers = (
            ("content-type", kind),
            ("content-length", str(len(self.body))),
            ("x-amz-request-id", "0123456789ABCDEF"),
            ("etag", '"0123456789abcdef0123456789abcdef"'),
        )

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name), None)

    async def read(self, limit: int | None = None) -> bytes:
        return self.body

    async def pieces(self, size: int = 65536) -> Any:
        yield self.body

    def release(self) -> None:
        pass


def scope_of(raw: bytes, port: int) -> tuple[dict[str, Any], bytes]:
    """The ASGI scope and body of a raw HTTP/1.1 request."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    method, target, _ = lines[0].split(b" ")
    path, _, query = target.partition(b"?")
    headers = [(k.strip().lower(), v.strip()) for k, _, v in (line.partition(b":") for line in lines[1:])]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method.decode(),
        "scheme": "http",
        "path": path.decode(),
        "raw_path": path,
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", port),
    }
    return scope, body


async def measure(calls: int, rounds: int, requests: dict[str, tuple[dict[str, Any], bytes]]) -> None:
    from ostiary.app import app_from_environment
    from ostiary.trail import recorder as trail_recorder

    app = app_from_environment()
    backend = app.gateway._backend
    real_open = backend.open
    found: dict[tuple[str, str], list[float]] = {}
    for case, (scope, body) in requests.items():
        statuses: list[int] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}  # noqa: B023

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])  # noqa: B023

        answer = _CannedAnswer(case)

        async def canned(*_: Any) -> _CannedAnswer:
            return answer  # noqa: B023

        for label, opener in (("in memory", canned), ("constant backend", real_open)):
            backend.open = opener  # type: ignore[method-assign]
            for _ in range(300):
                await app(dict(scope), receive, send)
            gc.collect()
            for _ in range(rounds):
                began = time.thread_time()
                for _ in range(calls):
                    await app(dict(scope), receive, send)
                found.setdefault((case, label), []).append((time.thread_time() - began) / calls * 1e6)
        if set(statuses) != {200}:
            raise RuntimeError(f"{case}: answers {sorted(set(statuses))}")
    backend.open = real_open  # type: ignore[method-assign]
    recorder = trail_recorder.of(app.db)
    if recorder is not None:
        recorder.close()  # its segments moved before the data folder goes
    print(f"thread CPU µs per call of the ASGI app, median (min) of {rounds} rounds of {calls} calls")
    print(f"{'case':<22}{'in memory':>18}{'constant backend':>20}{'exchange':>10}")
    for case in requests:
        memory, real = found[(case, "in memory")], found[(case, "constant backend")]
        m, r = statistics.median(memory), statistics.median(real)
        print(f"{case:<22}{m:>11.0f} ({min(memory):.0f}){r:>13.0f} ({min(real):.0f}){r - m:>10.0f}")


async def take_turns(requests: dict[str, tuple[dict[str, Any], bytes]]) -> None:
    """`--child`: the app warmed up on every case both ways, then, for each line `case|mode|calls` read,
    the thread CPU µs per call of `calls` calls (mode `memory` or `backend`)."""
    from ostiary.app import app_from_environment
    from ostiary.trail import recorder as trail_recorder

    app = app_from_environment()
    backend = app.gateway._backend
    real_open = backend.open
    runs: dict[tuple[str, str], Callable[[], Coroutine[Any, Any, None]]] = {}
    for case, (scope, body) in requests.items():
        answer = _CannedAnswer(case)
        for mode in ("memory", "backend"):
            canned = answer if mode == "memory" else None
            runs[(case, mode)] = _one_call(app, backend, real_open, scope, body, canned)
            for _ in range(300):
                await runs[(case, mode)]()
    backend.open = real_open  # type: ignore[method-assign]
    gc.collect()
    loop = asyncio.get_running_loop()
    print("ready", flush=True)
    while line := (await loop.run_in_executor(None, sys.stdin.readline)).strip():
        case, mode, calls = line.split("|")
        run = runs[(case, mode)]
        began = time.thread_time()
        for _ in range(int(calls)):
            await run()
        print((time.thread_time() - began) / int(calls) * 1e6, flush=True)
    recorder = trail_recorder.of(app.db)
    if recorder is not None:
        recorder.close()  # its segments moved before the data folder goes


def _one_call(
    app: Any,
    backend: Any,
    real_open: Any,
    scope: dict[str, Any],
    body: bytes,
    answer: _CannedAnswer | None,
) -> Callable[[], Coroutine[Any, Any, None]]:
    """One call of the app on a prepared request, the backend's answer canned (`answer`) or real
    (`real_open`, the backend's own `open`)."""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"answered {message['status']}")

    async def canned(*_: Any) -> _CannedAnswer:
        return answer  # type: ignore[return-value]

    async def call() -> None:
        backend.open = canned if answer is not None else real_open
        await app(dict(scope), receive, send)

    return call


def compare(other: str, calls: int, rounds: int) -> None:
    """This checkout against `other`, taking turns (`--against`)."""
    here = str(Path(__file__).resolve().parent.parent)
    children = {}
    for name, root in (("this", here), ("other", str(Path(other).resolve()))):
        env = dict(os.environ, PYTHONPATH=root)
        child = subprocess.Popen(
            [sys.executable, __file__, "--child"],
            cwd=root,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert child.stdout is not None
        while (line := child.stdout.readline()) and line.strip() != "ready":
            pass
        if not line:
            raise RuntimeError(f"the {name} checkout's process ended before it was ready")
        children[name] = child

    def ask(name: str, case: str, mode: str) -> float:
        child = children[name]
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(f"{case}|{mode}|{calls}\n")
        child.stdin.flush()
        return float(child.stdout.readline())

    print(f"thread CPU µs per call of the ASGI app: medians of {rounds} turns of {calls} calls each")
    print(f"this: {here}\nother: {other}")
    print(f"{'case':<22}{'backend':<18}{'this':>7}{'other':>7}{'this/other':>12}")
    try:
        for case in CASES:
            for mode, label in (("memory", "in memory"), ("backend", "constant backend")):
                found: dict[str, list[float]] = {"this": [], "other": []}
                for turn in range(rounds):
                    for name in ("this", "other") if turn % 2 == 0 else ("other", "this"):
                        found[name].append(ask(name, case, mode))
                ratio = statistics.median(a / b for a, b in zip(found["this"], found["other"], strict=True))
                this, that = statistics.median(found["this"]), statistics.median(found["other"])
                print(f"{case:<22}{label:<18}{this:>7.0f}{that:>7.0f}{ratio:>12.3f}", flush=True)
    finally:
        for child in children.values():
            assert child.stdin is not None
            child.stdin.close()
            child.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=None, help="calls a round (2000; 300 with --against)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (7; 15 with --against)")
    parser.add_argument("--against", metavar="CHECKOUT", help="compare with another checkout, taking turns")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.against:
        compare(args.against, args.calls or 300, args.rounds or 15)
        return
    with tempfile.TemporaryDirectory() as tmp:
        backend = start_backend()
        url = f"http://127.0.0.1:{backend.port}"
        port = _free_port()
        env = dict(os.environ, OSTIARY_ROOT_ACCESS_KEY_ID=ROOT_KEY)
        env["OSTIARY_ROOT_SECRET_ACCESS_KEY"] = ROOT_SECRET
        command = [sys.executable, "-m", "ostiary", "serve", "--port", str(port), "--data-dir", tmp]
        server = subprocess.Popen(
            [*command, "--backend", f"s3={url}", "--backend", f"dynamodb={url}", "--log-level", "warning"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait(port, server)
            keys = Credentials(*bench_user(port))
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)
        os.environ.update(env, OSTIARY_DATA_DIR=tmp, OSTIARY_BACKENDS=f"s3={url},dynamodb={url}")
        requests = {case: scope_of(signed(case, port, keys), port) for case in CASES}
        try:
            uvloop.install()
            if args.child:
                asyncio.run(take_turns(requests))
            else:
                asyncio.run(measure(args.calls or 2000, args.rounds or 7, requests))
        finally:
            backend.process.terminate()


if __name__ == "__main__":
    main()
