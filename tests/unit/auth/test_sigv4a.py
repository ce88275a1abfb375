"""SigV4a (`AWS4-ECDSA-P256-SHA256`): the key derived as AWS's common runtime derives it (its published
test key), S3 requests signed by botocore's CRT signer (the oracle) verified, and every way to break one;
ECDSA chunk signatures chained as the common runtime chains them."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from awscrt import auth as crt_auth
from awscrt import http as crt_http
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.crt.auth import CrtS3SigV4AsymAuth, CrtSigV4AsymAuth
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from ostiary.auth import payload, sigv4, sigv4a
from ostiary.errors import IncompleteSignature, SignatureDoesNotMatch
from ostiary.protocol import HttpRequest

KEY, SECRET = "AKIAEXAMPLEKEY000001", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
URL = "http://127.0.0.1:8080/bucket/key.txt"


def _signed(
    body: bytes = b"hello",
    region: str = "us-east-1",
    service: str = "s3",
    headers: dict[str, str] | None = None,
) -> tuple[HttpRequest, datetime]:
    """A PUT signed by botocore's SigV4a signer (awscrt), as the server receives it, and its time."""
    request = AWSRequest(method="PUT", url=URL, data=body, headers=headers or {})
    signer = CrtS3SigV4AsymAuth if service == "s3" else CrtSigV4AsymAuth
    signer(Credentials(KEY, SECRET), service, region).add_auth(request)
    parts = urlsplit(request.url)
    received = [(k.lower(), v if isinstance(v, str) else v.decode()) for k, v in request.headers.items()]
    if not any(k == "host" for k, _ in received):
        received.append(("host", parts.netloc))
    when = datetime.strptime(dict(received)["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return HttpRequest("PUT", parts.path, parts.query, tuple(received), body), when


def _verify(request: HttpRequest, when: datetime, secret: str = SECRET) -> bytes:
    signed = sigv4.parse(request)
    assert signed is not None
    return sigv4.verify(request, signed, secret, when, frozenset({"s3", "dynamodb"}))


def _with_header(request: HttpRequest, name: str, value: str) -> HttpRequest:
    headers = tuple((k, value if k == name else v) for k, v in request.headers)
    return dataclasses.replace(request, headers=headers)


def test_the_key_is_the_common_runtimes() -> None:
    """aws-c-auth's published SigV4a test key (AKIAIOSFODNN7EXAMPLE's public point)."""
    key = sigv4a.private_key("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    point = sigv4a.public_key(key).public_numbers()
    assert f"{point.x:064x}" == "18b7d04643359f6ec270dcbab8dce6d169d66ddc9778c75cfb08dfdb701637ab"
    assert f"{point.y:064x}" == "fa36b35e4fe67e3112261d2e17a956ef85b06e44712d2850bcd3c2161e9993f2"


def test_a_request_signed_by_the_sdk_verifies_and_names_its_region() -> None:
    request, when = _signed(region="eu-west-1")
    assert _verify(request, when) == sigv4a.private_key(KEY, SECRET)
    signed = sigv4.parse(request)
    assert signed is not None
    assert (signed.algorithm, signed.region, signed.region_set) == (
        sigv4a.ALGORITHM,
        "eu-west-1",
        ("eu-west-1",),
    )
    assert signed.scope == f"{when:%Y%m%d}/s3/aws4_request"


def test_a_wildcard_region_set_stands_for_us_east_1() -> None:
    request, _ = _signed(region="*")
    signed = sigv4.parse(request)
    assert signed is not None and (signed.region, signed.region_set) == ("us-east-1", ("*",))


def test_another_secret_is_refused() -> None:
    request, when = _signed()
    with pytest.raises(SignatureDoesNotMatch):
        _verify(request, when, secret="another secret")


@pytest.mark.parametrize(
    ("name", "value"),
    [("x-amz-region-set", "us-west-2"), ("x-amz-content-sha256", hashlib.sha256(b"other").hexdigest())],
)
def test_a_changed_signed_header_is_refused(name: str, value: str) -> None:
    request, when = _signed()
    with pytest.raises(SignatureDoesNotMatch):
        _verify(_with_header(request, name, value), when)


@pytest.mark.parametrize("signature", ["zz" * 35, "30" * 80, "", "3044" + "*" * 10])
def test_a_signature_that_is_no_der_ecdsa_signature_is_refused(signature: str) -> None:
    request, when = _signed()
    authorization = dict(request.headers)["authorization"]
    forged = authorization.rsplit("Signature=", 1)[0] + f"Signature={signature}"
    request = _with_header(request, "authorization", forged)
    with pytest.raises((SignatureDoesNotMatch, IncompleteSignature)):
        _verify(request, when)


def test_the_region_set_must_be_signed() -> None:
    request, when = _signed()
    authorization = dict(request.headers)["authorization"].replace(";x-amz-region-set", "")
    with pytest.raises(IncompleteSignature, match="X-Amz-Region-Set"):
        _verify(_with_header(request, "authorization", authorization), when)


def test_sigv4a_is_s3s_alone_here() -> None:
    request, when = _signed(service="dynamodb")
    with pytest.raises(IncompleteSignature, match="Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256'"):
        _verify(request, when)


# -- ECDSA chunk signatures ----------------------------------------------------------------------


def _chunked(mode: str) -> tuple[HttpRequest, sigv4.SignedRequest, bytes]:
    """An aws-chunked PUT of 10 bytes signed by awscrt with SigV4a (botocore's S3 signer hashes the body
    itself), its signature, and the key `verify` returned."""
    headers = [
        ("host", "127.0.0.1:8080"),
        ("content-encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", "10"),
    ]
    config = crt_auth.AwsSigningConfig(
        algorithm=crt_auth.AwsSigningAlgorithm.V4_ASYMMETRIC,
        signature_type=crt_auth.AwsSignatureType.HTTP_REQUEST_HEADERS,
        credentials_provider=crt_auth.AwsCredentialsProvider.new_static(KEY, SECRET),
        region="us-east-1",
        service="s3",
        signed_body_value=mode,
        signed_body_header_type=crt_auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256,
        use_double_uri_encode=False,
        should_normalize_uri_path=False,
    )
    crt_request = crt_http.HttpRequest("PUT", "/bucket/key.txt", crt_http.HttpHeaders(headers))
    signed_request = crt_auth.aws_sign_request(crt_request, config).result(timeout=10)
    received = tuple((k.lower(), v) for k, v in signed_request.headers)
    request = HttpRequest("PUT", "/bucket/key.txt", "", received, b"")
    when = datetime.strptime(dict(received)["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    signed = sigv4.parse(request)
    assert signed is not None
    return request, signed, _verify(request, when)


def _chunk_signature(key: bytes, signed: sigv4.SignedRequest, previous: str, data: bytes) -> str:
    text = (
        f"AWS4-ECDSA-P256-SHA256-PAYLOAD\n{signed.amz_date_text}\n{signed.scope}\n{previous}\n"
        f"{hashlib.sha256(b'').hexdigest()}\n{hashlib.sha256(data).hexdigest()}"
    )
    private = ec.derive_private_key(int.from_bytes(key, "big"), ec.SECP256R1())
    return private.sign(text.encode(), ec.ECDSA(hashes.SHA256())).hex()


def test_ecdsa_chunks_verify_chained_from_the_unpadded_signatures() -> None:
    request, signed, key = _chunked(payload.ECDSA_PAYLOAD)
    reader = payload.payload_reader(request, signed, key)
    first = _chunk_signature(key, signed, signed.signature, b"0123456789")
    last = _chunk_signature(key, signed, first, b"")
    body = f"a;chunk-signature={first}{'*' * (144 - len(first))}\r\n0123456789\r\n"
    body += f"0;chunk-signature={last}\r\n\r\n"
    assert reader.feed(body.encode()) == b"0123456789"
    assert reader.finish() == {}


def test_an_ecdsa_chunk_chained_from_the_padded_signature_is_refused() -> None:
    request, signed, key = _chunked(payload.ECDSA_PAYLOAD)
    reader = payload.payload_reader(request, signed, key)
    first = _chunk_signature(key, signed, signed.signature, b"0123456789")
    while len(first) == 144:  # a DER signature at its longest has no padding (ECDSA signs anew each time)
        first = _chunk_signature(key, signed, signed.signature, b"0123456789")
    padded = first + "*" * (144 - len(first))
    last = _chunk_signature(key, signed, padded, b"")
    body = f"a;chunk-signature={padded}\r\n0123456789\r\n0;chunk-signature={last}\r\n\r\n"
    with pytest.raises(SignatureDoesNotMatch):
        reader.feed(body.encode())
