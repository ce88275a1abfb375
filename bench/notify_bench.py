"""How soon a node hears another's change (issue 16, point 1): two `ostiary serve` nodes on one PostgreSQL
database; an access key deactivated on node A, then used on node B until B refuses it.

Each round creates a key on A, uses it on B (so B has it cached), deactivates it on A and, at once,
sends B requests with it until one is refused: "next" counts the rounds whose very next request was
refused, "stale" the answers B gave with the key after the change, "refused after" the time from the
change's answer to the refused request being sent. `--load N` keeps N client processes sending B
signed GetCallerIdentity requests throughout (the issue's "under load").

    python bench/notify_bench.py [--rounds 60] [--load 3] [--pg-url postgresql://postgres@127.0.0.1:5432]
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any

import boto3
from api_bench import _free_port, _wait
from botocore.config import Config
from botocore.exceptions import ClientError
from scale_bench import postgresql_store

KEY, SECRET = "AKIAOSTIARYNOTIFYROOT", "notify/secret/0123456789abcdefghijklmn"
ACCOUNT = "123456789012"


def start_node(data_dir: str, url: str, keyring_key: str) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    env = dict(
        os.environ,
        OSTIARY_ROOT_ACCESS_KEY_ID=KEY,
        OSTIARY_ROOT_SECRET_ACCESS_KEY=SECRET,
        OSTIARY_KEYRING_KEY=keyring_key,
    )
    command = [sys.executable, "-m", "ostiary", "serve", "--port", str(port), "--data-dir", data_dir]
    proc = subprocess.Popen(
        [*command, "--database-url", url, "--account-id", ACCOUNT], env=env, stdout=subprocess.DEVNULL
    )
    _wait(port, proc)
    return proc, port


def client(service: str, port: int, key: str = KEY, secret: str = SECRET) -> Any:
    return boto3.client(
        service,
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


def _load(port: int, stop: Any) -> None:
    sts = client("sts", port)
    while not stop.is_set():
        sts.get_caller_identity()


def refused(sts: Any) -> bool:
    try:
        sts.get_caller_identity()
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "InvalidClientTokenId":
            raise
        return True
    return False


def rounds(a: int, b: int, count: int) -> list[tuple[int, float]]:
    """(stale answers, seconds from the change to the refused request) per round."""
    iam = client("iam", a)
    name = f"notify-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    found = []
    for _ in range(count):
        created = iam.create_access_key(UserName=name)["AccessKey"]
        sts = client("sts", b, created["AccessKeyId"], created["SecretAccessKey"])
        sts.get_caller_identity()  # B has the key cached
        iam.update_access_key(UserName=name, AccessKeyId=created["AccessKeyId"], Status="Inactive")
        changed, stale = time.monotonic(), 0
        while True:
            sent = time.monotonic()
            if refused(sts):
                break
            stale += 1
            if sent - changed > 5:
                raise SystemExit("node B never refused the deactivated key")
        found.append((stale, sent - changed))
        iam.delete_access_key(UserName=name, AccessKeyId=created["AccessKeyId"])
    return found


def _run(
    args: argparse.Namespace, url: str, keyring_key: str, tmp_a: str, tmp_b: str, stop: Any
) -> list[tuple[int, float]]:
    nodes: list[subprocess.Popen[bytes]] = []
    loaders: list[Any] = []
    try:
        node_a, port_a = start_node(tmp_a, url, keyring_key)
        nodes.append(node_a)
        node_b, port_b = start_node(tmp_b, url, keyring_key)
        nodes.append(node_b)
        loaders = [mp.Process(target=_load, args=(port_b, stop)) for _ in range(args.load)]
        for loader in loaders:
            loader.start()
        time.sleep(1.0 if loaders else 0)
        return rounds(port_a, port_b, args.rounds)
    finally:
        stop.set()
        for loader in loaders:
            loader.join(timeout=10)
        for node in nodes:
            node.terminate()
            node.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--load", type=int, default=3)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    keyring_key = base64.b64encode(os.urandom(32)).decode()
    stop = mp.Event()
    with (
        postgresql_store(args.pg_url) as url,
        tempfile.TemporaryDirectory() as tmp_a,
        tempfile.TemporaryDirectory() as tmp_b,
    ):
        results = _run(args, url, keyring_key, tmp_a, tmp_b, stop)
    at_once = sum(1 for stale, _ in results if stale == 0)
    after = [seconds * 1000 for stale, seconds in results if stale > 0]
    load = os.getloadavg()[0]
    print(f"{args.rounds} rounds, {args.load} loading clients on node B, load average {load:.1f}")
    print(f"refused on B's very next request: {at_once} of {args.rounds}")
    if after:
        print(
            f"the others: {len(after)} rounds, stale answers {sum(s for s, _ in results)}, refused after "
            f"median {statistics.median(after):.1f} ms, max {max(after):.1f} ms"
        )


if __name__ == "__main__":
    main()
