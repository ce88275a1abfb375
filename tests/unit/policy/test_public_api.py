"""The public surface of ostiary.policy: what others import, declared once in __all__."""

from __future__ import annotations

import inspect

import ostiary.policy as policy


def test_all_names_exist() -> None:
    assert sorted(policy.__all__) == sorted(set(policy.__all__))
    for name in policy.__all__:
        assert hasattr(policy, name), name


def test_signatures_others_depend_on() -> None:
    assert list(inspect.signature(policy.parse_policy).parameters)[:2] == ["document", "kind"]
    assert list(inspect.signature(policy.validate_policy).parameters) == ["document", "kind"]
    assert list(inspect.signature(policy.compile_policy).parameters) == ["policy", "policy_id", "policy_type"]
    params = inspect.signature(policy.authorize).parameters
    assert {"identity", "boundary", "session", "scps", "resource", "resource_account", "trust"} <= set(params)
    assert list(inspect.signature(policy.Request).parameters) == [
        "principal",
        "action",
        "resource",
        "context",
    ]


def test_validate_policy_findings() -> None:
    assert policy.validate_policy("{}", "identity") == [
        policy.Finding("error", "Syntax errors in policy.", "")
    ]
    document = '{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}'
    (finding,) = policy.validate_policy(document, "identity")
    assert finding.severity == "warning" and finding.path == "Version"
