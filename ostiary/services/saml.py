"""STS AssumeRoleWithSAML: role credentials for the holder of a SAML response signed by a SAML provider.

No AWS credentials are needed, as in AWS. The response's signature is verified with the provider
metadata's signing certificates (ostiary/saml_response.py); the issuer must be the provider's
entity id, the audience AWS's sign-in endpoint, and the Role attribute must pair this role with
this provider; the response must be addressed (Recipient) to AWS's sign-in endpoint, the provider's
metadata still valid, and the assertion never accepted before. The session ends at the IdP's
SessionNotOnOrAfter when that comes before DurationSeconds. The trust policy then sees `SAML:sub`,
`SAML:aud`, `SAML:iss`, `SAML:sub_type`, `SAML:namequalifier` and `SAML:doc`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from ostiary.errors import ExpiredTokenException, InvalidIdentityTokenException
from ostiary.federation import saml_response
from ostiary.federation.saml_response import AWS_AUDIENCE, SamlAssertion
from ostiary.services import Context, operation
from ostiary.services._federation import FederatedRequest, assume, denied, role_account
from ostiary.services.saml_providers import find_saml_provider
from ostiary.store import saml_assertions

ACTION = "sts:AssumeRoleWithSAML"
_SESSION_NAME = re.compile(r"[a-zA-Z_0-9+=,.@-]{2,64}")
_SOURCE_IDENTITY = _SESSION_NAME  # the model's sourceIdentityType: [\w+=,.@-]*, 2 to 64 characters
_INVALID = "Invalid SAML response"  # AWS's text for these cases is not recorded
_RECIPIENT = re.compile(
    r"https://(?:[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}\.)?signin\.aws\.amazon\.com/saml(?:/acs/([A-Za-z0-9-]{1,64}))?",
    re.ASCII,
)


@operation("AssumeRoleWithSAML", "sts", blocking=True)  # XML signature checks
def assume_role_with_saml(
    ctx: Context,
    role_arn: str,
    principal_arn: str,
    saml_assertion: str,
    policy_arns: list[dict[str, str]] | None = None,
    policy: str | None = None,
    duration_seconds: int | None = None,
) -> dict[str, Any]:
    """Credentials of a role session for a verified SAML response, when the trust policy allows it."""
    account = role_account(role_arn)
    with ctx.db.read() as conn:
        provider = find_saml_provider(conn, principal_arn)
    if provider is None:
        raise InvalidIdentityTokenException("Specified provider doesn't exist")
    if account is None or provider["AccountId"] != account:
        raise denied(ACTION)
    assertion = _verified(saml_assertion, provider, ctx)
    if (role_arn, principal_arn) not in assertion.roles:
        raise denied(ACTION)
    session_name = _session_name(assertion)
    _check_source_identity(assertion)
    with ctx.db.transaction() as conn:  # on any node: the claims are in the store
        claimed = saml_assertions.claim(
            conn, principal_arn, assertion.assertion_id, assertion.not_on_or_after, ctx.now
        )
    if not claimed:
        raise InvalidIdentityTokenException(_INVALID)  # this assertion was accepted once already
    qualifier = name_qualifier(assertion.issuer, account, principal_arn)
    result = assume(
        ctx,
        FederatedRequest(
            action=ACTION,
            federation="saml",
            provider_arn=principal_arn,
            role_arn=role_arn,
            session_name=session_name,
            claims=_condition_keys(assertion, account, principal_arn, qualifier),
            duration_seconds=duration_seconds or assertion.session_duration,
            policy=policy,
            policy_arns=policy_arns,
            source_identity=assertion.source_identity,
            ends_at=assertion.session_not_on_or_after,
        ),
    )
    return {
        **result,
        "Subject": assertion.subject,
        "SubjectType": assertion.subject_type,
        "Issuer": assertion.issuer,
        "Audience": AWS_AUDIENCE,
        "NameQualifier": qualifier,
    }


def name_qualifier(issuer: str, account_id: str, provider_arn: str) -> str:
    """AWS's NameQualifier: base64 of SHA-1 over issuer, account id and "/" + provider name."""
    name = provider_arn.rsplit("/", 1)[-1]
    return base64.b64encode(hashlib.sha1(f"{issuer}{account_id}/{name}".encode()).digest()).decode()  # noqa: S324 - AWS's definition, not a security use


def _verified(response: str, provider: dict[str, Any], ctx: Context) -> SamlAssertion:
    try:
        assertion = saml_response.verify(
            saml_response.decode(response), provider["SigningCertificates"], ctx.now
        )
    except saml_response.SamlExpired as exc:
        raise ExpiredTokenException(str(exc)) from exc
    except saml_response.SamlRejected as exc:
        raise InvalidIdentityTokenException(str(exc)) from exc
    if ctx.now >= provider["ValidUntil"]:
        raise InvalidIdentityTokenException(_INVALID)  # the provider's metadata is past its validUntil
    if assertion.issuer != provider["EntityId"]:
        raise InvalidIdentityTokenException("Issuer not present in specified provider")
    if AWS_AUDIENCE not in assertion.audiences:
        raise InvalidIdentityTokenException("Response does not contain the required audience")
    if not _is_aws_recipient(assertion.recipient, provider["ProviderUUID"]):
        raise InvalidIdentityTokenException(_INVALID)  # meant for another service provider
    return assertion


def _is_aws_recipient(recipient: str, provider_uuid: str) -> bool:
    """AWS's sign-in endpoint, global or regional, optionally with `/acs/<the provider's id>`."""
    match = _RECIPIENT.fullmatch(recipient)
    return match is not None and match.group(1) in (None, provider_uuid)


def _session_name(assertion: SamlAssertion) -> str:
    name = assertion.session_name
    if not name:
        raise InvalidIdentityTokenException("RoleSessionName is required in AuthnResponse")
    if not _SESSION_NAME.fullmatch(name):
        raise InvalidIdentityTokenException(
            "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}"
        )
    return name


def _check_source_identity(assertion: SamlAssertion) -> None:
    """The SourceIdentity attribute, when given, must be what AssumeRole's SourceIdentity may be: it is
    carried by every session of the chain, shown in the trail and matched by `sts:SourceIdentity`."""
    given = assertion.source_identities
    if not given:
        return
    if len(given) > 1 or not _SOURCE_IDENTITY.fullmatch(given[0]):
        raise InvalidIdentityTokenException(  # AWS's text for this case is not recorded: ours
            "SourceIdentity in AuthnResponse must be one value matching [a-zA-Z_0-9+=,.@-]{2,64}"
        )


def _condition_keys(
    assertion: SamlAssertion, account: str, provider_arn: str, qualifier: str
) -> dict[str, Any]:
    return {
        "SAML:sub": assertion.subject,
        "SAML:sub_type": assertion.subject_type,
        "SAML:iss": assertion.issuer,
        "SAML:aud": AWS_AUDIENCE,
        "SAML:namequalifier": qualifier,
        "SAML:doc": f"{account}/{provider_arn.rsplit('/', 1)[-1]}",
    }
