"""The trail's redaction plans, read from botocore's models: sensitive shapes hidden, blobs and
DynamoDB's non-key values left out, at any depth, for every service (the integration tests in
tests/integration/test_trail_secrets.py send them through the real server)."""

from __future__ import annotations

from ostiary.trail import item_keys, plans, redaction

HIDDEN = redaction.HIDDEN


def test_operations_with_nothing_to_hide_and_no_map_have_no_plan() -> None:
    assert plans.of("iam", "GetUser") == (None, None)
    assert plans.of("dynamodb", "DescribeTable")[0] is None
    assert plans.of("signin", "ConsoleLogin") == (None, None)  # no model: the fixed names only
    assert plans.of("s3", "NoSuchOperation") == (None, None)


def test_a_query_services_sensitive_member_is_hidden_flat_or_nested() -> None:
    asked, _ = plans.of("rds", "CreateDBInstance")
    params = {"DBInstanceIdentifier": "db", "MasterUserPassword": "pw-1", "Tags.member.1.Key": "k"}
    assert redaction.request_parameters(params, asked) == {
        "dBInstanceIdentifier": "db",
        "masterUserPassword": HIDDEN,
        "tags.member.1.Key": "k",
    }
    nested = {"Logins": ("[]", {"Password": plans.HIDE}), "Options": ("{}", {"Token": plans.HIDE})}
    flat = {
        "Logins.member.1.Password": "pw-2",
        "Logins.member.1.Name": "n",
        "Options.entry.1.key": "a",
        "Options.entry.1.value.Token": "t",
    }
    assert redaction.request_parameters(flat, nested) == {
        "logins.member.1.Password": HIDDEN,
        "logins.member.1.Name": "n",
        "options.entry.1.key": "a",
        "options.entry.1.value.Token": HIDDEN,
    }


def test_an_answers_secrets_are_left_out_at_any_depth() -> None:
    _, answered = plans.of("iam", "CreateServiceSpecificCredential")
    result = {
        "ServiceSpecificCredential": {"ServiceName": "bedrock.amazonaws.com", "ServiceCredentialSecret": "s"}
    }
    assert redaction.response_elements(result, answered) == {
        "serviceSpecificCredential": {"serviceName": "bedrock.amazonaws.com"}
    }


def test_partiql_literals_are_redacted_but_names_kept() -> None:
    statement = "INSERT INTO \"T-1\" VALUE {'k': 'a''b', 'n': 12.5e3, 'l': [1, -2]}"
    assert plans.redacted_statement(statement) == (
        "INSERT INTO \"T-1\" VALUE {'k': ***(Redacted), 'n': ***(Redacted), "
        "'l': [***(Redacted), -***(Redacted)]}"
    )
    assert plans.redacted_statement('SELECT a1 FROM "t" WHERE "x"=?') == 'SELECT a1 FROM "t" WHERE "x"=?'
    assert plans.redacted_statement("SELECT * FROM t WHERE d = `{card: secret}`") == (
        "SELECT * FROM t WHERE d = ***(Redacted)"
    )


def test_a_value_not_of_its_shape_is_left_out() -> None:
    asked, _ = plans.of("dynamodb", "TransactWriteItems")
    malformed = {"TransactItems": {"Put": {"Item": {"card": {"S": "4111"}}}}, "ClientRequestToken": "t"}
    assert redaction.request_parameters(malformed, asked) == {"clientRequestToken": "t"}
    asked, _ = plans.of("dynamodb", "PutItem")
    assert redaction.request_parameters({"TableName": "t", "Item": "4111"}, asked) == {"tableName": "t"}
    asked, _ = plans.of("dynamodb", "TransactWriteItems")
    listed = {"TransactItems": [{"Put": {"Item": {"k": {"S": "a"}}}}, "4111"]}
    assert redaction.request_parameters(listed, asked) == {"transactItems": [{"put": {"item": ["k"]}}]}
    asked, _ = plans.of("dynamodb", "GetItem")
    odd = {"TableName": "t", "Key": {"k": {"BOOL": True}, "s": {"S": "a", "N": "1"}, "m": {"M": {}}}}
    assert redaction.request_parameters(odd, asked) == {"tableName": "t", "key": {}}  # no key's value
    assert redaction.request_parameters({"TableName": "t", "Key": "k"}, asked) == {"tableName": "t"}


def test_a_secret_is_hidden_at_any_depth_of_a_recursive_shape() -> None:
    """EMR on EKS's Configuration holds its sensitive Properties and a list of Configurations."""
    asked, _ = plans.of("emr-containers", "StartJobRun")
    deepest = {"classification": "e", "properties": {"password": "s3"}}
    inner = {"classification": "d", "properties": {"password": "s2"}, "configurations": [deepest]}
    outer = {"classification": "c", "properties": {"password": "s1"}, "configurations": [inner]}
    params = {"name": "j", "configurationOverrides": {"applicationConfiguration": [outer]}}
    hidden = {"classification": "e", "properties": HIDDEN}
    hidden = {"classification": "d", "properties": HIDDEN, "configurations": [hidden]}
    hidden = {"classification": "c", "properties": HIDDEN, "configurations": [hidden]}
    assert redaction.request_parameters(params, asked) == {
        "name": "j",
        "configurationOverrides": {"applicationConfiguration": [hidden]},
    }


def test_a_maps_keys_are_kept_as_sent_and_a_structures_members_camelcased() -> None:
    """A KMS encryption context's keys, a table's name in RequestItems, an attribute's name, an
    expression attribute name's token and a tag's key are data, not member names."""
    asked, _ = plans.of("kms", "Encrypt")
    params = {"KeyId": "alias/a", "Plaintext": "eA==", "EncryptionContext": {"Department": "Sales"}}
    assert redaction.request_parameters(params, asked) == {
        "keyId": "alias/a",
        "encryptionContext": {"Department": "Sales"},
    }
    asked, _ = plans.of("kms", "CreateGrant")  # a map in a structure
    params = {
        "KeyId": "k",
        "Constraints": {"EncryptionContextSubset": {"Team": "A"}},
        "Operations": ["Decrypt"],
    }
    assert redaction.request_parameters(params, asked) == {
        "keyId": "k",
        "constraints": {"encryptionContextSubset": {"Team": "A"}},
        "operations": ["Decrypt"],
    }
    asked, _ = plans.of("lambda", "TagResource")  # a catch-all backend's service: Tags a map
    params = {"Resource": "arn:aws:lambda:us-east-1:111122223333:function:f", "Tags": {"CostCenter": "1"}}
    assert redaction.request_parameters(params, asked)["tags"] == {"CostCenter": "1"}
    asked, _ = plans.of("sqs", "CreateQueue")
    params = {"QueueName": "q", "Attributes": {"VisibilityTimeout": "5"}, "tags": {"Owner": "me"}}
    assert redaction.request_parameters(params, asked) == {
        "queueName": "q",
        "attributes": {"VisibilityTimeout": "5"},
        "tags": {"Owner": "me"},
    }


def test_dynamodb_table_names_attribute_names_and_keys_are_recorded_as_sent() -> None:
    """CloudTrail records a key's values without their types (`"key": {"Artist": "No One You Know"}`,
    DynamoDB's developer guide)."""
    asked, _ = plans.of("dynamodb", "GetItem")
    params = {
        "TableName": "Orders",
        "Key": {"OrderId": {"S": "o-1"}, "Line": {"N": "2"}, "Blob": {"B": "AAE="}},
        "ProjectionExpression": "#S",
        "ExpressionAttributeNames": {"#S": "Status"},
    }
    assert redaction.request_parameters(params, asked) == {
        "tableName": "Orders",
        "key": {"OrderId": "o-1", "Line": "2", "Blob": "AAE="},
        "projectionExpression": "#S",
        "expressionAttributeNames": {"#S": "Status"},
    }
    asked, _ = plans.of("dynamodb", "BatchGetItem")
    params = {"RequestItems": {"Orders": {"Keys": [{"OrderId": {"S": "o-1"}}], "ConsistentRead": True}}}
    assert redaction.request_parameters(params, asked) == {
        "requestItems": {"Orders": {"keys": [{"OrderId": "o-1"}], "consistentRead": True}}
    }
    asked, _ = plans.of("dynamodb", "BatchWriteItem")
    params = {
        "RequestItems": {
            "Orders": [
                {"PutRequest": {"Item": {"OrderId": {"S": "o-2"}, "Card": {"S": "4111"}}}},
                {"DeleteRequest": {"Key": {"OrderId": {"S": "o-1"}}}},
            ]
        }
    }
    assert redaction.request_parameters(params, asked) == {
        "requestItems": {
            "Orders": [
                {"putRequest": {"item": ["OrderId", "Card"]}},
                {"deleteRequest": {"key": {"OrderId": "o-1"}}},
            ]
        }
    }
    asked, _ = plans.of("dynamodb", "UpdateItem")
    params = {
        "TableName": "Orders",
        "Key": {"OrderId": {"S": "o-1"}},
        "AttributeUpdates": {"Card": {"Value": {"S": "4111"}, "Action": "PUT"}},
        "ExpressionAttributeValues": {":c": {"S": "4111"}},
    }
    assert redaction.request_parameters(params, asked) == {
        "tableName": "Orders",
        "key": {"OrderId": "o-1"},
        "attributeUpdates": {"Card": {"action": "PUT"}},
    }
    asked, _ = plans.of("dynamodb", "Query")
    params = {"TableName": "Orders", "ExclusiveStartKey": {"OrderId": {"S": "o-1"}}}
    assert redaction.request_parameters(params, asked)["exclusiveStartKey"] == {"OrderId": "o-1"}


def test_a_puts_key_is_recorded_beside_its_items_names_when_its_key_schema_is_known() -> None:
    """CloudTrail's PutItem and TransactWriteItems records name the item's key, its values without their
    types (DynamoDB's developer guide); its other values never. A table whose key schema is not kept
    (`None`: the backend is not asked for the trail's sake) gets no key."""
    schemas = {"Music": ("Artist", "SongTitle"), "Orders": ("OrderId",)}
    song = {
        "SongTitle": {"S": "Scared of My Shadow"},
        "Album": {"S": "x"},
        "Artist": {"S": "No One You Know"},
    }
    put = {"TableName": "Music", "Item": song, "ReturnConsumedCapacity": "TOTAL"}
    asked, _ = plans.of("dynamodb", "PutItem")
    keyed = item_keys.keyed("dynamodb", "PutItem", put, schemas.get)
    assert redaction.request_parameters(keyed, asked) == {
        "tableName": "Music",
        "key": {"Artist": "No One You Know", "SongTitle": "Scared of My Shadow"},
        "item": ["SongTitle", "Album", "Artist"],
        "returnConsumedCapacity": "TOTAL",
    }
    arn = {
        **put,
        "TableName": "arn:aws:dynamodb:us-east-1:123456789012:table/Orders",
        "Item": {"OrderId": {"N": "7"}},
    }
    assert redaction.request_parameters(item_keys.keyed("dynamodb", "PutItem", arn, schemas.get), asked)[
        "key"
    ] == {"OrderId": "7"}
    for unknown in ({**put, "TableName": "Other"}, {**put, "Item": {"Album": {"S": "x"}}}):
        assert item_keys.keyed("dynamodb", "PutItem", unknown, schemas.get) is unknown
    asked, _ = plans.of("dynamodb", "TransactWriteItems")
    transaction = {
        "TransactItems": [{"Put": put}, {"Delete": {"TableName": "Music", "Key": {"Artist": {"S": "a"}}}}]
    }
    recorded = redaction.request_parameters(
        item_keys.keyed("dynamodb", "TransactWriteItems", transaction, schemas.get), asked
    )
    assert recorded is not None
    assert recorded["transactItems"][0]["put"]["key"] == {
        "Artist": "No One You Know",
        "SongTitle": "Scared of My Shadow",
    }
    assert recorded["transactItems"][1] == {"delete": {"tableName": "Music", "key": {"Artist": "a"}}}
    batch = {"RequestItems": {"Music": [{"PutRequest": {"Item": song}}]}}  # no record of AWS's shows a key
    assert item_keys.keyed("dynamodb", "BatchWriteItem", batch, schemas.get) is batch


def test_a_secret_name_as_a_maps_key_is_hidden_all_the_same() -> None:
    asked, _ = plans.of("kms", "Encrypt")
    params = {"KeyId": "k", "EncryptionContext": {"Password": "p-1", "Team": "A"}}
    assert redaction.request_parameters(params, asked) == {
        "keyId": "k",
        "encryptionContext": {"Password": HIDDEN, "Team": "A"},
    }
    asked, _ = plans.of("dynamodb", "GetItem")
    params = {"TableName": "t", "Key": {"password": {"S": "p-2"}}}
    assert redaction.request_parameters(params, asked) == {"tableName": "t", "key": {"password": HIDDEN}}


def test_an_answers_maps_keep_their_keys() -> None:
    """IAM's GetAccountSummary answers a map of counts by their names."""
    _, answered = plans.of("iam", "GetAccountSummary")
    result = {"SummaryMap": {"Users": 3, "AccessKeysPerUserQuota": 2}}
    assert redaction.response_elements(result, answered) == {
        "summaryMap": {"Users": 3, "AccessKeysPerUserQuota": 2}
    }
