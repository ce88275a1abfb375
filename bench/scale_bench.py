"""Latency and memory as an account grows: 1,000 users, then 100,000, on SQLite and PostgreSQL (issue 16).

For each store the bench starts `ostiary serve` once (it migrates the store and makes the account and
its root key), then grows one account to each size in turn and, at each size, starts a fresh server
on it and times single requests, one at a time, with a kept-alive connection:

- GetUser, GetPolicy, AssumeRole: random existing names;
- ListUsers: consecutive pages of 100, following the Markers;
- GetAccountAuthorizationDetails: consecutive pages of 100 (every section);
- GetAccountSummary;
- AttachUserPolicy: a second policy onto distinct users;
- GetCallerIdentity, alone and while three other clients page ListUsers without pause (the event
  loop: a slow request served on it holds up every other client);
- a gateway decision: DynamoDB GetItem by an IAM user of the account, authorized by the engine and
  forwarded to `constant_backend.py` (which answers at once), through `--backend dynamodb=...`.

It prints p50 and p99 in milliseconds and the server's memory (resident set at the end, and its peak)
per store and size, in one table. Times include the HTTP round trip; signing happens before the clock.

**The bulk load** goes through the store's own functions, not the API: `users.insert_many`,
`roles.insert_many`, `policies.insert` and `policies.attach_many`, in transactions of
`--batch` rows, from this process while no server runs. An account of N users gets N/10 roles and
N/10 customer managed policies (the issue's 1,000,000 / 100,000 / 100,000); user i has policy
i mod P attached, and every tenth user has a permissions boundary (policy (i/10) mod P), so each
policy has about ten attachments and one boundary use whatever the size: the work a request must do
stays the same, and any growth is the store's. Roles trust the account's root. A PostgreSQL load ends
as an operator's restore does, with VACUUM (ANALYZE), then a CHECKPOINT (`settle_postgresql`).

Each server is timed once it is idle (`Server.settle`). `--ops` times only some operations (names as
printed); `--trace FILE` appends every timed call (store, size, operation, when it was sent, ms), to
set its slow calls against other events (a collection, the trail's flush).

PostgreSQL runs in a throwaway database `scale_<random>` on `--pg-url`, dropped afterwards; SQLite in
a temporary folder. `--source DIR` runs the server from another checkout (its `ostiary` package), to
compare before and after a change on the same data (the bulk load always uses this checkout's store,
after that server has migrated the database).

    python bench/scale_bench.py [--sizes 1000,100000] [--stores sqlite,postgresql] [--calls 400]
                                [--ops "GetUser,AssumeRole"] [--trace calls.tsv]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KEY, SECRET = "AKIAOSTIARYSCALEROOT", "scale/secret/0123456789abcdefghijklmnopq"
ACCOUNT = "123456789012"
_VERSIONS = {"iam": "2010-05-08", "sts": "2011-06-15"}
_DOCUMENT = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
)
_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


def user_name(i: int) -> str:
    return f"scale-user-{i:07d}"


def role_name(i: int) -> str:
    return f"scale-role-{i:06d}"


def policy_name(i: int) -> str:
    return f"scale-policy-{i:06d}"


def policy_arn(i: int) -> str:
    return f"arn:aws:iam::{ACCOUNT}:policy/{policy_name(i)}"


def counts(users: int) -> tuple[int, int]:
    """The roles and policies of an account of `users` users."""
    return max(users // 10, 10), max(users // 10, 10)


# -- the bulk load ----------------------------------------------------------------------------------


def bulk_load(url: str, start: int, users: int, batch: int) -> float:
    """Grow the account from `start` users (and their roles and policies) to `users`; seconds taken."""
    from ostiary.store import policies as policy_store
    from ostiary.store import roles as role_store
    from ostiary.store import users as user_store
    from ostiary.store.db import Database

    db = Database(url, pool=False)
    began = time.perf_counter()
    now = datetime.now(UTC)
    roles_from, policies_from = counts(start) if start else (0, 0)
    roles_to, policies_to = counts(users)
    for low in range(policies_from, policies_to, batch):
        with db.transaction() as conn:
            for i in range(low, min(low + batch, policies_to)):
                policy_store.insert(
                    conn,
                    policy_id=f"ANPASCALE{i:012d}",
                    account_id=ACCOUNT,
                    name=policy_name(i),
                    path="/",
                    description=None,
                    document=_DOCUMENT,
                    now=now,
                )
    for low in range(roles_from, roles_to, batch):
        rows = [
            {
                "role_id": f"AROASCALE{i:012d}",
                "account_id": ACCOUNT,
                "name": role_name(i),
                "path": "/",
                "trust_policy": _TRUST,
                "max_session_duration": 3600,
                "created_at": now,
            }
            for i in range(low, min(low + batch, roles_to))
        ]
        with db.transaction() as conn:
            role_store.insert_many(conn, rows)
    for low in range(start, users, batch):
        span = range(low, min(low + batch, users))
        user_rows = [
            {
                "user_id": f"AIDASCALE{i:012d}",
                "account_id": ACCOUNT,
                "name": user_name(i),
                "path": "/",
                "permissions_boundary": policy_arn((i // 10) % policies_to) if i % 10 == 0 else None,
                "created_at": now,
            }
            for i in span
        ]
        attachments = [
            {
                "policy_id": f"ANPASCALE{i % policies_to:012d}",
                "entity_type": "user",
                "entity_id": f"AIDASCALE{i:012d}",
                "account_id": ACCOUNT,
                "position": 1,
            }
            for i in span
        ]
        with db.transaction() as conn:
            user_store.insert_many(conn, user_rows)
            policy_store.attach_many(conn, attachments)
    if url.startswith("postgresql"):  # what an operator's restore ends with: see `settle_postgresql`
        settle_postgresql(db)
    else:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    db.dispose()
    return time.perf_counter() - began


def settle_postgresql(db: Any) -> None:
    """VACUUM (ANALYZE), then CHECKPOINT: the state a restore of this many rows is served in.

    Without them the first requests pay for the load: each freshly loaded page is marked (hint bits,
    the visibility map) by the first read of it, and a checkpoint that the load's WAL started spreads
    its writes over the next minutes, the measurement's; autovacuum (when on) would run a VACUUM over
    the new tables during it. `vacuumdb --analyze` after `pg_restore` is the operator's same step.
    """
    with db.engine.connect() as conn:
        auto = conn.execution_options(isolation_level="AUTOCOMMIT")
        auto.exec_driver_sql("VACUUM (ANALYZE)")
        auto.exec_driver_sql("CHECKPOINT")


# -- the server -------------------------------------------------------------------------------------


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]

    def memory_mb(self) -> tuple[float, float]:
        """(resident now, peak resident) of the server process, in MB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        found = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M))
        return int(found["VmRSS"]) / 1024, int(found["VmHWM"]) / 1024

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server and its child processes (the trail's writer)."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        ticks = 0
        for each in [str(pid), *children]:
            try:
                fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until the server is idle (its start-up over: the trail's writer process imports for
        half a second of CPU while the first requests would be timed), at most `timeout` seconds."""
        deadline, used = time.monotonic() + timeout, self.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(0.25)
            now = self.cpu_seconds()
            if now - used <= 0.01:
                return
            used = now

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_backend() -> subprocess.Popen[bytes]:
    """`constant_backend.py` on a free port (the port is the process's `args[-1]`)."""
    port = _free_port()
    script = Path(__file__).resolve().parent / "constant_backend.py"
    proc = subprocess.Popen([sys.executable, str(script), str(port)], stdout=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the constant backend did not start")


def start_server(source: Path, data_dir: Path, url: str, backend_port: int | None = None) -> Server:
    port = _free_port()
    env = dict(
        os.environ,
        OSTIARY_ROOT_ACCESS_KEY_ID=KEY,
        OSTIARY_ROOT_SECRET_ACCESS_KEY=SECRET,
        PYTHONPATH=os.pathsep.join(filter(None, [str(source), os.environ.get("PYTHONPATH")])),
    )
    command = [sys.executable, "-m", "ostiary", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    proc = subprocess.Popen(
        [*command, "--database-url", url, "--account-id", ACCOUNT]
        + ([f"--backend=dynamodb=http://127.0.0.1:{backend_port}"] if backend_port else []),
        cwd=source,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError("the server exited early")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            server = Server(port, proc)
            server.settle()
            return server
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


# -- the client -------------------------------------------------------------------------------------


class Client:
    """One kept-alive connection; requests are signed before the clock starts."""

    def __init__(self, port: int, key: str = KEY, secret: str = SECRET) -> None:
        self.port = port
        self.creds = Credentials(key, secret)
        self.sock: socket.socket | None = None
        self.began = 0.0  # when the last timed call was sent (seconds since the epoch)

    def sign(self, action: str, service: str = "iam", **params: str) -> bytes:
        body = urlencode({"Action": action, "Version": _VERSIONS[service], **params})
        host = f"127.0.0.1:{self.port}"
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "Host": host}
        req = AWSRequest("POST", f"http://{host}/", data=body, headers=headers)
        SigV4Auth(self.creds, service, "us-east-1").add_auth(req)
        head = "".join(f"{k}: {v}\r\n" for k, v in req.headers.items())
        return f"POST / HTTP/1.1\r\n{head}Content-Length: {len(body)}\r\n\r\n{body}".encode()

    def sign_get_item(self) -> bytes:
        """A DynamoDB GetItem, signed for the gateway."""
        body = json.dumps({"TableName": "scale", "Key": {"pk": {"S": "k"}}})
        host = f"127.0.0.1:{self.port}"
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.GetItem",
            "Host": host,
        }
        req = AWSRequest("POST", f"http://{host}/", data=body, headers=headers)
        SigV4Auth(self.creds, "dynamodb", "us-east-1").add_auth(req)
        head = "".join(f"{k}: {v}\r\n" for k, v in req.headers.items())
        return f"POST / HTTP/1.1\r\n{head}Content-Length: {len(body)}\r\n\r\n{body}".encode()

    def send(self, request: bytes) -> tuple[int, str]:
        """Send one request; (HTTP status, body). A connection the server closed while it sat idle
        (uvicorn's keep-alive timeout) is opened again, once."""
        for retry in (False, True):
            fresh = self.sock is None
            if self.sock is None:
                self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=300)
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                return self._exchange(self.sock, request)
            except OSError:
                self.sock.close()
                self.sock = None
                if fresh or retry:
                    raise
        raise AssertionError("unreachable")

    def _exchange(self, sock: socket.socket, request: bytes) -> tuple[int, str]:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            data += self._recv()
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        while len(rest) < length:
            rest += self._recv()
        return int(lines[0].split()[1]), rest.decode()

    def _recv(self) -> bytes:
        assert self.sock is not None
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk

    def call(self, action: str, service: str = "iam", **params: str) -> str:
        status, body = self.send(self.sign(action, service, **params))
        if status != 200:
            raise RuntimeError(f"{action} answered {status}: {body[:400]}")
        return body

    def timed(self, action: str, service: str = "iam", **params: str) -> tuple[float, str]:
        """(milliseconds, body) of one call that must succeed; `began` is when it was sent (epoch)."""
        request = self.sign(action, service, **params)
        self.began = time.time()
        began = time.perf_counter()
        status, body = self.send(request)
        elapsed = (time.perf_counter() - began) * 1000
        if status != 200:
            raise RuntimeError(f"{action} answered {status}: {body[:400]}")
        return elapsed, body


def _marker(body: str) -> str | None:
    found = re.search(r"<Marker>([^<]+)</Marker>", body)
    return found.group(1) if found else None


# -- the measurements -------------------------------------------------------------------------------


@dataclass
class Result:
    store: str
    users: int
    load_seconds: float
    times: dict[str, list[float]] = field(default_factory=dict)
    sent: dict[str, list[float]] = field(default_factory=dict)  # when each timed call was sent (epoch)
    memory: tuple[float, float] = (0.0, 0.0)


def _pages(client: Client, action: str, calls: int, sent: list[float]) -> list[float]:
    """Times of `calls` consecutive pages of `action`, starting again at the first after the last."""
    times, marker = [], None
    for _ in range(calls):
        extra = {"Marker": marker} if marker else {}
        elapsed, body = client.timed(action, MaxItems="100", **extra)
        times.append(elapsed)
        sent.append(client.began)
        marker = _marker(body)
    return times


def _pager(port: int, stop: Any) -> None:
    """A client paging ListUsers until told to stop (a process of its own)."""
    client = Client(port)
    marker = None
    while not stop.is_set():
        extra = {"Marker": marker} if marker else {}
        marker = _marker(client.call("ListUsers", MaxItems="100", **extra))


def _caller(root: Client) -> Client:
    """An IAM user allowed everything, with its own key: AssumeRole is refused to the root user."""
    name = f"scale-caller-{uuid.uuid4().hex[:8]}"
    root.call("CreateUser", UserName=name)
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    root.call("PutUserPolicy", UserName=name, PolicyName="all", PolicyDocument=json.dumps(document))
    body = root.call("CreateAccessKey", UserName=name)
    key = re.search(r"<AccessKeyId>([^<]+)<", body)
    secret = re.search(r"<SecretAccessKey>([^<]+)<", body)
    assert key and secret
    return Client(root.port, key.group(1), secret.group(1))


def _gateway_decisions(caller: Client, calls: int, sent: list[float]) -> list[float]:
    """Milliseconds of DynamoDB GetItems through the gateway (each decided by the engine)."""
    times = []
    for i in range(calls + 3):
        request = caller.sign_get_item()
        wall, began = time.time(), time.perf_counter()
        status, body = caller.send(request)
        elapsed = (time.perf_counter() - began) * 1000
        if status != 200:
            raise RuntimeError(f"GetItem answered {status}: {body[:400]}")
        if i >= 3:  # the first warm the caches
            times.append(elapsed)
            sent.append(wall)
    return times


OPERATIONS = (
    "GetUser",
    "ListUsers page",
    "GetPolicy",
    "AttachUserPolicy",
    "GAAD page",
    "GetAccountSummary",
    "AssumeRole",
    "GetCallerIdentity",
    "Gateway decision (GetItem)",
    "GetCallerIdentity, 3 pagers",
)


def measure(server: Server, users: int, calls: int, attach_from: int, ops: set[str], result: Result) -> None:
    """Time each operation of `ops` (names of OPERATIONS) into `result.times` and `result.sent`, each
    once the server is idle: the trail's writer inserts an operation's events after it (400 calls of
    GetCallerIdentity in a tenth of a second are a batch of 400 for the next 200 ms), which are not the
    next operation's cost."""
    rng = random.Random(users)
    root = Client(server.port)
    roles, policies = counts(users)
    times, sent = result.times, result.sent

    def each(
        name: str, make: Callable[[int], tuple[str, str, dict[str, str]]], n: int = calls, idle: bool = True
    ) -> None:
        client = caller if name == "AssumeRole" else root
        if idle:
            server.settle()
        for i in range(3):  # warm the connection and the server's caches for this operation
            action, service, params = make(-1 - i)
            client.timed(action, service, **params)
        times[name], sent[name] = [], []
        for i in range(n):
            action, service, params = make(i)
            times[name].append(client.timed(action, service, **params)[0])
            sent[name].append(client.began)

    def pages(name: str, action: str, n: int) -> None:
        server.settle()
        sent[name] = []
        times[name] = _pages(root, action, n, sent[name])

    caller = _caller(root)
    if "GetUser" in ops:
        each("GetUser", lambda i: ("GetUser", "iam", {"UserName": user_name(rng.randrange(users))}))
    if "ListUsers page" in ops:
        pages("ListUsers page", "ListUsers", calls)
    if "GetPolicy" in ops:
        each("GetPolicy", lambda i: ("GetPolicy", "iam", {"PolicyArn": policy_arn(rng.randrange(policies))}))
    attached = iter(range(attach_from, users))

    def attach(_: int) -> tuple[str, str, dict[str, str]]:
        i = next(attached)
        return (
            "AttachUserPolicy",
            "iam",
            {"UserName": user_name(i), "PolicyArn": policy_arn((i + 1) % policies)},
        )

    if "AttachUserPolicy" in ops:
        each("AttachUserPolicy", attach, min(calls, 100))
    if "GAAD page" in ops:
        pages("GAAD page", "GetAccountAuthorizationDetails", max(calls // 4, 20))
    if "GetAccountSummary" in ops:
        each("GetAccountSummary", lambda i: ("GetAccountSummary", "iam", {}), max(calls // 4, 20))
    session = f"s{uuid.uuid4().hex[:8]}"
    if "AssumeRole" in ops:
        each(
            "AssumeRole",
            lambda i: (
                "AssumeRole",
                "sts",
                {
                    "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/{role_name(rng.randrange(roles))}",
                    "RoleSessionName": session,
                },
            ),
        )
    if "GetCallerIdentity" in ops:
        each("GetCallerIdentity", lambda i: ("GetCallerIdentity", "sts", {}))
    if "Gateway decision (GetItem)" in ops:
        server.settle()
        sent["Gateway decision (GetItem)"] = []
        times["Gateway decision (GetItem)"] = _gateway_decisions(
            caller, calls, sent["Gateway decision (GetItem)"]
        )
    if "GetCallerIdentity, 3 pagers" not in ops:
        return
    server.settle()
    stop = mp.Event()
    pagers = [mp.Process(target=_pager, args=(server.port, stop)) for _ in range(3)]
    for p in pagers:
        p.start()
    time.sleep(1.0)
    each("GetCallerIdentity, 3 pagers", lambda i: ("GetCallerIdentity", "sts", {}), idle=False)
    stop.set()
    for p in pagers:
        p.join()


# -- the stores -------------------------------------------------------------------------------------


@contextmanager
def sqlite_store(folder: Path) -> Iterator[str]:
    yield f"sqlite:///{folder / 'ostiary.db'}"


@contextmanager
def postgresql_store(admin_url: str) -> Iterator[str]:
    import psycopg

    name = f"scale_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(f"{admin_url}/postgres", autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin_url.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def run_store(store: str, args: argparse.Namespace, source: Path) -> list[Result]:
    folder = Path(tempfile.mkdtemp(prefix=f"scale-{store}-"))
    opened = sqlite_store(folder) if store == "sqlite" else postgresql_store(args.pg_url)
    results: list[Result] = []
    backend = start_backend()
    try:
        with opened as url:
            start_server(source, folder, url).stop()  # migrates, makes the account and its root key
            loaded = 0
            for size in args.sizes:
                seconds = bulk_load(url, loaded, size, args.batch)
                print(f"{store}: loaded {size:,} users in {seconds:.1f} s", file=sys.stderr, flush=True)
                loaded = size
                server = start_server(source, folder, url, int(backend.args[-1]))
                try:
                    result = Result(store, size, seconds)
                    measure(server, size, args.calls, size // 2, args.ops, result)
                    result.memory = server.memory_mb()
                finally:
                    server.stop()
                results.append(result)
                print_table(results)
                if args.trace:
                    write_trace(Path(args.trace), result)
    finally:
        backend.terminate()
        backend.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
    return results


def write_trace(path: Path, result: Result) -> None:
    """Append one line per timed call to `path`: store, size, operation, when sent (epoch s), ms."""
    with path.open("a") as out:
        for op, values in result.times.items():
            for sent, ms in zip(result.sent[op], values, strict=True):
                out.write(f"{result.store}\t{result.users}\t{op}\t{sent:.6f}\t{ms:.3f}\n")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def print_table(results: list[Result]) -> None:
    sizes = sorted({r.users for r in results})
    rows: dict[tuple[str, str], dict[int, Result]] = {}
    for r in results:
        for op in r.times:
            rows.setdefault((r.store, op), {})[r.users] = r
    header = f"{'store':<11}{'operation':<30}" + "".join(f"{f'p50/p99 ms @{s:,}':>24}" for s in sizes)
    print(header)
    print("-" * len(header))
    for (store, op), by_size in rows.items():
        cells = []
        for s in sizes:
            r = by_size.get(s)
            if r is None:
                cells.append(f"{'-':>24}")
                continue
            values = r.times[op]
            cells.append(f"{statistics.median(values):>13.2f} /{_percentile(values, 0.99):>8.2f}")
        print(f"{store:<11}{op:<30}" + "".join(cells))
    for r in results:
        print(
            f"{r.store:<11}{'server memory (MB now/peak)':<30}@{r.users:,}: "
            f"{r.memory[0]:.0f} / {r.memory[1]:.0f}; bulk load {r.load_seconds:.1f} s"
        )
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000", help="account sizes in users, ascending")
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--calls", type=int, default=400, help="timed calls per operation")
    parser.add_argument("--batch", type=int, default=5000, help="rows per bulk-load transaction")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--source", default=str(ROOT), help="the checkout whose server is measured")
    parser.add_argument(
        "--ops",
        default=",".join(OPERATIONS),
        help="the operations to time, comma-separated (names as printed)",
    )
    parser.add_argument(
        "--trace", help="a file to append each timed call to (store, size, operation, sent, ms)"
    )
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",")]
    args.ops = {op.strip() for op in re.split(r",(?! )", args.ops)}
    if unknown := args.ops - set(OPERATIONS):
        parser.error(f"unknown operations: {', '.join(sorted(unknown))} (of {', '.join(OPERATIONS)})")
    source = Path(args.source).resolve()
    results: list[Result] = []
    for store in args.stores.split(","):
        results += run_store(store, args, source)
    print(f"\nserver from {source}; {args.calls} calls per operation")
    print_table(results)


if __name__ == "__main__":
    main()
