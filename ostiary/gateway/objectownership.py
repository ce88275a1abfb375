"""S3 Object Ownership: ACLs disabled (BucketOwnerEnforced) for a new bucket, S3's default since April 2023.

A bucket created through the gateway without an ownership setting is created with
`x-amz-object-ownership: BucketOwnerEnforced`, so the backend keeps the setting, and
GetBucketOwnershipControls answers it, as on AWS. The gateway reads it back (GetBucketOwnershipControls,
kept 10 s and dropped when it changes through the same server) and refuses what S3 refuses of such a
bucket ("Controlling ownership of objects and disabling ACLs for your bucket", "Troubleshooting"):
- "Requests to set ACLs or update ACLs fail with a 400 error and return the
  AccessControlListNotSupported error code. Requests to read ACLs are still supported. [...] In your PUT
  operations, you must either specify bucket owner full control ACLs or not specify an ACL": a canned
  ACL other than `bucket-owner-full-control` or `private` (the default), any `x-amz-grant-*` header, or an
  AccessControlPolicy document granting anything but FULL_CONTROL to its owner, on PutObject, CopyObject,
  CreateMultipartUpload, PutObjectAcl and PutBucketAcl.
- CreateBucket with such an ACL and no ObjectOwnership (or BucketOwnerEnforced) fails with
  InvalidBucketAclWithObjectOwnership; and so does PutBucketOwnershipControls to BucketOwnerEnforced
  while the bucket's ACL grants anyone but its owner ("If your PutBucketOwnershipControls request sets
  BucketOwnerEnforced for a bucket that has a bucket ACL that grants access to others, the request
  fails").
A bucket made on the backend directly, or whose setting was deleted, has ACLs enabled (ObjectWriter).
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from typing import Any

from ostiary.errors import AwsError
from ostiary.gateway.operations import Operation

ENFORCED = "BucketOwnerEnforced"
HEADER = "x-amz-object-ownership"
# Writes that may carry an ACL, refused one on a bucket whose ACLs are disabled.
ACL_WRITES = frozenset({"PutObject", "CopyObject", "CreateMultipartUpload", "PutObjectAcl", "PutBucketAcl"})
# Calls that change what the backend holds of a bucket's setting (the kept copy is dropped).
CHANGES = frozenset(
    {"PutBucketOwnershipControls", "DeleteBucketOwnershipControls", "CreateBucket", "DeleteBucket"}
)
_OWNER_ONLY = frozenset({"private", "bucket-owner-full-control"})  # canned ACLs an enforced bucket takes
_GRANTS = ("GrantFullControl", "GrantRead", "GrantReadACP", "GrantWrite", "GrantWriteACP")

# S3's texts.
ACLS_NOT_SUPPORTED = "The bucket does not allow ACLs"
ACL_WITH_OWNERSHIP = "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting"


class AccessControlListNotSupported(AwsError):
    """S3's refusal of an ACL on a bucket whose ACLs are disabled (400)."""

    code, status, sender_fault = "AccessControlListNotSupported", 400, True


class InvalidBucketAclWithObjectOwnership(AwsError):
    """S3's refusal of a bucket ACL beside BucketOwnerEnforced (400)."""

    code, status, sender_fault = "InvalidBucketAclWithObjectOwnership", 400, True


def check_create(operation: Operation) -> None:
    """CreateBucket's refusal of an ACL beside ACLs disabled (asked, or S3's default)."""
    ownership = operation.params.get("ObjectOwnership")
    if ownership in (None, "", ENFORCED) and grants_others(operation):
        raise InvalidBucketAclWithObjectOwnership(ACL_WITH_OWNERSHIP)


def sets_acl(operation: Operation) -> bool:
    """Whether an ACL write must know the bucket's setting: it sets an ACL an enforced bucket refuses."""
    return operation.service == "s3" and operation.name in ACL_WRITES and grants_others(operation)


def check_write(ownership: str | None) -> None:
    """The refusal of an ACL write that `sets_acl` on a bucket of this setting."""
    if ownership == ENFORCED:
        raise AccessControlListNotSupported(ACLS_NOT_SUPPORTED)


def check_enforcing(operation: Operation, acl_document: bytes | None) -> None:
    """PutBucketOwnershipControls' refusal of BucketOwnerEnforced while the bucket's ACL (its
    GetBucketAcl document, None when unknown) grants anyone but the owner."""
    if requested(operation) == ENFORCED and acl_document is not None and not owner_only(acl_document):
        raise InvalidBucketAclWithObjectOwnership(ACL_WITH_OWNERSHIP)


def requested(operation: Operation) -> str | None:
    """The ObjectOwnership a PutBucketOwnershipControls asks for."""
    controls = operation.params.get("OwnershipControls")
    rules = controls.get("Rules") if isinstance(controls, Mapping) else None
    if not isinstance(rules, list):
        return None
    found = [r.get("ObjectOwnership") for r in rules if isinstance(r, Mapping)]
    return str(found[0]) if found and found[0] else None


def grants_others(operation: Operation) -> bool:
    """Whether a request sets an ACL other than its owner's full control: a canned ACL but `private` and
    `bucket-owner-full-control`, a grant header, or an AccessControlPolicy granting anything else."""
    params = operation.params
    acl = params.get("ACL")
    if acl is not None and str(acl).strip().lower() not in _OWNER_ONLY:
        return True
    if any(params.get(member) for member in _GRANTS):
        return True
    policy = params.get("AccessControlPolicy")
    if not isinstance(policy, Mapping):
        return False
    owner = policy.get("Owner")
    owner_id = owner.get("ID") if isinstance(owner, Mapping) else None
    grants = policy.get("Grants") or []
    return not isinstance(grants, list) or any(not _owner_full_control(g, owner_id) for g in grants)


def _owner_full_control(grant: Any, owner_id: Any) -> bool:
    grantee = grant.get("Grantee") if isinstance(grant, Mapping) else None
    if not isinstance(grantee, Mapping) or grant.get("Permission") != "FULL_CONTROL":
        return False
    if grantee.get("URI") or grantee.get("EmailAddress"):
        return False
    return bool(owner_id) and grantee.get("ID") == owner_id


def parse(document: bytes) -> str | None:
    """The ObjectOwnership of a GetBucketOwnershipControls answer; None when it names none."""
    try:
        root = ElementTree.fromstring(document)
    except ElementTree.ParseError:
        return None
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == "ObjectOwnership":
            return (element.text or "").strip() or None
    return None


def owner_only(document: bytes) -> bool:
    """Whether a GetBucketAcl document grants nothing but FULL_CONTROL to its owner (one that does not
    parse is taken as granting others)."""
    try:
        root = ElementTree.fromstring(document)
    except ElementTree.ParseError:
        return False
    owner_id = None
    grants: list[tuple[dict[str, str], str]] = []
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "Owner":
            owner_id = _child_text(element, "ID")
        elif tag == "Grant":
            grantee = next((c for c in element if c.tag.rsplit("}", 1)[-1] == "Grantee"), None)
            fields = {} if grantee is None else {c.tag.rsplit("}", 1)[-1]: (c.text or "") for c in grantee}
            grants.append((fields, _child_text(element, "Permission") or ""))
    return all(
        permission == "FULL_CONTROL" and set(fields) <= {"ID", "DisplayName"} and fields.get("ID") == owner_id
        for fields, permission in grants
    )


def _child_text(element: ElementTree.Element, name: str) -> str | None:
    for child in element:
        if child.tag.rsplit("}", 1)[-1] == name:
            return (child.text or "").strip()
    return None
