"""The query protocol through the real server: nested parameters, escaping, envelopes, AWS's errors."""

from __future__ import annotations

import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.conftest import Server

_NS = "{https://iam.amazonaws.com/doc/2010-05-08/}"


def _raw(server: Server, body: str) -> tuple[int, bytes]:
    """A signed POST as sent, and the raw response."""
    request = AWSRequest(
        method="POST",
        url=server.endpoint + "/",
        data=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials(server.access_key_id, server.secret_access_key), "iam", "us-east-1").add_auth(
        request
    )
    headers = {k: v if isinstance(v, str) else v.decode() for k, v in request.headers.items()}
    try:
        with urllib.request.urlopen(
            urllib.request.Request(request.url, data=request.body, headers=headers), timeout=10
        ) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_tags_list_of_structures_round_trips(iam, unique: str) -> None:
    tags = [{"Key": "team", "Value": "a b:c/d=e+f-@"}, {"Key": "ünïcode", "Value": "値"}]
    created = iam.create_user(UserName=f"p-{unique}", Tags=tags)["User"]
    assert created["Tags"] == tags
    assert iam.get_user(UserName=f"p-{unique}")["User"]["Tags"] == tags


def test_markup_in_values_is_escaped(iam, unique: str) -> None:
    trust = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},'
        '"Action":"sts:AssumeRole"}]}'
    )
    description = "</Description><Injected>&amp; \"quoted\" 'x'"
    iam.create_role(RoleName=f"esc-{unique}", AssumeRolePolicyDocument=trust, Description=description)
    assert iam.get_role(RoleName=f"esc-{unique}")["Role"]["Description"] == description


def test_response_envelope_has_result_and_request_id(server: Server) -> None:
    status, payload = _raw(server, "Action=ListUsers&Version=2010-05-08&MaxItems=1")
    assert status == 200
    root = ET.fromstring(payload)
    assert root.tag == f"{_NS}ListUsersResponse"
    assert root.find(f"{_NS}ListUsersResult/{_NS}IsTruncated") is not None
    request_id = root.findtext(f"{_NS}ResponseMetadata/{_NS}RequestId")
    assert request_id


def test_error_envelope_is_aws_error_response(server: Server, unique: str) -> None:
    status, payload = _raw(server, f"Action=GetUser&Version=2010-05-08&UserName=missing-{unique}")
    assert status == 404
    root = ET.fromstring(payload)
    assert root.tag == f"{_NS}ErrorResponse"
    assert root.findtext(f"{_NS}Error/{_NS}Type") == "Sender"
    assert root.findtext(f"{_NS}Error/{_NS}Code") == "NoSuchEntity"
    assert root.findtext(f"{_NS}RequestId")


def test_missing_required_parameter_is_validation_error(server: Server) -> None:
    status, payload = _raw(server, "Action=CreateUser&Version=2010-05-08")
    assert status == 400
    root = ET.fromstring(payload)
    assert root.findtext(f"{_NS}Error/{_NS}Code") == "ValidationError"
    assert root.findtext(f"{_NS}Error/{_NS}Message") == (
        "1 validation error detected: Value null at 'userName' failed to satisfy "
        "constraint: Member must not be "
        "null"
    )


def test_unknown_parameters_are_ignored(server: Server, iam, unique: str) -> None:
    status, _ = _raw(server, f"Action=CreateUser&Version=2010-05-08&UserName=x-{unique}&NoSuchParameter=1")
    assert status == 200
    assert iam.get_user(UserName=f"x-{unique}")["User"]["UserName"] == f"x-{unique}"


def test_several_violations_are_reported_together(iam) -> None:
    with pytest.raises(ClientError) as caught:
        iam.update_account_password_policy(
            MinimumPasswordLength=129, MaxPasswordAge=1096, PasswordReusePrevention=25
        )
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert caught.value.response["Error"]["Message"].startswith(
        "3 validation errors detected: Value at 'minimumPasswordLength'"
    )


def test_sts_answers_in_its_namespace(server: Server) -> None:
    sts = server.client("sts")
    assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{server.account_id}:root"
