"""IAM users and roles named in resource policies (role trust policies, S3 bucket policies, KMS key
policies) are bound to their unique id, as AWS binds them.

Saving such a policy: every user or role ARN it names in Principal or NotPrincipal must be an existing
principal's exact ARN (path and name as the principal has them), every unique id an existing one's,
else the write is refused (`refuse(name)`: IAM's MalformedPolicyDocument, S3's MalformedPolicy, KMS's
MalformedPolicyDocumentException). The principals are held until the transaction ends, so none is
deleted meanwhile.

Deleting a user or role rewrites, in the same transaction, each policy naming its ARN to name its
unique id (AIDA…, AROA…): the engine matches that id to the deleted principal alone, so a principal made
again under the name inherits nothing, and GetRole, GetBucketPolicy or GetKeyPolicy shows the id as AWS
does. Renaming a user (UpdateUser) rewrites the ARN to the new one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ostiary.errors import AwsError
from ostiary.policy import aws_principals, is_unique_id, is_user_or_role_arn, with_aws_principal
from ostiary.store import accounts, locks, resources, roles
from ostiary.store import named_principals as store
from ostiary.store.named_principals import BUCKET as BUCKET
from ostiary.store.named_principals import KEY as KEY
from ostiary.store.named_principals import ROLE as ROLE

INVALID_PRINCIPAL = 'Invalid principal in policy: "AWS":"{}"'  # IAM's text (UpdateAssumeRolePolicy)


def hold_deletes(conn: Any) -> None:
    """Take, first in a transaction that deletes or renames a user or role, the one lock such writes
    share: each rewrites the policies naming its principal, and a role is a principal and a holder both,
    so two at once could each wait for a row the other holds."""
    locks.hold(conn, "principal-deletes", "*")


def bind(
    conn: Any, holder_kind: str, holder_id: str, document: str, refuse: Callable[[str], AwsError]
) -> None:
    """Check and record the users and roles a holder's (valid) policy names; `refuse(name)` for the
    first that does not exist."""
    bound: dict[str, str] = {}
    for name in aws_principals(document):
        if is_user_or_role_arn(name):
            unique_id = store.resolve(conn, name)
            if unique_id is None:
                raise refuse(name)
            bound[name] = unique_id
        elif is_unique_id(name) and not store.id_exists(conn, name):
            raise refuse(name)
    store.record(conn, holder_kind, holder_id, bound)


def unbind(conn: Any, holder_kind: str, holder_id: str) -> None:
    """The holder, or its policy, is gone."""
    store.forget(conn, holder_kind, holder_id)


def deleted(conn: Any, principal_id: str) -> None:
    """A user or role is being deleted: every policy naming its ARN names its unique id instead."""
    _rewrite(conn, principal_id, lambda _arn: principal_id)
    store.unbound(conn, principal_id)


def renamed(conn: Any, principal_id: str, arn: str) -> None:
    """A user has a new name or path: every policy naming its old ARN names the new one."""
    _rewrite(conn, principal_id, lambda _arn: arn)
    store.renamed(conn, principal_id, arn)


def _rewrite(conn: Any, principal_id: str, new_name: Callable[[str], str]) -> None:
    for holder_kind, holder_id, arn in store.holders(conn, principal_id):
        if holder_kind == ROLE:
            _rewrite_trust_policy(conn, holder_id, arn, new_name(arn))
        elif holder_kind == BUCKET:
            _rewrite_resource_policy(conn, "s3", resources.GLOBAL_REGION, holder_id, arn, new_name(arn))
        elif holder_kind == KEY:
            region, key_id = store.key_of_holder(holder_id)
            _rewrite_resource_policy(conn, "kms", region, key_id, arn, new_name(arn))


def _rewrite_trust_policy(conn: Any, role_id: str, old: str, new: str) -> None:
    row = store.role_trust_policy(conn, role_id)
    text = None if row is None else with_aws_principal(row.trust_policy, old, new)
    if row is None or text is None:
        return
    roles.change(conn, role_id, trust_policy=text)
    accounts.bump_epoch(conn, row.account_id)


def _rewrite_resource_policy(conn: Any, service: str, region: str, name: str, old: str, new: str) -> None:
    """A bucket's or a key's stored policy, rewritten (`gateway_resources`)."""
    policy = resources.policy_for_update(conn, service, region, name)
    text = None if policy is None else with_aws_principal(policy, old, new)
    if text is not None:
        resources.rewrite_policy(conn, service, region, name, text)
