"""The access graph: edges from authorization details and trust policies, reachability, and SVG."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

from ostiary.console.graph import build, reaching, svg

ACCOUNT = "123456789012"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def _trust(*principals: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": "sts:AssumeRole"}
    return quote(json.dumps({"Version": "2012-10-17", "Statement": [statement]}))  # as IAM answers carry it


def _details() -> dict[str, list[Any]]:
    user = f"arn:aws:iam::{ACCOUNT}:user/alice"
    return {
        "UserDetailList": [
            {"UserName": "alice", "Arn": user, "GroupList": ["admins"], "AttachedManagedPolicies": []},
            {"UserName": "bob", "Arn": f"arn:aws:iam::{ACCOUNT}:user/bob", "GroupList": []},
        ],
        "GroupDetailList": [
            {
                "GroupName": "admins",
                "Arn": f"arn:aws:iam::{ACCOUNT}:group/team/admins",
                "AttachedManagedPolicies": [{"PolicyName": "AdministratorAccess", "PolicyArn": ADMIN}],
            }
        ],
        "RoleDetailList": [
            {
                "RoleName": "Deploy",
                "Arn": f"arn:aws:iam::{ACCOUNT}:role/Deploy",
                "AssumeRolePolicyDocument": _trust(user, "arn:aws:iam::999988887777:root"),
            },
            {
                "RoleName": "Chained",
                "Arn": f"arn:aws:iam::{ACCOUNT}:role/Chained",
                "AssumeRolePolicyDocument": _trust(f"arn:aws:iam::{ACCOUNT}:role/Deploy"),
            },
        ],
        "Policies": [],
    }


def test_edges_follow_groups_policies_and_trust() -> None:
    graph = build(_details(), ACCOUNT)
    edges = {(a.rsplit(":", 1)[-1], b.rsplit(":", 1)[-1], other) for a, b, other in graph.edges}
    assert ("user/alice", "group/team/admins", False) in edges  # the group's own path, not `/`
    assert ("group/team/admins", "policy/AdministratorAccess", False) in edges
    assert ("user/alice", "role/Deploy", False) in edges
    assert ("root", "role/Deploy", True) in edges  # another account's: a cross-account edge
    assert ("role/Deploy", "role/Chained", False) in edges


def test_reaching_a_role_keeps_only_the_chains_into_it() -> None:
    graph = build(_details(), ACCOUNT)
    reached = reaching(graph, f"arn:aws:iam::{ACCOUNT}:role/Chained")
    labels = {label for _, label, _ in reached.nodes.values()}
    assert labels == {"Chained", "Deploy", "alice", "account 999988887777"}


def test_svg_is_well_formed_escaped_and_links_each_entity() -> None:
    details = _details()
    details["UserDetailList"].append(
        {"UserName": "<script>", "Arn": f"arn:aws:iam::{ACCOUNT}:user/x", "GroupList": []}
    )
    drawn = svg(build(details, ACCOUNT))
    root = ElementTree.fromstring(drawn)
    links = [a.get("href") for a in root.iter("{http://www.w3.org/2000/svg}a")]
    assert "/console/users/alice" in links and "/console/roles/Deploy" in links
    assert "<script>" not in drawn and "&lt;script&gt;" in drawn
    assert (
        len([e for e in root.iter("{http://www.w3.org/2000/svg}line") if e.get("class") == "cross-account"])
        == 1
    )
