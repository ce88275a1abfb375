"""An S3 request's payload, verified as it streams to the backend, in bounded memory.

`payload_reader` reads the mode from `x-amz-content-sha256` (signed, so a client cannot be made to change
it): a hex SHA-256 (hashed as it passes), `UNSIGNED-PAYLOAD`, or one of the `aws-chunked` encodings, whose
framing is decoded here and whose chunk signatures (chained from the request's own signature) and
trailing checksums are checked. The gateway feeds the client's body through `PayloadReader.feed` and
forwards what it returns: a byte comes out only once the part it belongs to verified, and the LAST byte of
the payload only once everything verified (hash, every chunk signature, the trailer, its signature, its
checksum, the decoded length). As the backend is told the decoded length, it cannot take an object whose
payload failed: the gateway aborts the backend request on the first error and its last byte never left.
Two cases have no last byte to hold: an empty payload (`decoded_length` 0: an empty plain body is checked
by `payload_reader` itself; an aws-chunked one only by `finish`, so read and finish it before sending) and
an unknown length (`decoded_length` None: end the backend's body only after `finish`).

Memory per reader is one chunk at most (`MAX_CHUNK_BYTES`) plus a line; no per-byte Python loop runs.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from ostiary.auth import checksums, sigv4a
from ostiary.auth.sigv4 import (
    PAYLOAD_KEYWORDS,
    S3_MISMATCH,
    UNSIGNED_PAYLOAD,
    InvalidRequest,
    SignedRequest,
    check_payload_hash,
    is_payload_hash,
    s3_payload_hash,
)
from ostiary.errors import AwsError, SignatureDoesNotMatch
from ostiary.protocol import HttpRequest

MAX_CHUNK_BYTES = 16 * 1024 * 1024  # the largest chunk held while its signature is checked
MAX_LINE_BYTES = 4096  # a chunk-size line (hex size and chunk-signature) or one trailer line
MAX_TRAILER_BYTES = 16 * 1024  # every trailer line together
MIN_CHUNK_BYTES = 8192  # S3's least size of a chunk that is not the last one

SIGNED_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
SIGNED_PAYLOAD_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
UNSIGNED_PAYLOAD_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
ECDSA_PAYLOAD = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"
ECDSA_PAYLOAD_TRAILER = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"
_ECDSA_PREFIX = ECDSA_PAYLOAD
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_TRAILER_SIGNATURE = "x-amz-trailer-signature"
_SIGNATURE_PREFIX = b"chunk-signature="
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
_FRAMING_HEADERS = frozenset(
    {
        "x-amz-decoded-content-length",
        "x-amz-trailer",
        "x-amz-content-sha256",
        "content-length",
        "transfer-encoding",
    }
)

# S3's texts.
_SHA256_MISMATCH = "The provided 'x-amz-content-sha256' header does not match what was computed."
_INCOMPLETE = "You did not provide the number of bytes specified by the Content-Length HTTP header"
_SMALL_CHUNK = "Only the last chunk is allowed to have a size less than 8192 bytes"
_MALFORMED_TRAILER = (
    "The request contained trailing data that was not well-formed or did not conform to our published schema."
)
_TRAILER_NOT_SUPPORTED = "The value specified in the x-amz-trailer header is not supported"
_ANONYMOUS_STREAMING = (
    "Anonymous requests don't support this x-amz-content-sha256 value. Please use UNSIGNED-PAYLOAD or "
    "STREAMING-UNSIGNED-PAYLOAD-TRAILER."
)
_NOT_IMPLEMENTED = "A header you provided implies functionality that is not implemented."


# -- S3's errors for payloads (ostiary/errors.py holds IAM's and STS's) --------------------------


class XAmzContentSHA256Mismatch(AwsError):
    """The body's SHA-256 is not the `x-amz-content-sha256` the request was signed with."""

    code, status, sender_fault = "XAmzContentSHA256Mismatch", 400, True


class IncompleteBody(AwsError):
    """The body ended before (or ran past) the length the request declared."""

    code, status, sender_fault = "IncompleteBody", 400, True


class BadDigest(AwsError):
    """A trailing `x-amz-checksum-*` is not the payload's."""

    code, status, sender_fault = "BadDigest", 400, True


class InvalidChunkSizeError(AwsError):
    """An aws-chunked chunk whose size line is malformed, too large, or small but not the last."""

    code, status, sender_fault = "InvalidChunkSizeError", 400, True


class MalformedTrailerError(AwsError):
    """The trailer of an aws-chunked body is malformed, missing, or not the one `x-amz-trailer` named."""

    code, status, sender_fault = "MalformedTrailerError", 400, True


class MissingContentLength(AwsError):
    """An aws-chunked body without `x-amz-decoded-content-length`."""

    code, status, sender_fault = "MissingContentLength", 411, True


class S3NotImplemented(AwsError):
    """A payload this gateway cannot verify (chunks signed with another algorithm than their request):
    refused, never passed on unverified."""

    code, status = "NotImplemented", 501


# -- the interface -----------------------------------------------------------------------------


class PayloadReader:
    """One request's payload on its way to the backend: `feed` it the client's body, then `finish`."""

    decoded_length: int | None  # bytes the backend will receive; None when unknown (no Content-Length)

    def forward_headers(self, headers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """The request's headers as the backend must get them: `x-amz-content-sha256` dropped (the
        forwarder signs its own) and, for aws-chunked, the framing headers removed and Content-Length set to
        the decoded length; everything else unchanged."""
        return [(name, value) for name, value in headers if name.lower() != "x-amz-content-sha256"]

    def feed(self, data: bytes) -> bytes:
        """The payload bytes verified so far and safe to forward; raises an AwsError at the first bad byte.
        The payload's last byte comes out only once everything verified."""
        raise NotImplementedError

    def finish(self) -> dict[str, str]:
        """Called at the end of the client's body: raises an AwsError when the payload is incomplete or did
        not verify; returns the verified trailing checksums by header name."""
        raise NotImplementedError


def payload_reader(
    request: HttpRequest, signed: SignedRequest | None, signing_key: bytes | None
) -> PayloadReader:
    """The reader of `request`'s payload, by the mode its `x-amz-content-sha256` declares.

    `signed` is None for an anonymous request, which may send only a plain body (or UNSIGNED-PAYLOAD,
    STREAMING-UNSIGNED-PAYLOAD-TRAILER). `signing_key` is what `sigv4.verify` returned; None when nothing
    was verified (permissive mode's unknown keys), and then chunk signatures are decoded but, like the
    request's own, not checked. Raises S3's error for a value S3 does not take, before any body is read.
    An empty plain body is checked here already.
    """
    mode = _declared_mode(request, signed)
    if mode is None or mode == UNSIGNED_PAYLOAD:
        return _PlainPayload(request, None)
    if mode not in PAYLOAD_KEYWORDS:  # 64 hex digits
        return _PlainPayload(request, mode.lower())
    if mode == UNSIGNED_PAYLOAD_TRAILER:
        return _ChunkedPayload(request, None, signed_chunks=False, has_trailer=True)
    assert signed is not None  # _declared_mode refuses signed chunks from an anonymous request
    is_ecdsa = mode.startswith(_ECDSA_PREFIX)
    if is_ecdsa != (signed.algorithm == sigv4a.ALGORITHM):
        # Chunks signed with the other algorithm than the request: nothing here could verify them.
        raise S3NotImplemented(f"{_NOT_IMPLEMENTED} (x-amz-content-sha256: {mode})")
    signer: _ChunkSigner | None = None
    if signing_key is not None:
        signer = _EcdsaChunkSigner(signing_key, signed) if is_ecdsa else _ChunkSigner(signing_key, signed)
    has_trailer = mode in (SIGNED_PAYLOAD_TRAILER, ECDSA_PAYLOAD_TRAILER)
    return _ChunkedPayload(request, signer, signed_chunks=True, has_trailer=has_trailer)


def _declared_mode(request: HttpRequest, signed: SignedRequest | None) -> str | None:
    declared = request.header("x-amz-content-sha256")
    if signed is not None and signed.is_presigned:
        # A presigned URL signs whatever header it is sent with (S3 serves one signed over any text): a
        # value S3 does not take leaves the body unsigned.
        return declared if declared is not None and is_payload_hash(declared) else None
    if signed is not None:
        return s3_payload_hash(request, signed)
    if declared is None:
        return None
    check_payload_hash(declared)
    if declared.startswith("STREAMING-") and declared != UNSIGNED_PAYLOAD_TRAILER:
        raise InvalidRequest(_ANONYMOUS_STREAMING)
    return declared


# -- plain bodies ------------------------------------------------------------------------------


class _PlainPayload(PayloadReader):
    """A body sent as is: its length checked and, when the request declared one, its SHA-256."""

    def __init__(self, request: HttpRequest, expected_sha256: str | None) -> None:
        self.decoded_length = _content_length(request)
        self._expected = expected_sha256
        self._hash = hashlib.sha256() if expected_sha256 is not None else None
        self._received = 0
        self._verified = False
        if self.decoded_length == 0:
            self._check_hash()

    def feed(self, data: bytes) -> bytes:
        self._received += len(data)
        if self.decoded_length is not None and self._received > self.decoded_length:
            raise IncompleteBody(_INCOMPLETE)
        if self._hash is not None:
            self._hash.update(data)
        if self._received == self.decoded_length:
            self._check_hash()  # before the last byte goes out
        return data

    def finish(self) -> dict[str, str]:
        if self.decoded_length is not None and self._received != self.decoded_length:
            raise IncompleteBody(_INCOMPLETE)
        self._check_hash()
        return {}

    def _check_hash(self) -> None:
        if self._verified or self._hash is None:
            return
        if not hmac.compare_digest(self._hash.hexdigest(), self._expected or ""):
            raise XAmzContentSHA256Mismatch(_SHA256_MISMATCH)
        self._verified = True


def _content_length(request: HttpRequest) -> int | None:
    length = request.header("content-length")
    if length is not None:
        return _length_or_none(length)
    return None if request.header("transfer-encoding") is not None else 0


def _length_or_none(text: str) -> int | None:
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    return int(text)


# -- aws-chunked bodies ------------------------------------------------------------------------


class _ChunkSigner:
    """The chain of chunk signatures of one request, seeded by the request's own signature."""

    _algorithm = "AWS4-HMAC-SHA256"  # the strings to sign name it, with -PAYLOAD or -TRAILER

    def __init__(self, key: bytes, signed: SignedRequest) -> None:
        self._key = key
        self._prefix = f"{signed.amz_date_text}\n{signed.scope}\n"
        self.previous = signed.signature

    def check_chunk(self, given: str, data_sha256: str) -> None:
        """Check one chunk's signature (over its data's SHA-256) and move the chain on."""
        text = f"{self._algorithm}-PAYLOAD\n{self._prefix}{self.previous}\n{_EMPTY_SHA256}\n{data_sha256}"
        self._check(text, given)

    def check_trailer(self, given: str, canonical_trailer: bytes) -> None:
        """Check the trailer's signature (over its canonical lines' SHA-256), chained from the final chunk."""
        digest = hashlib.sha256(canonical_trailer).hexdigest()
        self._check(f"{self._algorithm}-TRAILER\n{self._prefix}{self.previous}\n{digest}", given)

    def _check(self, string_to_sign: str, given: str) -> None:
        expected = hmac.digest(self._key, string_to_sign.encode(), "sha256").hex()
        if not hmac.compare_digest(expected.encode(), given.encode()):
            raise SignatureDoesNotMatch(S3_MISMATCH)
        self.previous = expected


class _EcdsaChunkSigner(_ChunkSigner):
    """SigV4a's chain: each chunk's and the trailer's signature is an ECDSA signature (DER in hex,
    variable in length, `*`-padded by AWS's common runtime) of the same string to sign as SigV4's but
    for its algorithm, naming the previous signature without its padding."""

    _algorithm = sigv4a.ALGORITHM

    def __init__(self, key: bytes, signed: SignedRequest) -> None:
        super().__init__(key, signed)
        self.previous = signed.signature.rstrip(sigv4a.PADDING)

    def _check(self, string_to_sign: str, given: str) -> None:
        if not sigv4a.verifies(self._key, string_to_sign, given):
            raise SignatureDoesNotMatch(S3_MISMATCH)
        self.previous = given.rstrip(sigv4a.PADDING)


_SIZE, _DATA, _DATA_END, _TRAILER, _DONE = range(5)


class _ChunkedPayload(PayloadReader):
    """An `aws-chunked` body: `hex-size[;chunk-signature=sig]\\r\\n data \\r\\n` ..., a zero-size chunk, the
    trailer lines (`name:value\\r\\n`) and an empty line."""

    def __init__(
        self, request: HttpRequest, signer: _ChunkSigner | None, *, signed_chunks: bool, has_trailer: bool
    ) -> None:
        decoded = _length_or_none(request.header("x-amz-decoded-content-length") or "")
        if decoded is None:
            raise MissingContentLength("You must provide the Content-Length HTTP header.")
        self.decoded_length = self._decoded = decoded
        self._signer = signer
        self._signed_chunks = signed_chunks
        self._has_trailer = has_trailer
        self._trailer_name, self._checksum = _declared_trailer(request) if has_trailer else (None, None)
        self._state = _SIZE
        self._line = bytearray()
        self._left = 0  # bytes of the current chunk still to come
        self._total = 0  # decoded bytes received so far
        self._released = 0
        self._held = b""
        self._previous_size: int | None = None
        self._chunk_signature = ""
        self._chunk_hash = hashlib.sha256()
        self._pending: list[memoryview] = []  # the current signed chunk's data, until its signature holds
        self._trailer_lines: list[bytes] = []
        self._trailers: dict[str, str] = {}
        self._trailer_bytes = 0
        self._error: AwsError | None = None

    def forward_headers(self, headers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        forwarded = []
        for name, value in headers:
            lowered = name.lower()
            if lowered in _FRAMING_HEADERS or (
                lowered == "x-amz-sdk-checksum-algorithm" and self._has_trailer
            ):
                continue  # the trailer's checksum is verified here and does not reach the backend
            if lowered == "content-encoding":
                codings = [
                    c.strip() for c in value.split(",") if c.strip() and c.strip().lower() != "aws-chunked"
                ]
                if not codings:
                    continue
                value = ",".join(codings)
            forwarded.append((name, value))
        forwarded.append(("content-length", str(self._decoded)))
        return forwarded

    def feed(self, data: bytes) -> bytes:
        if self._error is not None:
            raise self._error
        try:
            return self._release(self._parse(data if isinstance(data, bytes) else bytes(data)))
        except AwsError as exc:
            self._error = exc
            raise

    def finish(self) -> dict[str, str]:
        if self._error is not None:
            raise self._error
        if self._state != _DONE:
            self._error = IncompleteBody(_INCOMPLETE)
            raise self._error
        return {name: value for name, value in self._trailers.items() if name != _TRAILER_SIGNATURE}

    # -- parsing ---------------------------------------------------------------------------------

    def _parse(self, data: bytes) -> list[memoryview]:
        view, pos, end = memoryview(data), 0, len(data)
        out: list[memoryview] = []
        while pos < end:
            state = self._state
            if state == _DATA:
                take = min(self._left, end - pos)
                self._absorb(view[pos : pos + take], out)
                pos += take
                self._left -= take
                if self._left == 0:
                    self._state = _DATA_END
            elif state == _DATA_END:
                taken = view[pos : pos + 2 - len(self._line)]
                self._line += taken
                pos += len(taken)
                if len(self._line) == 2:
                    if self._line != b"\r\n":
                        raise IncompleteBody(_INCOMPLETE)  # the chunk's data ran past its declared size
                    self._line.clear()
                    self._end_chunk(out)
            elif state == _DONE:
                raise IncompleteBody(_INCOMPLETE)  # data after the end of the payload
            else:
                line, pos = self._take_line(data, view, pos, end)
                if line is None:
                    break
                if state == _SIZE:
                    self._start_chunk(line)
                else:
                    self._trailer_line(line)
        return out

    def _take_line(self, data: bytes, view: memoryview, pos: int, end: int) -> tuple[bytes | None, int]:
        limit = min(end, pos + MAX_LINE_BYTES + 2 - len(self._line))
        newline = data.find(b"\n", pos, limit)
        if newline < 0:
            self._line += view[pos:limit]
            if len(self._line) > MAX_LINE_BYTES + 1:
                raise self._line_too_long()
            return None, limit
        self._line += view[pos : newline + 1]
        line = bytes(self._line)
        self._line.clear()
        if not line.endswith(b"\r\n"):
            raise self._line_too_long() if self._state == _SIZE else MalformedTrailerError(_MALFORMED_TRAILER)
        return line[:-2], newline + 1

    def _line_too_long(self) -> AwsError:
        if self._state == _SIZE:
            return InvalidChunkSizeError("the chunk-size line is malformed or longer than 4096 bytes")
        return MalformedTrailerError(_MALFORMED_TRAILER)

    def _start_chunk(self, line: bytes) -> None:
        size_text, semicolon, extension = line.partition(b";")
        if self._signed_chunks:
            if not semicolon or not extension.startswith(_SIGNATURE_PREFIX):
                raise SignatureDoesNotMatch(S3_MISMATCH)  # a signed payload's chunk must carry its signature
            self._chunk_signature = extension[len(_SIGNATURE_PREFIX) :].decode("latin-1")
        elif semicolon:
            raise InvalidChunkSizeError("a chunk of an unsigned payload carries no chunk extension")
        if not 0 < len(size_text) <= 16 or not _HEX_DIGITS.issuperset(size_text):
            raise InvalidChunkSizeError(
                f"the chunk size `{size_text[:32].decode('latin-1')}` is not hexadecimal"
            )
        size = int(size_text, 16)
        if size > MAX_CHUNK_BYTES:
            raise InvalidChunkSizeError(f"a chunk may hold at most {MAX_CHUNK_BYTES} bytes here")
        if size and self._previous_size is not None and self._previous_size < MIN_CHUNK_BYTES:
            raise InvalidChunkSizeError(_SMALL_CHUNK)
        if self._total + size > self._decoded:
            raise IncompleteBody(_INCOMPLETE)  # more data than x-amz-decoded-content-length declared
        self._previous_size = size
        self._chunk_hash = hashlib.sha256()
        if size:
            self._left = size
            self._state = _DATA
            return
        if self._total != self._decoded:
            raise IncompleteBody(_INCOMPLETE)
        self._check_chunk_signature()
        self._state = _TRAILER

    def _absorb(self, piece: memoryview, out: list[memoryview]) -> None:
        self._total += len(piece)
        if self._checksum is not None:
            self._checksum.update(piece)
        if self._signed_chunks:
            self._chunk_hash.update(piece)
            self._pending.append(piece)
        else:
            out.append(piece)

    def _end_chunk(self, out: list[memoryview]) -> None:
        if self._signed_chunks:
            self._check_chunk_signature()
            out.extend(self._pending)
            self._pending = []
        self._state = _SIZE

    def _check_chunk_signature(self) -> None:
        if self._signer is not None:
            self._signer.check_chunk(self._chunk_signature, self._chunk_hash.hexdigest())

    def _trailer_line(self, line: bytes) -> None:
        if not line:
            self._end_trailer()
            return
        self._trailer_bytes += len(line) + 2
        name_bytes, colon, value_bytes = line.partition(b":")
        name = name_bytes.decode("latin-1").strip().lower()
        value = value_bytes.decode("latin-1").strip()
        if (
            not self._has_trailer
            or not colon
            or self._trailer_bytes > MAX_TRAILER_BYTES
            or name in self._trailers
            or name not in (self._trailer_name, _TRAILER_SIGNATURE)
            or (name == _TRAILER_SIGNATURE and not self._signed_chunks)
        ):
            raise MalformedTrailerError(_MALFORMED_TRAILER)
        self._trailers[name] = value
        if name != _TRAILER_SIGNATURE:
            self._trailer_lines.append(f"{name}:{value}\n".encode("latin-1"))

    def _end_trailer(self) -> None:
        if self._has_trailer:
            if self._trailer_name is not None and self._trailer_name not in self._trailers:
                raise MalformedTrailerError(_MALFORMED_TRAILER)
            if self._signed_chunks:
                given = self._trailers.get(_TRAILER_SIGNATURE)
                if given is None:
                    raise SignatureDoesNotMatch(S3_MISMATCH)
                if self._signer is not None:
                    self._signer.check_trailer(given, b"".join(self._trailer_lines) or b"\n")
            if self._checksum is not None and self._trailer_name is not None:
                sent = self._trailers[self._trailer_name].encode("latin-1")
                if not hmac.compare_digest(self._checksum.b64digest().encode(), sent):
                    algorithm = self._trailer_name.removeprefix(checksums.PREFIX).upper()
                    raise BadDigest(f"The {algorithm} you specified did not match the calculated checksum.")
        self._state = _DONE

    # -- releasing -------------------------------------------------------------------------------

    def _release(self, out: list[memoryview]) -> bytes:
        """What of `out` may go to the backend: all of it, but the payload's last byte, which waits until
        the whole payload verified."""
        ready = b"".join(out)
        if self._state == _DONE:
            ready, self._held = self._held + ready, b""
        else:
            allowed = max(0, self._decoded - 1 - self._released)
            if len(ready) > allowed:
                self._held += ready[allowed:]
                ready = ready[:allowed]
        self._released += len(ready)
        return ready


def _declared_trailer(request: HttpRequest) -> tuple[str | None, checksums.Checksum | None]:
    """The trailer `x-amz-trailer` names and a running checksum of its algorithm; S3's refusal of a name
    it does not take."""
    declared = request.header("x-amz-trailer")
    if declared is None or not declared.strip():
        return None, None
    name = declared.strip().lower()
    algorithm = checksums.algorithm_of(name)
    if algorithm is None:
        raise InvalidRequest(_TRAILER_NOT_SUPPORTED)
    return name, checksums.new(algorithm)
