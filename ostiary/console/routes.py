"""Every console URL on one screen."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ostiary.console import (
    account,
    dashboard,
    graph,
    groups,
    pages,
    policies,
    roles,
    sign_in,
    simulator,
    switch_role,
    users,
)

if TYPE_CHECKING:
    from ostiary.app import OstiaryApp

_GET_POST = ["GET", "POST"]


async def _root(request: Request) -> Response:
    return pages.redirect("/console/home")


def _routes() -> list[Route | Mount]:
    return [
        Route("/console", _root),
        Route("/console/signin", sign_in.sign_in_page, methods=_GET_POST),
        Route("/console/signin/mfa", sign_in.mfa_page, methods=_GET_POST),
        Route("/console/signin/root", sign_in.root_sign_in_page, methods=_GET_POST),
        Route("/console/signout", sign_in.sign_out, methods=["POST"]),
        Route("/console/password", sign_in.password_page, methods=_GET_POST),
        Route("/console/home", dashboard.home, name="home"),
        Route("/console/users", users.user_list, methods=_GET_POST),
        Route("/console/users/{name}", users.user_detail, methods=_GET_POST),
        Route("/console/users/{name}/access-keys", users.access_keys, methods=["POST"]),
        Route("/console/users/{name}/mfa", users.mfa_device, methods=["POST"]),
        Route("/console/groups", groups.group_list, methods=_GET_POST),
        Route("/console/groups/{name}", groups.group_detail, methods=_GET_POST),
        Route("/console/roles", roles.role_list),
        Route("/console/roles/{name}", roles.role_detail),
        Route("/console/policies", policies.policy_list, methods=_GET_POST),
        Route("/console/policies/validate", policies.validate, methods=["POST"]),
        Route("/console/policy", policies.policy_detail, methods=_GET_POST),
        Route("/console/simulator", simulator.simulator_page, methods=_GET_POST),
        Route("/console/account", account.settings_page, methods=_GET_POST),
        Route("/console/switchrole", switch_role.switch_page, methods=_GET_POST),
        Route("/console/switchrole/back", switch_role.back, methods=["POST"]),
        Route("/console/graph", graph.graph_page),
        Route("/console/graph.svg", graph.graph_svg),
        Mount("/console/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static"),
    ]


def console_app(app: OstiaryApp) -> Starlette:
    """The console's ASGI app over the endpoint's store, keyring, settings and trail."""
    console = Starlette(routes=_routes())
    console.state.ostiary = app
    return console
