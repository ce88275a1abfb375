"""KMS aliases are per account, as in AWS, though every account's keys live in one backend account: two
accounts may each have `alias/x`, each names its own key by it, and neither sees, resolves, repoints or
deletes the other's, nor learns the backend's account or how the gateway names aliases there.

A real `ostiary serve` whose gateway forwards KMS, S3 and DynamoDB to moto's server.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.integration.gateway_helpers import backend_client, refused
from tests.integration.test_gateway_ownership import Harness, harness_fixtures

pytest.importorskip(
    "moto.server", reason="moto's server is the gateway's test backend (pip install moto[server])"
)

REGION = "us-east-1"


backend, harness = harness_fixtures()


class Account:
    """A fresh account's root, its KMS client, and one key of its own."""

    def __init__(self, harness: Harness) -> None:
        self.creds = harness.account()
        self.id = self.creds["AccountId"]
        self.kms = harness.client("kms", self.creds)
        self.key = self.kms.create_key()["KeyMetadata"]["Arn"]

    def client(self, harness: Harness, service: str) -> Any:
        return harness.client(service, self.creds)


@pytest.fixture
def alice(harness: Harness) -> Account:
    return Account(harness)


@pytest.fixture
def bob(harness: Harness) -> Account:
    return Account(harness)


def _alias() -> str:
    return f"alias/shared-{uuid.uuid4().hex[:8]}"


def test_two_accounts_each_have_their_own_alias_of_the_same_name(alice: Account, bob: Account) -> None:
    alias = _alias()
    alice.kms.create_alias(AliasName=alias, TargetKeyId=alice.key)
    bob.kms.create_alias(AliasName=alias, TargetKeyId=bob.key)  # before: AlreadyExistsException
    for who in (alice, bob):
        assert who.kms.describe_key(KeyId=alias)["KeyMetadata"]["Arn"] == who.key
        assert who.kms.encrypt(KeyId=alias, Plaintext=b"x")["KeyId"] == who.key
        assert who.kms.generate_data_key(KeyId=alias, KeySpec="AES_256")["KeyId"] == who.key
        assert who.kms.generate_data_key_without_plaintext(KeyId=alias, NumberOfBytes=16)["KeyId"] == who.key
        blob = who.kms.encrypt(KeyId=who.key, Plaintext=b"x")["CiphertextBlob"]
        again = who.kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=alias)
        assert again["KeyId"] == who.key
        assert who.kms.decrypt(CiphertextBlob=again["CiphertextBlob"], KeyId=alias)["KeyId"] == who.key
        alias_arn = f"arn:aws:kms:{REGION}:{who.id}:{alias}"
        assert who.kms.encrypt(KeyId=alias_arn, Plaintext=b"x")["KeyId"] == who.key


def test_a_taken_alias_is_refused_in_the_callers_own_names(alice: Account) -> None:
    alias = _alias()
    alice.kms.create_alias(AliasName=alias, TargetKeyId=alice.key)
    assert refused(alice.kms.create_alias, AliasName=alias, TargetKeyId=alice.key) == (
        "AlreadyExistsException",
        f"An alias with the name arn:aws:kms:{REGION}:{alice.id}:{alias} already exists",
        400,
    )


def test_another_accounts_alias_name_is_not_found_in_the_callers_namespace(
    alice: Account, bob: Account
) -> None:
    alias = _alias()
    alice.kms.create_alias(AliasName=alias, TargetKeyId=alice.key)
    missing = ("NotFoundException", f"Alias arn:aws:kms:{REGION}:{bob.id}:{alias} is not found.", 400)
    assert refused(bob.kms.describe_key, KeyId=alias) == missing
    assert refused(bob.kms.encrypt, KeyId=alias, Plaintext=b"x") == missing
    assert refused(bob.kms.generate_data_key, KeyId=alias, KeySpec="AES_256") == missing


def test_another_accounts_alias_cannot_be_repointed_or_deleted_by_its_name(
    alice: Account, bob: Account
) -> None:
    alias = _alias()
    alice.kms.create_alias(AliasName=alias, TargetKeyId=alice.key)
    missing = ("NotFoundException", f"Alias arn:aws:kms:{REGION}:{bob.id}:{alias} is not found.", 400)
    assert refused(bob.kms.update_alias, AliasName=alias, TargetKeyId=bob.key) == missing
    assert refused(bob.kms.delete_alias, AliasName=alias) == missing
    # Alice's alias is as it was: neither repointed at Bob's key nor deleted.
    assert alice.kms.encrypt(KeyId=alias, Plaintext=b"x")["KeyId"] == alice.key


def test_another_accounts_alias_arn_names_that_accounts_key(alice: Account, bob: Account) -> None:
    alias = _alias()
    alice.kms.create_alias(AliasName=alias, TargetKeyId=alice.key)
    code, message, _ = refused(
        bob.kms.encrypt, KeyId=f"arn:aws:kms:{REGION}:{alice.id}:{alias}", Plaintext=b"x"
    )
    assert code == "AccessDeniedException"
    key_id = alice.key.rsplit("/", 1)[1]
    assert f"kms:Encrypt on resource: arn:aws:kms:{REGION}:{alice.id}:key/{key_id}" in message


def test_list_aliases_shows_the_callers_own_in_its_own_account(
    harness: Harness, alice: Account, bob: Account
) -> None:
    alias = _alias()
    alice.kms.create_alias(AliasName=alias, TargetKeyId=alice.key)
    bob.kms.create_alias(AliasName=alias, TargetKeyId=bob.key)
    for who in (alice, bob):
        listed = who.kms.list_aliases()["Aliases"]
        own = [a for a in listed if not a["AliasName"].startswith("alias/aws/")]
        assert own == [
            {
                "AliasName": alias,
                "AliasArn": f"arn:aws:kms:{REGION}:{who.id}:{alias}",
                "TargetKeyId": who.key.rsplit("/", 1)[1],
            }
        ]
        assert all(a["AliasArn"] == f"arn:aws:kms:{REGION}:{who.id}:{a['AliasName']}" for a in listed)
        assert "alias/aws/s3" in [a["AliasName"] for a in listed]
        by_key = who.kms.list_aliases(KeyId=who.key)["Aliases"]
        assert [a["AliasName"] for a in by_key] == [alias]
        other = bob if who is alice else alice
        assert who.kms.list_aliases(KeyId=other.key)["Aliases"] == []
    paged = [a for a in alice.kms.list_aliases(Limit=100)["Aliases"] if a["AliasName"] == alias]
    assert len(paged) == 1


def test_the_backend_keeps_each_alias_under_its_owner(backend: str, alice: Account, bob: Account) -> None:
    alias = _alias()
    alice.kms.create_alias(AliasName=alias, TargetKeyId=alice.key)
    bob.kms.create_alias(AliasName=alias, TargetKeyId=bob.key)
    names = {a["AliasName"] for a in backend_client(backend, "kms").list_aliases()["Aliases"]}
    rest = alias.removeprefix("alias/")
    assert {f"alias/{alice.id}/{rest}", f"alias/{bob.id}/{rest}"} <= names
    assert alias not in names


def test_aws_managed_alias_names_are_not_the_callers_to_make(alice: Account) -> None:
    name = f"alias/aws/mine-{uuid.uuid4().hex[:8]}"
    assert refused(alice.kms.create_alias, AliasName=name, TargetKeyId=alice.key) == (
        "NotAuthorizedException",
        "",
        400,
    )
    for call, params in (
        (alice.kms.update_alias, {"AliasName": name, "TargetKeyId": alice.key}),
        (alice.kms.delete_alias, {"AliasName": name}),
    ):
        assert refused(call, **params) == ("NotAuthorizedException", "", 400)
    assert name not in [a["AliasName"] for a in alice.kms.list_aliases()["Aliases"]]


def test_an_sse_kms_upload_naming_an_alias_uses_the_callers_own_key(
    harness: Harness, alice: Account, bob: Account
) -> None:
    alias = _alias()
    alice.kms.create_alias(AliasName=alias, TargetKeyId=alice.key)
    bob.kms.create_alias(AliasName=alias, TargetKeyId=bob.key)
    s3 = bob.client(harness, "s3")
    bucket = f"kmsalias-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    put = s3.put_object(
        Bucket=bucket, Key="o", Body=b"secret", ServerSideEncryption="aws:kms", SSEKMSKeyId=alias
    )
    # S3's answers are the backend's: its key ARN names the backend's account (`backendarns`: not S3)
    key_id = bob.key.split(":key/")[1]
    assert put["SSEKMSKeyId"].endswith(f":key/{key_id}")
    assert s3.head_object(Bucket=bucket, Key="o")["SSEKMSKeyId"] == put["SSEKMSKeyId"]
    assert s3.get_object(Bucket=bucket, Key="o")["Body"].read() == b"secret"
