"""Accounts sharing one backend: each table and key belongs to the account that created it through the
gateway, and every other account, its root included, is a cross-account caller (a table has no resource
policy, so never allowed; a key only through its key policy). Lists show an account its own.

Everything goes through a real `ostiary serve` (accounts and users made through it, with boto3 and
`ostiary account create`) whose gateway forwards to moto's server.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT, Server, start_server, stop_server
from tests.integration.gateway_helpers import moto_backend

pytest.importorskip(
    "moto.server", reason="moto's server is the gateway's test backend (pip install moto[server])"
)

REGION = "us-east-1"
GATEWAY_URL = "http://gateway.test"


@dataclass
class Harness:
    """The real server (IAM, accounts, the store, and its gateway in front of the backend)."""

    server: Server
    backend: str

    def served(self, service: str, creds: dict[str, str] | None = None) -> Any:
        """A boto3 client of the real server's own gateway (as the server's root by default)."""
        if creds is None:
            return self.server.client(service)
        return self.server.client(
            service, creds["AccessKeyId"], creds["SecretAccessKey"], creds.get("SessionToken")
        )

    def client(self, service: str, creds: dict[str, str] | None = None, **config: Any) -> Any:
        """A boto3 client of the server's gateway (as the server's root by default)."""
        creds = creds or {
            "AccessKeyId": self.server.access_key_id,
            "SecretAccessKey": self.server.secret_access_key,
        }
        return boto3.client(
            service,
            endpoint_url=self.server.endpoint,
            region_name=REGION,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds.get("SessionToken"),
            config=Config(retries={"max_attempts": 1}, **config),
        )

    def iam(self, creds: dict[str, str] | None = None) -> Any:
        """An IAM client of the real server."""
        if creds is None:
            return self.server.client("iam")
        return self.server.client("iam", creds["AccessKeyId"], creds["SecretAccessKey"])

    def account(self) -> dict[str, str]:
        """A new account's root credentials (as `ostiary account create` makes them), with its `AccountId`."""
        return self.server.new_account()

    def user(
        self, statements: list[dict[str, Any]], root: dict[str, str] | None = None
    ) -> tuple[str, dict[str, str]]:
        """A new IAM user (of `root`'s account, else the default one) allowed `statements`: (ARN, keys)."""
        iam = self.iam(root)
        name = f"own-{uuid.uuid4().hex[:8]}"
        arn = iam.create_user(UserName=name)["User"]["Arn"]
        document = {"Version": "2012-10-17", "Statement": statements}
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(document))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return arn, {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}


def running_harness(
    backend: str, tmp_path_factory: pytest.TempPathFactory, database_url: str | None = None
) -> Iterator[Harness]:
    """A real server (IAM, the store: SQLite unless `database_url` says) whose gateway forwards to
    `backend`."""
    data_dir = tmp_path_factory.mktemp("ostiary-ownership")
    urls = {"dynamodb": backend, "kms": backend, "s3": backend}
    url = database_url or f"sqlite:///{data_dir / 'ostiary.db'}"
    backends = [f"--backend={service}={backend}" for service in urls]
    server = start_server(data_dir, url, "postgresql" if database_url else "sqlite", *backends)
    yield Harness(server, backend)
    stop_server(server)


def harness_fixtures(stores: tuple[str, ...] = ("sqlite", "postgresql")) -> tuple[Any, Any]:
    """A module's `backend` (moto's server) and `harness` (Ostiary in front of it over each of `stores`
    in turn: PostgreSQL's a database of its own, for its own keyring) fixtures, one each a module:
    `backend, harness = harness_fixtures()`."""

    @pytest.fixture(scope="module")
    def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
        yield from moto_backend(tmp_path_factory)

    @pytest.fixture(scope="module", params=list(stores))
    def harness(
        request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[Harness]:
        database_url = (
            request.getfixturevalue("module_pg_database") if request.param == "postgresql" else None
        )
        yield from running_harness(backend, tmp_path_factory, database_url)

    return backend, harness


backend, harness = harness_fixtures()


@pytest.fixture(scope="module")
def other(harness: Harness) -> dict[str, str]:
    """A second account's root."""
    return harness.account()


EVERYTHING = [{"Effect": "Allow", "Action": ["dynamodb:*", "kms:*"], "Resource": "*"}]


def _table(dynamodb: Any, name: str | None = None) -> str:
    name = name or f"t-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def _refusal(error: ClientError) -> tuple[str, str]:
    return error.response["Error"]["Code"], error.response["Error"]["Message"]


def _denied(
    user_arn: str, action: str, resource: str, why: str = "no resource-based policy"
) -> tuple[str, str]:
    return (
        "AccessDeniedException",
        f"User: {user_arn} is not authorized to perform: {action} on resource: {resource} "
        f"because {why} allows the {action} action",
    )


def test_another_accounts_user_allowed_everything_is_refused_a_table_as_cross_account(
    harness: Harness, other: dict[str, str]
) -> None:
    table = _table(harness.client("dynamodb"))
    arn, keys = harness.user(EVERYTHING, other)
    dynamodb = harness.client("dynamodb", keys)
    with pytest.raises(ClientError) as refused:
        dynamodb.get_item(TableName=table, Key={"pk": {"S": "a"}})
    owned_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"
    assert _refusal(refused.value) == _denied(arn, "dynamodb:GetItem", owned_arn)
    with pytest.raises(ClientError) as deleting:
        dynamodb.delete_table(TableName=table)
    assert _refusal(deleting.value) == _denied(arn, "dynamodb:DeleteTable", owned_arn)
    assert harness.client("dynamodb").describe_table(TableName=table)["Table"]["TableName"] == table


def test_a_table_arn_naming_the_callers_own_account_is_still_the_owners_table(
    harness: Harness, other: dict[str, str]
) -> None:
    table = _table(harness.client("dynamodb"))
    arn, keys = harness.user(EVERYTHING, other)
    spoofed = f"arn:aws:dynamodb:{REGION}:{other['AccountId']}:table/{table}"
    with pytest.raises(ClientError) as refused:
        harness.client("dynamodb", keys).scan(TableName=spoofed)
    assert _refusal(refused.value) == _denied(
        arn, "dynamodb:Scan", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"
    )


def test_another_accounts_root_is_refused_a_table_it_does_not_own(
    harness: Harness, other: dict[str, str]
) -> None:
    table = _table(harness.client("dynamodb"))
    with pytest.raises(ClientError) as refused:
        harness.client("dynamodb", other).delete_table(TableName=table)
    assert _refusal(refused.value) == (
        "AccessDeniedException",
        f"User: arn:aws:iam::{other['AccountId']}:root is not authorized to perform: dynamodb:DeleteTable on "
        f"resource: arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table} "
        "because no resource-based policy allows the dynamodb:DeleteTable action",
    )


def test_a_table_an_account_creates_is_its_own_and_the_default_accounts_users_are_refused_it(
    harness: Harness, other: dict[str, str]
) -> None:
    owner_arn, owner_keys = harness.user(EVERYTHING, other)
    table = _table(harness.client("dynamodb", owner_keys))
    mine = harness.client("dynamodb", owner_keys)
    mine.put_item(TableName=table, Item={"pk": {"S": "a"}})
    assert mine.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}}
    outsider, outsider_keys = harness.user(EVERYTHING)
    with pytest.raises(ClientError) as refused:
        harness.client("dynamodb", outsider_keys).get_item(TableName=table, Key={"pk": {"S": "a"}})
    assert _refusal(refused.value) == _denied(
        outsider, "dynamodb:GetItem", f"arn:aws:dynamodb:{REGION}:{other['AccountId']}:table/{table}"
    )
    with pytest.raises(ClientError) as root_refused:
        harness.client("dynamodb").scan(TableName=table)
    assert _refusal(root_refused.value)[0] == "AccessDeniedException"


def test_list_tables_shows_each_account_its_own_tables(harness: Harness) -> None:
    mine = harness.account()
    theirs = _table(harness.client("dynamodb"))
    own = _table(harness.client("dynamodb", mine))
    listed = harness.client("dynamodb", mine).list_tables()["TableNames"]
    assert own in listed
    assert theirs not in listed
    assert own not in harness.client("dynamodb").list_tables()["TableNames"]


def test_list_tables_pages_never_name_another_accounts_table(harness: Harness) -> None:
    """A page that ends on another account's table (the backend's LastEvaluatedTableName) would tell its
    name; the page ends on the caller's own table instead, and paging still reaches every own table."""
    mine = harness.account()
    stem = uuid.uuid4().hex[:6]
    for suffix in ("a", "c", "e"):  # the other account's tables sort between and after them
        _table(harness.client("dynamodb"), f"p{stem}-{suffix}")
    own = sorted(_table(harness.client("dynamodb", mine), f"p{stem}-{suffix}x") for suffix in ("b", "d"))
    dynamodb = harness.client("dynamodb", mine)
    for limit in (1, 2, 3, 100):
        seen: list[str] = []
        params: dict[str, Any] = {"Limit": limit}
        for _ in range(50):
            page = dynamodb.list_tables(**params)
            seen += page["TableNames"]
            last = page.get("LastEvaluatedTableName")
            assert set(page["TableNames"]) <= set(own)
            if last is None:
                break
            assert last in own
            params["ExclusiveStartTableName"] = last
        assert seen == own


def test_creating_a_table_another_account_owns_is_refused_as_existing(
    harness: Harness, other: dict[str, str]
) -> None:
    table = _table(harness.client("dynamodb"))
    _, keys = harness.user(EVERYTHING, other)
    for creds in (keys, other):
        with pytest.raises(ClientError) as refused:
            _table(harness.client("dynamodb", creds), table)
        assert _refusal(refused.value) == ("ResourceInUseException", f"Table already exists: {table}")


def test_a_name_differing_in_case_is_another_table_each_account_keeps_its_own(
    harness: Harness, other: dict[str, str]
) -> None:
    lower = _table(harness.client("dynamodb"), f"case-{uuid.uuid4().hex[:8]}")
    upper = _table(harness.client("dynamodb", other), lower.upper())
    with pytest.raises(ClientError) as refused:
        harness.client("dynamodb", other).scan(TableName=lower)
    assert _refusal(refused.value)[0] == "AccessDeniedException"
    assert harness.client("dynamodb", other).scan(TableName=upper)["Items"] == []


def test_guessing_table_names_tells_another_account_nothing(harness: Harness, other: dict[str, str]) -> None:
    existing = _table(harness.client("dynamodb"))
    missing = f"t-{uuid.uuid4().hex[:8]}"
    arn, keys = harness.user(EVERYTHING, other)
    answers = []
    for name in (existing, missing):
        with pytest.raises(ClientError) as refused:
            harness.client("dynamodb", keys).describe_table(TableName=name)
        answers.append(_refusal(refused.value))
    assert answers == [
        _denied(arn, "dynamodb:DescribeTable", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}")
        for name in (existing, missing)
    ]


def test_a_deleted_tables_name_stays_its_accounts(harness: Harness, other: dict[str, str]) -> None:
    """Its backups and exports, which the backend keeps, are named by it (see test_gateway_account_lists)."""
    dynamodb = harness.client("dynamodb", other)
    table = _table(dynamodb)
    dynamodb.delete_table(TableName=table)
    with pytest.raises(ClientError) as taken:
        _table(harness.client("dynamodb"), table)
    assert _refusal(taken.value)[0] == "ResourceInUseException"
    _table(dynamodb, table)
    assert dynamodb.scan(TableName=table)["Items"] == []
    with pytest.raises(ClientError) as refused:
        harness.client("dynamodb").scan(TableName=table)
    assert _refusal(refused.value)[0] == "AccessDeniedException"


def test_the_real_servers_gateway_decides_another_accounts_access_as_cross_account(
    harness: Harness, other: dict[str, str]
) -> None:
    table = _table(harness.served("dynamodb"))
    arn, keys = harness.user(EVERYTHING, other)
    with pytest.raises(ClientError) as refused:
        harness.served("dynamodb", keys).scan(TableName=table)
    assert _refusal(refused.value) == _denied(
        arn, "dynamodb:Scan", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"
    )
    with pytest.raises(ClientError) as root_refused:
        harness.served("dynamodb", other).delete_table(TableName=table)
    assert _refusal(root_refused.value)[0] == "AccessDeniedException"
    _, same_account = harness.user(EVERYTHING)
    assert harness.served("dynamodb", same_account).scan(TableName=table)["Items"] == []


# -- KMS -----------------------------------------------------------------------------------------


def test_another_account_is_refused_a_key_whose_default_policy_names_only_its_owner(
    harness: Harness, other: dict[str, str]
) -> None:
    key = harness.client("kms").create_key()["KeyMetadata"]
    arn, keys = harness.user(EVERYTHING, other)
    with pytest.raises(ClientError) as refused:
        harness.client("kms", keys).encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert _refusal(refused.value) == (
        "AccessDeniedException",
        f"User: {arn} is not authorized to perform: kms:Encrypt on resource: "
        f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key['KeyId']} because no resource-based policy allows the "
        "kms:Encrypt action",
    )
    with pytest.raises(ClientError) as root_refused:
        harness.client("kms", other).schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    assert _refusal(root_refused.value)[0] == "AccessDeniedException"


def test_a_key_policy_naming_another_account_lets_its_allowed_users_in_and_no_others(
    harness: Harness, other: dict[str, str]
) -> None:
    grant = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{other['AccountId']}:root"},
        "Action": "kms:Encrypt",
        "Resource": "*",
    }
    owner = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    policy = json.dumps({"Version": "2012-10-17", "Statement": [owner, grant]})
    key = harness.client("kms").create_key(Policy=policy)["KeyMetadata"]["KeyId"]
    _, allowed = harness.user([{"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*"}], other)
    assert harness.client("kms", allowed).encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    arn, unallowed = harness.user([{"Effect": "Allow", "Action": "kms:ListKeys", "Resource": "*"}], other)
    with pytest.raises(ClientError) as refused:
        harness.client("kms", unallowed).encrypt(KeyId=key, Plaintext=b"x")
    assert _refusal(refused.value) == (
        "AccessDeniedException",
        f"User: {arn} is not authorized to perform: kms:Encrypt on resource: "
        f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key} "
        "because no identity-based policy allows the kms:Encrypt action",
    )


def test_an_accounts_own_key_is_its_own_and_lists_show_only_it(harness: Harness) -> None:
    mine = harness.account()
    kms = harness.client("kms", mine)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    alias = f"alias/own-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=key)
    assert kms.encrypt(KeyId=alias, Plaintext=b"x")["CiphertextBlob"]
    theirs = harness.client("kms").create_key()["KeyMetadata"]["KeyId"]
    assert [k["KeyId"] for k in kms.list_keys()["Keys"]] == [key]
    assert [a["AliasName"] for a in kms.list_aliases()["Aliases"] if a.get("TargetKeyId")] == [alias]
    default_keys = [k["KeyId"] for k in harness.client("kms").list_keys()["Keys"]]
    assert theirs in default_keys
    assert key not in default_keys
    default_aliases = [a["AliasName"] for a in harness.client("kms").list_aliases()["Aliases"]]
    assert alias not in default_aliases


def test_an_alias_of_another_accounts_key_is_that_accounts_key(
    harness: Harness, other: dict[str, str]
) -> None:
    kms = harness.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    alias = f"alias/own-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=key)
    _, keys = harness.user(EVERYTHING, other)
    with pytest.raises(ClientError) as refused:  # its ARN names it: the name alone is the caller's own
        harness.client("kms", keys).encrypt(KeyId=f"arn:aws:kms:{REGION}:{ACCOUNT}:{alias}", Plaintext=b"x")
    assert f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key}" in _refusal(refused.value)[1]
    with pytest.raises(ClientError) as repointing:
        harness.client("kms", keys).update_alias(AliasName=alias, TargetKeyId=key)
    assert _refusal(repointing.value)[0] == "AccessDeniedException"


def test_an_export_to_another_accounts_bucket_needs_that_buckets_policy(
    harness: Harness, other: dict[str, str]
) -> None:
    """A user allowed every s3 action by its own account still needs the bucket owner's policy."""
    bucket = f"exports-{uuid.uuid4().hex[:8]}"
    harness.client("s3", other).create_bucket(Bucket=bucket)
    table = _table(harness.client("dynamodb"))
    harness.client("dynamodb").update_continuous_backups(
        TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    user_arn, keys = harness.user([{"Effect": "Allow", "Action": ["dynamodb:*", "s3:*"], "Resource": "*"}])
    dynamodb = harness.client("dynamodb", keys)
    table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"
    with pytest.raises(ClientError) as refused:
        dynamodb.export_table_to_point_in_time(TableArn=table_arn, S3Bucket=bucket, S3Prefix="x")
    code, message = _refusal(refused.value)
    assert code == "AccessDeniedException"
    assert f"arn:aws:s3:::{bucket}/x/AWSDynamoDB/*" in message and "resource-based policy" in message
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": user_arn},
                "Action": ["s3:AbortMultipartUpload", "s3:PutObject", "s3:PutObjectAcl"],
                "Resource": f"arn:aws:s3:::{bucket}/x/*",
            }
        ],
    }
    harness.client("s3", other).put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    described = dynamodb.export_table_to_point_in_time(TableArn=table_arn, S3Bucket=bucket, S3Prefix="x")
    assert described["ExportDescription"]["S3Bucket"] == bucket
