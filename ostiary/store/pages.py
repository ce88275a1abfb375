"""Pagination as IAM does it: Marker, MaxItems, IsTruncated, over a stable sort key."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, Row, Select

from ostiary.errors import InvalidInputException

DEFAULT_MAX_ITEMS = 100


@dataclass(frozen=True)
class Page:
    rows: list[Row[Any]]
    marker: str | None  # the Marker to send for the next page; None when this is the last

    def fields(self) -> dict[str, Any]:
        """IsTruncated and, when truncated, Marker: the members every IAM list output has."""
        return _fields(self.marker)


def _fields(marker: str | None) -> dict[str, Any]:
    return {"IsTruncated": True, "Marker": marker} if marker is not None else {"IsTruncated": False}


def _encode_marker(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def decode_marker(marker: str) -> str:
    try:
        return base64.urlsafe_b64decode(marker.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInputException("Invalid Marker.") from exc


def fetch_page(
    conn: Connection, stmt: Select[Any], key: Column[Any], marker: str | None, max_items: int | None
) -> Page:
    """One page of `stmt` ordered by the unique `key`, starting at `marker`."""
    limit = max_items or DEFAULT_MAX_ITEMS
    if marker:
        stmt = stmt.where(key >= decode_marker(marker))
    rows = list(conn.execute(stmt.order_by(key).limit(limit + 1)))
    if len(rows) > limit:
        return Page(rows[:limit], _encode_marker(str(rows[limit]._mapping[key.name])))
    return Page(rows, None)


def page_list(
    items: list[Any], marker: str | None, max_items: int | None, key: Any = str
) -> tuple[list[Any], dict[str, Any]]:
    """Paginate an in-memory list already sorted by `key(item)`; returns the page and its fields."""
    limit = max_items or DEFAULT_MAX_ITEMS
    if marker:
        start = decode_marker(marker)
        items = [i for i in items if key(i) >= start]
    if len(items) > limit:
        return items[:limit], _fields(_encode_marker(key(items[limit])))
    return items, _fields(None)
