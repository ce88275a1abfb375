"""The console in a real browser: Debian's headless Chromium driven by Playwright (never a browser of
Playwright's own), one browser for the module, a screenshot of each page under the run's tmp folder.

Michael signs in with his password and an MFA code, changes his initial password, meets AWS's
refusal, switches to DynamoDBExportRole and back; an admin creates a user, an access key (the secret
shown once) and an MFA device; a CSRF-less post is refused; ten wrong passwords get throttled; the
sign-in works from the keyboard alone; every control of every page has a label.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.conftest import Server
from tests.integration.console_helpers import NEW_PASSWORD, PASSWORD, new_account

CHROMIUM = Path("/usr/bin/chromium")
playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)"
    ),
]

PAGES = (
    "/console/home",
    "/console/users",
    "/console/users/Dana",
    "/console/groups",
    "/console/roles",
    "/console/roles/DynamoDBExportRole",
    "/console/policies",
    "/console/simulator",
    "/console/account",
    "/console/switchrole",
    "/console/graph",
)
# Controls without a name a screen reader would read: no <label for>, no wrapping label, no aria-label.
_UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter(e => e.type !== 'hidden')
  .filter(e => {
    if (e.tagName === 'BUTTON') return !(e.innerText.trim() || e.getAttribute('aria-label'));
    if (e.getAttribute('aria-label')) return false;
    if (e.id && document.querySelector('label[for="' + CSS.escape(e.id) + '"]')) return false;
    return !e.closest('label');
  })
  .map(e => e.outerHTML.slice(0, 120))"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("console-screenshots")


@pytest.fixture(scope="module")
def account(sqlite_server: Server) -> dict[str, Any]:
    """A fresh account with Michael (initial password, MFA, no IAM reads) and DynamoDBExportRole."""
    created = new_account(sqlite_server)
    iam, account_id = created["iam"], created["AccountId"]
    iam.update_account_password_policy(MinimumPasswordLength=12, AllowUsersToChangePassword=True)
    iam.create_user(UserName="Michael")
    iam.create_login_profile(UserName="Michael", Password=PASSWORD, PasswordResetRequired=True)
    own = {"Effect": "Allow", "Action": ["iam:GetUser", "iam:ListMFADevices"], "Resource": "*"}
    assume = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{account_id}:role/*"}
    document = json.dumps({"Version": "2012-10-17", "Statement": [own, assume]})
    iam.put_user_policy(UserName="Michael", PolicyName="own", PolicyDocument=document)
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="Michael")["VirtualMFADevice"]
    totp = pyotp.TOTP(device["Base32StringSeed"].decode())
    now = time.time()
    iam.enable_mfa_device(
        UserName="Michael",
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1=totp.at(now - 60),
        AuthenticationCode2=totp.at(now - 30),
    )
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam.create_role(RoleName="DynamoDBExportRole", AssumeRolePolicyDocument=json.dumps(trust))
    iam.attach_role_policy(
        RoleName="DynamoDBExportRole", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess"
    )
    created["totp"] = totp
    return created


def _page(browser: Any) -> Any:
    context = browser.new_context()
    return context.new_page()


def _shot(page: Any, shots: Path, name: str) -> None:
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def test_michael_signs_in_with_mfa_changes_password_is_refused_and_switches_role(
    browser: Any, sqlite_server: Server, account: dict[str, Any], shots: Path
) -> None:
    page = _page(browser)
    page.goto(sqlite_server.endpoint + "/console/signin")
    page.get_by_label("Account ID or alias").fill(account["AccountId"])
    page.get_by_label("IAM user name").fill("Michael")
    page.get_by_label("Password").fill(PASSWORD)
    _shot(page, shots, "01-signin")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("MFA code").fill(account["totp"].now())
    _shot(page, shots, "02-mfa")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/console/password")
    assert page.get_by_text("You must change your password to continue.").is_visible()
    page.get_by_label("Old password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Retype new password").fill(NEW_PASSWORD)
    _shot(page, shots, "03-change-password")
    page.get_by_role("button", name="Confirm password change").click()
    page.wait_for_url("**/console/home?changed=1")
    assert "signed in with MFA" in page.content()
    _shot(page, shots, "04-dashboard")
    page.get_by_role("link", name="Roles").click()
    denied = page.locator("#access-denied")
    assert "iam:ListRoles" in denied.inner_text() and "AccessDenied" in denied.inner_text()
    _shot(page, shots, "05-access-denied")
    page.get_by_role("link", name="Switch role").first.click()
    page.get_by_label("Account ID or alias").fill(account["AccountId"])
    page.get_by_label("IAM role name").fill("DynamoDBExportRole")
    page.get_by_label("Display name").fill("Export")
    page.get_by_label("purple").check()
    page.get_by_role("button", name="Switch role").click()
    badge = page.locator("#role-badge")
    assert badge.inner_text() == "Export" and "colour-purple" in (badge.get_attribute("class") or "")
    page.get_by_role("link", name="Roles").click()
    assert page.locator("#roles").get_by_text("DynamoDBExportRole").is_visible()
    _shot(page, shots, "06-switched-role")
    page.get_by_role("button", name="Switch back").click()
    assert page.locator("#role-badge").count() == 0
    page.get_by_role("link", name="Roles").click()
    assert page.locator("#access-denied").is_visible()
    page.context.close()


def test_admin_creates_a_user_an_access_key_and_an_mfa_device(
    browser: Any, sqlite_server: Server, account: dict[str, Any], shots: Path
) -> None:
    page = _page(browser)
    page.goto(sqlite_server.endpoint + "/console/signin/root")
    page.get_by_label("Account ID or alias").fill(account["AccountId"])
    page.get_by_label("Root access key ID").fill(account["AccessKeyId"])
    page.get_by_label("Secret access key").fill(account["SecretAccessKey"])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Users").click()
    page.get_by_label("User name").fill("Dana")
    page.get_by_label("Console password (optional)").fill(PASSWORD + "dana")
    page.get_by_role("button", name="Create user").click()
    page.wait_for_url("**/console/users/Dana")
    page.get_by_role("button", name="Create access key").click()
    secret = page.locator("#secret-access-key").inner_text()
    key_id = page.locator("#access-key-id").inner_text()
    assert re.fullmatch(r"AKIA[A-Z0-9]{16}", key_id) and len(secret) == 40
    _shot(page, shots, "07-access-key-once")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download .csv file").click()
    csv_text = Path(download.value.path()).read_text()
    assert download.value.suggested_filename == "Dana_accessKeys.csv" and secret in csv_text
    page.get_by_role("link", name="Done").click()
    assert secret not in page.content() and key_id in page.content()
    page.get_by_role("button", name="Assign MFA device").click()
    assert page.locator("#mfa-qr").is_visible()
    _shot(page, shots, "08-mfa-qr")
    page.locator("summary").click()
    totp = pyotp.TOTP(page.locator("#mfa-seed").inner_text())
    now = time.time()
    page.get_by_label("MFA code 1").fill(totp.at(now - 30))
    page.get_by_label("MFA code 2").fill(totp.at(now))
    page.get_by_role("button", name="Add MFA").click()
    page.wait_for_url("**/console/users/Dana")
    assert "arn:aws:iam::" in page.locator("#mfa-devices").inner_text()
    devices = account["iam"].list_mfa_devices(UserName="Dana")["MFADevices"]
    assert len(devices) == 1
    _shot(page, shots, "09-user-with-mfa")
    # every control of every page has a label
    for path in PAGES:
        page.goto(sqlite_server.endpoint + path)
        assert page.evaluate(_UNLABELLED) == [], path
        _shot(page, shots, "page" + path.replace("/", "-"))
    # the policy editor validates as one types (htmx)
    page.goto(sqlite_server.endpoint + "/console/policies")
    page.locator("#findings").get_by_text("No findings").wait_for()  # the starting document is valid
    typo = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "*"}],
    }
    page.get_by_label("Policy document (JSON)").fill(json.dumps(typo))
    page.locator("#findings").get_by_text("INVALID_ACTION").wait_for()
    _shot(page, shots, "10-policy-editor")
    # a form posted without its CSRF token (another site's form would be) changes nothing
    refused = page.context.request.post(
        sqlite_server.endpoint + "/console/users", form={"username": "Forged"}
    )
    assert refused.status == 403
    names = [u["UserName"] for u in account["iam"].list_users()["Users"]]
    assert "Forged" not in names and "Dana" in names
    page.context.close()


def test_sign_in_works_from_the_keyboard_alone(
    browser: Any, sqlite_server: Server, account: dict[str, Any], shots: Path
) -> None:
    page = _page(browser)
    page.goto(sqlite_server.endpoint + "/console/signin")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    for _ in range(3):  # past the header's link, to the first field
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "account":
            break
    focused = [page.evaluate("document.activeElement.id")]
    page.keyboard.type(account["AccountId"])
    for _ in range(2):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.id"))
    assert focused == ["account", "username", "password"]
    page.keyboard.press("Shift+Tab")
    page.keyboard.type("nobody-here")
    page.keyboard.press("Tab")
    page.keyboard.type("not-the-password")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert (
        page.get_by_role("alert").inner_text()
        == "Your authentication information is incorrect. Please try again."
    )
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the skip link moves focus to the page's content
    assert page.evaluate("document.activeElement.id") == "main"
    page.context.close()


def _tab_to(page: Any, selector: str, text: str | None = None, limit: int = 40) -> None:
    """Press Tab until `selector` (with `text`, when given) has the focus, as a keyboard user would."""
    check = (
        "([s, t]) => document.activeElement.matches(s)"
        " && (t === null || document.activeElement.innerText.trim() === t)"
    )
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(check, [selector, text]):
            return
    raise AssertionError(f"{selector} never took the focus")


def test_pages_work_from_the_keyboard_alone(
    browser: Any, sqlite_server: Server, account: dict[str, Any], shots: Path
) -> None:
    page = _page(browser)
    page.goto(sqlite_server.endpoint + "/console/signin/root")
    _tab_to(page, "#account")
    page.keyboard.type(account["AccountId"])
    page.keyboard.press("Tab")
    page.keyboard.type(account["AccessKeyId"])
    page.keyboard.press("Tab")
    page.keyboard.type(account["SecretAccessKey"])
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/home")
    _tab_to(page, 'nav a[href="/console/users"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/users")
    _tab_to(page, "#new-username")
    page.keyboard.type("Keyboarded")
    _tab_to(page, "#new-reset")
    page.keyboard.press("Space")  # no console password: the choice is cleared
    _tab_to(page, "button", "Create user")
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/users/Keyboarded")
    _tab_to(page, "button", "Create access key", limit=80)
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/users/Keyboarded/access-keys")
    assert page.locator("#secret-access-key").is_visible()
    _shot(page, shots, "12-keyboard-only")
    assert [u["UserName"] for u in account["iam"].list_users()["Users"] if u["UserName"] == "Keyboarded"]
    page.context.close()


def test_ten_wrong_passwords_get_throttled(
    browser: Any, sqlite_server: Server, account: dict[str, Any], shots: Path
) -> None:
    account["iam"].create_user(UserName="Guessed")
    account["iam"].create_login_profile(UserName="Guessed", Password=PASSWORD)
    page = _page(browser)
    messages = []
    for n in range(10):
        page.goto(sqlite_server.endpoint + "/console/signin")
        page.get_by_label("Account ID or alias").fill(account["AccountId"])
        page.get_by_label("IAM user name").fill("Guessed")
        page.get_by_label("Password").fill(f"guess-{n}")
        page.get_by_role("button", name="Sign in").click()
        messages.append(page.get_by_role("alert").inner_text())
    assert messages[0] == "Your authentication information is incorrect. Please try again."
    assert messages[-1] == "Rate exceeded"
    _shot(page, shots, "11-throttled")
    page.context.close()
