"""The exact checks against brute force: random small policy pairs, every request of a finite universe
decided by the engine. A PASS must leave no request in that universe; a FAIL's example must be decided
by the engine as claimed (re-checked here, independently of the checker's own confirmation)."""

from __future__ import annotations

import itertools
import json
import random
from typing import Any

import pytest

from ostiary.analyzer import proof
from ostiary.analyzer.exact import PASS, check_access_not_granted, check_no_new_access
from ostiary.analyzer.portfolio import TALLY
from ostiary.analyzer.principals import caller
from ostiary.policy import Principal, Request, authorize, compile_policy, parse_policy

ACTION_PATTERNS = ["s3:GetObject", "s3:Get*", "s3:*", "s3:PutObject", "s3:?utObject", "ec2:*", "*",
                   "s3:*Object", "iam:PassRole", "iam:*"]  # fmt: skip
ACTIONS = ["s3:getobject", "s3:getx", "s3:putobject", "s3:xutobject", "s3:xobject", "s3:x", "ec2:x",
           "iam:passrole", "iam:x", "x:x"]  # fmt: skip
RESOURCE_PATTERNS = ["*", "arn:aws:s3:::b/*", "arn:aws:s3:::b/secret*", "arn:aws:s3:::b/?",
                     "arn:aws:s3:::c/x", "arn:aws:s3:::*/x", "arn:aws:s3:::b*",
                     "arn:aws:s3:::b/${aws:username}",
                     "arn:aws:s3:::b/${aws:username}*"]  # fmt: skip
RESOURCES = ["arn:aws:s3:::b/secretx", "arn:aws:s3:::b/secret", "arn:aws:s3:::b/a", "arn:aws:s3:::b/",
             "arn:aws:s3:::b/ab", "arn:aws:s3:::c/x", "arn:aws:s3:::d/x", "arn:aws:s3:::b/x",
             "arn:aws:s3:::c/y", "arn:aws:s3:::bx", "arn:x", "*", "arn:aws:s3:::b/b",
             "arn:aws:s3:::b/ostiary-check", "arn:aws:s3:::b/ostiary-checkx"]  # fmt: skip
# key → (conditions that may test it, the request values tried: None is absent)
KEYS: dict[str, tuple[list[tuple[str, Any]], list[Any]]] = {
    "aws:RequestTag/team": (
        [
            ("StringEquals", "a"),
            ("StringNotEquals", "a"),
            ("StringLike", "a*"),
            ("StringEqualsIfExists", "b"),
            ("ForAnyValue:StringEquals", ["a", "b"]),
            ("ForAllValues:StringEquals", ["a", "b"]),
            ("StringNotLike", "*b"),
            ("Null", "true"),
            ("Null", "false"),
            ("StringEqualsIgnoreCase", "A"),
        ],
        [None, "a", "A", "b", "ab", "c", ["a", "b"], ["a", "c"], []],
    ),  # fmt: skip
    "aws:username": (
        [("StringEquals", "a"), ("StringLike", "a*"), ("StringNotEquals", "b")],
        [None, "a", "b", "ab", ["a", "b"]],
    ),
    "s3:max-keys": (
        [
            ("NumericLessThan", "10"),
            ("NumericGreaterThanEquals", "5"),
            ("NumericNotEquals", "7"),
            ("NumericEqualsIfExists", "3"),
        ],
        [None, "3", "5", "7", "12", "x"],
    ),  # fmt: skip
    "aws:SecureTransport": (
        [("Bool", "true"), ("Bool", "false"), ("BoolIfExists", "true")],
        [None, "true", "false", "other"],
    ),  # fmt: skip
    "aws:SourceIp": (
        [("IpAddress", "10.0.0.0/8"), ("NotIpAddress", "10.1.0.0/16"), ("IpAddress", "2001:db8::/32")],
        [None, "10.1.2.3", "10.2.0.1", "192.0.2.1", "2001:db8::1", "junk"],
    ),  # fmt: skip
    "aws:CurrentTime": (
        [("DateLessThan", "2026-01-01T00:00:00Z"), ("DateGreaterThan", "1700000000")],
        [None, "1600000000", "1750000000", "1800000000", "2030-01-01T00:00:00Z"],
    ),  # fmt: skip
}


def _statement(rng: random.Random, keys: list[str]) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": rng.choice(["Allow", "Allow", "Deny"])}
    actions = rng.sample(ACTION_PATTERNS, rng.randint(1, 2))
    statement["NotAction" if rng.random() < 0.15 else "Action"] = actions
    resources = rng.sample(RESOURCE_PATTERNS, rng.randint(1, 2))
    statement["NotResource" if rng.random() < 0.15 else "Resource"] = resources
    condition: dict[str, dict[str, Any]] = {}
    for key in keys:
        if rng.random() < 0.5:
            operator, value = rng.choice(KEYS[key][0])
            condition.setdefault(operator, {})[key] = value
    if condition:
        statement["Condition"] = condition
    return statement


def _policy(rng: random.Random, keys: list[str]) -> str:
    count = rng.randint(1, 3)
    return json.dumps({"Version": "2012-10-17", "Statement": [_statement(rng, keys) for _ in range(count)]})


def _contexts(keys: list[str]) -> list[dict[str, Any]]:
    found = []
    for values in itertools.product(*(KEYS[k][1] for k in keys)):
        found.append({k: v for k, v in zip(keys, values, strict=True) if v is not None})
    return found


def _allowed(text: str, action: str, resource: str, context: dict[str, Any]) -> bool:
    compiled = compile_policy(parse_policy(text), "p", "identity")
    return authorize(
        Request(caller(), action, resource, context), identity=compiled, resource_known=False
    ).is_allowed


def _deciders(text: str) -> Any:
    compiled = compile_policy(parse_policy(text), "p", "identity")
    user = caller()
    return lambda action, resource, context: (
        authorize(
            Request(user, action, resource, context), identity=compiled, resource_known=False
        ).is_allowed
    )


def _brute(new: str, old: str, keys: list[str]) -> list[tuple[str, str, dict[str, Any]]]:
    allows_new, allows_old = _deciders(new), _deciders(old)
    found = []
    for action, resource, context in itertools.product(ACTIONS, RESOURCES, _contexts(keys)):
        if allows_new(action, resource, context) and not allows_old(action, resource, context):
            found.append((action, resource, context))
            break
    return found


@pytest.mark.parametrize("seed", range(8))
def test_no_new_access_agrees_with_brute_force_on_random_pairs(seed: int) -> None:
    rng = random.Random(seed)
    unknown = 0
    for _ in range(25):
        keys = rng.sample(sorted(KEYS), rng.randint(0, 2))
        new, old = _policy(rng, keys), _policy(rng, keys)
        if rng.random() < 0.3:  # the existing policy is the new one and more: mostly PASS
            statements = json.loads(new)["Statement"] + [_statement(rng, keys)]
            old = json.dumps({"Version": "2012-10-17", "Statement": statements})
        answer = check_no_new_access(new, old, "IDENTITY_POLICY")
        if answer.unknown:  # FAIL with a reason: only where policy variables make the search incomplete
            assert "policy variables" in answer.unknown and "${" in new + old, (new, old, answer.unknown)
            unknown += 1
            continue
        found = _brute(new, old, keys)
        if answer.result == PASS:
            assert not found, (new, old, found)
        else:
            example = answer.example
            assert example is not None
            assert _allowed(new, example.action, example.resource, example.context), (new, old, example)
            assert not _allowed(old, example.action, example.resource, example.context), (new, old, example)
    assert unknown <= 1


@pytest.mark.parametrize("seed", range(4))
def test_access_not_granted_agrees_with_brute_force(seed: int) -> None:
    rng = random.Random(1000 + seed)
    for _ in range(25):
        keys = rng.sample(sorted(KEYS), rng.randint(0, 2))
        policy = _policy(rng, keys)
        actions = rng.sample(ACTION_PATTERNS, rng.randint(0, 2))
        resources = rng.sample(RESOURCE_PATTERNS[1:], 1) if rng.random() < 0.5 or not actions else []
        answer = check_access_not_granted(policy, actions, resources, "IDENTITY_POLICY")
        if answer.unknown:
            assert "policy variables" in answer.unknown and "${" in policy, (policy, answer.unknown)
            continue
        allows = _deciders(policy)
        lowered = [a.lower() for a in actions]
        found = [
            (a, r, c)
            for a, r, c in itertools.product(ACTIONS, RESOURCES, _contexts(keys))
            if (not actions or any(_glob(p, a) for p in lowered))
            and (not resources or any(_glob(p, r) for p in resources))
            and allows(a, r, c)
        ]
        if answer.result == PASS:
            assert not found, (policy, actions, resources, found[:1])
        else:
            example = answer.example
            assert example is not None
            assert _allowed(policy, example.action, example.resource, example.context)


def _glob(pattern: str, value: str) -> bool:
    from ostiary.policy import glob_matches

    return glob_matches(pattern, value)


PRINCIPAL_ELEMENTS: list[Any] = [
    "*", {"AWS": "*"}, {"AWS": "222233334444"}, {"AWS": "arn:aws:iam::222233334444:root"},
    {"AWS": "arn:aws:iam::222233334444:user/alice"}, {"AWS": "arn:aws:iam::555566667777:role/ops"},
    {"Service": "ec2.amazonaws.com"}, {"AWS": ["222233334444", "arn:aws:iam::555566667777:role/ops"]},
]  # fmt: skip
CALLERS = [
    Principal("arn:aws:iam::222233334444:user/alice", "user", account="222233334444"),
    Principal("arn:aws:iam::222233334444:user/bob", "user", account="222233334444"),
    Principal("arn:aws:iam::222233334444:root", "root", account="222233334444"),
    Principal("arn:aws:sts::555566667777:assumed-role/ops/s1", "assumed-role", account="555566667777",
              role_arn="arn:aws:iam::555566667777:role/ops"),
    Principal("arn:aws:iam::555566667777:user/carol", "user", account="555566667777"),
    Principal("arn:aws:iam::888899990000:user/eve", "user", account="888899990000"),
    Principal("ec2.amazonaws.com", "service"),
    Principal("lambda.amazonaws.com", "service"),
    Principal("*", "anonymous"),
]  # fmt: skip
EVERYTHING = compile_policy(
    parse_policy(json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})),
    "all",
    "identity",
)


def _resource_policy(rng: random.Random) -> str:
    statements = []
    for _ in range(rng.randint(1, 3)):
        statement = _statement(rng, [])
        key = "NotPrincipal" if statement["Effect"] == "Deny" and rng.random() < 0.2 else "Principal"
        statement[key] = rng.choice(PRINCIPAL_ELEMENTS)
        statements.append(statement)
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _resource_allows(text: str) -> Any:
    compiled = compile_policy(parse_policy(text, "resource"), "r", "resource")

    def allows(caller: Principal, action: str, resource: str) -> bool:
        identity = EVERYTHING if caller.has_identity_policies else ()
        request = Request(caller, action, resource, {})
        return authorize(
            request, identity=identity, resource=compiled, resource_account="111122223333"
        ).is_allowed

    return allows


@pytest.mark.parametrize(("seed", "z3_rlimit"), [(0, 0), (1, 0), (2, 0), (0, 1)])
def test_resource_policies_agree_with_brute_force_over_callers(
    seed: int, z3_rlimit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With z3_rlimit 1, z3 gives up on every query and cvc5 decides them all."""
    monkeypatch.setattr(proof, "Z3_RLIMIT", z3_rlimit)
    before = TALLY.snapshot()
    rng = random.Random(2000 + seed)
    unknown = 0
    for _ in range(20):
        new, old = _resource_policy(rng), _resource_policy(rng)
        if rng.random() < 0.4:  # the existing policy is the new one and more: mostly PASS
            more = json.loads(_resource_policy(rng))["Statement"]
            old = json.dumps({"Version": "2012-10-17", "Statement": json.loads(new)["Statement"] + more})
        answer = check_no_new_access(new, old, "RESOURCE_POLICY")
        if answer.unknown:  # FAIL with a reason: only where policy variables make the search incomplete
            assert "policy variables" in answer.unknown and "${" in new + old, (new, old, answer.unknown)
            unknown += 1
            continue
        allows_new, allows_old = _resource_allows(new), _resource_allows(old)
        found = [
            (c.arn, a, r)
            for c, a, r in itertools.product(CALLERS, ACTIONS, RESOURCES)
            if allows_new(c, a, r) and not allows_old(c, a, r)
        ]
        if answer.result == PASS:
            assert not found, (new, old, found[:1])
        else:
            assert answer.example is not None and answer.principal, answer
    assert unknown <= 1
    decided = TALLY.snapshot() - before
    assert (decided["sat"] > 0 and decided["unsat"] > 0) == bool(z3_rlimit) and not decided["error"], decided


@pytest.mark.parametrize("seed", range(4))
def test_cvc5_decides_where_z3_gives_up(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """z3 held to a resource limit of 1 answers unknown on every query: cvc5 decides them (sat and unsat),
    brute force agrees, and every answer is the one z3 alone gives."""
    rng = random.Random(2000 + seed)
    pairs = []
    for _ in range(12):
        keys = rng.sample(sorted(KEYS), rng.randint(0, 2))
        new, old = _policy(rng, keys), _policy(rng, keys)
        if rng.random() < 0.4:
            old = json.dumps({"Version": "2012-10-17", "Statement": json.loads(new)["Statement"] * 2})
        pairs.append((new, old, keys))
    alone = [check_no_new_access(new, old, "IDENTITY_POLICY") for new, old, _ in pairs]
    before = TALLY.snapshot()
    monkeypatch.setattr(proof, "Z3_RLIMIT", 1)
    for (new, old, keys), expected in zip(pairs, alone, strict=True):
        answer = check_no_new_access(new, old, "IDENTITY_POLICY")
        assert (answer.result, bool(answer.unknown)) == (expected.result, bool(expected.unknown)), (new, old)
        if answer.unknown:
            assert "policy variables" in answer.unknown and "${" in new + old, (new, old, answer.unknown)
            continue
        found = _brute(new, old, keys)
        if answer.result == PASS:
            assert not found, (new, old, found)
        else:
            example = answer.example
            assert example is not None
            assert _allowed(new, example.action, example.resource, example.context), (new, old, example)
            assert not _allowed(old, example.action, example.resource, example.context), (new, old, example)
    decided = TALLY.snapshot() - before
    assert decided["sat"] >= 1 and decided["unsat"] >= 1 and not decided["error"], decided
