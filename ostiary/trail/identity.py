"""The `userIdentity` element of a CloudTrail record: who made a call, and with which credentials.

Types as CloudTrail names them: Root, IAMUser, AssumedRole, FederatedUser, AWSService, and for the
unsigned federation calls WebIdentityUser and SAMLUser. Temporary credentials add a `sessionContext`:
the issuer (the role, or the user of a federation token), the session's creation time and MFA, and
the source identity the session carries.
"""

from __future__ import annotations

import marshal
from datetime import datetime
from typing import Any

from ostiary.auth.caller import Caller
from ostiary.auth.tokens import Session

_TYPES = {
    "Account": "Root",
    "User": "IAMUser",
    "AssumedRole": "AssumedRole",
    "FederatedUser": "FederatedUser",
    "Service": "AWSService",
}


def user_identity(caller: Caller) -> dict[str, Any]:
    """The userIdentity of a signed call."""
    kind = _TYPES.get(caller.principal_type, caller.principal_type)
    identity: dict[str, Any] = {
        "type": kind,
        "principalId": caller.user_id,
        "arn": caller.arn,
        "accountId": caller.account_id,
        "accessKeyId": caller.access_key_id,
    }
    if caller.user_name is not None and kind == "IAMUser":
        identity["userName"] = caller.user_name
    session = caller.session
    if kind == "AWSService":
        identity = {"type": kind, "invokedBy": session.service if session and session.service else caller.arn}
    elif session is not None:
        identity["sessionContext"] = session_context(session)
    return identity


_MARSHALLED_CACHE_SIZE = 10_000
_marshalled: dict[tuple[Any, ...], bytes] = {}


def marshalled_identity(caller: Caller) -> bytes:
    """`user_identity(caller)` in `marshal`'s format, as a call frame holds it: made once per set of
    credentials (an access key's caller, a session's, are the same at every call; the cache is emptied
    when it holds `_MARSHALLED_CACHE_SIZE`)."""
    session = caller.session
    issued = session.issued_at if session is not None else None
    key = (caller.access_key_id, caller.arn, caller.user_id, caller.principal_type, caller.user_name, issued)
    found = _marshalled.get(key)
    if found is None:
        if len(_marshalled) >= _MARSHALLED_CACHE_SIZE:
            _marshalled.clear()
        found = _marshalled[key] = marshal.dumps(user_identity(caller))
    return found


def unsigned_identity(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """The userIdentity of AssumeRoleWithWebIdentity or AssumeRoleWithSAML: the federated caller as far
    as the request names them (the provider's facts are in the answer)."""
    if operation == "AssumeRoleWithSAML":
        return {"type": "SAMLUser", "identityProvider": str(params.get("PrincipalArn", ""))}
    return {"type": "WebIdentityUser", "identityProvider": str(params.get("ProviderId") or "")}


def session_context(session: Session) -> dict[str, Any]:
    """How temporary credentials were obtained: issuer, creation date, MFA, source identity."""
    context: dict[str, Any] = {}
    issuer = _issuer(session)
    if issuer:
        context["sessionIssuer"] = issuer
        context["webIdFederationData"] = {}
    context["attributes"] = {
        "creationDate": _time(session.issued_at),
        "mfaAuthenticated": "true" if session.is_mfa_authenticated else "false",
    }
    if session.source_identity:
        context["sourceIdentity"] = session.source_identity
    return context


def _issuer(session: Session) -> dict[str, Any]:
    if session.role_arn:
        return {
            "type": "Role",
            "principalId": session.role_id or "",
            "arn": session.role_arn,
            "accountId": session.account_id,
            "userName": session.role_arn.rsplit("/", 1)[-1],
        }
    if session.principal_type == "FederatedUser" and session.user_name:
        path = session.user_path or "/"
        return {
            "type": "IAMUser",
            "principalId": session.source_user_id or "",
            "arn": f"arn:aws:iam::{session.account_id}:user{path}{session.user_name}",
            "accountId": session.account_id,
            "userName": session.user_name,
        }
    return {}


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
