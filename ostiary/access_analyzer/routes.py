"""Which Access Analyzer operation a request is, from botocore's model (method and URI template), and
its parameters: path labels, query members and the JSON body, as the model places them."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qs, unquote

import botocore.session

from ostiary.access_analyzer.errors import ValidationException
from ostiary.protocol import HttpRequest


@dataclass(frozen=True)
class Route:
    operation: str
    method: str
    pattern: re.Pattern[str]
    query: dict[str, str]  # the query string's name -> the member it fills
    list_members: frozenset[str]  # query members that are lists (every value kept)


@cache
def _routes() -> tuple[Route, ...]:
    model = botocore.session.get_session().get_service_model("accessanalyzer")
    routes = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        path = operation.http["requestUri"].split("?", 1)[0]
        regex = re.sub(r"\\\{(\w+)\\\}", lambda m: f"(?P<{m[1]}>[^/]+)", re.escape(path))
        members = operation.input_shape.members if operation.input_shape else {}
        query = {
            shape.serialization.get("name", member): member
            for member, shape in members.items()
            if shape.serialization.get("location") == "querystring"
        }
        lists = frozenset(m for m, s in members.items() if s.type_name == "list")
        routes.append(Route(name, operation.http["method"], re.compile(regex + r"/?\Z"), query, lists))
    # literal paths first: `/analyzer/findings/statistics` before `/analyzer/{analyzerName}`
    return tuple(sorted(routes, key=lambda r: r.pattern.pattern.count("(?P<")))


def route(request: HttpRequest) -> tuple[str, dict[str, Any]] | None:
    """(operation, parameters) of a request, or None when no operation of the model has its shape."""
    for candidate in _routes():
        if candidate.method != request.method:
            continue
        found = candidate.pattern.match(request.path)
        if found is None:
            continue
        params = _body(request)
        for name, values in parse_qs(request.query_string, keep_blank_values=True).items():
            member = candidate.query.get(name)
            if member is not None:
                params[member] = values if member in candidate.list_members else values[0]
        params.update({k: unquote(v) for k, v in found.groupdict().items()})
        return candidate.operation, params
    return None


def _body(request: HttpRequest) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, RecursionError):  # RecursionError: arrays nested past the interpreter's depth
        raise ValidationException("Unable to parse request body", "cannotParse") from None
    if not isinstance(body, dict):
        raise ValidationException("Unable to parse request body", "cannotParse")
    return body
