"""S3's DeleteObjects, decided object by object as S3 decides it.

The call itself needs no permission of its own: "For each key, Amazon S3 performs a delete operation and
returns the result of that delete, success or failure, in the response" (DeleteObjects' API reference),
each with DeleteObject's permissions (s3:DeleteObject, s3:DeleteObjectVersion for a version, and
s3:BypassGovernanceRetention with the bypass header). So a key the caller may not delete is not refused
with the call: it comes back in the 200 answer as an `<Error>` with `AccessDenied` and `Access Denied`,
beside the backend's own results for the keys it was sent (quiet mode: the errors alone). A call whose
every key is refused never reaches the backend: the gateway answers it. A document S3 cannot read (not
XML, no object, an object without its key, more than 1,000 objects) is S3's MalformedXML for any caller.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Sequence
from typing import Any
from xml.sax.saxutils import escape

from botocore.serialize import create_serializer

from ostiary.errors import AccessDenied, AwsError
from ostiary.gateway import bucketpolicies
from ostiary.gateway.forwarding import Answer
from ostiary.gateway.kmsaliases import digests_of
from ostiary.gateway.mapping import Facts, Permission
from ostiary.gateway.operations import Operation, service_model
from ostiary.gateway.permissions import permissions_of

MAX_OBJECTS = 1000  # "The request can contain a list of up to 1,000 keys"
MALFORMED_XML = "The XML you provided was not well-formed or did not validate against our published schema"
_DENIED = "Access Denied"  # S3's per-key refusal, word for word
_S3_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
_SERIALIZER = create_serializer("rest-xml", include_validation=False)
_DELETED = re.compile(rb"<Deleted>.*?</Deleted>", re.DOTALL)
_CLOSING = re.compile(rb"</DeleteResult>\s*$")
_EMPTY = re.compile(rb"<DeleteResult([^>]*)/>\s*$")


class MalformedXML(AwsError):
    code, status = "MalformedXML", 400


def is_decided_per_object(operation: Operation) -> bool:
    """Whether the operation is S3's DeleteObjects, whose objects are decided one by one (`refused`)."""
    return operation.service == "s3" and operation.name == "DeleteObjects"


def refused(operation: Operation, facts: Facts, decide: Callable[[Permission], None]) -> tuple[int, ...]:
    """The positions of the listed objects the caller may not delete: each object's permissions (those
    of a DeleteObjects naming it alone) asked of `decide`, which raises AccessDenied for a refusal.
    Nothing is decided for a document S3 cannot read (`refuse_unreadable` refuses it)."""
    objects = _listed(operation)
    if objects is None:
        return ()
    decided: dict[tuple[str, str | None], bool] = {}
    out = []
    for position, item in enumerate(objects):
        name = (item["Key"], item.get("VersionId"))
        if name not in decided:
            decided[name] = _may_delete(operation, item, facts, decide)
        if not decided[name]:
            out.append(position)
    return tuple(out)


def refuse_unreadable(operation: Operation) -> None:
    """MalformedXML for a DeleteObjects whose document S3 cannot read."""
    if is_decided_per_object(operation) and _listed(operation) is None:
        raise MalformedXML(MALFORMED_XML)


def answer_refused(
    operation: Operation, refused_at: Sequence[int], bucket_exists: Callable[[str], bool | None]
) -> Answer | None:
    """The gateway's own answer when every listed object is refused (the backend is not asked), else
    None; NoSuchBucket, as the backend would answer, for a bucket it says does not exist."""
    if not refused_at:
        return None
    objects = _listed(operation) or []
    if len(refused_at) < len(objects):
        return None
    if bucket_exists(str(operation.params.get("Bucket", ""))) is False:
        raise bucketpolicies.NoSuchBucket(bucketpolicies.NO_BUCKET)
    return Answer(200, (("content-type", "application/xml"),), _document(_errors(objects, refused_at)))


def forwarded(
    operation: Operation, refused_at: Sequence[int], headers: list[tuple[str, str]]
) -> tuple[bytes, list[tuple[str, str]]]:
    """The document the backend gets, naming only the objects the caller may delete, and the request's
    headers with its digests made anew (S3 requires Content-MD5 or a checksum of a DeleteObjects body)."""
    skipped = set(refused_at)
    objects = [item for position, item in enumerate(_listed(operation) or []) if position not in skipped]
    document = {**operation.params["Delete"], "Objects": objects}
    params = {"Bucket": str(operation.params.get("Bucket", "")), "Delete": document}
    model = service_model("s3")
    if model is None:
        raise RuntimeError("botocore's S3 model is not installed")
    try:
        body = _SERIALIZER.serialize_to_request(params, model.operation_model("DeleteObjects"))["body"]
    except (ValueError, TypeError) as exc:  # a member botocore cannot write (a timestamp that is none)
        raise MalformedXML(MALFORMED_XML) from exc
    headers = digests_of(headers, body)
    if not any(name == "content-md5" or name.startswith("x-amz-checksum-") for name, _ in headers):
        headers.append(("content-md5", base64.b64encode(hashlib.md5(body).digest()).decode()))  # noqa: S324 - S3's digest
    return body, headers


def merged(operation: Operation, refused_at: Sequence[int], answer: bytes) -> bytes:
    """The backend's DeleteResult with an `<Error>` for each refused object (its `<Deleted>` entries
    dropped in quiet mode, which answers the errors alone)."""
    objects = _listed(operation) or []
    errors = _errors(objects, refused_at)
    if _is_quiet(operation):
        answer = _DELETED.sub(b"", answer)
    if _CLOSING.search(answer):
        return _CLOSING.sub(lambda _: errors + b"</DeleteResult>", answer, count=1)
    if _EMPTY.search(answer):  # S3's quiet answer when every key it was sent was deleted
        return _EMPTY.sub(
            lambda m: b"<DeleteResult" + m.group(1) + b">" + errors + b"</DeleteResult>", answer
        )
    if not answer.strip():
        return _document(errors)
    return answer  # no DeleteResult: as the backend said it


def _listed(operation: Operation) -> list[dict[str, Any]] | None:
    """The objects a DeleteObjects lists; None when S3 could not read its document (MalformedXML)."""
    document = operation.params.get("Delete")
    if not isinstance(document, dict) or not isinstance(document.get("Quiet", False), bool):
        return None
    objects = document.get("Objects")
    if not isinstance(objects, list) or not 0 < len(objects) <= MAX_OBJECTS:
        return None
    if not all(isinstance(item, dict) and isinstance(item.get("Key"), str) for item in objects):
        return None
    return objects


def _may_delete(
    operation: Operation, item: dict[str, Any], facts: Facts, decide: Callable[[Permission], None]
) -> bool:
    alone = Operation(
        operation.service,
        operation.name,
        {**operation.params, "Delete": {**operation.params["Delete"], "Objects": [item]}},
    )
    try:
        for permission in permissions_of(alone, facts):
            decide(permission)
    except AccessDenied:
        return False
    return True


def _errors(objects: Sequence[dict[str, Any]], refused_at: Sequence[int]) -> bytes:
    """An `<Error>` (Key, VersionId, Code, Message, in the model's order) for each refused object."""
    parts = []
    for position in refused_at:
        item = objects[position]
        version = item.get("VersionId")
        named = f"<VersionId>{escape(str(version))}</VersionId>" if version else ""
        parts.append(
            f"<Error><Key>{escape(item['Key'])}</Key>{named}"
            f"<Code>{AccessDenied.code}</Code><Message>{_DENIED}</Message></Error>"
        )
    return "".join(parts).encode("utf-8")


def _document(errors: bytes) -> bytes:
    """A DeleteResult holding `errors` alone."""
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        + f'<DeleteResult xmlns="{_S3_XMLNS}">'.encode()
        + errors
        + b"</DeleteResult>"
    )


def _is_quiet(operation: Operation) -> bool:
    document = operation.params.get("Delete")
    return isinstance(document, dict) and document.get("Quiet") is True
