"""Identity providers: OIDC providers with their client ids and thumbprints, and SAML providers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, delete, func, select, update

from ostiary.store.tables import oidc_client_ids, oidc_providers, oidc_thumbprints, saml_providers

# -- OIDC -------------------------------------------------------------------------------------


def find_oidc(conn: Connection, account_id: str, arn: str, *, lock: bool = False) -> Row[Any] | None:
    stmt = select(oidc_providers).where(
        oidc_providers.c.account_id == account_id, oidc_providers.c.arn == arn
    )
    if lock:
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


def insert_oidc(conn: Connection, arn: str, account_id: str, url: str, created_at: Any, **trust: Any) -> None:
    """A new provider; `trust` may set `context_provider` (JSON) and `identity_center_instance_arn`."""
    conn.execute(
        oidc_providers.insert().values(
            arn=arn, account_id=account_id, url=url, created_at=created_at, **trust
        )
    )


def change_oidc(conn: Connection, arn: str, **values: Any) -> None:
    """Set `context_provider` (JSON) or `identity_center_instance_arn` (None removes it)."""
    conn.execute(update(oidc_providers).where(oidc_providers.c.arn == arn).values(**values))


def delete_oidc(conn: Connection, arn: str) -> None:
    conn.execute(delete(oidc_client_ids).where(oidc_client_ids.c.arn == arn))
    conn.execute(delete(oidc_thumbprints).where(oidc_thumbprints.c.arn == arn))
    conn.execute(delete(oidc_providers).where(oidc_providers.c.arn == arn))


def oidc_arns(conn: Connection, account_id: str) -> list[str]:
    return [arn for arn, _ in oidc_list(conn, account_id)]


def oidc_list(conn: Connection, account_id: str) -> list[tuple[str, bool]]:
    """The account's providers in ARN order: (ARN, whether an IAM Identity Center instance is associated)."""
    stmt = select(oidc_providers.c.arn, oidc_providers.c.identity_center_instance_arn.is_not(None)).where(
        oidc_providers.c.account_id == account_id
    )
    return [(r[0], bool(r[1])) for r in conn.execute(stmt.order_by(oidc_providers.c.arn))]


def client_ids(conn: Connection, arn: str) -> list[str]:
    stmt = select(oidc_client_ids.c.client_id).where(oidc_client_ids.c.arn == arn)
    return [r[0] for r in conn.execute(stmt.order_by(oidc_client_ids.c.position))]


def add_client_ids(conn: Connection, arn: str, new: list[str]) -> None:
    """Append the client ids not already there, in order."""
    have = set(client_ids(conn, arn))
    top = conn.execute(
        select(func.max(oidc_client_ids.c.position)).where(oidc_client_ids.c.arn == arn)
    ).scalar()
    position = -1 if top is None else int(top)
    for client_id in new:
        if client_id in have:
            continue
        have.add(client_id)
        position += 1
        conn.execute(oidc_client_ids.insert().values(arn=arn, client_id=client_id, position=position))


def remove_client_id(conn: Connection, arn: str, client_id: str) -> None:
    conn.execute(
        delete(oidc_client_ids).where(oidc_client_ids.c.arn == arn, oidc_client_ids.c.client_id == client_id)
    )


def thumbprints(conn: Connection, arn: str) -> list[str]:
    stmt = select(oidc_thumbprints.c.thumbprint).where(oidc_thumbprints.c.arn == arn)
    return [r[0] for r in conn.execute(stmt.order_by(oidc_thumbprints.c.position))]


def set_thumbprints(conn: Connection, arn: str, values: list[str]) -> None:
    """Replace the provider's thumbprints (duplicates dropped, order kept)."""
    conn.execute(delete(oidc_thumbprints).where(oidc_thumbprints.c.arn == arn))
    for position, thumbprint in enumerate(dict.fromkeys(values)):
        conn.execute(oidc_thumbprints.insert().values(arn=arn, thumbprint=thumbprint, position=position))


# -- SAML -------------------------------------------------------------------------------------


def find_saml(
    conn: Connection, arn: str, account_id: str | None = None, *, lock: bool = False
) -> Row[Any] | None:
    stmt = select(saml_providers).where(saml_providers.c.arn == arn)
    if account_id is not None:
        stmt = stmt.where(saml_providers.c.account_id == account_id)
    if lock:
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


def insert_saml(conn: Connection, **values: Any) -> None:
    conn.execute(saml_providers.insert().values(**values))


def change_saml(conn: Connection, arn: str, **values: Any) -> None:
    conn.execute(update(saml_providers).where(saml_providers.c.arn == arn).values(**values))


def delete_saml(conn: Connection, arn: str) -> None:
    conn.execute(delete(saml_providers).where(saml_providers.c.arn == arn))


def saml_list(conn: Connection, account_id: str) -> list[Row[Any]]:
    """The account's providers in ARN order: arn, valid_until, created_at, and `propagation` (whether an
    IAM Identity Center instance is associated)."""
    stmt = select(
        saml_providers.c.arn,
        saml_providers.c.valid_until,
        saml_providers.c.created_at,
        saml_providers.c.identity_center_instance_arn.is_not(None).label("propagation"),
    ).where(saml_providers.c.account_id == account_id)
    return list(conn.execute(stmt.order_by(saml_providers.c.arn)))
