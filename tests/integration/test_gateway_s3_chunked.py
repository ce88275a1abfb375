"""aws-chunked uploads through the gateway, as the SDKs that send them do: chunks signed one after the
other from the request's own signature, and unsigned chunks with a trailing checksum. A body that fails
never lands in the backend, however far it got."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.httpchecksum import Crc32Checksum, CrtCrc32cChecksum, CrtCrc64NvmeChecksum

from tests.conftest import ROOT_KEY, ROOT_SECRET, Server, start_server, stop_server
from tests.integration.gateway_helpers import backend_client, moto_backend

pytest.importorskip("moto.server", reason="moto's server is the gateway's test backend")

SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
CHUNK = 64 * 1024
_EMPTY = hashlib.sha256(b"").hexdigest()


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from moto_backend(tmp_path_factory)


@pytest.fixture(scope="module")
def gateway(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("ostiary-s3-chunked")
    server = start_server(
        data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite", "--backend", f"s3={backend}"
    )
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def bucket(gateway: Server) -> str:
    name = f"chunked-{uuid.uuid4().hex[:12]}"
    gateway.client("s3").create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="module")
def direct(backend: str) -> Any:
    """An S3 client of the backend itself, to see what really landed there."""
    return backend_client(backend, "s3")


def _key(date: str) -> bytes:
    key = f"AWS4{ROOT_SECRET}".encode()
    for part in (date, "us-east-1", "s3", "aws4_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    return key


def _head(url: str, mode: str, length: int, extra: dict[str, str]) -> AWSRequest:
    headers = {"Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": str(length), **extra}
    request = AWSRequest("PUT", url, data=b"", headers=headers)

    class _Streaming(S3SigV4Auth):  # type: ignore[misc]
        def payload(self, request: AWSRequest) -> str:
            return mode

    _Streaming(Credentials(ROOT_KEY, ROOT_SECRET), "s3", "us-east-1").add_auth(request)
    return request


def signed_upload(url: str, data: bytes, chunk: int = CHUNK) -> tuple[AWSRequest, list[bytes]]:
    """A STREAMING-AWS4-HMAC-SHA256-PAYLOAD request and its chunks, each signed after the one before."""
    request = _head(url, SIGNED, len(data), {})
    stamp = request.headers["X-Amz-Date"]
    scope = f"{stamp[:8]}/us-east-1/s3/aws4_request"
    previous = request.headers["Authorization"].rsplit("Signature=", 1)[1]
    key = _key(stamp[:8])
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)] + [b""]
    chunks = []
    for piece in pieces:
        to_sign = "\n".join(
            ("AWS4-HMAC-SHA256-PAYLOAD", stamp, scope, previous, _EMPTY, hashlib.sha256(piece).hexdigest())
        )
        previous = hmac.digest(key, to_sign.encode(), "sha256").hex()
        chunks.append(b"%x;chunk-signature=%s\r\n%s\r\n" % (len(piece), previous.encode(), piece))
    return request, chunks


def trailer_upload(
    url: str, data: bytes, checksum: str | None = None, algorithm: str = "crc32"
) -> tuple[AWSRequest, list[bytes]]:
    """What boto3 sends over https by default: unsigned chunks, then a CRC32 trailer (or the trailer of
    `algorithm`, as botocore computes it: CRC32C and CRC64NVME with awscrt)."""
    name = f"x-amz-checksum-{algorithm}"
    request = _head(url, UNSIGNED_TRAILER, len(data), {"X-Amz-Trailer": name})
    if checksum is None:
        running = {"crc32": Crc32Checksum, "crc32c": CrtCrc32cChecksum, "crc64nvme": CrtCrc64NvmeChecksum}
        digest = running[algorithm]()
        digest.update(data)
        checksum = digest.b64digest()
    chunks = [
        b"%x\r\n%s\r\n" % (len(data[i : i + CHUNK]), data[i : i + CHUNK]) for i in range(0, len(data), CHUNK)
    ]
    chunks.append(b"0\r\n%s:%s\r\n\r\n" % (name.encode(), checksum.encode()))
    return request, chunks


def _send(request: AWSRequest, chunks: list[bytes]) -> urllib3.BaseHTTPResponse:
    body = b"".join(chunks)
    headers = dict(request.headers.items())
    headers["Content-Length"] = str(len(body))
    return urllib3.request("PUT", request.url, body=body, headers=headers, retries=False)


def _absent(direct: Any, bucket: str, key: str) -> bool:
    try:
        direct.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        return error.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    return False


@pytest.mark.parametrize("size", [10, 300 * 1024, 3 * 1024 * 1024])  # checked whole, and as it streams
def test_signed_chunks_land_whole(gateway: Server, bucket: str, direct: Any, size: int) -> None:
    data = hashlib.sha256(b"%d" % size).digest() * (size // 32) + b"x" * (size % 32)
    key = f"signed-{size}"
    answer = _send(*signed_upload(f"{gateway.endpoint}/{bucket}/{key}", data))
    assert answer.status == 200, answer.data
    assert direct.get_object(Bucket=bucket, Key=key)["Body"].read() == data


@pytest.mark.parametrize("size", [300 * 1024, 3 * 1024 * 1024])
def test_a_tampered_chunk_never_lands(gateway: Server, bucket: str, direct: Any, size: int) -> None:
    key = f"tampered-{size}"
    request, chunks = signed_upload(f"{gateway.endpoint}/{bucket}/{key}", b"a" * size)
    last_data = chunks[-2]
    chunks[-2] = last_data[:-3] + b"b" + last_data[-2:]  # one byte of the last chunk's data
    answer = _send(request, chunks)
    assert answer.status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in answer.data
    assert _absent(direct, bucket, key)


def test_chunks_of_another_request_do_not_verify(gateway: Server, bucket: str, direct: Any) -> None:
    data = b"c" * (200 * 1024)
    request, _ = signed_upload(f"{gateway.endpoint}/{bucket}/replayed", data)
    _, others = signed_upload(f"{gateway.endpoint}/{bucket}/other", data)
    answer = _send(request, others)
    assert answer.status == 403
    assert _absent(direct, bucket, "replayed")


def test_a_trailing_checksum_is_checked(gateway: Server, bucket: str, direct: Any) -> None:
    data = b"t" * (2 * 1024 * 1024)
    assert _send(*trailer_upload(f"{gateway.endpoint}/{bucket}/trailer", data)).status == 200
    assert direct.get_object(Bucket=bucket, Key="trailer")["Body"].read() == data
    wrong = base64.b64encode(b"\0\0\0\0").decode()
    answer = _send(*trailer_upload(f"{gateway.endpoint}/{bucket}/bad-trailer", data, wrong))
    assert answer.status == 400 and b"<Code>BadDigest</Code>" in answer.data
    assert _absent(direct, bucket, "bad-trailer")


@pytest.mark.parametrize("algorithm", ["crc32c", "crc64nvme"])
def test_crc32c_and_crc64nvme_trailers_are_checked(
    gateway: Server, bucket: str, direct: Any, algorithm: str
) -> None:
    data = b"c" * (1024 * 1024 + 17)
    assert (
        _send(*trailer_upload(f"{gateway.endpoint}/{bucket}/{algorithm}", data, None, algorithm)).status
        == 200
    )
    assert direct.get_object(Bucket=bucket, Key=algorithm)["Body"].read() == data
    wrong = trailer_upload("http://x/y/z", b"other", None, algorithm)[1][-1].split(b":")[1].split(b"\r")[0]
    answer = _send(
        *trailer_upload(f"{gateway.endpoint}/{bucket}/bad-{algorithm}", data, wrong.decode(), algorithm)
    )
    assert answer.status == 400 and b"<Code>BadDigest</Code>" in answer.data
    assert _absent(direct, bucket, f"bad-{algorithm}")


def test_a_truncated_chunked_body_never_lands(gateway: Server, bucket: str, direct: Any) -> None:
    request, chunks = signed_upload(f"{gateway.endpoint}/{bucket}/truncated", b"d" * (3 * 1024 * 1024))
    answer = _send(request, chunks[:-1])  # no final chunk
    assert answer.status == 400
    assert _absent(direct, bucket, "truncated")
