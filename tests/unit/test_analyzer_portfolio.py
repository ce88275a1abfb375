"""cvc5 beside z3 (`ostiary.analyzer.portfolio`): z3's assertions given to cvc5 in its own process, its
models mapped back onto the same z3 constants, and every way it can fail reported, never raised."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import z3

from ostiary.analyzer import portfolio, proof
from ostiary.analyzer.exact import FAIL, check_access_not_granted, check_no_new_access
from ostiary.analyzer.portfolio import Untranslatable, decide, smtlib


def _query(ctx: z3.Context) -> tuple[list[z3.BoolRef], dict[str, z3.ExprRef]]:
    """Every sort and operator the encoding uses: Booleans under AtMost, integers, reals, bit-vectors."""
    flags = [z3.Bool(f"flag {i} |odd| name", ctx) for i in range(6)]
    number = z3.Int("d key", ctx)
    real = z3.Real("n key", ctx)
    v4 = z3.BitVec("ip4 key", 32, ctx)
    v6 = z3.BitVec("ip6 key", 128, ctx)
    query = [
        z3.AtMost(*flags[:4], 1),
        z3.Or(flags[0], flags[1]),
        z3.Implies(flags[0], number >= 1_800_000_000),
        z3.Implies(flags[1], number < -5),
        z3.ToReal(number) * 3 > real,
        real > z3.RealVal("-7/3", ctx),
        z3.Not(real == z3.RealVal("1/2", ctx)),
        v4 & z3.BitVecVal(0xFF000000, 32, ctx) == z3.BitVecVal(0x0A000000, 32, ctx),
        z3.Not(v4 & z3.BitVecVal(0xFFFF0000, 32, ctx) == z3.BitVecVal(0x0A010000, 32, ctx)),
        z3.Extract(127, 96, v6) == z3.BitVecVal(0x20010DB8, 32, ctx),
        z3.Or(flags[4], z3.And(flags[5], z3.Not(flags[4]))),
    ]
    return query, {"number": number, "real": real, "v4": v4, "v6": v6}


def test_a_sat_answer_is_a_z3_model_of_the_same_constants() -> None:
    ctx = z3.Context()
    query, terms = _query(ctx)
    answer = decide(query, ctx, 5.0)
    assert answer.model is not None and not answer.unsat and not answer.reason, answer
    model = answer.model
    assert all(z3.is_true(model.eval(one, model_completion=True)) for one in query)
    v4 = model.eval(terms["v4"], model_completion=True).as_long()
    assert v4 >> 24 == 10 and (v4 >> 16) & 0xFF != 1
    assert model.eval(terms["v6"], model_completion=True).as_long() >> 96 == 0x20010DB8
    number = model.eval(terms["number"], model_completion=True).as_long()
    assert number >= 1_800_000_000 or number < -5
    check = z3.Solver(ctx=ctx)  # z3 alone agrees
    check.add(query)
    assert check.check() == z3.sat


def test_an_unsat_answer_is_a_proof_z3_agrees_with() -> None:
    ctx = z3.Context()
    query, terms = _query(ctx)
    flags = [z3.Bool(f"flag {i} |odd| name", ctx) for i in range(2)]
    narrowed = [*query, z3.Or(terms["number"] > 5, terms["real"] < -3), z3.Not(flags[0])]  # so flag 1: < -5
    narrowed.append(terms["real"] > z3.ToReal(terms["number"]) * 3 - 1)
    answer = decide(narrowed, ctx, 5.0)
    check = z3.Solver(ctx=ctx)
    check.add(narrowed)
    assert answer.unsat and answer.model is None and check.check() == z3.unsat


def test_shared_subterms_are_written_once_and_names_are_ours() -> None:
    ctx = z3.Context()
    a, b = z3.Bool("a|b", ctx), z3.Bool("\\x y", ctx)
    shared = z3.And(a, b)
    deep = shared
    for _ in range(2000):  # deeper than Python's recursion limit, and each level shares the one below
        deep = z3.Or(deep, z3.And(deep, a))
    script, constants = smtlib([deep])
    assert sorted(constants) == ["c0", "c1"] and "|" not in script and "\\" not in script
    assert script.count("(define-fun") <= 4 * 2000 + 10
    assert decide([deep, z3.Not(a)], ctx, 5.0).unsat


def test_what_cvc5_is_not_given_or_cannot_decide_is_a_reason() -> None:
    ctx = z3.Context()
    text = z3.String("s", ctx)
    with pytest.raises(Untranslatable):
        smtlib([z3.Length(text) > 3])
    answer = decide([z3.Length(text) > 3], ctx, 1.0)
    assert answer.reason.startswith("cvc5 was not given the query") and answer.model is None
    x, y, z = (z3.Int(n, ctx) for n in "xyz")
    fermat = [x > 0, y > 0, z > 0, x * x * x + y * y * y == z * z * z]
    started = time.monotonic()
    answer = decide(fermat, ctx, 0.5)
    assert time.monotonic() - started < 0.5 + portfolio.STARTUP_SECONDS + 1.0
    assert not answer.unsat and answer.model is None and "cvc5" in answer.reason, answer


def test_a_failing_cvc5_leaves_the_check_fail_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    new = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}'
    old = (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}'
    )
    monkeypatch.setattr(proof, "Z3_RLIMIT", 1)
    monkeypatch.setattr(portfolio, "WORKER", Path("/nonexistent/cvc5_worker.py"))
    for found in (
        check_no_new_access(old, new, "IDENTITY_POLICY"),
        check_access_not_granted(new, ["iam:*"], [], "IDENTITY_POLICY"),
    ):
        assert found.result == FAIL and found.example is None, found  # truly PASS, but never without a proof
        assert "z3: max. resource limit exceeded" in found.unknown and "cvc5 did not answer" in found.unknown
    monkeypatch.setattr(portfolio, "WORKER", Path(portfolio.__file__).with_name("cvc5_worker.py"))
    assert check_no_new_access(old, new, "IDENTITY_POLICY").result == "PASS"
    found = check_no_new_access(new, old, "IDENTITY_POLICY")
    assert (
        found.result == FAIL and found.example is not None and not found.example.action.startswith("s3:get")
    )
