"""Errors in the JSON protocols' own shape (DynamoDB's JSON 1.0, KMS's JSON 1.1 ...).

Ostiary's AwsError codes are the query protocol's (IAM, STS); a JSON service names the same refusals
after its own error shapes (`com.amazon.coral.service#...`), sent with status 400 or as AWS sends them.
"""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

from ostiary.errors import AwsError

# The JSON services' names of the refusals Ostiary raises, with their HTTP status.
_JSON_CODES: dict[str, tuple[str, int]] = {
    "AccessDenied": ("AccessDeniedException", 400),
    "SignatureDoesNotMatch": ("InvalidSignatureException", 400),
    "InvalidClientTokenId": ("UnrecognizedClientException", 400),
    "IncompleteSignature": ("IncompleteSignatureException", 400),
    "MissingAuthenticationToken": ("MissingAuthenticationTokenException", 400),
    "RequestExpired": ("InvalidSignatureException", 400),
    "ExpiredToken": ("ExpiredTokenException", 400),
    "ExpiredTokenException": ("ExpiredTokenException", 400),
    "InternalFailure": ("InternalFailure", 500),
}
UNKNOWN_OPERATION = ("UnknownOperationException", 400)
SERIALIZATION = ("SerializationException", 400)
SERVICE_UNAVAILABLE = ("ServiceUnavailableException", 503)
REQUEST_TOO_LARGE = ("RequestEntityTooLargeException", 413)
_CORAL = "com.amazon.coral.service#"
CONTENT_TYPES = {"1.0": "application/x-amz-json-1.0", "1.1": "application/x-amz-json-1.1"}


def json_error(code: str, status: int, message: str, json_version: str = "1.0") -> tuple[int, bytes, str]:
    """(status, body, content type) of a JSON protocol error, `__type` as the JSON version spells it."""
    kind = f"{_CORAL}{code}" if json_version == "1.0" else code
    body = json.dumps({"__type": kind, "message": message}).encode()
    return status, body, CONTENT_TYPES.get(json_version, CONTENT_TYPES["1.0"])


def json_refusal(error: AwsError, json_version: str = "1.0") -> tuple[int, bytes, str]:
    """An Ostiary AwsError in a JSON service's shape."""
    code, status = _JSON_CODES.get(error.code, (error.code, error.status))
    return json_error(code, status, error.message, json_version)


NOT_IMPLEMENTED = ("NotImplemented", 501)


def xml_error(code: str, status: int, message: str, request_id: str) -> tuple[int, bytes, str]:
    """(status, body, content type) of an error in S3's REST-XML shape."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"<RequestId>{escape(request_id)}</RequestId></Error>"
    )
    return status, body.encode(), "application/xml"
