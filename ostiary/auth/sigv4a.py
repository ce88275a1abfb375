"""SigV4a: AWS's asymmetric Signature Version 4 (`AWS4-ECDSA-P256-SHA256`), verified for S3.

A SigV4a signature is an ECDSA P-256 signature (SHA-256, DER, lowercase hex) over a string to sign
built as SigV4's, with a credential scope that names no region (`date/service/aws4_request`); the
regions it is good for are the signed `X-Amz-Region-Set` header. Its key pair is derived from the
access key's secret, so whoever holds the secret can verify: the private key is the first candidate
`HMAC-SHA256("AWS4A" + secret, 0x00000001 || "AWS4-ECDSA-P256-SHA256" || 0x00 || access key id ||
counter || 0x00000100)` (NIST SP 800-108's counter-mode KDF, one block) no greater than n - 2, plus one,
for counter 1, 2, ... (AWS's common runtime, `aws_ecc_key_pair_new_ecdsa_p256_key_from_aws_credentials`).
An aws-chunked body's chunk and trailer signatures are ECDSA signatures too, chained as SigV4's are:
each chunk's string to sign names the previous signature, its `*` padding (the common runtime pads
chunk signatures to 144 characters) taken off.
"""

from __future__ import annotations

import binascii
import functools
import hmac

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

ALGORITHM = "AWS4-ECDSA-P256-SHA256"
PADDING = "*"
MAX_SIGNATURE_CHARS = 144  # a DER P-256 signature in hex, at its longest (and the chunks' padded width)
_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # the order of P-256
_LABEL = ALGORITHM.encode()
_MAX_COUNTER = 254


@functools.lru_cache(maxsize=256)
def private_key(access_key_id: str, secret: str) -> bytes:
    """The SigV4a private key of a credential, as 32 big-endian bytes."""
    secret_key = f"AWS4A{secret}".encode()
    for counter in range(1, _MAX_COUNTER + 1):
        context = access_key_id.encode() + bytes((counter,))
        fixed = b"\x00\x00\x00\x01" + _LABEL + b"\x00" + context + b"\x00\x00\x01\x00"
        candidate = int.from_bytes(hmac.digest(secret_key, fixed, "sha256"), "big")
        if candidate <= _N - 2:
            return (candidate + 1).to_bytes(32, "big")
    raise ValueError("no SigV4a key derives from this credential")  # probability 2^-8128


@functools.lru_cache(maxsize=256)
def public_key(key: bytes) -> ec.EllipticCurvePublicKey:
    """The public key of a SigV4a private key (`private_key`)."""
    return ec.derive_private_key(int.from_bytes(key, "big"), ec.SECP256R1()).public_key()


def verifies(key: bytes, string_to_sign: str, signature: str) -> bool:
    """Whether `signature` (DER in hex, `*` padding allowed after it) is the private key `key`'s signature
    of `string_to_sign`."""
    text = signature.rstrip(PADDING)
    if not text or len(signature) > MAX_SIGNATURE_CHARS or not text.isascii():
        return False
    try:
        public_key(key).verify(binascii.unhexlify(text), string_to_sign.encode(), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True
