"""Core statements compiled once per dialect and run on the driver's own cursor.

`Connection.execute` spends about 30 µs of SQLAlchemy bookkeeping on each statement (events,
execution context, result metadata): more than SQLite takes to run it. The statements on the request
path of the busiest operations are `Prepared` instead: the same Core statement and the same column
types, compiled once for the dialect, then executed on the connection's DB-API cursor, inside the
same transaction, in about 5 µs. Driver errors are wrapped as SQLAlchemy wraps them, so callers (and
`Database.transaction`'s unique-constraint handling) see the same exceptions.

A prepared statement names its parameters with `bindparam` (literal values in it keep their value);
it expands no `IN` list at run time.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import Executable

_Processor = Callable[[Any], Any] | None
_REQUIRED = object()  # the default of a parameter the caller must give


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: tuple[str, ...] | None  # parameter order, for drivers that take a tuple
    binds: tuple[tuple[str, _Processor, Any], ...]  # (name, bind processor, value if not given)
    row: Any  # the namedtuple class of a result row, or None for a statement returning none
    results: tuple[_Processor, ...]  # the result processor of each column


class Prepared:
    """One Core statement, run without SQLAlchemy's per-execution machinery."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}  # by dialect name

    def all(self, conn: Connection, params: Mapping[str, Any]) -> list[Any]:
        """Every result row, as named tuples (fields named like the selected columns)."""
        compiled = self._compiled_for(conn.dialect)
        cursor = self._run(conn, compiled, params)
        rows = cursor.fetchall()
        cursor.close()
        return [_convert(compiled, row) for row in rows]

    def first(self, conn: Connection, params: Mapping[str, Any]) -> Any | None:
        """The first result row, or None."""
        compiled = self._compiled_for(conn.dialect)
        cursor = self._run(conn, compiled, params)
        row = cursor.fetchone()
        cursor.close()
        return None if row is None else _convert(compiled, row)

    def run(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Execute a statement that returns no rows; the count of rows it changed."""
        compiled = self._compiled_for(conn.dialect)
        cursor = self._run(conn, compiled, params)
        count = int(cursor.rowcount)
        cursor.close()
        return count

    def _run(self, conn: Connection, compiled: _Compiled, params: Mapping[str, Any]) -> Any:
        values = {}
        for name, process, default in compiled.binds:
            value = params[name] if default is _REQUIRED or name in params else default
            values[name] = value if process is None else process(value)
        args: Any = values if compiled.positional is None else tuple(values[n] for n in compiled.positional)
        driver = conn.connection.dbapi_connection
        assert driver is not None  # an open Connection always holds its DB-API connection
        cursor = driver.cursor()
        try:
            cursor.execute(compiled.sql, args)
        except conn.dialect.loaded_dbapi.Error as exc:
            cursor.close()
            raise DBAPIError.instance(compiled.sql, args, exc, conn.dialect.loaded_dbapi.Error) from exc
        return cursor

    def _compiled_for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _compile(self.statement, dialect)
        return compiled


def _compile(statement: Executable, dialect: Dialect) -> _Compiled:
    compiled: Any = statement.compile(dialect=dialect)
    if compiled.post_compile_params or compiled.literal_execute_params:
        raise ValueError("a prepared statement cannot expand parameters at run time")
    binds = tuple(
        (name, _bind_processor(bind, dialect), _REQUIRED if bind.required else bind.value)
        for name, bind in compiled.binds.items()
    )
    columns = list(statement.selected_columns) if isinstance(statement, Select) else []
    row = namedtuple("Row", [c.key for c in columns]) if columns else None  # noqa: PYI024
    results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
    positional = tuple(compiled.positiontup) if dialect.positional else None
    return _Compiled(compiled.string, positional, binds, row, results)


def _bind_processor(bind: Any, dialect: Dialect) -> _Processor:
    return bind.type.dialect_impl(dialect).bind_processor(dialect)


def _convert(compiled: _Compiled, raw: tuple[Any, ...]) -> Any:
    return compiled.row._make(
        value if process is None or value is None else process(value)
        for process, value in zip(compiled.results, raw, strict=True)
    )
