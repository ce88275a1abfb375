"""Every column that holds a value sealed by the keyring, the associated data it is sealed under, and
re-sealing them in batches (for `ostiary keyring rotate`).

A test fails when a binary column of the schema is neither listed here nor named in `NOT_SEALED`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, Table, select, update

from ostiary.store import credential_reports, resources  # noqa: F401 - their tables join the metadata
from ostiary.store.keyring import Keyring
from ostiary.store.outbound_federation import outbound_signing_keys
from ostiary.store.tables import access_keys, mfa_devices, server_certificates, service_specific_credentials


@dataclass(frozen=True)
class SealedColumn:
    """A sealed column: its table, the row's key column(s) and the purpose prefix of its associated data.

    A key of several columns (an outbound signing key's account and key id) is their values joined with
    `/`, as its associated data names them."""

    table: Table
    column: str
    key: str | tuple[str, ...]
    prefix: bytes

    @property
    def sealed(self) -> Column[Any]:
        return self.table.c[self.column]

    @property
    def key_column(self) -> Any:
        """The row's key as one SQL value."""
        if isinstance(self.key, str):
            return self.table.c[self.key]
        joined: Any = self.table.c[self.key[0]]
        for name in self.key[1:]:
            joined = joined + "/" + self.table.c[name]
        return joined

    def row_key(self, row: dict[str, Any]) -> str:
        """The key of a decoded row."""
        if isinstance(self.key, str):
            return str(row[self.key])
        return "/".join(str(row[name]) for name in self.key)

    def purpose(self, key: str) -> bytes:
        """The associated data of the row whose key is `key`."""
        return self.prefix + key.encode()


SEALED: tuple[SealedColumn, ...] = (
    SealedColumn(access_keys, "secret_sealed", "access_key_id", b"access-key:"),
    SealedColumn(mfa_devices, "seed_sealed", "serial_number", b"mfa-seed:"),
    SealedColumn(service_specific_credentials, "secret_sealed", "credential_id", b"service-credential:"),
    SealedColumn(server_certificates, "private_key_sealed", "server_certificate_id", b"server-certificate:"),
    SealedColumn(outbound_signing_keys, "private_key", ("account_id", "kid"), b"outbound-signing-key:v1:"),
)

# Binary columns that hold no secret: the credential report's CSV.
NOT_SEALED: frozenset[tuple[str, str]] = frozenset({("credential_reports", "content")})


class ResealError(Exception):
    """A sealed value opens with none of the keys given."""


def unopened(keyring: Keyring, table: str, rows: list[dict[str, Any]]) -> list[str]:
    """The keys of decoded `rows` of `table` whose sealed value does not open with `keyring`."""
    bad: list[str] = []
    for column in SEALED:
        if column.table.name == table:
            bad += [
                column.row_key(row)
                for row in rows
                if not keyring.opens(row[column.column], column.purpose(column.row_key(row)))
            ]
    return bad


def reseal_batch(
    conn: Connection, column: SealedColumn, after: str, both: Keyring, new_only: Keyring, size: int
) -> tuple[int, str | None]:
    """Re-seal under `new_only` the values of up to `size` rows keyed after `after` that only `both`
    opens: (how many were re-sealed, the last key read or None at the end). A row changed meanwhile is
    left (the update is conditional on the value read) for the next pass."""
    rows = conn.execute(
        select(column.key_column, column.sealed)
        .where(column.key_column > after)
        .order_by(column.key_column)
        .limit(size)
    ).all()
    count = 0
    for key, sealed in rows:
        purpose = column.purpose(key)
        if new_only.opens(sealed, purpose):
            continue
        if not both.opens(sealed, purpose):
            raise ResealError(f"the {column.column} of {column.table.name} {key} opens with neither key")
        fresh = new_only.seal(both.open(sealed, purpose), purpose)
        count += conn.execute(
            update(column.table)
            .where((column.key_column == key) & (column.sealed == sealed))
            .values({column.column: fresh})
        ).rowcount
    return count, (str(rows[-1][0]) if len(rows) == size else None)
