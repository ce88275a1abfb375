"""parse_policy: IAM's grammar and its MalformedPolicyDocument messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ostiary.policy import PolicySyntaxError, parse_policy

_RECORDED = [json.loads(line) for line in (Path(__file__).parent / "aws_malformed.jsonl").open()]


@pytest.mark.parametrize("case", _RECORDED, ids=lambda c: str(c["id"]))
def test_recorded_aws_refusals_give_aws_message(case: dict[str, Any]) -> None:
    with pytest.raises(PolicySyntaxError) as raised:
        parse_policy(case["document"], case["kind"], managed=case["managed"])
    assert raised.value.message == case["message"]


def _doc(**statement: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [statement]}


def _message(document: Any, kind: str = "identity") -> str:
    with pytest.raises(PolicySyntaxError) as raised:
        parse_policy(document, kind)
    return raised.value.message


def test_identity_policy_with_principal_is_refused() -> None:
    doc = _doc(Effect="Allow", Principal="*", Action="s3:*", Resource="*")
    assert _message(doc) == "Policy document should not specify a principal."


def test_trust_policy_without_principal_is_refused() -> None:
    doc = {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}
    assert _message(doc, "trust") == "Missing required field Principal"


def test_resource_policy_without_principal_is_refused() -> None:
    doc = _doc(Effect="Allow", Action="s3:GetObject", Resource="arn:aws:s3:::b/*")
    assert _message(doc, "resource") == "Missing required field Principal"


@pytest.mark.parametrize(
    ("principal", "message"),
    [
        ({"AWS": "nobody"}, 'Invalid principal in policy: "AWS":"nobody"'),
        (
            {"AWS": "arn:aws:iam::123456789012:user/*"},
            'Invalid principal in policy: "AWS":"arn:aws:iam::123456789012:user/*"',
        ),
        ({"Service": "not a service"}, 'Invalid principal in policy: "SERVICE":"not a service"'),
        ({"Bogus": "x"}, "Syntax errors in policy."),
        ({"AWS": []}, "Syntax errors in policy."),
    ],
)
def test_invalid_principals_are_refused(principal: dict[str, Any], message: str) -> None:
    doc = {
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"},
    }
    assert _message(doc, "trust") == message


def test_trust_policy_accepts_2008_version_and_all_principal_kinds() -> None:
    doc = {
        "Version": "2008-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": ["123456789012", "arn:aws:iam::123456789012:root"]},
                "Action": "sts:AssumeRole",
            },
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            },
            {
                "Effect": "Allow",
                "Principal": {"Federated": "accounts.google.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
            },
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:sts::123456789012:assumed-role/r/s"},
                "Action": "sts:*",
            },
        ],
    }
    policy = parse_policy(json.dumps(doc), "trust")
    assert policy.version == "2008-10-17"
    assert policy.statements[0].principals == (
        ("AWS", "123456789012"),
        ("AWS", "arn:aws:iam::123456789012:root"),
    )


def test_version_rule_only_for_managed_policies() -> None:
    doc = {"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}
    assert parse_policy(doc).version is None
    with pytest.raises(PolicySyntaxError) as raised:
        parse_policy(doc, managed=True)
    assert raised.value.message == "Policy document must be version 2012-10-17 or greater."


def test_statements_are_modelled_with_positions() -> None:
    text = (
        '{\n "Version": "2012-10-17",\n "Statement": [\n'
        '  {"Sid": "A", "Effect": "Deny", "NotAction": "iam:*",\n'
        '   "NotResource": ["arn:aws:s3:::b"],\n'
        '   "Condition": {"Bool": {"aws:MultiFactorAuthPresent": false}}},\n'
        '  {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}\n ]\n}'
    )
    policy = parse_policy(text)
    first, second = policy.statements
    assert (first.sid, first.effect, first.is_not_action, first.actions) == ("A", "Deny", True, ("iam:*",))
    assert first.is_not_resource and first.resources == ("arn:aws:s3:::b",)
    assert first.conditions[0].values == ("false",)
    assert first.start is not None and (first.start.line, first.start.column) == (4, 3)
    assert second.start is not None and second.start.line == 7
    assert (second.label, first.label) == ("1", "A")


def test_condition_numbers_become_strings() -> None:
    doc = _doc(
        Effect="Allow",
        Action="s3:ListBucket",
        Resource="*",
        Condition={"NumericLessThan": {"s3:max-keys": 10}},
    )
    assert parse_policy(doc).statements[0].conditions[0].values == ("10",)


@pytest.mark.parametrize("text", ["", "[]", "null", '{"Statement": NaN}', "[" * 100000, '"x"'])
def test_non_documents_are_syntax_errors(text: str) -> None:
    assert _message(text) == "Syntax errors in policy."


def test_trust_policy_invalid_json_message() -> None:
    assert _message("{", "trust") == "This policy contains invalid Json"


def test_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        parse_policy("{}", "nonsense")


_ACCEPTED = [json.loads(line) for line in (Path(__file__).parent / "aws_accepted.jsonl").open()]


@pytest.mark.parametrize("case", _ACCEPTED, ids=lambda c: str(c["id"]))
def test_recorded_aws_acceptances_parse(case: dict[str, Any]) -> None:
    """Every distinct document AWS accepted in shared/aws-recorded (CreatePolicy, CreateRole, Put*Policy)."""
    parse_policy(case["document"], case["kind"], managed=case["managed"])


def test_operator_with_empty_map_is_accepted_even_unknown_but_tests_nothing() -> None:
    policy = parse_policy(_doc(Effect="Allow", Action="s3:*", Resource="*", Condition={"a": {}, "Bool": {}}))
    assert policy.statements[0].conditions == ()
    unknown = _doc(Effect="Allow", Action="s3:*", Resource="*", Condition={"a": {"k": "v"}})
    assert _message(unknown) == "Syntax errors in policy."


def test_empty_sids_may_repeat_but_other_sids_may_not() -> None:
    one = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    parse_policy({"Version": "2012-10-17", "Statement": [{**one, "Sid": ""}, {**one, "Sid": ""}]})
    twice = {"Version": "2012-10-17", "Statement": [{**one, "Sid": "A"}, {**one, "Sid": "A"}]}
    assert _message(twice) == "Statement IDs (SID) in a single policy must be unique."


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        ("arn:aws:s3:us-west-2:123456789012:accesspoint/ap/object/*", ""),
        ("arn:aws:s3:us-west-2:123456789012:job/*", ""),
        (
            "arn:aws:s3:us-east-1::bucket",
            "Resource arn:aws:s3:us-east-1::bucket can not contain region information.",
        ),
        (
            "arn:aws:iam:us-east-1:123456789012:role/r",
            "IAM resource arn:aws:iam:us-east-1:123456789012:role/r cannot contain region information.",
        ),
    ],
)
def test_s3_resources_with_an_account_may_carry_a_region(resource: str, message: str) -> None:
    doc = _doc(Effect="Allow", Action="s3:*", Resource=resource)
    if message:
        assert _message(doc) == message
    else:
        parse_policy(doc)
