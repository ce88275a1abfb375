"""The console's sign-in and session: passwords, the MFA step, the forced change, the root's sign-in,
sealed cookies, CSRF, throttling, ConsoleLogin events, and every page an API call as the person."""

from __future__ import annotations

import json
import time
from typing import Any

import pyotp
import pytest
import requests

from tests.conftest import Server
from tests.integration.console_helpers import NEW_PASSWORD, PASSWORD, Visitor, alert, new_account

READ_USERS = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"}],
    }
)


@pytest.fixture(scope="module")
def account(server: Server) -> dict[str, Any]:
    """One fresh account per backend for the module: each test signs in its own users."""
    return new_account(server)


def _user(account: dict[str, Any], name: str, *, reset: bool = False, policy: str = READ_USERS) -> None:
    iam = account["iam"]
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="read", PolicyDocument=policy)
    iam.create_login_profile(UserName=name, Password=PASSWORD, PasswordResetRequired=reset)


def _mfa(account: dict[str, Any], user: str) -> pyotp.TOTP:
    iam = account["iam"]
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=user)["VirtualMFADevice"]
    totp = pyotp.TOTP(device["Base32StringSeed"].decode())
    now = time.time()
    iam.enable_mfa_device(
        UserName=user,
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1=totp.at(now - 60),  # two steps back: the current code stays unspent
        AuthenticationCode2=totp.at(now - 30),
    )
    return totp


def test_password_sign_in_opens_the_console_as_the_user(server: Server, account: dict[str, Any]) -> None:
    _user(account, "anna")
    visitor = Visitor(server)
    answer = visitor.sign_in(account["AccountId"], "anna", PASSWORD)
    assert answer.status_code == 200 and answer.url.endswith("/console/home")
    assert f"arn:aws:iam::{account['AccountId']}:user/anna" in visitor.page
    cookie = next(c for c in visitor.http.cookies if c.name == "ostiary-console")
    assert cookie.has_nonstandard_attr("HttpOnly") and cookie.path == "/console"
    raw = answer.history[0].headers["set-cookie"]
    assert "samesite=strict" in raw.lower() and "httponly" in raw.lower()
    assert PASSWORD not in raw and "anna" not in raw  # sealed: nothing readable in it


def test_the_account_alias_signs_in_as_the_account_id(server: Server, account: dict[str, Any]) -> None:
    alias = f"console-{account['AccountId']}"
    account["iam"].create_account_alias(AccountAlias=alias)
    _user(account, "bea")
    visitor = Visitor(server)
    assert visitor.sign_in(alias, "bea", PASSWORD).url.endswith("/console/home")


def test_wrong_password_and_unknown_user_get_the_same_refusal(
    server: Server, account: dict[str, Any]
) -> None:
    _user(account, "carl")
    wrong = Visitor(server).sign_in(account["AccountId"], "carl", "not-the-password")
    nobody = Visitor(server).sign_in(account["AccountId"], "nobody-here", PASSWORD)
    huge = Visitor(server).sign_in(account["AccountId"], "carl", PASSWORD + "x" * 200_000)
    assert huge.status_code == 401 and alert(huge.text) == alert(wrong.text)
    assert wrong.status_code == nobody.status_code == 401
    message = "Your authentication information is incorrect. Please try again."
    assert alert(wrong.text) == alert(nobody.text) == message
    assert "ostiary-console=" not in wrong.headers.get("set-cookie", "")


def test_mfa_user_needs_the_code_on_a_second_page(server: Server, account: dict[str, Any]) -> None:
    _user(account, "dora")
    totp = _mfa(account, "dora")
    visitor = Visitor(server)
    answer = visitor.sign_in(account["AccountId"], "dora", PASSWORD)
    assert answer.url.endswith("/console/signin/mfa") and 'for="mfacode">MFA code<' in visitor.page
    assert visitor.get("/console/home").url.endswith("/console/signin")  # no session yet
    visitor.get("/console/signin/mfa")
    refused = visitor.post(
        "/console/signin/mfa", {"mfacode": "000000" if totp.now() != "000000" else "111111"}
    )
    assert refused.status_code == 401
    done = visitor.post("/console/signin/mfa", {"mfacode": totp.now()})
    assert done.url.endswith("/console/home") and "signed in with MFA" in visitor.page


def test_forced_password_change_comes_first_and_is_checked_against_the_policy(
    server: Server, account: dict[str, Any]
) -> None:
    account["iam"].update_account_password_policy(MinimumPasswordLength=12, AllowUsersToChangePassword=True)
    _user(account, "emil", reset=True)
    visitor = Visitor(server)
    assert visitor.sign_in(account["AccountId"], "emil", PASSWORD).url.endswith("/console/password")
    assert visitor.get("/console/users").url.endswith("/console/password")  # nothing else first
    short = visitor.post(
        "/console/password", {"oldpassword": PASSWORD, "newpassword": "Sh0rt!", "confirmpassword": "Sh0rt!"}
    )
    assert short.status_code == 400 and "PasswordPolicyViolation" in alert(short.text)
    done = visitor.post(
        "/console/password",
        {"oldpassword": PASSWORD, "newpassword": NEW_PASSWORD, "confirmpassword": NEW_PASSWORD},
    )
    assert done.url.endswith("/console/home?changed=1")
    assert visitor.get("/console/users").status_code == 200, alert(visitor.page)
    assert "emil" in visitor.page
    assert Visitor(server).sign_in(account["AccountId"], "emil", NEW_PASSWORD).url.endswith("/console/home")


def test_a_page_the_policies_do_not_allow_shows_aws_access_denied(
    server: Server, account: dict[str, Any]
) -> None:
    only_users = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}],
        }
    )
    _user(account, "fred", policy=only_users)
    visitor = Visitor(server)
    visitor.sign_in(account["AccountId"], "fred", PASSWORD)
    assert visitor.get("/console/users").status_code == 200
    denied = visitor.get("/console/roles")
    assert denied.status_code == 403
    assert alert(denied.text) == (
        f"AccessDenied User: arn:aws:iam::{account['AccountId']}:user/fred is not authorized to perform: "
        f"iam:ListRoles on resource: arn:aws:iam::{account['AccountId']}:role/ because no identity-based "
        "policy allows the iam:ListRoles action"
    )


def test_mfa_conditions_apply_as_for_the_api(server: Server, account: dict[str, Any]) -> None:
    needs_mfa = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "iam:*", "Resource": "*",
                 "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}},
                {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"},
            ],
        }
    )  # fmt: skip
    _user(account, "gina", policy=needs_mfa)
    without = Visitor(server)
    without.sign_in(account["AccountId"], "gina", PASSWORD)
    assert without.get("/console/users").status_code == 403
    totp = _mfa(account, "gina")
    with_mfa = Visitor(server)
    with_mfa.sign_in(account["AccountId"], "gina", PASSWORD)
    with_mfa.get("/console/signin/mfa")
    with_mfa.post("/console/signin/mfa", {"mfacode": totp.now()})
    assert with_mfa.get("/console/users").status_code == 200


def test_root_signs_in_with_a_root_access_key(server: Server, account: dict[str, Any]) -> None:
    visitor = Visitor(server)
    wrong = visitor.sign_in_root(account["AccountId"], account["AccessKeyId"], "wrong-secret")
    assert wrong.status_code == 401
    other = Visitor(server).sign_in_root("123456789012", account["AccessKeyId"], account["SecretAccessKey"])
    assert other.status_code == 401  # another account's key is no root of this one
    done = visitor.sign_in_root(account["AccountId"], account["AccessKeyId"], account["SecretAccessKey"])
    assert done.url.endswith("/console/home") and f"arn:aws:iam::{account['AccountId']}:root" in visitor.page
    assert visitor.get("/console/roles").status_code == 200


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    server: Server, account: dict[str, Any]
) -> None:
    visitor = Visitor(server)
    visitor.sign_in_root(account["AccountId"], account["AccessKeyId"], account["SecretAccessKey"])
    visitor.get("/console/users")
    for data in ({"username": "forged"}, {"username": "forged", "csrf_token": "x" * 43}):
        refused = visitor.post("/console/users", data, csrf=False)
        assert refused.status_code == 403 and "CSRF" in alert(refused.text)
    names = [u["UserName"] for u in account["iam"].list_users()["Users"]]
    assert "forged" not in names
    # the sign-in form too: a login CSRF needs the cookie and the field to match
    stranger = requests.post(
        server.endpoint + "/console/signin",
        data={"account": "1", "username": "x", "password": "y"},
        timeout=30,
    )
    assert stranger.status_code == 403


def test_hostile_cookies_and_bodies_are_refused_cleanly(server: Server, account: dict[str, Any]) -> None:
    for cookie in ("", "garbage", "A" * 9000, "Os1" + "B" * 200):
        answer = requests.get(
            server.endpoint + "/console/users",
            cookies={"ostiary-console": cookie},
            timeout=30,
            allow_redirects=False,
        )
        assert answer.status_code == 303 and answer.headers["location"] == "/console/signin"
    visitor = Visitor(server)
    visitor.sign_in_root(account["AccountId"], account["AccessKeyId"], account["SecretAccessKey"])
    visitor.get("/console/users")
    huge = visitor.http.post(
        server.endpoint + "/console/users",
        data={"csrf_token": visitor.csrf(), "username": "x" * (300 * 1024)},
        timeout=30,
    )
    assert huge.status_code == 400
    as_json = visitor.http.post(server.endpoint + "/console/users", json={"username": "j"}, timeout=30)
    assert as_json.status_code == 400
    bad_name = visitor.post("/console/users", {"username": "bad name!"})
    assert bad_name.status_code == 400 and "ValidationError" in alert(bad_name.text)
    assert visitor.get("/console/users/no-such-user").status_code == 404
    assert visitor.get("/console/policy?arn=nonsense").status_code == 400


def test_sign_out_ends_the_session(server: Server, account: dict[str, Any]) -> None:
    visitor = Visitor(server)
    visitor.sign_in_root(account["AccountId"], account["AccessKeyId"], account["SecretAccessKey"])
    kept = dict(visitor.http.cookies)
    assert visitor.post("/console/signout", {}).url.endswith("/console/signin")
    assert visitor.get("/console/home").url.endswith("/console/signin")
    assert kept["ostiary-console"]  # the cookie itself expires with its session token (12 hours)


def test_ten_wrong_passwords_get_throttled(server: Server, account: dict[str, Any]) -> None:
    _user(account, "hugo")
    messages = [
        alert(Visitor(server).sign_in(account["AccountId"], "hugo", f"wrong-{n}").text) for n in range(10)
    ]
    assert messages[0] == "Your authentication information is incorrect. Please try again."
    assert messages[-1] == "Rate exceeded"
    paused = Visitor(server).sign_in(account["AccountId"], "hugo", PASSWORD)  # even the right one, now
    assert paused.status_code == 401 and alert(paused.text) == "Rate exceeded"


def test_sign_ins_are_console_login_events(server: Server) -> None:
    account = new_account(server)  # its trail holds these two sign-ins only
    _user(account, "ida")
    Visitor(server).sign_in(account["AccountId"], "ida", "wrong")
    Visitor(server).sign_in(account["AccountId"], "no-such-user", "wrong")
    Visitor(server).sign_in(account["AccountId"], "ida", PASSWORD)
    cloudtrail = server.client("cloudtrail", account["AccessKeyId"], account["SecretAccessKey"])
    found = cloudtrail.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "ConsoleLogin"}]
    )
    records = [json.loads(e["CloudTrailEvent"]) for e in found["Events"]]
    outcomes = sorted(r["responseElements"]["ConsoleLogin"] for r in records)
    assert outcomes == ["Failure", "Failure", "Success"]
    success = next(r for r in records if r["responseElements"]["ConsoleLogin"] == "Success")
    assert success["eventSource"] == "signin.amazonaws.com" and success["eventType"] == "AwsConsoleSignIn"
    assert success["userIdentity"]["userName"] == "ida" and success["additionalEventData"]["MFAUsed"] == "No"
    failures = [r for r in records if r["responseElements"]["ConsoleLogin"] == "Failure"]
    assert {r["errorMessage"] for r in failures} == {"Failed authentication"}
    named = sorted(r["userIdentity"]["userName"] for r in failures)
    assert named == ["HIDDEN_DUE_TO_SECURITY_REASONS", "ida"]  # a name that is no user is not kept
    assert PASSWORD not in json.dumps(records) and "wrong" not in json.dumps(records)


def test_console_calls_are_recorded_as_the_person(server: Server, account: dict[str, Any]) -> None:
    _user(account, "jon")
    visitor = Visitor(server)
    visitor.sign_in(account["AccountId"], "jon", PASSWORD)
    visitor.get("/console/users/jon")
    cloudtrail = server.client("cloudtrail", account["AccessKeyId"], account["SecretAccessKey"])
    found = cloudtrail.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetUser"}]
    )
    records = [json.loads(e["CloudTrailEvent"]) for e in found["Events"]]
    assert any(
        r["userIdentity"].get("arn") == f"arn:aws:iam::{account['AccountId']}:user/jon" for r in records
    )


def test_a_console_session_sees_only_its_own_account(server: Server, account: dict[str, Any]) -> None:
    other = new_account(server)
    other["iam"].create_user(UserName="theirs")
    other_policy = other["iam"].create_policy(PolicyName="TheirPolicy", PolicyDocument=READ_USERS)["Policy"][
        "Arn"
    ]
    _user(account, "kim")
    visitor = Visitor(server)
    assert Visitor(server).sign_in(other["AccountId"], "kim", PASSWORD).status_code == 401  # not their user
    visitor.sign_in(account["AccountId"], "kim", PASSWORD)
    assert visitor.get("/console/users/theirs").status_code == 404
    assert "theirs" not in visitor.get("/console/users").text
    denied = visitor.get("/console/policy?arn=" + other_policy)
    assert denied.status_code in (403, 404) and "TheirPolicy" not in alert(denied.text).replace(
        other_policy, ""
    )
    switched = visitor.get("/console/switchrole")
    assert switched.status_code == 200
    refused = visitor.post(
        "/console/switchrole", {"rolearn": f"arn:aws:iam::{other['AccountId']}:role/Anything"}
    )
    assert refused.status_code == 403 and alert(refused.text).startswith("AccessDenied")


def test_the_editor_validates_as_the_person_with_access_analyzer(
    server: Server, account: dict[str, Any]
) -> None:
    _user(account, "lena")  # reads IAM, may not call access-analyzer:ValidatePolicy
    visitor = Visitor(server)
    visitor.sign_in(account["AccountId"], "lena", PASSWORD)
    visitor.get("/console/users")
    document = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObjekt"}]}
    )
    refused = visitor.http.post(
        server.endpoint + "/console/policies/validate",
        data={"document": document},
        headers={"X-CSRF-Token": visitor.csrf()},
        timeout=30,
    )
    assert refused.status_code == 403
    assert alert(refused.text).startswith("AccessDeniedException")
    assert (
        f"User: arn:aws:iam::{account['AccountId']}:user/lena is not authorized to perform: "
        "access-analyzer:ValidatePolicy on resource: * because no identity-based policy allows"
    ) in alert(refused.text)
    allow = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "access-analyzer:ValidatePolicy", "Resource": "*"}],
    }
    account["iam"].put_user_policy(UserName="lena", PolicyName="validate", PolicyDocument=json.dumps(allow))
    allowed = visitor.http.post(
        server.endpoint + "/console/policies/validate",
        data={"document": document},
        headers={"X-CSRF-Token": visitor.csrf()},
        timeout=30,
    )
    assert (
        allowed.status_code == 200 and "INVALID_ACTION" in allowed.text and "MISSING_RESOURCE" in allowed.text
    )
    cloudtrail = server.client("cloudtrail", account["AccessKeyId"], account["SecretAccessKey"])
    found = cloudtrail.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "ValidatePolicy"}]
    )
    records = [json.loads(e["CloudTrailEvent"]) for e in found["Events"]]
    lena = [r for r in records if r["userIdentity"].get("arn", "").endswith(":user/lena")]
    assert sorted(r.get("errorCode", "") for r in lena) == ["", "AccessDeniedException"]
    assert {r["eventSource"] for r in lena} == {"access-analyzer.amazonaws.com"}
