"""Key policies for the engine: AWS's default one names the account; an unparsable one allows nothing."""

from __future__ import annotations

import json

from ostiary.gateway.keypolicies import compiled, default_key_policy


def test_the_default_key_policy_delegates_to_the_account() -> None:
    policy = json.loads(default_key_policy("123456789012"))
    assert policy["Statement"] == [
        {
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    assert compiled(None, "123456789012") is not None


def test_a_key_policy_that_does_not_parse_allows_nothing() -> None:
    assert compiled("{not json", "123456789012") is None
    assert compiled('{"Statement": [{"Effect": "Allow"}]}', "123456789012") is None
