"""What the gateway keeps of S3 multipart uploads: the key an SSE-KMS upload is encrypted with.

UploadPart and UploadPartCopy need kms:Decrypt on the upload's key, which they do not name and which
no backend call tells in every backend (ListParts and ListMultipartUploads answer no encryption). The
key is in CreateMultipartUpload's answer; it is kept in the store (`store/uploads.py`), so that every
node and a restarted server know it, until CompleteMultipartUpload or AbortMultipartUpload ends the
upload.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from datetime import datetime

from ostiary.gateway import s3
from ostiary.gateway.mapping import Facts
from ostiary.gateway.operations import Operation
from ostiary.store import uploads
from ostiary.store.db import Database

# Answers read whole: CreateMultipartUpload's names its upload id, CompleteMultipartUpload's may be
# an error although its status is 200 (S3's "Special errors": the upload then goes on).
_READS_ANSWER = frozenset({"CreateMultipartUpload", "CompleteMultipartUpload"})
_KEEPS = _READS_ANSWER | {"AbortMultipartUpload"}


def keeps(operation: Operation) -> bool:
    """Whether a success changes what is kept of multipart uploads."""
    return operation.service == "s3" and operation.name in _KEEPS


def reads_answer(operation: Operation) -> bool:
    """Whether `after_success` needs the answer's body."""
    return operation.service == "s3" and operation.name in _READS_ANSWER


def after_success(
    db: Database,
    operation: Operation,
    headers: Mapping[str, str],
    body: bytes | None,
    facts: Facts,
    now: datetime,
) -> None:
    """Once S3 answered 2xx: keep the encryption of an SSE-KMS upload created, forget an upload ended."""
    name, params = operation.name, operation.params
    if operation.service != "s3" or not isinstance(params.get("Bucket"), str):
        return
    bucket = params["Bucket"]
    if name == "CreateMultipartUpload":
        encryption = s3.created_upload(operation, headers, facts)
        created = _text_of(body, "UploadId")
        if encryption is not None and created:
            with db.transaction() as conn:
                uploads.record(conn, bucket, created, encryption, now)
        return
    upload_id = params.get("UploadId")
    if not isinstance(upload_id, str) or name not in _KEEPS:
        return
    if name == "CompleteMultipartUpload" and _root(body) != "CompleteMultipartUploadResult":
        return  # an error answered with 200: the upload goes on
    with db.transaction() as conn:
        uploads.forget(conn, bucket, upload_id)


def _root(body: bytes | None) -> str:
    try:
        return ElementTree.fromstring(body or b"").tag.rsplit("}", 1)[-1]
    except ElementTree.ParseError:
        return ""


def _text_of(body: bytes | None, tag: str) -> str:
    """The text of the answer's first element named `tag`, '' when it has none."""
    try:
        root = ElementTree.fromstring(body or b"")
    except ElementTree.ParseError:
        return ""
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == tag:
            return (element.text or "").strip()
    return ""
