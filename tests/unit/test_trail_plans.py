"""The trail's redaction plans, read from botocore's models: sensitive shapes hidden, blobs and
DynamoDB's non-key values left out, at any depth, for every service (the integration tests in
tests/integration/test_trail_secrets.py send them through the real server)."""

from __future__ import annotations

from ostiary.trail import plans, redaction

HIDDEN = redaction.HIDDEN


def test_operations_with_nothing_to_hide_have_no_plan() -> None:
    assert plans.of("iam", "GetUser") == (None, None)
    assert plans.of("dynamodb", "GetItem")[0] is None  # its Key is kept, as CloudTrail keeps it
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
    assert plans.apply(flat, nested, True) == {
        "Logins.member.1.Password": HIDDEN,
        "Logins.member.1.Name": "n",
        "Options.entry.1.key": "a",
        "Options.entry.1.value.Token": HIDDEN,
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
