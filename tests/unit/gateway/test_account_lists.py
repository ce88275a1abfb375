"""The account-wide lists cut to the caller's own (`ownership.visible_answer`) and their sealed tokens
(`listtokens`), without a server: ListBackups, ListExports, ListImports, ListGlobalTables and
ListRetirableGrants."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from ostiary.errors import AwsError
from ostiary.gateway import listtokens, ownership
from ostiary.gateway.operations import Operation
from ostiary.store.keyring import Keyring

KEYRING = Keyring(b"\x07" * 32)
REGION = "us-east-1"
IMPORTS = Operation("dynamodb", "ListImports")
_HEX_TOKEN = re.compile(r"(?:[0-9a-f]{16})+")


def _visible(owned: dict[tuple[str, str], set[str]]) -> ownership.Visible:
    """The caller owns `owned[(service, region)]`; records every look."""

    def visible(service: str, region: str, names: list[str]) -> set[str]:
        return set(names) & owned.get((service, region), set())

    return visible


def _cut(operation: Operation, answer: dict[str, Any], owned: dict[tuple[str, str], set[str]]) -> Any:
    body = ownership.visible_answer(operation, REGION, json.dumps(answer).encode(), _visible(owned))
    return None if body is None else json.loads(body)


@pytest.mark.parametrize("size", [0, 1, 7, 8, 27, 28, 29, 100, 300, 476])
def test_an_import_token_has_the_models_shape_and_opens_to_the_backends(size: int) -> None:
    backend = "x" * size
    token = listtokens.seal(KEYRING, "111122223333", IMPORTS, backend)
    assert _HEX_TOKEN.fullmatch(token) and 112 <= len(token) <= 1024
    assert listtokens.open_token(KEYRING, "111122223333", IMPORTS, token) == backend


@pytest.mark.parametrize(
    "bad",
    [
        "0123456789abcdef" * 8,  # of the shape, sealed by nobody
        "0123456789ABCDEF" * 8,  # upper case: not the shape
        "0123456789abcde" * 8,  # not whole 16-character blocks
        "",
    ],
)
def test_an_import_token_not_sealed_here_is_dynamodbs_validation_error(bad: str) -> None:
    with pytest.raises(AwsError) as refused:
        listtokens.open_token(KEYRING, "111122223333", IMPORTS, bad)
    assert (refused.value.code, refused.value.status) == ("ValidationException", 400)
    assert refused.value.message == "The provided NextToken is not valid"


def test_an_import_token_opens_for_its_own_account_and_list_only() -> None:
    token = listtokens.seal(KEYRING, "111122223333", IMPORTS, "abc")
    for account, operation in (
        ("444455556666", IMPORTS),
        ("111122223333", Operation("dynamodb", "ListExports")),
    ):
        with pytest.raises(AwsError):
            listtokens.open_token(KEYRING, account, operation, token)


def test_a_backup_token_is_opened_into_its_request_member() -> None:
    operation = Operation("dynamodb", "ListBackups", {"ExclusiveStartBackupArn": "x"})
    token = listtokens.seal(KEYRING, "111122223333", operation, "arn:aws:dynamodb:r:1:table/t/backup/1")
    asked = Operation("dynamodb", "ListBackups", {"ExclusiveStartBackupArn": token, "Limit": 1})
    body = json.dumps(asked.params).encode()
    opened = json.loads(listtokens.json_body(KEYRING, "111122223333", asked, body))
    assert opened == {"ExclusiveStartBackupArn": "arn:aws:dynamodb:r:1:table/t/backup/1", "Limit": 1}


def test_list_backups_keeps_the_backups_of_own_tables_in_their_arns_region() -> None:
    answer = {
        "BackupSummaries": [
            {"TableName": "mine", "TableArn": "arn:aws:dynamodb:eu-west-1:1:table/mine", "BackupArn": "a"},
            {"TableName": "mine", "TableArn": f"arn:aws:dynamodb:{REGION}:1:table/mine", "BackupArn": "b"},
            {"TableName": "theirs", "BackupArn": "c"},
            {"BackupArn": "no table"},
        ],
        "LastEvaluatedBackupArn": "c",
    }
    cut = _cut(Operation("dynamodb", "ListBackups"), answer, {("dynamodb", "eu-west-1"): {"mine"}})
    assert [b["BackupArn"] for b in cut["BackupSummaries"]] == ["a"]
    assert cut["LastEvaluatedBackupArn"] == "c"  # sealed afterwards (`listtokens.sealed_answer`)


MINE_ARN = f"arn:aws:dynamodb:{REGION}:1:table/mine"


def test_list_exports_and_imports_read_the_table_after_the_last_table_marker() -> None:
    exports = {
        "ExportSummaries": [
            {"ExportArn": f"arn:aws:dynamodb:{REGION}:1:table/mine/export/01"},
            {"ExportArn": f"arn:aws:dynamodb:{REGION}:1:table/{MINE_ARN}/import/02"},  # as moto writes it
            {"ExportArn": f"arn:aws:dynamodb:{REGION}:1:table/theirs/export/03"},
            {"ExportArn": "not an arn"},
        ]
    }
    owned = {("dynamodb", REGION): {"mine"}}
    cut = _cut(Operation("dynamodb", "ListExports"), exports, owned)
    assert [e["ExportArn"][-2:] for e in cut["ExportSummaries"]] == ["01", "02"]
    imports = {
        "ImportSummaryList": [
            {"TableArn": f"arn:aws:dynamodb:{REGION}:1:table/theirs"},
            {"TableArn": f"arn:aws:dynamodb:{REGION}:1:table/mine"},
        ]
    }
    cut = _cut(Operation("dynamodb", "ListImports"), imports, owned)
    assert cut["ImportSummaryList"] == [{"TableArn": f"arn:aws:dynamodb:{REGION}:1:table/mine"}]
    assert _cut(Operation("dynamodb", "ListImports"), cut, owned) is None  # nothing to remove


def test_list_retirable_grants_reads_key_ids_and_key_arns() -> None:
    answer = {
        "Grants": [
            {"GrantId": "1", "KeyId": "k-mine"},
            {"GrantId": "2", "KeyId": "arn:aws:kms:eu-west-1:1:key/k-far"},
            {"GrantId": "3", "KeyId": "arn:aws:kms:eu-west-1:1:key/k-mine"},  # another region's key
            {"GrantId": "4", "KeyId": "arn:aws:kms:us-east-1:1:alias/k-mine"},
            {"GrantId": "5"},
        ],
        "Truncated": False,
    }
    owned = {("kms", REGION): {"k-mine"}, ("kms", "eu-west-1"): {"k-far"}}
    cut = _cut(Operation("kms", "ListRetirableGrants"), answer, owned)
    assert [g["GrantId"] for g in cut["Grants"]] == ["1", "2"]


def test_a_global_table_is_the_callers_when_every_replica_is() -> None:
    answer = {
        "GlobalTables": [
            {
                "GlobalTableName": "both",
                "ReplicationGroup": [{"RegionName": REGION}, {"RegionName": "eu-west-1"}],
            },
            {
                "GlobalTableName": "half",
                "ReplicationGroup": [{"RegionName": REGION}, {"RegionName": "eu-west-1"}],
            },
            {"GlobalTableName": "here"},
        ]
    }
    owned = {("dynamodb", REGION): {"both", "half", "here"}, ("dynamodb", "eu-west-1"): {"both"}}
    cut = _cut(Operation("dynamodb", "ListGlobalTables"), answer, owned)
    assert [t["GlobalTableName"] for t in cut["GlobalTables"]] == ["both", "here"]


def test_a_global_tables_page_ending_on_another_accounts_table_is_continued_with_its_filters() -> None:
    asked: list[tuple[str, dict[str, Any]]] = []

    def next_page(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        asked.append((operation, params))
        return {"GlobalTables": [{"GlobalTableName": "c"}, {"GlobalTableName": "d"}]}

    operation = Operation("dynamodb", "ListGlobalTables", {"Limit": 1, "RegionName": REGION})
    answer = {"GlobalTables": [{"GlobalTableName": "b"}], "LastEvaluatedGlobalTableName": "b"}
    body = ownership.visible_answer(
        operation,
        REGION,
        json.dumps(answer).encode(),
        _visible({("dynamodb", REGION): {"c", "d"}}),
        next_page,
    )
    assert body is not None
    assert json.loads(body) == {
        "GlobalTables": [{"GlobalTableName": "c"}],
        "LastEvaluatedGlobalTableName": "c",
    }
    assert asked == [
        ("ListGlobalTables", {"RegionName": REGION, "ExclusiveStartGlobalTableName": "b", "Limit": 100})
    ]


@pytest.mark.parametrize("limit", [0, -1, True, "2"])
def test_a_list_tables_limit_the_backend_would_refuse_cuts_as_a_hundred(limit: Any) -> None:
    operation = Operation("dynamodb", "ListTables", {"Limit": limit})
    answer = {"TableNames": ["a", "b"], "LastEvaluatedTableName": "b"}
    body = ownership.visible_answer(
        operation, REGION, json.dumps(answer).encode(), _visible({("dynamodb", REGION): {"a"}})
    )
    assert body is not None and json.loads(body) == {"TableNames": ["a"], "LastEvaluatedTableName": "a"}


def test_a_grant_on_another_accounts_key_shows_when_its_retiring_principal_is_the_callers() -> None:
    """As AWS: ListRetirableGrants "can include grants on KMS keys owned by other AWS accounts"."""
    answer = {
        "Grants": [
            {"GrantId": "1", "KeyId": "k-theirs", "RetiringPrincipal": "arn:aws:iam::111122223333:role/r"},
            {"GrantId": "2", "KeyId": "k-theirs", "RetiringPrincipal": "111122223333"},
            {"GrantId": "3", "KeyId": "k-theirs", "RetiringPrincipal": "arn:aws:iam::444455556666:role/r"},
            {"GrantId": "4", "KeyId": "k-theirs"},
            {"GrantId": "5", "KeyId": "k-mine", "RetiringPrincipal": "arn:aws:iam::444455556666:role/r"},
        ]
    }
    operation = Operation("kms", "ListRetirableGrants")
    visible = _visible({("kms", REGION): {"k-mine"}})
    body = ownership.visible_answer(
        operation, REGION, json.dumps(answer).encode(), visible, None, "111122223333"
    )
    assert body is not None and [g["GrantId"] for g in json.loads(body)["Grants"]] == ["1", "2", "5"]
    without = _cut(operation, answer, {("kms", REGION): {"k-mine"}})  # no account: own keys alone
    assert [g["GrantId"] for g in without["Grants"]] == ["5"]
