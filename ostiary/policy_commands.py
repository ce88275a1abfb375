"""`ostiary policy validate FILE` and `ostiary policy eval [FILE|-]`."""

from __future__ import annotations

import json
import sys

import click

from ostiary.policy import evaluate_case, validate_policy

_KINDS = ["identity", "resource", "trust", "boundary", "session", "scp"]


@click.group()
def policy() -> None:
    """Check policy documents and evaluate requests with Ostiary's engine."""


@policy.command("validate")
@click.argument("file", type=click.File("r"))
@click.option("--kind", type=click.Choice(_KINDS), default="identity", show_default=True,
              help="the kind of policy the document is")  # fmt: skip
def validate(file: click.utils.LazyFile, kind: str) -> None:
    """Print the problems in a policy document; exit 1 when IAM would refuse it."""
    findings = validate_policy(file.read(), kind)
    for finding in findings:
        where = f" at `{finding.path}`" if finding.path else ""
        click.echo(f"{finding.severity}{where}: {finding.message}")
    if any(f.severity == "error" for f in findings):
        sys.exit(1)
    if not findings:
        click.echo("valid")


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
