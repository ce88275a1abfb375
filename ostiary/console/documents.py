"""Policy documents as IAM's answers carry them (URL-encoded JSON), made readable."""

from __future__ import annotations

import functools
import json
from typing import Any
from urllib.parse import unquote


def readable(document: Any) -> str:
    """A document from an answer, decoded and indented (as it came when it is not JSON)."""
    if isinstance(document, dict):
        return json.dumps(document, indent=2)
    text = str(document or "")
    if text.startswith("%"):
        text = unquote(text)
    try:
        return json.dumps(json.loads(text), indent=2)
    except ValueError:
        return text


def parsed(document: Any) -> dict[str, Any]:
    """A document from an answer as a dict ({} when it is not a JSON object)."""
    if isinstance(document, dict):
        return document
    text = str(document or "")
    try:
        found = json.loads(unquote(text) if text.startswith("%") else text)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def trust_principals(document: Any) -> tuple[tuple[str, str], ...]:
    """(kind, value) of every principal an Allow statement of a trust policy names: AWS, Service,
    Federated, or `*`. Worked out once per document text (an account's roles share a few)."""
    if isinstance(document, str):
        return _trust_principals(document)
    return _principals_of(document)


@functools.lru_cache(maxsize=4096)
def _trust_principals(text: str) -> tuple[tuple[str, str], ...]:
    return _principals_of(text)


def _principals_of(document: Any) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    statements = parsed(document).get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        if principal == "*":
            found.append(("AWS", "*"))
            continue
        if not isinstance(principal, dict):
            continue
        for kind, values in principal.items():
            for value in values if isinstance(values, list) else [values]:
                found.append((str(kind), str(value)))
    return tuple(found)
