"""The policy document as data: Policy, Statement, Condition, with their positions in the text."""

from __future__ import annotations

from dataclasses import dataclass, field

VERSION_2012 = "2012-10-17"
VERSION_2008 = "2008-10-17"
KINDS = ("identity", "resource", "trust", "boundary", "session", "scp")


@dataclass(frozen=True, slots=True)
class Position:
    """A place in the document text: 1-based line and column, 0-based offset."""

    line: int
    column: int
    offset: int


@dataclass(frozen=True, slots=True)
class Condition:
    """One key test: `operator` as written (with set modifier and IfExists), key, values."""

    operator: str
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement; `principals` is None when neither Principal nor NotPrincipal is given."""

    index: int
    effect: str
    sid: str | None = None
    actions: tuple[str, ...] = ()
    is_not_action: bool = False
    resources: tuple[str, ...] | None = None
    is_not_resource: bool = False
    principals: tuple[tuple[str, str], ...] | None = None
    is_not_principal: bool = False
    conditions: tuple[Condition, ...] = ()
    start: Position | None = None
    end: Position | None = None

    @property
    def label(self) -> str:
        """The Sid, or the statement's index when it has none."""
        return self.sid if self.sid else str(self.index)


@dataclass(frozen=True, slots=True)
class Policy:
    """A parsed document: version (None when absent), Id, statements and the kind it was read as."""

    statements: tuple[Statement, ...]
    version: str | None = VERSION_2012
    id: str | None = None
    kind: str = "identity"
    source: str | None = field(default=None, repr=False, compare=False)

    @property
    def has_variables(self) -> bool:
        """Whether policy variables are substituted: only in 2012-10-17 documents."""
        return self.version == VERSION_2012
