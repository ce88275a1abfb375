"""Facts only the backend knows, asked of it with the backend's credentials and kept briefly: a table's
key schema (for `dynamodb:LeadingKeys`) and the key an alias points to (for KMS key ARNs).

A lookup that fails (no such table or alias, backend down) is None: the permission is then asked on
what the request said (every key value a leading key; the alias's own ARN), never on more.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from ostiary.gateway import kmsaliases, objectownership, publicaccess
from ostiary.gateway.forwarding import Answer, BackendUnavailable, Forwarder
from ostiary.gateway.publicaccess import PublicAccessBlock
from ostiary.protocol import HttpRequest

TTL_SECONDS = 10.0
NEGATIVE_TTL_SECONDS = 1.0  # "no such table" is kept only briefly: the table may be created next
MAX_ENTRIES = 4096
MAX_LISTED_OBJECTS = 1000  # the objects of an import's source whose encryption is asked (one page)
MAX_UPLOAD_PAGES = 10  # pages of uploads under one key read to find an upload id
ACCOUNT_RETRY_SECONDS = 30.0  # a backend that could not tell its account is asked again after this
_CALLER_ACCOUNT = re.compile(rb"<Account>\s*(\d{12})\s*</Account>")
StoredObject = tuple[str, str, str | None, bool]  # (object key, algorithm, KMS key id, bucket key)


class _Cache:
    """Values by key for `TTL_SECONDS` (None, an unknown thing, for `NEGATIVE_TTL_SECONDS`), at most
    `MAX_ENTRIES` (all dropped when full)."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, ...], tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...], compute: Callable[[], Any]) -> Any:
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and now - hit[0] < (TTL_SECONDS if hit[1] is not None else NEGATIVE_TTL_SECONDS):
            return hit[1]
        value = compute()
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (now, value)
        return value

    def peek(self, key: tuple[str, ...]) -> Any:
        """The value kept for `key` while it is fresh, else None: never computed."""
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and time.monotonic() - hit[0] < TTL_SECONDS:
            return hit[1]
        return None

    def drop(self, key: tuple[str, ...]) -> None:
        """Forget one value (it changed through this process)."""
        with self._lock:
            self._entries.pop(key, None)


class BackendLookups:
    """Key schemas and alias targets, read from the backends of DynamoDB and KMS."""

    def __init__(
        self, forwarder: Forwarder, url_for: Callable[[str], str | None], backend_account: str | None = None
    ) -> None:
        self._forwarder = forwarder
        self._url_for = url_for
        self._cache = _Cache()
        self._backend_account = backend_account  # configured, else learned once
        self._account_asked = -ACCOUNT_RETRY_SECONDS

    def backend_account(self, service: str, region: str) -> str | None:
        """The account the backend of `service` writes into its ARNs: configured, else asked once of the
        backend's STS (GetCallerIdentity with the backend's credentials); None while it cannot tell
        (asked again after `ACCOUNT_RETRY_SECONDS`)."""
        if self._backend_account is not None:
            return self._backend_account
        if time.monotonic() - self._account_asked < ACCOUNT_RETRY_SECONDS:
            return None
        answer = self._post(
            service,
            "sts",
            region,
            (("content-type", "application/x-www-form-urlencoded; charset=utf-8"),),
            b"Action=GetCallerIdentity&Version=2011-06-15",
        )
        found = _CALLER_ACCOUNT.search(answer.body) if answer is not None and answer.status == 200 else None
        if found is None:
            self._account_asked = time.monotonic()
            return None
        self._backend_account = found[1].decode()
        return self._backend_account

    def key_schema(self, region: str, table: str, index: str | None) -> tuple[str, ...] | None:
        """(partition key, sort key) of a table or one of its indexes, or None when unknown."""
        key = ("schema", region, table, index or "")
        found: tuple[str, ...] | None = self._cache.get(key, lambda: self._schema(region, table, index))
        return found

    def known_key_schema(self, region: str, table: str) -> tuple[str, ...] | None:
        """A table's (partition key, sort key) when it is kept (a decision looked it up a moment ago),
        else None: the backend is not asked."""
        found: tuple[str, ...] | None = self._cache.peek(("schema", region, table, ""))
        return found

    def resolve_alias(self, region: str, account: str, alias: str) -> str | None:
        """The ARN of the key `account`'s alias `alias/x` points to, or None (`kmsaliases`: the backend
        knows it by its owner's name)."""
        backend = kmsaliases.backend_alias(account, alias)
        found: str | None = self._cache.get(("alias", region, backend), lambda: self._alias(region, backend))
        return found

    def forget_alias(self, region: str, account: str, alias: str) -> None:
        """The alias was made, pointed elsewhere or deleted: look it up afresh next time."""
        self._cache.drop(("alias", region, kmsaliases.backend_alias(account, alias)))

    def key_policy(self, region: str, key_arn: str) -> str | None:
        """The key policy of a key (its `default` policy, as the backend holds it), or None."""
        found: str | None = self._cache.get(
            ("policy", region, key_arn), lambda: self._policy(region, key_arn)
        )
        return found

    def bucket_encryption(self, region: str, bucket: str) -> tuple[str, str | None] | None:
        """A bucket's default encryption (SSE algorithm, KMS key id or None), None when it has none or
        the backend cannot tell (GetBucketEncryption, kept briefly)."""
        found: tuple[str, str | None] | None = self._cache.get(
            ("encryption", region, bucket), lambda: self._encryption(region, bucket)
        )
        return found

    def _encryption(self, region: str, bucket: str) -> tuple[str, str | None] | None:
        answer = self._s3(region, "GET", "/" + quote(bucket, safe=""), "encryption=")
        if answer is None or answer.status != 200 or len(answer.body) > 64 * 1024:
            return None
        found = default_encryption(answer.body)
        return (found[0], kmsaliases.from_backend(found[1], region)) if found is not None else None

    def forget_bucket_encryption(self, region: str, bucket: str) -> None:
        """The bucket's default encryption changed: read it afresh next time."""
        self._cache.drop(("encryption", region, bucket))

    def object_encryption(
        self, region: str, bucket: str, key: str, version: str | None
    ) -> tuple[str, str | None] | None:
        """How a stored object is encrypted (SSE algorithm, KMS key id or None), None when it is not or
        the backend cannot tell (HeadObject; never kept: the next upload may change it)."""
        path = f"/{quote(bucket, safe='')}/{quote(key, safe='/~')}"
        answer = self._s3(region, "HEAD", path, f"versionId={quote(version, safe='')}" if version else "")
        if answer is None or answer.status != 200:
            return None
        headers = dict(answer.headers)
        algorithm = headers.get("x-amz-server-side-encryption")
        if algorithm is None:
            return None
        key_id = headers.get("x-amz-server-side-encryption-aws-kms-key-id") or None
        return algorithm, kmsaliases.from_backend(key_id, region)

    def prefix_encryption(self, region: str, bucket: str, prefix: str) -> tuple[StoredObject, ...]:
        """How each object under a prefix is encrypted, for the SSE-KMS ones: (object key, algorithm, KMS
        key id or None, S3 Bucket Key enabled). The first `MAX_LISTED_OBJECTS` objects the backend lists
        (ListObjectsV2, then HeadObject each; never kept: the next upload may change it); () when the
        backend cannot tell."""
        found: list[StoredObject] = []
        for key in self._listed(region, bucket, prefix):
            path = f"/{quote(bucket, safe='')}/{quote(key, safe='/~')}"
            answer = self._s3(region, "HEAD", path, "")
            if answer is None or answer.status != 200:
                continue
            headers = {k.lower(): v for k, v in answer.headers}
            algorithm = headers.get("x-amz-server-side-encryption", "")
            if algorithm.startswith("aws:kms"):
                key_id = kmsaliases.from_backend(
                    headers.get("x-amz-server-side-encryption-aws-kms-key-id") or None, region
                )
                bucket_key = headers.get("x-amz-server-side-encryption-bucket-key-enabled", "") == "true"
                found.append((key, algorithm, key_id, bucket_key))
        return tuple(found)

    def _listed(self, region: str, bucket: str, prefix: str) -> list[str]:
        """The keys under `prefix`, at most `MAX_LISTED_OBJECTS`, as the backend lists them."""
        keys: list[str] = []
        token = ""
        while len(keys) < MAX_LISTED_OBJECTS:
            query = f"list-type=2&prefix={quote(prefix, safe='')}"
            query += f"&continuation-token={quote(token, safe='')}" if token else ""
            answer = self._s3(region, "GET", "/" + quote(bucket, safe=""), query)
            if answer is None or answer.status != 200:
                break
            page, token = listed_keys(answer.body)
            keys.extend(page)
            if not token:
                break
        return keys[:MAX_LISTED_OBJECTS]

    def upload_is_of(self, region: str, bucket: str, key: str, upload_id: str) -> bool | None:
        """Whether a multipart upload of the backend's is one of `key` (ListMultipartUploads under the key
        as its prefix), None when the backend cannot tell. A backend that reads the upload from its id
        alone (moto) would otherwise let a part, a completion or an abort named by one key act on another
        key's upload. Only a match is kept: an upload's key never changes."""
        found = ("upload", bucket, key, upload_id)
        if self._cache.get(found, lambda: None) is True:
            return True
        markers = ""
        for _ in range(MAX_UPLOAD_PAGES):
            query = f"uploads=&prefix={quote(key, safe='')}{markers}"
            answer = self._s3(region, "GET", "/" + quote(bucket, safe=""), query)
            if answer is None or answer.status != 200:
                return None
            listed, next_key, next_id = listed_uploads(answer.body)
            if (key, upload_id) in listed:
                self._cache.drop(found)
                self._cache.get(found, lambda: True)
                return True
            if not next_key and not next_id:
                return False
            markers = f"&key-marker={quote(next_key, safe='')}&upload-id-marker={quote(next_id, safe='')}"
        return None

    def public_access_block(self, region: str, bucket: str) -> PublicAccessBlock:
        """A bucket's Block Public Access settings as the backend keeps them (GetPublicAccessBlock, kept
        briefly and dropped when they change through this process); none on when it has none."""
        found: PublicAccessBlock = self._cache.get(
            ("public-access", bucket), lambda: self._public_access_block(region, bucket)
        )
        return found

    def _public_access_block(self, region: str, bucket: str) -> PublicAccessBlock:
        answer = self._s3(region, "GET", "/" + quote(bucket, safe=""), "publicAccessBlock=")
        if answer is None:
            raise BackendUnavailable("the backend did not answer a GetPublicAccessBlock")
        if answer.status != 200:
            return publicaccess.NONE  # NoSuchPublicAccessBlockConfiguration
        return publicaccess.parse(answer.body) or publicaccess.NONE

    def forget_public_access_block(self, bucket: str) -> None:
        """The bucket's settings changed (or the bucket came or went): read them afresh next time."""
        self._cache.drop(("public-access", bucket))

    def block_public_access(self, region: str, bucket: str) -> bool:
        """Turn all four settings on for a bucket the backend keeps none for (S3's default for a new
        bucket); whether they were put."""
        self.forget_public_access_block(bucket)
        path = "/" + quote(bucket, safe="")
        held = self._s3(region, "GET", path, "publicAccessBlock=")
        if held is None or held.status == 200:
            return False
        all_on = publicaccess.document(publicaccess.ALL_ON)
        answer = self._s3(region, "PUT", path, "publicAccessBlock=", all_on)
        return answer is not None and answer.status == 200

    def object_ownership(self, region: str, bucket: str) -> str | None:
        """A bucket's ObjectOwnership as the backend keeps it (GetBucketOwnershipControls, kept briefly
        and dropped when it changes through this process); None when it has none (ACLs enabled)."""
        found: str = self._cache.get(("ownership", bucket), lambda: self._object_ownership(region, bucket))
        return found or None

    def _object_ownership(self, region: str, bucket: str) -> str:
        answer = self._s3(region, "GET", "/" + quote(bucket, safe=""), "ownershipControls=")
        if answer is None:
            raise BackendUnavailable("the backend did not answer a GetBucketOwnershipControls")
        if answer.status != 200:
            return ""  # OwnershipControlsNotFoundError: kept as long as a setting ("" is not None)
        return objectownership.parse(answer.body) or ""

    def forget_object_ownership(self, bucket: str) -> None:
        """The bucket's setting changed (or the bucket came or went): read it afresh next time."""
        self._cache.drop(("ownership", bucket))

    def bucket_acl(self, region: str, bucket: str) -> bytes | None:
        """A bucket's GetBucketAcl document as the backend answers it (never kept), None when it cannot
        tell."""
        answer = self._s3(region, "GET", "/" + quote(bucket, safe=""), "acl=")
        return answer.body if answer is not None and answer.status == 200 else None

    def bucket_exists(self, region: str, bucket: str) -> bool | None:
        """Whether the S3 backend has a bucket (HeadBucket, never kept), None when it cannot tell."""
        answer = self._s3(region, "HEAD", "/" + quote(bucket, safe=""), "")
        if answer is None:
            return None
        status = answer.status
        return True if status in (200, 301, 403) else False if status == 404 else None

    def _s3(self, region: str, method: str, path: str, query_string: str, body: bytes = b"") -> Answer | None:
        """The S3 backend's answer to a request, None when there is no S3 backend or it is down."""
        headers: tuple[tuple[str, str], ...] = (("x-amz-content-sha256", hashlib.sha256(body).hexdigest()),)
        if body:
            digest = base64.b64encode(hashlib.md5(body).digest()).decode()  # noqa: S324 - S3's Content-MD5
            headers += (("content-md5", digest), ("content-type", "application/xml"))
        return self._send("s3", "s3", region, HttpRequest(method, path, query_string, headers, body))

    def _policy(self, region: str, key_arn: str) -> str | None:
        params = {"KeyId": key_arn, "PolicyName": "default"}
        found = self._call("kms", region, "TrentService.GetKeyPolicy", params, "1.1")
        policy = found.get("Policy") if isinstance(found, dict) else None
        return policy if isinstance(policy, str) else None

    def _schema(self, region: str, table: str, index: str | None) -> tuple[str, ...] | None:
        found = self._call("dynamodb", region, "DynamoDB_20120810.DescribeTable", {"TableName": table}, "1.0")
        described = found.get("Table") if isinstance(found, dict) else None
        if not isinstance(described, dict):
            return None
        schema = described.get("KeySchema")
        if index is not None:
            indexes = (described.get("GlobalSecondaryIndexes") or []) + (
                described.get("LocalSecondaryIndexes") or []
            )
            schema = next((i.get("KeySchema") for i in indexes if i.get("IndexName") == index), None)
        return key_names(schema)

    def list_page(self, region: str, operation: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The backend's page of a DynamoDB list (ListTables, ListGlobalTables) asked with `params`;
        None when it did not answer. Never kept: a list changes."""
        found = self._call("dynamodb", region, f"DynamoDB_20120810.{operation}", params, "1.0")
        return found if isinstance(found, dict) else None

    def _alias(self, region: str, alias: str) -> str | None:
        found = self._call("kms", region, "TrentService.DescribeKey", {"KeyId": alias}, "1.1")
        metadata = found.get("KeyMetadata") if isinstance(found, dict) else None
        arn = metadata.get("Arn") if isinstance(metadata, dict) else None
        return arn if isinstance(arn, str) else None

    def _call(self, service: str, region: str, target: str, params: dict[str, Any], version: str) -> Any:
        headers = (("x-amz-target", target), ("content-type", f"application/x-amz-json-{version}"))
        answer = self._post(service, service, region, headers, json.dumps(params).encode())
        try:
            return json.loads(answer.body) if answer is not None and answer.status == 200 else None
        except ValueError:
            return None

    def _post(
        self, backend_of: str, service: str, region: str, headers: tuple[tuple[str, str], ...], body: bytes
    ) -> Answer | None:
        """The answer to a POST to `/` of the backend of `backend_of`, signed for `service` (`_send`)."""
        return self._send(backend_of, service, region, HttpRequest("POST", "/", "", headers, body))

    def _send(self, backend_of: str, service: str, region: str, request: HttpRequest) -> Answer | None:
        """The backend of `backend_of`'s answer to `request`, signed for `service`; None when there is no
        such backend or it cannot be reached."""
        url = self._url_for(backend_of)
        if url is None:
            return None
        try:
            return self._forwarder.forward(url, request, service, region)
        except BackendUnavailable:
            return None


def default_encryption(document: bytes) -> tuple[str, str | None] | None:
    """(SSEAlgorithm, KMSMasterKeyID or None) of a ServerSideEncryptionConfiguration's first rule."""
    try:
        root = ElementTree.fromstring(document)
    except ElementTree.ParseError:
        return None
    algorithm = key = None
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "SSEAlgorithm" and algorithm is None:
            algorithm = (element.text or "").strip()
        elif tag == "KMSMasterKeyID" and key is None:
            key = (element.text or "").strip() or None
    return (algorithm, key) if algorithm else None


def listed_keys(document: bytes) -> tuple[list[str], str]:
    """The object keys of a ListObjectsV2 answer, and its NextContinuationToken ('' when it is the last)."""
    try:
        root = ElementTree.fromstring(document)
    except ElementTree.ParseError:
        return [], ""
    keys: list[str] = []
    token = ""
    for element in root:
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "Contents":
            key = next((c.text for c in element if c.tag.rsplit("}", 1)[-1] == "Key"), None)
            if key:
                keys.append(key)
        elif tag == "NextContinuationToken":
            token = (element.text or "").strip()
    return keys, token


def listed_uploads(document: bytes) -> tuple[set[tuple[str, str]], str, str]:
    """The (key, upload id) of a ListMultipartUploads answer, and its next key and upload id markers
    ('' when it is the last page)."""
    try:
        root = ElementTree.fromstring(document)
    except ElementTree.ParseError:
        return set(), "", ""
    found: set[tuple[str, str]] = set()
    texts = {"IsTruncated": "", "NextKeyMarker": "", "NextUploadIdMarker": ""}
    for element in root:
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "Upload":
            named = {c.tag.rsplit("}", 1)[-1]: c.text or "" for c in element}
            found.add((named.get("Key", ""), named.get("UploadId", "")))
        elif tag in texts:
            texts[tag] = (element.text or "").strip()
    if texts["IsTruncated"].lower() != "true":
        return found, "", ""
    return found, texts["NextKeyMarker"], texts["NextUploadIdMarker"]


def key_names(schema: Any) -> tuple[str, ...] | None:
    """(partition key, sort key) names of a DynamoDB KeySchema, or None when it has no partition key."""
    if not isinstance(schema, list):
        return None
    order = {"HASH": 0, "RANGE": 1}
    keys = sorted(
        (k for k in schema if isinstance(k, dict) and k.get("KeyType") in order),
        key=lambda k: order[k["KeyType"]],
    )
    names = tuple(str(k.get("AttributeName")) for k in keys)
    return names if names and keys[0]["KeyType"] == "HASH" else None
