"""The Caller: who a verified request comes from, in IAM's terms."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Caller:
    """An authenticated principal.

    `principal_type` is the value of aws:PrincipalType: Account (root), User, AssumedRole,
    FederatedUser. `user_id` is aws:userid (the account id for root, AIDA... for users,
    AROA...:session for assumed roles). `session` carries facts of temporary credentials.
    """

    account_id: str
    arn: str
    user_id: str
    principal_type: str
    access_key_id: str
    user_name: str | None = None
    path: str | None = None
    session: dict[str, Any] | None = field(default=None)

    @property
    def is_root(self) -> bool:
        return self.principal_type == "Account"


def root_caller(account_id: str, access_key_id: str) -> Caller:
    return Caller(
        account_id=account_id,
        arn=f"arn:aws:iam::{account_id}:root",
        user_id=account_id,
        principal_type="Account",
        access_key_id=access_key_id,
    )


def user_caller(account_id: str, user_id: str, name: str, path: str, access_key_id: str) -> Caller:
    return Caller(
        account_id=account_id,
        arn=f"arn:aws:iam::{account_id}:user{path}{name}",
        user_id=user_id,
        principal_type="User",
        access_key_id=access_key_id,
        user_name=name,
        path=path,
    )
