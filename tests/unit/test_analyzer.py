"""ValidatePolicy's findings on the issue's examples: all of them, each located in the text."""

from __future__ import annotations

import json

import pytest

from ostiary.analyzer import ISSUES, Finding, guess_kind, validate
from ostiary.analyzer.issues import learn_more_link


def codes(findings: list[Finding]) -> list[str]:
    """The issue codes, in order."""
    return [f.issue_code for f in findings]


def test_misspelt_action_and_service_are_both_reported_with_their_locations() -> None:
    text = (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
        '"Action": ["s3:GetObjectt", "dynamodbb:Scan"], "Resource": "*"}]}'
    )
    first, second = validate(text, "IDENTITY_POLICY")
    assert (first.issue_code, first.finding_type) == ("INVALID_ACTION", "ERROR")
    assert first.details == "The action s3:GetObjectt does not exist. Did you mean s3:GetObject?"
    assert first.locations[0].path == ("Statement", 0, "Action", 0)
    start, end = first.locations[0].start.offset, first.locations[0].end.offset
    assert text[start:end] == '"s3:GetObjectt"'
    assert second.issue_code == "INVALID_SERVICE_IN_ACTION"
    assert (
        second.details
        == "The service dynamodbb:Scan specified in the action does not exist. Did you mean dynamodb?"
    )
    assert text[second.locations[0].start.offset : second.locations[0].end.offset] == '"dynamodbb:Scan"'


def test_trailing_comma_is_a_syntax_error_at_its_place() -> None:
    text = (
        '{\n  "Version": "2012-10-17",\n  "Statement": [\n'
        '    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},\n  ]\n}'
    )
    (finding,) = validate(text, "IDENTITY_POLICY")
    offset = text.index("]")
    assert finding.issue_code == "JSON_SYNTAX_ERROR"
    assert finding.details == f"Fix the JSON syntax error at index {offset} line 5 column 2."
    assert finding.as_api()["locations"] == [
        {
            "path": [],
            "span": {
                "start": {"line": 5, "column": 2, "offset": offset},
                "end": {"line": 5, "column": 2, "offset": offset},
            },
        }
    ]


def test_positions_are_line_1_based_column_0_based() -> None:
    text = '{"Version": "2012-10-17",\n"Statement": {"Effect": "Allow", "Action": "s3:GetObjectt", "Resource": "*"}}'  # noqa: E501
    (finding,) = validate(text, "IDENTITY_POLICY")
    start = finding.locations[0].start
    assert (start.line, start.column, start.offset) == (
        2,
        text.index('"s3:') - text.index("\n") - 1,
        text.index('"s3:'),
    )
    assert finding.locations[0].path == ("Statement", "Action")


def test_a_valid_policy_has_no_findings() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": "dynamodb:DeleteTable",
                "Resource": "arn:aws:dynamodb:us-east-1:111122223333:table/Books",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}},
            },
        ],
    }
    assert validate(json.dumps(document), "IDENTITY_POLICY") == []


def test_api_shape_and_learn_more_link() -> None:
    text = '{"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}'
    (finding,) = validate(text, "IDENTITY_POLICY")
    api = finding.as_api()
    assert api["issueCode"] == "MISSING_VERSION" and api["findingType"] == "WARNING"
    assert api["learnMoreLink"].endswith(
        "#access-analyzer-reference-policy-checks-general-warning-missing-version"
    )
    assert set(api) == {"findingDetails", "findingType", "issueCode", "learnMoreLink", "locations"}


def test_catalogue_types_are_the_api_enum() -> None:
    assert {kind for kind, _ in ISSUES.values()} == {"ERROR", "SECURITY_WARNING", "WARNING", "SUGGESTION"}
    assert learn_more_link("PASS_ROLE_WITH_STAR_IN_RESOURCE").endswith(
        "-security-warning-pass-role-with-star-in-resource"
    )


def test_unknown_policy_type_is_refused() -> None:
    with pytest.raises(ValueError):
        validate("{}", "BOGUS_POLICY")


@pytest.mark.parametrize(
    ("document", "kind"),
    [
        ({"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}, "identity"),
        ({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}}, "resource"),
        (
            {
                "Statement": {
                    "Effect": "Allow",
                    "Principal": {"Service": "ec2.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            },
            "trust",
        ),
    ],
)
def test_kind_is_guessed_from_the_document(document: dict[str, object], kind: str) -> None:
    assert guess_kind(json.dumps(document)) == kind


def test_a_finding_on_a_key_points_at_the_key_itself() -> None:
    text = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {"StringEquals": {"s3:prefixx": "home/"}},
            },
        }
    )
    (finding,) = validate(text, "IDENTITY_POLICY")
    location = finding.as_api()["locations"][0]
    assert location["path"] == [
        {"value": "Statement"},
        {"value": "Condition"},
        {"value": "StringEquals"},
        {"key": "s3:prefixx"},
    ]
    assert text[location["span"]["start"]["offset"] : location["span"]["end"]["offset"]] == '"s3:prefixx"'
