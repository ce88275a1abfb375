"""Console page times for an account of 10,000 users (issue 14: every page under 100 ms).

Loads the account as `scale_bench.py` does (10,000 users, 1,000 roles, 1,000 customer managed
policies, through the store's own functions while no server runs), starts `ostiary serve` on it,
signs in to the console as the root (one of its access keys), and times each page with one kept-alive
HTTP session, one request at a time: `--calls` GETs of each (the first is a warm-up, not counted).
Times are wall-clock, round trip included. It prints p50 and p99 in milliseconds per page, and
whether p50 is under 100 ms.

    python bench/console_bench.py [--users 10000] [--calls 30] [--store sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale_bench  # noqa: E402  # the bench folder is no package: its loader and server, reused

TARGET_MS = 100.0


def pages(users: int) -> list[tuple[str, str]]:
    """(name, path) of each page timed, on entities the bulk load made."""
    middle = users // 2
    role = scale_bench.role_name(7)
    return [
        ("dashboard", "/console/home"),
        ("users (first page)", "/console/users"),
        ("users (a later page)", "LATER"),
        ("users search (one match)", f"/console/users?q={scale_bench.user_name(middle)}"),
        ("user detail", f"/console/users/{scale_bench.user_name(middle)}"),
        ("groups", "/console/groups"),
        ("roles", "/console/roles"),
        ("role detail", f"/console/roles/{role}"),
        ("policies (customer)", "/console/policies"),
        ("policies (AWS managed)", "/console/policies?scope=AWS"),
        ("policy detail", f"/console/policy?arn={quote(scale_bench.policy_arn(3), safe='')}"),
        ("simulator", "/console/simulator"),
        ("account settings", "/console/account"),
        ("switch role", "/console/switchrole"),
        ("access graph (first page)", "/console/graph"),
        (
            "access graph (role focus)",
            f"/console/graph?focus={quote(f'arn:aws:iam::{scale_bench.ACCOUNT}:role/{role}')}",
        ),
    ]


def sign_in(endpoint: str) -> requests.Session:
    http = requests.Session()
    form = http.get(endpoint + "/console/signin/root", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    data = {
        "csrf_token": token.group(1),
        "account": scale_bench.ACCOUNT,
        "accesskeyid": scale_bench.KEY,
        "secretkey": scale_bench.SECRET,
    }
    answer = http.post(endpoint + "/console/signin/root", data=data, timeout=30)
    if not answer.url.endswith("/console/home"):
        raise RuntimeError("the root could not sign in to the console")
    return http


def measure(endpoint: str, users: int, calls: int) -> list[tuple[str, list[float]]]:
    http = sign_in(endpoint)
    found = []
    later = "/console/users"
    for _ in range(users // 2 // 50):  # follow the pages' links halfway through the users
        link = re.search(r'id="next-page" href="([^"]+)"', http.get(endpoint + later, timeout=30).text)
        if link is None:
            break
        later = link.group(1).replace("&amp;", "&")
    for name, path in pages(users):
        path = later if path == "LATER" else path
        times = []
        for n in range(calls + 1):
            began = time.perf_counter()
            answer = http.get(endpoint + path, timeout=120)
            elapsed = (time.perf_counter() - began) * 1000
            if answer.status_code != 200:
                raise RuntimeError(f"{name}: HTTP {answer.status_code}")
            if n:
                times.append(elapsed)
        found.append((name, times))
        print(f"  {name}: {statistics.median(times):.1f} ms", file=sys.stderr, flush=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="console-bench-"))
    source = scale_bench.ROOT
    opened = (
        scale_bench.sqlite_store(folder)
        if args.store == "sqlite"
        else scale_bench.postgresql_store(args.pg_url)
    )
    try:
        with opened as url:
            scale_bench.start_server(source, folder, url).stop()
            seconds = scale_bench.bulk_load(url, 0, args.users, 1000)
            print(f"loaded {args.users:,} users in {seconds:.1f} s", file=sys.stderr)
            server = scale_bench.start_server(source, folder, url)
            try:
                results = measure(f"http://127.0.0.1:{server.port}", args.users, args.calls)
            finally:
                server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\nconsole pages, {args.store}, {args.users:,} users, {args.calls} calls each (ms)\n")
    print(f"| page | p50 | p99 | under {TARGET_MS:.0f} ms |\n| --- | --- | --- | --- |")
    for name, times in results:
        p50 = statistics.median(times)
        p99 = sorted(times)[min(len(times) - 1, int(len(times) * 0.99))]
        print(f"| {name} | {p50:.1f} | {p99:.1f} | {'yes' if p50 < TARGET_MS else 'no'} |")


if __name__ == "__main__":
    main()
