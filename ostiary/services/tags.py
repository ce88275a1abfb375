"""Tags on users, roles, managed policies and instance profiles: IAM's limits, texts and operations.

Other services call `check_tags` and `apply_tags` on Create*, and `tag_list` to show an entity's tags.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from ostiary.errors import (
    InvalidInputException,
    LimitExceededException,
    NoSuchEntityException,
    ValidationError,
)
from ostiary.services import Context, operation
from ostiary.store import accounts, locks
from ostiary.store import instance_profiles as profile_store
from ostiary.store import roles as role_store
from ostiary.store import tags as store
from ostiary.store import users as user_store
from ostiary.store.db import Connection
from ostiary.store.pages import page_list

MAX_TAGS = 50
_KEY_PATTERN = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]+"
_VALUE_PATTERN = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*"
_SYMBOLS = frozenset("_.:/=+-@")
_BAD_KEY = (
    "Member must satisfy constraint: [Member must have length less than or equal to 128, Member must have "
    f"length greater than or equal to 1, Member must satisfy regular expression pattern: {_KEY_PATTERN}, "
    "Member must not be null]"
)


def check_tags(tags: list[dict[str, Any]], entity_type: str | None = None) -> None:
    """Validate tags as IAM does: 50 at most, key 1..128, value 0..256, allowed characters, no duplicate.

    Duplicates are found case-insensitively, except for managed policies (`entity_type="policy"`),
    whose keys IAM compares case-sensitively and whose duplicate message differs.
    """
    problems = _tag_problems(tags)
    if problems:
        raise ValidationError(_validation_message(problems))
    keys = [store.match_key(entity_type or "user", str(t["Key"])) for t in tags]
    if len(set(keys)) != len(keys):
        if entity_type in store.CASE_SENSITIVE:
            raise InvalidInputException("Duplicate tag keys found.")
        raise InvalidInputException(
            "Duplicate tag keys found. Please note that Tag keys are case insensitive."
        )
    if any(k.lower().startswith("aws:") for k in keys):
        raise InvalidInputException("Tag keys beginning with aws: are reserved for system use.")


def apply_tags(conn: Connection, entity_type: str, entity_id: str, tags: list[dict[str, Any]]) -> None:
    """Merge `tags` into the entity's tags (a matching key takes the new value); at most 50 in all.

    The caller has validated `tags` with `check_tags`, before its transaction.
    """
    if not tags:
        return
    locks.hold(conn, entity_type, entity_id)  # no other writer adds tags between the count and the insert
    have = store.existing_keys(conn, entity_type, entity_id)
    added = {store.match_key(entity_type, str(t["Key"])) for t in tags} - have
    if len(have) + len(added) > MAX_TAGS:
        raise LimitExceededException("The number of tags has reached the maximum limit.")
    store.upsert(conn, entity_type, entity_id, [(str(t["Key"]), str(t["Value"])) for t in tags], have)


def tag_list(conn: Connection, entity_type: str, entity_id: str) -> list[dict[str, str]]:
    """The entity's tags as AWS lists them: [{"Key", "Value"}, ...]."""
    return [{"Key": key, "Value": value} for _, key, value in _ordered(conn, entity_type, entity_id)]


def with_tags(conn: Connection, entity_type: str, entity_id: str, shape: dict[str, Any]) -> dict[str, Any]:
    """`shape` with a Tags member when the entity has tags (AWS omits an empty list)."""
    found = tag_list(conn, entity_type, entity_id)
    if found:
        shape["Tags"] = found
    return shape


def check_tag_keys(keys: list[str]) -> None:
    """Validate the TagKeys of an Untag* call."""
    problems = []
    if len(keys) > MAX_TAGS:
        problems.append(
            f"Value at 'tagKeys' failed to satisfy constraint: Member must have length less than "
            f"or equal to {MAX_TAGS}"
        )
    if any(k is None or not 1 <= len(k) <= 128 or not _allowed(k) for k in keys):
        problems.append(f"Value at 'tagKeys' failed to satisfy constraint: {_BAD_KEY}")
    if problems:
        raise ValidationError(_validation_message(problems))


# -- operations -----------------------------------------------------------------------------


@operation("TagUser")
def tag_user(ctx: Context, user_name: str, tags: list[dict[str, Any]]) -> dict[str, Any]:
    check_tags(tags, "user")
    with ctx.db.transaction() as conn:
        apply_tags(conn, "user", _user_id(conn, ctx, user_name), tags)
        accounts.bump_epoch(conn, ctx.account_id)  # aws:PrincipalTag conditions may now match otherwise
    return {}


@operation("UntagUser")
def untag_user(ctx: Context, user_name: str, tag_keys: list[str]) -> dict[str, Any]:
    check_tag_keys(tag_keys)
    with ctx.db.transaction() as conn:
        store.remove(conn, "user", _user_id(conn, ctx, user_name), tag_keys)
        accounts.bump_epoch(conn, ctx.account_id)
    return {}


@operation("ListUserTags")
def list_user_tags(
    ctx: Context, user_name: str, marker: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        return _page(conn, "user", _user_id(conn, ctx, user_name), marker, max_items)


@operation("TagRole")
def tag_role(ctx: Context, role_name: str, tags: list[dict[str, Any]]) -> dict[str, Any]:
    check_tags(tags, "role")
    with ctx.db.transaction() as conn:
        apply_tags(conn, "role", _role_id(conn, ctx, role_name), tags)
        accounts.bump_epoch(conn, ctx.account_id)
    return {}


@operation("UntagRole")
def untag_role(ctx: Context, role_name: str, tag_keys: list[str]) -> dict[str, Any]:
    check_tag_keys(tag_keys)
    with ctx.db.transaction() as conn:
        store.remove(conn, "role", _role_id(conn, ctx, role_name), tag_keys)
        accounts.bump_epoch(conn, ctx.account_id)
    return {}


@operation("ListRoleTags")
def list_role_tags(
    ctx: Context, role_name: str, marker: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        return _page(conn, "role", _role_id(conn, ctx, role_name), marker, max_items)


@operation("TagPolicy")
def tag_policy(ctx: Context, policy_arn: str, tags: list[dict[str, Any]]) -> dict[str, Any]:
    check_tags(tags, "policy")
    with ctx.db.transaction() as conn:
        apply_tags(conn, "policy", _policy_id(conn, ctx, policy_arn), tags)
    return {}


@operation("UntagPolicy")
def untag_policy(ctx: Context, policy_arn: str, tag_keys: list[str]) -> dict[str, Any]:
    check_tag_keys(tag_keys)
    with ctx.db.transaction() as conn:
        store.remove(conn, "policy", _policy_id(conn, ctx, policy_arn), tag_keys)
    return {}


@operation("ListPolicyTags")
def list_policy_tags(
    ctx: Context, policy_arn: str, marker: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        return _page(conn, "policy", _policy_id(conn, ctx, policy_arn), marker, max_items)


@operation("TagInstanceProfile")
def tag_instance_profile(
    ctx: Context, instance_profile_name: str, tags: list[dict[str, Any]]
) -> dict[str, Any]:
    check_tags(tags, "instance-profile")
    with ctx.db.transaction() as conn:
        apply_tags(conn, "instance-profile", _profile_id(conn, ctx, instance_profile_name), tags)
    return {}


@operation("UntagInstanceProfile")
def untag_instance_profile(ctx: Context, instance_profile_name: str, tag_keys: list[str]) -> dict[str, Any]:
    check_tag_keys(tag_keys)
    with ctx.db.transaction() as conn:
        store.remove(conn, "instance-profile", _profile_id(conn, ctx, instance_profile_name), tag_keys)
    return {}


@operation("ListInstanceProfileTags")
def list_instance_profile_tags(
    ctx: Context, instance_profile_name: str, marker: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        profile_id = _profile_id(conn, ctx, instance_profile_name)
        return _page(conn, "instance-profile", profile_id, marker, max_items)


# -- private --------------------------------------------------------------------------------


def _ordered(conn: Connection, entity_type: str, entity_id: str) -> list[tuple[str, str, str]]:
    """(sort key, key, value) in AWS's order: managed policies by key length then key, others as added."""
    found = store.rows(conn, entity_type, entity_id)
    if entity_type in store.CASE_SENSITIVE:
        return sorted((f"{len(k):04d}{k}", k, v) for k, v, _ in found)
    return [(f"{p:020d}", k, v) for k, v, p in found]


def _page(
    conn: Connection, entity_type: str, entity_id: str, marker: str | None, max_items: int | None
) -> dict[str, Any]:
    items, fields = page_list(_ordered(conn, entity_type, entity_id), marker, max_items, key=lambda i: i[0])
    return {"Tags": [{"Key": k, "Value": v} for _, k, v in items], **fields}


def _user_id(conn: Connection, ctx: Context, name: str) -> str:
    row = user_store.find(conn, ctx.account_id, name)
    if row is None:  # services.users.require's text; that module imports this one
        raise NoSuchEntityException(f"The user with name {name} cannot be found.")
    return str(row.user_id)


def _role_id(conn: Connection, ctx: Context, name: str) -> str:
    return str(role_store.get(conn, ctx.account_id, name).role_id)


def _profile_id(conn: Connection, ctx: Context, name: str) -> str:
    return str(profile_store.get(conn, ctx.account_id, name).instance_profile_id)


def _policy_id(conn: Connection, ctx: Context, arn: str) -> str:
    if not arn.startswith("arn:"):
        raise ValidationError(f"ARN {arn} is not valid.")
    found = store.policy_id_by_arn(conn, ctx.account_id, arn)
    if found is None:
        raise NoSuchEntityException(f"Policy {arn} was not found.")
    return found


def _tag_problems(tags: list[dict[str, Any]]) -> list[str]:
    problems = []
    if len(tags) > MAX_TAGS:
        problems.append(
            f"Value at 'tags' failed to satisfy constraint: Member must have length less than or "
            f"equal to {MAX_TAGS}"
        )
    for i, tag in enumerate(tags, start=1):
        problems += _member_problems(tag.get("Key"), f"tags.{i}.member.key", 1, 128, _KEY_PATTERN)
        problems += _member_problems(tag.get("Value"), f"tags.{i}.member.value", 0, 256, _VALUE_PATTERN)
    return problems


def _member_problems(value: str | None, where: str, low: int, high: int, pattern: str) -> list[str]:
    if value is None:
        return [f"Value null at '{where}' failed to satisfy constraint: Member must not be null"]
    head = f"Value at '{where}' failed to satisfy constraint: Member must"
    out = []
    if len(value) > high:
        out.append(f"{head} have length less than or equal to {high}")
    if len(value) < low:
        out.append(f"{head} have length greater than or equal to {low}")
    if (value or low) and not _allowed(value):
        out.append(f"{head} satisfy regular expression pattern: {pattern}")
    return out


def _allowed(text: str) -> bool:
    """Whether every character is a letter, separator, number or one of `_.:/=+-@` (\\p{L}\\p{Z}\\p{N})."""
    return all(c in _SYMBOLS or unicodedata.category(c)[0] in "LZN" for c in text) and bool(text)


def _validation_message(problems: list[str]) -> str:
    count = len(problems)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(problems)
