"""Inline policies of users, groups and roles through boto3: put, get, list, delete, quotas, errors."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server

_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def _doc(*actions: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": list(actions) or "s3:*", "Resource": "*"}],
        }
    )


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = exc.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


def _entity(iam: Any, kind: str, name: str) -> None:
    if kind == "user":
        iam.create_user(UserName=name)
    elif kind == "group":
        iam.create_group(GroupName=name)
    else:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=_TRUST)


def _call(iam: Any, verb: str, kind: str, name: str, **params: Any) -> Any:
    method = getattr(iam, f"{verb}_{kind}_polic{'ies' if verb == 'list' else 'y'}")
    return method(**{f"{kind.capitalize()}Name": name}, **params)


@pytest.mark.parametrize("kind", ["user", "group", "role"])
def test_put_get_list_delete(iam: Any, unique: str, kind: str) -> None:
    name = f"{kind}-{unique}"
    _entity(iam, kind, name)
    document = json.dumps(json.loads(_doc("s3:PutObject", "s3:ListBucket")), indent=2)
    _call(iam, "put", kind, name, PolicyName="b-policy", PolicyDocument=document)
    _call(iam, "put", kind, name, PolicyName="a-policy", PolicyDocument=_doc())
    got = _call(iam, "get", kind, name, PolicyName="b-policy")
    assert got[f"{kind.capitalize()}Name"] == name and got["PolicyName"] == "b-policy"
    assert got["PolicyDocument"] == json.loads(document)
    assert _call(iam, "list", kind, name)["PolicyNames"] == ["a-policy", "b-policy"]
    page = _call(iam, "list", kind, name, MaxItems=1)
    assert page["PolicyNames"] == ["a-policy"] and page["IsTruncated"] is True
    assert _call(iam, "list", kind, name, Marker=page["Marker"])["PolicyNames"] == ["b-policy"]
    _call(iam, "put", kind, name, PolicyName="b-policy", PolicyDocument=_doc("s3:GetObject"))
    assert _call(iam, "get", kind, name, PolicyName="b-policy")["PolicyDocument"]["Statement"][0][
        "Action"
    ] == ["s3:GetObject"]
    _call(iam, "delete", kind, name, PolicyName="b-policy")
    assert _call(iam, "list", kind, name)["PolicyNames"] == ["a-policy"]
    with pytest.raises(ClientError) as exc:
        _call(iam, "get", kind, name, PolicyName="b-policy")
    assert _error(exc) == ("NoSuchEntity", f"The {kind} policy with name b-policy cannot be found.", 404)
    with pytest.raises(ClientError) as exc:
        _call(iam, "delete", kind, name, PolicyName="b-policy")
    assert _error(exc) == ("NoSuchEntity", f"The {kind} policy with name b-policy cannot be found.", 404)


@pytest.mark.parametrize("kind", ["user", "group", "role"])
def test_unknown_entity(iam: Any, unique: str, kind: str) -> None:
    name = f"nonexistent-{unique}"
    message = f"The {kind} with name {name} cannot be found."
    with pytest.raises(ClientError) as exc:
        _call(iam, "put", kind, name, PolicyName="p", PolicyDocument=_doc())
    assert _error(exc) == ("NoSuchEntity", message, 404)
    with pytest.raises(ClientError) as exc:
        _call(iam, "get", kind, name, PolicyName="p")
    assert _error(exc) == ("NoSuchEntity", message, 404)


def test_malformed_inline_policy_changes_nothing(iam: Any, unique: str) -> None:
    name = f"mal-{unique}"
    _entity(iam, "role", name)
    bad = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "invalid resource"},
        }
    )
    with pytest.raises(ClientError) as exc:
        _call(iam, "put", "role", name, PolicyName="p", PolicyDocument=bad)
    assert _error(exc) == (
        "MalformedPolicyDocument",
        'Resource invalid resource must be in ARN format or "*".',
        400,
    )
    assert _call(iam, "list", "role", name)["PolicyNames"] == []


@pytest.mark.parametrize(("kind", "quota"), [("user", 2048), ("group", 5120), ("role", 10240)])
def test_inline_quota_counts_every_inline_policy_of_the_entity(
    iam: Any, unique: str, kind: str, quota: int
) -> None:
    name = f"q{kind}-{unique}"
    _entity(iam, kind, name)
    actions = [f"s3:Get{i:05d}" for i in range(quota // 20)]  # each action adds 14 characters
    first = _doc(*actions[: len(actions) // 2])
    _call(iam, "put", kind, name, PolicyName="first", PolicyDocument=first)
    _call(iam, "put", kind, name, PolicyName="first", PolicyDocument=first)  # replacing does not count twice
    second = _doc(*actions)
    with pytest.raises(ClientError) as exc:
        _call(iam, "put", kind, name, PolicyName="second", PolicyDocument=second)
    assert _error(exc) == (
        "LimitExceeded",
        f"Maximum policy size of {quota} bytes exceeded for {kind} {name}",
        409,
    )
    assert _call(iam, "list", kind, name)["PolicyNames"] == ["first"]


def test_document_is_url_encoded_on_the_wire(server: Server, iam: Any, unique: str) -> None:
    name = f"enc-{unique}"
    _entity(iam, "user", name)
    document = _doc("s3:GetObject")
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=document)
    seen: dict[str, bytes] = {}
    iam.meta.events.register(
        "after-call.iam.GetUserPolicy", lambda http_response, **_: seen.update(body=http_response.content)
    )
    iam.get_user_policy(UserName=name, PolicyName="p")
    assert f"<PolicyDocument>{quote(document, safe='')}</PolicyDocument>".encode() in seen["body"]
