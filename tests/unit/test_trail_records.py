"""CloudTrail records built from a call: identity types, secrets removed, resources, shared events."""

from __future__ import annotations

import hashlib
import json
import marshal
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from ostiary.auth.caller import root_caller, session_caller, user_caller
from ostiary.auth.tokens import Session
from ostiary.trail import calls, events, redaction, writer
from ostiary.trail.identity import marshalled_identity, user_identity

NOW = datetime(2026, 12, 4, 16, 0, 0, tzinfo=UTC)


def _records(
    identity: dict[str, Any] | bytes, service: str, operation: str, params: dict[str, Any], **more: Any
) -> list[dict[str, Any]]:
    """The records of one call by `identity` in 111122223333, as the writer makes them of its frame."""
    frame = events.call(
        identity,
        "111122223333",
        service,
        operation,
        params,
        "req-1",
        NOW.timestamp(),
        "10.0.0.1",
        "aws-cli/2",
        "eu-west-1",
        **more,
    )
    return events.records(frame)


def _session(**facts: object) -> Session:
    base: dict[str, object] = {
        "access_key_id": "ASIAEXAMPLE",
        "secret": "s3cr3t",
        "account_id": "111122223333",
        "principal_type": "AssumedRole",
        "arn": "arn:aws:sts::111122223333:assumed-role/Export/michael",
        "user_id": "AROAEXAMPLE:michael",
        "issued_at": NOW,
        "expires_at": NOW + timedelta(hours=1),
        "role_id": "AROAEXAMPLE",
        "role_arn": "arn:aws:iam::111122223333:role/Export",
        "session_name": "michael",
    }
    base.update(facts)
    return Session(**base)  # type: ignore[arg-type]


def test_request_secrets_are_marked_hidden_and_answer_secrets_left_out() -> None:
    params = {
        "UserName": "a",
        "Password": "pw",
        "Nested": {"SAMLAssertion": "x", "Keep": [{"PrivateKey": "k"}]},
    }
    assert redaction.request_parameters(params) == {
        "userName": "a",
        "password": redaction.HIDDEN,
        "nested": {"sAMLAssertion": redaction.HIDDEN, "keep": [{"privateKey": redaction.HIDDEN}]},
    }
    result = {
        "Credentials": {
            "AccessKeyId": "ASIA1",
            "SecretAccessKey": "s",
            "SessionToken": "t",
            "Expiration": NOW,
        }
    }
    assert redaction.response_elements(result) == {
        "credentials": {"accessKeyId": "ASIA1", "expiration": "Dec 4, 2026 4:00:00 PM"}
    }


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2014, 7, 18, 16, 7, 39, tzinfo=UTC), "Jul 18, 2014 4:07:39 PM"),  # AWS's AssumeRole record
        (datetime(2016, 3, 23, 2, 39, 57, tzinfo=UTC), "Mar 23, 2016 2:39:57 AM"),  # its SAML record
        (datetime(2019, 10, 2, 23, 12, 29), "Oct 2, 2019 11:12:29 PM"),  # naive: UTC
        (datetime(2026, 1, 1, 0, 5, 0, tzinfo=UTC), "Jan 1, 2026 12:05:00 AM"),  # midnight is 12 AM
        (datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC), "Jan 1, 2026 12:00:00 PM"),  # noon is 12 PM
        (datetime(2026, 1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=2))), "Dec 31, 2025 11:00:00 PM"),
    ],
)
def test_dates_in_parameters_and_answers_are_cloudtrails_text(moment: datetime, text: str) -> None:
    """CloudTrail writes a date inside requestParameters/responseElements as Java's `MMM d, yyyy h:mm:ss a`
    in UTC (the IAM User Guide's STS records: "expiration": "Jul 18, 2014 4:07:39 PM")."""
    assert redaction.response_elements({"User": {"CreateDate": moment}}) == {"user": {"createDate": text}}
    assert redaction.request_parameters({"Since": moment}) == {"since": text}


def test_identity_of_root_user_and_assumed_role_with_source_identity() -> None:
    assert user_identity(root_caller("111122223333", "AKIAROOT"))["type"] == "Root"
    user = user_identity(user_caller("111122223333", "AIDAX", "alice", "/", "AKIAX"))
    assert user["type"] == "IAMUser" and user["userName"] == "alice" and "sessionContext" not in user
    role = user_identity(session_caller(_session(source_identity="michael", is_mfa_authenticated=True)))
    assert role["type"] == "AssumedRole" and "userName" not in role
    context = role["sessionContext"]
    assert context["sessionIssuer"] == {
        "type": "Role",
        "principalId": "AROAEXAMPLE",
        "arn": "arn:aws:iam::111122223333:role/Export",
        "accountId": "111122223333",
        "userName": "Export",
    }
    assert context["attributes"] == {"creationDate": "2026-12-04T16:00:00Z", "mfaAuthenticated": "true"}
    assert context["sourceIdentity"] == "michael"


def test_a_record_names_error_region_resources_and_lookup_columns() -> None:
    identity = user_identity(user_caller("111122223333", "AIDAX", "alice", "/", "AKIAX"))
    params = {"PolicyArn": "arn:aws:iam::111122223333:policy/P", "UserName": "bob"}
    (record,) = _records(identity, "iam", "AttachUserPolicy", params, error=("AccessDenied", "no"))
    assert record["awsRegion"] == "us-east-1"  # IAM is global
    assert (record["errorCode"], record["errorMessage"], record["responseElements"]) == (
        "AccessDenied",
        "no",
        None,
    )
    assert record["resources"] == [
        {"ARN": "arn:aws:iam::111122223333:policy/P", "accountId": "111122223333", "type": "AWS::IAM::Policy"}
    ]
    assert ("AWS::IAM::User", "bob") in events.lookup_resources(record)
    assert events.username_of(identity) == "alice" and record["readOnly"] is False
    (sts,) = _records(identity, "sts", "GetCallerIdentity", {})
    assert sts["awsRegion"] == "eu-west-1" and sts["readOnly"] is True and sts["requestParameters"] is None


def test_a_cross_account_record_is_copied_with_one_shared_event_id() -> None:
    identity = user_identity(root_caller("111122223333", "AKIAROOT"))
    (record,) = _records(identity, "sts", "AssumeRole", {})
    assert "sharedEventID" not in record
    mine, theirs = _records(identity, "sts", "AssumeRole", {}, others=["444455556666"])
    assert mine["recipientAccountId"] == "111122223333" and theirs["recipientAccountId"] == "444455556666"
    assert mine["sharedEventID"] == theirs["sharedEventID"] and mine["eventID"] != theirs["eventID"]


def test_a_callers_identity_is_marshalled_once_per_set_of_credentials() -> None:
    first = session_caller(_session())
    assert marshal.loads(marshalled_identity(first)) == user_identity(first)
    assert marshalled_identity(session_caller(_session())) is marshalled_identity(first)  # the same session
    later = session_caller(_session(issued_at=NOW + timedelta(minutes=5)))
    context = marshal.loads(marshalled_identity(later))["sessionContext"]
    assert context["attributes"]["creationDate"] == "2026-12-04T16:05:00Z"
    (record,) = _records(marshalled_identity(later), "iam", "GetUser", {})
    assert record["userIdentity"] == user_identity(later)


def test_event_ids_are_the_digests_version_4_uuid_as_before() -> None:
    """Written with string operations, an event id is still the digest's UUID (a replay of a segment
    written by an older version finds its events)."""
    for request_id in ["req-1", "", "é", *(f"{i:x}-{i * 7919}" for i in range(500))]:
        digest = hashlib.blake2b(f"{request_id}/111122223333".encode(), digest_size=16).digest()
        expected = events._uuid4_text(int.from_bytes(digest, "big"))
        assert events.event_id_of(request_id, "111122223333") == expected
        assert uuid.UUID(expected).version == 4


def test_a_records_json_is_compact_json_in_utf_8() -> None:
    record = _records(
        user_identity(root_caller("111122223333", "AKIA")), "iam", "CreateUser", {"UserName": "zoë"}
    )[0]
    record |= {"n": 1.5, "big": 10**20, "list": [True, None, {"é": '\u2603\n"\\'}]}
    text = writer._encode(record)
    assert text == json.dumps(record, separators=(",", ":"), ensure_ascii=False)
    assert json.loads(text) == record
    assert json.loads(writer._encode({"nan": float("nan")})) == {"nan": None}  # JSON has no NaN
    with pytest.raises(TypeError):
        writer._encode({"when": NOW})


@pytest.mark.parametrize(
    ("status", "content_type", "body", "expected"),
    [
        (200, "application/xml", b"<Error><Code>NoSuchKey</Code></Error>", None),  # a success says none
        (
            400,
            "application/x-amz-json-1.0",
            b'{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",'
            b'"message":"Requested resource not found"}',
            ("ResourceNotFoundException", "Requested resource not found"),
        ),
        (
            400,
            "application/x-amz-json-1.1",
            b'{"__type":"NotFoundException","Message":"gone"}',
            ("NotFoundException", "gone"),
        ),
        (
            404,
            "application/xml",
            b'<?xml version="1.0"?><Error><Code>NoSuchKey</Code>'
            b"<Message>The key &amp; more</Message></Error>",
            ("NoSuchKey", "The key & more"),
        ),
        (404, None, b"", ("NotFound", "")),  # a HEAD's answer has no body
        (503, "application/x-amz-json-1.0", b"not json", ("ServiceUnavailable", "")),
        (599, "text/plain", b"", ("599", "")),
    ],
)
def test_a_gateway_answers_error_as_cloudtrail_records_it(
    status: int, content_type: str | None, body: bytes, expected: tuple[str, str] | None
) -> None:
    assert calls.answered_error(status, content_type, body) == expected
