"""How each S3 multipart upload made through the gateway with SSE-KMS is encrypted, by bucket and upload
id: the key S3 must decrypt the upload's parts with, which UploadPart and UploadPartCopy do not name.

A row is written when CreateMultipartUpload succeeds (before its answer, and the upload id in it, reach
the caller) and dropped when the upload is completed or aborted. An upload that has no row was made
without SSE-KMS, or not through the gateway: nothing is known of its key.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Column, Connection, DateTime, String, Table, delete, select

from ostiary.store.db import Database
from ostiary.store.tables import metadata

MAX_KEPT = 4096  # uploads whose encryption a process keeps (an upload's encryption never changes)

gateway_uploads = Table(
    "gateway_uploads",
    metadata,
    Column("bucket", String(255), primary_key=True),
    Column("upload_id", String(512), primary_key=True),
    Column("algorithm", String(32), nullable=False),  # aws:kms or aws:kms:dsse
    Column("kms_key_id", String(2048)),  # as S3 answered it (a key ARN); NULL: S3's managed key
    Column("bucket_key", Boolean, nullable=False),  # an S3 Bucket Key: the context names the bucket
    Column("created_at", DateTime(timezone=True), nullable=False),
)
_t = gateway_uploads

Encryption = tuple[str, str | None, bool]  # (algorithm, KMS key id or None, bucket key enabled)

_kept: dict[tuple[str, str, str], Encryption | None] = {}
_lock = threading.Lock()


def record(conn: Connection, bucket: str, upload_id: str, encryption: Encryption, now: datetime) -> None:
    """The upload was created with this encryption."""
    algorithm, key_id, bucket_key = encryption
    conn.execute(delete(_t).where(_key(bucket, upload_id)))
    conn.execute(
        _t.insert().values(
            bucket=bucket,
            upload_id=upload_id,
            algorithm=algorithm,
            kms_key_id=key_id,
            bucket_key=bucket_key,
            created_at=now,
        )
    )


def forget(conn: Connection, bucket: str, upload_id: str) -> None:
    """The upload was completed or aborted."""
    conn.execute(delete(_t).where(_key(bucket, upload_id)))


def find(conn: Connection, bucket: str, upload_id: str) -> Encryption | None:
    """How the upload is encrypted, None when it has no row."""
    row = conn.execute(
        select(_t.c.algorithm, _t.c.kms_key_id, _t.c.bucket_key).where(_key(bucket, upload_id))
    ).first()
    if row is None:
        return None
    return str(row.algorithm), (str(row.kms_key_id) if row.kms_key_id else None), bool(row.bucket_key)


def kept_find(db: Database, bucket: str, upload_id: str) -> Encryption | None:
    """`find`, kept by this process: the row is written before the caller learns the upload id, and an
    upload's encryption never changes (a completed upload's kept row only decides requests S3 refuses
    with NoSuchUpload)."""
    key = (db.url, bucket, upload_id)
    with _lock:
        if key in _kept:
            return _kept[key]
    with db.read() as conn:
        found = find(conn, bucket, upload_id)
    with _lock:
        if len(_kept) >= MAX_KEPT:
            _kept.clear()
        _kept[key] = found
    return found


def _key(bucket: str, upload_id: str) -> Any:
    return (_t.c.bucket == bucket) & (_t.c.upload_id == upload_id)
