"""What the audit trail costs: signed IAM requests per second with the trail on and off, side by side.

Two Ostiary servers, `OSTIARY_TRAIL=on` and `OSTIARY_TRAIL=off`, each on its own data folder, take turns
case by case (GetUser, ListUsers, CreateUser; 1 and 8 clients), `--rounds` times, with api_bench's load
generator (requests signed beforehand, kept-alive connections). Each figure is the median of its
measurements; the ratio on/off is the share of the throughput the trail keeps. CPU is the server
process's; "writer" the CPU of the on server's trail writer process (its child), per request. (That no
answered call loses its event is the crash tests' to show: tests/integration/test_trail_crash.py.)

    python bench/trail_bench.py [--seconds 3] [--rounds 3] [--users 1000] [--workers 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import api_bench
from api_bench import KEY, SECRET, Target, children_cpu_seconds, cpu_seconds, measure, seed_users
from gateway_bench import WRITER_SETTLE_SECONDS


def start(tmp: str, trail: str, workers: int) -> Target:
    """`ostiary serve` on a free port with the trail `on` or `off`."""
    port = api_bench._free_port()
    env = dict(
        os.environ, OSTIARY_ROOT_ACCESS_KEY_ID=KEY, OSTIARY_ROOT_SECRET_ACCESS_KEY=SECRET, OSTIARY_TRAIL=trail
    )
    command = [sys.executable, "-m", "ostiary", "serve", "--port", str(port), "--data-dir", tmp]
    proc = subprocess.Popen(
        [*command, "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    api_bench._wait(port, proc)
    return Target(f"trail {trail}", port, proc)


def _spread(ratios: list[float]) -> str:
    """The median of ratios and their quartiles: `0.97 (0.95-0.99)`."""
    if len(ratios) < 2:
        return f"{ratios[0]:.2f}" if ratios else "-"
    low, _, high = statistics.quantiles(ratios, n=4, method="inclusive")
    return f"{statistics.median(ratios):.2f} ({low:.2f}-{high:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each case on each server")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1, help="server processes of each Ostiary")
    args = parser.parse_args()
    cases = [(op, n) for op in ("GetUser", "ListUsers", "CreateUser") for n in (1, 8)]
    runs: dict[str, dict[tuple[str, int], list[float]]] = {"on": {}, "off": {}}
    cpu: dict[str, dict[tuple[str, int], list[float]]] = {"on": {}, "off": {}}
    writer: dict[tuple[str, int], list[float]] = {}
    errors = {"on": 0, "off": 0}
    with tempfile.TemporaryDirectory() as on_dir, tempfile.TemporaryDirectory() as off_dir:
        targets = {"on": start(on_dir, "on", args.workers), "off": start(off_dir, "off", args.workers)}
        try:
            for target in targets.values():
                seed_users(target.port, args.users)
            for case in cases:
                for turn in range(args.rounds):  # who goes first alternates: a drift falls on both
                    for name in ("on", "off") if turn % 2 == 0 else ("off", "on"):
                        target = targets[name]
                        pid = target.process.pid
                        before, writer_before = cpu_seconds(pid), children_cpu_seconds(pid)
                        rate, failed = measure(target.port, case[0], case[1], args.seconds)
                        used = cpu_seconds(pid) - before
                        done = max(rate * args.seconds, 1)
                        runs[name].setdefault(case, []).append(rate)
                        cpu[name].setdefault(case, []).append(used / done * 1e6)
                        if name == "on":
                            time.sleep(WRITER_SETTLE_SECONDS)  # what the writer held back: these requests'
                            written = children_cpu_seconds(pid) - writer_before
                            writer.setdefault(case, []).append(written / done * 1e6)
                        errors[name] += failed
        finally:
            for target in targets.values():
                target.process.terminate()
                target.process.wait(timeout=10)
    print(f"median of {args.rounds} measurements of {args.seconds:g} s each, the servers taking turns")
    print("paired: the median (quartiles) of each turn's on/off, a turn's two runs back to back")
    print(
        f"{'operation':<12}{'clients':>8}{'trail on req/s':>16}{'trail off req/s':>17}{'on/off':>9}"
        f"{'paired on/off':>22}{'CPU µs/req on':>15}{'off':>7}{'on/off':>9}{'writer µs/req':>15}"
    )
    for case in cases:
        on, off = (statistics.median(runs[name][case]) for name in ("on", "off"))
        cpu_on, cpu_off = (statistics.median(cpu[name][case]) for name in ("on", "off"))
        paired = _spread([a / b for a, b in zip(runs["on"][case], runs["off"][case], strict=True) if b])
        print(
            f"{case[0]:<12}{case[1]:>8}{on:>16.0f}{off:>17.0f}{on / off if off else 0:>9.2f}{paired:>22}"
            f"{cpu_on:>15.0f}{cpu_off:>7.0f}{cpu_on / cpu_off if cpu_off else 0:>9.2f}"
            f"{statistics.median(writer[case]):>15.0f}"
        )
    if any(errors.values()):
        print("non-200 answers: " + ", ".join(f"trail {name} {count}" for name, count in errors.items()))


if __name__ == "__main__":
    main()
