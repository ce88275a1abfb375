"""Centralized root access: IAM's Enable/Disable of root credentials management and root sessions, and
ListOrganizationsFeatures, as AWS answers them for an account that belongs to no organization.

Ostiary has no AWS Organizations: every account stands alone, so each call, once authorized by
`enforce.check` like every IAM call (resource "*"), answers OrganizationNotFoundException and changes
nothing, as AWS does outside an organization. The text is the error shape's documentation in AWS's
service model (no recording of AWS's own message was found).
"""

from __future__ import annotations

from typing import Any

from ostiary.errors import OrganizationNotFoundException
from ostiary.services import Context, operation

_NO_ORGANIZATION = "The request was rejected because no organization is associated with your account."


def _standalone(ctx: Context) -> dict[str, Any]:
    raise OrganizationNotFoundException(_NO_ORGANIZATION)


@operation("ListOrganizationsFeatures")
def list_organizations_features(ctx: Context) -> dict[str, Any]:
    """The centralized root access features of the caller's organization: it has none."""
    return _standalone(ctx)


@operation("EnableOrganizationsRootCredentialsManagement")
def enable_organizations_root_credentials_management(ctx: Context) -> dict[str, Any]:
    """Let the management account manage member accounts' root credentials: no organization to do so."""
    return _standalone(ctx)


@operation("DisableOrganizationsRootCredentialsManagement")
def disable_organizations_root_credentials_management(ctx: Context) -> dict[str, Any]:
    """Stop managing member accounts' root credentials: no organization to do so."""
    return _standalone(ctx)


@operation("EnableOrganizationsRootSessions")
def enable_organizations_root_sessions(ctx: Context) -> dict[str, Any]:
    """Allow privileged root sessions (sts:AssumeRoot) in member accounts: no organization to do so."""
    return _standalone(ctx)


@operation("DisableOrganizationsRootSessions")
def disable_organizations_root_sessions(ctx: Context) -> dict[str, Any]:
    """Stop privileged root sessions in member accounts: no organization to do so."""
    return _standalone(ctx)
