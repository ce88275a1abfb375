"""Ostiary's own engine (ostiary.policy), used as the server uses it: compiled once, combined, reused."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

NAME = "ostiary"
LIMITS: list[str] = []
NOTE = "policies parsed, compiled and combined once (the cached PolicySet form); authorize() per request"
_API = ("parse_policy", "compile_policy", "combine_policies", "Principal", "Request", "authorize")

_ROOT = Path(__file__).resolve().parents[2]


def _engine_version() -> str:
    """The last commit that touched ostiary/policy, with + when the working tree changes it."""
    try:
        commit = subprocess.run(
            ["git", "log", "-1", "--format=%h", "--", "ostiary/policy"],
            cwd=_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "ostiary/policy"],
            cwd=_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "checkout"
    return (commit or "checkout") + ("+" if dirty else "")


VERSION = _engine_version()


def missing() -> list[str]:
    """The names of the public API this adapter needs that ostiary.policy does not export."""
    try:
        import ostiary.policy as engine
    except ImportError:
        return list(_API)
    return [name for name in _API if not hasattr(engine, name)]


def prepare(principal: dict[str, Any], policies: list[tuple[str, dict]]) -> Callable[[dict], str]:
    """Parse, compile and combine the principal's identity policies; return decide."""
    from ostiary.policy import Principal, Request, authorize, combine_policies, compile_policy, parse_policy

    account = principal["account"]
    compiled = [
        compile_policy(
            parse_policy(json.dumps(doc), "identity"), f"arn:aws:iam::{account}:policy/{name}", "identity"
        )
        for name, doc in policies
    ]
    identity = combine_policies(compiled, "identity")
    caller = Principal(
        arn=principal["arn"],
        type="user",
        account=account,
        user_id=principal["user_id"],
        tags=dict(principal["tags"]),
    )

    def decide(request: dict[str, Any]) -> str:
        """One Request and one authorize() call, as the server makes per API call."""
        return authorize(
            Request(caller, request["action"], request["resource"], request["context"]), identity=identity
        ).decision

    return decide
