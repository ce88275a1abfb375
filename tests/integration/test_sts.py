"""STS through boto3: AssumeRole and its rules, session tokens that expire and cannot be forged,
GetSessionToken, GetFederationToken, GetCallerIdentity shapes, GetAccessKeyInfo."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ostiary.auth import tokens
from ostiary.store.keyring import Keyring
from tests.conftest import Server

ACCOUNT = "123456789012"


def trust(
    principal: dict[str, Any],
    actions: list[str] | str = "sts:AssumeRole",
    condition: dict[str, Any] | None = None,
) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": actions}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def make_user(server: Server, name: str) -> tuple[Any, dict[str, str]]:
    """A user with an access key: (its IAM client, its key)."""
    iam = server.client("iam")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return server.client("iam", key["AccessKeyId"], key["SecretAccessKey"]), key


def sts_of(server: Server, creds: dict[str, str]) -> Any:
    return server.client("sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds.get("SessionToken"))


def iam_of(server: Server, creds: dict[str, str]) -> Any:
    return server.client("iam", creds["AccessKeyId"], creds["SecretAccessKey"], creds.get("SessionToken"))


def make_role(iam: Any, name: str, policy: str, **extra: Any) -> str:
    return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=policy, **extra)["Role"]["Arn"])


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]


@pytest.fixture
def alice(server: Server, unique: str) -> dict[str, str]:
    """An IAM user's long-term key, with its name and ARN."""
    name = f"alice-{unique}"
    _, key = make_user(server, name)
    return {**key, "Arn": f"arn:aws:iam::{ACCOUNT}:user/{name}"}


# -- GetCallerIdentity ------------------------------------------------------------------------------------


def test_caller_identity_of_root(sts: Any) -> None:
    out = sts.get_caller_identity()
    assert (out["Account"], out["Arn"], out["UserId"]) == (ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT)


def test_caller_identity_of_a_user(server: Server, iam: Any, unique: str) -> None:
    iam.create_user(UserName=f"bob-{unique}", Path="/team/")
    key = iam.create_access_key(UserName=f"bob-{unique}")["AccessKey"]
    out = sts_of(server, key).get_caller_identity()
    user = iam.get_user(UserName=f"bob-{unique}")["User"]
    assert out["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/team/bob-{unique}"
    assert out["UserId"] == user["UserId"] and out["UserId"].startswith("AIDA")
    assert out["Account"] == ACCOUNT


# -- AssumeRole -------------------------------------------------------------------------------------------


def test_assume_role_gives_an_assumed_role_session(
    server: Server, iam: Any, alice: dict[str, str], unique: str
) -> None:
    role_arn = make_role(iam, f"Deployer-{unique}", trust({"AWS": alice["Arn"]}), Path="/ci/")
    role_id = iam.get_role(RoleName=f"Deployer-{unique}")["Role"]["RoleId"]
    out = sts_of(server, alice).assume_role(RoleArn=role_arn, RoleSessionName="build-42")
    session_arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/Deployer-{unique}/build-42"
    assert out["AssumedRoleUser"] == {"AssumedRoleId": f"{role_id}:build-42", "Arn": session_arn}
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
    assert len(creds["SecretAccessKey"]) == 40
    assert timedelta(minutes=59) < creds["Expiration"] - datetime.now(UTC) <= timedelta(hours=1)
    assert "PackedPolicySize" not in out
    me = sts_of(server, creds).get_caller_identity()
    assert (me["Arn"], me["UserId"], me["Account"]) == (session_arn, f"{role_id}:build-42", ACCOUNT)
    assert iam.get_role(RoleName=f"Deployer-{unique}")["Role"]["RoleLastUsed"]["Region"] == "us-east-1"


def test_session_credentials_work_against_iam(
    server: Server, iam: Any, alice: dict[str, str], unique: str
) -> None:
    role_arn = make_role(iam, f"Reader-{unique}", trust({"AWS": alice["Arn"]}))
    iam.put_role_policy(
        RoleName=f"Reader-{unique}",
        PolicyName="read",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"}],
            }
        ),
    )
    creds = sts_of(server, alice).assume_role(RoleArn=role_arn, RoleSessionName="s1")["Credentials"]
    assert iam_of(server, creds).get_role(RoleName=f"Reader-{unique}")["Role"]["Arn"] == role_arn


def test_a_trust_policy_that_does_not_name_the_caller_refuses(
    server: Server, iam: Any, alice: dict[str, str], unique: str
) -> None:
    other = iam.create_user(UserName=f"nobody-{unique}")["User"]["Arn"]  # IAM refuses a user that is not
    role_arn = make_role(iam, f"Other-{unique}", trust({"AWS": other}))
    with pytest.raises(ClientError) as exc:
        sts_of(server, alice).assume_role(RoleArn=role_arn, RoleSessionName="s1")
    assert error_of(exc) == (
        "AccessDenied",
        f"User: {alice['Arn']} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
    )
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_a_role_that_does_not_exist_refuses_like_one_that_does_not_trust(
    server: Server, alice: dict[str, str], unique: str
) -> None:
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/missing-{unique}"
    with pytest.raises(ClientError) as exc:
        sts_of(server, alice).assume_role(RoleArn=role_arn, RoleSessionName="s1")
    assert error_of(exc) == (
        "AccessDenied",
        f"User: {alice['Arn']} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
    )


def test_root_may_not_assume_roles(sts: Any, iam: Any, unique: str) -> None:
    role_arn = make_role(iam, f"RootTry-{unique}", trust({"AWS": ACCOUNT}))
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="s1")
    assert error_of(exc) == ("AccessDenied", "Roles may not be assumed by root accounts.")


@pytest.mark.parametrize("arn", ["nothing-valid-in-here", "arn:a:::something/test-role"])
def test_a_malformed_role_arn_is_a_validation_error(server: Server, alice: dict[str, str], arn: str) -> None:
    with pytest.raises(ClientError) as exc:
        sts_of(server, alice).assume_role(RoleArn=arn, RoleSessionName="s1")
    assert error_of(exc) == ("ValidationError", f"{arn} is invalid")


def test_session_name_rules(server: Server, iam: Any, alice: dict[str, str], unique: str) -> None:
    role_arn = make_role(iam, f"Names-{unique}", trust({"AWS": alice["Arn"]}))
    with pytest.raises(ClientError) as exc:
        sts_of(server, alice).assume_role(RoleArn=role_arn, RoleSessionName="Session1:2")
    assert error_of(exc) == (
        "ValidationError",
        "1 validation error detected: Value 'Session1:2' at "
        "'roleSessionName' failed to satisfy constraint: Member must satisfy regular "
        "expression pattern: [\\w+=,.@-]*",
    )


def test_external_id_condition(server: Server, iam: Any, alice: dict[str, str], unique: str) -> None:
    role_arn = make_role(
        iam,
        f"Vendor-{unique}",
        trust({"AWS": alice["Arn"]}, condition={"StringEquals": {"sts:ExternalId": "s3cr3t-ext"}}),
    )
    client = sts_of(server, alice)
    for wrong in ({}, {"ExternalId": "guess-what"}):
        with pytest.raises(ClientError) as exc:
            client.assume_role(RoleArn=role_arn, RoleSessionName="s1", **wrong)
        assert error_of(exc)[0] == "AccessDenied"
    assert client.assume_role(RoleArn=role_arn, RoleSessionName="s1", ExternalId="s3cr3t-ext")["Credentials"]


def test_duration_up_to_the_roles_max_session_duration(
    server: Server, iam: Any, alice: dict[str, str], unique: str
) -> None:
    role_arn = make_role(iam, f"Long-{unique}", trust({"AWS": alice["Arn"]}), MaxSessionDuration=7200)
    client = sts_of(server, alice)
    out = client.assume_role(RoleArn=role_arn, RoleSessionName="s1", DurationSeconds=7200)
    assert out["Credentials"]["Expiration"] - datetime.now(UTC) > timedelta(seconds=7100)
    with pytest.raises(ClientError) as exc:
        client.assume_role(RoleArn=role_arn, RoleSessionName="s1", DurationSeconds=7201)
    assert error_of(exc) == (
        "ValidationError",
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    )


def test_role_chaining_is_limited_to_one_hour(
    server: Server, iam: Any, alice: dict[str, str], unique: str
) -> None:
    first_arn = make_role(iam, f"First-{unique}", trust({"AWS": alice["Arn"]}))
    first_session = f"arn:aws:sts::{ACCOUNT}:assumed-role/First-{unique}/hop"
    second_arn = make_role(iam, f"Second-{unique}", trust({"AWS": first_session}), MaxSessionDuration=14400)
    hop = sts_of(server, alice).assume_role(RoleArn=first_arn, RoleSessionName="hop")["Credentials"]
    with pytest.raises(ClientError) as exc:
        sts_of(server, hop).assume_role(RoleArn=second_arn, RoleSessionName="hop2", DurationSeconds=3601)
    assert error_of(exc) == (
        "ValidationError",
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
    )
    out = sts_of(server, hop).assume_role(RoleArn=second_arn, RoleSessionName="hop2", DurationSeconds=3600)
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Second-{unique}/hop2"


def test_a_role_arn_principal_trusts_every_session_of_that_role(
    server: Server, iam: Any, alice: dict[str, str], unique: str
) -> None:
    first_arn = make_role(iam, f"Hub-{unique}", trust({"AWS": alice["Arn"]}))
    second_arn = make_role(iam, f"Spoke-{unique}", trust({"AWS": first_arn}))
    hop = sts_of(server, alice).assume_role(RoleArn=first_arn, RoleSessionName="any-name")["Credentials"]
    assert sts_of(server, hop).assume_role(RoleArn=second_arn, RoleSessionName="x1")["Credentials"]


def test_session_tags_need_tag_session(server: Server, iam: Any, alice: dict[str, str], unique: str) -> None:
    plain = make_role(iam, f"NoTags-{unique}", trust({"AWS": alice["Arn"]}))
    tagging = make_role(
        iam, f"Tags-{unique}", trust({"AWS": alice["Arn"]}, ["sts:AssumeRole", "sts:TagSession"])
    )
    client = sts_of(server, alice)
    tags = [{"Key": "Project", "Value": "Apollo"}]
    with pytest.raises(ClientError) as exc:
        client.assume_role(RoleArn=plain, RoleSessionName="s1", Tags=tags)
    assert error_of(exc) == (
        "AccessDenied",
        f"User: {alice['Arn']} is not authorized to perform: sts:TagSession on resource: {plain}",
    )
    out = client.assume_role(RoleArn=tagging, RoleSessionName="s1", Tags=tags, TransitiveTagKeys=["Project"])
    assert out["PackedPolicySize"] >= 1


def test_session_tag_validation_messages(
    server: Server, iam: Any, alice: dict[str, str], unique: str
) -> None:
    role_arn = make_role(
        iam, f"TagRules-{unique}", trust({"AWS": alice["Arn"]}, ["sts:AssumeRole", "sts:TagSession"])
    )
    client = sts_of(server, alice)
    with pytest.raises(ClientError) as exc:
        client.assume_role(
            RoleArn=role_arn,
            RoleSessionName="s1",
            Tags=[{"Key": "SessionTag1", "Value": "v"}],
            TransitiveTagKeys=["InvalidKey"],
        )
    assert error_of(exc) == (
        "InvalidParameterValue",
        "The specified transitive tag key must be included in the requested tags.",
    )
    with pytest.raises(ClientError) as exc:
        client.assume_role(
            RoleArn=role_arn,
            RoleSessionName="s1",
            Tags=[{"Key": "SessionTag1", "Value": "a"}, {"Key": "sessiontag1", "Value": "b"}],
        )
    assert error_of(exc) == (
        "InvalidParameterValue",
        "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
    )


def test_transitive_tags_cannot_be_overridden_when_chaining(
    server: Server, iam: Any, alice: dict[str, str], unique: str
) -> None:
    both = ["sts:AssumeRole", "sts:TagSession"]
    first_arn = make_role(iam, f"TagHub-{unique}", trust({"AWS": alice["Arn"]}, both))
    second_arn = make_role(iam, f"TagSpoke-{unique}", trust({"AWS": first_arn}, both))
    hop = sts_of(server, alice).assume_role(
        RoleArn=first_arn,
        RoleSessionName="s1",
        TransitiveTagKeys=["Team"],
        Tags=[{"Key": "Team", "Value": "blue"}],
    )["Credentials"]
    with pytest.raises(ClientError) as exc:
        sts_of(server, hop).assume_role(
            RoleArn=second_arn, RoleSessionName="s2", Tags=[{"Key": "team", "Value": "x"}]
        )
    assert error_of(exc) == (
        "InvalidParameterValue",
        "One of the specified transitive tag keys can't be set "
        "because it conflicts with a transitive tag key from the calling session.",
    )
    assert sts_of(server, hop).assume_role(RoleArn=second_arn, RoleSessionName="s2")["Credentials"]


def test_source_identity_needs_set_source_identity(
    server: Server, iam: Any, alice: dict[str, str], unique: str
) -> None:
    plain = make_role(iam, f"NoSrc-{unique}", trust({"AWS": alice["Arn"]}))
    allowing = make_role(
        iam, f"Src-{unique}", trust({"AWS": alice["Arn"]}, ["sts:AssumeRole", "sts:SetSourceIdentity"])
    )
    client = sts_of(server, alice)
    with pytest.raises(ClientError) as exc:
        client.assume_role(RoleArn=plain, RoleSessionName="s1", SourceIdentity="alice")
    assert error_of(exc) == (
        "AccessDenied",
        f"User: {alice['Arn']} is not authorized to perform: sts:SetSourceIdentity on resource: {plain}",
    )
    out = client.assume_role(RoleArn=allowing, RoleSessionName="s1", SourceIdentity="alice")
    assert out["SourceIdentity"] == "alice"


def test_a_session_policy_reports_its_packed_size(
    server: Server, iam: Any, alice: dict[str, str], unique: str
) -> None:
    role_arn = make_role(iam, f"Narrow-{unique}", trust({"AWS": alice["Arn"]}))
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "RestrictedAccess",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": ["arn:aws:s3:::example-bucket/*"],
            }
        ],
    }
    out = sts_of(server, alice).assume_role(RoleArn=role_arn, RoleSessionName="s1", Policy=json.dumps(policy))
    assert out["PackedPolicySize"] == 16  # AWS's answer for this very policy


def test_a_malformed_session_policy_is_refused(
    server: Server, iam: Any, alice: dict[str, str], unique: str
) -> None:
    role_arn = make_role(iam, f"BadPol-{unique}", trust({"AWS": alice["Arn"]}))
    with pytest.raises(ClientError) as exc:
        sts_of(server, alice).assume_role(RoleArn=role_arn, RoleSessionName="s1", Policy='{"Statement": 3}')
    assert error_of(exc)[0] == "MalformedPolicyDocument"


# -- tokens that must not work ------------------------------------------------------------------------------


def _role_creds(server: Server, iam: Any, alice: dict[str, str], name: str) -> dict[str, str]:
    role_arn = make_role(iam, name, trust({"AWS": alice["Arn"]}))
    return dict(sts_of(server, alice).assume_role(RoleArn=role_arn, RoleSessionName="s1")["Credentials"])


def test_an_expired_token_is_refused_by_iam_and_sts(
    server: Server, iam: Any, alice: dict[str, str], unique: str
) -> None:
    creds = _role_creds(server, iam, alice, f"Exp-{unique}")
    keyring = Keyring.load(server.data_dir)
    session = tokens.open_token(keyring, creds["SessionToken"], datetime.now(UTC))
    past = datetime.now(UTC) - timedelta(seconds=5)
    from dataclasses import replace

    creds["SessionToken"] = tokens.seal(
        keyring, replace(session, issued_at=past - timedelta(hours=1), expires_at=past)
    )
    for client in (sts_of(server, creds).get_caller_identity, iam_of(server, creds).list_roles):
        with pytest.raises(ClientError) as exc:
            client()
        assert error_of(exc) == ("ExpiredToken", "The security token included in the request is expired")


def test_a_tampered_token_is_refused(server: Server, iam: Any, alice: dict[str, str], unique: str) -> None:
    creds = _role_creds(server, iam, alice, f"Tamper-{unique}")
    token = creds["SessionToken"]
    creds["SessionToken"] = token[:30] + ("A" if token[30] != "A" else "B") + token[31:]
    with pytest.raises(ClientError) as exc:
        sts_of(server, creds).get_caller_identity()
    assert error_of(exc) == ("InvalidClientTokenId", "The security token included in the request is invalid.")


def test_a_token_of_another_key_is_refused(
    server: Server, iam: Any, alice: dict[str, str], unique: str
) -> None:
    one = _role_creds(server, iam, alice, f"KeyA-{unique}")
    two = _role_creds(server, iam, alice, f"KeyB-{unique}")
    mixed = {**one, "SessionToken": two["SessionToken"]}
    with pytest.raises(ClientError) as exc:
        sts_of(server, mixed).get_caller_identity()
    assert error_of(exc)[0] == "InvalidClientTokenId"


def test_a_token_sealed_by_another_server_is_refused(
    server: Server, iam: Any, alice: dict[str, str], unique: str
) -> None:
    creds = _role_creds(server, iam, alice, f"Foreign-{unique}")
    mine = tokens.open_token(Keyring.load(server.data_dir), creds["SessionToken"], datetime.now(UTC))
    creds["SessionToken"] = tokens.seal(Keyring(b"\x07" * 32), mine)
    with pytest.raises(ClientError) as exc:
        sts_of(server, creds).get_caller_identity()
    assert error_of(exc) == ("InvalidClientTokenId", "The security token included in the request is invalid.")


def test_a_wrong_secret_with_a_valid_token_is_refused(
    server: Server, iam: Any, alice: dict[str, str], unique: str
) -> None:
    creds = _role_creds(server, iam, alice, f"Secret-{unique}")
    creds["SecretAccessKey"] = "x" * 40
    with pytest.raises(ClientError) as exc:
        sts_of(server, creds).get_caller_identity()
    assert error_of(exc)[0] == "SignatureDoesNotMatch"


# -- GetSessionToken, GetFederationToken, GetAccessKeyInfo -----------------------------------------------


def test_get_session_token_keeps_the_users_identity(server: Server, alice: dict[str, str]) -> None:
    creds = sts_of(server, alice).get_session_token(DurationSeconds=900)["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    assert creds["Expiration"] - datetime.now(UTC) <= timedelta(seconds=900)
    me = sts_of(server, creds).get_caller_identity()
    assert me["Arn"] == alice["Arn"] and me["UserId"].startswith("AIDA")
    with pytest.raises(ClientError) as exc:
        sts_of(server, creds).get_session_token()
    assert error_of(exc) == ("AccessDenied", "Cannot call GetSessionToken with session credentials")
    with pytest.raises(ClientError) as exc:
        iam_of(server, creds).list_users()  # without MFA, AWS keeps such a session away from IAM
    assert error_of(exc)[0] == "InvalidClientTokenId"


def test_root_session_tokens_last_at_most_an_hour(server: Server, sts: Any) -> None:
    creds = sts.get_session_token(DurationSeconds=7200)["Credentials"]
    assert creds["Expiration"] - datetime.now(UTC) <= timedelta(hours=1)
    assert sts_of(server, creds).get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"


def test_get_federation_token_gives_a_federated_user(server: Server, sts: Any, unique: str) -> None:
    name = f"fed{unique}"[:32]
    out = sts.get_federation_token(Name=name, DurationSeconds=900)
    arn = f"arn:aws:sts::{ACCOUNT}:federated-user/{name}"
    assert out["FederatedUser"] == {"FederatedUserId": f"{ACCOUNT}:{name}", "Arn": arn}
    assert out["PackedPolicySize"] == 0
    me = sts_of(server, out["Credentials"]).get_caller_identity()
    assert (me["Arn"], me["UserId"], me["Account"]) == (arn, f"{ACCOUNT}:{name}", ACCOUNT)
    with pytest.raises(ClientError) as exc:
        sts_of(server, out["Credentials"]).get_federation_token(Name="again")
    assert error_of(exc) == ("AccessDenied", "Cannot call GetFederationToken with session credentials")


def test_access_key_info_names_the_account(
    server: Server, sts: Any, iam: Any, alice: dict[str, str], unique: str
) -> None:
    assert sts.get_access_key_info(AccessKeyId=alice["AccessKeyId"])["Account"] == ACCOUNT
    creds = _role_creds(server, iam, alice, f"Info-{unique}")
    assert sts.get_access_key_info(AccessKeyId=creds["AccessKeyId"])["Account"] == ACCOUNT


def test_decode_authorization_message_refuses_what_it_did_not_encode(sts: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sts.decode_authorization_message(EncodedMessage="bm90LWEtbWVzc2FnZQ")
    assert error_of(exc)[0] == "InvalidAuthorizationMessageException"


def test_session_credentials_survive_a_restart(tmp_path: Any) -> None:
    from tests.conftest import start_server, stop_server

    url = f"sqlite:///{tmp_path / 'ostiary.db'}"
    first = start_server(tmp_path, url, "sqlite")
    try:
        creds = first.client("sts").get_session_token(DurationSeconds=900)["Credentials"]
    finally:
        stop_server(first)
    second = start_server(tmp_path, url, "sqlite")
    try:
        me = sts_of(second, creds).get_caller_identity()
    finally:
        stop_server(second)
    assert me["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"


def test_get_session_token_with_mfa_may_call_iam(
    server: Server, iam: Any, alice: dict[str, str], unique: str
) -> None:
    import time

    import pyotp

    name = alice["Arn"].rsplit("/", 1)[1]
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=f"mfa-{unique}")["VirtualMFADevice"]
    totp = pyotp.TOTP(device["Base32StringSeed"].decode())
    now = time.time()
    iam.enable_mfa_device(
        UserName=name,
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1=totp.at(now - 30),
        AuthenticationCode2=totp.at(now),
    )
    client = sts_of(server, alice)
    with pytest.raises(ClientError) as exc:
        client.get_session_token(
            SerialNumber=device["SerialNumber"],
            TokenCode="000000" if totp.at(now + 30) != "000000" else "111111",
        )
    assert error_of(exc) == (
        "AccessDenied",
        "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
    )
    creds = client.get_session_token(SerialNumber=device["SerialNumber"], TokenCode=totp.at(now + 30))[
        "Credentials"
    ]
    with pytest.raises(ClientError) as exc:
        iam_of(server, creds).list_users()
    assert error_of(exc)[0] == "AccessDenied"  # past authentication: the user's (empty) policies decide


def test_older_sessions_are_revoked_by_a_deny_on_token_issue_time(
    server: Server, iam: Any, alice: dict[str, str], unique: str
) -> None:
    name = f"Revoke-{unique}"
    role_arn = make_role(iam, name, trust({"AWS": alice["Arn"]}))
    iam.put_role_policy(
        RoleName=name,
        PolicyName="read",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"}],
            }
        ),
    )
    creds = sts_of(server, alice).assume_role(RoleArn=role_arn, RoleSessionName="old1", DurationSeconds=900)[
        "Credentials"
    ]
    assert iam_of(server, creds).get_role(RoleName=name)
    issued = creds["Expiration"] - timedelta(seconds=900)
    cutoff = (issued + timedelta(seconds=1)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    iam.put_role_policy(
        RoleName=name,
        PolicyName="AWSRevokeOlderSessions",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Action": "*",
                        "Resource": "*",
                        "Condition": {"DateLessThan": {"aws:TokenIssueTime": cutoff}},
                    }
                ],
            }
        ),
    )
    with pytest.raises(ClientError) as exc:
        iam_of(server, creds).get_role(RoleName=name)
    code, message = error_of(exc)
    assert code == "AccessDenied"
    assert message.startswith(
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{name}/old1 is not authorized to perform: "
        "iam:GetRole on resource: "
    )
    assert message.endswith(" with an explicit deny in an identity-based policy")


def test_a_session_policy_narrows_the_role(
    server: Server, iam: Any, alice: dict[str, str], unique: str
) -> None:
    name = f"Narrowed-{unique}"
    role_arn = make_role(iam, name, trust({"AWS": alice["Arn"]}))
    iam.put_role_policy(
        RoleName=name,
        PolicyName="read",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"}],
            }
        ),
    )
    session_policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"}],
        }
    )
    creds = sts_of(server, alice).assume_role(
        RoleArn=role_arn, RoleSessionName="narrow", Policy=session_policy
    )["Credentials"]
    assert iam_of(server, creds).get_role(RoleName=name)["Role"]["Arn"] == role_arn
    with pytest.raises(ClientError) as exc:
        iam_of(server, creds).list_roles()
    code, message = error_of(exc)
    assert code == "AccessDenied"
    assert message.endswith("because no session policy allows the iam:ListRoles action")
