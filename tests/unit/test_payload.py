"""S3 payloads verified as they stream: AWS's published chunked-upload example reproduced signature for
signature, botocore's own aws-chunked bodies (STREAMING-UNSIGNED-PAYLOAD-TRAILER), and every way an
attacker would bend a body. A payload that fails never gives up its last byte."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import zlib
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from botocore.httpchecksum import (
    AwsChunkedWrapper,
    Crc32Checksum,
    CrtCrc32cChecksum,
    CrtCrc64NvmeChecksum,
    Sha1Checksum,
    Sha256Checksum,
)

from ostiary.auth import checksums, sigv4
from ostiary.auth.payload import (
    MAX_CHUNK_BYTES,
    BadDigest,
    IncompleteBody,
    InvalidChunkSizeError,
    MalformedTrailerError,
    MissingContentLength,
    PayloadReader,
    S3NotImplemented,
    XAmzContentSHA256Mismatch,
    payload_reader,
)
from ostiary.errors import AwsError, SignatureDoesNotMatch
from ostiary.protocol import HttpRequest
from tests.unit.test_sigv4_s3 import (
    EXAMPLE_SECRET,
    EXAMPLE_SEED,
    S3,
    SECRET,
    _Captured,
    _client,
    _received,
    example_request,
)

KEY = sigv4._signing_key(EXAMPLE_SECRET, "20130524", "us-east-1", "s3")
SCOPE = "20130524/us-east-1/s3/aws4_request"
DATE = "20130524T000000Z"
EMPTY = hashlib.sha256(b"").hexdigest()
# AWS's "Transferring Payload in Multiple Chunks" example: its published chunk signatures.
EXAMPLE_SIGNATURES = (
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
)
EXAMPLE_PAYLOAD = b"a" * 66560


# -- building bodies as AWS documents them -----------------------------------------------------


def _sign(text: str) -> str:
    return hmac.digest(KEY, text.encode(), "sha256").hex()


def signed_body(
    data: bytes,
    chunk: int = 65536,
    seed: str = EXAMPLE_SEED,
    trailer: tuple[str, str] | None = None,
) -> tuple[bytes, list[str]]:
    """An aws-chunked body with chunk signatures chained from `seed`, and the signatures it carries."""
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)] + [b""]
    previous, wire, signatures = seed, bytearray(), []
    for piece in pieces:
        digest = hashlib.sha256(piece).hexdigest()
        previous = _sign(f"AWS4-HMAC-SHA256-PAYLOAD\n{DATE}\n{SCOPE}\n{previous}\n{EMPTY}\n{digest}")
        signatures.append(previous)
        wire += f"{len(piece):x};chunk-signature={previous}\r\n".encode() + piece
        wire += b"\r\n" if piece else b""
    if trailer is not None:
        line = f"{trailer[0]}:{trailer[1]}\n"
        digest = hashlib.sha256(line.encode()).hexdigest()
        signature = _sign(f"AWS4-HMAC-SHA256-TRAILER\n{DATE}\n{SCOPE}\n{previous}\n{digest}")
        wire += line.replace("\n", "\r\n").encode() + f"x-amz-trailer-signature:{signature}\r\n".encode()
    wire += b"\r\n"
    return bytes(wire), signatures


def unsigned_body(data: bytes, algorithm: str = "crc32", chunk: int = 65536) -> bytes:
    """botocore's own aws-chunked body with a trailing checksum."""
    checksum_cls = {
        "crc32": Crc32Checksum,
        "crc32c": CrtCrc32cChecksum,
        "crc64nvme": CrtCrc64NvmeChecksum,
        "sha1": Sha1Checksum,
        "sha256": Sha256Checksum,
    }[algorithm]
    wrapper = AwsChunkedWrapper(
        io.BytesIO(data),
        checksum_cls=checksum_cls,
        checksum_name=f"x-amz-checksum-{algorithm}",
        chunk_size=chunk,
    )
    return wrapper.read()


def request_with(**headers: str | None) -> HttpRequest:
    """The example's request with headers replaced (a value None removes one)."""
    base = dict(example_request().headers)
    for name, value in headers.items():
        base.pop(name.replace("_", "-"), None)
        if value is not None:
            base[name.replace("_", "-")] = value
    return HttpRequest("PUT", "/examplebucket/chunkObject.txt", "", tuple(base.items()), b"")


def unsigned_request(length: int, algorithm: str = "crc32") -> HttpRequest:
    return request_with(
        x_amz_content_sha256="STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        x_amz_decoded_content_length=str(length),
        x_amz_trailer=f"x-amz-checksum-{algorithm}",
        content_length=None,
        transfer_encoding="chunked",
    )


def reader_for(request: HttpRequest, key: bytes | None = KEY) -> PayloadReader:
    return payload_reader(request, sigv4.parse(request), key)


def stream(reader: PayloadReader, body: bytes, piece: int = 65536) -> tuple[bytes, dict[str, str]]:
    out = bytearray()
    for i in range(0, len(body), piece):
        out += reader.feed(body[i : i + piece])
    return bytes(out), reader.finish()


def refused(reader: PayloadReader, body: bytes, piece: int = 512) -> tuple[AwsError, bytes]:
    """The error a body draws and every byte forwarded before it (what the feed that raised had verified
    stays back too)."""
    out = bytearray()
    try:
        for i in range(0, len(body), piece):
            out += reader.feed(body[i : i + piece])
        reader.finish()
    except AwsError as exc:
        return exc, bytes(out)
    raise AssertionError("the body was accepted")


# -- AWS's published example -------------------------------------------------------------------


def test_aws_chunked_example_reproduces_the_published_chunk_signatures() -> None:
    body, signatures = signed_body(EXAMPLE_PAYLOAD)
    assert tuple(signatures) == EXAMPLE_SIGNATURES
    assert len(body) == 66824  # the example's Content-Length
    reader = reader_for(example_request())
    assert reader.decoded_length == 66560
    assert stream(reader, body) == (EXAMPLE_PAYLOAD, {})


@pytest.mark.parametrize("piece", [1, 7, 8192, 1 << 20])
def test_any_split_of_the_body_gives_the_same_answer(piece: int) -> None:
    body, _ = signed_body(EXAMPLE_PAYLOAD)
    assert stream(reader_for(example_request()), body, piece) == (EXAMPLE_PAYLOAD, {})


def test_a_chunk_comes_out_only_once_its_signature_verified() -> None:
    body, _ = signed_body(EXAMPLE_PAYLOAD)
    reader = reader_for(example_request())
    first_chunk_end = body.index(b"\r\n", body.index(b"\r\n") + 2 + 65536 - 2)
    assert (
        reader.feed(body[: first_chunk_end - 10]) == b""
    )  # the data is there, its signature is not checked yet
    assert reader.feed(body[first_chunk_end - 10 : first_chunk_end + 2]) == b"a" * 65536


# -- tampering with signed chunks --------------------------------------------------------------


def _flip(body: bytes, at: int) -> bytes:
    return body[:at] + bytes([body[at] ^ 1]) + body[at + 1 :]


def never_whole(forwarded: bytes, data: bytes) -> bool:
    """Whether what reached the backend is a true prefix of the payload: never all of it."""
    return data.startswith(forwarded) and len(forwarded) < len(data)


def test_a_flipped_byte_in_a_chunk_is_refused_and_that_chunk_never_forwarded() -> None:
    body, _ = signed_body(EXAMPLE_PAYLOAD)
    error, forwarded = refused(reader_for(example_request()), _flip(body, 66000))
    assert isinstance(error, SignatureDoesNotMatch) and error.status == 403
    assert forwarded == b"a" * 65536  # the first chunk verified; the second never left


def test_swapped_chunks_are_refused() -> None:
    data = b"x" * 65536 + b"y" * 65536
    body, _ = signed_body(data)
    first = body.index(b"\r\n", body.index(b"\r\n") + 2) + 2
    second = body.index(b"\r\n", body.index(b"\r\n", first) + 2) + 2
    swapped = body[first:second] + body[:first] + body[second:]
    error, forwarded = refused(reader_for(request_with(x_amz_decoded_content_length=str(len(data)))), swapped)
    assert isinstance(error, SignatureDoesNotMatch) and forwarded == b""


def test_a_chunk_signature_replayed_from_another_request_is_refused() -> None:
    other, _ = signed_body(EXAMPLE_PAYLOAD, seed="1" * 64)  # same data, another request's chain
    error, forwarded = refused(reader_for(example_request()), other)
    assert isinstance(error, SignatureDoesNotMatch) and forwarded == b""


def test_a_chunk_without_its_signature_is_refused() -> None:
    body = b"400\r\n" + b"a" * 1024 + b"\r\n0\r\n\r\n"
    error, _ = refused(reader_for(request_with(x_amz_decoded_content_length="1024")), body)
    assert isinstance(error, SignatureDoesNotMatch)


def test_a_truncated_body_is_incomplete_and_its_last_byte_never_leaves() -> None:
    body, _ = signed_body(EXAMPLE_PAYLOAD)
    error, forwarded = refused(reader_for(example_request()), body[:-10])
    assert isinstance(error, IncompleteBody) and error.status == 400
    assert len(forwarded) < 66560


def test_a_missing_final_chunk_is_incomplete_and_the_last_byte_is_held() -> None:
    body, _ = signed_body(EXAMPLE_PAYLOAD)
    without_final = body[: body.rindex(b"0;chunk-signature=")]
    error, forwarded = refused(reader_for(example_request()), without_final)
    assert isinstance(error, IncompleteBody)
    assert forwarded == EXAMPLE_PAYLOAD[:-1]


@pytest.mark.parametrize("declared", ["66559", "66561", "0"])
def test_a_decoded_length_that_lies_is_refused(declared: str) -> None:
    body, _ = signed_body(EXAMPLE_PAYLOAD)
    error, forwarded = refused(reader_for(request_with(x_amz_decoded_content_length=declared)), body)
    assert isinstance(error, IncompleteBody)
    assert len(forwarded) < int(declared) or forwarded == b""


@pytest.mark.parametrize("size_line", [b"10400", b"fc00"])
def test_a_chunk_size_that_lies_is_refused(size_line: bytes) -> None:
    body, _ = signed_body(EXAMPLE_PAYLOAD)
    lying = body.replace(b"10000;", size_line + b";", 1)
    error, _ = refused(reader_for(example_request()), lying)
    assert isinstance(error, (IncompleteBody, SignatureDoesNotMatch))


def test_data_after_the_end_is_refused() -> None:
    body, _ = signed_body(EXAMPLE_PAYLOAD)
    reader = reader_for(example_request())
    assert reader.feed(body) == EXAMPLE_PAYLOAD
    with pytest.raises(IncompleteBody):
        reader.feed(b"more")
    with pytest.raises(IncompleteBody):
        reader.finish()


@pytest.mark.parametrize(
    "size", [b"-400", b"zz", b"", b" 400", b"0x400", b"1" * 17, b"%x" % (MAX_CHUNK_BYTES + 1), b"1" * 5000]
)
def test_sizes_that_are_negative_not_hex_or_huge_are_refused(size: bytes) -> None:
    body = size + b";chunk-signature=" + b"0" * 64 + b"\r\n" + b"a" * 10
    error, forwarded = refused(reader_for(example_request()), body)
    assert isinstance(error, InvalidChunkSizeError) and forwarded == b""


def test_a_small_chunk_that_is_not_the_last_is_refused_as_s3_does() -> None:
    body, _ = signed_body(b"a" * 3000, chunk=1000)
    error, _ = refused(reader_for(request_with(x_amz_decoded_content_length="3000")), body)
    assert isinstance(error, InvalidChunkSizeError)
    assert error.message == "Only the last chunk is allowed to have a size less than 8192 bytes"


def test_an_error_sticks() -> None:
    body, _ = signed_body(EXAMPLE_PAYLOAD)
    reader = reader_for(example_request())
    with pytest.raises(SignatureDoesNotMatch):
        reader.feed(_flip(body, 100))
    with pytest.raises(SignatureDoesNotMatch):
        reader.feed(b"")
    with pytest.raises(SignatureDoesNotMatch):
        reader.finish()


# -- signed chunks with a signed trailer -------------------------------------------------------


def _crc32(data: bytes) -> str:
    return base64.b64encode((zlib.crc32(data) & 0xFFFFFFFF).to_bytes(4, "big")).decode()


def trailer_request(length: int = 66560) -> HttpRequest:
    return request_with(
        x_amz_content_sha256="STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        x_amz_trailer="x-amz-checksum-crc32",
        x_amz_decoded_content_length=str(length),
    )


def test_a_signed_trailer_verifies_and_its_checksum_is_returned() -> None:
    body, _ = signed_body(EXAMPLE_PAYLOAD, trailer=("x-amz-checksum-crc32", _crc32(EXAMPLE_PAYLOAD)))
    assert stream(reader_for(trailer_request()), body, 1000) == (
        EXAMPLE_PAYLOAD,
        {"x-amz-checksum-crc32": _crc32(EXAMPLE_PAYLOAD)},
    )


def test_a_signed_trailer_with_a_wrong_checksum_is_bad_digest_and_holds_the_last_byte() -> None:
    body, _ = signed_body(EXAMPLE_PAYLOAD, trailer=("x-amz-checksum-crc32", _crc32(b"other")))
    error, forwarded = refused(reader_for(trailer_request()), body)
    assert isinstance(error, BadDigest)
    assert error.message == "The CRC32 you specified did not match the calculated checksum."
    assert never_whole(forwarded, EXAMPLE_PAYLOAD)


def test_a_tampered_trailer_signature_is_refused() -> None:
    body, _ = signed_body(EXAMPLE_PAYLOAD, trailer=("x-amz-checksum-crc32", _crc32(EXAMPLE_PAYLOAD)))
    at = body.index(b"x-amz-trailer-signature:") + len(b"x-amz-trailer-signature:")
    tampered = body[:at] + (b"0" if body[at : at + 1] != b"0" else b"1") + body[at + 1 :]
    error, forwarded = refused(reader_for(trailer_request()), tampered)
    assert isinstance(error, SignatureDoesNotMatch) and never_whole(forwarded, EXAMPLE_PAYLOAD)


def test_a_signed_trailer_without_its_signature_is_refused() -> None:
    body, _ = signed_body(EXAMPLE_PAYLOAD, trailer=("x-amz-checksum-crc32", _crc32(EXAMPLE_PAYLOAD)))
    start = body.index(b"x-amz-trailer-signature:")
    stripped = body[:start] + body[body.index(b"\r\n", start) + 2 :]
    error, _ = refused(reader_for(trailer_request()), stripped)
    assert isinstance(error, SignatureDoesNotMatch)


# -- botocore's unsigned chunks with a trailing checksum ---------------------------------------


@pytest.mark.parametrize("size", [0, 5, 3 * 1024 * 1024 + 1])
def test_a_boto3_upload_over_tls_verifies_end_to_end(size: int) -> None:
    """What boto3 sends by default over https (STREAMING-UNSIGNED-PAYLOAD-TRAILER, CRC32): its signature
    verified, its aws-chunked body decoded and checked, the payload and its checksum out."""
    data = b"0123456789abcdef" * (size // 16) + b"!" * (size % 16)
    client = _client(scheme="https")
    try:
        client.put_object(Bucket="amzn-bucket", Key="dir/a b.bin", Body=data)
    except _Captured:
        pass
    sent = client.sent.pop()
    request = _received(sent.method, sent.url, sent.headers)
    signed = sigv4.parse(request)
    assert signed is not None
    key = sigv4.verify(request, signed, SECRET, datetime.now(UTC), S3)
    reader = payload_reader(request, signed, key)
    assert reader.decoded_length == size
    assert stream(reader, sent.body.read(), 65536) == (data, {"x-amz-checksum-crc32": _crc32(data)})


@pytest.mark.parametrize("algorithm", ["crc32", "crc32c", "crc64nvme", "sha1", "sha256"])
@pytest.mark.parametrize("size", [0, 1, 65536, 200_001])
def test_botocore_unsigned_trailer_bodies_verify(algorithm: str, size: int) -> None:
    data = bytes(range(256)) * (size // 256) + b"z" * (size % 256)
    body = unsigned_body(data, algorithm)
    trailers = {f"x-amz-checksum-{algorithm}": body.split(b"\r\n")[-3].split(b":")[1].decode()}
    assert stream(reader_for(unsigned_request(size, algorithm)), body, 999) == (data, trailers)


def test_a_wrong_trailing_checksum_is_bad_digest_and_nothing_complete_reaches_the_backend() -> None:
    data = b"q" * 100_000
    body = unsigned_body(data).replace(_crc32(data).encode(), _crc32(b"other").encode())
    error, forwarded = refused(reader_for(unsigned_request(len(data))), body)
    assert isinstance(error, BadDigest) and error.status == 400
    assert never_whole(forwarded, data)


def test_a_flipped_data_byte_under_a_trailing_checksum_is_bad_digest() -> None:
    data = b"q" * 100_000
    body = unsigned_body(data)
    error, forwarded = refused(reader_for(unsigned_request(len(data))), _flip(body, 5000))
    assert isinstance(error, BadDigest) and len(forwarded) < len(data)


@pytest.mark.parametrize(
    "edit",
    [
        lambda body: body.replace(b"x-amz-checksum-crc32:", b"x-amz-checksum-sha1:"),  # not the one declared
        lambda body: body[: body.rindex(b"x-amz-checksum-crc32:")] + b"\r\n",  # no trailer at all
        lambda body: body.replace(b"x-amz-checksum-crc32:", b"x-amz-checksum-crc32"),  # no colon
        lambda body: body.replace(b"\r\n\r\n", b"\r\nx-amz-trailer-signature:" + b"0" * 64 + b"\r\n\r\n"),
    ],
    ids=["other-trailer", "missing-trailer", "malformed-line", "signature-in-unsigned-mode"],
)
def test_a_trailer_that_is_not_the_declared_one_is_refused(edit: Callable[[bytes], bytes]) -> None:
    data = b"q" * 10
    error, forwarded = refused(reader_for(unsigned_request(len(data))), edit(unsigned_body(data)))
    assert isinstance(error, MalformedTrailerError) and never_whole(forwarded, data)


def test_a_trailing_checksum_that_is_not_text_is_bad_digest() -> None:
    body = unsigned_body(b"q" * 10).replace(_crc32(b"q" * 10).encode(), b"\xff\xfe==")
    error, _ = refused(reader_for(unsigned_request(10)), body)
    assert isinstance(error, BadDigest)


def test_an_endless_trailer_is_refused() -> None:
    body = b"0\r\n" + b"x-amz-checksum-crc32:" + b"A" * 10_000
    error, _ = refused(reader_for(unsigned_request(0)), body)
    assert isinstance(error, MalformedTrailerError)


def test_a_chunk_extension_in_an_unsigned_payload_is_refused() -> None:
    body = b"a;chunk-signature=" + b"0" * 64 + b"\r\n" + b"a" * 10 + b"\r\n0\r\n\r\n"
    error, _ = refused(reader_for(unsigned_request(10)), body)
    assert isinstance(error, InvalidChunkSizeError)


@pytest.mark.parametrize(
    ("algorithm", "check"),
    [("crc32", "cbf43926"), ("crc32c", "e3069283"), ("crc64nvme", "ae8b14860a799888")],
)
def test_the_crcs_give_their_catalogued_check_values(algorithm: str, check: str) -> None:
    running = checksums.new(algorithm)
    for piece in (b"1234", memoryview(b"56789")):  # fed in pieces, as a payload streams
        running.update(piece)
    assert base64.b64decode(running.b64digest()).hex() == check  # the CRC catalogue's "123456789"


@pytest.mark.parametrize("algorithm", ["crc32c", "crc64nvme"])
def test_a_wrong_crc32c_or_crc64nvme_is_bad_digest(algorithm: str) -> None:
    data = b"q" * 70_000
    body = unsigned_body(data, algorithm)
    sent = body.split(b"\r\n")[-3].split(b":")[1]
    other = unsigned_body(b"r" * 70_000, algorithm).split(b"\r\n")[-3].split(b":")[1]
    error, forwarded = refused(reader_for(unsigned_request(len(data), algorithm)), body.replace(sent, other))
    assert isinstance(error, BadDigest) and algorithm.upper() in error.message
    assert never_whole(forwarded, data)


def test_an_unknown_trailer_is_refused() -> None:
    with pytest.raises(sigv4.InvalidRequest, match="x-amz-trailer header is not supported"):
        reader_for(
            request_with(x_amz_content_sha256="STREAMING-UNSIGNED-PAYLOAD-TRAILER", x_amz_trailer="x-md5")
        )


def test_aws_chunked_without_its_decoded_length_is_refused() -> None:
    with pytest.raises(MissingContentLength) as refusal:
        reader_for(request_with(x_amz_decoded_content_length=None))
    assert refusal.value.status == 411


@pytest.mark.parametrize(
    "mode", ["STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"]
)
def test_ecdsa_chunks_of_an_hmac_signed_request_are_refused_never_passed_unverified(mode: str) -> None:
    """SigV4a's chunk signatures seeded by a SigV4 request: nothing could verify them."""
    with pytest.raises(S3NotImplemented):
        reader_for(request_with(x_amz_content_sha256=mode))


# -- plain bodies ------------------------------------------------------------------------------


def plain_request(body: bytes, declared: str | None) -> HttpRequest:
    return request_with(
        x_amz_content_sha256=declared,
        content_length=str(len(body)),
        content_encoding=None,
        x_amz_decoded_content_length=None,
    )


def test_a_signed_hash_is_checked_before_the_last_byte_goes_out() -> None:
    body = b"0123456789" * 1000
    reader = reader_for(plain_request(body, hashlib.sha256(body).hexdigest().upper()))
    assert reader.decoded_length == len(body)
    assert stream(reader, body, 333) == (body, {})
    wrong = reader_for(plain_request(body, hashlib.sha256(b"other").hexdigest()))
    assert wrong.feed(body[:-1]) == body[:-1]
    with pytest.raises(XAmzContentSHA256Mismatch, match="does not match what was computed"):
        wrong.feed(body[-1:])


def test_an_empty_body_with_a_wrong_hash_is_refused_before_any_byte() -> None:
    with pytest.raises(XAmzContentSHA256Mismatch):
        reader_for(plain_request(b"", hashlib.sha256(b"x").hexdigest()))
    assert stream(reader_for(plain_request(b"", hashlib.sha256(b"").hexdigest())), b"") == (b"", {})


def test_a_short_or_long_plain_body_is_incomplete() -> None:
    body = b"x" * 100
    short = reader_for(plain_request(body, "UNSIGNED-PAYLOAD"))
    short.feed(body[:50])
    with pytest.raises(IncompleteBody, match="^You did not provide the number of bytes specified"):
        short.finish()
    with pytest.raises(IncompleteBody):
        reader_for(plain_request(body, "UNSIGNED-PAYLOAD")).feed(body + b"!")


def test_anonymous_requests_take_plain_and_unsigned_trailer_bodies_only() -> None:
    anonymous = HttpRequest("PUT", "/b/k", "", (("host", "h"), ("content-length", "3")), b"")
    assert stream(payload_reader(anonymous, None, None), b"abc") == (b"abc", {})
    data = b"d" * 20
    assert stream(payload_reader(unsigned_request(len(data)), None, None), unsigned_body(data))[0] == data
    with pytest.raises(sigv4.InvalidRequest, match="^Anonymous requests don't support"):
        payload_reader(example_request(), None, None)
    with pytest.raises(sigv4.InvalidArgument):
        payload_reader(request_with(x_amz_content_sha256="nope"), None, None)


def test_permissive_mode_decodes_signed_chunks_it_cannot_verify() -> None:
    body, _ = signed_body(EXAMPLE_PAYLOAD, seed="1" * 64)
    assert stream(reader_for(example_request(), key=None), body) == (EXAMPLE_PAYLOAD, {})


# -- the headers the backend gets --------------------------------------------------------------


def test_forward_headers_drop_the_framing_and_set_the_decoded_length() -> None:
    request = request_with(
        x_amz_content_sha256="STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        x_amz_trailer="x-amz-checksum-crc32",
        content_encoding="gzip,aws-chunked",
        content_length=None,
        transfer_encoding="chunked",
        x_amz_sdk_checksum_algorithm="CRC32",
    )
    forwarded = dict(reader_for(request).forward_headers(request.headers))
    assert forwarded["content-encoding"] == "gzip"
    assert forwarded["content-length"] == "66560"
    assert forwarded["x-amz-storage-class"] == "REDUCED_REDUNDANCY"
    for gone in (
        "x-amz-trailer",
        "x-amz-decoded-content-length",
        "transfer-encoding",
        "x-amz-content-sha256",
    ):
        assert gone not in forwarded
    assert "x-amz-sdk-checksum-algorithm" not in forwarded  # its checksum stayed here
    only_chunked = dict(reader_for(example_request()).forward_headers(example_request().headers))
    assert "content-encoding" not in only_chunked and only_chunked["content-length"] == "66560"


def test_forward_headers_of_a_plain_body_keep_its_length() -> None:
    request = plain_request(b"abc", "UNSIGNED-PAYLOAD")
    forwarded = dict(reader_for(request).forward_headers(request.headers))
    assert forwarded["content-length"] == "3" and "x-amz-content-sha256" not in forwarded
