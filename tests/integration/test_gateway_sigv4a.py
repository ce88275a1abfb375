"""SigV4a (`AWS4-ECDSA-P256-SHA256`) through the gateway: S3 requests signed by AWS's common runtime
(awscrt, what botocore signs SigV4a with), and aws-chunked uploads whose chunk and trailer signatures are
ECDSA signatures (`STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD` and `...-PAYLOAD-TRAILER`). A tampered
chunk, chunk signature or trailer never reaches the backend.

No SDK in Python sends SigV4a's signed chunks (botocore sends a SigV4a request's body hashed or
unsigned, and awscrt's Python binding signs requests but not chunks), so the request here is signed by
awscrt as an SDK would, and its chunks by a signer written in this file: ECDSA P-256 over the string to
sign of AWS's common runtime's own tests (`AWS4-ECDSA-P256-SHA256-PAYLOAD`, the date, the regionless
scope, the previous signature without its `*` padding, the empty string's SHA-256, the chunk's SHA-256),
padded with `*` to 144 characters as the common runtime pads them, with the key derived as the common
runtime derives it (checked against its published key in tests/unit/auth/test_sigv4a.py).
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import uuid
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from awscrt import auth as crt_auth
from awscrt import http as crt_http
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from ostiary.auth import sigv4a
from tests.integration.gateway_helpers import backend_client, moto_backend
from tests.integration.gateway_helpers import refusal as _refusal
from tests.integration.test_gateway_ownership import Harness, running_harness

pytest.importorskip(
    "moto.server", reason="moto's server is the gateway's test backend (pip install moto[server])"
)

REGION = "us-east-1"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
PAYLOAD = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"
PAYLOAD_TRAILER = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"
SIGNATURE_WIDTH = 144
MISMATCH = (
    "SignatureDoesNotMatch",
    "The request signature we calculated does not match the signature you provided. Check your key and "
    "signing method.",
    403,
)


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    for backend in moto_backend(tmp_path_factory):  # one backend, stopped once the harness is done
        yield from running_harness(backend, tmp_path_factory)


@pytest.fixture(scope="module")
def bucket(harness: Harness) -> str:
    name = f"v4a-{uuid.uuid4().hex[:12]}"
    harness.client("s3").create_bucket(Bucket=name)
    return name


def _keys(harness: Harness) -> tuple[str, str]:
    return harness.server.access_key_id, harness.server.secret_access_key


def _v4a_client(harness: Harness, secret: str | None = None) -> Any:
    """boto3's S3 client signing with SigV4a (botocore's `s3v4a`, signed by awscrt)."""
    key_id, own_secret = _keys(harness)
    return boto3.client(
        "s3",
        endpoint_url=harness.server.endpoint,
        region_name=REGION,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret or own_secret,
        config=Config(
            signature_version="s3v4a", retries={"max_attempts": 1}, s3={"addressing_style": "path"}
        ),
    )


def _backend_object(harness: Harness, bucket: str, key: str) -> bytes | None:
    try:
        return bytes(backend_client(harness.backend, "s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError:
        return None


# -- requests signed by awscrt through boto3 ---------------------------------------------------


def test_an_sdk_signing_with_sigv4a_is_served(harness: Harness, bucket: str) -> None:
    s3 = _v4a_client(harness)
    seen: list[bytes] = []
    s3.meta.events.register(
        "before-send.s3.*", lambda request, **_: seen.append(request.headers["Authorization"])
    )
    s3.put_object(Bucket=bucket, Key="hello.txt", Body=b"hello, sigv4a")
    assert s3.get_object(Bucket=bucket, Key="hello.txt")["Body"].read() == b"hello, sigv4a"
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]].count(bucket) == 1
    assert len(seen) == 3 and all(header.startswith(b"AWS4-ECDSA-P256-SHA256 ") for header in seen)
    assert _backend_object(harness, bucket, "hello.txt") == b"hello, sigv4a"


def test_a_sigv4a_request_signed_with_another_secret_is_refused(harness: Harness, bucket: str) -> None:
    s3 = _v4a_client(harness, secret="not-the-secret-" + "x" * 25)
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=bucket, Key="forged.txt", Body=b"x")
    assert _refusal(refused.value) == MISMATCH
    assert _backend_object(harness, bucket, "forged.txt") is None


# -- aws-chunked bodies with ECDSA chunk signatures ----------------------------------------------


def _padded(signature: str) -> str:
    return signature + "*" * (SIGNATURE_WIDTH - len(signature))


class _ChunkSigner:
    """Signs a SigV4a request's chunks and trailer as AWS's common runtime does."""

    def __init__(self, key_id: str, secret: str, amz_date: str, seed: str) -> None:
        number = int.from_bytes(sigv4a.private_key(key_id, secret), "big")
        self.key = ec.derive_private_key(number, ec.SECP256R1())
        self.prefix = f"{amz_date}\n{amz_date[:8]}/s3/aws4_request\n"
        self.previous = seed.rstrip("*")

    def chunk(self, data: bytes) -> str:
        text = f"AWS4-ECDSA-P256-SHA256-PAYLOAD\n{self.prefix}{self.previous}\n{EMPTY_SHA256}\n"
        return self._sign(text + hashlib.sha256(data).hexdigest())

    def trailer(self, canonical: bytes) -> str:
        text = f"AWS4-ECDSA-P256-SHA256-TRAILER\n{self.prefix}{self.previous}\n"
        return self._sign(text + hashlib.sha256(canonical).hexdigest())

    def _sign(self, text: str) -> str:
        signature = self.key.sign(text.encode(), ec.ECDSA(hashes.SHA256())).hex()
        self.previous = signature
        return _padded(signature)


def _encoded_length(sizes: list[int], trailer: bytes | None) -> int:
    """The aws-chunked body's length: every signature padded to the same width makes it known before
    anything is signed, as the common runtime does."""
    line = len(";chunk-signature=") + SIGNATURE_WIDTH + 2
    length = sum(len(f"{size:x}") + line + size + 2 for size in sizes) + len("0") + line
    if trailer is None:
        return length + 2
    return length + len(trailer) + 2 + len("x-amz-trailer-signature:") + SIGNATURE_WIDTH + 2 + 2


def _signed_head(
    harness: Harness, path: str, mode: str, sizes: list[int], trailer: bytes | None
) -> tuple[list[tuple[str, str]], str]:
    """The request's headers, signed by awscrt with SigV4a, and its signature (the chain's seed)."""
    key_id, secret = _keys(harness)
    host = urlsplit(harness.server.endpoint).netloc
    headers = [
        ("host", host),
        ("content-encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", str(sum(sizes))),
        ("content-length", str(_encoded_length(sizes, trailer))),
    ]
    if trailer is not None:
        headers.append(("x-amz-trailer", trailer.split(b":")[0].decode()))
    request = crt_http.HttpRequest("PUT", path, crt_http.HttpHeaders(headers))
    config = crt_auth.AwsSigningConfig(
        algorithm=crt_auth.AwsSigningAlgorithm.V4_ASYMMETRIC,
        signature_type=crt_auth.AwsSignatureType.HTTP_REQUEST_HEADERS,
        credentials_provider=crt_auth.AwsCredentialsProvider.new_static(key_id, secret),
        region=REGION,
        service="s3",
        date=datetime.now(UTC),
        signed_body_value=mode,
        signed_body_header_type=crt_auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256,
        use_double_uri_encode=False,
        should_normalize_uri_path=False,
    )
    signed = crt_auth.aws_sign_request(request, config).result(timeout=10)
    out = [(name, value) for name, value in signed.headers]
    authorization = dict((n.lower(), v) for n, v in out)["authorization"]
    assert authorization.startswith("AWS4-ECDSA-P256-SHA256 Credential=")
    return out, authorization.rsplit("Signature=", 1)[1]


def _chunked_put(
    harness: Harness,
    bucket: str,
    key: str,
    chunks: list[bytes],
    *,
    trailer: bytes | None = None,
    tamper: Any = None,
) -> tuple[int, bytes]:
    """PUT an object as an aws-chunked body with ECDSA chunk signatures; `tamper(body_parts)` may
    change the encoded parts (a list of `[line, data]` pairs and the trailer) before they are sent."""
    path = f"/{bucket}/{key}"
    mode = PAYLOAD if trailer is None else PAYLOAD_TRAILER
    headers, seed = _signed_head(harness, path, mode, [len(c) for c in chunks], trailer)
    amz_date = dict((n.lower(), v) for n, v in headers)["x-amz-date"]
    signer = _ChunkSigner(*_keys(harness), amz_date, seed)
    parts: list[list[bytes]] = []
    for data in [*chunks, b""]:
        signature = signer.chunk(data)
        parts.append(
            [f"{len(data):x};chunk-signature={signature}\r\n".encode(), data + b"\r\n" if data else b""]
        )
    tail = b"\r\n"
    if trailer is not None:
        signature = signer.trailer(trailer + b"\n")
        tail = trailer + b"\r\n" + f"x-amz-trailer-signature:{signature}\r\n".encode() + b"\r\n"
    if tamper is not None:
        tail = tamper(parts, tail)
    body = b"".join(b"".join(part) for part in parts) + tail
    return _send(harness, path, headers, body)


def _send(harness: Harness, path: str, headers: list[tuple[str, str]], body: bytes) -> tuple[int, bytes]:
    endpoint = urlsplit(harness.server.endpoint)
    connection = http.client.HTTPConnection(endpoint.hostname or "", endpoint.port, timeout=30)
    try:
        connection.request("PUT", path, body=body, headers=dict(headers))
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


CHUNKS = [b"a" * 65536, b"b" * 8192, b"c" * 1000]


def test_ecdsa_signed_chunks_are_verified_and_the_object_lands(harness: Harness, bucket: str) -> None:
    status, answer = _chunked_put(harness, bucket, "chunked.bin", CHUNKS)
    assert status == 200, answer
    assert _backend_object(harness, bucket, "chunked.bin") == b"".join(CHUNKS)


def test_ecdsa_signed_chunks_with_a_signed_trailer_land(harness: Harness, bucket: str) -> None:
    checksum = base64.b64encode(zlib.crc32(b"".join(CHUNKS)).to_bytes(4, "big")).decode()
    trailer = f"x-amz-checksum-crc32:{checksum}".encode()
    status, answer = _chunked_put(harness, bucket, "trailed.bin", CHUNKS, trailer=trailer)
    assert status == 200, answer
    assert _backend_object(harness, bucket, "trailed.bin") == b"".join(CHUNKS)


def _flip_data(parts: list[list[bytes]], tail: bytes) -> bytes:
    data = bytearray(parts[1][1])
    data[10] ^= 0x01
    parts[1][1] = bytes(data)
    return tail


def _swap_signatures(parts: list[list[bytes]], tail: bytes) -> bytes:
    """Chunk 2 carries chunk 1's signature (valid DER, a real signature of the same key)."""
    first = parts[0][0].split(b"=", 1)[1]
    parts[1][0] = parts[1][0].split(b"=", 1)[0] + b"=" + first
    return tail


def _unpadded_garbage(parts: list[list[bytes]], tail: bytes) -> bytes:
    parts[0][0] = parts[0][0].split(b";", 1)[0] + b";chunk-signature=" + b"zz" * 72 + b"\r\n"
    return tail


def _drop_last_chunk_signature(parts: list[list[bytes]], tail: bytes) -> bytes:
    parts[-1][0] = b"0\r\n"
    return tail


@pytest.mark.parametrize(
    "tamper", [_flip_data, _swap_signatures, _unpadded_garbage, _drop_last_chunk_signature]
)
def test_a_tampered_chunk_or_chunk_signature_never_reaches_the_backend(
    harness: Harness, bucket: str, tamper: Any
) -> None:
    key = f"tampered-{tamper.__name__}.bin"
    status, answer = _chunked_put(harness, bucket, key, CHUNKS, tamper=tamper)
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in answer, answer
    assert _backend_object(harness, bucket, key) is None


def _changed_checksum(parts: list[list[bytes]], tail: bytes) -> bytes:
    name, _, rest = tail.partition(b":")
    value, _, more = rest.partition(b"\r\n")
    return name + b":" + base64.b64encode(b"\x00\x00\x00\x00") + b"\r\n" + more


def _trailer_signature_of_the_last_chunk(parts: list[list[bytes]], tail: bytes) -> bytes:
    last = parts[-1][0].split(b"=", 1)[1].rstrip(b"\r\n")
    head, _, _ = tail.partition(b"x-amz-trailer-signature:")
    return head + b"x-amz-trailer-signature:" + last + b"\r\n\r\n"


@pytest.mark.parametrize("tamper", [_changed_checksum, _trailer_signature_of_the_last_chunk])
def test_a_tampered_trailer_never_reaches_the_backend(harness: Harness, bucket: str, tamper: Any) -> None:
    data = b"".join(CHUNKS)
    checksum = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    key = f"trailer-{tamper.__name__}.bin"
    trailer = f"x-amz-checksum-crc32:{checksum}".encode()
    status, answer = _chunked_put(harness, bucket, key, CHUNKS, trailer=trailer, tamper=tamper)
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in answer, answer
    assert _backend_object(harness, bucket, key) is None


def test_chunks_signed_by_another_key_are_refused(harness: Harness, bucket: str) -> None:
    """A request signed with the caller's key whose chunks another key signed (the request's signature
    still seeds the chain)."""
    path = f"/{bucket}/other-key.bin"
    headers, seed = _signed_head(harness, path, PAYLOAD, [len(c) for c in CHUNKS], None)
    amz_date = dict((n.lower(), v) for n, v in headers)["x-amz-date"]
    stranger = _ChunkSigner(harness.server.access_key_id, "another secret", amz_date, seed)
    body = b""
    for data in [*CHUNKS, b""]:
        body += f"{len(data):x};chunk-signature={stranger.chunk(data)}\r\n".encode() + (
            data + b"\r\n" if data else b""
        )
    status, answer = _send(harness, path, headers, body + b"\r\n")
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in answer, answer
    assert _backend_object(harness, bucket, "other-key.bin") is None


def test_temporary_credentials_sign_sigv4a_too(harness: Harness, bucket: str) -> None:
    creds = harness.server.client("sts").get_session_token()["Credentials"]
    s3 = boto3.client(
        "s3",
        endpoint_url=harness.server.endpoint,
        region_name=REGION,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        config=Config(
            signature_version="s3v4a", retries={"max_attempts": 1}, s3={"addressing_style": "path"}
        ),
    )
    s3.put_object(Bucket=bucket, Key="session.txt", Body=b"from a session")
    assert _backend_object(harness, bucket, "session.txt") == b"from a session"


def test_sigv4a_for_another_service_is_an_unsupported_algorithm(harness: Harness) -> None:
    key_id, secret = _keys(harness)
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=harness.server.endpoint,
        region_name=REGION,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(signature_version="v4a", retries={"max_attempts": 1}),
    )
    with pytest.raises(ClientError) as refused:
        dynamodb.list_tables()
    assert _refusal(refused.value) == (
        "IncompleteSignatureException",
        "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256'",
        400,
    )
