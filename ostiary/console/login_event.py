"""The trail's `ConsoleLogin` record: one per console sign-in, success or failure, in CloudTrail's
`AwsConsoleSignIn` format (eventSource signin.amazonaws.com)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ostiary.store.db import Database
from ostiary.trail import events, recorder

# What CloudTrail writes for the user name of a failed sign-in, so that a mistyped password in the
# user name field is not kept.
HIDDEN_USER = "HIDDEN_DUE_TO_SECURITY_REASONS"


def identity(
    account_id: str, arn: str | None, principal_id: str | None, user_name: str | None
) -> dict[str, Any]:
    """userIdentity of a sign-in: Root or IAMUser, with what is known of them."""
    if arn is not None and arn.endswith(":root"):
        return {
            "type": "Root",
            "principalId": account_id,
            "arn": arn,
            "accountId": account_id,
            "accessKeyId": "",
        }
    found: dict[str, Any] = {"type": "IAMUser", "accountId": account_id, "accessKeyId": ""}
    if arn is not None:
        found.update(principalId=principal_id, arn=arn)
    found["userName"] = user_name if arn is not None else HIDDEN_USER
    return found


def record(
    db: Database,
    who: dict[str, Any],
    *,
    is_success: bool,
    is_mfa: bool,
    source_ip: str,
    user_agent: str,
    now: datetime,
    login_to: str,
) -> None:
    """Hand one ConsoleLogin record to the trail (none when the trail is off)."""
    trail = recorder.of(db)
    if trail is None:
        return
    entry: dict[str, Any] = {
        "eventVersion": events.EVENT_VERSION,
        "userIdentity": who,
        "eventTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin",
        "awsRegion": "us-east-1",
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
    }
    if not is_success:
        entry["errorMessage"] = "Failed authentication"
    entry["requestParameters"] = None
    entry["responseElements"] = {"ConsoleLogin": "Success" if is_success else "Failure"}
    entry["additionalEventData"] = {
        "LoginTo": login_to,
        "MobileVersion": "No",
        "MFAUsed": "Yes" if is_mfa else "No",
    }
    entry["eventID"] = events.event_id()
    entry["readOnly"] = False
    entry["eventType"] = "AwsConsoleSignIn"
    entry["managementEvent"] = True
    entry["recipientAccountId"] = who["accountId"]
    entry["eventCategory"] = "Management"
    trail.record(entry)
