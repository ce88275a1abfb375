"""The console's pages, each an API call as the signed-in person: users (search, pages, create, keys,
MFA, password), groups, roles, policies (versions, the validating editor), the simulator, account
settings, switch role and the access graph."""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import time
from typing import Any
from urllib.parse import quote

import pyotp
import pytest

from tests.conftest import Server
from tests.integration.console_helpers import PASSWORD, Visitor, alert, new_account

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


@pytest.fixture(scope="module")
def account(sqlite_server: Server) -> dict[str, Any]:
    return new_account(sqlite_server)


@pytest.fixture
def admin(sqlite_server: Server, account: dict[str, Any]) -> Visitor:
    visitor = Visitor(sqlite_server)
    visitor.sign_in_root(account["AccountId"], account["AccessKeyId"], account["SecretAccessKey"])
    return visitor


def _trust(principal: dict[str, Any]) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
        }
    )


def _policy(action: str) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}
    )


def test_users_are_searched_and_paged(admin: Visitor, account: dict[str, Any]) -> None:
    iam = account["iam"]
    for n in range(55):
        iam.create_user(UserName=f"pager-{n:02d}")
    iam.create_user(UserName="Needle-In-Haystack")
    admin.get("/console/users")
    first = re.findall(r'href="/console/users/([^"]+)"', admin.page)
    assert len(first) == 50 and 'id="next-page"' in admin.page
    next_link = re.search(r'id="next-page" href="([^"]+)"', admin.page).group(1).replace("&amp;", "&")
    admin.get(next_link)
    second = re.findall(r'href="/console/users/([^"]+)"', admin.page)
    assert second and not set(first) & set(second)
    admin.get("/console/users?q=needle")
    assert re.findall(r'href="/console/users/([^"]+)"', admin.page) == ["Needle-In-Haystack"]


def test_admin_creates_a_user_with_a_password_key_and_mfa(
    sqlite_server: Server, admin: Visitor, account: dict[str, Any]
) -> None:
    admin.get("/console/users")
    created = admin.post(
        "/console/users", {"username": "newhire", "password": PASSWORD, "resetrequired": "on"}
    )
    assert (
        created.url.endswith("/console/users/newhire")
        and "Console access enabled (password reset required)" in admin.page
    )
    iam = account["iam"]
    attached = iam.list_attached_user_policies(UserName="newhire")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["IAMUserChangePassword"]  # as AWS's console attaches it
    key_page = admin.post("/console/users/newhire/access-keys", {})
    key_id = re.search(r'id="access-key-id"[^>]*>([^<]+)<', key_page.text).group(1)
    secret = re.search(r'id="secret-access-key"[^>]*>([^<]+)<', key_page.text).group(1)
    link = re.search(
        r'id="download-csv" href="data:text/csv;base64,([^"]+)" download="newhire_accessKeys.csv"',
        key_page.text,
    )
    assert base64.b64decode(link.group(1)).decode() == f"Access key ID,Secret access key\n{key_id},{secret}\n"
    identity = sqlite_server.client("sts", key_id, secret).get_caller_identity()
    assert identity["Arn"].endswith(":user/newhire")
    detail = admin.get("/console/users/newhire")
    assert key_id in detail.text and secret not in detail.text  # shown once
    # MFA: the QR code, then two codes
    assigned = admin.post("/console/users/newhire/mfa", {"devicename": "newhire-phone"})
    assert re.search(r'id="mfa-qr" src="data:image/png;base64,', assigned.text)
    serial = re.search(r'name="serial" value="([^"]+)"', assigned.text).group(1)
    totp = pyotp.TOTP(re.search(r'id="mfa-seed">([A-Z2-7]+)<', assigned.text).group(1))
    now = time.time()
    admin.post(
        "/console/users/newhire/mfa", {"serial": serial, "code1": totp.at(now - 30), "code2": totp.at(now)}
    )
    devices = iam.list_mfa_devices(UserName="newhire")["MFADevices"]
    assert [d["SerialNumber"] for d in devices] == [serial]


def test_access_keys_are_deactivated_and_deleted(admin: Visitor, account: dict[str, Any]) -> None:
    iam = account["iam"]
    iam.create_user(UserName="keyholder")
    key_id = iam.create_access_key(UserName="keyholder")["AccessKey"]["AccessKeyId"]
    admin.get("/console/users/keyholder")
    admin.post("/console/users/keyholder", {"action": "key_inactive", "keyid": key_id})
    assert iam.list_access_keys(UserName="keyholder")["AccessKeyMetadata"][0]["Status"] == "Inactive"
    admin.post("/console/users/keyholder", {"action": "delete_key", "keyid": key_id})
    assert iam.list_access_keys(UserName="keyholder")["AccessKeyMetadata"] == []


def test_groups_and_policies_are_managed(admin: Visitor, account: dict[str, Any]) -> None:
    iam = account["iam"]
    iam.create_user(UserName="grouped")
    admin.get("/console/groups")
    admin.post("/console/groups", {"groupname": "Readers"})
    admin.post(
        "/console/groups/Readers",
        {"action": "attach_policy", "policyarn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
    )
    admin.get("/console/users/grouped")
    admin.post("/console/users/grouped", {"action": "add_group", "group": "Readers"})
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="grouped")["Groups"]] == ["Readers"]
    page = admin.get("/console/groups/Readers").text
    assert "grouped" in page and "ReadOnlyAccess" in page
    missing = admin.post("/console/users/grouped", {"action": "add_group", "group": "NoSuchGroup"})
    assert missing.status_code == 404 and alert(missing.text).startswith("NoSuchEntity")


def test_policy_editor_validates_and_saves_versions(admin: Visitor, account: dict[str, Any]) -> None:
    admin.get("/console/policies")
    bad = admin.http.post(
        admin.server.endpoint + "/console/policies/validate",
        data={"document": _policy("s3:GetObjekt")},
        headers={"X-CSRF-Token": admin.csrf(), "HX-Request": "true"},
        timeout=30,
    )
    assert bad.status_code == 200 and "INVALID_ACTION" in bad.text and "<html" not in bad.text
    unauthenticated = admin.http.post(
        admin.server.endpoint + "/console/policies/validate", data={"document": "{}"}, timeout=30
    )
    assert unauthenticated.status_code == 403  # no CSRF token: refused like any POST
    good = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        }
    )
    created = admin.post("/console/policies", {"policyname": "EditorMade", "document": good})
    assert "/console/policy?arn=" in created.url and "v1" in created.text
    arn = f"arn:aws:iam::{account['AccountId']}:policy/EditorMade"
    second = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}],
        }
    )
    admin.post(f"/console/policy?arn={quote(arn, safe='')}", {"document": second})
    assert account["iam"].get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"
    broken = admin.post("/console/policies", {"policyname": "Broken", "document": "{not json"})
    assert broken.status_code == 400 and alert(broken.text).startswith("MalformedPolicyDocument")
    aws = admin.get("/console/policies?scope=AWS").text
    assert "AdministratorAccess" in aws


def test_role_shows_trust_and_permissions_side_by_side(admin: Visitor, account: dict[str, Any]) -> None:
    iam = account["iam"]
    iam.create_role(
        RoleName="Partner", AssumeRolePolicyDocument=_trust({"AWS": "arn:aws:iam::210987654321:root"})
    )
    read = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
    iam.put_role_policy(RoleName="Partner", PolicyName="inline-read", PolicyDocument=json.dumps(read))
    page = admin.get("/console/roles/Partner").text
    assert 'id="trust-policy"' in page and "inline-read" in page
    assert "arn:aws:iam::210987654321:root <strong>(another account)</strong>" in page


def test_simulator_decides_as_the_engine(admin: Visitor, account: dict[str, Any]) -> None:
    iam = account["iam"]
    iam.create_user(UserName="simulated")
    iam.attach_user_policy(UserName="simulated", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    arn = f"arn:aws:iam::{account['AccountId']}:user/simulated"
    admin.get("/console/simulator")
    page = admin.post("/console/simulator", {"source": arn, "actions": "iam:ListUsers, iam:CreateUser"}).text
    decisions = dict(re.findall(r"<td>(iam:\w+)</td><td>[^<]*</td><td class=\"decision\">(\w+)</td>", page))
    assert decisions == {"iam:ListUsers": "allowed", "iam:CreateUser": "implicitDeny"}


def test_account_settings_set_alias_and_password_policy(
    sqlite_server: Server, admin: Visitor, account: dict[str, Any]
) -> None:
    admin.get("/console/account")
    alias = f"pages-{account['AccountId']}"
    admin.post("/console/account", {"action": "alias", "alias": alias})
    assert account["iam"].list_account_aliases()["AccountAliases"] == [alias]
    admin.post(
        "/console/account",
        {"action": "password_policy", "MinimumPasswordLength": "14", "RequireNumbers": "on"},
    )
    policy = account["iam"].get_account_password_policy()["PasswordPolicy"]
    assert policy["MinimumPasswordLength"] == 14 and policy["RequireNumbers"] and not policy["RequireSymbols"]
    wrong = admin.post("/console/account", {"action": "password_policy", "MinimumPasswordLength": "999"})
    assert wrong.status_code == 400 and "ValidationError" in alert(wrong.text)
    admin.post("/console/account", {"action": "delete_password_policy"})


def test_switch_role_and_back(sqlite_server: Server, account: dict[str, Any]) -> None:
    iam, account_id = account["iam"], account["AccountId"]
    iam.create_user(UserName="switcher")
    iam.create_login_profile(UserName="switcher", Password=PASSWORD)
    iam.put_user_policy(
        UserName="switcher", PolicyName="assume",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}),
    )  # fmt: skip
    iam.create_role(
        RoleName="Lister", AssumeRolePolicyDocument=_trust({"AWS": f"arn:aws:iam::{account_id}:root"})
    )
    iam.attach_role_policy(RoleName="Lister", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    visitor = Visitor(sqlite_server)
    visitor.sign_in(account_id, "switcher", PASSWORD)
    assert visitor.get("/console/roles").status_code == 403
    visitor.get("/console/switchrole")
    switched = visitor.post(
        "/console/switchrole",
        {"account": account_id, "rolename": "Lister", "displayname": "Lists", "colour": "green"},
    )
    assert 'class="role-badge colour-green" id="role-badge">Lists<' in switched.text
    assert f"arn:aws:sts::{account_id}:assumed-role/Lister/switcher" in switched.text
    assert visitor.get("/console/roles").status_code == 200
    visitor.post("/console/switchrole/back", {})
    assert visitor.get("/console/roles").status_code == 403
    visitor.get("/console/switchrole")
    refused = visitor.post("/console/switchrole", {"rolearn": f"arn:aws:iam::{account_id}:role/NoSuchRole"})
    assert refused.status_code == 403 and alert(refused.text).startswith("AccessDenied")


def test_access_graph_draws_chains_and_cross_account_edges(admin: Visitor, account: dict[str, Any]) -> None:
    iam, account_id = account["iam"], account["AccountId"]
    iam.create_group(GroupName="GraphGroup")
    iam.attach_group_policy(GroupName="GraphGroup", PolicyArn=ADMIN)
    iam.create_user(UserName="graphuser")
    iam.add_user_to_group(UserName="graphuser", GroupName="GraphGroup")
    user_arn = f"arn:aws:iam::{account_id}:user/graphuser"
    iam.create_role(
        RoleName="GraphRole",
        AssumeRolePolicyDocument=_trust({"AWS": [user_arn, "arn:aws:iam::111122223333:root"]}),
    )
    page = admin.get("/console/graph").text
    assert "<svg" in page and 'href="/console/users/graphuser"' in page and 'class="cross-account"' in page
    role_arn = f"arn:aws:iam::{account_id}:role/GraphRole"
    focused = admin.get(f"/console/graph?focus={quote(role_arn, safe='')}").text
    chains = re.findall(r"<li>([^<]*→[^<]*)</li>", focused)
    assert "graphuser → GraphRole" in chains and "account 111122223333 → GraphRole" in chains
    assert "GraphGroup" not in "".join(chains)  # a group reaches no role
    on_role = admin.get("/console/roles/GraphRole").text
    reach = re.search(r'<ol id="reach">(.*?)</ol>', on_role, re.S).group(1)
    assert "<li>graphuser → GraphRole</li>" in reach and "<li>account 111122223333 → GraphRole</li>" in reach
    assert admin.get("/console/graph.svg").headers["content-type"].startswith("image/svg+xml")


def test_dashboard_recommends_mfa_for_console_users(sqlite_server: Server) -> None:
    fresh = new_account(sqlite_server)  # its credential report is made at the first visit, four hours kept
    fresh["iam"].create_user(UserName="nomfa-console")
    fresh["iam"].create_login_profile(UserName="nomfa-console", Password=PASSWORD)
    visitor = Visitor(sqlite_server)
    visitor.sign_in_root(fresh["AccountId"], fresh["AccessKeyId"], fresh["SecretAccessKey"])
    advice = re.search(r'<ul id="recommendations">(.*?)</ul>', visitor.page, re.S).group(1)
    assert "Add MFA for the root user" in advice
    assert "have no MFA" in advice and 'href="/console/users/nomfa-console"' in advice


def test_switch_role_into_another_account_and_back(sqlite_server: Server, account: dict[str, Any]) -> None:
    other = new_account(sqlite_server)
    alias = f"partner-{other['AccountId']}"
    other["iam"].create_account_alias(AccountAlias=alias)
    trust = _trust({"AWS": f"arn:aws:iam::{account['AccountId']}:root"})
    other["iam"].create_role(RoleName="PartnerReader", AssumeRolePolicyDocument=trust)
    other["iam"].attach_role_policy(
        RoleName="PartnerReader", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess"
    )
    other["iam"].create_user(UserName="partner-only-user")
    iam = account["iam"]
    iam.create_user(UserName="crosser")
    iam.create_login_profile(UserName="crosser", Password=PASSWORD)
    iam.put_user_policy(UserName="crosser", PolicyName="assume", PolicyDocument=_policy("sts:AssumeRole"))
    visitor = Visitor(sqlite_server)
    visitor.sign_in(account["AccountId"], "crosser", PASSWORD)
    visitor.get("/console/switchrole")
    switched = visitor.post(
        "/console/switchrole", {"account": alias, "rolename": "PartnerReader", "colour": "red"}
    )
    assert f"arn:aws:sts::{other['AccountId']}:assumed-role/PartnerReader/crosser" in switched.text
    assert "partner-only-user" in visitor.get("/console/users").text  # the other account's users, as the role
    visitor.post("/console/switchrole/back", {})
    assert visitor.get("/console/users").status_code == 403  # back to crosser, who reads nothing


HOSTILE = (
    "²",
    "x" * 5000,
    "\x00\x01",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "%00",
    "  ",
    "-1",
    "😀" * 50,
)


def test_hostile_form_values_get_aws_errors_never_a_crash(admin: Visitor, account: dict[str, Any]) -> None:
    account["iam"].create_user(UserName="target")
    forms = [
        ("/console/users", {"username": None, "password": None}),
        ("/console/users/target", {"action": "add_group", "group": None}),
        ("/console/users/target", {"action": "attach_policy", "policyarn": None}),
        ("/console/users/target", {"action": "key_inactive", "keyid": None}),
        ("/console/users/target", {"action": "set_password", "password": None}),
        ("/console/users/target/mfa", {"devicename": None}),
        ("/console/users/target/mfa", {"serial": None, "code1": None, "code2": None}),
        ("/console/groups", {"groupname": None}),
        ("/console/policies", {"policyname": None, "document": None}),
        ("/console/policies/validate", {"document": None}),
        ("/console/simulator", {"source": None, "actions": None, "resources": None}),
        (
            "/console/account",
            {"action": "password_policy", "MinimumPasswordLength": None, "MaxPasswordAge": None},
        ),
        ("/console/account", {"action": "alias", "alias": None}),
        ("/console/switchrole", {"rolearn": None, "displayname": None, "colour": None}),
        ("/console/switchrole", {"account": None, "rolename": None}),
    ]
    admin.get("/console/users")
    token = admin.csrf()
    for path, fields in forms:
        for value in HOSTILE:
            data = {k: v if v is not None else value for k, v in fields.items()} | {"csrf_token": token}
            answer = admin.http.post(admin.server.endpoint + path, data=data, timeout=60)
            assert answer.status_code < 500, (path, value, answer.text[:300])
            assert "<script>alert(1)</script>" not in answer.text
    odd_queries = (
        "/console/users?marker=%00",
        "/console/users?q=" + "x" * 5000,
        "/console/policy?arn=%F0%9F",
        "/console/graph?focus=<script>",
        "/console/graph?marker=bogus",
        "/console/roles/%00",
    )
    for query in odd_queries:
        answer = admin.http.get(admin.server.endpoint + query, timeout=60)
        assert answer.status_code < 500, (query, answer.text[:300])
    assert [u["UserName"] for u in account["iam"].list_users()["Users"] if "script" in u["UserName"]] == []


def _age_password(server: Server, account_id: str, user: str) -> None:
    """Make a user's password two years old (seeded in the real store: no API sets that time)."""
    with sqlite3.connect(server.database_url.removeprefix("sqlite:///")) as db:
        db.execute(
            "UPDATE login_profiles SET password_changed_at = '2024-01-01 00:00:00.000000' WHERE user_id = "
            "(SELECT user_id FROM users WHERE account_id = ? AND name = ?)",
            (account_id, user),
        )


def test_an_expired_password_must_be_changed_and_hard_expiry_refuses(sqlite_server: Server) -> None:
    fresh = new_account(sqlite_server)
    iam, account_id = fresh["iam"], fresh["AccountId"]
    iam.update_account_password_policy(MaxPasswordAge=90, AllowUsersToChangePassword=True)
    for name in ("aged", "hard"):
        iam.create_user(UserName=name)
        iam.create_login_profile(UserName=name, Password=PASSWORD)
        _age_password(sqlite_server, account_id, name)
    assert Visitor(sqlite_server).sign_in(account_id, "aged", PASSWORD).url.endswith("/console/password")
    iam.update_account_password_policy(MaxPasswordAge=90, AllowUsersToChangePassword=True, HardExpiry=True)
    refused = Visitor(sqlite_server).sign_in(account_id, "hard", PASSWORD)
    assert refused.status_code == 401
    assert alert(refused.text) == "Your password has expired. Contact your administrator."
