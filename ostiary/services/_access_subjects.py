"""The entity a last-accessed report is about, found from its ARN: its permissions policies (with who
holds each) and the users and roles whose attempts count.

A user's report counts the user, a role's the role (through any of its sessions), a group's its
members, a managed policy's the users and roles it is attached to and the members of the groups it is
attached to. An ARN of another account names nothing the caller may report on: NoSuchEntity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ostiary.errors import InvalidInputException, NoSuchEntityException
from ostiary.store import groups, inline_policies, policies, principals, roles, users
from ostiary.store.db import Connection
from ostiary.trail.last_accessed import Principal

AWS_ACCOUNT = "aws"


@dataclass(frozen=True)
class Held:
    """A permissions policy, as ListPoliciesGrantingServiceAccess names it."""

    document: str
    name: str
    is_inline: bool
    arn: str | None = None
    entity_type: str | None = None  # USER | ROLE | GROUP, of an inline policy
    entity_name: str | None = None

    def shape(self) -> dict[str, Any]:
        """The PolicyGrantingServiceAccess shape (entity members for inline policies only, as IAM)."""
        found: dict[str, Any] = {
            "PolicyName": self.name,
            "PolicyType": "INLINE" if self.is_inline else "MANAGED",
        }
        if self.arn is not None:
            found["PolicyArn"] = self.arn
        if self.is_inline:
            found["EntityType"], found["EntityName"] = self.entity_type, self.entity_name
        return found


@dataclass(frozen=True)
class Subject:
    """The entity of a report: its kind (user, role, group, policy), its policies, its principals."""

    kind: str
    arn: str
    policies: list[Held] = field(default_factory=list)
    principals: list[Principal] = field(default_factory=list)

    @property
    def documents(self) -> list[str]:
        return [p.document for p in self.policies]


def parse_arn(arn: str, account_id: str, kinds: tuple[str, ...]) -> tuple[str, str, str]:
    """(kind, path, name) of an IAM ARN of one of `kinds`; InvalidInput for anything else, NoSuchEntity
    for another account's."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or "/" not in parts[5]:
        raise InvalidInputException(f"ARN {arn} is not valid.")
    kind, _, rest = parts[5].partition("/")
    if kind not in kinds or not rest or rest.endswith("/"):
        raise InvalidInputException(f"ARN {arn} is not valid.")
    path, _, name = ("/" + rest).rpartition("/")
    if parts[4] not in (account_id, AWS_ACCOUNT) or (parts[4] == AWS_ACCOUNT and kind != "policy"):
        raise _missing(kind, name, arn)
    return kind, path + "/", name


def find(conn: Connection, account_id: str, arn: str, kinds: tuple[str, ...]) -> Subject:
    """The subject an ARN names in the caller's account, or NoSuchEntity."""
    kind, _, name = parse_arn(arn, account_id, kinds)
    if kind == "user":
        row = users.find(conn, account_id, name)
        if row is None:
            raise _missing(kind, name, arn)
        held = _own(conn, "user", row.user_id, name)
        for group in groups.groups_of_user_page(conn, row.user_id, None, None).rows:
            held += _own(conn, "group", group.group_id, group.name)
        return Subject(kind, arn, held, [_user(row)])
    if kind == "role":
        row = roles.find_by_name(conn, account_id, name)
        if row is None:
            raise _missing(kind, name, arn)
        return Subject(kind, arn, _own(conn, "role", row.role_id, name), [_role(row)])
    if kind == "group":
        row = groups.find(conn, account_id, name)
        if row is None:
            raise _missing(kind, name, arn)
        return Subject(kind, arn, _own(conn, "group", row.group_id, name), _members(conn, row.group_id))
    return _policy(conn, account_id, arn)


def _own(conn: Connection, kind: str, entity_id: str, entity_name: str) -> list[Held]:
    """An entity's inline policies, then its attached managed policies."""
    held = [
        Held(row.document, row.name, True, entity_type=kind.upper(), entity_name=entity_name)
        for row in inline_policies.all_of(conn, kind, entity_id)
    ]
    for row in policies.attached_policies(conn, kind, entity_id):
        found = principals.managed_policy(conn, row.arn)
        if found is not None:
            held.append(Held(found.document, row.name, False, arn=row.arn))
    return held


def _policy(conn: Connection, account_id: str, arn: str) -> Subject:
    row = policies.find(conn, account_id, arn)
    found = principals.managed_policy(conn, arn) if row is not None else None
    if row is None or found is None:
        raise NoSuchEntityException(f"Policy {arn} was not found.")
    attached = {
        kind: [e.entity_id for e in policies.attached_entities(conn, row.policy_id, account_id, kind, "/")]
        for kind in ("user", "role", "group")
    }
    members: list[Principal] = [_user(u) for u in (users.find_by_id(conn, i) for i in attached["user"]) if u]
    members += [_role(r) for r in roles.by_ids(conn, attached["role"])]
    for group_id in attached["group"]:
        members += _members(conn, group_id)
    unique = {p.principal_id: p for p in members}
    return Subject("policy", arn, [Held(found.document, row.name, False, arn=arn)], list(unique.values()))


def _members(conn: Connection, group_id: str) -> list[Principal]:
    return [_user(row) for row in groups.members_page(conn, group_id, None, None).rows]


def _user(row: Any) -> Principal:
    arn = f"arn:aws:iam::{row.account_id}:user{row.path}{row.name}"
    return Principal("USER", row.user_id, row.name, row.path, arn)


def _role(row: Any) -> Principal:
    arn = f"arn:aws:iam::{row.account_id}:role{row.path}{row.name}"
    return Principal("ROLE", row.role_id, row.name, row.path, arn)


def _missing(kind: str, name: str, arn: str) -> NoSuchEntityException:
    if kind == "policy":
        return NoSuchEntityException(f"Policy {arn} was not found.")
    return NoSuchEntityException(f"The {kind} with name {name} cannot be found.")
