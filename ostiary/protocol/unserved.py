"""Requests for a service this endpoint does not serve (DynamoDB, S3...): refused in the client's protocol.

Ostiary serves IAM and STS only. A request signed for another service, or one in a JSON protocol (which
neither IAM nor STS speaks), gets a 400 `InvalidAction` naming the services served, written so that the
client's SDK parses it: JSON for the JSON protocols, S3's `<Error>` for REST-XML, EC2's `<Response>`
for EC2, `<ErrorResponse>` for the query protocol. AWS has no text for this case (its endpoints serve one
service each): the message is Ostiary's own.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Protocol

import botocore.session
from botocore.exceptions import BotoCoreError

from ostiary.errors import InvalidAction
from ostiary.protocol import HttpRequest, models
from ostiary.protocol.xml import escape

JSON = "application/x-amz-json-1.1"
XML = "text/xml"


class Scoped(Protocol):
    """What is read of a signature (auth.sigv4.SignedRequest): its credential scope's service."""

    @property
    def service(self) -> str: ...


def requested_service(request: HttpRequest, signed: Scoped | None) -> str | None:
    """The service a request is for when this endpoint does not serve it, else None.

    The signature's scope names it; an unsigned request in a JSON protocol names it in its target.
    """
    if signed is not None:
        return None if signed.service in models.SERVICES else signed.service
    if _is_json(request):
        target = request.header("x-amz-target") or ""
        return target.partition(".")[0] or "unknown"
    return None


def refusal(service: str) -> InvalidAction:
    """The error that says which services this endpoint serves."""
    served = ", ".join(models.SERVICES)
    return InvalidAction(
        f"This endpoint serves only {served} (AWS IAM and STS); the request is for `{service}`. "
        f"Start the server with `--backend {service}=URL` to forward it to a backend, "
        "or send it to that service's own endpoint."
    )


def serialize(service: str, error: InvalidAction, request: HttpRequest, request_id: str) -> tuple[bytes, str]:
    """The error as the client's protocol writes errors: (body, content type)."""
    protocol = _protocol(service)
    if _is_json(request) or protocol.startswith(("json", "rest-json")):
        body = {"__type": error.code, "message": error.message}
        return json.dumps(body).encode(), JSON
    code, message, rid = escape(error.code), escape(error.message), escape(request_id)
    if protocol == "ec2":
        xml = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
            f"<RequestID>{rid}</RequestID></Response>"
        )
    elif "Action=" in request.query_string or b"Action=" in request.body:
        xml = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
            f"</Error><RequestId>{rid}</RequestId></ErrorResponse>"
        )
    else:  # a REST-XML service (S3, Route 53, CloudFront)
        xml = f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{rid}</RequestId></Error>"
    return xml.encode(), XML


_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


@functools.lru_cache(maxsize=64)
def _protocol(service: str) -> str:
    """The protocol of the installed botocore's model of `service` (`json`, `rest-json`, `rest-xml`,
    `query`, `ec2`), or "" when it has none: GET requests of REST-JSON services carry no JSON to show it."""
    if _NAME.fullmatch(service) is None:
        return ""
    try:
        model = botocore.session.get_session().get_service_model(service)
    except BotoCoreError:
        return ""
    return str(model.metadata.get("protocol", ""))


def _is_json(request: HttpRequest) -> bool:
    """Whether the client speaks a JSON protocol (awsJson's X-Amz-Target, or a JSON body)."""
    content_type = (request.header("content-type") or "").lower()
    return request.header("x-amz-target") is not None or "json" in content_type
