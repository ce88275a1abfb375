"""`ostiary policy validate` as a user runs it: every finding, human lines or --json, the kind guessed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

TYPOS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObjectt", "dynamodbb:Scan"], "Resource": "*"}],
}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
}


def run(path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """`python -m ostiary policy validate` on a file."""
    command = [sys.executable, "-m", "ostiary", "policy", "validate", *options, str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def typos(tmp_path: Path) -> Path:
    path = tmp_path / "typos.json"
    path.write_text(json.dumps(TYPOS, indent=2))
    return path


def test_every_error_printed_with_its_place_and_exit_1(typos: Path) -> None:
    result = run(typos)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines == [
        "7:8 ERROR INVALID_ACTION [Statement.0.Action.0]: "
        "The action s3:GetObjectt does not exist. Did you mean s3:GetObject?",
        "8:8 ERROR INVALID_SERVICE_IN_ACTION [Statement.0.Action.1]: "
        "The service dynamodbb:Scan specified in the action does not exist. Did you mean dynamodb?",
    ]


def test_json_output_is_validate_policy_findings(typos: Path) -> None:
    result = run(typos, "--json")
    out = json.loads(result.stdout)
    assert out["kind"] == "identity"
    assert [f["issueCode"] for f in out["findings"]] == ["INVALID_ACTION", "INVALID_SERVICE_IN_ACTION"]
    assert out["findings"][0]["locations"][0]["span"]["start"]["line"] == 7


def test_trailing_comma_reported_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "comma.json"
    path.write_text('{\n  "Version": "2012-10-17",\n  "Statement": [\n    {"Effect": "Allow"},\n  ]\n}\n')
    result = run(path)
    assert result.returncode == 1
    assert result.stdout.startswith("5:2 ERROR JSON_SYNTAX_ERROR []: Fix the JSON syntax error at index")


def test_kind_is_guessed_and_can_be_forced(tmp_path: Path) -> None:
    path = tmp_path / "trust.json"
    path.write_text(json.dumps(TRUST))
    guessed = json.loads(run(path, "--json").stdout)
    assert guessed["kind"] == "trust"
    codes = [f["issueCode"] for f in guessed["findings"]]
    assert codes == ["ROLE_TRUST_POLICY_UNSUPPORTED_WILDCARD_IN_PRINCIPAL"]
    forced = run(path, "--kind", "identity", "--json")
    assert forced.returncode == 1
    codes = [f["issueCode"] for f in json.loads(forced.stdout)["findings"]]
    assert "UNSUPPORTED_PRINCIPAL" in codes and "MISSING_RESOURCE" in codes


def test_warnings_alone_exit_0(tmp_path: Path) -> None:
    path = tmp_path / "passrole.json"
    path.write_text(json.dumps({"Statement": {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}}))
    result = run(path)
    assert result.returncode == 0
    assert [line.split()[2] for line in result.stdout.splitlines()] == [
        "MISSING_VERSION",
        "PASS_ROLE_WITH_STAR_IN_RESOURCE",
    ]


def test_lone_surrogates_and_unicode_print(tmp_path: Path) -> None:
    path = tmp_path / "odd.json"
    statement = '{"Effect": "Allow", "Action": ["\\ud800:x", "s3:\u00e9t\u00e9"], "Resource": "*"}'
    path.write_text('{"Version": "2012-10-17", "Statement": ' + statement + "}", encoding="utf-8")
    result = run(path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "\\ud800:x" in result.stdout and "s3:\u00e9t\u00e9" in result.stdout
