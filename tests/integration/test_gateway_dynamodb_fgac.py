"""Fine-grained access control on DynamoDB through the gateway, against moto's server: a policy that allows
item calls only on the caller's own partition (`dynamodb:LeadingKeys` = `${aws:username}`) and only on some
attributes (`dynamodb:Attributes`, `dynamodb:Select` = SPECIFIC_ATTRIBUTES, `dynamodb:ReturnValues`), as in
AWS's "Using IAM policy conditions for fine-grained access control", and the requests that try to read or
write past it: attributes hidden in conditions, filters and update operands, legacy parameters, values of
more than one type, duplicate JSON members."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT, Server, start_server, stop_server
from tests.integration.gateway_helpers import moto_backend, refusal

pytest.importorskip(
    "moto.server", reason="moto's server is the gateway's test backend (pip install moto[server])"
)

ALLOWED = ["pk", "sk", "shown", "owner"]
ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
]


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from moto_backend(tmp_path_factory)


@pytest.fixture(scope="module")
def gateway(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("ostiary-fgac")
    server = start_server(
        data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite", "--backend", f"dynamodb={backend}"
    )
    yield server
    stop_server(server)


class Caller:
    """A user allowed the item calls on its own partition and the ALLOWED attributes of one table."""

    def __init__(self, gateway: Server, selects: tuple[str, ...] = ("SPECIFIC_ATTRIBUTES",)) -> None:
        self.gateway = gateway
        self.table = f"fgac-{uuid.uuid4().hex[:8]}"
        self.name = f"u-{uuid.uuid4().hex[:8]}"
        arn = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{self.table}"
        root = gateway.client("dynamodb")
        root.create_table(
            TableName=self.table,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for owner in (self.name, "victim"):
            root.put_item(
                TableName=self.table,
                Item={
                    "pk": {"S": owner},
                    "sk": {"S": "1"},
                    "shown": {"S": "hello"},
                    "secret": {"S": f"secret-of-{owner}"},
                },
            )
        condition = {
            "ForAllValues:StringEquals": {
                "dynamodb:LeadingKeys": ["${aws:username}"],
                "dynamodb:Attributes": ALLOWED,
            },
            "StringEqualsIfExists": {
                "dynamodb:Select": list(selects),
                "dynamodb:ReturnValues": ["NONE", "UPDATED_OLD", "UPDATED_NEW"],
            },
        }
        statement = {
            "Effect": "Allow",
            "Action": ACTIONS,
            "Resource": [arn, f"{arn}/index/*"],
            "Condition": condition,
        }
        iam = gateway.client("iam")
        iam.create_user(UserName=self.name)
        document = {"Version": "2012-10-17", "Statement": [statement]}
        iam.put_user_policy(UserName=self.name, PolicyName="fgac", PolicyDocument=json.dumps(document))
        key = iam.create_access_key(UserName=self.name)["AccessKey"]
        self.keys = (key["AccessKeyId"], key["SecretAccessKey"])
        self.dynamodb = gateway.client("dynamodb", *self.keys)
        self.root = root

    def key(self, owner: str | None = None) -> dict[str, Any]:
        return {"pk": {"S": owner or self.name}, "sk": {"S": "1"}}

    def stored(self, owner: str | None = None) -> dict[str, Any]:
        return dict(self.root.get_item(TableName=self.table, Key=self.key(owner)).get("Item", {}))

    def refused(self, operation: str, **params: Any) -> tuple[str, str, int]:
        with pytest.raises(ClientError) as caught:
            getattr(self.dynamodb, operation)(TableName=self.table, **params)
        return refusal(caught.value)

    def raw(self, target: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """A signed request with this body as it is (what boto3 would never send)."""
        request = AWSRequest(
            method="POST",
            url=f"{self.gateway.endpoint}/",
            data=body,
            headers={
                "X-Amz-Target": f"DynamoDB_20120810.{target}",
                "Content-Type": "application/x-amz-json-1.0",
            },
        )
        SigV4Auth(Credentials(*self.keys), "dynamodb", "us-east-1").add_auth(request)
        answer = urllib3.request(
            "POST", request.url, body=body, headers=dict(request.headers.items()), retries=False
        )
        return answer.status, json.loads(answer.data)


@pytest.fixture
def caller(gateway: Server) -> Caller:
    return Caller(gateway)


def _denied(found: tuple[str, str, int]) -> None:
    assert found[0] == "AccessDeniedException" and found[2] == 400, found


def test_the_allowed_attributes_of_the_callers_own_item_are_read_and_written(caller: Caller) -> None:
    got = caller.dynamodb.get_item(
        TableName=caller.table,
        Key=caller.key(),
        ProjectionExpression="pk, #p",
        ExpressionAttributeNames={"#p": "shown"},
    )
    assert got["Item"] == {"pk": {"S": caller.name}, "shown": {"S": "hello"}}
    caller.dynamodb.update_item(
        TableName=caller.table,
        Key=caller.key(),
        UpdateExpression="SET #p = :v",
        ExpressionAttributeNames={"#p": "shown"},
        ExpressionAttributeValues={":v": {"S": "changed"}},
    )
    assert caller.stored()["shown"] == {"S": "changed"}
    queried = caller.dynamodb.query(
        TableName=caller.table,
        KeyConditionExpression="pk = :me",
        ExpressionAttributeValues={":me": {"S": caller.name}},
        ProjectionExpression="sk, shown",
        Select="SPECIFIC_ATTRIBUTES",
    )
    assert queried["Items"] == [{"sk": {"S": "1"}, "shown": {"S": "changed"}}]
    _denied(caller.refused("get_item", Key=caller.key("victim"), ProjectionExpression="pk"))


def test_a_get_item_without_projection_reads_every_attribute_and_is_refused(caller: Caller) -> None:
    """Without a projection GetItem returns the whole item: DynamoDB's `dynamodb:Select` is ALL_ATTRIBUTES."""
    _denied(caller.refused("get_item", Key=caller.key()))
    _denied(
        caller.refused(
            "query", KeyConditionExpression="pk = :me", ExpressionAttributeValues={":me": {"S": caller.name}}
        )
    )


@pytest.mark.parametrize("alias", [False, True])
def test_a_hidden_attribute_in_a_filter_is_refused(caller: Caller, alias: bool) -> None:
    """A filter on a hidden attribute is an oracle on its value, even when it projects allowed ones."""
    names = {"#s": "secret"} if alias else {}
    found = caller.refused(
        "query",
        KeyConditionExpression="pk = :me",
        FilterExpression=f"begins_with({'#s' if alias else 'secret'}, :guess)",
        ExpressionAttributeValues={":me": {"S": caller.name}, ":guess": {"S": "secret-of"}},
        ProjectionExpression="pk",
        Select="SPECIFIC_ATTRIBUTES",
        **({"ExpressionAttributeNames": names} if names else {}),
    )
    _denied(found)


def test_a_hidden_attribute_in_a_legacy_query_filter_is_refused(caller: Caller) -> None:
    _denied(
        caller.refused(
            "query",
            KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": caller.name}]}},
            QueryFilter={"secret": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"S": "s"}]}},
            AttributesToGet=["pk"],
            Select="SPECIFIC_ATTRIBUTES",
        )
    )


def test_a_hidden_attribute_in_a_write_condition_is_refused_and_nothing_changes(caller: Caller) -> None:
    before = caller.stored()
    _denied(
        caller.refused(
            "update_item",
            Key=caller.key(),
            UpdateExpression="SET shown = :v",
            ConditionExpression="attribute_exists(#s.#n) AND size(secret) > :n",
            ExpressionAttributeNames={"#s": "secret", "#n": "x"},
            ExpressionAttributeValues={":v": {"S": "w"}, ":n": {"N": "1"}},
        )
    )
    _denied(
        caller.refused(
            "put_item",
            Item={"pk": {"S": caller.name}, "sk": {"S": "1"}, "shown": {"S": "w"}},
            Expected={"secret": {"Value": {"S": f"secret-of-{caller.name}"}}},
        )
    )
    assert caller.stored() == before


@pytest.mark.parametrize(
    ("update", "names", "values"),
    [
        ("SET shown = secret", None, None),
        ("SET shown = #s", {"#s": "secret"}, None),
        ("SET shown = if_not_exists(#s, :v)", {"#s": "secret"}, {":v": {"S": "v"}}),
    ],
)
def test_an_update_that_copies_a_hidden_attribute_into_an_allowed_one_is_refused(
    caller: Caller, update: str, names: dict[str, str] | None, values: dict[str, Any] | None
) -> None:
    params: dict[str, Any] = {}
    if names:
        params["ExpressionAttributeNames"] = names
    if values:
        params["ExpressionAttributeValues"] = values
    before = caller.stored()
    _denied(caller.refused("update_item", Key=caller.key(), UpdateExpression=update, **params))
    assert caller.stored() == before


def test_update_expression_targets_on_hidden_attributes_are_refused(caller: Caller) -> None:
    before = caller.stored()
    for update, names in [
        ("REMOVE #s", {"#s": "secret"}),
        ("SET shown = :v REMOVE secret", None),
        ("SET #s.inner = :v", {"#s": "secret"}),
        ("SET #s[0] = :v", {"#s": "secret"}),
    ]:
        params: dict[str, Any] = {"ExpressionAttributeValues": {":v": {"S": "v"}}} if ":v" in update else {}
        if names:
            params["ExpressionAttributeNames"] = names
        _denied(caller.refused("update_item", Key=caller.key(), UpdateExpression=update, **params))
    assert caller.stored() == before


def test_a_write_asking_for_the_whole_item_back_is_refused(caller: Caller) -> None:
    before = caller.stored()
    update = {"UpdateExpression": "SET shown = :v", "ExpressionAttributeValues": {":v": {"S": "x"}}}
    for values in ("ALL_OLD", "ALL_NEW"):
        _denied(caller.refused("update_item", Key=caller.key(), ReturnValues=values, **update))
    _denied(
        caller.refused(
            "put_item",
            Item={"pk": {"S": caller.name}, "sk": {"S": "1"}, "shown": {"S": "w"}},
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    )
    assert caller.stored() == before


def test_a_key_value_of_two_types_is_refused_before_the_backend(caller: Caller) -> None:
    """moto reads the first type of {"S": "victim", "NULL": true}; the gateway must not read none."""
    body = {
        "TableName": caller.table,
        "Key": {"pk": {"S": "victim", "NULL": True}, "sk": {"S": "1"}},
        "ProjectionExpression": "pk, #p",
        "ExpressionAttributeNames": {"#p": "shown"},
    }
    status, answer = caller.raw("GetItem", json.dumps(body).encode())
    assert (status, answer) == (
        400,
        {
            "__type": "com.amazon.coral.service#ValidationException",
            "message": "Supplied AttributeValue has more than one datatypes set, must contain exactly one of "
            "the supported datatypes",
        },
    )


def test_a_body_naming_a_member_twice_is_refused_before_the_backend(caller: Caller) -> None:
    """Which of two `pk` members a backend reads is its parser's choice (moto's the last, another's may be
    the first): the gateway refuses the body rather than guess which one it decides on."""
    own, table = json.dumps({"S": caller.name}), json.dumps(caller.table)
    for key, projection in (
        (f'{{"pk": {{"S": "victim"}}, "sk": {{"S": "1"}}, "pk": {own}}}', '"ProjectionExpression": "pk"'),
        (
            f'{{"pk": {own}, "sk": {{"S": "1"}}}}',
            '"ProjectionExpression": "pk", "ProjectionExpression": "secret"',
        ),
    ):
        body = f'{{"TableName": {table}, "Key": {key}, {projection}}}'
        status, answer = caller.raw("GetItem", body.encode())
        assert (status, answer["__type"]) == (400, "com.amazon.coral.service#SerializationException"), answer


def test_a_reversed_key_condition_names_its_partition(caller: Caller) -> None:
    found = caller.refused(
        "query",
        KeyConditionExpression=":v = pk",
        ExpressionAttributeValues={":v": {"S": "victim"}},
        ProjectionExpression="pk, shown",
        Select="SPECIFIC_ATTRIBUTES",
    )
    assert found[0] in ("AccessDeniedException", "ValidationException"), found


def test_batches_and_transactions_with_one_other_item_are_refused(caller: Caller) -> None:
    mine, theirs = caller.key(), caller.key("victim")
    with pytest.raises(ClientError) as caught:
        caller.dynamodb.batch_get_item(
            RequestItems={caller.table: {"Keys": [mine, theirs], "ProjectionExpression": "pk"}}
        )
    _denied(refusal(caught.value))
    with pytest.raises(ClientError) as caught:
        caller.dynamodb.batch_write_item(
            RequestItems={
                caller.table: [
                    {"PutRequest": {"Item": {**mine, "shown": {"S": "w"}}}},
                    {"PutRequest": {"Item": {**theirs, "shown": {"S": "w"}}}},
                ]
            }
        )
    _denied(refusal(caught.value))
    with pytest.raises(ClientError) as caught:
        caller.dynamodb.batch_write_item(
            RequestItems={caller.table: [{"PutRequest": {"Item": {**mine, "secret": {"S": "w"}}}}]}
        )
    _denied(refusal(caught.value))
    assert caller.stored("victim")["shown"] == {"S": "hello"}


@pytest.mark.parametrize(
    ("condition", "names", "values"),
    [
        ("pk = :v-1", None, {":v-1": {"S": "victim"}}),
        ("#p-x = :v", {"#p-x": "pk"}, {":v": {"S": "victim"}}),
        ("pk = :ä", None, {":ä": {"S": "victim"}}),
        ("#ä = :v", {"#ä": "pk"}, {":v": {"S": "victim"}}),
    ],
)
def test_a_key_condition_with_unusual_placeholders_names_its_partition(
    caller: Caller, condition: str, names: dict[str, str] | None, values: dict[str, Any]
) -> None:
    """moto takes these placeholders; the gateway must read the partition they name, not none."""
    params: dict[str, Any] = {"ExpressionAttributeValues": values}
    if names:
        params["ExpressionAttributeNames"] = names
    found = caller.refused(
        "query",
        KeyConditionExpression=condition,
        ProjectionExpression="sk, shown",
        Select="SPECIFIC_ATTRIBUTES",
        **params,
    )
    _denied(found)


def test_transactions_ask_the_fine_grained_keys_of_each_item(caller: Caller) -> None:
    mine, theirs = caller.key(), caller.key("victim")
    for gets in (
        [{"Get": {"TableName": caller.table, "Key": mine}}],  # no projection: the whole item
        [
            {"Get": {"TableName": caller.table, "Key": mine, "ProjectionExpression": "pk"}},
            {"Get": {"TableName": caller.table, "Key": theirs, "ProjectionExpression": "pk"}},
        ],
    ):
        with pytest.raises(ClientError) as caught:
            caller.dynamodb.transact_get_items(TransactItems=gets)
        _denied(refusal(caught.value))
    update = {
        "TableName": caller.table,
        "Key": mine,
        "UpdateExpression": "SET shown = :v",
        "ConditionExpression": "secret = :guess",
        "ExpressionAttributeValues": {":v": {"S": "x"}, ":guess": {"S": f"secret-of-{caller.name}"}},
    }
    before = caller.stored()
    with pytest.raises(ClientError) as caught:
        caller.dynamodb.transact_write_items(TransactItems=[{"Update": update}])
    _denied(refusal(caught.value))
    assert caller.stored() == before


def test_a_placeholder_that_reads_as_two_tokens_is_asked_as_both(caller: Caller) -> None:
    """`#s-pk` is one placeholder to the backend (the hidden attribute), `#s` and `pk` to a narrow
    reading (two allowed ones): the request is asked every attribute of both readings."""
    found = caller.refused(
        "query",
        KeyConditionExpression="pk = :me",
        FilterExpression="begins_with(#s-pk, :guess)",
        ProjectionExpression="#s",
        ExpressionAttributeNames={"#s": "shown", "#s-pk": "secret"},
        ExpressionAttributeValues={":me": {"S": caller.name}, ":guess": {"S": "secret-of"}},
        Select="SPECIFIC_ATTRIBUTES",
    )
    _denied(found)


def test_partiql_and_the_whole_old_item_stay_refused(caller: Caller) -> None:
    """PartiQL needs its own actions (never granted by the item actions), whatever its WHERE names."""
    table = json.dumps(caller.table)
    for statement in (
        f"SELECT * FROM {table}",
        f"SELECT * FROM {table} WHERE pk = 'victim'",
        f"UPDATE {table} SET shown = 'x' WHERE pk = '{caller.name}' AND sk = '1'",
    ):
        with pytest.raises(ClientError) as caught:
            caller.dynamodb.execute_statement(Statement=statement)
        _denied(refusal(caught.value))
    with pytest.raises(ClientError) as caught:
        caller.dynamodb.batch_execute_statement(Statements=[{"Statement": f"SELECT * FROM {table}"}])
    _denied(refusal(caught.value))
    item = {"pk": {"S": caller.name}, "sk": {"S": "1"}, "shown": {"S": "w"}}
    _denied(caller.refused("put_item", Item=item, ReturnValues="ALL_OLD"))
    assert caller.stored()["shown"] == {"S": "hello"}


def test_an_update_of_the_partition_key_is_refused_and_the_item_stays_in_its_partition(
    caller: Caller,
) -> None:
    """moto applies `AttributeUpdates` to a key attribute (DynamoDB refuses it): the caller's own item,
    which it may write, would move into the victim's partition, which it may not."""
    before = caller.stored()
    for update in (
        {"AttributeUpdates": {"pk": {"Value": {"S": "victim"}, "Action": "PUT"}}},
        {
            "UpdateExpression": "SET #k = :o",
            "ExpressionAttributeNames": {"#k": "pk"},
            "ExpressionAttributeValues": {":o": {"S": "victim"}},
        },
    ):
        found = caller.refused("update_item", Key=caller.key(), **update)
        assert found == (
            "ValidationException",
            "One or more parameter values were invalid: Cannot update attribute pk. "
            "This attribute is part of the key",
            400,
        )
    assert caller.stored() == before
    assert caller.stored("victim")["secret"] == {"S": "secret-of-victim"}


def test_an_indexs_projection_asked_of_the_table_is_refused(gateway: Server) -> None:
    """A policy may allow ALL_PROJECTED_ATTRIBUTES for its indexes' projections; moto answers it on a
    table with every attribute, DynamoDB refuses it there."""
    caller = Caller(gateway, ("SPECIFIC_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES"))
    found = caller.refused(
        "query",
        KeyConditionExpression="pk = :me",
        ExpressionAttributeValues={":me": {"S": caller.name}},
        Select="ALL_PROJECTED_ATTRIBUTES",
    )
    assert found == (
        "ValidationException",
        "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName",
        400,
    )


def test_an_index_name_on_an_item_call_is_decided_on_the_table(gateway: Server) -> None:
    """GetItem and PutItem have no `IndexName` (the backend ignores it): a grant on the table's indexes
    must not let them read or write the table's items."""
    caller = Caller(gateway)
    iam = gateway.client("iam")
    arn = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{caller.table}/index/*"
    statement = {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"], "Resource": arn}
    document = {"Version": "2012-10-17", "Statement": [statement]}
    iam.put_user_policy(UserName=caller.name, PolicyName="indexes", PolicyDocument=json.dumps(document))
    body = {"TableName": caller.table, "IndexName": "any", "Key": caller.key("victim")}
    status, answer = caller.raw("GetItem", json.dumps(body).encode())
    assert (status, answer["__type"]) == (400, "com.amazon.coral.service#AccessDeniedException"), answer
    item = {**caller.key("victim"), "shown": {"S": "planted"}}
    status, answer = caller.raw(
        "PutItem", json.dumps({"TableName": caller.table, "IndexName": "any", "Item": item}).encode()
    )
    assert (status, answer["__type"]) == (400, "com.amazon.coral.service#AccessDeniedException"), answer
    assert caller.stored("victim")["shown"] == {"S": "hello"}
