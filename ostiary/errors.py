"""Every AWS error Ostiary sends: its code, HTTP status and whether the sender is at fault.

* AwsError
  + model errors, named after botocore's error shapes (IAM and STS): NoSuchEntityException ...
  + common errors that no service model declares (AWS's common-errors list): ValidationError,
    AccessDenied, the SigV4 refusals, InternalFailure ...

A handler raises one with AWS's own message text; protocol/ serializes it as an ErrorResponse.
"""

from __future__ import annotations


class AwsError(Exception):
    """An error the client sees: AWS's code, message and HTTP status."""

    code: str = "InternalFailure"
    status: int = 500
    sender_fault: bool = False

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class _Sender(AwsError):
    status = 400
    sender_fault = True


# -- IAM model errors -------------------------------------------------------------------------


class ConcurrentModificationException(_Sender):
    code, status = "ConcurrentModification", 409


class CredentialReportExpiredException(_Sender):
    code, status = "ReportExpired", 410


class CredentialReportNotPresentException(_Sender):
    code, status = "ReportNotPresent", 410


class CredentialReportNotReadyException(_Sender):
    code, status = "ReportInProgress", 404


class DeleteConflictException(_Sender):
    code, status = "DeleteConflict", 409


class DuplicateCertificateException(_Sender):
    code, status = "DuplicateCertificate", 409


class DuplicateSSHPublicKeyException(_Sender):
    code = "DuplicateSSHPublicKey"


class EntityAlreadyExistsException(_Sender):
    code, status = "EntityAlreadyExists", 409


class EntityTemporarilyUnmodifiableException(_Sender):
    code, status = "EntityTemporarilyUnmodifiable", 409


class FeatureDisabledException(_Sender):
    code, status = "FeatureDisabled", 404


class FeatureEnabledException(_Sender):
    code, status = "FeatureEnabled", 409


class InvalidAuthenticationCodeException(_Sender):
    code, status = "InvalidAuthenticationCode", 403


class InvalidCertificateException(_Sender):
    code = "InvalidCertificate"


class InvalidInputException(_Sender):
    code = "InvalidInput"


class InvalidPublicKeyException(_Sender):
    code = "InvalidPublicKey"


class InvalidUserTypeException(_Sender):
    code = "InvalidUserType"


class KeyPairMismatchException(_Sender):
    code = "KeyPairMismatch"


class LimitExceededException(_Sender):
    code, status = "LimitExceeded", 409


class MalformedCertificateException(_Sender):
    code = "MalformedCertificate"


class MalformedPolicyDocumentException(_Sender):
    code = "MalformedPolicyDocument"


class NoSuchEntityException(_Sender):
    code, status = "NoSuchEntity", 404


class OrganizationNotFoundException(_Sender):
    code = "OrganizationNotFoundException"


class OpenIdIdpCommunicationErrorException(_Sender):
    code = "OpenIdIdpCommunicationError"


class PasswordPolicyViolationException(_Sender):
    code = "PasswordPolicyViolation"


class PolicyEvaluationException(AwsError):
    code, status = "PolicyEvaluation", 500


class PolicyNotAttachableException(_Sender):
    code = "PolicyNotAttachable"


class ServiceFailureException(AwsError):
    code, status = "ServiceFailure", 500


class ServiceNotSupportedException(_Sender):
    code, status = "NotSupportedService", 404


class UnrecognizedPublicKeyEncodingException(_Sender):
    code = "UnrecognizedPublicKeyEncoding"


class UnmodifiableEntityException(_Sender):
    code = "UnmodifiableEntity"


# -- STS model errors -------------------------------------------------------------------------


class ExpiredTokenException(_Sender):
    code = "ExpiredTokenException"


class IDPCommunicationErrorException(_Sender):
    code = "IDPCommunicationError"


class IDPRejectedClaimException(_Sender):
    code, status = "IDPRejectedClaim", 403


class InvalidAuthorizationMessageException(_Sender):
    code = "InvalidAuthorizationMessageException"


class InvalidIdentityTokenException(_Sender):
    code = "InvalidIdentityToken"


class OutboundWebIdentityFederationDisabledException(_Sender):
    code, status = "OutboundWebIdentityFederationDisabledException", 403


class PackedPolicyTooLargeException(_Sender):
    code = "PackedPolicyTooLarge"


class RegionDisabledException(_Sender):
    code, status = "RegionDisabledException", 403


class SessionDurationEscalationException(_Sender):
    code, status = "SessionDurationEscalationException", 403


# -- common errors (not in the service models) ------------------------------------------------


class ValidationError(_Sender):
    code = "ValidationError"


class InvalidParameterValue(_Sender):
    code = "InvalidParameterValue"


class InvalidParameterCombination(_Sender):
    code = "InvalidParameterCombination"


class MissingParameter(_Sender):
    code = "MissingParameter"


class InvalidAction(_Sender):
    code = "InvalidAction"


class MalformedQueryString(_Sender):
    code, status = "MalformedQueryString", 404


class MissingAction(_Sender):
    code = "MissingAction"


class Throttling(_Sender):
    """AWS's throttling refusal of IAM and STS ("Rate exceeded"), which SDKs retry with backoff."""

    code = "Throttling"


class AccessDenied(_Sender):
    code, status = "AccessDenied", 403


class SignatureDoesNotMatch(_Sender):
    code, status = "SignatureDoesNotMatch", 403


class InvalidClientTokenId(_Sender):
    code, status = "InvalidClientTokenId", 403


class IncompleteSignature(_Sender):
    code = "IncompleteSignature"


class MissingAuthenticationToken(_Sender):
    code, status = "MissingAuthenticationToken", 403


class RequestExpired(_Sender):
    code = "RequestExpired"


class ExpiredToken(_Sender):
    """An expired session token used against IAM (STS's own model calls it ExpiredTokenException)."""

    code, status = "ExpiredToken", 403


class RequestEntityTooLarge(_Sender):
    code, status = "RequestEntityTooLarge", 413


class InternalFailure(AwsError):
    code, status = "InternalFailure", 500
