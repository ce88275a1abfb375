"""Pagination as IAM does it: Marker, MaxItems, IsTruncated, over a stable sort key.

A Marker holds the sort key of the next page's first item, in base 64. AWS takes Markers of at most
320 characters, so a key too long for one (a policy ARN on a long path, a long serial number) is
held as a prefix of it and the count of items from that prefix up to the key, skipped again.

Keys compare in code-point order on every store (on PostgreSQL whatever the database's collation: an
en-US collation and Python's comparison of a Marker disagreed, and a page could come back forever).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, Row, Select, func, select

from ostiary.errors import ValidationError

DEFAULT_MAX_ITEMS = 100
_MAX_KEY_BYTES = 240  # the longest key whose base 64 fits a Marker (markerType: 320 characters)
_PREFIX_BYTES = 200  # how much of a longer key its Marker keeps, with the count to skip after it
_SKIPPED = "\0"  # opens a Marker of a prefix and a count (no sort key holds a NUL)
_INVALID = "Invalid Marker."


@dataclass(frozen=True)
class Page:
    rows: list[Row[Any]]
    marker: str | None  # the Marker to send for the next page; None when this is the last

    def fields(self) -> dict[str, Any]:
        """IsTruncated and, when truncated, Marker: the members every IAM list output has."""
        return _fields(self.marker)


def _fields(marker: str | None) -> dict[str, Any]:
    return {"IsTruncated": True, "Marker": marker} if marker is not None else {"IsTruncated": False}


def _encode_marker(key: str, skipped: Callable[[str], int]) -> str:
    """The Marker of the page that starts at `key`; `skipped(prefix)` counts the items from `prefix`
    up to `key`, for a key too long to be held whole."""
    raw = key.encode()
    if len(raw) > _MAX_KEY_BYTES:
        prefix = raw[:_PREFIX_BYTES].decode(errors="ignore")  # whole characters only
        raw = f"{_SKIPPED}{skipped(prefix)}{_SKIPPED}{prefix}".encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_marker(marker: str) -> tuple[str, int]:
    """Where a Marker's page starts: the first key at or after the start, after skipping a count.

    A Marker never issued is refused as AWS refuses it (ValidationError, recorded for
    ListVirtualMFADevices), never read as the start of the list: characters outside base 64 are not
    skipped, and no issued Marker is empty."""
    try:
        text = base64.b64decode(marker.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValidationError(_INVALID) from exc
    if not text:
        raise ValidationError(_INVALID)
    if not text.startswith(_SKIPPED):
        return text, 0
    count, _, start = text[1:].partition(_SKIPPED)
    if not (count.isascii() and count.isdigit() and len(count) < 10):
        raise ValidationError(_INVALID)
    return start, int(count)


def fetch_page(
    conn: Connection, stmt: Select[Any], key: Column[Any], marker: str | None, max_items: int | None
) -> Page:
    """One page of `stmt` ordered by the unique `key`, starting at `marker`."""
    limit = max_items or DEFAULT_MAX_ITEMS
    order = _code_points(conn, key)
    page, skip = stmt, 0
    if marker:
        start, skip = decode_marker(marker)
        page = page.where(order >= start)
    rows = list(conn.execute(page.order_by(order).limit(limit + 1).offset(skip or None)))
    if len(rows) <= limit:
        return Page(rows, None)
    following = str(rows[limit]._mapping[key.name])

    def skipped(prefix: str) -> int:
        between = stmt.where(order >= prefix, order < following).subquery()
        return int(conn.execute(select(func.count()).select_from(between)).scalar_one())

    return Page(rows[:limit], _encode_marker(following, skipped))


@dataclass(frozen=True)
class Section:
    """One part of a listing paged in several parts, in order: the rows of `stmt`, ordered by its
    unique `key` column; every item's Marker key is `prefix` then its key."""

    prefix: str
    stmt: Select[Any]
    key: Column[Any]


def fetch_sections(
    conn: Connection, sections: list[Section], marker: str | None, max_items: int | None
) -> tuple[list[tuple[Section, Row[Any]]], str | None]:
    """One page across `sections`, each read in the database from the Marker's place on; the rows
    with their section, and the next Marker.

    Sections are read in the order of their prefixes, which are distinct and equally long, or all
    empty when the sections' keys lie in ranges that do not overlap, given in order."""
    limit = max_items or DEFAULT_MAX_ITEMS
    start, skip = decode_marker(marker) if marker else ("", 0)
    found: list[tuple[Section, Row[Any]]] = []
    for section in sorted(sections, key=lambda s: s.prefix):
        if len(found) > limit:
            break
        order = _code_points(conn, section.key)
        stmt = section.stmt
        if start.startswith(section.prefix):
            stmt = stmt.where(order >= start[len(section.prefix) :])
        elif start > section.prefix:  # every key of this section sorts before the Marker's
            continue
        rows = list(conn.execute(stmt.order_by(order).limit(limit + 1 - len(found)).offset(skip or None)))
        if skip and (rows or _any(conn, stmt)):  # the skipped items lie in the first section from the start
            skip = 0
        found.extend((section, row) for row in rows)
    if len(found) <= limit:
        return found, None
    section, row = found[limit]
    following = str(row._mapping[section.key.name])

    def skipped(prefix: str) -> int:  # a prefix of the following key: within its section
        order = _code_points(conn, section.key)
        low = prefix[len(section.prefix) :]
        between = section.stmt.where(order >= low, order < following).subquery()
        return int(conn.execute(select(func.count()).select_from(between)).scalar_one())

    return found[:limit], _encode_marker(section.prefix + following, skipped)


def _any(conn: Connection, stmt: Select[Any]) -> bool:
    return conn.execute(select(stmt.exists())).scalar() is True


def _code_points(conn: Connection, key: Column[Any]) -> Any:
    """`key` compared in code-point order: PostgreSQL's "C" collation, SQLite's default."""
    return key.collate("C") if conn.dialect.name == "postgresql" else key


def page_list(
    items: list[Any], marker: str | None, max_items: int | None, key: Any = str
) -> tuple[list[Any], dict[str, Any]]:
    """Paginate an in-memory list by `key(item)`; returns the page and its fields. The list is sorted
    here (stably), so rows a database sorted by its own collation page in the Markers' order."""
    limit = max_items or DEFAULT_MAX_ITEMS
    items = sorted(items, key=key)
    page = items
    if marker:
        start, skip = decode_marker(marker)
        page = [i for i in items if key(i) >= start][skip:]
    if len(page) <= limit:
        return page, _fields(None)
    following = key(page[limit])

    def skipped(prefix: str) -> int:
        return sum(1 for i in items if prefix <= key(i) < following)

    return page[:limit], _fields(_encode_marker(following, skipped))


def page_range(total: int, marker: str | None, max_items: int | None) -> tuple[range, dict[str, Any]]:
    """The positions of one page of `total` items made on demand (never all at once), and its fields.

    A Marker holds the next page's first position, as page_list's would hold its key `f"{i:08d}"`.
    """
    limit = max_items or DEFAULT_MAX_ITEMS
    start = 0
    if marker:
        key, skip = decode_marker(marker)
        if not (key.isascii() and key.isdigit() and len(key) < 19):
            raise ValidationError(_INVALID)
        start = int(key) + skip
    end = min(total, start + limit)
    following = f"{end:08d}" if end < total else None
    marker_out = None if following is None else _encode_marker(following, lambda _: 0)
    return range(min(start, total), end), _fields(marker_out)
