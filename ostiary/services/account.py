"""The account: its password policy, its alias, its STS preferences and its summary of entities and quotas."""

from __future__ import annotations

import string
from typing import Any

from ostiary.errors import (
    EntityAlreadyExistsException,
    NoSuchEntityException,
    PasswordPolicyViolationException,
    ValidationError,
)
from ostiary.services import Context, operation
from ostiary.store import accounts as store
from ostiary.store.pages import page_list

# Quotas as GetAccountSummary reports them (AWS's documented defaults).
_QUOTAS = {
    "AccessKeysPerUserQuota": 2,
    "AssumeRolePolicySizeQuota": 2048,
    "AttachedPoliciesPerGroupQuota": 10,
    "AttachedPoliciesPerRoleQuota": 10,
    "AttachedPoliciesPerUserQuota": 10,
    "GroupPolicySizeQuota": 5120,
    "GroupsPerUserQuota": 10,
    "GroupsQuota": 300,
    "InstanceProfilesQuota": 1000,
    "PoliciesQuota": 1500,
    "PolicySizeQuota": 6144,
    "PolicyVersionsInUseQuota": 10000,
    "RolePolicySizeQuota": 10240,
    "RolesQuota": 1000,
    "ServerCertificatesQuota": 20,
    "SigningCertificatesPerUserQuota": 2,
    "UserPolicySizeQuota": 2048,
    "UsersQuota": 5000,
    "VersionsPerPolicyQuota": 5,
}
# SetSecurityTokenServicePreferences' values → GlobalEndpointTokenVersion in GetAccountSummary.
_TOKEN_VERSIONS = {"v1Token": 1, "v2Token": 2}
# Characters IAM counts as symbols in a password.
_SYMBOLS = frozenset("!@#$%^&*()_+-=[]{}|'")
_POLICY_VIOLATION = "Password does not conform to the account password policy."
# (member, its name in validation messages, low, high), in the order AWS reports them.
_RANGES = (
    ("MinimumPasswordLength", "minimumPasswordLength", 6, 128),
    ("PasswordReusePrevention", "passwordReusePrevention", 1, 24),
    ("MaxPasswordAge", "maxPasswordAge", 1, 1095),
)


def check_password(ctx: Context, password: str) -> None:
    """Refuse a password that breaks the account policy (or AWS's default policy when there is none)."""
    with ctx.db.read() as conn:
        policy = store.password_policy(conn, ctx.account_id)
    if not _conforms(policy, password):
        raise PasswordPolicyViolationException(_POLICY_VIOLATION)


def _conforms(policy: dict[str, Any] | None, password: str) -> bool:
    kinds = {
        "RequireLowercaseCharacters": any(c in string.ascii_lowercase for c in password),
        "RequireUppercaseCharacters": any(c in string.ascii_uppercase for c in password),
        "RequireNumbers": any(c in string.digits for c in password),
        "RequireSymbols": any(c in _SYMBOLS or not c.isalnum() for c in password),
    }
    if policy is None:  # AWS's default: 8 characters, three of the four kinds
        return len(password) >= 8 and sum(kinds.values()) >= 3
    if len(password) < policy.get("MinimumPasswordLength", 6):
        return False
    return all(present or not policy.get(kind) for kind, present in kinds.items())


@operation("UpdateAccountPasswordPolicy")
def update_account_password_policy(
    ctx: Context,
    minimum_password_length: int = 6,
    require_symbols: bool = False,
    require_numbers: bool = False,
    require_uppercase_characters: bool = False,
    require_lowercase_characters: bool = False,
    allow_users_to_change_password: bool = False,
    max_password_age: int | None = None,
    password_reuse_prevention: int | None = None,
    hard_expiry: bool | None = None,
) -> dict[str, Any]:
    policy: dict[str, Any] = {
        "MinimumPasswordLength": minimum_password_length,
        "RequireSymbols": require_symbols,
        "RequireNumbers": require_numbers,
        "RequireUppercaseCharacters": require_uppercase_characters,
        "RequireLowercaseCharacters": require_lowercase_characters,
        "AllowUsersToChangePassword": allow_users_to_change_password,
    }
    optional = {
        "MaxPasswordAge": max_password_age,
        "PasswordReusePrevention": password_reuse_prevention,
        "HardExpiry": hard_expiry,
    }
    policy.update({k: v for k, v in optional.items() if v is not None})
    _check_ranges(policy)
    with ctx.db.transaction() as conn:
        store.set_password_policy(conn, ctx.account_id, policy)
    return {}


def _check_ranges(policy: dict[str, Any]) -> None:
    problems = []
    for member, wire, low, high in _RANGES:
        value = policy.get(member)
        if value is not None and value > high:
            problems.append(
                f"Value at '{wire}' failed to satisfy constraint: "
                f"Member must have value less than or equal to {high}"
            )
        elif value is not None and value < low:
            problems.append(
                f"Value at '{wire}' failed to satisfy constraint: "
                f"Member must have value greater than or equal to {low}"
            )
    if problems:
        noun = "error" if len(problems) == 1 else "errors"
        raise ValidationError(f"{len(problems)} validation {noun} detected: " + "; ".join(problems))


@operation("GetAccountPasswordPolicy")
def get_account_password_policy(ctx: Context) -> dict[str, Any]:
    with ctx.db.read() as conn:
        policy = store.password_policy(conn, ctx.account_id)
    if policy is None:
        raise NoSuchEntityException(f"The Password Policy with domain name {ctx.account_id} cannot be found.")
    return {"PasswordPolicy": {**policy, "ExpirePasswords": bool(policy.get("MaxPasswordAge"))}}


@operation("DeleteAccountPasswordPolicy")
def delete_account_password_policy(ctx: Context) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        if store.password_policy(conn, ctx.account_id) is None:
            raise NoSuchEntityException("The account policy with name PasswordPolicy cannot be found.")
        store.set_password_policy(conn, ctx.account_id, None)
    return {}


@operation("CreateAccountAlias")
def create_account_alias(ctx: Context, account_alias: str) -> dict[str, Any]:
    taken = EntityAlreadyExistsException(f"The account alias {account_alias} already exists.")
    with ctx.db.transaction(on_conflict=taken) as conn:
        store.set_alias(conn, ctx.account_id, account_alias)
    return {}


@operation("ListAccountAliases")
def list_account_aliases(
    ctx: Context, marker: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        alias = store.alias(conn, ctx.account_id)
    items, fields = page_list([alias] if alias else [], marker, max_items)
    return {"AccountAliases": items, **fields}


@operation("DeleteAccountAlias")
def delete_account_alias(ctx: Context, account_alias: str) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        if store.alias(conn, ctx.account_id) != account_alias:
            raise NoSuchEntityException(f"The account alias {account_alias} cannot be found.")
        store.set_alias(conn, ctx.account_id, None)
    return {}


@operation("GetAccountSummary")
def get_account_summary(ctx: Context) -> dict[str, Any]:
    with ctx.db.read() as conn:
        counts = store.summary_counts(conn, ctx.account_id)
        token_version = store.token_version(conn, ctx.account_id)
    summary = dict(_QUOTAS)
    summary.update(
        {
            "GlobalEndpointTokenVersion": token_version,
            "AccountAccessKeysPresent": 1 if counts.pop("RootAccessKeys") else 0,
            "AccountMFAEnabled": 0,  # the root user has no MFA device here
            "AccountPasswordPresent": 0,  # nor a console password
            "AccountSigningCertificatesPresent": 1 if counts.pop("RootSigningCertificates") else 0,
            "Providers": counts.pop("OIDCProviders") + counts.pop("SAMLProviders"),
            **counts,  # MFADevices (every one), MFADevicesInUse (those assigned), ServerCertificates
        }
    )
    return {"SummaryMap": dict(sorted(summary.items()))}


@operation("SetSecurityTokenServicePreferences")
def set_security_token_service_preferences(
    ctx: Context, global_endpoint_token_version: str
) -> dict[str, Any]:
    """Set the version of the session tokens the global STS endpoint issues for the account.

    Only GetAccountSummary shows it: Ostiary's tokens are valid in every region whatever the version.
    """
    version = _TOKEN_VERSIONS[global_endpoint_token_version]  # the codec has checked the enum
    with ctx.db.transaction() as conn:
        store.set_token_version(conn, ctx.account_id, version)
    return {}
