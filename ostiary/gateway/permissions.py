"""What an identified operation needs in policy terms: each (IAM action, resource ARN, request keys).

S3, DynamoDB and KMS have their own modules (their ARNs and keys are AWS's, down to the batch and
copy cases), and so do S3 Control's account settings (`publicaccess`); any other service is mapped
generically (`generic`): the map's actions, else the operation's name in its IAM prefix, on the
resource its parameters surely name, else on "*" (then, when the action has resource types, unnamed:
any Deny of the action refuses it).
Pure: `Facts` brings what only the store knows.
"""

from __future__ import annotations

from collections.abc import Callable

from ostiary.gateway import dynamodb, generic, kms, publicaccess, s3
from ostiary.gateway.mapping import Facts, Permission, iam_prefix, is_permissionless, resource_types
from ostiary.gateway.operations import Operation

__all__ = ["Facts", "Permission", "permissions_of"]

_SERVICES: dict[str, Callable[[Operation, Facts], list[Permission]]] = {
    "s3": s3.permissions,
    "dynamodb": dynamodb.permissions,
    "kms": kms.permissions,
    "s3control": publicaccess.account_permissions,
}


def permissions_of(operation: Operation, facts: Facts) -> tuple[Permission, ...]:
    """Every permission `operation` needs, without duplicates (one action on one resource with the
    same keys), in the order AWS would ask them.

    Only an operation AWS asks no permission for needs none: one whose parameters name nothing this
    module can read needs its own name as an action on "*" (refused unless granted wholesale).
    """
    if is_permissionless(operation.service, operation.name):
        return ()
    special = _SERVICES.get(operation.service)
    if special is not None:
        found = special(operation, facts)
    else:
        found = generic.permissions(operation, facts)
    unique: dict[tuple[str, str], Permission] = {}
    out: list[Permission] = []
    for permission in found:
        kept = unique.setdefault((permission.action, permission.resource), permission)
        # The same action on the same resource with other keys (a KMS key's encryption context, object
        # by object) is asked as well.
        if kept is permission or (kept.context != permission.context and permission not in out):
            out.append(permission)
    if not out:
        action = f"{iam_prefix(operation.service)}:{operation.name}"
        return (Permission(action, "*", is_unnamed=special is None and bool(resource_types(action))),)
    return tuple(out)
