"""The account through boto3: password policy, alias and summary, each in a fresh account.

Account-wide settings would leak between tests sharing the default account, so each test makes
its own account with `ostiary` admin code and calls it with that account's root key.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from ostiary.bootstrap import create_account
from ostiary.store.db import Database
from ostiary.store.keyring import Keyring
from tests.conftest import Server
from tests.integration.authz_helpers import Principal, allow, denied, doc
from tests.integration.credential_helpers import certificate, private_pem, rsa_key
from tests.integration.test_mfa import codes
from tests.integration.test_saml_providers import metadata


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = exc.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def account(server: Server) -> Iterator[tuple[str, object]]:
    """A fresh account of the running server: (account id, a boto3 IAM client as its root)."""
    db = Database(server.database_url, pool=False)
    try:
        made = create_account(db, Keyring.load(server.data_dir))
    finally:
        db.dispose()
    yield made["AccountId"], server.client("iam", made["AccessKeyId"], made["SecretAccessKey"])


def test_password_policy_lifecycle(account) -> None:  # type: ignore[no-untyped-def]
    account_id, iam = account
    with pytest.raises(ClientError) as exc:
        iam.get_account_password_policy()
    assert _error(exc) == (
        "NoSuchEntity",
        f"The Password Policy with domain name {account_id} cannot be found.",
        404,
    )
    iam.update_account_password_policy()
    assert iam.get_account_password_policy()["PasswordPolicy"] == {
        "AllowUsersToChangePassword": False,
        "ExpirePasswords": False,
        "MinimumPasswordLength": 6,
        "RequireLowercaseCharacters": False,
        "RequireNumbers": False,
        "RequireSymbols": False,
        "RequireUppercaseCharacters": False,
    }
    iam.update_account_password_policy(
        MinimumPasswordLength=10,
        RequireSymbols=True,
        RequireNumbers=True,
        RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=True,
        AllowUsersToChangePassword=True,
        MaxPasswordAge=60,
        PasswordReusePrevention=3,
        HardExpiry=True,
    )
    assert iam.get_account_password_policy()["PasswordPolicy"] == {
        "AllowUsersToChangePassword": True,
        "ExpirePasswords": True,
        "HardExpiry": True,
        "MaxPasswordAge": 60,
        "MinimumPasswordLength": 10,
        "PasswordReusePrevention": 3,
        "RequireLowercaseCharacters": True,
        "RequireNumbers": True,
        "RequireSymbols": True,
        "RequireUppercaseCharacters": True,
    }
    iam.delete_account_password_policy()
    with pytest.raises(ClientError) as exc:
        iam.delete_account_password_policy()
    assert _error(exc) == (
        "NoSuchEntity",
        "The account policy with name PasswordPolicy cannot be found.",
        404,
    )


def test_password_policy_out_of_range_is_a_validation_error(account) -> None:  # type: ignore[no-untyped-def]
    _, iam = account
    with pytest.raises(ClientError) as exc:
        iam.update_account_password_policy(
            MaxPasswordAge=1096, MinimumPasswordLength=129, PasswordReusePrevention=25
        )
    assert _error(exc) == (
        "ValidationError",
        "3 validation errors detected: "
        "Value at 'minimumPasswordLength' failed to satisfy constraint: "
        "Member must have value less than or equal to 128; "
        "Value at 'passwordReusePrevention' failed to satisfy constraint: "
        "Member must have value less than or equal to 24; "
        "Value at 'maxPasswordAge' failed to satisfy constraint: "
        "Member must have value less than or equal to 1095",
        400,
    )


def test_login_profile_obeys_the_account_policy(account, unique: str) -> None:  # type: ignore[no-untyped-def]
    _, iam = account
    iam.update_account_password_policy(MinimumPasswordLength=12, RequireSymbols=True)
    iam.create_user(UserName=f"pp-{unique}")
    with pytest.raises(ClientError) as exc:
        iam.create_login_profile(UserName=f"pp-{unique}", Password="abcdefghijk1")
    assert _error(exc) == (
        "PasswordPolicyViolation",
        "Password does not conform to the account password policy.",
        400,
    )
    iam.create_login_profile(UserName=f"pp-{unique}", Password="abcdefghijk!")


def test_account_alias_lifecycle(account, unique: str) -> None:  # type: ignore[no-untyped-def]
    _, iam = account
    assert iam.list_account_aliases()["AccountAliases"] == []
    iam.create_account_alias(AccountAlias=f"alias-{unique}")
    listed = iam.list_account_aliases()
    assert listed["AccountAliases"] == [f"alias-{unique}"] and listed["IsTruncated"] is False
    iam.create_account_alias(AccountAlias=f"second-{unique}")  # an account has one alias: it is replaced
    assert iam.list_account_aliases()["AccountAliases"] == [f"second-{unique}"]
    with pytest.raises(ClientError) as exc:
        iam.delete_account_alias(AccountAlias=f"alias-{unique}")
    assert _error(exc)[0] == "NoSuchEntity"
    iam.delete_account_alias(AccountAlias=f"second-{unique}")
    assert iam.list_account_aliases()["AccountAliases"] == []


def test_an_alias_belongs_to_one_account(account, iam, unique: str) -> None:  # type: ignore[no-untyped-def]
    _, fresh = account
    fresh.create_account_alias(AccountAlias=f"taken-{unique}")
    with pytest.raises(ClientError) as exc:
        iam.create_account_alias(AccountAlias=f"taken-{unique}")
    assert _error(exc)[0] == "EntityAlreadyExists"


_SUMMARY_KEYS = {
    "AccessKeysPerUserQuota",
    "AccountAccessKeysPresent",
    "AccountMFAEnabled",
    "AccountPasswordPresent",
    "AccountSigningCertificatesPresent",
    "AssumeRolePolicySizeQuota",
    "AttachedPoliciesPerGroupQuota",
    "AttachedPoliciesPerRoleQuota",
    "AttachedPoliciesPerUserQuota",
    "GlobalEndpointTokenVersion",
    "GroupPolicySizeQuota",
    "Groups",
    "GroupsPerUserQuota",
    "GroupsQuota",
    "InstanceProfiles",
    "InstanceProfilesQuota",
    "MFADevices",
    "MFADevicesInUse",
    "Policies",
    "PoliciesQuota",
    "PolicySizeQuota",
    "PolicyVersionsInUse",
    "PolicyVersionsInUseQuota",
    "Providers",
    "RolePolicySizeQuota",
    "Roles",
    "RolesQuota",
    "ServerCertificates",
    "ServerCertificatesQuota",
    "SigningCertificatesPerUserQuota",
    "UserPolicySizeQuota",
    "Users",
    "UsersQuota",
    "VersionsPerPolicyQuota",
}


def test_account_summary_has_every_key_and_counts(account, unique: str) -> None:  # type: ignore[no-untyped-def]
    _, iam = account
    before = iam.get_account_summary()["SummaryMap"]
    assert set(before) == _SUMMARY_KEYS
    assert before["UsersQuota"] == 5000 and before["AccessKeysPerUserQuota"] == 2
    assert before["AccountAccessKeysPresent"] == 1
    iam.create_user(UserName=f"s-{unique}")
    iam.create_group(GroupName=f"s-{unique}")
    after = iam.get_account_summary()["SummaryMap"]
    assert after["Users"] == before["Users"] + 1
    assert after["Groups"] == before["Groups"] + 1
    assert after["Roles"] == before["Roles"]


def test_account_summary_counts_mfa_devices_and_providers(account, unique: str) -> None:  # type: ignore[no-untyped-def]
    _, iam = account
    before = iam.get_account_summary()["SummaryMap"]
    assert (before["MFADevices"], before["MFADevicesInUse"], before["Providers"]) == (0, 0, 0)
    iam.create_user(UserName=f"m-{unique}")
    used = iam.create_virtual_mfa_device(VirtualMFADeviceName=f"used-{unique}")["VirtualMFADevice"]
    iam.create_virtual_mfa_device(VirtualMFADeviceName=f"spare-{unique}")
    one, two = codes(used["Base32StringSeed"].decode())
    iam.enable_mfa_device(
        UserName=f"m-{unique}",
        SerialNumber=used["SerialNumber"],
        AuthenticationCode1=one,
        AuthenticationCode2=two,
    )
    iam.create_open_id_connect_provider(Url=f"https://oidc-{unique}.example.com", ThumbprintList=["a" * 40])
    iam.create_saml_provider(Name=f"saml-{unique}", SAMLMetadataDocument=metadata())
    after = iam.get_account_summary()["SummaryMap"]
    assert (after["MFADevices"], after["MFADevicesInUse"], after["Providers"]) == (2, 1, 2)
    assert (after["AccountMFAEnabled"], after["AccountPasswordPresent"]) == (0, 0)


def test_account_summary_counts_server_certificates_and_roots_signing_certificates(  # type: ignore[no-untyped-def]
    account, unique: str
) -> None:
    _, iam = account
    before = iam.get_account_summary()["SummaryMap"]
    assert (before["ServerCertificates"], before["AccountSigningCertificatesPresent"]) == (0, 0)
    key = rsa_key()
    iam.upload_server_certificate(
        ServerCertificateName=f"web-{unique}", CertificateBody=certificate(key), PrivateKey=private_pem(key)
    )
    iam.create_user(UserName=f"c-{unique}")
    iam.upload_signing_certificate(UserName=f"c-{unique}", CertificateBody=certificate(rsa_key()))
    middle = iam.get_account_summary()["SummaryMap"]
    assert (middle["ServerCertificates"], middle["AccountSigningCertificatesPresent"]) == (1, 0)
    iam.upload_signing_certificate(CertificateBody=certificate(rsa_key()))  # the root's own
    after = iam.get_account_summary()["SummaryMap"]
    assert after["AccountSigningCertificatesPresent"] == 1


def test_sts_preferences_set_the_summarys_global_endpoint_token_version(account) -> None:  # type: ignore[no-untyped-def]
    _, iam = account
    assert iam.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"] == 1  # AWS's default
    iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v2Token")
    assert iam.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"] == 2
    iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v2Token")  # idempotent
    assert iam.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"] == 2
    iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v1Token")
    assert iam.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"] == 1


def test_sts_preferences_are_per_account(server: Server, account) -> None:  # type: ignore[no-untyped-def]
    _, iam = account
    iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v2Token")
    db = Database(server.database_url, pool=False)
    try:
        other = create_account(db, Keyring.load(server.data_dir))
    finally:
        db.dispose()
    others = server.client("iam", other["AccessKeyId"], other["SecretAccessKey"])
    assert others.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"] == 1


def test_sts_preferences_refuse_an_unknown_version(account) -> None:  # type: ignore[no-untyped-def]
    _, iam = account
    with pytest.raises(ClientError) as exc:
        iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v3Token")
    code, message, status = _error(exc)
    assert (code, status) == ("ValidationError", 400)
    assert message == (
        "1 validation error detected: Value at 'globalEndpointTokenVersion' failed to satisfy "
        "constraint: Member must satisfy enum value set"
    )
    assert iam.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"] == 1


def test_sts_preferences_need_their_iam_action(server: Server, account, unique: str) -> None:  # type: ignore[no-untyped-def]
    _, iam = account
    user = Principal(server, iam, f"prefs-{unique}", allow("iam:GetAccountSummary"))
    with pytest.raises(ClientError) as exc:
        user.iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v2Token")
    assert denied(exc) == (
        f"User: {user.arn} is not authorized to perform: iam:SetSecurityTokenServicePreferences "
        "on resource: * because no identity-based policy allows the "
        "iam:SetSecurityTokenServicePreferences action"
    )
    iam.put_user_policy(
        UserName=user.name, PolicyName="p", PolicyDocument=doc(allow("iam:*SecurityTokenServicePreferences"))
    )
    user.iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v2Token")
    assert iam.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"] == 2
