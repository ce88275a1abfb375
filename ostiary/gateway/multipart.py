"""What the gateway keeps of S3 multipart uploads: the key an SSE-KMS upload is encrypted with.

UploadPart and UploadPartCopy need kms:Decrypt on the upload's key, which they do not name and which
no backend call tells in every backend (ListParts and ListMultipartUploads answer no encryption). The
key is in CreateMultipartUpload's answer; it is kept in the store (`store/uploads.py`), so that every
node and a restarted server know it, until CompleteMultipartUpload or AbortMultipartUpload ends the
upload.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Mapping
from datetime import datetime

from ostiary.errors import AwsError
from ostiary.gateway import s3
from ostiary.gateway.mapping import Facts
from ostiary.gateway.operations import Operation
from ostiary.store import uploads
from ostiary.store.db import Database

# Answers read whole: CreateMultipartUpload's names its upload id, CompleteMultipartUpload's may be
# an error although its status is 200 (S3's "Special errors": the upload then goes on).
_READS_ANSWER = frozenset({"CreateMultipartUpload", "CompleteMultipartUpload"})
_KEEPS = _READS_ANSWER | {"AbortMultipartUpload"}
# Calls that name an upload by its key and its id: the upload must be the key's (`is_of_its_key`).
_ON_AN_UPLOAD = frozenset(
    {"UploadPart", "UploadPartCopy", "CompleteMultipartUpload", "AbortMultipartUpload", "ListParts"}
)
NO_UPLOAD = (
    "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
    "aborted or completed."
)


class NoSuchUpload(AwsError):
    """S3's answer to a call on an upload that is not one of the key it names (404)."""

    code, status, sender_fault = "NoSuchUpload", 404, True


def refuse_another_keys_upload(operation: Operation, is_of: Callable[[str, str, str], bool | None]) -> None:
    """NoSuchUpload for a part, a completion, an abort or a parts list whose upload id is another key's
    upload (`is_of(bucket, key, upload_id)`, None when the backend cannot tell): it was decided on the key
    it names, while a backend that finds the upload by its id alone writes the upload's own key."""
    if operation.service != "s3" or operation.name not in _ON_AN_UPLOAD:
        return
    params = operation.params
    bucket, key, upload_id = params.get("Bucket"), params.get("Key"), params.get("UploadId")
    if not (isinstance(bucket, str) and isinstance(key, str) and isinstance(upload_id, str)):
        return
    if is_of(bucket, key, upload_id) is False:
        raise NoSuchUpload(NO_UPLOAD)


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
