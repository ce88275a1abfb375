"""What S3 operations need beyond the map: copy sources, batch deletes, versions, the actions a parameter
adds, and the KMS permissions S3 asks with the caller's credentials (request keys: `s3keys`).

AWS's S3 documentation ("Required permissions for Amazon S3 API operations", each API reference's
"Permissions") decides where the map lists more or less than a call needs: CopyObject and UploadPartCopy
need s3:GetObject on the source and s3:PutObject on the target; ACL, tagging and Object Lock headers add
their actions; a `versionId` turns an object action into its `...Version...` twin.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import unquote

from ostiary.gateway import kms, kmsaliases
from ostiary.gateway.mapping import Facts, Permission, listed_only, mapped, resources
from ostiary.gateway.operations import Operation
from ostiary.gateway.publicaccess import NotImplementedHere
from ostiary.gateway.s3keys import copy_source, request_keys

_ACL_MEMBERS = ("ACL", "GrantFullControl", "GrantRead", "GrantReadACP", "GrantWrite", "GrantWriteACP")
WRITES_OBJECT = frozenset({"PutObject", "CopyObject", "CreateMultipartUpload"})
SSE_KMS = frozenset({"aws:kms", "aws:kms:dsse"})
# What S3 asks KMS with the caller's credentials when it encrypts an object with SSE-KMS. A multipart
# upload's are split over its calls (CreateMultipartUpload's "Permissions"): "The requester must also
# have permissions for the kms:GenerateDataKey action for the CreateMultipartUpload API. Then, the
# requester needs permissions for the kms:Decrypt action on the UploadPart and UploadPartCopy APIs."
_SSE_KMS_ACTIONS = {
    "PutObject": ("kms:GenerateDataKey",),
    "CopyObject": ("kms:GenerateDataKey",),
    "CreateMultipartUpload": ("kms:GenerateDataKey",),
}
# Calls on a multipart upload that need kms:Decrypt on the key it was created with (`_upload_decrypt`).
_DECRYPTS_UPLOAD = frozenset({"UploadPart", "UploadPartCopy", "CompleteMultipartUpload", "ListParts"})
_CHECKSUMS = ("ChecksumCRC32", "ChecksumCRC32C", "ChecksumCRC64NVME", "ChecksumSHA1", "ChecksumSHA256")
# Answers whose body S3 decrypts for the caller: kms:Decrypt on the key the answer names.
_DECRYPTS = frozenset({"GetObject"})
# Actions AWS asks together with another: GetObjectAttributes needs s3:GetObject (s3:GetObjectVersion)
# and s3:GetObjectAttributes (s3:GetObjectVersionAttributes), its API reference's "Permissions".
# UpdateObjectEncryption needs s3:PutObject as well as s3:UpdateObjectEncryption (its "Permissions").
_ALSO_ASKED = {
    "s3:GetObjectAttributes": ("s3:GetObject",),
    "s3:UpdateObjectEncryption": ("s3:PutObject",),
}
# Calls that `x-amz-bypass-governance-retention: true` lets past governance-mode retention, and the
# actions whose objects it is asked on.
_BYPASSES_GOVERNANCE = frozenset({"DeleteObject", "DeleteObjects", "PutObjectRetention"})
_GOVERNED = frozenset({"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectRetention"})
# Object actions whose `versionId` makes them act on one version.
_VERSIONED = {
    "s3:GetObject": "s3:GetObjectVersion",
    "s3:GetObjectAcl": "s3:GetObjectVersionAcl",
    "s3:GetObjectTagging": "s3:GetObjectVersionTagging",
    "s3:GetObjectAttributes": "s3:GetObjectVersionAttributes",
    "s3:GetObjectTorrent": "s3:GetObjectVersionTorrent",
    "s3:PutObjectAcl": "s3:PutObjectVersionAcl",
    "s3:PutObjectTagging": "s3:PutObjectVersionTagging",
    "s3:DeleteObject": "s3:DeleteObjectVersion",
    "s3:DeleteObjectTagging": "s3:DeleteObjectVersionTagging",
}


def permissions(operation: Operation, facts: Facts) -> list[Permission]:
    """Every (action, resource, keys) an S3 operation needs."""
    params = operation.params
    name = operation.name
    if name in ("CopyObject", "UploadPartCopy"):
        found = list(_copy(params, facts))
    elif name == "DeleteObjects":
        found = list(_delete_objects(params, facts))
    else:
        found = [p for p in mapped("s3", name, params, facts) if not _is_listed_only_maybe(name, p)]
        found += [Permission(a, p.resource) for p in found for a in _ALSO_ASKED.get(p.action, ())]
        found = [_versioned(p) for p in found] if params.get("VersionId") else found
    if name in WRITES_OBJECT:
        found.extend(_header_writes(params, facts))
    if name == "CreateBucket":
        found.extend(_bucket_header_writes(params, facts))
    if name == "PutBucketReplication":
        found.extend(_replication_role(params))
    if name in _BYPASSES_GOVERNANCE and params.get("BypassGovernanceRetention") is True:
        found.extend(_bypass(found))
    keys = request_keys(params)
    found = [Permission(p.action, p.resource, listed_only(p.action, {**keys, **p.context})) for p in found]
    return (
        found
        + _sse_kms(name, params, facts)
        + _source_decrypt(name, params, facts)
        + _select_decrypt(name, params, facts)
        + _reencrypt(name, params, facts)
        + _upload_decrypt(name, params, facts)
    )


def _bucket_header_writes(params: Mapping[str, Any], facts: Facts) -> Iterator[Permission]:
    """CreateBucket's headers that set what other actions set (its API reference, "Permissions"): ACL
    headers need s3:PutBucketAcl, Object Lock s3:PutBucketObjectLockConfiguration and
    s3:PutBucketVersioning, `x-amz-object-ownership` s3:PutBucketOwnershipControls, on the bucket."""
    bucket = params.get("Bucket")
    if not isinstance(bucket, str):
        return
    arn = resources("s3:CreateBucket", {"BucketName": bucket}, facts)[0]
    if any(params.get(m) for m in _ACL_MEMBERS):
        yield Permission("s3:PutBucketAcl", arn)
    if params.get("ObjectLockEnabledForBucket") is True:
        yield Permission("s3:PutBucketObjectLockConfiguration", arn)
        yield Permission("s3:PutBucketVersioning", arn)
    if params.get("ObjectOwnership"):
        yield Permission("s3:PutBucketOwnershipControls", arn)


def _replication_role(params: Mapping[str, Any]) -> Iterator[Permission]:
    """PutBucketReplication passes its configuration's role to S3: iam:PassRole on that role, with
    `iam:PassedToService` S3's principal (the map's entry names `${Role}`, which is no member)."""
    configuration = params.get("ReplicationConfiguration")
    role = configuration.get("Role") if isinstance(configuration, dict) else None
    if isinstance(role, str) and role:  # a value that is no ARN names no role: asked on "*"
        arn = role if role.startswith("arn:") else "*"
        yield Permission("iam:PassRole", arn, {"iam:PassedToService": "s3.amazonaws.com"})


def _bypass(found: list[Permission]) -> list[Permission]:
    """`x-amz-bypass-governance-retention: true`: s3:BypassGovernanceRetention on every object the call
    deletes or whose retention it changes (Object Lock's "Bypassing governance mode")."""
    objects = [p.resource for p in found if p.action in _GOVERNED]
    return [Permission("s3:BypassGovernanceRetention", arn) for arn in dict.fromkeys(objects)]


def _sse_kms(name: str, params: Mapping[str, Any], facts: Facts) -> list[Permission]:
    """The KMS permissions of a write with `x-amz-server-side-encryption: aws:kms`, or with no encryption
    header into a bucket whose default encryption is SSE-KMS (S3 asks them with the caller's credentials,
    via S3): on the key `SSEKMSKeyId` (or the bucket's default) names, else S3's managed key."""
    actions = _SSE_KMS_ACTIONS.get(name)
    if actions is None:
        return []
    key_id = params.get("SSEKMSKeyId") if isinstance(params.get("SSEKMSKeyId"), str) else None
    if params.get("ServerSideEncryption") is None and isinstance(params.get("Bucket"), str):
        default = facts.bucket_encryption(params["Bucket"])  # the bucket's default encryption applies
        if default is not None and default[0] in SSE_KMS:
            params = {**params, "ServerSideEncryption": default[0]}
            key_id = default[1]
    if params.get("ServerSideEncryption") not in SSE_KMS:
        return []
    context = _encryption_context(params.get("SSEKMSEncryptionContext"))
    context["aws:s3:arn"] = _s3_arn(params, facts, params.get("BucketKeyEnabled") is True)
    return kms.for_service(actions, key_id or None, "s3", facts, context)


def _source_decrypt(name: str, params: Mapping[str, Any], facts: Facts) -> list[Permission]:
    """A copy of an object stored with SSE-KMS: S3 decrypts the source with the caller's credentials,
    so kms:Decrypt (via S3) on the key the source was stored with, as the backend tells of it."""
    if name not in ("CopyObject", "UploadPartCopy"):
        return []
    source = copy_source(str(params.get("CopySource", "")))
    if source is None:
        return []
    bucket, key, version = source
    stored = facts.object_encryption(bucket, key, version)
    if stored is None or stored[0] not in SSE_KMS:
        return []
    context = {"aws:s3:arn": object_arn(bucket, key, facts)}
    return kms.for_service(("kms:Decrypt",), stored[1], "s3", facts, context)


def _select_decrypt(name: str, params: Mapping[str, Any], facts: Facts) -> list[Permission]:
    """SelectObjectContent of an object stored with SSE-KMS: S3 decrypts it for the caller, as for
    GetObject, but its answer names no key; so kms:Decrypt (via S3) on the key the backend tells the
    object was stored with, asked before the call."""
    bucket, key = params.get("Bucket"), params.get("Key")
    if name != "SelectObjectContent" or not isinstance(bucket, str) or not isinstance(key, str):
        return []
    stored = facts.object_encryption(bucket, key, None)
    if stored is None or stored[0] not in SSE_KMS:
        return []
    context = {"aws:s3:arn": object_arn(bucket, key, facts)}
    return kms.for_service(("kms:Decrypt",), stored[1], "s3", facts, context)


def _reencrypt(name: str, params: Mapping[str, Any], facts: Facts) -> list[Permission]:
    """UpdateObjectEncryption's KMS permissions ("kms:Encrypt, kms:Decrypt, kms:GenerateDataKey,
    kms:ReEncrypt*"), via S3: decrypting and re-encrypting from the key the object is stored with, as the
    backend tells of it, and encrypting to the key the request names."""
    if name != "UpdateObjectEncryption":
        return []
    bucket, key, version = params.get("Bucket"), params.get("Key"), params.get("VersionId")
    if not isinstance(bucket, str) or not isinstance(key, str):
        return []
    context = {"aws:s3:arn": object_arn(bucket, key, facts)}
    wanted = ((params.get("ObjectEncryption") or {}).get("SSEKMS") or {}).get("KMSKeyArn")
    found = kms.for_service(
        ("kms:GenerateDataKey", "kms:Encrypt", "kms:ReEncryptTo"),
        wanted if isinstance(wanted, str) and wanted else None,
        "s3",
        facts,
        context,
    )
    stored = facts.object_encryption(bucket, key, version if isinstance(version, str) else None)
    if stored is not None and stored[0] in SSE_KMS:
        found += kms.for_service(("kms:Decrypt", "kms:ReEncryptFrom"), stored[1], "s3", facts, context)
    return found


def _upload_decrypt(name: str, params: Mapping[str, Any], facts: Facts) -> list[Permission]:
    """A part of a multipart upload made with SSE-KMS: kms:Decrypt (via S3) on the upload's key, as it
    was kept from CreateMultipartUpload's answer (`created_upload`); nothing when it is unknown.

    UploadPart and UploadPartCopy always need it ("the requester needs permissions for the kms:Decrypt
    action on the UploadPart and UploadPartCopy APIs"), and so does ListParts ("you must have permission
    to the kms:Decrypt action for the ListParts request to succeed"); CompleteMultipartUpload only with
    checksums
    ("If you provide an additional checksum value in your MultipartUpload requests and the object is
    encrypted with Key Management Service, you must have permission to use the kms:Decrypt action for
    the CompleteMultipartUpload request to succeed").
    """
    if name not in _DECRYPTS_UPLOAD:
        return []
    bucket, upload_id = params.get("Bucket"), params.get("UploadId")
    if not isinstance(bucket, str) or not isinstance(upload_id, str):
        return []
    if name == "CompleteMultipartUpload" and not _has_checksums(params):
        return []
    stored = facts.upload_encryption(bucket, upload_id)
    if stored is None or stored[0] not in SSE_KMS:
        return []
    context = {"aws:s3:arn": _s3_arn(params, facts, stored[2])}
    return kms.for_service(("kms:Decrypt",), stored[1], "s3", facts, context)


def _has_checksums(params: Mapping[str, Any]) -> bool:
    """Whether a CompleteMultipartUpload carries additional checksums: the whole object's, or a part's."""
    if any(params.get(member) for member in _CHECKSUMS):
        return True
    parts = (params.get("MultipartUpload") or {}).get("Parts")
    listed = parts if isinstance(parts, list) else []
    return any(isinstance(part, dict) and any(part.get(m) for m in _CHECKSUMS) for part in listed)


def created_upload(
    operation: Operation, headers: Mapping[str, str], facts: Facts
) -> tuple[str, str | None, bool] | None:
    """How a CreateMultipartUpload's upload is encrypted, when with SSE-KMS: (algorithm, key id or None
    for S3's managed key, whether with an S3 Bucket Key). S3's answer says it
    (`x-amz-server-side-encryption`, `-aws-kms-key-id`, `-bucket-key-enabled`); what it leaves unsaid
    (a backend that does not apply a bucket's default encryption to uploads) is what the request and
    the bucket's default encryption asked for, as its kms:GenerateDataKey was decided."""
    if operation.service != "s3" or operation.name != "CreateMultipartUpload":
        return None
    found = {k.lower(): v for k, v in headers.items()}
    params = operation.params
    algorithm = found.get("x-amz-server-side-encryption") or params.get("ServerSideEncryption")
    told = found.get("x-amz-server-side-encryption-aws-kms-key-id")
    key_id = kmsaliases.from_backend(told, facts.region) if told else params.get("SSEKMSKeyId")
    bucket_key = found.get("x-amz-server-side-encryption-bucket-key-enabled", "").lower() == "true"
    if algorithm is None and isinstance(params.get("Bucket"), str):
        default = facts.bucket_encryption(params["Bucket"])
        if default is not None:
            algorithm, key_id = default[0], key_id or default[1]
    if algorithm not in SSE_KMS:
        return None
    bucket_key = bucket_key or params.get("BucketKeyEnabled") is True
    return str(algorithm), (str(key_id) if key_id else None), bucket_key


def answer_permissions(
    operation: Operation, status: int, headers: Mapping[str, str], facts: Facts
) -> list[Permission]:
    """The permissions to decide once the backend's answer headers arrived, before its body is sent.

    A GetObject of an object stored with SSE-KMS needs kms:Decrypt (via S3) on the key the object was
    stored with, which only the answer names (`x-amz-server-side-encryption-aws-kms-key-id`); so does a
    HeadObject whose `ChecksumMode` has the answer carry the object's checksum ("you must have
    permission to use the kms:Decrypt action to retrieve the checksum").
    """
    if operation.service != "s3" or status not in (200, 206):
        return []
    found = {k.lower(): v for k, v in headers.items()}
    if operation.name not in _DECRYPTS and not _tells_checksum(operation, found):
        return []
    if found.get("x-amz-server-side-encryption") not in SSE_KMS:
        return []
    told = found.get("x-amz-server-side-encryption-aws-kms-key-id") or None
    key_id = kmsaliases.from_backend(told, facts.region)
    is_bucket_key = found.get("x-amz-server-side-encryption-bucket-key-enabled", "").lower() == "true"
    context = {"aws:s3:arn": _s3_arn(operation.params, facts, is_bucket_key)}
    return kms.for_service(("kms:Decrypt",), key_id, "s3", facts, context)


def _tells_checksum(operation: Operation, headers: Mapping[str, str]) -> bool:
    """Whether a HeadObject's answer carries the object's checksum (`ChecksumMode: ENABLED`)."""
    return (
        operation.name == "HeadObject"
        and operation.params.get("ChecksumMode") == "ENABLED"
        and any(k.startswith("x-amz-checksum-") and k != "x-amz-checksum-type" for k in headers)
    )


def _s3_arn(params: Mapping[str, Any], facts: Facts, is_bucket_key: bool) -> str:
    """S3's encryption context `aws:s3:arn`: the object's ARN, the bucket's with an S3 Bucket Key."""
    target = _target(params, facts)
    return target.split("/", 1)[0] if is_bucket_key and target != "*" else target


def _encryption_context(value: Any) -> dict[str, str]:
    """`x-amz-server-side-encryption-context`: base64 of a JSON object; {} when it is not one."""
    if not isinstance(value, str) or not value:
        return {}
    try:
        decoded = json.loads(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        return {}
    return {str(k): str(v) for k, v in decoded.items()} if isinstance(decoded, dict) else {}


def _is_listed_only_maybe(operation: str, permission: Permission) -> bool:
    """Map entries AWS does not ask for: DeleteBucketReplication's iam:PassRole on "*"."""
    return operation == "DeleteBucketReplication" and permission.action == "iam:PassRole"


def _versioned(permission: Permission) -> Permission:
    return Permission(_VERSIONED.get(permission.action, permission.action), permission.resource)


def object_arn(bucket: str, key: str, facts: Facts) -> str:
    """The ARN of an object (`arn:aws:s3:::bucket/key`)."""
    return resources("s3:GetObject", {"BucketName": bucket, "ObjectName": key}, facts)[0]


def refuse_access_point_source(operation: Operation) -> None:
    """Refuse a copy whose source is named by an ARN (an access point's, `arn:aws:s3:...:accesspoint/
    name/object/key`): the gateway does not model access points, so it could not tell whose object that
    is, while a backend that serves them would copy it (501, as S3 Control's other calls)."""
    if operation.name not in ("CopyObject", "UploadPartCopy"):
        return
    source = unquote(str(operation.params.get("CopySource", ""))).lstrip("/")
    if source.startswith("arn:"):
        raise NotImplementedHere(
            "the gateway does not serve access points: name a copy source by its bucket (/bucket/key)"
        )


def _copy(params: Mapping[str, Any], facts: Facts) -> Iterator[Permission]:
    source = copy_source(str(params.get("CopySource", "")))
    if source is None:
        yield Permission("s3:GetObject", "*")
    else:
        bucket, key, version = source
        action = "s3:GetObjectVersion" if version else "s3:GetObject"
        context = {"s3:versionid": version} if version else {}
        yield Permission(action, object_arn(bucket, key, facts), dict(context))
    yield Permission("s3:PutObject", _target(params, facts))


def _target(params: Mapping[str, Any], facts: Facts) -> str:
    bucket, key = params.get("Bucket"), params.get("Key")
    if isinstance(bucket, str) and isinstance(key, str):
        return object_arn(bucket, key, facts)
    return "*"


def _delete_objects(params: Mapping[str, Any], facts: Facts) -> Iterator[Permission]:
    """s3:DeleteObject (s3:DeleteObjectVersion) on every key listed; on `bucket/*` when none is read.
    The gateway decides them key by key (`multidelete`): a refused key fails alone, not the call."""
    bucket = str(params.get("Bucket", ""))
    listed = (params.get("Delete") or {}).get("Objects")
    if not isinstance(listed, list) or not listed:
        yield Permission("s3:DeleteObject", object_arn(bucket, "*", facts))
        return
    for item in listed:
        if not isinstance(item, dict) or not isinstance(item.get("Key"), str):
            continue
        version = item.get("VersionId")
        action = "s3:DeleteObjectVersion" if version else "s3:DeleteObject"
        context = {"s3:versionid": str(version)} if version else {}
        yield Permission(action, object_arn(bucket, item["Key"], facts), dict(context))


def _header_writes(params: Mapping[str, Any], facts: Facts) -> Iterator[Permission]:
    """ACL headers need s3:PutObjectAcl, a tagging header s3:PutObjectTagging, Object Lock's retention
    headers s3:PutObjectRetention and its legal hold header s3:PutObjectLegalHold, on the written object."""
    if any(params.get(m) for m in _ACL_MEMBERS):
        yield Permission("s3:PutObjectAcl", _target(params, facts))
    if params.get("ObjectLockMode") or params.get("ObjectLockRetainUntilDate"):
        yield Permission("s3:PutObjectRetention", _target(params, facts))
    if params.get("ObjectLockLegalHoldStatus"):
        yield Permission("s3:PutObjectLegalHold", _target(params, facts))
    replaces = params.get("TaggingDirective", "REPLACE") == "REPLACE"
    if params.get("Tagging") and replaces:
        yield Permission("s3:PutObjectTagging", _target(params, facts))
