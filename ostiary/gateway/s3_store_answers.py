"""S3 calls the gateway answers from its own store, which the backend never sees: S3 Control's calls on
an account's Block Public Access settings (`publicaccess`), and GetBucketPolicyStatus, judged from the
stored bucket policy.
"""

from __future__ import annotations

from datetime import datetime

from ostiary.auth.caller import Caller
from ostiary.errors import AccessDenied
from ostiary.gateway import bucketpolicies, publicaccess
from ostiary.gateway.forwarding import Answer
from ostiary.gateway.lookups import BackendLookups
from ostiary.gateway.multidelete import MALFORMED_XML, MalformedXML
from ostiary.gateway.operations import Operation
from ostiary.store import public_access, resources
from ostiary.store.db import Database


def account_settings(
    db: Database, operation: Operation, caller: Caller | None, body: bytes | None, now: datetime
) -> Answer:
    """S3 Control's calls on an account's own Block Public Access settings, answered from the store
    (the backend's namespace is every account's): AccessDenied for another account's."""
    account = operation.params.get("AccountId")
    if caller is None or account != caller.account_id:
        raise AccessDenied("Access Denied")
    if operation.name == "PutPublicAccessBlock":
        settings = publicaccess.parse(body or b"")
        if settings is None:
            raise MalformedXML(MALFORMED_XML)
        with db.transaction() as conn:
            public_access.put(conn, account, publicaccess.as_tuple(settings), now)
        return Answer(200, (), b"")
    if operation.name == "GetPublicAccessBlock":
        with db.read() as conn:
            found = public_access.find(conn, account)
        if found is None:
            raise publicaccess.NoSuchPublicAccessBlockConfiguration(publicaccess.NO_CONFIGURATION)
        document = publicaccess.document(publicaccess.PublicAccessBlock(*found))
        return Answer(200, (("content-type", "application/xml"),), document)
    if operation.name == "DeletePublicAccessBlock":
        with db.transaction() as conn:
            public_access.remove(conn, account)
        return Answer(204, (), b"")
    raise publicaccess.NotImplementedHere(
        f"the gateway serves S3 Control's account Block Public Access calls only, not {operation.name}"
    )


def policy_status(db: Database, lookups: BackendLookups, operation: Operation, region: str) -> Answer:
    """GetBucketPolicyStatus from the stored policy (the backend never sees it): IsPublic as
    `policy.public` judges it; NoSuchBucketPolicy (NoSuchBucket) as S3 answers."""
    bucket = str(operation.params.get("Bucket", ""))
    with db.read() as conn:
        found = resources.find(conn, "s3", resources.GLOBAL_REGION, bucket)
    if found is None and lookups.bucket_exists(region, bucket) is not True:
        raise bucketpolicies.NoSuchBucket(bucketpolicies.NO_BUCKET)
    text = found[1] if found is not None else None
    if text is None:
        raise bucketpolicies.NoSuchBucketPolicy(bucketpolicies.NO_POLICY)
    return Answer(200, (("content-type", "application/xml"),), publicaccess.policy_status(text))
