"""STS attacked: federated and chained sessions given what AWS refuses must be refused, change nothing
and never reach the session a later call carries (one server for the module, over SQLite)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.integration.gateway_helpers import moto_backend
from tests.integration.test_gateway_ownership import Harness, running_harness
from tests.integration.test_saml import _metadata, saml_response

SOURCE_IDENTITY = "https://aws.amazon.com/SAML/Attributes/SourceIdentity"


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """The server (SQLite) with its gateway in front of moto: bucket policies are the resource policies
    a session meets besides trust policies."""
    backend = moto_backend(tmp_path_factory)
    yield from running_harness(next(backend), tmp_path_factory)
    backend.close()


@pytest.fixture(scope="module")
def abuse_server(harness: Harness) -> Server:
    return harness.server


@pytest.fixture(scope="module")
def saml_role(abuse_server: Server) -> dict[str, str]:
    """A SAML provider and a role that trusts it to assume, set a source identity and tag."""
    iam: Any = abuse_server.client("iam")
    name = f"abuse-{uuid.uuid4().hex[:8]}"
    provider = iam.create_saml_provider(Name=name, SAMLMetadataDocument=_metadata())["SAMLProviderArn"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Action": ["sts:AssumeRoleWithSAML", "sts:SetSourceIdentity"],
            }
        ],
    }
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    return {"provider": provider, "role": role}


def _with_source_identity(saml_role: dict[str, str], *values: str) -> str:
    given = "".join(f"<saml:AttributeValue>{v}</saml:AttributeValue>" for v in values)
    return saml_response(
        [f"{saml_role['role']},{saml_role['provider']}"],
        attributes=f'<saml:Attribute Name="{SOURCE_IDENTITY}">{given}</saml:Attribute>',
    )


def _assume_saml(server: Server, saml_role: dict[str, str], response: str) -> dict[str, Any]:
    sts: Any = server.client("sts")
    out: dict[str, Any] = sts.assume_role_with_saml(
        RoleArn=saml_role["role"], PrincipalArn=saml_role["provider"], SAMLAssertion=response
    )
    return out


@pytest.mark.parametrize(
    "values",
    [("x" * 65,), ("x",), ("a b",), ("a&lt;b&gt;",), ("ünï",), ("",), ("alice", "bob")],
    ids=["too-long", "too-short", "space", "markup", "non-ascii", "empty", "two-values"],
)
def test_a_saml_source_identity_assumerole_would_refuse_is_refused(
    abuse_server: Server, saml_role: dict[str, str], values: tuple[str, ...]
) -> None:
    with pytest.raises(ClientError) as caught:
        _assume_saml(abuse_server, saml_role, _with_source_identity(saml_role, *values))
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidIdentityToken"
    assert "SourceIdentity" in error["Message"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_valid_saml_source_identity_is_kept_by_the_session(
    abuse_server: Server, saml_role: dict[str, str]
) -> None:
    out = _assume_saml(abuse_server, saml_role, _with_source_identity(saml_role, "alice@example.com"))
    assert out["SourceIdentity"] == "alice@example.com"
    sts: Any = abuse_server.client(
        "sts",
        out["Credentials"]["AccessKeyId"],
        out["Credentials"]["SecretAccessKey"],
        out["Credentials"]["SessionToken"],
    )
    assert sts.get_caller_identity()["Arn"].endswith(f"/{saml_role['role'].rsplit('/', 1)[1]}/alice")


_ASSUME_ANY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}
)


def _trust_of(principal: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _sts_of(server: Server, credentials: dict[str, str]) -> Any:
    return server.client(
        "sts", credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]
    )


def _role(iam: Any, name: str, trust: str) -> str:
    arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    return arn


def _refused_assume(sts: Any, role_arn: str) -> dict[str, str]:
    with pytest.raises(ClientError) as caught:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="stale")
    error: dict[str, str] = caught.value.response["Error"]
    return error


def test_a_session_of_a_deleted_role_is_not_the_role_made_again_under_its_name(abuse_server: Server) -> None:
    iam: Any = abuse_server.client("iam")
    name = f"reborn-{uuid.uuid4().hex[:8]}"
    account = abuse_server.account_id
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    user_sts: Any = abuse_server.client("sts", key["AccessKeyId"], key["SecretAccessKey"])
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust_of(f"arn:aws:iam::{account}:user/{name}"))
    role_arn = f"arn:aws:iam::{account}:role/{name}"
    stale = user_sts.assume_role(RoleArn=role_arn, RoleSessionName="before")["Credentials"]
    iam.delete_role(RoleName=name)
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust_of(f"arn:aws:iam::{account}:user/{name}"))
    target = _role(iam, f"{name}-t", _trust_of(role_arn))
    error = _refused_assume(_sts_of(abuse_server, stale), target)
    assert error["Code"] == "AccessDenied"
    assert error["Message"] == (
        f"User: arn:aws:sts::{account}:assumed-role/{name}/before is not authorized to perform: "
        f"sts:AssumeRole on resource: {target}"
    )
    fresh = user_sts.assume_role(RoleArn=role_arn, RoleSessionName="after")["Credentials"]
    assert _sts_of(abuse_server, fresh).assume_role(RoleArn=target, RoleSessionName="ok")["Credentials"]


def test_a_session_of_a_deleted_user_is_not_the_user_made_again_under_its_name(abuse_server: Server) -> None:
    iam: Any = abuse_server.client("iam")
    name = f"reborn-user-{uuid.uuid4().hex[:8]}"
    account = abuse_server.account_id
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    stale = abuse_server.client("sts", key["AccessKeyId"], key["SecretAccessKey"]).get_session_token()
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    iam.delete_user(UserName=name)
    iam.create_user(UserName=name)
    user_arn = f"arn:aws:iam::{account}:user/{name}"
    target = _role(iam, f"{name}-t", _trust_of(user_arn))
    error = _refused_assume(_sts_of(abuse_server, stale["Credentials"]), target)
    assert error["Code"] == "AccessDenied"
    assert error["Message"].startswith(f"User: {user_arn} is not authorized to perform: sts:AssumeRole")
    new_key = iam.create_access_key(UserName=name)["AccessKey"]
    new_sts: Any = abuse_server.client("sts", new_key["AccessKeyId"], new_key["SecretAccessKey"])
    assert new_sts.assume_role(RoleArn=target, RoleSessionName="ok")["Credentials"]


_OWN_CREDENTIALS = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["iam:CreateAccessKey", "iam:GetUser", "iam:ListAccessKeys"],
                "Resource": "arn:aws:iam::*:user/${aws:username}",
            }
        ],
    }
)


def test_a_session_issued_before_a_rename_acts_on_its_own_user_not_the_next_holder_of_the_name(
    abuse_server: Server,
) -> None:
    iam: Any = abuse_server.client("iam")
    name, renamed = f"bob-{uuid.uuid4().hex[:8]}", f"robert-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="own-credentials", PolicyDocument=_OWN_CREDENTIALS)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
    totp = pyotp.TOTP(device["Base32StringSeed"].decode())
    now = time.time()
    iam.enable_mfa_device(
        UserName=name,
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1=totp.at(now - 60),
        AuthenticationCode2=totp.at(now - 30),
    )
    session = abuse_server.client("sts", key["AccessKeyId"], key["SecretAccessKey"]).get_session_token(
        SerialNumber=device["SerialNumber"], TokenCode=totp.at(now)
    )["Credentials"]
    iam.update_user(UserName=name, NewUserName=renamed)
    iam.create_user(UserName=name)  # someone else now holds the name the session was issued under
    stale: Any = abuse_server.client(
        "iam", session["AccessKeyId"], session["SecretAccessKey"], session["SessionToken"]
    )
    assert stale.get_user()["User"]["UserName"] == renamed
    assert stale.create_access_key()["AccessKey"]["UserName"] == renamed
    assert iam.list_access_keys(UserName=name)["AccessKeyMetadata"] == []
    listed = stale.list_access_keys()["AccessKeyMetadata"]
    assert {k["UserName"] for k in listed} == {renamed} and len(listed) == 2
    with pytest.raises(
        ClientError
    ) as caught:  # nor may it act on them by name: aws:username is the user's now
        stale.create_access_key(UserName=name)
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert stale.get_user(UserName=renamed)["User"]["UserName"] == renamed
    assert iam.list_access_keys(UserName=name)["AccessKeyMetadata"] == []


def _bucket_naming(harness: Harness, principal_arn: str) -> str:
    """A bucket of the server's account whose policy lets `principal_arn` read `k`."""
    s3 = harness.client("s3")
    bucket = f"named-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"secret")
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": principal_arn},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/k",
    }
    s3.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )
    return bucket


def _reads(harness: Harness, credentials: dict[str, str], bucket: str) -> bool:
    try:
        harness.client("s3", credentials).get_object(Bucket=bucket, Key="k")
    except ClientError as error:
        assert error.response["Error"]["Code"] == "AccessDenied"
        return False
    return True


def test_a_bucket_policy_naming_a_role_made_again_grants_nothing_to_the_old_roles_sessions(
    harness: Harness,
) -> None:
    iam: Any = harness.server.client("iam")
    name = f"reborn-s3-{uuid.uuid4().hex[:8]}"
    account = harness.server.account_id
    trust = _trust_of(f"arn:aws:iam::{account}:root")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
    role_arn = f"arn:aws:iam::{account}:role/{name}"
    user = f"assumer-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="assume", PolicyDocument=_ASSUME_ANY)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    sts: Any = harness.server.client("sts", key["AccessKeyId"], key["SecretAccessKey"])
    stale = sts.assume_role(RoleArn=role_arn, RoleSessionName="before")["Credentials"]
    iam.delete_role(RoleName=name)
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
    bucket = _bucket_naming(harness, role_arn)
    assert not _reads(harness, stale, bucket)
    fresh = sts.assume_role(RoleArn=role_arn, RoleSessionName="after")["Credentials"]
    assert _reads(harness, fresh, bucket)


def test_a_bucket_policy_naming_a_user_grants_nothing_to_whom_the_name_belonged_before(
    harness: Harness,
) -> None:
    iam: Any = harness.server.client("iam")
    name, renamed = f"fed-{uuid.uuid4().hex[:8]}", f"fed-renamed-{uuid.uuid4().hex[:8]}"
    account = harness.server.account_id
    iam.create_user(UserName=name)
    federate = {"Effect": "Allow", "Action": "sts:GetFederationToken", "Resource": "*"}
    iam.put_user_policy(
        UserName=name,
        PolicyName="federate",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [federate]}),
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    read_all = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        }
    )
    sts: Any = harness.server.client("sts", key["AccessKeyId"], key["SecretAccessKey"])
    federated = sts.get_federation_token(Name="fed-session", Policy=read_all)["Credentials"]
    old_bucket = _bucket_naming(harness, f"arn:aws:iam::{account}:user/{name}")
    assert _reads(harness, federated, old_bucket)  # the bucket names the user who federated
    iam.update_user(UserName=name, NewUserName=renamed)
    iam.create_user(UserName=name)  # the name is someone else's now
    new_bucket = _bucket_naming(harness, f"arn:aws:iam::{account}:user/{name}")
    assert not _reads(harness, federated, new_bucket)
    renamed_bucket = _bucket_naming(harness, f"arn:aws:iam::{account}:user/{renamed}")
    assert _reads(harness, federated, renamed_bucket)  # the user who federated, under its name now
