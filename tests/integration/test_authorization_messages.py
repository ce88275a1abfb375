"""DecodeAuthorizationMessage through boto3, on a message sealed with the server's own keyring.

In AWS only some services (EC2...) answer a refusal with an encoded authorization message; IAM and STS
never do, so no Ostiary operation issues one yet (the README says so). The encoder the server would use
(services.sts.encode_authorization_message) seals one here with the keyring in the server's data folder,
and a real client decodes it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ostiary.services.sts import encode_authorization_message
from ostiary.store.keyring import Keyring
from tests.conftest import Server

DECISION = {  # the shape AWS decodes for an EC2 refusal
    "allowed": False,
    "explicitDeny": False,
    "matchedStatements": {"items": []},
    "failures": {"items": []},
    "context": {
        "principal": {"id": "AIDAEXAMPLE", "name": "alice", "arn": "arn:aws:iam::123456789012:user/alice"},
        "action": "ec2:RunInstances",
        "resource": "arn:aws:ec2:us-east-1:123456789012:instance/*",
        "conditions": {"items": [{"key": "aws:Region", "values": {"items": [{"value": "us-east-1"}]}}]},
    },
}


def _encoded(server: Server, account_id: str = "123456789012") -> str:
    return encode_authorization_message(Keyring.load(server.data_dir), account_id, DECISION)


def test_a_message_the_server_encodes_decodes_through_boto3(server: Server, sts: Any) -> None:
    decoded = sts.decode_authorization_message(EncodedMessage=_encoded(server))["DecodedMessage"]
    assert json.loads(decoded) == DECISION


def test_decoding_needs_sts_decode_authorization_message(server: Server, iam: Any, unique: str) -> None:
    name = f"decoder-{unique}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    sts = server.client("sts", key["AccessKeyId"], key["SecretAccessKey"])
    with pytest.raises(ClientError) as exc:
        sts.decode_authorization_message(EncodedMessage=_encoded(server))
    assert exc.value.response["Error"]["Code"] == "AccessDenied"
    allow = {"Effect": "Allow", "Action": "sts:DecodeAuthorizationMessage", "Resource": "*"}
    iam.put_user_policy(
        UserName=name,
        PolicyName="decode",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [allow]}),
    )
    decoded = sts.decode_authorization_message(EncodedMessage=_encoded(server))["DecodedMessage"]
    assert json.loads(decoded)["context"]["action"] == "ec2:RunInstances"


def test_a_tampered_message_is_invalid(server: Server, sts: Any) -> None:
    encoded = _encoded(server)
    tampered = encoded[:20] + ("A" if encoded[20] != "A" else "B") + encoded[21:]
    with pytest.raises(ClientError) as exc:
        sts.decode_authorization_message(EncodedMessage=tampered)
    assert exc.value.response["Error"]["Code"] == "InvalidAuthorizationMessageException"
