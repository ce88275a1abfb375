"""S3 policies that restrict by object ARN or condition key, attacked through the gateway: a part, a
completion, an abort or a parts list named by one key cannot act on another key's multipart upload
(a backend that finds an upload by its id alone would write the upload's own key, decided on neither);
no spelling of `x-amz-copy-source` escapes a condition on `s3:x-amz-copy-source`; the `x-amz-*` headers
a presigned URL names in its query string (which S3 applies) are decided as headers.

Requests go through a real `ostiary serve` whose gateway forwards to moto's server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.conftest import Server, start_server, stop_server
from tests.integration.gateway_helpers import backend_client, moto_backend, refused
from tests.integration.test_gateway_abuse import (
    REGION,
    ROOT,
    Creds,
    _bucket,
    _client,
    _code,
    _send,
    _signed,
    _user,
)


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from moto_backend(tmp_path_factory)


@pytest.fixture(scope="module")
def gateway(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("ostiary-s3-conditions")
    server = start_server(
        data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite", f"--backend=s3={backend}"
    )
    yield server
    stop_server(server)


NO_UPLOAD = (
    "NoSuchUpload",
    "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
    "aborted or completed.",
    404,
)


def _denied_secret(gateway: Server) -> tuple[str, Creds]:
    """A bucket of the default account, and a user of it allowed all of S3 but writing, aborting or
    listing the parts of anything under `secret/`."""
    bucket = _bucket(gateway, ROOT)
    actions = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
    _, creds = _user(
        gateway,
        [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": actions, "Resource": f"arn:aws:s3:::{bucket}/secret/*"},
        ],
    )
    return bucket, creds


def _secret_upload(gateway: Server, bucket: str) -> tuple[str, str]:
    """An upload of `secret/x` the bucket's owner began, with its first part: (upload id, ETag)."""
    root = _client(gateway, "s3")
    upload = str(root.create_multipart_upload(Bucket=bucket, Key="secret/x")["UploadId"])
    part = root.upload_part(Bucket=bucket, Key="secret/x", UploadId=upload, PartNumber=1, Body=b"owner's")
    return upload, str(part["ETag"])


def test_a_part_named_by_an_allowed_key_cannot_go_into_a_denied_keys_upload(
    gateway: Server, backend: str
) -> None:
    bucket, creds = _denied_secret(gateway)
    upload, _ = _secret_upload(gateway, bucket)
    s3 = _client(gateway, "s3", creds)
    call: dict[str, Any] = {"Bucket": bucket, "Key": "ok/y", "UploadId": upload}
    assert refused(s3.upload_part, **call, PartNumber=1, Body=b"forged") == NO_UPLOAD
    s3.put_object(Bucket=bucket, Key="ok/source", Body=b"forged")
    copied = {"CopySource": f"{bucket}/ok/source", "PartNumber": 1}
    assert refused(s3.upload_part_copy, **call, **copied) == NO_UPLOAD
    assert refused(s3.list_parts, **call) == NO_UPLOAD
    parts = backend_client(backend, "s3").list_parts(Bucket=bucket, Key="secret/x", UploadId=upload)
    assert [p["Size"] for p in parts["Parts"]] == [len(b"owner's")]


def test_a_denied_keys_upload_cannot_be_completed_or_aborted_under_an_allowed_key(
    gateway: Server, backend: str
) -> None:
    bucket, creds = _denied_secret(gateway)
    upload, etag = _secret_upload(gateway, bucket)
    s3 = _client(gateway, "s3", creds)
    call: dict[str, Any] = {"Bucket": bucket, "Key": "ok/y", "UploadId": upload}
    parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
    assert refused(s3.complete_multipart_upload, **call, MultipartUpload=parts) == NO_UPLOAD
    assert refused(s3.abort_multipart_upload, **call) == NO_UPLOAD
    listed = backend_client(backend, "s3").list_multipart_uploads(Bucket=bucket)
    assert [(u["Key"], u["UploadId"]) for u in listed["Uploads"]] == [("secret/x", upload)]


def test_an_upload_goes_on_under_its_own_key(gateway: Server, backend: str) -> None:
    bucket, creds = _denied_secret(gateway)
    s3 = _client(gateway, "s3", creds)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="ok/z")["UploadId"]
    call: dict[str, Any] = {"Bucket": bucket, "Key": "ok/z", "UploadId": upload}
    etag = s3.upload_part(**call, PartNumber=1, Body=b"mine")["ETag"]
    assert [p["PartNumber"] for p in s3.list_parts(**call)["Parts"]] == [1]
    s3.complete_multipart_upload(**call, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    got = backend_client(backend, "s3").get_object(Bucket=bucket, Key="ok/z")["Body"].read()
    assert got == b"mine"
    assert refused(s3.abort_multipart_upload, Bucket=bucket, Key="ok/z", UploadId="nope")[0] == "NoSuchUpload"


@pytest.mark.parametrize(
    "spelling",
    [
        "{bucket}/secret/x",
        "/{bucket}/secret/x",
        "{bucket}/%73ecret/x",
        "{bucket}/secret%2Fx",
        "{bucket}%2Fsecret%2Fx",
        "%2F{bucket}%2Fsecret%2Fx",
        "{bucket}/secret/x?versionId=null",
    ],
)
def test_no_spelling_of_a_copy_source_escapes_a_copy_source_condition(
    gateway: Server, backend: str, spelling: str
) -> None:
    bucket = _bucket(gateway, ROOT)
    _client(gateway, "s3").put_object(Bucket=bucket, Key="secret/x", Body=b"secret")
    condition = {"StringLike": {"s3:x-amz-copy-source": f"{bucket}/secret/*"}}
    _, creds = _user(
        gateway,
        [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*", "Condition": condition},
        ],
    )
    target = f"/{bucket}/copy"
    source = {"x-amz-copy-source": spelling.format(bucket=bucket)}
    status, body = _send(gateway, "PUT", target, _signed(gateway, "PUT", target, creds, headers=source))
    assert (status, _code(body)) == (403, "AccessDenied")
    assert refused(backend_client(backend, "s3").head_object, Bucket=bucket, Key="copy")[2] == 404


def test_a_copy_source_condition_still_allows_its_own_prefix(gateway: Server, backend: str) -> None:
    bucket = _bucket(gateway, ROOT)
    _client(gateway, "s3").put_object(Bucket=bucket, Key="public/a b", Body=b"shared")
    condition = {"StringLike": {"s3:x-amz-copy-source": f"{bucket}/public/*"}}
    statements = [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*", "Condition": condition},
    ]
    _, creds = _user(gateway, statements)
    s3 = _client(gateway, "s3", creds)
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "public/a b"})
    got = backend_client(backend, "s3").get_object(Bucket=bucket, Key="copy")["Body"].read()
    assert got == b"shared"


def _presigned_put(gateway: Server, creds: Creds, target: str) -> tuple[int, bytes]:
    """PUT to a URL botocore presigns for `target` (its query kept, signed with the rest)."""
    netloc = urlsplit(gateway.endpoint).netloc
    request = AWSRequest(method="PUT", url=gateway.endpoint + target, headers={"Host": netloc})
    credentials = Credentials(creds["AccessKeyId"], creds["SecretAccessKey"])
    S3SigV4QueryAuth(credentials, "s3", REGION, expires=300).add_auth(request)
    return _send(gateway, "PUT", request.url[len(gateway.endpoint) :], [("Host", netloc)], b"data")


@pytest.mark.parametrize("name", ["x-amz-acl", "X-Amz-Acl"])
def test_an_acl_in_a_presigned_urls_query_is_decided_as_the_header_s3_applies(
    gateway: Server, backend: str, name: str
) -> None:
    bucket = _bucket(gateway, ROOT)
    condition = {"StringEquals": {"s3:x-amz-acl": "public-read"}}
    _, creds = _user(
        gateway,
        [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*", "Condition": condition},
        ],
    )
    status, body = _presigned_put(gateway, creds, f"/{bucket}/public?{name}=public-read")
    assert (status, _code(body)) == (403, "AccessDenied")
    assert refused(backend_client(backend, "s3").head_object, Bucket=bucket, Key="public")[2] == 404
    assert _presigned_put(gateway, creds, f"/{bucket}/private?x-amz-acl=private")[0] == 200


def test_tags_in_a_presigned_urls_query_need_put_object_tagging(gateway: Server, backend: str) -> None:
    bucket = _bucket(gateway, ROOT)
    _, creds = _user(gateway, [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}])
    status, body = _presigned_put(gateway, creds, f"/{bucket}/tagged?x-amz-tagging=owner%3Dme")
    assert (status, _code(body)) == (403, "AccessDenied")
    assert refused(backend_client(backend, "s3").head_object, Bucket=bucket, Key="tagged")[2] == 404
