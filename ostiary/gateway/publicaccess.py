"""S3 Block Public Access on buckets and accounts ("Blocking public access to your Amazon S3 storage"):
a bucket's four settings as the backend keeps them (PutPublicAccessBlock and DeletePublicAccessBlock
are forwarded; the gateway reads them back with GetPublicAccessBlock), and what each refuses.

- BlockPublicPolicy: "Setting this element to TRUE causes Amazon S3 to reject calls to PUT Bucket
  policy if the specified bucket policy allows public access" (AccessDenied, S3's text below).
- RestrictPublicBuckets: "restricts access to this bucket to only Amazon Web Services service
  principals and authorized users within this account if the bucket has a public policy ... public
  and cross-account access within any public bucket policy, including non-public delegation to
  specific accounts, is blocked": an anonymous caller is refused, another account's caller is decided
  without the bucket policy (so refused: cross-account access needs it); the owner's account is
  decided as before.
- BlockPublicAcls: "PUT Bucket ACL and PUT Object ACL calls fail if the specified ACL is public. PUT
  Object calls fail if the request includes a public ACL." The gateway refuses a public canned ACL
  (`public-read`, `public-read-write`, `authenticated-read`) or a grant to the AllUsers or
  AuthenticatedUsers group, in headers or in an AccessControlPolicy document.
- IgnorePublicAcls: ACLs never grant anything through the gateway (it decides with identity, bucket and
  key policies only, and the backend sees the gateway's own credentials), so public ACLs are always
  ignored, whatever the setting.

A bucket created through the gateway gets all four settings on, as S3 does for every bucket created
since April 2023; a caller who wants a public bucket turns them off first (PutPublicAccessBlock), as
on AWS. An account's own settings (S3 Control's PutPublicAccessBlock, GetPublicAccessBlock and
DeletePublicAccessBlock, `x-amz-account-id` the caller's account) are answered by the gateway and kept
in its store (`store/public_access.py`): "If the PublicAccessBlock configurations are different between
the bucket and the account, Amazon S3 uses the most restrictive combination of the bucket-level and
account-level settings."
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ostiary.errors import AccessDenied, AwsError
from ostiary.gateway.mapping import Facts, Permission
from ostiary.gateway.operations import Operation
from ostiary.policy import PolicySyntaxError, parse_policy
from ostiary.policy.public import is_public
from ostiary.store import public_access
from ostiary.store.db import Database

if TYPE_CHECKING:
    from ostiary.gateway.lookups import BackendLookups

_FIELDS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
_PUBLIC_CANNED = frozenset({"public-read", "public-read-write", "authenticated-read"})
# AllUsers' and AuthenticatedUsers' group URIs, in lower case and without their scheme: a spelling with
# other capitals, https or spaces around it is the same group to a lenient backend, and refused alike.
_PUBLIC_GROUPS = (
    "acs.amazonaws.com/groups/global/allusers",
    "acs.amazonaws.com/groups/global/authenticatedusers",
)
_GRANTS = ("GrantFullControl", "GrantRead", "GrantReadACP", "GrantWrite", "GrantWriteACP")
# Writes that may carry an ACL (BlockPublicAcls).
_ACL_WRITES = frozenset({"PutObject", "CopyObject", "CreateMultipartUpload", "PutObjectAcl", "PutBucketAcl"})
# Calls that change what the backend holds of a bucket's settings (the kept copy is dropped).
CHANGES = frozenset({"PutPublicAccessBlock", "DeletePublicAccessBlock", "DeleteBucket", "CreateBucket"})
NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"


@dataclass(frozen=True)
class PublicAccessBlock:
    """A bucket's four settings."""

    block_public_acls: bool = False
    ignore_public_acls: bool = False
    block_public_policy: bool = False
    restrict_public_buckets: bool = False


ALL_ON = PublicAccessBlock(True, True, True, True)
NONE = PublicAccessBlock()
CONTROL_PREFIX = "/v20180820/"  # S3 Control's API version, first in each of its paths
ACCOUNT_PATH = f"{CONTROL_PREFIX}configuration/publicAccessBlock"  # an account's settings


class NoSuchPublicAccessBlockConfiguration(AwsError):
    """S3's answer to GetPublicAccessBlock when there are no settings (404)."""

    code, status, sender_fault = "NoSuchPublicAccessBlockConfiguration", 404, True


class NotImplementedHere(AwsError):
    """An S3 Control operation the gateway does not serve (501)."""

    code, status, sender_fault = "NotImplemented", 501, False


NO_CONFIGURATION = "The public access block configuration was not found"


# S3 Control's account calls and their actions (the Service Authorization Reference's
# PutAccountPublicAccessBlock and GetAccountPublicAccessBlock; a delete puts the settings away).
_ACCOUNT_ACTIONS = {
    "PutPublicAccessBlock": "s3:PutAccountPublicAccessBlock",
    "GetPublicAccessBlock": "s3:GetAccountPublicAccessBlock",
    "DeletePublicAccessBlock": "s3:PutAccountPublicAccessBlock",
}


def account_permissions(operation: Operation, facts: Facts) -> list[Permission]:
    """What an S3 Control call needs: the account settings' action on "*" (they name no resource); any
    other call its own name in S3's prefix (the gateway answers it NotImplemented)."""
    return [Permission(_ACCOUNT_ACTIONS.get(operation.name, f"s3:{operation.name}"), "*")]


def is_account_call(path: str, account_header: str | None) -> bool:
    """Whether an S3-signed request is S3 Control's (`/v20180820/...` with `x-amz-account-id`), not a
    bucket's."""
    return path.startswith(CONTROL_PREFIX) and bool(account_header)


def combined(bucket: PublicAccessBlock, account: tuple[bool, bool, bool, bool] | None) -> PublicAccessBlock:
    """The most restrictive combination of a bucket's settings and its owner's account's."""
    if account is None:
        return bucket
    acls, ignore, policy, restrict = account
    return PublicAccessBlock(
        bucket.block_public_acls or acls,
        bucket.ignore_public_acls or ignore,
        bucket.block_public_policy or policy,
        bucket.restrict_public_buckets or restrict,
    )


def effective(
    lookups: BackendLookups, db: Database, region: str, bucket: str, owner: str
) -> PublicAccessBlock:
    """The settings that hold for a bucket: its own (from the backend) with its owner account's."""
    return combined(lookups.public_access_block(region, bucket), public_access.recent_find(db, owner))


def as_tuple(settings: PublicAccessBlock) -> tuple[bool, bool, bool, bool]:
    return (
        settings.block_public_acls,
        settings.ignore_public_acls,
        settings.block_public_policy,
        settings.restrict_public_buckets,
    )


def parse(document: bytes) -> PublicAccessBlock | None:
    """The settings of a PublicAccessBlockConfiguration document; None when it is not one."""
    try:
        root = ElementTree.fromstring(document)
    except ElementTree.ParseError:
        return None
    if root.tag.rsplit("}", 1)[-1] != "PublicAccessBlockConfiguration":
        return None
    found = {e.tag.rsplit("}", 1)[-1]: (e.text or "").strip().lower() == "true" for e in root}
    return PublicAccessBlock(*(found.get(name, False) for name in _FIELDS))


def document(settings: PublicAccessBlock) -> bytes:
    """A PublicAccessBlockConfiguration document of the settings (PutPublicAccessBlock's body)."""
    values = as_tuple(settings)
    inner = "".join(f"<{n}>{'true' if v else 'false'}</{n}>" for n, v in zip(_FIELDS, values, strict=True))
    root = "PublicAccessBlockConfiguration"
    return f'<{root} xmlns="{NAMESPACE}">{inner}</{root}>'.encode()


@functools.lru_cache(maxsize=1024)
def is_public_text(text: str) -> bool:
    """Whether a stored bucket policy is public (`policy.public`); one that does not parse grants nothing."""
    try:
        return is_public(parse_policy(text, "resource"))
    except PolicySyntaxError:
        return False


def policy_status(text: str) -> bytes:
    """GetBucketPolicyStatus's answer for a stored bucket policy."""
    public = "true" if is_public_text(text) else "false"
    return f'<PolicyStatus xmlns="{NAMESPACE}"><IsPublic>{public}</IsPublic></PolicyStatus>'.encode()


def refuse_public_policy(caller_arn: str, bucket: str) -> AccessDenied:
    """S3's refusal of a public PutBucketPolicy under BlockPublicPolicy, word for word."""
    return AccessDenied(
        f"User: {caller_arn} is not authorized to perform: s3:PutBucketPolicy on resource: "
        f'"arn:aws:s3:::{bucket}" because public policies are blocked by the BlockPublicPolicy block '
        "public access setting."
    )


def writes_public_acl(operation: Operation) -> bool:
    """Whether a write carries a public ACL: a public canned ACL, or a grant to AllUsers or
    AuthenticatedUsers (in a grant header or the AccessControlPolicy document)."""
    if operation.service != "s3" or operation.name not in _ACL_WRITES:
        return False
    params = operation.params
    if str(params.get("ACL") or "").strip().lower() in _PUBLIC_CANNED:
        return True
    if any(_names_public_group(str(value)) for member in _GRANTS if (value := params.get(member))):
        return True
    policy = params.get("AccessControlPolicy")
    grants = policy.get("Grants") if isinstance(policy, Mapping) else None
    return isinstance(grants, list) and any(_is_public_grant(grant) for grant in grants)


def _names_public_group(text: str) -> bool:
    lowered = text.lower()
    return any(group in lowered for group in _PUBLIC_GROUPS)


def _is_public_grant(grant: Any) -> bool:
    grantee = grant.get("Grantee") if isinstance(grant, Mapping) else None
    return isinstance(grantee, Mapping) and _names_public_group(str(grantee.get("URI") or ""))
