"""principalmapper's local policy simulation (querying.local_policy_simulation)."""

from __future__ import annotations

import collections
import collections.abc
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

# principalmapper 1.1.5 imports Mapping and MutableMapping from `collections`, gone since Python 3.10.
for _name in ("Mapping", "MutableMapping"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

from principalmapper.common import Node, Policy  # noqa: E402 (after the shim above)
from principalmapper.querying.local_policy_simulation import has_matching_statement  # noqa: E402
from principalmapper.util.case_insensitive_dict import CaseInsensitiveDict  # noqa: E402

NAME = "principalmapper"
VERSION = version("principalmapper")
LIMITS = [
    "policy variables in condition values (${aws:PrincipalTag/team}) are not substituted",
]


def prepare(principal: dict[str, Any], policies: list[tuple[str, dict]]) -> Callable[[dict], str]:
    """Build the principal's Node with its policies and return decide."""
    attached = [
        Policy(f"arn:aws:iam::{principal['account']}:policy/{name}", name, doc) for name, doc in policies
    ]
    node = Node(
        principal["arn"],
        principal["user_id"],
        attached,
        [],
        None,
        None,
        0,
        False,
        False,
        None,
        False,
        dict(principal["tags"]),
    )

    def decide(request: dict[str, Any]) -> str:
        """A Deny scan, then an Allow scan, as local_check_authorization does (without its deep copy)."""
        action, resource = request["action"], request["resource"]
        context = CaseInsensitiveDict(request["context"])
        if has_matching_statement(node, "Deny", action, resource, context):
            return "ExplicitDeny"
        if has_matching_statement(node, "Allow", action, resource, context):
            return "Allow"
        return "ImplicitDeny"

    return decide
