"""S3's condition keys that a request's own members supply: its headers' (`s3:x-amz-acl` ...), a copy
source's, tags', a bucket's location, and Object Lock's from an upload's headers or a retention or legal
hold document. Each action keeps those the reference lists for it (`mapping.listed_only`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

# Condition keys read from one member of the request.
_MEMBER_KEYS = {
    "s3:x-amz-acl": "ACL",
    "s3:x-amz-copy-source": "CopySource",
    "s3:x-amz-metadata-directive": "MetadataDirective",
    "s3:x-amz-server-side-encryption": "ServerSideEncryption",
    "s3:x-amz-server-side-encryption-aws-kms-key-id": "SSEKMSKeyId",
    "s3:x-amz-server-side-encryption-customer-algorithm": "SSECustomerAlgorithm",
    "s3:x-amz-storage-class": "StorageClass",
    "s3:x-amz-website-redirect-location": "WebsiteRedirectLocation",
    "s3:x-amz-grant-full-control": "GrantFullControl",
    "s3:x-amz-grant-read": "GrantRead",
    "s3:x-amz-grant-read-acp": "GrantReadACP",
    "s3:x-amz-grant-write": "GrantWrite",
    "s3:x-amz-grant-write-acp": "GrantWriteACP",
    "s3:x-amz-object-ownership": "ObjectOwnership",
    "s3:object-lock-mode": "ObjectLockMode",
    "s3:object-lock-retain-until-date": "ObjectLockRetainUntilDate",
    "s3:object-lock-legal-hold": "ObjectLockLegalHoldStatus",
    "s3:if-match": "IfMatch",
    "s3:if-none-match": "IfNoneMatch",
    "s3:versionid": "VersionId",
    "s3:prefix": "Prefix",
    "s3:delimiter": "Delimiter",
    "s3:max-keys": "MaxKeys",
}


def copy_source(value: str) -> tuple[str, str, str | None] | None:
    """(bucket, key, version) of an `x-amz-copy-source` (`/bucket/key?versionId=v`, URL-encoded)."""
    path, _, query = value.partition("?")
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if not bucket or not key:
        return None
    version = dict(parse_qsl(query)).get("versionId")
    return bucket, key, version


_KEYS_OF_MEMBER: dict[str, tuple[str, ...]] = {
    member: tuple(key for key, named in _MEMBER_KEYS.items() if named == member)
    for member in dict.fromkeys(_MEMBER_KEYS.values())
}


def request_keys(params: Mapping[str, Any]) -> dict[str, str | list[str]]:
    """S3's condition keys that the request's own members supply (each action keeps those it lists)."""
    out: dict[str, str | list[str]] = {}
    for member, value in params.items():  # a request has a few members; the keys are many
        keys = _KEYS_OF_MEMBER.get(member)
        if keys is not None and value is not None and value != "":
            for key in keys:
                out[key] = _text(value)
    source = params.get("CopySource")
    if isinstance(source, str) and source:
        out["s3:x-amz-copy-source"] = _copy_source_key(source)
    tags = _object_tags(params)
    if tags is not None:
        out.update({f"s3:RequestObjectTag/{k}": v for k, v in tags.items()})
        out["s3:RequestObjectTagKeys"] = list(tags)
    bucket_tags = _tag_set(params.get("Tagging")) if "Tagging" in params else None
    if bucket_tags is not None:
        out.update({f"aws:RequestTag/{k}": v for k, v in bucket_tags.items()})
        out["aws:TagKeys"] = list(bucket_tags)
    location = (params.get("CreateBucketConfiguration") or {}).get("LocationConstraint")
    if isinstance(location, str):
        out["s3:locationconstraint"] = location
    out.update(_object_lock_keys(params, out))
    return out


def _object_lock_keys(params: Mapping[str, Any], found: Mapping[str, Any]) -> dict[str, str | list[str]]:
    """Object Lock's keys read from PutObjectRetention's `Retention` and PutObjectLegalHold's `LegalHold`
    documents (an upload's headers give them already), and `s3:object-lock-remaining-retention-days`: the
    days from now to the retain-until date, a part of a day counted whole (never fewer days than S3's)."""
    out: dict[str, str | list[str]] = {}
    retention, hold = params.get("Retention"), params.get("LegalHold")
    if isinstance(retention, dict):
        if isinstance(retention.get("Mode"), str):
            out["s3:object-lock-mode"] = retention["Mode"]
        if retention.get("RetainUntilDate") is not None:
            out["s3:object-lock-retain-until-date"] = _text(retention["RetainUntilDate"])
    if isinstance(hold, dict) and isinstance(hold.get("Status"), str):
        out["s3:object-lock-legal-hold"] = hold["Status"]
    until = out.get("s3:object-lock-retain-until-date", found.get("s3:object-lock-retain-until-date"))
    try:
        moment = datetime.fromisoformat(str(until).replace("Z", "+00:00")) if until else None
    except ValueError:
        moment = None
    if moment is not None and moment.tzinfo is not None:
        days = math.ceil((moment - datetime.now(UTC)).total_seconds() / 86400)
        out["s3:object-lock-remaining-retention-days"] = str(max(0, days))
    return out


def _copy_source_key(value: str) -> str:
    """`s3:x-amz-copy-source` as AWS's examples write it, `bucket/key`, however the header spells the
    object the backend copies (URL-encoded, `%2F` for `/`, a leading `/`, a `?versionId=`): a policy
    on one spelling holds for every other."""
    found = copy_source(value)
    if found is None:
        return unquote(value.partition("?")[0]).lstrip("/")
    return f"{found[0]}/{found[1]}"


def _object_tags(params: Mapping[str, Any]) -> dict[str, str] | None:
    tagging = params.get("Tagging")
    if isinstance(tagging, str):  # the x-amz-tagging header: URL-encoded `k1=v1&k2=v2`
        return dict(parse_qsl(tagging, keep_blank_values=True))
    return _tag_set(tagging)


def _tag_set(tagging: Any) -> dict[str, str] | None:
    if not isinstance(tagging, dict) or not isinstance(tagging.get("TagSet"), list):
        return None
    tags = [t for t in tagging["TagSet"] if isinstance(t, dict) and isinstance(t.get("Key"), str)]
    return {t["Key"]: str(t.get("Value", "")) for t in tags}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
