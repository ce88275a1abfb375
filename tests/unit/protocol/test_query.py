"""query.parse against botocore's query serializer as the oracle, and AWS's errors for bad input."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from botocore.serialize import create_serializer
from hypothesis import given
from hypothesis import strategies as st

from ostiary.errors import AwsError, InvalidAction, MalformedQueryString, ValidationError
from ostiary.protocol import HttpRequest, models, query

# ValidationErrors as AWS answered them, taken from shared/aws-recorded (LocalStack's snapshots, Apache-2.0).
RECORDED = Path(__file__).with_name("aws_validation_errors.jsonl")
_FORM = (("content-type", "application/x-www-form-urlencoded; charset=utf-8"),)


def _model(service: str):  # type: ignore[no-untyped-def]  # botocore ServiceModel
    return models.service(service).model  # the model served, not the installed botocore's


def _botocore_request(service: str, operation: str, params: dict[str, Any]) -> HttpRequest:
    """The HTTP request boto3 would send for `params`."""
    op = _model(service).operation_model(operation)
    serialized = create_serializer("query").serialize_to_request(params, op)
    body = urlencode(serialized["body"]).encode()
    return HttpRequest("POST", "/", "", _FORM, body)


def _form(body: str, service: str = "iam") -> Any:
    return query.parse(service, HttpRequest("POST", "/", "", _FORM, body.encode()))


def _operations() -> list[tuple[str, str]]:
    return [(s, op) for s in ("iam", "sts") for op in _model(s).operation_names]


@pytest.mark.parametrize(("service", "operation"), _operations())
def test_every_operation_round_trips_botocore_serialized_params(
    service: str, operation: str, sample: Callable[..., Any]
) -> None:
    shape = _model(service).operation_model(operation).input_shape
    params = sample(shape) if shape is not None else {}
    call = query.parse(service, _botocore_request(service, operation, params))
    assert (call.service, call.operation) == (service, operation)
    assert call.params == params


def test_nested_lists_and_structures_keep_pascal_case_names() -> None:
    params = {
        "ActionNames": ["iam:GetUser", "s3:ListBucket"],
        "PolicyInputList": ['{"Version":"2012-10-17"}'],
        "ContextEntries": [
            {"ContextKeyName": "aws:username", "ContextKeyValues": ["a", "b"], "ContextKeyType": "string"},
            {
                "ContextKeyName": "aws:MultiFactorAuthPresent",
                "ContextKeyValues": ["true"],
                "ContextKeyType": "boolean",
            },
        ],
        "MaxItems": 5,
    }
    call = query.parse("iam", _botocore_request("iam", "SimulateCustomPolicy", params))
    assert call.params == params


def test_presigned_get_params_come_from_the_query_string() -> None:
    qs = (
        "Action=GetUser&Version=2010-05-08&UserName=alice&X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=A%2F20261130%2Fus-east-1%2Fiam%2Faws4_request&X-Amz-Signature=ab"
    )
    call = query.parse("iam", HttpRequest("GET", "/", qs, (), b""))
    assert (call.operation, call.params) == ("GetUser", {"UserName": "alice"})


def test_empty_list_is_an_empty_list() -> None:
    call = _form(
        "Action=SimulatePrincipalPolicy&PolicySourceArn=arn:aws:iam::123456789012:user/a&ActionNames="
    )
    assert call.params["ActionNames"] == []


def test_unknown_parameters_are_ignored() -> None:
    call = _form("Action=GetUser&Version=2010-05-08&UserName=alice&Bogus=1&Tags.member.1.Key=x")
    assert call.params == {"UserName": "alice"}


def test_unknown_action_is_invalid_action_with_aws_text() -> None:
    with pytest.raises(InvalidAction) as caught:
        _form("Action=DescribeEverything&Version=2010-05-08")
    assert caught.value.message == "Could not find operation DescribeEverything for version 2010-05-08"
    with pytest.raises(InvalidAction, match="^Could not find operation CreateUser for version 2011-06-15$"):
        _form("Action=CreateUser&Version=2011-06-15&UserName=a", service="sts")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "Action=CreateUser",
            "1 validation error detected: Value null at 'userName' failed to satisfy "
            "constraint: Member must not be "
            "null",
        ),
        (
            "Action=CreateUser&UserName=bad%20name",
            "1 validation error detected: Value at 'userName' failed to satisfy "
            "constraint: Member must satisfy "
            r"regular expression pattern: [\w+=,.@-]+",
        ),
        (
            "Action=UpdateServiceSpecificCredential&ServiceSpecificCredentialId=ACCA1234567890ABCDEFG&Status=Invalid",
            "1 validation error detected: Value at 'status' failed to satisfy constraint: "
            "Member must satisfy enum "
            "value set",
        ),
        (
            "Action=ListUsers&MaxItems=0",
            "1 validation error detected: Value at 'maxItems' failed to satisfy "
            "constraint: Member must have value "
            "greater than or equal to 1",
        ),
    ],
)
def test_constraint_violations_are_aws_validation_errors(body: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _form(body)
    assert caught.value.message == message
    assert (caught.value.code, caught.value.status) == ("ValidationError", 400)


def _recorded_validation_errors() -> list[tuple[str, str, dict[str, Any], str]]:
    """Recorded AWS ValidationErrors whose inputs are literal (no placeholders), with their exact text."""
    cases = []
    for line in RECORDED.read_text().splitlines():
        row = json.loads(line)
        params = _expand(row["params"])
        if "<" in json.dumps(params) or "<" in row["message"]:
            continue  # a value taken from an earlier response: not reproducible alone
        cases.append((row["service"], row["action"], params, row["message"]))
    return cases


def _expand(value: Any) -> Any:
    """Expand the recording's placeholders: `<uid>`, `<'x' * N: N chars>`, `<'/' + 'a' * N + '/'>`."""
    if isinstance(value, dict):
        return {k: _expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v) for v in value]
    if not isinstance(value, str):
        return value
    value = value.replace("<uid>", "uid123")
    value = re.sub(r"<'(.)' \* (\d+): \d+ chars>", lambda m: m.group(1) * int(m.group(2)), value)
    return re.sub(
        r"<'(.)' \+ '(.)' \* (\d+) \+ '(.)'>",
        lambda m: m.group(1) + m.group(2) * int(m.group(3)) + m.group(4),
        value,
    )


@pytest.mark.parametrize(("service", "action", "params", "message"), _recorded_validation_errors())
def test_recorded_aws_validation_errors_are_reproduced(
    service: str, action: str, params: dict[str, Any], message: str
) -> None:
    params = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}  # documents
    with pytest.raises(ValidationError) as caught:
        query.parse(service, _botocore_request(service, action, params))
    assert caught.value.message == message


def test_recorded_multi_error_messages_in_aws_order() -> None:
    with pytest.raises(ValidationError) as caught:
        _form(
            "Action=UpdateAccountPasswordPolicy&MaxPasswordAge=1096&MinimumPasswordLength=129"
            "&PasswordReusePrevention=25"
        )
    assert caught.value.message == (
        "3 validation errors detected: Value at 'minimumPasswordLength' failed to satisfy constraint: Member "
        "must have value less than or equal to 128; Value at 'passwordReusePrevention' failed to satisfy "
        "constraint: Member must have value less than or equal to 24; Value at 'maxPasswordAge' failed to "
        "satisfy constraint: Member must have value less than or equal to 1095"
    )
    with pytest.raises(ValidationError) as caught:
        _form(
            f"Action=CreateOpenIDConnectProvider&Url={'b' * 256}&ThumbprintList.member.1={'b' * 41}"
            f"&ClientIDList.member.1={'b' * 256}"
        )
    assert caught.value.message == (
        "3 validation errors detected: Value at 'clientIDList' failed to satisfy constraint: Member must "
        "satisfy constraint: [Member must have length less than or equal to 255, Member must have length "
        "greater than or equal to 1]; Value at 'thumbprintList' failed to satisfy constraint: Member must "
        "satisfy constraint: [Member must have length less than or equal to 40, Member must have length "
        "greater than or equal to 40]; Value at 'url' failed to satisfy constraint: Member must have length "
        "less than or equal to 255"
    )


def test_recorded_tag_errors_name_the_nested_member() -> None:
    base = "Action=CreatePolicy&PolicyName=p&PolicyDocument=%7B%7D"
    with pytest.raises(
        ValidationError, match=r"Value at 'tags.1.member.key' failed .* less than or equal to 128$"
    ):
        _form(f"{base}&Tags.member.1.Key={'0' * 129}&Tags.member.1.Value=")
    with pytest.raises(
        ValidationError,
        match=r"^1 validation error detected: Value at 'tags' failed to satisfy "
        r"constraint: Member must have length less than or equal to 50$",
    ):
        _form(base + "".join(f"&Tags.member.{i}.Key=k{i}&Tags.member.{i}.Value=v" for i in range(1, 52)))
    with pytest.raises(ValidationError) as caught:
        _form(f"Action=UntagPolicy&PolicyArn=arn:aws:iam::123456789012:policy/p&TagKeys.member.1={'0' * 129}")
    assert caught.value.message == (
        "1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: Member must satisfy "
        "constraint: [Member must have length less than or equal to 128, Member must have "
        "length greater than "
        r"or equal to 1, Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+, Member "
        "must not be null]"
    )


def test_sts_echoes_the_rejected_value() -> None:
    with pytest.raises(ValidationError) as caught:
        _form(f"Action=AssumeRole&RoleArn=arn:aws:iam::123456789012:role/r&RoleSessionName={'s' * 65}", "sts")
    assert caught.value.message == (
        f"1 validation error detected: Value '{'s' * 65}' at 'roleSessionName' failed to satisfy constraint: "
        "Member must have length less than or equal to 64"
    )


def test_bad_integer_and_boolean_are_validation_errors() -> None:
    with pytest.raises(ValidationError, match="'maxItems'"):
        _form("Action=ListUsers&MaxItems=many")
    with pytest.raises(ValidationError, match="'requireSymbols'"):
        _form("Action=UpdateAccountPasswordPolicy&RequireSymbols=maybe")


@pytest.mark.parametrize(
    "index",
    ["%C2%B2", "%D9%A1", "%EF%BC%91", "9" * 5000],
    ids=["superscript two", "arabic one", "wide one", "5000 nines"],
)
def test_an_index_not_of_ascii_digits_or_too_long_is_an_unknown_name_not_a_parser_bug(
    index: str, caplog: pytest.LogCaptureFixture
) -> None:
    call = _form(f"Action=TagUser&UserName=a&Tags.member.{index}.Key=k&Tags.member.{index}.Value=v")
    assert call.params == {"UserName": "a", "Tags": []}
    assert "parser bug" not in caplog.text


@pytest.mark.parametrize("text", ["1_0", "+5+", "%D9%A1"])
def test_an_integer_is_ascii_digits_only(text: str) -> None:
    with pytest.raises(
        ValidationError, match="'maxItems' failed to satisfy constraint: Member must be a valid integer"
    ):
        _form(f"Action=ListUsers&MaxItems={text}")
    assert _form("Action=ListUsers&MaxItems=%2B7").params == {"MaxItems": 7}


def test_a_parser_bug_is_a_400_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(query, "_insert", broken)
    with pytest.raises(MalformedQueryString) as caught:
        _form("Action=GetUser&UserName=a")
    assert isinstance(caught.value, AwsError) and 400 <= caught.value.status < 500
    assert "parser bug" in caplog.text


def test_service_of_follows_the_scope_then_the_action() -> None:
    sts_call = HttpRequest("POST", "/", "", _FORM, b"Action=AssumeRoleWithWebIdentity&RoleArn=x")
    iam_call = HttpRequest("POST", "/", "", _FORM, b"Action=ListUsers")
    assert query.service_of(sts_call, None) == "sts"
    assert query.service_of(iam_call, None) == "iam"

    class Scoped:
        service = "sts"

    assert query.service_of(iam_call, Scoped()) == "sts"


@given(st.text(alphabet="ab=&+%2041Ze\u00e9;", max_size=40))
def test_form_pairs_decode_as_parse_qsl_does(text: str) -> None:
    # the fast path skips unquoting; the escapes, pluses, blanks and broken escapes must read the same
    assert query._form_pairs(text) == parse_qsl(text, keep_blank_values=True)


@pytest.mark.parametrize(
    "body",
    [
        "Action=CreateRole&RoleName=r&AssumeRolePolicyDocument=%7B%7D&Path=test%2F",  # cfn-lint #722
        "Action=CreateUser&UserName=u&Path=%2Fno-end",
        "Action=UpdateGroup&GroupName=g&NewPath=no-start%2F",
    ],
)
def test_an_entity_path_off_its_pattern_gets_iams_own_text(body: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _form(body)
    assert caught.value.message == (
        "The specified value for path is invalid. It must begin and end with / and contain only "
        "alphanumeric characters and/or / characters."
    )


def test_a_path_too_long_and_other_violations_keep_the_constraint_text() -> None:
    with pytest.raises(ValidationError) as caught:
        _form("Action=CreateUser&UserName=u&Path=%2F" + "a" * 512 + "%2F")
    assert caught.value.message.startswith("1 validation error detected: Value at 'path' failed")
    with pytest.raises(ValidationError) as caught:  # a prefix is not an entity's path
        _form("Action=ListEntitiesForPolicy&PolicyArn=arn:aws:iam::aws:policy/x&PathPrefix=x")
    assert "regular expression pattern" in caught.value.message


@pytest.mark.parametrize(
    ("content_type", "is_form"),
    [
        ("application/x-www-form-urlencoded", True),
        ("APPLICATION/X-WWW-FORM-URLENCODED; Charset=UTF-8", True),
        (" application/x-www-form-urlencoded ;charset=utf-8", True),
        ("application/x-www-form-urlencodedX", False),
        ("application/json", False),
    ],
)
def test_a_body_is_read_as_a_form_by_its_media_type_in_any_case(content_type: str, is_form: bool) -> None:
    request = HttpRequest("POST", "/", "", (("content-type", content_type),), b"Action=ListUsers")
    if is_form:
        assert query.parse("iam", request).operation == "ListUsers"
    else:
        with pytest.raises(AwsError, match="must contain the parameter Action"):
            query.parse("iam", request)


def test_a_policy_description_outside_awss_character_classes_is_refused() -> None:
    # the service's own pattern, not in botocore's model: AWS refused a newline with it (cfn-lint #345)
    with pytest.raises(ValidationError) as caught:
        _form("Action=CreatePolicy&PolicyName=p&PolicyDocument=%7B%7D&Description=a%0Ab")
    assert caught.value.message == (
        "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must "
        "satisfy regular expression pattern: [\\p{L}\\p{M}\\p{Z}\\p{S}\\p{N}\\p{P}]*"
    )
    call = _form(
        "Action=CreatePolicy&PolicyName=p&PolicyDocument=%7B%7D&Description=%C3%A9t%C3%A9+%E2%9C%93+%281%29"
    )
    assert call.params["Description"] == "été ✓ (1)"


def test_a_nul_where_no_pattern_refuses_it_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="'policyArn' failed to satisfy constraint: Member must not"):
        _form("Action=GetPolicy&PolicyArn=arn:aws:iam::123456789012:policy/a%00b")
