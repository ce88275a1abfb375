"""What the gateway asks the S3 backend: an import source's objects and their encryption (listed page
by page, then each one's HeadObject), and a bucket's Block Public Access settings."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from ostiary.gateway import publicaccess
from ostiary.gateway.forwarding import Answer
from ostiary.gateway.lookups import BackendLookups
from ostiary.protocol import HttpRequest

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/k1"
NS = "http://s3.amazonaws.com/doc/2006-03-01/"


def _page(keys: list[str], token: str = "") -> bytes:
    contents = "".join(f"<Contents><Key>{k}</Key><Size>1</Size></Contents>" for k in keys)
    more = (
        f"<IsTruncated>true</IsTruncated><NextContinuationToken>{token}</NextContinuationToken>"
        if token
        else ""
    )
    return f'<ListBucketResult xmlns="{NS}"><Name>b</Name>{contents}{more}</ListBucketResult>'.encode()


class _Backend:
    """An S3 backend of three objects under `in/` over two list pages: one SSE-KMS, one SSE-S3, one
    SSE-KMS with a bucket key; and one bucket's Block Public Access settings."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, str]] = []
        self.settings = publicaccess.document(publicaccess.PublicAccessBlock(block_public_policy=True))

    def forward(self, url: str, request: HttpRequest, service: str, region: str) -> Answer:
        self.asked.append((request.method, request.path, request.query_string))
        query = parse_qs(request.query_string, keep_blank_values=True)
        if request.method == "GET" and "publicAccessBlock" in query:
            return Answer(200, (), self.settings)
        if request.method == "GET":
            assert query["prefix"] == ["in/"]
            if "continuation-token" not in query:
                return Answer(200, (), _page(["in/a.json", "in/b.json"], "t2"))
            assert query["continuation-token"] == ["t2"]
            return Answer(200, (), _page(["in/c.json"]))
        headers: dict[str, tuple[tuple[str, str], ...]] = {
            "/b/in/a.json": (
                ("x-amz-server-side-encryption", "aws:kms"),
                ("x-amz-server-side-encryption-aws-kms-key-id", KEY_ARN),
            ),
            "/b/in/b.json": (("x-amz-server-side-encryption", "AES256"),),
            "/b/in/c.json": (
                ("x-amz-server-side-encryption", "aws:kms"),
                ("x-amz-server-side-encryption-bucket-key-enabled", "true"),
            ),
        }
        return Answer(200, headers[request.path], b"")


def _lookups(backend: Any) -> BackendLookups:
    return BackendLookups(backend, lambda service: "http://backend" if service == "s3" else None)


def test_an_import_sources_sse_kms_objects_are_listed_page_by_page_and_headed() -> None:
    backend = _Backend()
    found = _lookups(backend).prefix_encryption("us-east-1", "b", "in/")
    assert found == (("in/a.json", "aws:kms", KEY_ARN, False), ("in/c.json", "aws:kms", None, True))
    assert [method for method, _, _ in backend.asked] == ["GET", "GET", "HEAD", "HEAD", "HEAD"]


def test_a_buckets_settings_are_kept_until_they_change_here() -> None:
    backend = _Backend()
    lookups = _lookups(backend)
    assert lookups.public_access_block("us-east-1", "b").block_public_policy
    lookups.public_access_block("us-east-1", "b")
    assert len(backend.asked) == 1  # kept
    backend.settings = publicaccess.document(publicaccess.NONE)
    lookups.forget_public_access_block("b")
    assert lookups.public_access_block("us-east-1", "b") == publicaccess.NONE
