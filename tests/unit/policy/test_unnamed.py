"""authorize_unnamed(): a call on `*` fails closed on any Deny of its action."""

from __future__ import annotations

from typing import Any

from ostiary.policy import Principal, Request, authorize_unnamed, compile_policy, parse_policy

A = "111111111111"
ALICE = Principal(f"arn:aws:iam::{A}:user/alice", "user", A, "AIDAALICE")
QUEUE = f"arn:aws:sqs:us-east-1:{A}:secret"
ALLOW_ALL = {"Sid": "All", "Effect": "Allow", "Action": "sqs:*", "Resource": "*"}


def _compiled(statements: list[dict[str, Any]], policy_id: str = "p", kind: str = "identity") -> Any:
    document = {"Version": "2012-10-17", "Statement": statements}
    return compile_policy(parse_policy(document, kind), policy_id, kind)


def _request(action: str = "sqs:SendMessage", **context: str) -> Request:
    return Request(ALICE, action, "*", context)


def test_an_identity_deny_on_a_named_resource_refuses_a_call_on_no_named_resource() -> None:
    deny = {"Sid": "NoSecret", "Effect": "Deny", "Action": "sqs:SendMessage", "Resource": QUEUE}
    decision = authorize_unnamed(_request(), identity=[_compiled([ALLOW_ALL, deny])])
    assert decision.decision == "ExplicitDeny"
    assert decision.reason == "with an explicit deny in an identity-based policy"
    assert [s.label for s in decision.statements] == ["p:NoSecret"]


def test_a_deny_with_not_resource_star_refuses_too() -> None:
    deny = {"Sid": "D", "Effect": "Deny", "Action": "sqs:Send*", "NotResource": "*"}
    decision = authorize_unnamed(_request(), identity=[_compiled([ALLOW_ALL, deny])])
    assert (decision.decision, [s.label for s in decision.statements]) == ("ExplicitDeny", ["p:D"])


def test_a_deny_of_another_action_or_whose_condition_fails_does_not_refuse() -> None:
    other = {"Effect": "Deny", "Action": "sqs:DeleteQueue", "Resource": QUEUE}
    conditional = {
        "Effect": "Deny",
        "Action": "sqs:SendMessage",
        "Resource": QUEUE,
        "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-3"}},
    }
    policy = _compiled([ALLOW_ALL, other, conditional])
    decision = authorize_unnamed(_request(**{"aws:RequestedRegion": "us-east-1"}), identity=[policy])
    assert (decision.decision, [s.label for s in decision.statements]) == ("Allow", ["p:All"])
    decision = authorize_unnamed(_request(**{"aws:RequestedRegion": "eu-west-3"}), identity=[policy])
    assert (decision.decision, [s.label for s in decision.statements]) == ("ExplicitDeny", ["p:#2"])


def test_an_allow_must_still_match_star() -> None:
    only_queue = {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": QUEUE}
    decision = authorize_unnamed(_request(), identity=[_compiled([only_queue])])
    assert (decision.decision, decision.statements) == ("ImplicitDeny", ())
    assert decision.reason == "because no identity-based policy allows the sqs:SendMessage action"


def test_denies_of_the_boundary_the_session_and_scps_refuse_with_their_own_words() -> None:
    deny = {"Sid": "D", "Effect": "Deny", "Action": "sqs:SendMessage", "Resource": QUEUE}
    identity = [_compiled([ALLOW_ALL])]
    cases = [
        ("boundary", "with an explicit deny in a permissions boundary"),
        ("session", "with an explicit deny in a session policy"),
        ("scp", "with an explicit deny in a service control policy"),
    ]
    for kind, reason in cases:
        policy = _compiled([ALLOW_ALL, deny], kind, kind)
        given: dict[str, Any] = {
            "boundary": {"boundary": policy},
            "session": {"session": [policy]},
            "scp": {"scps": [policy]},
        }[kind]
        decision = authorize_unnamed(_request(), identity=identity, **given)
        assert (decision.decision, decision.reason) == ("ExplicitDeny", reason), kind
        assert [s.label for s in decision.statements] == [f"{kind}:D"], kind


def test_a_resource_policy_deny_of_another_principal_does_not_refuse() -> None:
    allow = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
        "Action": "sqs:*",
        "Resource": "*",
    }
    deny = {
        "Effect": "Deny",
        "Principal": {"AWS": f"arn:aws:iam::{A}:user/bob"},
        "Action": "sqs:SendMessage",
        "Resource": QUEUE,
    }
    resource = _compiled([allow, deny], "queue", "resource")
    decision = authorize_unnamed(_request(), identity=[_compiled([ALLOW_ALL])], resource=resource)
    assert decision.decision == "Allow"
    mine = {**deny, "Principal": {"AWS": ALICE.arn}}
    resource = _compiled([allow, mine], "queue", "resource")
    decision = authorize_unnamed(_request(), identity=[_compiled([ALLOW_ALL])], resource=resource)
    assert (decision.decision, decision.reason) == (
        "ExplicitDeny",
        "with an explicit deny in a resource-based policy",
    )
