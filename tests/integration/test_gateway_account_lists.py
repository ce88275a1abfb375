"""The account-wide lists the backend answers for every account at once, cut to the caller's own:
DynamoDB's ListBackups, ListExports, ListImports and ListGlobalTables, KMS's ListRetirableGrants. Each
account sees the entries of its own tables and keys; the backend's continuation token (which names the
last entry it listed, whoever owns it) is sealed for the caller's account and list, or, for
ListGlobalTables, ends on the caller's own global table; another account's token, a forged or an
oversized one, is refused with the service's error before the backend sees it.

moto serves ListBackups and ListRetirableGrants without pages, and ListExports only for one table; it
does not serve ListImports or ListGlobalTables. So the backend here is moto behind a proxy that pages
them as a naive backend would (its token the last entry's ARN, id or name, in hex for ListImports as the
model's pattern asks), answers ListExports without a table from every table it saw exported, and makes
ListImports and ListGlobalTables up from moto's tables: one import and one global table (in us-east-1)
per table. It records every token it is given.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT
from tests.integration.gateway_helpers import moto_backend
from tests.integration.gateway_helpers import refusal as _refusal
from tests.integration.test_gateway_list_tokens import KMS_BAD_MARKER, _Paginating, serving
from tests.integration.test_gateway_ownership import Harness, running_harness

pytest.importorskip(
    "moto.server", reason="moto's server is the gateway's test backend (pip install moto[server])"
)

REGION = "us-east-1"
MOTO_ACCOUNT = "123456789012"
NOBODY = "999988887777"  # an account neither caller is: its principals retire grants of keys alone
DYNAMODB = "DynamoDB_20120810."
_HEX_TOKEN = re.compile(r"(?:[0-9a-f]{16})+")


def _bad_token(member: str) -> tuple[str, str, int]:
    return ("ValidationException", f"The provided {member} is not valid", 400)


class _Lists(_Paginating):
    """`_Paginating` (ListBuckets, ListKeys, ListAliases) and the account-wide lists, paged."""

    exported: set[str]  # the table ARNs of every export moto made

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        target = self.headers.get("x-amz-target", "")
        serve: dict[str, Callable[[dict[str, Any]], None]] = {
            DYNAMODB + "ListBackups": self._list_backups,
            DYNAMODB + "ListExports": self._list_exports,
            DYNAMODB + "ListImports": self._list_imports,
            DYNAMODB + "ListGlobalTables": self._list_global_tables,
            DYNAMODB + "ExportTableToPointInTime": self._export,
            "TrentService.ListRetirableGrants": self._list_grants,
        }
        if target not in serve:
            super().do_POST()
            return
        serve[target](json.loads(self._body() or b"{}"))

    def _call(self, target: str, params: dict[str, Any]) -> tuple[int, Any]:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        headers["x-amz-target"] = target
        status, _, data = self._moto("POST", "/", json.dumps(params).encode(), headers)
        return status, json.loads(data)

    def _json(self, status: int, answer: Any) -> None:
        kind = (
            "application/x-amz-json-1.0"
            if "DynamoDB" in self.headers.get("x-amz-target", "")
            else ("application/x-amz-json-1.1")
        )
        self._answer(status, [("content-type", kind)], json.dumps(answer).encode())

    def _page(
        self, entries: list[Any], ids: list[str], start: str | None, size: int
    ) -> tuple[list[Any], str | None] | None:
        """Entries after `start` (None: a start this backend never handed out), and the last one's id
        when more follow."""
        first = 0
        if start is not None:
            self.received.append(start)
            if start not in ids:
                return None
            first = ids.index(start) + 1
        page = entries[first : first + size]
        return page, (ids[first + size - 1] if first + size < len(entries) else None)

    def _bad(self) -> None:
        self._json(400, {"__type": "com.amazonaws.dynamodb.v20120810#ValidationException", "message": "bad"})

    def _tables(self) -> list[str]:
        names: list[str] = []
        params: dict[str, Any] = {"Limit": 100}
        while True:
            _, page = self._call(DYNAMODB + "ListTables", params)
            names += page.get("TableNames", [])
            if "LastEvaluatedTableName" not in page:
                return sorted(names)
            params["ExclusiveStartTableName"] = page["LastEvaluatedTableName"]

    def _list_backups(self, params: dict[str, Any]) -> None:
        start, size = params.pop("ExclusiveStartBackupArn", None), int(params.pop("Limit", 100))
        status, answer = self._call(DYNAMODB + "ListBackups", params)
        entries = answer.get("BackupSummaries", [])
        paged = self._page(entries, [e["BackupArn"] for e in entries], start, size)
        if paged is None:
            return self._bad()
        out: dict[str, Any] = {"BackupSummaries": paged[0]}
        if paged[1] is not None:
            out["LastEvaluatedBackupArn"] = paged[1]
        return self._json(status, out)

    def _export(self, params: dict[str, Any]) -> None:
        status, answer = self._call(DYNAMODB + "ExportTableToPointInTime", params)
        if status == 200:
            self.exported.add(params["TableArn"])
        self._json(status, answer)

    def _list_exports(self, params: dict[str, Any]) -> None:
        start, size = params.pop("NextToken", None), int(params.pop("MaxResults", 25))
        entries: list[Any] = []
        for table_arn in [params["TableArn"]] if "TableArn" in params else sorted(self.exported):
            entries += self._call(DYNAMODB + "ListExports", {"TableArn": table_arn})[1]["ExportSummaries"]
        paged = self._page(entries, [e["ExportArn"] for e in entries], start, size)
        if paged is None:
            return self._bad()
        out: dict[str, Any] = {"ExportSummaries": paged[0]}
        if paged[1] is not None:
            out["NextToken"] = paged[1]  # the last export's ARN, its table's name in it
        return self._json(200, out)

    def _list_imports(self, params: dict[str, Any]) -> None:
        token, size = params.get("NextToken"), int(params.get("PageSize", 25))
        start = bytes.fromhex(token).rstrip(b"\0").decode() if isinstance(token, str) else None
        arns = [f"arn:aws:dynamodb:{REGION}:{MOTO_ACCOUNT}:table/{name}" for name in self._tables()]
        entries = [
            {"ImportArn": f"{arn}/import/01{n:014d}", "ImportStatus": "COMPLETED", "TableArn": arn}
            for n, arn in enumerate(arns)
        ]
        paged = self._page(entries, [e["ImportArn"] for e in entries], start, size)
        if paged is None:
            return self._bad()
        out: dict[str, Any] = {"ImportSummaryList": paged[0]}
        if paged[1] is not None:
            out["NextToken"] = _hex(paged[1])
        return self._json(200, out)

    def _list_global_tables(self, params: dict[str, Any]) -> None:
        start, size = params.get("ExclusiveStartGlobalTableName"), int(params.get("Limit", 100))
        names = self._tables() if params.get("RegionName", REGION) == REGION else []
        entries = [{"GlobalTableName": n, "ReplicationGroup": [{"RegionName": REGION}]} for n in names]
        if start is not None:  # a name: the tables after it, as DynamoDB pages ListTables
            self.received.append(start)
            entries = [e for e in entries if e["GlobalTableName"] > start]
        out: dict[str, Any] = {"GlobalTables": entries[:size]}
        if len(entries) > size:
            out["LastEvaluatedGlobalTableName"] = entries[size - 1]["GlobalTableName"]
        self._json(200, out)

    def _list_grants(self, params: dict[str, Any]) -> None:
        start, size = params.pop("Marker", None), int(params.pop("Limit", 50))
        status, answer = self._call("TrentService.ListRetirableGrants", params)
        entries = answer.get("Grants", [])
        paged = self._page(entries, [e["GrantId"] for e in entries], start, size)
        if paged is None:
            return self._json(400, {"__type": "InvalidMarkerException", "message": "bad marker"})
        out: dict[str, Any] = {"Grants": paged[0], "Truncated": paged[1] is not None}
        if paged[1] is not None:
            out["NextMarker"] = paged[1]
        return self._json(status, out)


def _table_in(arn: str) -> str:
    """The table's name in an export's ARN (moto writes `...:table/<table ARN>/import/<id>`)."""
    return arn.rsplit(":table/", 1)[1].split("/", 1)[0]


def _hex(text: str) -> str:
    """A token of ImportNextToken's shape (`([0-9a-f]{16})+`, 112 characters at least) spelling `text`."""
    raw = text.encode().hex()
    return raw + "0" * (max(112, len(raw) + (-len(raw) % 16)) - len(raw))


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from moto_backend(tmp_path_factory)


@pytest.fixture(scope="module")
def proxy(moto: str) -> Iterator[type[_Lists]]:
    yield from serving(_Lists, moto, exported=set())


@pytest.fixture(scope="module")
def harness(proxy: type[_Lists], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    yield from running_harness(proxy.url, tmp_path_factory)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def other(harness: Harness) -> dict[str, str]:
    """A second account's root."""
    return harness.account()


def _table(dynamodb: Any, name: str) -> str:
    described = dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return str(described["TableDescription"]["TableArn"])


def _interleaved_tables(harness: Harness, other: dict[str, str]) -> tuple[list[str], list[str]]:
    """Five tables under a new prefix, made in turn by the default account and `other`, sorted by
    name: (the default account's, other's)."""
    prefix = f"al{uuid.uuid4().hex[:8]}-"
    own: list[str] = []
    theirs: list[str] = []
    for n in range(5):
        name = f"{prefix}{n}"
        _table(harness.client("dynamodb", other if n % 2 else None), name)
        (theirs if n % 2 else own).append(name)
    return own, theirs


def _pages(
    call: Callable[..., Any], entries: str, given: str, answered: str, params: dict[str, Any]
) -> tuple[list[Any], list[str]]:
    """Every entry of a list, page by page: (the entries, the tokens handed out)."""
    found: list[Any] = []
    tokens: list[str] = []
    for _ in range(200):
        page = call(**params)
        found += page.get(entries, [])
        token = page.get(answered)
        if not token:
            return found, tokens
        tokens.append(token)
        params = {**params, given: token}
    raise AssertionError("the pages never ended")


# -- ListBackups ----------------------------------------------------------------------------------


def _backups(harness: Harness, other: dict[str, str]) -> tuple[list[str], list[str], list[str]]:
    """A backup of each of five interleaved tables: (the default account's backup ARNs, other's,
    every table's name)."""
    own_tables, their_tables = _interleaved_tables(harness, other)
    own: list[str] = []
    theirs: list[str] = []
    for name in sorted(own_tables + their_tables):
        mine = name in own_tables
        dynamodb = harness.client("dynamodb", None if mine else other)
        arn = dynamodb.create_backup(TableName=name, BackupName=f"b-{name}")["BackupDetails"]["BackupArn"]
        (own if mine else theirs).append(arn)
    return own, theirs, own_tables + their_tables


def _backup_pages(harness: Harness, creds: dict[str, str] | None) -> tuple[list[str], list[str]]:
    dynamodb = harness.client("dynamodb", creds)
    found, tokens = _pages(
        dynamodb.list_backups,
        "BackupSummaries",
        "ExclusiveStartBackupArn",
        "LastEvaluatedBackupArn",
        {"Limit": 1},
    )
    return [b["BackupArn"] for b in found], tokens


def test_list_backups_pages_show_the_callers_own_and_their_tokens_name_nothing(
    harness: Harness, other: dict[str, str], proxy: type[_Lists]
) -> None:
    own, theirs, tables = _backups(harness, other)
    received = len(proxy.received)
    listed, tokens = _backup_pages(harness, None)
    assert set(own) <= set(listed) and not set(theirs) & set(listed)
    assert tokens and all(t.startswith("ot1.") and 37 <= len(t) <= 1024 for t in tokens)
    assert not any(name in token for token in tokens for name in tables + own + theirs)
    # the backend got its own tokens, opened: its ARNs, in its own account (moto's, the default's here)
    in_backend = {arn.replace(f":{other['AccountId']}:", f":{harness.server.account_id}:") for arn in theirs}
    assert in_backend <= set(proxy.received[received:])
    their_listed, _ = _backup_pages(harness, other)
    assert set(theirs) <= set(their_listed) and not set(own) & set(their_listed)


def test_list_backups_of_another_accounts_table_is_refused_as_cross_account(
    harness: Harness, other: dict[str, str]
) -> None:
    _, theirs, _ = _backups(harness, other)
    table = theirs[0].split(":table/", 1)[1].split("/", 1)[0]
    with pytest.raises(ClientError) as refused:
        harness.client("dynamodb").list_backups(TableName=table)
    code, message, status = _refusal(refused.value)
    assert (code, status) == ("AccessDeniedException", 400)
    assert (
        f"dynamodb:ListBackups on resource: arn:aws:dynamodb:{REGION}:{other['AccountId']}:table/{table}"
        in message
    )


def test_a_deleted_tables_backups_stay_its_accounts_and_its_name_too(
    harness: Harness, other: dict[str, str]
) -> None:
    """The backend keeps a deleted table's backups, named by the table: they stay the deleting
    account's, never the default account's nor that of another account making the name again."""
    name = f"gone{uuid.uuid4().hex[:8]}"
    theirs = harness.client("dynamodb", other)
    _table(theirs, name)
    backup = theirs.create_backup(TableName=name, BackupName="before")["BackupDetails"]["BackupArn"]
    theirs.delete_table(TableName=name)
    listed, _ = _backup_pages(harness, None)  # the default account
    assert backup not in listed
    with pytest.raises(ClientError) as refused:  # nor may it restore it
        harness.client("dynamodb").restore_table_from_backup(TargetTableName=f"{name}-r", BackupArn=backup)
    assert _refusal(refused.value)[0] == "AccessDeniedException"
    with pytest.raises(ClientError) as taken:  # the name is still theirs
        _table(harness.client("dynamodb"), name)
    assert _refusal(taken.value)[:2] == ("ResourceInUseException", f"Table already exists: {name}")
    their_listed, _ = _backup_pages(harness, other)
    assert backup in their_listed
    _table(theirs, name)  # the owner may make it again


# -- ListExports ----------------------------------------------------------------------------------


def _exports(harness: Harness, other: dict[str, str]) -> tuple[list[str], list[str]]:
    """An export of each of four tables, two per account, each to its own account's bucket: (the
    default account's export ARNs, other's)."""
    own: list[str] = []
    theirs: list[str] = []
    for creds, found in ((None, own), (other, theirs)):
        bucket = f"al-exports-{uuid.uuid4().hex[:8]}"
        harness.client("s3", creds).create_bucket(Bucket=bucket)
        dynamodb = harness.client("dynamodb", creds)
        for _ in range(2):
            name = f"ex{uuid.uuid4().hex[:8]}"
            arn = _table(dynamodb, name)
            dynamodb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
            described = dynamodb.export_table_to_point_in_time(TableArn=arn, S3Bucket=bucket, S3Prefix="x")
            found.append(described["ExportDescription"]["ExportArn"])
    return own, theirs


def test_list_exports_pages_show_the_callers_own_and_their_tokens_name_nothing(
    harness: Harness, other: dict[str, str], proxy: type[_Lists]
) -> None:
    own, theirs = _exports(harness, other)
    received = len(proxy.received)
    for creds, mine, not_mine in ((None, own, theirs), (other, theirs, own)):
        dynamodb = harness.client("dynamodb", creds)
        found, tokens = _pages(
            dynamodb.list_exports, "ExportSummaries", "NextToken", "NextToken", {"MaxResults": 1}
        )
        listed = [e["ExportArn"] for e in found]
        assert set(mine) <= set(listed) and not set(not_mine) & set(listed)
        assert tokens and all(t.startswith("ot1.") for t in tokens)
        assert not any(_table_in(arn) in token for token in tokens for arn in own + theirs)
    assert set(own + theirs) & set(proxy.received[received:])


def test_list_exports_of_another_accounts_table_is_refused_as_cross_account(
    harness: Harness, other: dict[str, str]
) -> None:
    _, theirs = _exports(harness, other)
    table = _table_in(theirs[0])
    for account in (other["AccountId"], MOTO_ACCOUNT):  # the owner's ARN, and the backend's spelling
        table_arn = f"arn:aws:dynamodb:{REGION}:{account}:table/{table}"
        with pytest.raises(ClientError) as refused:
            harness.client("dynamodb").list_exports(TableArn=table_arn)
        code, message, status = _refusal(refused.value)
        assert (code, status) == ("AccessDeniedException", 400)
        owned = f"arn:aws:dynamodb:{REGION}:{other['AccountId']}:table/{table}"
        assert f"dynamodb:ListExports on resource: {owned} " in message


# -- ListImports (made up by the proxy: one per table) --------------------------------------------


def test_list_imports_pages_show_the_callers_own_and_their_tokens_keep_the_models_shape(
    harness: Harness, other: dict[str, str], proxy: type[_Lists]
) -> None:
    own, theirs = _interleaved_tables(harness, other)
    received = len(proxy.received)
    for creds, mine, not_mine in ((None, own, theirs), (other, theirs, own)):
        dynamodb = harness.client("dynamodb", creds)
        found, tokens = _pages(
            dynamodb.list_imports, "ImportSummaryList", "NextToken", "NextToken", {"PageSize": 1}
        )
        listed = {e["TableArn"].split(":table/", 1)[1] for e in found}
        assert set(mine) <= listed and not set(not_mine) & listed
        assert tokens and all(_HEX_TOKEN.fullmatch(t) and 112 <= len(t) <= 1024 for t in tokens)
        given = proxy.received[received:]
        assert not set(tokens) & set(given)  # sealed: the backend's tokens are other strings
    given = proxy.received[received:]  # the backend's own tokens, opened: each page's import ARN
    assert any(f":table/{name}/import/" in arn for arn in given for name in theirs)


# -- ListGlobalTables (made up by the proxy: one per table) ---------------------------------------


def test_list_global_tables_pages_never_name_another_accounts_table(
    harness: Harness, other: dict[str, str]
) -> None:
    own, theirs = _interleaved_tables(harness, other)
    dynamodb = harness.client("dynamodb", other)
    for limit in (1, 2, 3, 100):
        seen: list[str] = []
        params: dict[str, Any] = {"Limit": limit}
        for _ in range(500):
            page = dynamodb.list_global_tables(**params)
            names = [t["GlobalTableName"] for t in page["GlobalTables"]]
            seen += names
            assert len(names) <= limit and not set(names) & set(own)
            last = page.get("LastEvaluatedGlobalTableName")
            if last is None:
                break
            assert last in seen  # one of the caller's own
            params["ExclusiveStartGlobalTableName"] = last
        assert [n for n in seen if n in theirs] == theirs
    assert dynamodb.list_global_tables(RegionName="us-west-2")["GlobalTables"] == []


def test_list_global_tables_is_continued_past_other_accounts_tables(
    harness: Harness, other: dict[str, str], proxy: type[_Lists]
) -> None:
    """A backend page of other accounts' tables alone ends on another's name: the gateway asks the
    backend on from there, and hands out the caller's own next table, never that name."""
    own, theirs = _interleaved_tables(harness, other)
    received = len(proxy.received)
    dynamodb = harness.client("dynamodb", other)
    page = dynamodb.list_global_tables(ExclusiveStartGlobalTableName=theirs[0], Limit=1)
    assert [t["GlobalTableName"] for t in page["GlobalTables"]] == [theirs[1]]
    assert page.get("LastEvaluatedGlobalTableName") in (None, theirs[1])
    assert proxy.received[received:][:2] == [theirs[0], own[1]]  # the backend's page of own[1] alone


# -- ListRetirableGrants --------------------------------------------------------------------------


def _grants(harness: Harness, other: dict[str, str], retiring: str) -> tuple[list[str], list[str]]:
    """Two grants on a key of each account, interleaved, retired by `retiring`: (the default
    account's grant ids, other's)."""
    own: list[str] = []
    theirs: list[str] = []
    keys = {
        None: harness.client("kms").create_key()["KeyMetadata"]["KeyId"],
        "other": harness.client("kms", other).create_key()["KeyMetadata"]["KeyId"],
    }
    for n in range(4):
        mine = n % 2 == 0
        kms = harness.client("kms", None if mine else other)
        grant = kms.create_grant(
            KeyId=keys[None if mine else "other"],
            GranteePrincipal=f"arn:aws:iam::{MOTO_ACCOUNT}:role/grantee",
            RetiringPrincipal=retiring,
            Operations=["Decrypt"],
        )
        (own if mine else theirs).append(grant["GrantId"])
    return own, theirs


def test_list_retirable_grants_shows_each_account_the_grants_of_its_own_keys(
    harness: Harness, other: dict[str, str], proxy: type[_Lists]
) -> None:
    retiring = f"arn:aws:iam::{NOBODY}:role/retirer-{uuid.uuid4().hex[:8]}"
    own, theirs = _grants(harness, other, retiring)
    received = len(proxy.received)
    for creds, mine in ((None, own), (other, theirs)):
        kms = harness.client("kms", creds)
        found, markers = _pages(
            kms.list_retirable_grants,
            "Grants",
            "Marker",
            "NextMarker",
            {"RetiringPrincipal": retiring, "Limit": 1},
        )
        assert sorted(g["GrantId"] for g in found) == sorted(mine)
        assert markers and all(m.startswith("ot1.") and len(m) <= 1024 for m in markers)
        assert not any(grant in marker for marker in markers for grant in own + theirs)
    assert set(theirs) & set(proxy.received[received:])  # the backend's markers, opened


def test_a_grant_on_another_accounts_key_shows_when_its_retiring_principal_is_the_callers(
    harness: Harness, other: dict[str, str]
) -> None:
    """As AWS: the grants ListRetirableGrants answers "can include grants on KMS keys owned by other
    AWS accounts"; one naming another account's principal stays hidden."""
    kms = harness.client("kms", other)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    unique = uuid.uuid4().hex[:8]
    mine = f"arn:aws:iam::{ACCOUNT}:role/retirer-{unique}"
    theirs = f"arn:aws:iam::{other['AccountId']}:role/retirer-{unique}"
    granted = {}
    for principal in (mine, theirs):
        grant = kms.create_grant(
            KeyId=key, GranteePrincipal=theirs, RetiringPrincipal=principal, Operations=["Decrypt"]
        )
        granted[principal] = grant["GrantId"]
    listed = harness.client("kms").list_retirable_grants(RetiringPrincipal=mine)["Grants"]
    assert [g["GrantId"] for g in listed] == [granted[mine]]
    assert harness.client("kms").list_retirable_grants(RetiringPrincipal=theirs)["Grants"] == []
    for principal in (mine, theirs):  # the key's owner sees both
        listed = harness.client("kms", other).list_retirable_grants(RetiringPrincipal=principal)["Grants"]
        assert [g["GrantId"] for g in listed] == [granted[principal]]


# -- tokens refused: another account's, another list's, forged, oversized -------------------------


def _first_token(harness: Harness, other: dict[str, str], kind: str) -> str:
    """A token the default account was handed for the list `kind`."""
    if kind == "backups":
        _backups(harness, other)
        return str(harness.client("dynamodb").list_backups(Limit=1)["LastEvaluatedBackupArn"])
    if kind == "exports":
        _exports(harness, other)
        return str(harness.client("dynamodb").list_exports(MaxResults=1)["NextToken"])
    _interleaved_tables(harness, other)
    return str(harness.client("dynamodb").list_imports(PageSize=1)["NextToken"])


_LISTS = {
    "backups": ("list_backups", "ExclusiveStartBackupArn", {"Limit": 1}),
    "exports": ("list_exports", "NextToken", {"MaxResults": 1}),
    "imports": ("list_imports", "NextToken", {"PageSize": 1}),
}


@pytest.mark.parametrize("kind", sorted(_LISTS))
def test_a_dynamodb_token_of_one_account_or_list_is_refused_elsewhere_before_the_backend(
    harness: Harness, other: dict[str, str], proxy: type[_Lists], kind: str
) -> None:
    token = _first_token(harness, other, kind)
    method, member, params = _LISTS[kind]
    received = len(proxy.received)
    with pytest.raises(ClientError) as refused:
        getattr(harness.client("dynamodb", other), method)(**params, **{member: token})
    assert _refusal(refused.value) == _bad_token(member)
    for elsewhere in sorted(set(_LISTS) - {kind}):  # the same account's other lists
        other_method, other_member, other_params = _LISTS[elsewhere]
        if elsewhere == "imports" and not _HEX_TOKEN.fullmatch(token):
            continue  # not of ListImports' shape: botocore sends it, but the next case covers it
        with pytest.raises(ClientError) as listed:
            getattr(harness.client("dynamodb"), other_method)(**other_params, **{other_member: token})
        assert _refusal(listed.value) == _bad_token(other_member)
    assert proxy.received[received:] == []
    getattr(harness.client("dynamodb"), method)(**params, **{member: token})  # its own account and list
    assert len(proxy.received) == received + 1


def _forged(kind: str, theirs: str) -> list[str]:
    forged = [
        theirs,  # the backend's own token, naming another account's entry, as a naive backend writes it
        "ot1." + "A" * 120,  # botocore sends no ImportNextToken under 112 characters
        "ot1.not base64!" + "A" * 120,
        "ot1." + "A" * 9000,  # oversized
        "0123456789abcdef" * 8,
        "0123456789abcdef" * 600,  # oversized, of ListImports' shape
    ]
    return forged + ([""] if kind == "exports" else [])  # botocore sends no shorter ARN than 37


@pytest.mark.parametrize("kind", sorted(_LISTS))
def test_forged_dynamodb_tokens_are_refused_before_the_backend(
    harness: Harness, other: dict[str, str], proxy: type[_Lists], kind: str
) -> None:
    method, member, params = _LISTS[kind]
    if kind == "backups":
        their_token = _backups(harness, other)[1][0]
    elif kind == "exports":
        their_token = _exports(harness, other)[1][0]
    else:
        their_token = _hex(f"arn:aws:dynamodb:{REGION}:{MOTO_ACCOUNT}:table/x/import/01")
    dynamodb = harness.client("dynamodb")
    received = len(proxy.received)
    for forged in _forged(kind, their_token):
        with pytest.raises(ClientError) as refused:
            getattr(dynamodb, method)(**params, **{member: forged})
        assert _refusal(refused.value) == _bad_token(member), forged[:40]
    assert proxy.received[received:] == []


def test_an_altered_import_token_is_refused(
    harness: Harness, other: dict[str, str], proxy: type[_Lists]
) -> None:
    token = _first_token(harness, other, "imports")
    flipped = token[:-20] + ("0" if token[-20] != "0" else "1") + token[-19:]
    received = len(proxy.received)
    with pytest.raises(ClientError) as refused:
        harness.client("dynamodb").list_imports(PageSize=1, NextToken=flipped)
    assert _refusal(refused.value) == _bad_token("NextToken")
    assert proxy.received[received:] == []


def test_a_grant_marker_of_one_account_or_list_is_refused_elsewhere_before_the_backend(
    harness: Harness, other: dict[str, str], proxy: type[_Lists]
) -> None:
    retiring = f"arn:aws:iam::{NOBODY}:role/retirer-{uuid.uuid4().hex[:8]}"
    _grants(harness, other, retiring)
    params = {"RetiringPrincipal": retiring, "Limit": 1}
    marker = harness.client("kms").list_retirable_grants(**params)["NextMarker"]
    received = len(proxy.received)
    with pytest.raises(ClientError) as refused:
        harness.client("kms", other).list_retirable_grants(**params, Marker=marker)
    assert _refusal(refused.value) == KMS_BAD_MARKER
    with pytest.raises(ClientError) as keys:
        harness.client("kms").list_keys(Limit=1, Marker=marker)  # a ListRetirableGrants marker
    assert _refusal(keys.value) == KMS_BAD_MARKER
    for forged in ("plain-grant-id", "ot1." + "A" * 40, "ot1." + "B" * 9000):
        with pytest.raises(ClientError) as forging:
            harness.client("kms").list_retirable_grants(**params, Marker=forged)
        assert _refusal(forging.value) == KMS_BAD_MARKER
    assert proxy.received[received:] == []
    harness.client("kms").list_retirable_grants(**params, Marker=marker)
    assert len(proxy.received) == received + 1
