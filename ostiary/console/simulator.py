"""The policy simulator: SimulatePrincipalPolicy for a user, group or role (the person by default)."""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from ostiary.console.pages import Visit, page
from ostiary.errors import AccessDenied, AwsError

_SPLIT = re.compile(r"[\s,]+")
_MAX_ITEMS = 100


@page
async def simulator_page(visit: Visit) -> Response:
    session = visit.principal.session
    own = session.role_arn or session.arn
    source = visit.form.get("source", "").strip() or own
    actions = visit.form.get("actions", "")
    resources = visit.form.get("resources", "")
    results: list[dict[str, Any]] | None = None
    error: AwsError | None = None
    if visit.request.method == "POST":
        names = [a for a in _SPLIT.split(actions) if a][:_MAX_ITEMS]
        arns = [r for r in _SPLIT.split(resources) if r][:_MAX_ITEMS]
        try:
            answer = await visit.call(
                "SimulatePrincipalPolicy",
                PolicySourceArn=source,
                ActionNames=names,
                ResourceArns=arns or None,
            )
            results = answer["EvaluationResults"]
        except AwsError as exc:
            if isinstance(exc, AccessDenied):
                raise
            error = exc
    return visit.render(
        "simulator.html", source=source, actions=actions, resources=resources, results=results, error=error
    )
