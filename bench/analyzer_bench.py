"""Access Analyzer's exact checks and ValidatePolicy on AWS's managed policies: p50/p95 and unknown rate.

Run from the repository root: `python bench/analyzer_bench.py` (a few minutes) or `--quick`.
CheckNoNewAccess runs on each sampled managed policy against edited copies of itself (one action, one
resource, one condition value changed), in both directions; ValidatePolicy runs over all of them.
The queries z3 left unknown and cvc5 was given are counted with what cvc5 decided; `--cvc5` also runs
each check with z3 made to give up on every query (so cvc5 decides them all) and compares the answers.
Targets (issue 12): checks p95 <= 250 ms and <= 0.5 % unknown; ValidatePolicy p95 <= 20 ms.
See bench/README.md for the last table.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ostiary.analyzer import proof, validate  # noqa: E402 (needs the path above)
from ostiary.analyzer.exact import check_no_new_access  # noqa: E402
from ostiary.analyzer.portfolio import TALLY  # noqa: E402

POLICIES = ROOT / "ostiary" / "services" / "data" / "aws_managed_policies.json"


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document.get("Statement", [])
    return [found] if isinstance(found, dict) else list(found)


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def edit_action(document: dict[str, Any], rng: random.Random) -> dict[str, Any] | None:
    """One action of an Allow statement replaced by another of its service (a `Delete` one)."""
    edited = copy.deepcopy(document)
    choices = [s for s in _statements(edited) if s.get("Effect") == "Allow" and "Action" in s]
    if not choices:
        return None
    statement = rng.choice(choices)
    actions = _as_list(statement["Action"])
    index = rng.randrange(len(actions))
    service = actions[index].partition(":")[0]
    actions[index] = f"{service}:Delete{rng.choice(['Object', 'Resource', 'Everything'])}"
    statement["Action"] = actions
    return edited


def edit_resource(document: dict[str, Any], rng: random.Random) -> dict[str, Any] | None:
    """One resource of a statement widened: its last part after `/` or `:` becomes `*`."""
    edited = copy.deepcopy(document)
    choices = [s for s in _statements(edited) if "Resource" in s and _as_list(s["Resource"]) != ["*"]]
    if not choices:
        return None
    statement = rng.choice(choices)
    resources = _as_list(statement["Resource"])
    index = rng.randrange(len(resources))
    cut = max(resources[index].rfind("/"), resources[index].rfind(":"))
    resources[index] = resources[index][: cut + 1] + "*" if cut >= 0 else "*"
    statement["Resource"] = resources
    return edited


def edit_condition(document: dict[str, Any], rng: random.Random) -> dict[str, Any] | None:
    """One condition value changed (a string gets a suffix, a number grows)."""
    edited = copy.deepcopy(document)
    choices = [s for s in _statements(edited) if s.get("Condition")]
    if not choices:
        return None
    statement = rng.choice(choices)
    operator = rng.choice(sorted(statement["Condition"]))
    tests = statement["Condition"][operator]
    if not tests:
        return None
    key = rng.choice(sorted(tests))
    values = tests[key] if isinstance(tests[key], list) else [tests[key]]
    if not values:
        return None
    index = rng.randrange(len(values))
    value = values[index]
    if isinstance(value, bool):
        values[index] = not value
    elif isinstance(value, int | float):
        values[index] = value + 1
    else:
        values[index] = str(value) + "-edited"
    tests[key] = values
    return edited


EDITS = {"action": edit_action, "resource": edit_resource, "condition": edit_condition}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run_checks(
    policies: dict[str, Any], sample: int, seed: int, timeout: float, cvc5: bool = False
) -> dict[str, Any]:
    rng = random.Random(seed)
    names = sorted(policies)
    if sample and sample < len(names):
        names = sorted(rng.sample(names, sample))
    times: list[float] = []
    outcomes: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    slowest: list[tuple[float, str]] = []
    examples: dict[str, str] = {}
    forced: dict[str, Any] = {"times": [], "same": 0, "differ": [], "tally": Counter()}
    for name in names:
        document = policies[name]["Document"]
        original = json.dumps(document)
        for edit, make in EDITS.items():
            edited = make(document, rng)
            if edited is None:
                continue
            text = json.dumps(edited)
            for label, new, old in ((f"{edit}+", text, original), (f"{edit}-", original, text)):
                started = time.perf_counter()
                try:
                    answer = check_no_new_access(new, old, "IDENTITY_POLICY", timeout_seconds=timeout)
                    result = "unknown" if answer.unknown else answer.result
                    if answer.unknown:
                        reasons[answer.unknown.split("(")[0][:70]] += 1
                        examples.setdefault(answer.unknown.split("(")[0][:70], f"{name} {label}")
                except ValueError as error:  # a document the engine refuses
                    result = "refused"
                    reasons[str(error)[:70]] += 1
                elapsed = time.perf_counter() - started
                times.append(elapsed)
                outcomes[result] += 1
                slowest.append((elapsed, f"{name} {label}"))
                if cvc5 and result != "refused":
                    _with_cvc5(forced, new, old, timeout, result, f"{name} {label}")
    slowest.sort(reverse=True)
    return {
        "times": times,
        "outcomes": outcomes,
        "reasons": reasons,
        "slowest": slowest[:5],
        "policies": len(names),
        "examples": examples,
        "forced": forced,
    }


def _with_cvc5(forced: dict[str, Any], new: str, old: str, timeout: float, expected: str, label: str) -> None:
    """The check again with z3 giving up on every query: cvc5's answer, its time, what cvc5 decided."""
    before = TALLY.snapshot()
    proof.Z3_RLIMIT = 1
    started = time.perf_counter()
    try:
        answer = check_no_new_access(new, old, "IDENTITY_POLICY", timeout_seconds=timeout)
    finally:
        proof.Z3_RLIMIT = 0
    forced["times"].append(time.perf_counter() - started)
    forced["tally"] += TALLY.snapshot() - before
    result = "unknown" if answer.unknown else answer.result
    if result == expected:
        forced["same"] += 1
    else:
        forced["differ"].append(f"{label}: z3 {expected}, cvc5 {result} {answer.unknown[:120]}")


def run_validate(policies: dict[str, Any]) -> list[float]:
    times = []
    for name in sorted(policies):
        text = json.dumps(policies[name]["Document"], indent=4)
        started = time.perf_counter()
        validate(text, "IDENTITY_POLICY")
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=300, help="managed policies checked (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per check")
    parser.add_argument("--quick", action="store_true", help="60 policies")
    parser.add_argument("--cvc5", action="store_true", help="each check again with cvc5 deciding every query")
    args = parser.parse_args()
    policies = json.loads(POLICIES.read_text())
    sample = 60 if args.quick else args.sample
    before = TALLY.snapshot()
    checks = run_checks(policies, sample, args.seed, args.timeout, args.cvc5)
    fallback = TALLY.snapshot() - before - checks["forced"]["tally"]
    times = checks["times"]
    total = len(times)
    unknown = checks["outcomes"]["unknown"]
    print(
        f"CheckNoNewAccess: {total} checks on {checks['policies']} managed policies (edited copies both ways)"
    )
    print("| checks | p50 | p95 | p99 | max | PASS | FAIL | unknown | refused |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    found = checks["outcomes"]
    print(
        f"| {total} | {statistics.median(times) * 1000:.0f} ms | {percentile(times, 0.95) * 1000:.0f} ms "
        f"| {percentile(times, 0.99) * 1000:.0f} ms | {max(times) * 1000:.0f} ms | {found['PASS']} "
        f"| {found['FAIL']} | {unknown} ({unknown / total:.1%}) | {found['refused']} |"
    )
    for reason, count in checks["reasons"].most_common(8):
        print(f"  unknown or refused: {count} × {reason} (e.g. {checks['examples'].get(reason, '')})")
    decided = ", ".join(f"{fallback[a]} {a}" for a in ("sat", "unsat", "unknown", "error"))
    print(f"  cvc5 (where z3 answered unknown): {sum(fallback.values())} queries: {decided}")
    forced = checks["forced"]
    if forced["times"]:
        shown = ", ".join(f"{forced['tally'][a]} {a}" for a in ("sat", "unsat", "unknown", "error"))
        print(
            f"  with z3 giving up (--cvc5): {len(forced['times'])} checks, {forced['same']} answered as z3"
            f" alone, p50 {statistics.median(forced['times']) * 1000:.0f} ms, p95 "
            f"{percentile(forced['times'], 0.95) * 1000:.0f} ms; cvc5's queries: {shown}"
        )
        for line in forced["differ"][:8]:
            print(f"  differs: {line}")
    for elapsed, label in checks["slowest"]:
        print(f"  slow: {elapsed * 1000:.0f} ms {label}")
    validate_times = run_validate(policies)
    print(f"\nValidatePolicy: {len(validate_times)} managed policies")
    print("| policies | p50 | p95 | max |")
    print("| --- | --- | --- | --- |")
    print(
        f"| {len(validate_times)} | {statistics.median(validate_times) * 1000:.1f} ms "
        f"| {percentile(validate_times, 0.95) * 1000:.1f} ms | {max(validate_times) * 1000:.1f} ms |"
    )


if __name__ == "__main__":
    main()
