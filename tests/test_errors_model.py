"""Every AwsError in ostiary/errors.py has AWS's code and HTTP status.

A subclass named after an error shape of botocore's IAM or STS model must carry that shape's code and
status; any other must be one of AWS's common errors (the IAM API Reference's "Common Errors" page, plus
the SigV4 and token errors that IAM and STS send), with its documented status.
"""

from __future__ import annotations

import inspect

import pytest

from ostiary import errors
from ostiary.protocol.models import model_error_codes

# AWS's common errors: code → HTTP status (docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html).
COMMON_ERRORS = {
    "AccessDenied": 403,
    "ExpiredToken": 403,
    "IncompleteSignature": 400,
    "InternalFailure": 500,
    "InvalidAction": 400,
    "InvalidClientTokenId": 403,
    "InvalidParameterCombination": 400,
    "InvalidParameterValue": 400,
    "MalformedQueryString": 404,
    "MissingAction": 400,
    "MissingAuthenticationToken": 403,
    "MissingParameter": 400,
    "RequestEntityTooLarge": 413,
    "RequestExpired": 400,
    "ServiceUnavailable": 503,
    "SignatureDoesNotMatch": 403,
    "ThrottlingException": 400,
    "Throttling": 400,  # the code IAM and STS send on the wire for the page's ThrottlingException
    "ValidationError": 400,
}
_KNOWN_GAPS: dict[str, str] = {}


def _error_classes() -> list[type[errors.AwsError]]:
    return [
        cls
        for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.AwsError) and cls is not errors.AwsError and not name.startswith("_")
    ]


def _model_errors() -> dict[str, tuple[str, int]]:
    return {**model_error_codes("iam"), **model_error_codes("sts")}


def _params() -> list[object]:
    params: list[object] = []
    for cls in _error_classes():
        gap = _KNOWN_GAPS.get(cls.__name__)
        marks = [pytest.mark.xfail(reason=gap, strict=True)] if gap else []
        params.append(pytest.param(cls, id=cls.__name__, marks=marks))
    return params


@pytest.mark.parametrize("cls", _params())
def test_error_code_and_status_are_aws(cls: type[errors.AwsError]) -> None:
    shape = _model_errors().get(cls.__name__)
    if shape is not None:
        assert (cls.code, cls.status) == shape
    else:
        assert cls.code in COMMON_ERRORS, f"{cls.__name__} is neither a model error shape nor a common error"
        assert cls.status == COMMON_ERRORS[cls.code]


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda cls: cls.__name__)
def test_sender_fault_follows_the_status(cls: type[errors.AwsError]) -> None:
    assert cls.sender_fault == (cls.status < 500)


def test_every_model_error_shape_code_is_unique_to_one_class() -> None:
    codes = [cls.code for cls in _error_classes()]
    assert len(codes) == len(set(codes))
