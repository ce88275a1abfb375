"""What a CloudTrail record says a user or role attempted (`trail.access`), and the request path's
shortcuts that build records: flat parameters still hide their secrets, event ids stay UUIDv4."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from ostiary.trail import access, events, redaction

ACCOUNT = "123456789012"
USER = {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": f"arn:aws:iam::{ACCOUNT}:user/dev/ann",
        "accountId": ACCOUNT, "userName": "ann"}  # fmt: skip
ROLE_SESSION = {
    "type": "AssumedRole",
    "principalId": "AROAEXAMPLE:night",
    "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Export/night",
    "accountId": ACCOUNT,
    "sessionContext": {
        "sessionIssuer": {
            "type": "Role",
            "principalId": "AROAEXAMPLE",
            "arn": f"arn:aws:iam::{ACCOUNT}:role/Export",
            "accountId": ACCOUNT,
        }  # fmt: skip
    },
}


def _record(
    identity: dict[str, Any], source: str, name: str, params: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    return {
        "userIdentity": identity,
        "eventTime": "2026-12-04T12:00:00Z",
        "eventSource": f"{source}.amazonaws.com",
        "eventName": name,
        "awsRegion": "eu-west-1",
        "requestParameters": redaction.request_parameters(params),
        "recipientAccountId": ACCOUNT,
        **extra,
    }


def test_a_users_own_iam_call_acts_on_its_own_arn() -> None:
    (found,) = access.of_record(_record(USER, "iam", "GetUser", {}))
    assert (found.principal_id, found.action, found.resource) == ("AIDAEXAMPLE", "iam:GetUser", USER["arn"])
    assert found.is_allowed and found.region == "eu-west-1"
    (named,) = access.of_record(_record(USER, "iam", "GetRole", {"RoleName": "R"}, errorCode="AccessDenied"))
    assert named.resource == f"arn:aws:iam::{ACCOUNT}:role/R" and not named.is_allowed


def test_a_role_sessions_gateway_call_is_the_roles_and_names_each_permission() -> None:
    record = _record(ROLE_SESSION, "s3", "PutObject", {"Bucket": "b", "Key": "logs/2026/1.json"})
    found = list(access.of_record(record))
    assert {(a.principal_arn, a.action, a.resource) for a in found} == {
        (f"arn:aws:iam::{ACCOUNT}:role/Export", "s3:PutObject", "arn:aws:s3:::b/logs/2026/*")
    }


def test_an_s3_calls_pairs_are_worked_out_once_a_folder_and_are_its_objects_own() -> None:
    keys = ["logs/2026/1.json", "logs/2026/2.json", "a.txt", "logs/", "/lead", "x/y/z/w", "é/ü.bin", ""]
    cases = [("GetObject", {}), ("PutObject", {}), ("DeleteObject", {}), ("GetObject", {"VersionId": "v1"})]
    for name, extra in cases:
        for key in keys:
            params = redaction.request_parameters({"Bucket": "b", "Key": key, **extra})
            folded = access.permissions("s3", name, access._model_names(params), ACCOUNT, "eu-west-1")
            expected = {(action, access._folded(resource)) for action, resource in folded}
            record = _record(ROLE_SESSION, "s3", name, {"Bucket": "b", "Key": key, **extra})
            assert {(a.action, a.resource) for a in access.of_record(record)} == expected, (name, key)
    access._permissions.cache_clear()
    for i in range(50):  # a workload writing a folder's new objects
        record = _record(ROLE_SESSION, "s3", "PutObject", {"Bucket": "b", "Key": f"in/{i}.csv"})
        list(access.of_record(record))
    assert access._permissions.cache_info().misses == 1


def test_a_kms_alias_is_the_key_the_record_names() -> None:
    key = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    record = _record(
        ROLE_SESSION,
        "kms",
        "GenerateDataKey",
        {"KeyId": "alias/export"},
        resources=[{"ARN": key, "type": "AWS::KMS::Key"}],
    )
    assert [(a.action, a.resource) for a in access.of_record(record)] == [("kms:GenerateDataKey", key)]


def test_other_accounts_copies_services_and_roots_add_nothing() -> None:
    assert (
        list(access.of_record(_record(USER, "iam", "GetUser", {}) | {"recipientAccountId": "999999999999"}))
        == []
    )
    root = {
        "type": "Root",
        "principalId": ACCOUNT,
        "arn": f"arn:aws:iam::{ACCOUNT}:root",
        "accountId": ACCOUNT,
    }
    assert list(access.of_record(_record(root, "iam", "GetUser", {}))) == []
    assert (
        list(access.of_record(_record({"type": "AWSService", "invokedBy": "x"}, "iam", "GetUser", {}))) == []
    )
    assert access.of_records(["not json", "[]", "{}"]) == []


def test_flat_parameters_still_hide_their_secrets() -> None:
    assert redaction.request_parameters({"UserName": "a", "Password": "pw"}) == {
        "userName": "a",
        "password": redaction.HIDDEN,
    }
    assert redaction.request_parameters({"UserName": "a", "MaxItems": 3}) == {"userName": "a", "maxItems": 3}
    assert redaction.request_parameters({}) is None


def test_event_ids_are_unique_version_4_uuids() -> None:
    ids = [events.event_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for found in ids[:50]:
        parsed = uuid.UUID(found)
        assert str(parsed) == found and parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_a_batch_folds_to_one_attempt_per_principal_day_action_and_resource() -> None:
    """`folded` (the writer's) gives what folding each record's `of_record` by day row gives: the latest
    time and its region, allowed if any attempt was; other accounts' copies and roots add nothing."""
    records = [
        _record(USER, "iam", "GetUser", {}, eventTime="2026-12-04T12:00:05Z", awsRegion="eu-west-2"),
        _record(USER, "iam", "GetUser", {}, eventTime="2026-12-04T12:00:01Z", errorCode="AccessDenied"),
        _record(USER, "iam", "GetUser", {}, eventTime="2026-12-05T00:00:00Z"),
        _record(USER, "iam", "GetRole", {"RoleName": "R"}, errorCode="AccessDenied"),
        _record(USER, "iam", "GetRole", {"RoleName": "R"}, eventTime="2026-12-04T11:00:00Z", awsRegion="x-1"),
        _record(ROLE_SESSION, "s3", "GetObject", {"bucketName": "b", "key": "logs/1.txt"}),
        _record(
            ROLE_SESSION,
            "s3",
            "GetObject",
            {"bucketName": "b", "key": "logs/2.txt"},
            errorCode="AccessDenied",
            eventTime="2026-12-04T13:00:00Z",
        ),  # fmt: skip
        _record(USER, "iam", "GetUser", {}) | {"recipientAccountId": "999999999999"},
        _record({"type": "Root", "accountId": ACCOUNT}, "iam", "GetUser", {}),
    ]
    expected: dict[tuple[str, str, str, str], Any] = {}
    for record in records:
        for found in access.of_record(record):
            key = (found.principal_id, found.at.date().isoformat(), found.action, found.resource)
            kept = expected.get(key)
            if kept is None or found.at > kept.at:
                allowed = found.is_allowed or (kept is not None and kept.is_allowed)
                expected[key] = dataclasses.replace(found, is_allowed=allowed)
            elif found.is_allowed:
                expected[key] = dataclasses.replace(kept, is_allowed=True)
    folded = access.folded(records)
    assert len(folded) == len(expected) == 4
    assert sorted(folded, key=str) == sorted(expected.values(), key=str)
    (role_day,) = [a for a in folded if a.action == "s3:GetObject"]
    assert (role_day.resource, role_day.is_allowed, role_day.at.hour) == ("arn:aws:s3:::b/logs/*", True, 13)


def test_parameters_no_record_can_hold_add_no_attempt() -> None:
    assert access.folded([_record(USER, "iam", "GetUser", {}) | {"requestParameters": {"a": {1, 2}}}]) == []
    assert access.folded([_record(USER, "iam", "GetUser", {}) | {"eventTime": "yesterday"}]) == []
