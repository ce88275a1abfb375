"""Role credentials of an instance profile, obtained as EC2 does: assuming the role as ec2.amazonaws.com.

The role's trust policy decides, as in AWS: a role that does not trust `ec2.amazonaws.com` gives no
credentials. Credentials are kept for the role the profile holds (by ARN and role id), and renewed
when less than a fifth of their lifetime is left. The profile is read on every request, so when its
role is replaced (or removed and created again) the next request gets the new role's credentials,
never the old one's.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ostiary import ids
from ostiary.auth import tokens
from ostiary.auth.caller import session_caller
from ostiary.errors import AwsError, NoSuchEntityException
from ostiary.services import Context, sts
from ostiary.settings import Settings
from ostiary.store import instance_profiles, roles
from ostiary.store.db import Database
from ostiary.store.keyring import Keyring

EC2_SERVICE = "ec2.amazonaws.com"
SESSION_SECONDS = 6 * 3600  # what EC2 asks for; capped by the role's MaxSessionDuration
_TROUBLESHOOTING = "http://docs.amazonwebservices.com/IAM/latest/UserGuide/RolesTroubleshooting.html"


@dataclass(frozen=True)
class ProfileInfo:
    """The instance profile and the role it holds (None when it holds none)."""

    arn: str
    profile_id: str
    role_name: str | None
    role_arn: str | None
    max_session_duration: int = 3600
    role_id: str | None = None


@dataclass
class RoleCredentials:
    """Fetches and renews the role credentials of one instance profile."""

    db: Database
    keyring: Keyring
    settings: Settings
    profile_name: str
    instance_id: str
    session_seconds: int = SESSION_SECONDS
    # (role ARN, role id) -> its credentials document; only the profile's current role is kept
    _cached: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def profile(self) -> ProfileInfo:
        """The instance profile as stored now (it may change while running); NoSuchEntity if gone."""
        info = self.find_profile()
        if info is None:
            raise NoSuchEntityException(f"Instance Profile {self.profile_name} cannot be found.")
        return info

    def find_profile(self) -> ProfileInfo | None:
        """The instance profile as stored now, or None when it was deleted."""
        with self.db.read() as conn:
            row = instance_profiles.find_by_name(conn, self.settings.account_id, self.profile_name)
            if row is None:
                return None
            held = roles.by_ids(conn, instance_profiles.role_ids(conn, row.instance_profile_id))
        arn = f"arn:aws:iam::{row.account_id}:instance-profile{row.path}{row.name}"
        if not held:
            return ProfileInfo(arn, row.instance_profile_id, None, None)
        role = held[0]
        role_arn = f"arn:aws:iam::{role.account_id}:role{role.path}{role.name}"
        return ProfileInfo(
            arn, row.instance_profile_id, role.name, role_arn, role.max_session_duration, role.role_id
        )

    def current(self, info: ProfileInfo, now: datetime | None = None) -> dict[str, Any]:
        """The credentials document of the role `info` holds: fresh ones when the kept ones are near expiry.

        Only this role's document is kept: one of a role the profile no longer holds is dropped."""
        now = now or datetime.now(UTC)
        key = (info.role_arn or "", info.role_id or "")
        with self._lock:
            kept = self._cached.get(key)
            if kept is None or _needs_renewal(kept, now):
                kept = self._assume(info, now)
            self._cached = {key: kept}
            return kept

    def _assume(self, info: ProfileInfo, now: datetime) -> dict[str, Any]:
        updated = _iso(now)
        if info.role_arn is None or info.role_name is None:
            return {
                "Code": "InstanceProfileNotFound",
                "Message": "Instance profile holds no role.",
                "LastUpdated": updated,
            }
        seconds = min(self.session_seconds, info.max_session_duration)
        try:
            result = sts.assume_role(
                self._context(now), info.role_arn, self.instance_id, duration_seconds=seconds
            )
        except AwsError:
            return {
                "Code": "AssumeRoleUnauthorizedAccess",
                "Message": f"EC2 cannot assume the role {info.role_name}.  Please see documentation at "
                f"{_TROUBLESHOOTING}.",
                "LastUpdated": updated,
            }
        creds = result["Credentials"]
        return {
            "Code": "Success",
            "LastUpdated": updated,
            "Type": "AWS-HMAC",
            "AccessKeyId": creds["AccessKeyId"],
            "SecretAccessKey": creds["SecretAccessKey"],
            "Token": creds["SessionToken"],
            "Expiration": _iso(creds["Expiration"]),
            "_issued": now,
            "_expires": creds["Expiration"],
        }

    def _context(self, now: datetime) -> Context:
        """A request context whose caller is the EC2 service principal, from sts's service session."""
        account = self.settings.account_id
        sealed = sts.service_session(self.keyring, account, EC2_SERVICE, 900, now)["SessionToken"]
        caller = session_caller(tokens.open_token(self.keyring, sealed, now))
        return Context(
            db=self.db,
            keyring=self.keyring,
            settings=self.settings,
            caller=caller,
            request_id=ids.request_id(),
            now=now,
        )


def public(document: dict[str, Any]) -> dict[str, Any]:
    """The document as the endpoint serves it (without the renewal bookkeeping)."""
    return {k: v for k, v in document.items() if not k.startswith("_")}


def _needs_renewal(document: dict[str, Any], now: datetime) -> bool:
    if document.get("Code") != "Success":
        return True
    issued, expires = document["_issued"], document["_expires"]
    return now >= expires - (expires - issued) / 5 or now >= expires - timedelta(minutes=5)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
