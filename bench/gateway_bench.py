"""The gateway's own cost: requests through `ostiary serve --backend ...` against the same backend
reached directly, and the gateway's CPU per request; then a GiB streamed up and down.

The backend is `constant_backend.py` (it answers at once and costs next to nothing), so what the gateway
adds is what is measured. The caller is an IAM user whose inline policy allows the calls, so every request
through the gateway is authenticated, identified, decided by the engine, re-signed and forwarded. Client
processes sign their requests before the clock starts (api_bench.py's load generator) and send them on
kept-alive connections. CPU is the Ostiary process's user+system time over the run, per request, and
apart that of its child process, the audit trail's writer.

    python bench/gateway_bench.py [--seconds 3] [--rounds 3] [--stream-mib 1024]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any

import boto3
from api_bench import Client, Target, _free_port, _wait, children_cpu_seconds, cpu_seconds, start_floor
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

ROOT_KEY, ROOT_SECRET = "AKIAOSTIARYBENCHROOT", "bench/secret/0123456789abcdefghijklmnopq"
OBJECT = bytes(range(256)) * 16  # 4 KiB
CASES = ("S3 GetObject 4 KiB", "S3 PutObject 4 KiB", "DynamoDB GetItem")
_BATCH = 200
# The trail's writer holds a segment up to 1 s for others to share its transaction: its CPU is read once
# it has moved what the measured requests recorded.
WRITER_SETTLE_SECONDS = 1.5


def start_backend() -> Target:
    port = _free_port()
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "constant_backend.py")
    proc = subprocess.Popen([sys.executable, script, str(port)], stdout=subprocess.DEVNULL)
    _wait(port, proc)
    return Target("backend", port, proc)


def start_gateway(tmp: str, backend_port: int) -> Target:
    port = _free_port()
    env = dict(os.environ, OSTIARY_ROOT_ACCESS_KEY_ID=ROOT_KEY, OSTIARY_ROOT_SECRET_ACCESS_KEY=ROOT_SECRET)
    backend = f"http://127.0.0.1:{backend_port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ostiary", "serve", "--port", str(port), "--data-dir", tmp]
        + ["--backend", f"s3={backend}", "--backend", f"dynamodb={backend}", "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    _wait(port, proc)
    return Target("gateway", port, proc)


def bench_user(port: int) -> tuple[str, str]:
    """An IAM user allowed what the cases call; its access key."""
    iam = boto3.client(
        "iam",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id=ROOT_KEY,
        aws_secret_access_key=ROOT_SECRET,
        config=Config(retries={"max_attempts": 1}),
    )
    name = f"bench-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": "arn:aws:s3:::bench-bucket/*",
            },
            {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "arn:aws:dynamodb:*:*:table/bench"},
        ],
    }
    iam.put_user_policy(UserName=name, PolicyName="bench", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def _raw(request: AWSRequest, path: str) -> bytes:
    head = "".join(f"{k}: {v}\r\n" for k, v in request.headers.items())
    body = request.body or b""
    body = body.encode() if isinstance(body, str) else body
    return f"{request.method} {path} HTTP/1.1\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


def signed(case: str, port: int, creds: Credentials) -> bytes:
    """One request of `case`, signed now for 127.0.0.1:`port`."""
    host = f"127.0.0.1:{port}"
    if case.startswith("S3"):
        method, path, body = ("GET", "/bench-bucket/object", b"")
        if "Put" in case:
            method, body = "PUT", OBJECT
        request = AWSRequest(method, f"http://{host}{path}", data=body, headers={"Host": host})
        S3SigV4Auth(creds, "s3", "us-east-1").add_auth(request)
        return _raw(request, path)
    body = json.dumps({"TableName": "bench", "Key": {"pk": {"S": "k"}}}).encode()
    headers = {
        "Host": host,
        "X-Amz-Target": "DynamoDB_20120810.GetItem",
        "Content-Type": "application/x-amz-json-1.0",
    }
    request = AWSRequest("POST", f"http://{host}/", data=body, headers=headers)
    SigV4Auth(creds, "dynamodb", "us-east-1").add_auth(request)
    return _raw(request, "/")


def _worker(
    port: int, case: str, keys: tuple[str, str], seconds: float, ready: Any, go: Any, out: Any
) -> None:
    client = Client(port)
    batch = [signed(case, port, Credentials(*keys)) for _ in range(_BATCH)]
    done = errors = 0
    ready.put(True)
    go.wait()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        errors += client.send(batch[done % _BATCH]) != 200
        done += 1
    out.put((done, errors))


def measure(
    target: Target, case: str, clients: int, seconds: float, keys: tuple[str, str]
) -> tuple[float, float, float, int]:
    """(requests/s, CPU µs per request of the target's process, of its child processes, non-200 count)."""
    out: Any = mp.Queue()
    ready: Any = mp.Queue()
    go = mp.Event()
    procs = [
        mp.Process(target=_worker, args=(target.port, case, keys, seconds, ready, go, out))
        for _ in range(clients)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get()
    pid = target.process.pid
    cpu, children = cpu_seconds(pid), children_cpu_seconds(pid)
    go.set()
    results = [out.get() for _ in procs]
    cpu = cpu_seconds(pid) - cpu
    for proc in procs:
        proc.join()
    time.sleep(WRITER_SETTLE_SECONDS)  # the trail writer moves what it held back: counted with these requests
    children = children_cpu_seconds(pid) - children
    done = max(sum(r[0] for r in results), 1)
    return done / seconds, cpu / done * 1e6, children / done * 1e6, sum(r[1] for r in results)


def stream(port: int, creds: Credentials, mib: int, *, signed_payload: bool) -> tuple[float, float]:
    """MB/s of a `mib` MiB upload (payload hash declared, or UNSIGNED-PAYLOAD) and of a download."""
    piece = bytes(range(256)) * 4096  # 1 MiB
    size = mib * 1024 * 1024
    host = f"127.0.0.1:{port}"
    request = AWSRequest("PUT", f"http://{host}/bench-bucket/stream", data=b"", headers={"Host": host})
    digest = hashlib.sha256()
    for _ in range(mib):
        digest.update(piece)
    payload_hash = digest.hexdigest() if signed_payload else "UNSIGNED-PAYLOAD"

    class _Declared(S3SigV4Auth):  # type: ignore[misc]
        def payload(self, request: AWSRequest) -> str:
            return payload_hash

    _Declared(creds, "s3", "us-east-1").add_auth(request)
    head = "".join(f"{k}: {v}\r\n" for k, v in request.headers.items())
    with socket.create_connection(("127.0.0.1", port)) as sock:
        started = time.perf_counter()
        sock.sendall(f"PUT /bench-bucket/stream HTTP/1.1\r\n{head}Content-Length: {size}\r\n\r\n".encode())
        for _ in range(mib):
            sock.sendall(piece)
        answer = sock.recv(65536)
        up = size / (time.perf_counter() - started) / 1e6
    if not answer.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"the upload failed: {answer[:300]!r}")
    get = AWSRequest("GET", f"http://{host}/bench-bucket/size-{size}", headers={"Host": host})
    S3SigV4Auth(creds, "s3", "us-east-1").add_auth(get)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        started = time.perf_counter()
        sock.sendall(_raw(get, f"/bench-bucket/size-{size}"))
        received = 0
        while received < size:
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            received += len(chunk)
        down = received / (time.perf_counter() - started) / 1e6
    return up, down


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stream-mib", type=int, default=1024)
    args = parser.parse_args()
    runs: dict[tuple[str, str, int], list[tuple[float, float, float]]] = {}
    errors = 0
    with tempfile.TemporaryDirectory() as tmp:
        backend = start_backend()
        gateway = start_gateway(tmp, backend.port)
        floor = start_floor()
        try:
            keys = bench_user(gateway.port)
            for case in CASES:
                for clients in (1, 8):
                    for _ in range(args.rounds):  # they take turns: a slow spell hits all
                        for target in (gateway, backend, floor):
                            rate, cpu, writer, failed = measure(target, case, clients, args.seconds, keys)
                            runs.setdefault((case, target.name, clients), []).append((rate, cpu, writer))
                            errors += failed
            creds = Credentials(*keys)
            streamed = {
                (name, signed_payload): stream(
                    target.port, creds, args.stream_mib, signed_payload=signed_payload
                )
                for name, target in (("gateway", gateway), ("backend", backend))
                for signed_payload in (False, True)
            }
        finally:
            for target in (gateway, backend, floor):
                target.process.terminate()
                target.process.wait(timeout=10)
    print(f"median of {args.rounds} measurements of {args.seconds:g} s each; backend: constant_backend.py")
    print("floor: uvicorn with Ostiary's options answering a constant (floor_app.py), the HTTP stack's own")
    print("CPU per request; gateway CPU is the Ostiary server process's (user + system) per request,")
    print("trail writer the CPU of its child process that inserts the audit trail's records (at nice 10)")
    print(
        f"{'case':<22}{'clients':>8}{'gateway req/s':>15}{'direct req/s':>14}{'gateway CPU µs/req':>20}"
        f"{'trail writer µs/req':>21}{'floor CPU µs/req':>18}"
    )
    for case in CASES:
        for clients in (1, 8):
            through = runs[(case, "gateway", clients)]
            direct = runs[(case, "backend", clients)]
            rate = statistics.median(r for r, _, _ in through)
            cpu = statistics.median(c for _, c, _ in through)
            writer = statistics.median(w for _, _, w in through)
            direct_rate = statistics.median(r for r, _, _ in direct)
            floor_cpu = statistics.median(c for _, c, _ in runs[(case, "floor", clients)])
            print(
                f"{case:<22}{clients:>8}{rate:>15.0f}{direct_rate:>14.0f}{cpu:>20.0f}{writer:>21.0f}"
                f"{floor_cpu:>18.0f}"
            )
    print(f"\n{args.stream_mib} MiB streamed, MB/s     up (UNSIGNED-PAYLOAD)  up (SHA-256 declared)     down")
    for name in ("gateway", "backend"):
        unsigned_up, down = streamed[(name, False)]
        signed_up, _ = streamed[(name, True)]
        print(f"{name:<28}{unsigned_up:>18.0f}{signed_up:>23.0f}{down:>10.0f}")
    if errors:
        print(f"non-200 answers: {errors}")


if __name__ == "__main__":
    main()
