"""Errors in the JSON protocols' own shape (DynamoDB's JSON 1.0, KMS's JSON 1.1 ...).

Ostiary's AwsError codes are the query protocol's (IAM, STS); a JSON service names the same refusals
after its own error shapes (`com.amazon.coral.service#...`), sent with status 400 or as AWS sends them.
"""

from __future__ import annotations

import json
import re
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


# S3's own codes, statuses and texts for the refusals Ostiary raises (S3 words them its own way).
_S3_CODES: dict[str, tuple[str, int, str | None]] = {
    "AccessDenied": ("AccessDenied", 403, None),
    "SignatureDoesNotMatch": (
        "SignatureDoesNotMatch",
        403,
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
    ),
    "InvalidClientTokenId": (
        "InvalidAccessKeyId",
        403,
        "The AWS Access Key Id you provided does not exist in our records.",
    ),
    "ExpiredToken": ("ExpiredToken", 400, "The provided token has expired."),
    "ExpiredTokenException": ("ExpiredToken", 400, "The provided token has expired."),
    "RequestExpired": (
        "RequestTimeTooSkewed",
        403,
        "The difference between the request time and the current time is too large.",
    ),
}
_S3_INVALID_TOKEN = ("InvalidToken", 400, "The provided token is malformed or otherwise invalid.")
_TOKEN_MESSAGE = "The security token included in the request is invalid."
# AWS's AccessDenied text; S3 quotes the resource ARN in it ("on resource: \"arn:aws:s3:::b/k\" because").
_ON_RESOURCE = re.compile(
    r"^(User: \S+ is not authorized to perform: (\S+) on resource: )(\S+)(.*)$", re.DOTALL
)


def s3_message(message: str) -> str:
    """An AccessDenied text as S3 words it: the resource ARN of an S3 action in double quotes (a KMS
    refusal S3 met while encrypting for the caller is KMS's text, passed on as KMS words it)."""
    found = _ON_RESOURCE.match(message)
    if found is None or not found[2].startswith("s3:") or found[3].startswith('"'):
        return message
    return f'{found[1]}"{found[3]}"{found[4]}'


def xml_refusal(error: AwsError, request_id: str, has_session_token: bool = False) -> tuple[int, bytes, str]:
    """An Ostiary AwsError in S3's shape: S3's code, status and text (a session token that does not
    open is S3's InvalidToken; an unknown key, InvalidAccessKeyId)."""
    code, status, text = _S3_CODES.get(error.code, (error.code, error.status, None))
    if error.code == "InvalidClientTokenId" and has_session_token and error.message == _TOKEN_MESSAGE:
        code, status, text = _S3_INVALID_TOKEN
    elif error.code == "RequestExpired" and error.message.startswith("Request has expired"):
        code, status, text = "AccessDenied", 403, "Request has expired"  # a presigned URL past X-Amz-Expires
    message = text if text is not None else s3_message(error.message)
    return xml_error(code, status, message, request_id)


def xml_error(code: str, status: int, message: str, request_id: str) -> tuple[int, bytes, str]:
    """(status, body, content type) of an error in S3's REST-XML shape."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"<RequestId>{escape(request_id)}</RequestId></Error>"
    )
    return status, body.encode(), "application/xml"


def protocol_error(
    protocol: str, code: str, status: int, message: str, request_id: str, json_version: str = "1.0"
) -> tuple[int, bytes, str, tuple[tuple[str, str], ...]]:
    """(status, body, content type, extra headers) of an error in a service's protocol, as botocore's
    parsers read it: JSON's `__type`, REST-JSON's `x-amzn-errortype`, the query protocol's and REST-XML's
    `ErrorResponse`, EC2's `Response/Errors`."""
    if protocol == "json":
        status, body, content_type = json_error(code, status, message, json_version)
        return status, body, content_type, ()
    if protocol == "rest-json":
        body = json.dumps({"message": message}).encode()
        return status, body, "application/json", (("x-amzn-errortype", code),)
    text = f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
    if protocol == "ec2":
        document = (
            f"<Response><Errors><Error>{text}</Error></Errors>"
            f"<RequestID>{escape(request_id)}</RequestID></Response>"
        )
    else:
        kind = "Sender" if status < 500 else "Receiver"
        document = (
            f"<ErrorResponse><Error><Type>{kind}</Type>{text}</Error>"
            f"<RequestId>{escape(request_id)}</RequestId></ErrorResponse>"
        )
    return status, ('<?xml version="1.0" encoding="UTF-8"?>\n' + document).encode(), "text/xml", ()


def protocol_refusal(
    protocol: str, error: AwsError, request_id: str, json_version: str = "1.0"
) -> tuple[int, bytes, str, tuple[tuple[str, str], ...]]:
    """An Ostiary AwsError in a service's protocol: the JSON protocols name refusals after their error
    shapes (`AccessDeniedException`), EC2 says `UnauthorizedOperation`, the query protocol as IAM does."""
    code, status = error.code, error.status
    if protocol == "json":
        code, status = _JSON_CODES.get(error.code, (error.code, error.status))
    elif protocol == "rest-json":  # the JSON names, with the REST statuses (403 for a refusal)
        code = _JSON_CODES.get(error.code, (error.code, error.status))[0]
    elif protocol == "ec2" and error.code == "AccessDenied":
        code = "UnauthorizedOperation"
    return protocol_error(protocol, code, status, error.message, request_id, json_version)
