"""The access graph of an account, as SVG: users → groups → policies, users/groups/roles → policies,
and principals → roles through trust policies (another account's, dashed and red). Read with
GetAccountAuthorizationDetails as the person; every node links to its page. With `focus` set to a
role ARN, only what can reach that role is drawn (from every role's trust policy), with the chains
that lead to it. The whole account is drawn a page of GetAccountAuthorizationDetails at a time."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from starlette.responses import Response

from ostiary.console import documents
from ostiary.console.pages import SECURITY_HEADERS, Visit, page

MAX_PER_COLUMN = 150
PAGE_SIZE = 300  # entities of the account drawn at once; the page links to the next
_ROLE_PAGE = 1000
_MAX_ROLE_PAGES = 100
_COLUMNS = ("principal", "user", "group", "role", "policy")
_TITLES = {
    "principal": "Other principals",
    "user": "Users",
    "group": "Groups",
    "role": "Roles",
    "policy": "Policies",
}
_ROW, _WIDTH, _GAP, _TOP = 30, 230, 60, 40


@dataclass
class Graph:
    """Nodes by id (kind, label, link) and edges (from, to, is_cross_account)."""

    nodes: dict[str, tuple[str, str, str | None]] = field(default_factory=dict)
    edges: list[tuple[str, str, bool]] = field(default_factory=list)

    def node(self, node_id: str, kind: str, label: str, link: str | None) -> None:
        self.nodes.setdefault(node_id, (kind, label, link))


async def read(visit: Visit, marker: str | None) -> tuple[dict[str, list[Any]], str | None]:
    """One page of the account's users, groups, roles and local policies (GetAccountAuthorizationDetails),
    and the marker of the next."""
    answer = await visit.call("GetAccountAuthorizationDetails", MaxItems=PAGE_SIZE, Marker=marker)
    found = {
        m: answer.get(m, []) for m in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
    }
    return found, answer.get("Marker") if answer.get("IsTruncated") else None


async def read_roles(visit: Visit) -> dict[str, list[Any]]:
    """Every role with its trust policy (ListRoles): all that decides who can reach a role."""
    roles: list[Any] = []
    marker = None
    for _ in range(_MAX_ROLE_PAGES):
        answer = await visit.call("ListRoles", MaxItems=_ROLE_PAGE, Marker=marker)
        roles.extend(answer["Roles"])
        marker = answer.get("Marker")
        if marker is None:
            break
    return {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": roles, "Policies": []}


def build(details: dict[str, list[Any]], account: str) -> Graph:
    graph = Graph()
    groups = {g["GroupName"]: g["Arn"] for g in details["GroupDetailList"]}
    for group in details["GroupDetailList"]:
        graph.node(group["Arn"], "group", group["GroupName"], f"/console/groups/{quote(group['GroupName'])}")
        _policies(graph, group["Arn"], group.get("AttachedManagedPolicies", []))
    for user in details["UserDetailList"]:
        graph.node(user["Arn"], "user", user["UserName"], f"/console/users/{quote(user['UserName'])}")
        for name in user.get("GroupList", []):
            graph.edges.append((user["Arn"], groups.get(name, f"arn:aws:iam::{account}:group/{name}"), False))
        _policies(graph, user["Arn"], user.get("AttachedManagedPolicies", []))
    users = {u["Arn"] for u in details["UserDetailList"]}
    for role in details["RoleDetailList"]:
        graph.node(role["Arn"], "role", role["RoleName"], f"/console/roles/{quote(role['RoleName'])}")
        _policies(graph, role["Arn"], role.get("AttachedManagedPolicies", []))
        for kind, value in documents.trust_principals(role.get("AssumeRolePolicyDocument")):
            source, is_other = _principal(graph, kind, value, account, users)
            graph.edges.append((source, role["Arn"], is_other))
    for _, target, _ in graph.edges:  # groups named by users but not listed (not readable)
        if target not in graph.nodes:
            graph.node(target, "group", target.rsplit("/", 1)[-1], None)
    return graph


def reaching(graph: Graph, target: str) -> Graph:
    """The part of `graph` from which `target` can be reached (walking edges backwards)."""
    into: dict[str, list[tuple[str, str, bool]]] = defaultdict(list)
    for edge in graph.edges:
        into[edge[1]].append(edge)
    seen, queue, edges = {target}, [target], []
    while queue:
        for edge in into[queue.pop()]:
            edges.append(edge)
            if edge[0] not in seen:
                seen.add(edge[0])
                queue.append(edge[0])
    return Graph({k: v for k, v in graph.nodes.items() if k in seen}, edges)


def svg(graph: Graph) -> str:
    """The graph drawn in columns, each node a link to its page, with a title for screen readers."""
    columns: dict[str, list[str]] = {kind: [] for kind in _COLUMNS}
    for node_id, (kind, _, _) in sorted(graph.nodes.items(), key=lambda item: item[1][1].lower()):
        if len(columns[kind]) < MAX_PER_COLUMN:
            columns[kind].append(node_id)
    place = {nid: (i, j) for i, kind in enumerate(_COLUMNS) for j, nid in enumerate(columns[kind])}
    height = _TOP + _ROW * max([len(c) for c in columns.values()] + [1]) + 20
    width = len(_COLUMNS) * (_WIDTH + _GAP)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" '
        'role="img" aria-labelledby="graph-title"><title id="graph-title">Access graph of the account</title>'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#5f6b7a"/></marker></defs>'
    ]
    for i, kind in enumerate(_COLUMNS):
        out.append(f'<text x="{i * (_WIDTH + _GAP) + 8}" y="20" font-weight="700">{_TITLES[kind]}</text>')
    for source, target, is_other in graph.edges:
        if source in place and target in place:
            (i1, j1), (i2, j2) = place[source], place[target]
            x1, y1 = i1 * (_WIDTH + _GAP) + _WIDTH, _TOP + j1 * _ROW + 11
            x2, y2 = i2 * (_WIDTH + _GAP), _TOP + j2 * _ROW + 11
            style = 'stroke="#d13212" stroke-dasharray="5 3"' if is_other else 'stroke="#8c8c94"'
            kind = "cross-account" if is_other else "edge"
            out.append(
                f'<line class="{kind}" x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" {style} '
                'marker-end="url(#arrow)"/>'
            )
    for node_id, (i, j) in place.items():
        kind, label, link = graph.nodes[node_id]
        x, y = i * (_WIDTH + _GAP), _TOP + j * _ROW
        box = (
            f'<rect x="{x}" y="{y}" width="{_WIDTH}" height="22" rx="4" fill="#f2f8fd" stroke="#0972d3"/>'
            f'<text x="{x + 6}" y="{y + 15}" font-size="12">{escape(label[:34])}</text>'
        )
        title = f"<title>{escape(node_id)}</title>"
        if link:
            out.append(f'<a href="{escape(link)}" class="node {kind}">{title}{box}</a>')
        else:
            out.append(f'<g class="node {kind}">{title}{box}</g>')
    out.append("</svg>")
    return "".join(out)


@page
async def graph_page(visit: Visit) -> Response:
    """The account a page at a time; with `focus` (a role ARN), every chain of trust that reaches it."""
    focus = visit.request.query_params.get("focus", "")
    account = visit.principal.session.account_id
    next_marker = None
    if focus:
        graph = reaching(build(await read_roles(visit), account), focus)
    else:
        details, next_marker = await read(visit, visit.request.query_params.get("marker") or None)
        graph = build(details, account)
    found = chains(graph, focus) if focus else []
    return visit.render(
        "graph.html",
        svg=svg(graph),
        focus=focus,
        chains=found,
        size=len(graph.nodes),
        next_marker=next_marker,
    )


@page
async def graph_svg(visit: Visit) -> Response:
    """The same page of the graph as a file."""
    details, _ = await read(visit, visit.request.query_params.get("marker") or None)
    graph = build(details, visit.principal.session.account_id)
    return Response(svg(graph), media_type="image/svg+xml", headers=dict(SECURITY_HEADERS))


def chains(graph: Graph, target: str, limit: int = 50) -> list[list[str]]:
    """Paths that end at `target`, as lists of labels (principal first), at most `limit`."""
    into: dict[str, list[str]] = defaultdict(list)
    for source, dest, _ in graph.edges:
        into[dest].append(source)
    found: list[list[str]] = []
    stack: list[list[str]] = [[target]]
    while stack and len(found) < limit:
        path = stack.pop()
        sources = [s for s in into[path[0]] if s not in path]
        if not sources and len(path) > 1:
            found.append([graph.nodes.get(n, ("", n, None))[1] for n in path])
        for source in sources:
            stack.append([source, *path])
    return found


def _policies(graph: Graph, holder: str, attached: list[dict[str, Any]]) -> None:
    for policy in attached:
        arn = policy["PolicyArn"]
        graph.node(arn, "policy", policy["PolicyName"], f"/console/policy?arn={quote(arn, safe='')}")
        graph.edges.append((holder, arn, False))


def _principal(graph: Graph, kind: str, value: str, account: str, users: set[str]) -> tuple[str, bool]:
    """The node of a trust policy's principal, and whether it is another account's."""
    if kind == "AWS" and value != "*":
        owner = value if value.isdigit() else (value.split(":")[4] if value.count(":") >= 5 else "")
        if value in users:
            return value, False
        if owner == account and (":user/" in value or ":role/" in value):  # not on this page: by its ARN
            kind, name = ("user" if ":user/" in value else "role"), value.rsplit("/", 1)[-1]
            graph.node(value, kind, name, f"/console/{kind}s/{quote(name)}")
            return value, False
        label = f"account {owner}" if value.endswith(":root") or value.isdigit() else value.split(":", 5)[-1]
        graph.node(value, "principal", label, None)
        return value, owner != account
    graph.node(f"{kind}:{value}", "principal", f"{kind}: {value}", None)
    return f"{kind}:{value}", kind == "AWS"
