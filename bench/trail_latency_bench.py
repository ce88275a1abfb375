"""What the audit trail adds to one request's time: latencies with the trail on and off, side by side.

trail_bench.py measures throughput on a saturated machine, where the trail's writer process takes its
CPU from the requests; this one measures what a caller waits for: each request's time from its first byte
sent to its answer's last byte read, at a steady pace that leaves the machine room (`--rate` requests a
second from one client, the way a service calls its IAM), and back to back from one client. Two servers,
`OSTIARY_TRAIL=on` and `off`, each on its own data folder, take turns case by case, `--rounds` times;
each percentile is the median of its measurements. Requests are signed beforehand (api_bench's client).

    python bench/trail_latency_bench.py [--seconds 3] [--rounds 3] [--rate 500]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from api_bench import Client, _signed, seed_users
from trail_bench import start

CASES = ("GetUser", "CreateUser")
PERCENTILES = (50, 90, 99)
_SPIN = 0.0003  # seconds of a gap spent awake


def latencies(port: int, name: str, seconds: float, rate: float | None, tag: str) -> list[float]:
    """Each request's time in µs, over `seconds`: paced at `rate` a second, or back to back (None)."""
    client = Client(port)
    size = int(seconds * (rate or 5000)) + 10 if name == "CreateUser" else 200
    batch = [_signed(name, client, i, tag) for i in range(size)]
    client.send(batch[-1] if name != "CreateUser" else _signed("GetUser", client, 0, tag))  # connect
    times: list[float] = []
    gap = 1 / rate if rate else 0.0
    started = time.perf_counter()
    next_at = started
    while time.perf_counter() - started < seconds and len(times) < size:
        if gap:
            left = next_at - time.perf_counter()
            if left > _SPIN:
                time.sleep(left - _SPIN)  # most of the gap asleep, so the client leaves the CPU free
            while time.perf_counter() < next_at:
                pass  # the last fraction of a millisecond awake: sleep's wake-ups are coarser
            next_at += gap
        sent = time.perf_counter()
        status = client.send(batch[len(times) % size])
        times.append((time.perf_counter() - sent) * 1e6)
        if status != 200:
            raise RuntimeError(f"{name} answered {status}")
    return times


def percentile(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each case on each server")
    parser.add_argument("--rate", type=float, default=500.0, help="the paced client's requests a second")
    parser.add_argument("--users", type=int, default=1000)
    args = parser.parse_args()
    paces: list[float | None] = [args.rate, None]
    found: dict[tuple[str, str, float | None, int], list[float]] = {}
    with tempfile.TemporaryDirectory() as on_dir, tempfile.TemporaryDirectory() as off_dir:
        targets = {"on": start(on_dir, "on", 1), "off": start(off_dir, "off", 1)}
        try:
            for target in targets.values():
                seed_users(target.port, args.users)
            for name in CASES:
                for pace in paces:
                    for round_ in range(args.rounds):
                        for trail, target in targets.items():
                            tag = f"{trail}{round_}{pace or 0:g}"
                            times = latencies(target.port, name, args.seconds, pace, tag)
                            for p in PERCENTILES:
                                found.setdefault((trail, name, pace, p), []).append(percentile(times, p))
        finally:
            for target in targets.values():
                target.process.terminate()
                target.process.wait(timeout=10)
    print(f"median of {args.rounds} measurements of {args.seconds:g} s each, the servers taking turns;")
    print("µs from a request's first byte sent to its answer's last byte read, one client")
    header = "".join(f"{f'p{p} on':>10}{'off':>8}{'on/off':>8}" for p in PERCENTILES)
    print(f"{'operation':<12}{'pace':>14}{header}")
    for name in CASES:
        for pace in paces:
            row = ""
            for p in PERCENTILES:
                on, off = (statistics.median(found[(t, name, pace, p)]) for t in ("on", "off"))
                row += f"{on:>10.0f}{off:>8.0f}{on / off:>8.2f}"
            label = f"{pace:g}/s" if pace else "back to back"
            print(f"{name:<12}{label:>14}{row}")


if __name__ == "__main__":
    main()
