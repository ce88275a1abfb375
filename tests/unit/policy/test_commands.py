"""`ostiary policy validate` and `ostiary policy eval` through click's runner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ostiary.cli import main


def test_validate_reports_access_analyzer_finding_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*"}}')
    result = CliRunner().invoke(main, ["policy", "validate", str(path)])
    assert result.exit_code == 1
    assert result.output == (
        "1:39 ERROR MISSING_RESOURCE [Statement]: "
        "Add a Resource or NotResource element to the policy statement.\n"
    )


def test_validate_accepts_a_good_trust_policy(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    statement = {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    path.write_text(json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    result = CliRunner().invoke(main, ["policy", "validate", "--kind", "trust", str(path)])
    assert (result.exit_code, result.output) == (0, "valid (trust)\n")


def test_eval_one_line_per_case_and_errors_go_on() -> None:
    principal = {"type": "user", "arn": "arn:aws:iam::111111111111:user/a", "account": "111111111111"}
    good = {
        "id": "g",
        "principal": principal,
        "identity_policies": [
            {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}
        ],
        "request": {"action": "s3:GetObject", "resource": "arn:aws:s3:::b/k"},
    }
    bad_policy = {**good, "id": "b", "identity_policies": [{"Statement": []}]}
    lines = "\n".join(
        [json.dumps(good), "not json", json.dumps(bad_policy), json.dumps({**good, "id": "g2"})]
    )
    result = CliRunner().invoke(main, ["policy", "eval", "-"], input=lines + "\n")
    out = [json.loads(line) for line in result.output.splitlines()]
    assert result.exit_code == 0
    assert [(o["id"], o.get("decision")) for o in out] == [
        ("g", "Allow"),
        (None, None),
        ("b", None),
        ("g2", "Allow"),
    ]
    assert out[0]["reasons"] == ["identity[0]:#0"]
    assert out[2]["error"] == "invalid policy at `Statement`: Syntax errors in policy."
