"""`ostiary policy validate FILE` and `ostiary policy eval [FILE|-]`."""

from __future__ import annotations

import json
import sys
from typing import TextIO

import click

from ostiary.analyzer import KINDS, guess_kind
from ostiary.analyzer import validate as validate_document
from ostiary.policy import evaluate_case

_KINDS = list(KINDS)


@click.group()
def policy() -> None:
    """Check policy documents and evaluate requests with Ostiary's engine."""


@policy.command("validate")
@click.argument("file", type=click.File("r"))
@click.option("--kind", type=click.Choice(_KINDS), default=None,
              help="the kind of policy the document is (guessed from the document when absent)")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="print the findings as ValidatePolicy returns them")
def validate(file: TextIO, kind: str | None, as_json: bool) -> None:
    """Print every finding Access Analyzer's checks make on a policy; exit 1 when one is an ERROR."""
    text = file.read()
    kind = kind or guess_kind(text)
    policy_type, resource_type = KINDS[kind]
    findings = validate_document(text, policy_type, resource_type)
    if as_json:
        click.echo(json.dumps({"kind": kind, "findings": [f.as_api() for f in findings]}, indent=2))
    else:
        for finding in findings:
            where = finding.locations[0].start if finding.locations else None
            at = f"{where.line}:{where.column}" if where else "-"
            path = ".".join(str(step) for step in finding.locations[0].path) if finding.locations else ""
            line = f"{at} {finding.finding_type} {finding.issue_code} [{path}]: {finding.details}"
            click.echo(_printable(line))
        if not findings:
            click.echo(f"valid ({kind})")
    if any(f.finding_type == "ERROR" for f in findings):
        sys.exit(1)


def _printable(text: str) -> str:
    """Text any terminal encoding takes: lone surrogates (valid JSON escapes) shown escaped."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


@policy.command("eval")
@click.argument("file", type=click.File("r"), default="-")
def eval_(file: click.utils.LazyFile) -> None:
    """Read one JSON request a line; print one JSON decision a line.

    \b
    The line format is docs/eval-format.md in Ostiary's source tree. In: {"id", "account",
    "principal", "identity_policies", "boundary", "session_policies", "scps", "resource_policy"
    (or "trust_policy" and "role_arn"), "request": {"action", "resource", "context"}}.
    Out: {"id", "decision": Allow | ExplicitDeny | ImplicitDeny, "reasons"}, or {"id", "error"}.
    """
    for number, line in enumerate(file, start=1):
        if not line.strip():
            continue
        try:
            case = json.loads(line)
        except ValueError as error:
            click.echo(json.dumps({"id": None, "error": f"line {number} is not JSON: {error}"}))
            continue
        click.echo(json.dumps(evaluate_case(case)))
