"""Pages of a list, over SQLite and PostgreSQL and in memory: every item once, in order, through Markers
that AWS's 320-character bound admits, however long the keys."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Column, MetaData, String, Table, create_engine, select

from ostiary.errors import ValidationError
from ostiary.store.pages import decode_marker, fetch_page, page_list, page_range
from tests.conftest import PG_ADMIN_URL, _pg_admin, skip_without_pg

_MAX_MARKER = 320
_LONG = "/" + "p" * 400 + "/"  # a path as long as a policy's may be
_WIDE = "\u00e9" * 150  # 300 bytes in UTF-8
_KEYS = sorted(
    [f"arn:aws:iam::123456789012:policy{_LONG}{i:03d}" for i in range(25)]  # a long shared prefix
    + [f"short-{i}" for i in range(5)]
    + [f"arn:aws:iam::123456789012:policy/{_WIDE}{i}" for i in range(4)]  # 2 bytes a character
)


@pytest.fixture(params=["sqlite", "postgresql"])
def table(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[object, Table]]:
    url = (
        f"sqlite:///{tmp_path / 'pages.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_database")
    )
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    items = Table(f"items_{uuid.uuid4().hex[:8]}", MetaData(), Column("key", String(1000), primary_key=True))
    items.create(engine)
    with engine.begin() as conn:
        conn.execute(items.insert(), [{"key": k} for k in _KEYS])
    yield engine, items
    items.drop(engine)
    engine.dispose()


def _sql_order(engine: object, items: Table) -> list[str]:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return [r.key for r in conn.execute(select(items).order_by(items.c.key))]


@pytest.mark.parametrize("max_items", [1, 2, 3, 7, 100])
def test_every_row_comes_once_in_order_through_short_markers(
    table: tuple[object, Table], max_items: int
) -> None:
    engine, items = table
    seen: list[str] = []
    markers = []
    marker = None
    with engine.connect() as conn:  # type: ignore[attr-defined]
        while True:
            page = fetch_page(conn, select(items), items.c.key, marker, max_items)
            seen += [r.key for r in page.rows]
            if page.marker is None:
                break
            markers.append(page.marker)
            marker = page.marker
    assert seen == _sql_order(engine, items)
    assert all(len(m) <= _MAX_MARKER for m in markers)
    assert max_items >= len(_KEYS) or any(decode_marker(m)[1] > 0 for m in markers)  # long keys were paged


@pytest.mark.parametrize("max_items", [1, 2, 5, 100])
def test_in_memory_pages_give_every_item_once_in_order(max_items: int) -> None:
    seen: list[str] = []
    marker = None
    while True:
        page, fields = page_list(_KEYS, marker, max_items)
        seen += page
        if not fields["IsTruncated"]:
            break
        marker = fields["Marker"]
        assert len(marker) <= _MAX_MARKER
    assert seen == _KEYS


_MIXED = [
    "a-c",
    "a_b",
    "aa",
    "ab",
    "B",
    "Ab",
    "\u00e9t\u00e9",
    "zz",
    "a b",
    "A-C",
]  # an en-US collation sorts these otherwise


@pytest.fixture
def icu_table() -> Iterator[tuple[object, Table]]:
    """A table in a database whose collation is ICU's en-US, where code-point order is not the database's."""
    try:
        admin = _pg_admin()
    except Exception as exc:  # noqa: BLE001 - any failure to connect means: skip, and say why
        skip_without_pg(exc)
    name = f"ostiary_icu_{uuid.uuid4().hex[:12]}"
    icu = "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
    admin.execute(f'CREATE DATABASE "{name}" {icu}')
    engine = create_engine(
        PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    )
    items = Table("items", MetaData(), Column("key", String(100), primary_key=True))
    try:
        items.create(engine)
        with engine.begin() as conn:
            conn.execute(items.insert(), [{"key": k} for k in _MIXED])
            database_order = [r.key for r in conn.execute(select(items).order_by(items.c.key))]
        assert database_order != sorted(_MIXED)  # else this database shows nothing
        yield engine, items
    finally:
        engine.dispose()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_pages_follow_code_points_whatever_the_databases_collation(icu_table: tuple[object, Table]) -> None:
    engine, items = icu_table
    seen: list[str] = []
    marker = None
    with engine.connect() as conn:  # type: ignore[attr-defined]
        for _ in range(len(_MIXED) + 1):
            page = fetch_page(conn, select(items), items.c.key, marker, 1)
            seen += [r.key for r in page.rows]
            if page.marker is None:
                break
            marker = page.marker
    assert seen == sorted(_MIXED)  # every key once, in the order SQLite and Python give


def test_in_memory_pages_sort_what_a_database_sorted_otherwise() -> None:
    given = sorted(_MIXED, key=str.lower)  # as a case-insensitive collation returns rows
    seen: list[str] = []
    marker = None
    for _ in range(len(_MIXED) + 1):
        page, fields = page_list(given, marker, 1)
        seen += page
        if not fields["IsTruncated"]:
            break
        marker = fields["Marker"]
    assert seen == sorted(_MIXED)


@pytest.mark.parametrize(
    "marker", ["not base 64!", "!!!", "cHUy!", "AABhYmM=", "ADEyMzQ1Njc4OTAxAGE=", "===="]
)
def test_a_marker_never_issued_is_invalid(marker: str) -> None:
    # not base 64 (once its foreign characters were skipped: `!!!` read as an empty start, the first
    # page again); a NUL-led marker without its count; a count of eleven digits; nothing
    with pytest.raises(ValidationError, match="Invalid Marker."):
        decode_marker(marker)


def test_a_range_pages_positions_as_page_list_pages_their_keys() -> None:
    """page_range never holds the items: its Markers are page_list's for keys `f"{i:08d}"`."""
    items = [f"{i:08d}" for i in range(23)]
    marker = None
    seen: list[int] = []
    while True:
        positions, fields = page_range(23, marker, 5)
        expected, expected_fields = page_list(items, marker, 5)
        assert [f"{i:08d}" for i in positions] == expected and fields == expected_fields
        seen += positions
        if not fields["IsTruncated"]:
            break
        marker = fields["Marker"]
    assert seen == list(range(23))
    assert list(page_range(10**12, None, 3)[0]) == [0, 1, 2]  # a total never materialised


@pytest.mark.parametrize("marker", ["bm90LWEtbnVtYmVy", "%%%", "AA=="])
def test_a_range_refuses_a_marker_that_names_no_position(marker: str) -> None:
    with pytest.raises(ValidationError, match="Invalid Marker."):
        page_range(10, marker, 5)
