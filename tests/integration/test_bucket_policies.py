"""S3 bucket policies through the gateway, with boto3: cross-account reads a bucket policy grants (the
caller's identity policy must allow too), public buckets read by unsigned clients, explicit Denies that
beat identity allows (the owner's root included, but never on the bucket-policy calls), malformed
policies refused with S3's texts and never reaching the backend, and ListBuckets cut to the caller's own.

The gateway is the in-process one of `test_gateway_ownership.py`, over a real server's store and moto.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore import UNSIGNED
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT
from tests.integration.gateway_helpers import backend_client, moto_backend
from tests.integration.gateway_helpers import refusal as _refusal
from tests.integration.test_gateway_ownership import Harness, running_harness


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    backend = moto_backend(tmp_path_factory)
    yield from running_harness(next(backend), tmp_path_factory)
    backend.close()


@pytest.fixture(scope="module")
def other(harness: Harness) -> dict[str, str]:
    """A second account's root."""
    return harness.account()


def _bucket(s3: Any) -> str:
    name = f"own-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _statement(
    bucket: str, principal: Any, action: str | list[str], effect: str = "Allow", **more: Any
) -> dict[str, Any]:
    return {
        "Effect": effect,
        "Principal": principal,
        "Action": action,
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        **more,
    }


def _anonymous(harness: Harness) -> Any:
    return harness.client("s3", signature_version=UNSIGNED)


OPEN = {
    "BlockPublicAcls": False,
    "IgnorePublicAcls": False,
    "BlockPublicPolicy": False,
    "RestrictPublicBuckets": False,
}


def _allow_public(s3: Any, bucket: str) -> None:
    """Turn off the Block Public Access settings S3 turns on for every new bucket (a public policy is
    refused until then)."""
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=OPEN)


def _public_bucket(harness: Harness, extra: Callable[[str], list[dict[str, Any]]] = lambda _: []) -> str:
    """A bucket with `hello.txt` that anyone may read, with `extra(bucket)` statements besides."""
    s3 = harness.client("s3")
    bucket = _bucket(s3)
    s3.put_object(Bucket=bucket, Key="hello.txt", Body=b"hello")
    _allow_public(s3, bucket)
    s3.put_bucket_policy(
        Bucket=bucket, Policy=_policy(_statement(bucket, "*", "s3:GetObject"), *extra(bucket))
    )
    return bucket


def test_an_unsigned_client_reads_a_public_bucket_and_nothing_else(harness: Harness) -> None:
    bucket = _public_bucket(harness)
    anonymous = _anonymous(harness)
    assert anonymous.get_object(Bucket=bucket, Key="hello.txt")["Body"].read() == b"hello"
    with pytest.raises(ClientError) as writing:
        anonymous.put_object(Bucket=bucket, Key="x.txt", Body=b"x")
    assert _refusal(writing.value) == ("AccessDenied", "Access Denied", 403)
    with pytest.raises(ClientError) as listing:
        anonymous.list_objects_v2(Bucket=bucket)
    assert _refusal(listing.value) == ("AccessDenied", "Access Denied", 403)
    with pytest.raises(ClientError) as replacing:
        anonymous.put_bucket_policy(Bucket=bucket, Policy=_policy(_statement(bucket, "*", "s3:*")))
    assert _refusal(replacing.value) == ("AccessDenied", "Access Denied", 403)


def test_an_unsigned_client_is_refused_a_bucket_without_a_policy_and_every_bucket_list(
    harness: Harness,
) -> None:
    bucket = _bucket(harness.client("s3"))
    with pytest.raises(ClientError) as reading:
        _anonymous(harness).list_objects_v2(Bucket=bucket)
    assert _refusal(reading.value) == ("AccessDenied", "Access Denied", 403)
    with pytest.raises(ClientError) as listing:
        _anonymous(harness).list_buckets()
    assert _refusal(listing.value) == ("AccessDenied", "Access Denied", 403)


def test_a_public_grant_holds_only_under_its_conditions(harness: Harness) -> None:
    s3 = harness.client("s3")
    bucket = _bucket(s3)
    s3.put_object(Bucket=bucket, Key="hello.txt", Body=b"hello")
    elsewhere = {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
    s3.put_bucket_policy(
        Bucket=bucket, Policy=_policy(_statement(bucket, "*", "s3:GetObject", Condition=elsewhere))
    )
    with pytest.raises(ClientError) as refused:
        _anonymous(harness).get_object(Bucket=bucket, Key="hello.txt")
    assert _refusal(refused.value) == ("AccessDenied", "Access Denied", 403)
    here = {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}
    s3.put_bucket_policy(
        Bucket=bucket, Policy=_policy(_statement(bucket, "*", "s3:GetObject", Condition=here))
    )
    assert _anonymous(harness).get_object(Bucket=bucket, Key="hello.txt")["Body"].read() == b"hello"


def test_a_deny_of_insecure_transport_refuses_a_public_read_over_http(harness: Harness) -> None:
    insecure = {"Bool": {"aws:SecureTransport": "false"}}
    bucket = _public_bucket(harness, lambda name: [_statement(name, "*", "s3:*", "Deny", Condition=insecure)])
    with pytest.raises(ClientError) as refused:
        _anonymous(harness).get_object(Bucket=bucket, Key="hello.txt")
    assert _refusal(refused.value) == ("AccessDenied", "Access Denied", 403)


def test_a_bucket_policy_grants_another_account_what_its_identity_policies_also_allow(
    harness: Harness, other: dict[str, str]
) -> None:
    s3 = harness.client("s3")
    bucket = _bucket(s3)
    s3.put_object(Bucket=bucket, Key="shared.txt", Body=b"shared")
    grant = _statement(
        bucket, {"AWS": f"arn:aws:iam::{other['AccountId']}:root"}, ["s3:GetObject", "s3:ListBucket"]
    )
    s3.put_bucket_policy(Bucket=bucket, Policy=_policy(grant))
    _, reader = harness.user([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}], other)
    assert (
        harness.client("s3", reader).get_object(Bucket=bucket, Key="shared.txt")["Body"].read() == b"shared"
    )
    arn, unallowed = harness.user(
        [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}], other
    )
    with pytest.raises(ClientError) as refused:
        harness.client("s3", unallowed).get_object(Bucket=bucket, Key="shared.txt")
    assert _refusal(refused.value) == (
        "AccessDenied",
        f"User: {arn} is not authorized to perform: s3:GetObject on resource: "
        f'"arn:aws:s3:::{bucket}/shared.txt" because no identity-based policy allows the s3:GetObject action',
        403,
    )
    with pytest.raises(ClientError) as writing:
        harness.client("s3", reader).put_object(Bucket=bucket, Key="x.txt", Body=b"x")
    assert "because no resource-based policy allows the s3:PutObject action" in _refusal(writing.value)[1]


def test_another_account_without_a_grant_is_refused_even_as_root(
    harness: Harness, other: dict[str, str]
) -> None:
    bucket = _bucket(harness.client("s3"))
    with pytest.raises(ClientError) as refused:
        harness.client("s3", other).list_objects_v2(Bucket=bucket)
    assert _refusal(refused.value) == (
        "AccessDenied",
        f"User: arn:aws:iam::{other['AccountId']}:root is not authorized to perform: s3:ListBucket "
        f'on resource: "arn:aws:s3:::{bucket}" '
        "because no resource-based policy allows the s3:ListBucket action",
        403,
    )


def test_an_explicit_deny_in_a_bucket_policy_beats_an_identity_allow(harness: Harness) -> None:
    s3 = harness.client("s3")
    bucket = _bucket(s3)
    s3.put_object(Bucket=bucket, Key="secret.txt", Body=b"secret")
    arn, keys = harness.user([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}])
    s3.put_bucket_policy(
        Bucket=bucket, Policy=_policy(_statement(bucket, {"AWS": arn}, "s3:GetObject", "Deny"))
    )
    assert harness.client("s3", keys).list_objects_v2(Bucket=bucket)["KeyCount"] == 1
    with pytest.raises(ClientError) as refused:
        harness.client("s3", keys).get_object(Bucket=bucket, Key="secret.txt")
    assert _refusal(refused.value) == (
        "AccessDenied",
        f"User: {arn} is not authorized to perform: s3:GetObject on resource: "
        f'"arn:aws:s3:::{bucket}/secret.txt" with an explicit deny in a resource-based policy',
        403,
    )


def test_the_owners_root_is_bound_by_an_explicit_deny_but_may_always_remove_the_policy(
    harness: Harness,
) -> None:
    s3 = harness.client("s3")
    bucket = _bucket(s3)
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    s3.put_bucket_policy(Bucket=bucket, Policy=_policy(_statement(bucket, "*", "s3:*", "Deny")))
    with pytest.raises(ClientError) as refused:
        s3.get_object(Bucket=bucket, Key="a.txt")
    assert _refusal(refused.value)[0] == "AccessDenied"
    s3.delete_bucket_policy(Bucket=bucket)
    assert s3.get_object(Bucket=bucket, Key="a.txt")["Body"].read() == b"a"


MALFORMED = [
    pytest.param("not json", "Policies must be valid JSON and the first byte must be '{'", id="not-json"),
    pytest.param(
        _policy(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::other/*",
            }
        ),
        "Policy has invalid resource",
        id="another-bucket",
    ),
    pytest.param(
        _policy(
            {"Effect": "Allow", "Principal": {"AWS": "someone"}, "Action": "s3:GetObject", "Resource": "{}/*"}
        ),
        "Invalid principal in policy",
        id="bad-principal",
    ),
    pytest.param(
        _policy({"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": "{}"}),
        "Action does not apply to any resource(s) in statement",
        id="object-action-on-bucket",
    ),
    pytest.param(
        json.dumps(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": "{}/*",
                        "Sid": "x" * 21000,
                    }
                ]
            }
        ),
        "Policy exceeds the maximum allowed document size.",
        id="too-large",
    ),
]


@pytest.mark.parametrize(("text", "message"), MALFORMED)
def test_a_malformed_policy_is_refused_with_s3s_text_and_the_backend_keeps_the_old_one(
    harness: Harness, text: str, message: str
) -> None:
    s3 = harness.client("s3")
    bucket = _public_bucket(harness)
    before = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    with pytest.raises(ClientError) as refused:
        s3.put_bucket_policy(Bucket=bucket, Policy=text.replace('"{}', f'"arn:aws:s3:::{bucket}'))
    assert _refusal(refused.value) == ("MalformedPolicy", message, 400)
    assert s3.get_bucket_policy(Bucket=bucket)["Policy"] == before
    assert _anonymous(harness).get_object(Bucket=bucket, Key="hello.txt")["Body"].read() == b"hello"


def test_an_attacker_cannot_write_itself_a_policy_on_a_bucket_it_does_not_own(
    harness: Harness, other: dict[str, str]
) -> None:
    bucket = _bucket(harness.client("s3"))
    takeover = _policy(_statement(bucket, {"AWS": f"arn:aws:iam::{other['AccountId']}:root"}, "s3:*"))
    _, attacker = harness.user([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}], other)
    for creds in (other, attacker):
        with pytest.raises(ClientError) as refused:
            harness.client("s3", creds).put_bucket_policy(Bucket=bucket, Policy=takeover)
        assert _refusal(refused.value)[0] == "AccessDenied"
    with pytest.raises(ClientError) as no_policy:
        harness.client("s3").get_bucket_policy(Bucket=bucket)
    assert _refusal(no_policy.value)[0] == "NoSuchBucketPolicy"


def test_a_bucket_policy_granting_another_account_everything_still_keeps_its_policy_calls_the_owners(
    harness: Harness, other: dict[str, str]
) -> None:
    s3 = harness.client("s3")
    bucket = _bucket(s3)
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=_policy(_statement(bucket, {"AWS": f"arn:aws:iam::{other['AccountId']}:root"}, "s3:*")),
    )
    _, granted = harness.user([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}], other)
    assert harness.client("s3", granted).list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    with pytest.raises(ClientError) as refused:
        harness.client("s3", granted).delete_bucket_policy(Bucket=bucket)
    assert _refusal(refused.value) == (
        "MethodNotAllowed",
        "The specified method is not allowed against this resource.",
        405,
    )
    assert s3.get_bucket_policy(Bucket=bucket)["Policy"]


def test_creating_a_bucket_another_account_owns_is_refused_as_taken(
    harness: Harness, other: dict[str, str]
) -> None:
    bucket = _bucket(harness.client("s3"))
    with pytest.raises(ClientError) as refused:
        harness.client("s3", other).create_bucket(Bucket=bucket)
    code, message, status = _refusal(refused.value)
    assert (code, status) == ("BucketAlreadyExists", 409)
    assert message.startswith("The requested bucket name is not available.")


def test_list_buckets_shows_each_account_its_own(harness: Harness) -> None:
    mine = harness.account()
    theirs = _bucket(harness.client("s3"))
    own = _bucket(harness.client("s3", mine))
    listed = [b["Name"] for b in harness.client("s3", mine).list_buckets()["Buckets"]]
    assert listed == [own]
    default = [b["Name"] for b in harness.client("s3").list_buckets()["Buckets"]]
    assert theirs in default
    assert own not in default


def test_a_deleted_bucket_is_forgotten_with_its_policy(harness: Harness, other: dict[str, str]) -> None:
    s3 = harness.client("s3", other)
    bucket = _bucket(s3)
    _allow_public(s3, bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=_policy(_statement(bucket, "*", "s3:GetObject")))
    s3.delete_bucket(Bucket=bucket)
    mine = harness.client("s3")
    mine.create_bucket(Bucket=bucket)
    mine.put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    with pytest.raises(ClientError) as refused:
        _anonymous(harness).get_object(Bucket=bucket, Key="a.txt")
    assert _refusal(refused.value) == ("AccessDenied", "Access Denied", 403)
    assert ACCOUNT != other["AccountId"]


def test_a_bucket_made_on_the_backend_directly_is_the_default_accounts_and_cannot_be_taken(
    harness: Harness, other: dict[str, str]
) -> None:
    direct = backend_client(harness.backend, "s3")
    bucket = f"own-{uuid.uuid4().hex[:12]}"
    direct.create_bucket(Bucket=bucket)
    for creds in (other, harness.user([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}], other)[1]):
        with pytest.raises(ClientError) as taking:
            harness.client("s3", creds).create_bucket(Bucket=bucket)
        assert _refusal(taking.value)[0] == "BucketAlreadyExists"
        with pytest.raises(ClientError) as reading:
            harness.client("s3", creds).list_objects_v2(Bucket=bucket)
        assert _refusal(reading.value)[0] == "AccessDenied"
    assert harness.client("s3").list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_creating_ones_own_bucket_again_keeps_its_policy(harness: Harness) -> None:
    bucket = _public_bucket(harness)
    harness.client("s3").create_bucket(Bucket=bucket)
    assert _anonymous(harness).get_object(Bucket=bucket, Key="hello.txt")["Body"].read() == b"hello"


def test_a_policy_naming_a_user_that_does_not_exist_is_refused(
    harness: Harness, other: dict[str, str]
) -> None:
    s3 = harness.client("s3")
    bucket = _bucket(s3)
    existing, _ = harness.user([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}], other)
    missing = f"arn:aws:iam::{other['AccountId']}:user/nobody-{uuid.uuid4().hex[:6]}"
    with pytest.raises(ClientError) as refused:
        s3.put_bucket_policy(
            Bucket=bucket, Policy=_policy(_statement(bucket, {"AWS": missing}, "s3:GetObject"))
        )
    assert _refusal(refused.value) == ("MalformedPolicy", "Invalid principal in policy", 400)
    s3.put_bucket_policy(Bucket=bucket, Policy=_policy(_statement(bucket, {"AWS": existing}, "s3:GetObject")))
    assert existing in s3.get_bucket_policy(Bucket=bucket)["Policy"]


# -- the real server's own gateway: it reads the same store (ownership, bucket policies) ------------


def test_the_real_servers_gateway_refuses_another_account_a_bucket_it_does_not_own(
    harness: Harness, other: dict[str, str]
) -> None:
    bucket = _bucket(harness.served("s3"))
    arn, keys = harness.user([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}], other)
    with pytest.raises(ClientError) as refused:
        harness.served("s3", keys).list_objects_v2(Bucket=bucket)
    assert _refusal(refused.value) == (
        "AccessDenied",
        f'User: {arn} is not authorized to perform: s3:ListBucket on resource: "arn:aws:s3:::{bucket}" '
        "because no resource-based policy allows the s3:ListBucket action",
        403,
    )


def test_the_real_servers_gateway_decides_with_the_stored_bucket_policy(
    harness: Harness, other: dict[str, str]
) -> None:
    s3 = harness.client("s3")
    bucket = _bucket(s3)
    s3.put_object(Bucket=bucket, Key="shared.txt", Body=b"shared")
    _, reader = harness.user([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}], other)
    denied, denied_keys = harness.user([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}])
    grant = _statement(bucket, {"AWS": f"arn:aws:iam::{other['AccountId']}:root"}, "s3:GetObject")
    deny = _statement(bucket, {"AWS": denied}, "s3:GetObject", "Deny")
    s3.put_bucket_policy(Bucket=bucket, Policy=_policy(grant, deny))
    assert (
        harness.served("s3", reader).get_object(Bucket=bucket, Key="shared.txt")["Body"].read() == b"shared"
    )
    with pytest.raises(ClientError) as refused:
        harness.served("s3", denied_keys).get_object(Bucket=bucket, Key="shared.txt")
    assert _refusal(refused.value)[1].endswith("with an explicit deny in a resource-based policy")


def test_a_deny_naming_one_user_leaves_everyone_else_their_access(harness: Harness) -> None:
    s3 = harness.client("s3")
    bucket = _bucket(s3)
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    denied, _ = harness.user([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}])
    _, allowed = harness.user([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}])
    text = _policy(_statement(bucket, {"AWS": denied}, ["s3:GetObject", "s3:PutObject"], "Deny"))
    s3.put_bucket_policy(Bucket=bucket, Policy=text)
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(text)
    assert s3.get_object(Bucket=bucket, Key="a.txt")["Body"].read() == b"a"
    harness.client("s3", allowed).put_object(Bucket=bucket, Key="b.txt", Body=b"b")
    assert harness.served("s3", allowed).get_object(Bucket=bucket, Key="b.txt")["Body"].read() == b"b"


def test_bucket_policy_calls_on_a_bucket_that_does_not_exist_answer_no_such_bucket(harness: Harness) -> None:
    s3 = harness.client("s3")
    bucket = f"own-{uuid.uuid4().hex[:12]}"
    for call in (
        lambda: s3.put_bucket_policy(Bucket=bucket, Policy=_policy(_statement(bucket, "*", "s3:GetObject"))),
        lambda: s3.get_bucket_policy(Bucket=bucket),
        lambda: s3.delete_bucket_policy(Bucket=bucket),
    ):
        with pytest.raises(ClientError) as refused:
            call()
        assert _refusal(refused.value) == ("NoSuchBucket", "The specified bucket does not exist", 404)
    with pytest.raises(ClientError) as no_policy:
        s3.get_bucket_policy(Bucket=_bucket(s3))
    assert _refusal(no_policy.value) == ("NoSuchBucketPolicy", "The bucket policy does not exist", 404)
