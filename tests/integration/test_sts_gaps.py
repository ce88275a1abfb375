"""STS and sign-in gaps closed: reserved and oversized session tags, role ARNs spelled in another partition
or casing, root's sign-in throttle apart from an IAM user named `root`, authorization messages bound to
their account. Each hostile call gets AWS's error and changes nothing."""

from __future__ import annotations

import json
import re
import secrets
import string
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ostiary.services.sts import encode_authorization_message
from ostiary.store.keyring import Keyring
from tests.conftest import Server
from tests.integration.console_helpers import PASSWORD, Visitor, alert, new_account

INCORRECT = "Your authentication information is incorrect. Please try again."
RESERVED = ("InvalidParameterValue", "Tag keys beginning with aws: are reserved for system use.", 400)


def _trust(principal: dict[str, Any], actions: list[str] | None = None) -> str:
    statement = {"Effect": "Allow", "Principal": principal, "Action": actions or ["sts:AssumeRole"]}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = exc.value.response["Error"]
    return err["Code"], err["Message"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def account(server: Server) -> dict[str, Any]:
    """A fresh account, its root's IAM client, and a user `alice` with a key (and no policies of her own:
    a role of her account that trusts her is hers to assume)."""
    created = new_account(server)
    iam = created["iam"]
    iam.create_user(UserName="alice")
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    created["alice"] = key
    created["alice_arn"] = f"arn:aws:iam::{created['AccountId']}:user/alice"
    created["sts"] = server.client(
        "sts", key["AccessKeyId"], key["SecretAccessKey"], parameter_validation=False
    )
    return created


def _tagging_role(account: dict[str, Any], name: str, path: str = "/") -> str:
    trust = _trust({"AWS": account["alice_arn"]}, ["sts:AssumeRole", "sts:TagSession"])
    role = account["iam"].create_role(RoleName=name, AssumeRolePolicyDocument=trust, Path=path)
    return str(role["Role"]["Arn"])


def _never_used(account: dict[str, Any], name: str) -> None:
    assert account["iam"].get_role(RoleName=name)["Role"].get("RoleLastUsed", {}) == {}


# -- 1. session tags ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["aws:team", "AWS:team", "Aws:PrincipalTag", "aws:"])
def test_a_session_tag_key_beginning_with_aws_is_refused(account: dict[str, Any], key: str) -> None:
    role = _tagging_role(account, "reserved")
    with pytest.raises(ClientError) as exc:
        account["sts"].assume_role(RoleArn=role, RoleSessionName="s1", Tags=[{"Key": key, "Value": "x"}])
    assert _error(exc) == RESERVED
    _never_used(account, "reserved")


def test_a_transitive_tag_key_beginning_with_aws_is_refused(account: dict[str, Any]) -> None:
    role = _tagging_role(account, "reserved-transitive")
    with pytest.raises(ClientError) as exc:
        account["sts"].assume_role(
            RoleArn=role,
            RoleSessionName="s1",
            Tags=[{"Key": "aws:team", "Value": "x"}, {"Key": "team", "Value": "y"}],
            TransitiveTagKeys=["aws:team"],
        )
    assert _error(exc) == RESERVED
    _never_used(account, "reserved-transitive")


def test_a_federation_token_with_a_tag_key_beginning_with_aws_is_refused(
    server: Server, account: dict[str, Any]
) -> None:
    root = server.client("sts", account["AccessKeyId"], account["SecretAccessKey"])
    with pytest.raises(ClientError) as exc:
        root.get_federation_token(Name="fed", Tags=[{"Key": "aws:userid", "Value": "x"}])
    assert _error(exc) == RESERVED
    assert root.get_federation_token(Name="fed", Tags=[{"Key": "userid", "Value": "aws:x"}])["FederatedUser"]


@pytest.mark.parametrize(
    ("tags", "transitive", "expected"),
    [
        ([{"Key": f"k{i}", "Value": "v"} for i in range(51)], None, "ValidationError"),
        ([{"Key": "k" * 129, "Value": "v"}], None, "ValidationError"),
        ([{"Key": "k", "Value": "v" * 257}], None, "ValidationError"),
        ([{"Key": "k!", "Value": "v"}], None, "ValidationError"),
        ([{"Key": "k", "Value": "v<"}], None, "ValidationError"),
        ([{"Key": "", "Value": "v"}], None, "ValidationError"),
        ([{"Key": "Team", "Value": "a"}, {"Key": "team", "Value": "b"}], None, "InvalidParameterValue"),
        ([{"Key": "Team", "Value": "a"}], ["Project"], "InvalidParameterValue"),
        ([{"Key": "Team", "Value": "a"}], ["k"] * 51, "ValidationError"),
    ],
    ids=[
        "51-tags",
        "key-129",
        "value-257",
        "key-pattern",
        "value-pattern",
        "empty-key",
        "dup-case",
        "transitive-not-a-tag",
        "51-transitive",
    ],
)
def test_session_tag_limits_are_awss(
    account: dict[str, Any], tags: list[dict[str, str]], transitive: list[str] | None, expected: str
) -> None:
    role = _tagging_role(account, "limits")
    extra = {"TransitiveTagKeys": transitive} if transitive else {}
    with pytest.raises(ClientError) as exc:
        account["sts"].assume_role(RoleArn=role, RoleSessionName="s1", Tags=tags, **extra)
    assert _error(exc)[0] == expected and _error(exc)[2] == 400
    _never_used(account, "limits")


def test_session_tags_too_large_once_packed_are_refused_with_awss_text(account: dict[str, Any]) -> None:
    role = _tagging_role(account, "packed")
    alphabet = string.ascii_letters + string.digits
    tags = [
        {
            "Key": "".join(secrets.choice(alphabet) for _ in range(128)),
            "Value": "".join(secrets.choice(alphabet) for _ in range(256)),
        }
        for _ in range(50)
    ]
    with pytest.raises(ClientError) as exc:
        account["sts"].assume_role(RoleArn=role, RoleSessionName="s1", Tags=tags)
    code, message, status = _error(exc)
    assert (code, status) == ("PackedPolicyTooLarge", 400)
    assert re.fullmatch(r"Packed size of session tags consumes \d+% of allotted space\.", message), message
    _never_used(account, "packed")


# -- 2. role ARNs -------------------------------------------------------------------------------------


def _spellings(arn: str) -> list[str]:
    """`arn` (arn:aws:iam::A:role/team/Name) in other partitions, casings, paths, regions and services."""
    return [
        arn.replace("arn:aws:", "arn:aws-cn:"),
        arn.replace("arn:aws:", "arn:aws-us-gov:"),
        arn.replace("arn:aws:", "arn:AWS:"),
        arn.replace(":iam::", ":IAM::"),
        arn.replace(":role/", ":ROLE/"),
        arn.replace("/team/", "/"),
        arn.replace("/team/", "/Team/"),
        arn.replace("/team/", "/team/team/"),
        arn.replace(":iam::", ":iam:us-east-1:"),
        arn.replace(":iam::", ":sts::"),
        arn + "/",
    ]


def test_a_role_arn_spelled_otherwise_names_no_role(account: dict[str, Any]) -> None:
    iam = account["iam"]
    arn = iam.create_role(
        RoleName="Spelled", Path="/team/", AssumeRolePolicyDocument=_trust({"AWS": account["alice_arn"]})
    )["Role"]["Arn"]
    for spelled in _spellings(arn):
        with pytest.raises(ClientError) as exc:
            account["sts"].assume_role(RoleArn=spelled, RoleSessionName="s1")
        denied = f"is not authorized to perform: sts:AssumeRole on resource: {spelled}"
        assert _error(exc) == ("AccessDenied", f"User: {account['alice_arn']} {denied}", 403), spelled
    _never_used(account, "Spelled")
    with pytest.raises(ClientError) as exc:
        account["sts"].assume_role(RoleArn=arn.replace("arn:", "ARN:"), RoleSessionName="s1")
    assert _error(exc)[0] == "ValidationError"
    assert (
        account["sts"]
        .assume_role(RoleArn=arn, RoleSessionName="s1")["AssumedRoleUser"]["Arn"]
        .endswith("assumed-role/Spelled/s1")
    )


def test_no_spelling_reaches_a_role_that_does_not_trust_the_caller_or_another_accounts_role(
    server: Server, account: dict[str, Any]
) -> None:
    other = new_account(server)
    theirs = other["iam"].create_role(
        RoleName="Theirs", Path="/team/", AssumeRolePolicyDocument=_trust({"AWS": other["AccountId"]})
    )["Role"]["Arn"]
    mine = account["iam"].create_role(
        RoleName="Theirs", Path="/team/", AssumeRolePolicyDocument=_trust({"AWS": account["AccountId"]})
    )["Role"]["Arn"]
    for spelled in [theirs, theirs.replace("Theirs", "theirs"), *_spellings(theirs)]:
        with pytest.raises(ClientError) as exc:
            account["sts"].assume_role(RoleArn=spelled, RoleSessionName="s1")
        assert _error(exc)[0] == "AccessDenied", spelled
    # a role that trusts only a principal that is not alice stays closed under every spelling
    account["iam"].create_user(UserName="nobody")  # IAM refuses a trust policy naming a user that is not
    private = account["iam"].create_role(
        RoleName="Private",
        Path="/team/",
        AssumeRolePolicyDocument=_trust({"AWS": f"arn:aws:iam::{account['AccountId']}:user/nobody"}),
    )["Role"]["Arn"]
    for spelled in [private, private.replace("Private", "PRIVATE"), *_spellings(private)]:
        with pytest.raises(ClientError) as exc:
            account["sts"].assume_role(RoleArn=spelled, RoleSessionName="s1")
        assert _error(exc)[0] == "AccessDenied", spelled
    for name, client in (("Theirs", other["iam"]), ("Theirs", account["iam"]), ("Private", account["iam"])):
        assert client.get_role(RoleName=name)["Role"].get("RoleLastUsed", {}) == {}
    assert mine != theirs


# -- 3. console: root's throttle is not an IAM user's named root --------------------------------------


def _iam_user_root(account: dict[str, Any]) -> None:
    account["iam"].create_user(UserName="root")
    account["iam"].create_login_profile(UserName="root", Password=PASSWORD)


def test_failing_as_an_iam_user_named_root_does_not_pause_the_root_user(server: Server) -> None:
    account = new_account(server)
    _iam_user_root(account)
    answers = [
        alert(Visitor(server).sign_in(account["AccountId"], "root", f"wrong-{n}").text) for n in range(6)
    ]
    assert answers[0] == INCORRECT and answers[-1] == "Rate exceeded"  # the IAM user is paused
    visitor = Visitor(server)
    done = visitor.sign_in_root(account["AccountId"], account["AccessKeyId"], account["SecretAccessKey"])
    assert done.url.endswith("/console/home"), alert(done.text)
    assert f"arn:aws:iam::{account['AccountId']}:root" in visitor.page


def test_failing_as_the_root_user_does_not_pause_an_iam_user_named_root(server: Server) -> None:
    account = new_account(server)
    _iam_user_root(account)
    answers = [
        alert(Visitor(server).sign_in_root(account["AccountId"], account["AccessKeyId"], f"wrong-{n}").text)
        for n in range(6)
    ]
    assert answers[0] == INCORRECT and answers[-1] == "Rate exceeded"  # the root user is paused
    done = Visitor(server).sign_in(account["AccountId"], "ROOT", PASSWORD)
    assert done.url.endswith("/console/home"), alert(done.text)


# -- 4. authorization messages belong to their account ------------------------------------------------


DECISION = {"allowed": False, "explicitDeny": False, "context": {"action": "ec2:RunInstances"}}


def test_an_authorization_message_decodes_only_in_its_own_account(server: Server) -> None:
    mine, theirs = new_account(server), new_account(server)
    encoded = encode_authorization_message(Keyring.load(server.data_dir), mine["AccountId"], DECISION)
    their_root = server.client("sts", theirs["AccessKeyId"], theirs["SecretAccessKey"])
    with pytest.raises(ClientError) as exc:
        their_root.decode_authorization_message(EncodedMessage=encoded)
    assert _error(exc) == ("InvalidAuthorizationMessageException", "Message is invalid", 400)
    theirs["iam"].create_user(UserName="decoder")
    theirs["iam"].put_user_policy(
        UserName="decoder",
        PolicyName="decode",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "sts:DecodeAuthorizationMessage", "Resource": "*"}
                ],
            }
        ),
    )
    key = theirs["iam"].create_access_key(UserName="decoder")["AccessKey"]
    with pytest.raises(ClientError) as exc:
        server.client("sts", key["AccessKeyId"], key["SecretAccessKey"]).decode_authorization_message(
            EncodedMessage=encoded
        )
    assert _error(exc)[0] == "InvalidAuthorizationMessageException"
    my_root = server.client("sts", mine["AccessKeyId"], mine["SecretAccessKey"])
    assert (
        json.loads(my_root.decode_authorization_message(EncodedMessage=encoded)["DecodedMessage"]) == DECISION
    )
