"""SigV4 through the real server: boto3 and hand-signed requests, and every refusal with AWS's error."""

from __future__ import annotations

import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.conftest import Server

_FORM = "application/x-www-form-urlencoded; charset=utf-8"
_NS = "{https://iam.amazonaws.com/doc/2010-05-08/}"


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = exc.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


def _signed(
    server: Server, body: str, when: datetime | None = None, secret: str | None = None, service: str = "iam"
) -> AWSRequest:
    """A POST signed by botocore's signer, optionally as if at another time."""
    request = AWSRequest(
        method="POST", url=server.endpoint + "/", data=body.encode(), headers={"Content-Type": _FORM}
    )
    credentials = Credentials(server.access_key_id, secret or server.secret_access_key)
    if when is None:
        SigV4Auth(credentials, service, "us-east-1").add_auth(request)
    else:
        frozen = when.astimezone(UTC).replace(tzinfo=None)
        with mock.patch(
            "botocore.auth.datetime.datetime", **{"utcnow.return_value": frozen, "now.return_value": frozen}
        ):
            SigV4Auth(credentials, service, "us-east-1").add_auth(request)
    return request


def _send(url: str, body: bytes | None, headers: dict[str, str], method: str = "POST") -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _send_signed(request: AWSRequest, body: bytes | None = None) -> tuple[int, bytes]:
    headers = {k: v if isinstance(v, str) else v.decode() for k, v in request.headers.items()}
    return _send(request.url, request.body if body is None else body, headers)


def _code_and_message(payload: bytes) -> tuple[str, str]:
    root = ET.fromstring(payload)
    assert root.tag == f"{_NS}ErrorResponse", payload
    error = root.find(f"{_NS}Error")
    assert error is not None
    return error.findtext(f"{_NS}Code") or "", error.findtext(f"{_NS}Message") or ""


def test_signed_boto3_call_succeeds(iam, unique: str) -> None:
    iam.create_user(UserName=f"auth-{unique}")
    names = [u["UserName"] for u in iam.list_users(PathPrefix="/")["Users"]]
    assert f"auth-{unique}" in names


def test_unknown_access_key_is_invalid_client_token_id(server: Server) -> None:
    iam = server.client("iam", access_key_id="AKIAUNKNOWNKEY000000", secret_access_key="whatever")
    with pytest.raises(ClientError) as caught:
        iam.list_users()
    assert _error(caught) == (
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
        403,
    )


def test_wrong_secret_is_signature_does_not_match(server: Server) -> None:
    iam = server.client("iam", secret_access_key=server.secret_access_key + "x")
    with pytest.raises(ClientError) as caught:
        iam.list_users()
    assert _error(caught) == (
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret "
        "Access Key and signing method. Consult the service documentation for details.",
        403,
    )


def test_skewed_clock_is_request_expired(server: Server) -> None:
    request = _signed(
        server, "Action=ListUsers&Version=2010-05-08", when=datetime.now(UTC) - timedelta(minutes=20)
    )
    status, payload = _send_signed(request)
    code, message = _code_and_message(payload)
    assert (status, code) == (400, "RequestExpired")
    assert message.startswith("Signature expired: ") and "is now earlier than" in message
    assert message.endswith(" - 15 min.)")


def test_clock_in_the_future_is_refused(server: Server) -> None:
    request = _signed(
        server, "Action=ListUsers&Version=2010-05-08", when=datetime.now(UTC) + timedelta(minutes=20)
    )
    status, payload = _send_signed(request)
    assert (status, _code_and_message(payload)[0]) == (400, "RequestExpired")


def test_tampered_body_is_signature_does_not_match(server: Server, unique: str) -> None:
    request = _signed(server, f"Action=CreateUser&Version=2010-05-08&UserName=ok-{unique}")
    status, payload = _send_signed(
        request, body=f"Action=CreateUser&Version=2010-05-08&UserName=ev-{unique}".encode()
    )
    assert (status, _code_and_message(payload)[0]) == (403, "SignatureDoesNotMatch")
    iam = server.client("iam")
    pages = iam.get_paginator("list_users").paginate()
    assert not [u for page in pages for u in page["Users"] if u["UserName"].endswith(unique)]


def test_signed_request_sent_as_is_is_accepted(server: Server) -> None:
    status, payload = _send_signed(_signed(server, "Action=ListUsers&Version=2010-05-08"))
    assert status == 200
    assert ET.fromstring(payload).tag == f"{_NS}ListUsersResponse"


def test_unsigned_request_is_missing_authentication_token(server: Server) -> None:
    status, payload = _send(
        server.endpoint + "/", b"Action=ListUsers&Version=2010-05-08", {"Content-Type": _FORM}
    )
    assert status == 403
    assert _code_and_message(payload) == (
        "MissingAuthenticationToken",
        "Request is missing Authentication Token",
    )


def test_malformed_authorization_is_incomplete_signature(server: Server) -> None:
    status, payload = _send(
        server.endpoint + "/",
        b"Action=ListUsers&Version=2010-05-08",
        {
            "Content-Type": _FORM,
            "X-Amz-Date": "20261130T000000Z",
            "Authorization": "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=abc",
        },
    )
    assert status == 400
    code, message = _code_and_message(payload)
    assert code == "IncompleteSignature"
    assert message.startswith("Authorization header requires 'Credential' parameter.")


def test_unknown_action_is_invalid_action(server: Server) -> None:
    status, payload = _send_signed(_signed(server, "Action=DescribeEverything&Version=2010-05-08"))
    assert status == 400
    assert _code_and_message(payload) == (
        "InvalidAction",
        "Could not find operation DescribeEverything for version 2010-05-08",
    )


def test_invalid_parameter_is_validation_error_through_boto3(iam) -> None:
    with pytest.raises(ClientError) as caught:
        iam.get_user(UserName="bad name")
    assert _error(caught) == (
        "ValidationError",
        "1 validation error detected: Value at 'userName' failed to satisfy constraint: Member must satisfy "
        r"regular expression pattern: [\w+=,.@-]+",
        400,
    )


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_presigned_get_user_url_works(server: Server, iam, unique: str, method: str) -> None:
    iam.create_user(UserName=f"pre-{unique}-{method}")
    url = iam.generate_presigned_url(
        "get_user", Params={"UserName": f"pre-{unique}-{method}"}, ExpiresIn=300, HttpMethod=method
    )
    status, payload = _send(url, b"" if method == "POST" else None, {}, method=method)
    assert status == 200, payload
    assert f"<UserName>pre-{unique}-{method}</UserName>".encode() in payload


def test_tampered_presigned_url_is_refused(server: Server, iam, unique: str) -> None:
    url = iam.generate_presigned_url("get_user", Params={"UserName": f"a-{unique}"}, HttpMethod="GET")
    status, payload = _send(url.replace(f"a-{unique}", f"b-{unique}"), None, {}, method="GET")
    assert (status, _code_and_message(payload)[0]) == (403, "SignatureDoesNotMatch")


def test_sts_scope_routes_to_sts(server: Server) -> None:
    sts = server.client("sts")
    identity = sts.get_caller_identity()
    assert identity["Account"] == server.account_id


def test_signature_is_checked_before_parameters(server: Server) -> None:
    body = "Action=CreateUser&Version=2010-05-08&UserName=" + "x" * 300  # too long a name, wrongly signed
    status, payload = _send_signed(_signed(server, body, secret=server.secret_access_key + "x"))
    assert status == 403 and _code_and_message(payload)[0] == "SignatureDoesNotMatch"
    status, payload = _send_signed(_signed(server, body))
    assert status == 400 and _code_and_message(payload)[0] == "ValidationError"
