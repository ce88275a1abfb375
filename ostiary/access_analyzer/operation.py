"""What an operation module declares: the function that answers and the resource it is authorized on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ostiary import services

Params = dict[str, Any]


def any_resource(ctx: services.Context, params: Params) -> str:
    """`*`: operations whose Service Authorization Reference entry names no resource type."""
    return "*"


@dataclass(frozen=True)
class Operation:
    """One Access Analyzer operation: `run` answers with the output shape as plain data; `resource` is
    the ARN the caller's `access-analyzer:<operation>` permission is decided on; `action` the action
    when AWS authorizes the operation as another (ListFindingsV2 as `ListFindings`)."""

    run: Callable[[services.Context, Params], dict[str, Any]]
    resource: Callable[[services.Context, Params], str] = any_resource
    action: str | None = None
