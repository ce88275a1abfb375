"""Analyzers, archive rules, tags and external-access findings through boto3's `accessanalyzer` client,
on SQLite and PostgreSQL. Each test runs in a fresh account: an account has one analyzer of a type per
region."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from ostiary.store import resources
from ostiary.store.db import Database
from tests.conftest import Server
from tests.integration.outbound_helpers import Account, new_account

OTHER = "210987654321"


def trust(principal: Any, action: str = "sts:AssumeRole", **extra: Any) -> str:
    statement = {"Effect": "Allow", "Principal": principal, "Action": action, **extra}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


@pytest.fixture
def account(server: Server) -> Account:
    return new_account(server)


@pytest.fixture
def aa(account: Account) -> Any:
    return account.client("accessanalyzer")


def _analyzer(aa: Any, name: str = "external") -> str:
    return str(aa.create_analyzer(analyzerName=name, type="ACCOUNT")["arn"])


def _findings(aa: Any, arn: str, **filters: Any) -> list[dict[str, Any]]:
    return list(aa.list_findings(analyzerArn=arn, filter=filters)["findings"])


def test_analyzer_lifecycle(account: Account, aa: Any) -> None:
    arn = _analyzer(aa, "main")
    assert arn == f"arn:aws:access-analyzer:us-east-1:{account.account_id}:analyzer/main"
    got = aa.get_analyzer(analyzerName="main")["analyzer"]
    assert (got["arn"], got["name"], got["type"], got["status"]) == (arn, "main", "ACCOUNT", "ACTIVE")
    assert isinstance(got["createdAt"], datetime)
    assert [a["name"] for a in aa.list_analyzers()["analyzers"]] == ["main"]
    assert aa.list_analyzers(type="ACCOUNT_UNUSED_ACCESS")["analyzers"] == []
    with pytest.raises(ClientError) as exc:
        aa.create_analyzer(analyzerName="main", type="ACCOUNT")
    assert code(exc) == "ConflictException"
    with pytest.raises(ClientError) as exc:
        aa.create_analyzer(analyzerName="second", type="ACCOUNT")
    assert code(exc) == "ConflictException"
    for kind in ("ORGANIZATION", "ORGANIZATION_UNUSED_ACCESS"):
        with pytest.raises(ClientError) as exc:
            aa.create_analyzer(analyzerName="org", type=kind)
        assert code(exc) == "ValidationException"
    aa.delete_analyzer(analyzerName="main")
    with pytest.raises(ClientError) as exc:
        aa.get_analyzer(analyzerName="main")
    assert code(exc) == "ResourceNotFoundException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert aa.list_analyzers()["analyzers"] == []
    with pytest.raises(ClientError) as exc:
        aa.delete_analyzer(analyzerName="main")
    assert code(exc) == "ResourceNotFoundException"


def test_unused_access_configuration(aa: Any) -> None:
    aa.create_analyzer(
        analyzerName="unused",
        type="ACCOUNT_UNUSED_ACCESS",
        configuration={"unusedAccess": {"unusedAccessAge": 30}},
    )
    got = aa.get_analyzer(analyzerName="unused")["analyzer"]
    assert got["configuration"] == {"unusedAccess": {"unusedAccessAge": 30}}
    updated = aa.update_analyzer(
        analyzerName="unused", configuration={"unusedAccess": {"unusedAccessAge": 60}}
    )
    assert updated["configuration"] == {"unusedAccess": {"unusedAccessAge": 60}}
    for age in (0, 366, -5):
        with pytest.raises(ClientError) as exc:
            aa.update_analyzer(
                analyzerName="unused", configuration={"unusedAccess": {"unusedAccessAge": age}}
            )
        assert code(exc) == "ValidationException"
    assert (
        aa.get_analyzer(analyzerName="unused")["analyzer"]["configuration"]["unusedAccess"]["unusedAccessAge"]
        == 60
    )
    aa.create_analyzer(analyzerName="external", type="ACCOUNT")
    with pytest.raises(ClientError) as exc:
        aa.update_analyzer(analyzerName="external", configuration={"unusedAccess": {"unusedAccessAge": 60}})
    assert code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        aa.create_analyzer(
            analyzerName="x", type="ACCOUNT", configuration={"unusedAccess": {"unusedAccessAge": 60}}
        )
    assert code(exc) == "ValidationException"
    assert sorted(a["type"] for a in aa.list_analyzers()["analyzers"]) == ["ACCOUNT", "ACCOUNT_UNUSED_ACCESS"]


@pytest.mark.parametrize(
    "name", ["9starts-with-digit", "has space", "a/b", "x" * 256, "semi;colon", "é", "", "."]
)
def test_bad_analyzer_names_are_refused(account: Account, name: str) -> None:
    aa = _unchecked(account)
    with pytest.raises(ClientError) as exc:
        aa.create_analyzer(analyzerName=name, type="ACCOUNT")
    assert code(exc) == "ValidationException"
    assert aa.list_analyzers()["analyzers"] == []


def test_tags(account: Account, aa: Any) -> None:
    arn = str(aa.create_analyzer(analyzerName="tagged", type="ACCOUNT", tags={"team": "sec"})["arn"])
    assert aa.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "sec"}
    aa.tag_resource(resourceArn=arn, tags={"env": "prod", "team": "iam"})
    assert aa.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "iam", "env": "prod"}
    aa.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert aa.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "prod"}
    assert aa.get_analyzer(analyzerName="tagged")["analyzer"]["tags"] == {"env": "prod"}
    with pytest.raises(ClientError) as exc:
        aa.tag_resource(resourceArn=arn, tags={f"k{i}": "v" for i in range(50)})
    assert code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        aa.tag_resource(resourceArn=arn, tags={"k" * 129: "v"})
    assert code(exc) == "ValidationException"
    assert aa.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "prod"}
    missing = arn.replace("analyzer/tagged", "analyzer/none")
    with pytest.raises(ClientError) as exc:
        aa.list_tags_for_resource(resourceArn=missing)
    assert code(exc) == "ResourceNotFoundException"


def test_reference_story_role_trusted_by_another_account(account: Account, aa: Any) -> None:
    iam = account.client("iam")
    role_arn = iam.create_role(
        RoleName="DynamoDBExportRole", AssumeRolePolicyDocument=trust({"AWS": f"arn:aws:iam::{OTHER}:root"})
    )["Role"]["Arn"]
    arn = _analyzer(aa)
    (finding,) = _findings(aa, arn)
    assert finding["resource"] == role_arn
    assert finding["resourceType"] == "AWS::IAM::Role"
    assert finding["principal"] == {"AWS": f"arn:aws:iam::{OTHER}:root"}
    assert finding["action"] == ["sts:AssumeRole"]
    assert (finding["isPublic"], finding["status"], finding["condition"]) == (False, "ACTIVE", {})
    assert finding["resourceOwnerAccount"] == account.account_id
    got = aa.get_finding(analyzerArn=arn, id=finding["id"])["finding"]
    assert got["principal"] == finding["principal"] and got["id"] == finding["id"]
    v2 = aa.get_finding_v2(analyzerArn=arn, id=finding["id"])
    assert v2["findingType"] == "ExternalAccess"
    assert v2["findingDetails"] == [
        {
            "externalAccessDetails": {
                "action": ["sts:AssumeRole"],
                "condition": {},
                "isPublic": False,
                "principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
                "sources": [{"type": "POLICY"}],
            }
        }
    ]
    (summary,) = aa.list_findings_v2(analyzerArn=arn)["findings"]
    assert (summary["id"], summary["findingType"], summary["resource"]) == (
        finding["id"],
        "ExternalAccess",
        role_arn,
    )
    # the trust policy changes: the access goes, the finding is resolved; it comes back, active again
    iam.update_assume_role_policy(
        RoleName="DynamoDBExportRole",
        PolicyDocument=trust({"AWS": f"arn:aws:iam::{account.account_id}:root"}),
    )
    (resolved,) = _findings(aa, arn)
    assert (resolved["id"], resolved["status"]) == (finding["id"], "RESOLVED")
    iam.update_assume_role_policy(
        RoleName="DynamoDBExportRole", PolicyDocument=trust({"AWS": f"arn:aws:iam::{OTHER}:root"})
    )
    (again,) = _findings(aa, arn)
    assert (again["id"], again["status"]) == (finding["id"], "ACTIVE")
    assert again["createdAt"] == finding["createdAt"]


def test_who_gets_what_in_trust_policies(account: Account, aa: Any) -> None:
    iam = account.client("iam")
    provider = iam.create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com",
        ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=["a" * 40],
    )["OpenIDConnectProviderArn"]
    roles = {
        "Public": trust("*"),
        "Federated": trust({"Federated": provider}, "sts:AssumeRoleWithWebIdentity"),
        "Service": trust({"Service": "ec2.amazonaws.com"}),
        "Own": trust({"AWS": account.account_id}),
        "Conditional": trust({"AWS": OTHER}, Condition={"StringEquals": {"sts:ExternalId": "secret-id"}}),
        "OwnAccountOnly": trust(
            "*", Condition={"StringEquals": {"aws:PrincipalAccount": account.account_id}}
        ),
    }
    for name, document in roles.items():
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=document)
    denied = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "sts:AssumeRole"},
            {"Effect": "Deny", "Principal": {"AWS": OTHER}, "Action": "sts:*"},
        ],
    }
    iam.create_role(RoleName="Denied", AssumeRolePolicyDocument=json.dumps(denied))
    arn = _analyzer(aa)
    found = {f["resource"].rsplit("/", 1)[1]: f for f in _findings(aa, arn)}
    assert sorted(found) == ["Conditional", "Federated", "Public"]
    assert found["Public"]["isPublic"] is True and found["Public"]["principal"] == {"AWS": "*"}
    assert found["Federated"]["principal"] == {"Federated": provider}
    assert found["Federated"]["action"] == ["sts:AssumeRoleWithWebIdentity"]
    assert found["Conditional"]["condition"] == {"sts:ExternalId": "secret-id"}
    assert found["Conditional"]["principal"] == {"AWS": OTHER}
    public = _findings(aa, arn, isPublic={"eq": ["true"]})
    assert [f["resource"].rsplit("/", 1)[1] for f in public] == ["Public"]
    stats = aa.get_findings_statistics(analyzerArn=arn)["findingsStatistics"][0][
        "externalAccessFindingsStatistics"
    ]
    assert stats["totalActiveFindings"] == 3
    assert stats["resourceTypeStatistics"]["AWS::IAM::Role"] == {
        "totalActivePublic": 1,
        "totalActiveCrossAccount": 2,
        "totalActiveErrors": 0,
    }


def test_bucket_policies_the_gateway_holds(server: Server, account: Account, aa: Any) -> None:
    bucket = f"findings-{account.account_id}"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}/*"],
            },
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            },
            {"Effect": "Allow", "Principal": {"AWS": account.account_id}, "Action": "s3:*", "Resource": "*"},
        ],
    }
    _set_bucket_policy(server, bucket, account.account_id, json.dumps(policy))
    arn = _analyzer(aa)
    found = {
        json.dumps(f["principal"]): f for f in _findings(aa, arn, resourceType={"eq": ["AWS::S3::Bucket"]})
    }
    assert set(found) == {json.dumps({"AWS": f"arn:aws:iam::{OTHER}:root"}), json.dumps({"AWS": "*"})}
    cross = found[json.dumps({"AWS": f"arn:aws:iam::{OTHER}:root"})]
    assert cross["resource"] == f"arn:aws:s3:::{bucket}"
    assert cross["action"] == ["s3:GetObject", "s3:ListBucket"] and cross["isPublic"] is False
    assert found[json.dumps({"AWS": "*"})]["isPublic"] is True
    _set_bucket_policy(server, bucket, account.account_id, None)
    assert {f["status"] for f in _findings(aa, arn)} == {"RESOLVED"}


def _set_bucket_policy(server: Server, bucket: str, owner: str, text: str | None) -> None:
    """The bucket's policy as the gateway stores it on PutBucketPolicy (and drops on DeleteBucketPolicy)."""
    db = Database(server.database_url, pool=False)
    try:
        with db.transaction() as conn:
            resources.set_policy(conn, "s3", "", bucket, text, default_owner=owner, now=datetime.now(UTC))
    finally:
        db.dispose()


def test_update_findings_and_archive_rules(account: Account, aa: Any) -> None:
    iam = account.client("iam")
    iam.create_role(RoleName="A", AssumeRolePolicyDocument=trust({"AWS": OTHER}))
    arn = _analyzer(aa)
    (first,) = _findings(aa, arn)
    aa.update_findings(analyzerArn=arn, status="ARCHIVED", ids=[first["id"]])
    assert _findings(aa, arn)[0]["status"] == "ARCHIVED"
    assert _findings(aa, arn, status={"eq": ["ACTIVE"]}) == []
    aa.update_findings(analyzerArn=arn, status="ACTIVE", resourceArn=first["resource"])
    assert _findings(aa, arn)[0]["status"] == "ACTIVE"
    with pytest.raises(ClientError) as exc:
        aa.update_findings(analyzerArn=arn, status="ARCHIVED", ids=["00000000-0000-0000-0000-000000000000"])
    assert code(exc) == "ResourceNotFoundException"
    # a rule archives the new findings it matches; ApplyArchiveRule the active ones it matches
    aa.create_archive_rule(
        analyzerName="external", ruleName="trusted", filter={"principal.AWS": {"eq": [OTHER]}}
    )
    iam.create_role(RoleName="B", AssumeRolePolicyDocument=trust({"AWS": OTHER}))
    iam.create_role(RoleName="C", AssumeRolePolicyDocument=trust("*"))
    status = {f["resource"].rsplit("/", 1)[1]: f["status"] for f in _findings(aa, arn)}
    assert status == {"A": "ACTIVE", "B": "ARCHIVED", "C": "ACTIVE"}
    aa.apply_archive_rule(analyzerArn=arn, ruleName="trusted")
    status = {f["resource"].rsplit("/", 1)[1]: f["status"] for f in _findings(aa, arn)}
    assert status == {"A": "ARCHIVED", "B": "ARCHIVED", "C": "ACTIVE"}
    rule = aa.get_archive_rule(analyzerName="external", ruleName="trusted")["archiveRule"]
    assert rule["filter"] == {"principal.AWS": {"eq": [OTHER]}}
    aa.update_archive_rule(analyzerName="external", ruleName="trusted", filter={"isPublic": {"eq": ["true"]}})
    assert aa.list_archive_rules(analyzerName="external")["archiveRules"][0]["filter"] == {
        "isPublic": {"eq": ["true"]}
    }
    with pytest.raises(ClientError) as exc:
        aa.create_archive_rule(
            analyzerName="external", ruleName="trusted", filter={"status": {"eq": ["ACTIVE"]}}
        )
    assert code(exc) == "ConflictException"
    aa.delete_archive_rule(analyzerName="external", ruleName="trusted")
    with pytest.raises(ClientError) as exc:
        aa.get_archive_rule(analyzerName="external", ruleName="trusted")
    assert code(exc) == "ResourceNotFoundException"


@pytest.mark.parametrize(
    "criteria",
    [
        {"nosuchkey": {"eq": ["x"]}},
        {"status": {"eq": []}},
        {"status": {"eq": [f"v{i}" for i in range(21)]}},
        {"status": {"eq": "ACTIVE"}},
        {"status": {"exists": "yes"}},
        {"status": {"regex": [".*"]}},
        {"status": {}},
        {"status": {"eq": ["x" * 5000]}},
        {"condition.": {"eq": ["x"]}},
        {"' OR 1=1 --": {"eq": ["x"]}},
        {f"condition.k{i}": {"exists": True} for i in range(51)},
        {"status": {"eq": [7]}},
        {"status": {"eq": [None]}},
        {"status": ["eq"]},
        {"status": {"eq": [["nested"]]}},
    ],
)
def test_hostile_filters_are_refused_and_change_nothing(account: Account, criteria: dict[str, Any]) -> None:
    aa = account.client("accessanalyzer")
    arn = _analyzer(aa)
    answer = _raw(account, "PUT", "/analyzer/external/archive-rule", {"ruleName": "r", "filter": criteria})
    assert (answer.status, json.loads(answer.data)["__type"]) == (400, "ValidationException")
    assert aa.list_archive_rules(analyzerName="external")["archiveRules"] == []
    answer = _raw(account, "POST", "/finding", {"analyzerArn": arn, "filter": criteria})
    assert (answer.status, json.loads(answer.data)["__type"]) == (400, "ValidationException")


def _raw(account: Account, method: str, path: str, body: Any) -> Any:
    """A request signed for access-analyzer with any JSON body, past boto3's own validation."""
    url = account.server.endpoint + path
    data = json.dumps(body).encode()
    request = AWSRequest(method, url, data=data, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(account.key_id, account.secret), "access-analyzer", "us-east-1").add_auth(request)
    return urllib3.request(method, url, body=data, headers=dict(request.headers))


def _unchecked(account: Account) -> Any:
    """A client that sends what it is given (botocore checks some constraints before sending)."""
    return account.server.client("accessanalyzer", account.key_id, account.secret, parameter_validation=False)


def test_filter_values_are_data_not_queries(account: Account, aa: Any) -> None:
    account.client("iam").create_role(RoleName="Q", AssumeRolePolicyDocument=trust({"AWS": OTHER}))
    arn = _analyzer(aa)
    assert _findings(aa, arn, resource={"contains": ["%"]}) == []
    assert _findings(aa, arn, resource={"eq": ["' OR '1'='1"]}) == []
    assert len(_findings(aa, arn, resource={"contains": ["role/Q"]})) == 1
    assert len(_findings(aa, arn, error={"exists": False})) == 1


def test_another_accounts_analyzers_and_findings_are_never_visible(
    server: Server, account: Account, aa: Any
) -> None:
    account.client("iam").create_role(RoleName="Mine", AssumeRolePolicyDocument=trust({"AWS": OTHER}))
    arn = _analyzer(aa)
    (finding,) = _findings(aa, arn)
    other = new_account(server)
    theirs = other.client("accessanalyzer")
    assert theirs.list_analyzers()["analyzers"] == []
    for call in (
        lambda: theirs.list_findings(analyzerArn=arn),
        lambda: theirs.get_finding(analyzerArn=arn, id=finding["id"]),
        lambda: theirs.update_findings(analyzerArn=arn, status="ARCHIVED", ids=[finding["id"]]),
        lambda: theirs.list_tags_for_resource(resourceArn=arn),
        lambda: theirs.apply_archive_rule(analyzerArn=arn, ruleName="r"),
        lambda: theirs.get_findings_statistics(analyzerArn=arn),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert code(exc) == "ResourceNotFoundException"
    their_arn = _analyzer(theirs)
    with pytest.raises(ClientError) as exc:
        theirs.get_finding(analyzerArn=their_arn, id=finding["id"])
    assert code(exc) == "ResourceNotFoundException"
    assert _findings(theirs, their_arn) == []
    assert _findings(aa, arn)[0]["status"] == "ACTIVE"
    with pytest.raises(ClientError) as exc:  # another region's analyzer of the same account
        aa.list_findings(analyzerArn=arn.replace("us-east-1", "eu-west-1"))
    assert code(exc) == "ResourceNotFoundException"


def test_paging_findings(account: Account, aa: Any) -> None:
    iam = account.client("iam")
    for i in range(5):
        iam.create_role(RoleName=f"R{i}", AssumeRolePolicyDocument=trust({"AWS": OTHER}))
    arn = _analyzer(aa)
    seen, token = [], None
    while True:
        page = aa.list_findings(analyzerArn=arn, maxResults=2, **({"nextToken": token} if token else {}))
        seen += [f["id"] for f in page["findings"]]
        token = page.get("nextToken")
        if not token:
            break
    assert len(seen) == len(set(seen)) == 5
    with pytest.raises(ClientError) as exc:
        aa.list_findings(analyzerArn=arn, nextToken="2:forged")
    assert code(exc) == "ValidationException"


def test_the_engine_decides_who_may_read_findings(account: Account, aa: Any) -> None:
    arn = _analyzer(aa)
    iam = account.client("iam")
    iam.create_user(UserName="reader")
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    reader = account.client(
        "accessanalyzer", access_key_id=key["AccessKeyId"], secret_access_key=key["SecretAccessKey"]
    )
    with pytest.raises(ClientError) as exc:
        reader.list_findings(analyzerArn=arn)
    assert code(exc) == "AccessDeniedException"
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "access-analyzer:ListFindings", "Resource": arn}],
    }
    iam.put_user_policy(UserName="reader", PolicyName="p", PolicyDocument=json.dumps(policy))
    assert reader.list_findings(analyzerArn=arn)["findings"] == []
    assert reader.list_findings_v2(analyzerArn=arn)["findings"] == []  # authorized as ListFindings
    with pytest.raises(ClientError) as exc:
        reader.get_finding_v2(analyzerArn=arn, id="00000000-0000-0000-0000-000000000000")
    assert code(exc) == "AccessDeniedException"
    assert "access-analyzer:GetFinding " in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        reader.delete_analyzer(analyzerName="external")
    assert code(exc) == "AccessDeniedException"
    assert aa.get_analyzer(analyzerName="external")["analyzer"]["status"] == "ACTIVE"


def test_concurrent_first_reads_record_each_finding_once(account: Account, aa: Any) -> None:
    iam = account.client("iam")
    for i in range(3):
        iam.create_role(RoleName=f"C{i}", AssumeRolePolicyDocument=trust({"AWS": OTHER}))
    arn = _analyzer(aa)
    clients = [account.client("accessanalyzer") for _ in range(6)]
    with ThreadPoolExecutor(len(clients)) as pool:
        answers = list(pool.map(lambda c: sorted(f["id"] for f in _findings(c, arn)), clients))
    assert all(len(a) == 3 for a in answers) and all(a == answers[0] for a in answers)
    first = {f["id"]: f["createdAt"] for f in _findings(aa, arn)}
    time.sleep(0.01)
    assert {f["id"]: f["createdAt"] for f in _findings(aa, arn)} == first  # recorded once, not re-created


def test_oversized_lists_are_refused(account: Account, aa: Any) -> None:
    account.client("iam").create_role(RoleName="Big", AssumeRolePolicyDocument=trust({"AWS": OTHER}))
    arn = _analyzer(aa)
    (finding,) = _findings(aa, arn)
    with pytest.raises(ClientError) as exc:
        aa.update_findings(analyzerArn=arn, status="ARCHIVED", ids=[finding["id"]] * 1001)
    assert code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        aa.untag_resource(resourceArn=arn, tagKeys=[f"k{i}" for i in range(51)])
    assert code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        aa.create_analyzer(
            analyzerName="many", type="ACCOUNT_UNUSED_ACCESS", tags={f"k{i}": "v" for i in range(51)}
        )
    assert code(exc) == "ValidationException"
    assert [a["name"] for a in aa.list_analyzers()["analyzers"]] == ["external"]
    assert _findings(aa, arn)[0]["status"] == "ACTIVE"


def test_a_retried_create_answers_as_the_first(account: Account, aa: Any) -> None:
    first = aa.create_analyzer(analyzerName="once", type="ACCOUNT", clientToken="token-1")["arn"]
    assert aa.create_analyzer(analyzerName="once", type="ACCOUNT", clientToken="token-1")["arn"] == first
    with pytest.raises(ClientError) as exc:
        aa.create_analyzer(analyzerName="once", type="ACCOUNT", clientToken="token-2")
    assert code(exc) == "ConflictException"
    aa.create_archive_rule(
        analyzerName="once", ruleName="r", filter={"isPublic": {"eq": ["true"]}}, clientToken="t"
    )
    aa.create_archive_rule(
        analyzerName="once", ruleName="r", filter={"isPublic": {"eq": ["true"]}}, clientToken="t"
    )
    with pytest.raises(ClientError) as exc:
        aa.create_archive_rule(analyzerName="once", ruleName="r", filter={"isPublic": {"eq": ["true"]}})
    assert code(exc) == "ConflictException"
    assert len(aa.list_archive_rules(analyzerName="once")["archiveRules"]) == 1


def test_archive_rules_given_at_creation_archive_new_findings(account: Account, aa: Any) -> None:
    iam = account.client("iam")
    iam.create_role(RoleName="Partner", AssumeRolePolicyDocument=trust({"AWS": OTHER}))
    iam.create_role(RoleName="World", AssumeRolePolicyDocument=trust("*"))
    rules = [{"ruleName": "partner", "filter": {"principal.AWS": {"eq": [OTHER]}}}]
    arn = aa.create_analyzer(analyzerName="external", type="ACCOUNT", archiveRules=rules)["arn"]
    status = {f["resource"].rsplit("/", 1)[1]: f["status"] for f in _findings(aa, arn)}
    assert status == {"Partner": "ARCHIVED", "World": "ACTIVE"}
    assert (
        aa.get_archive_rule(analyzerName="external", ruleName="partner")["archiveRule"]["filter"]
        == (rules[0]["filter"])
    )
    with pytest.raises(ClientError) as exc:
        aa.create_analyzer(analyzerName="dup", type="ACCOUNT_UNUSED_ACCESS", archiveRules=rules)
    assert code(exc) == "ValidationException"  # principal.AWS is no key of unused-access findings
    twice = [{"ruleName": "same", "filter": {"status": {"eq": ["ACTIVE"]}}}] * 2
    with pytest.raises(ClientError) as exc:
        aa.create_analyzer(analyzerName="dup", type="ACCOUNT_UNUSED_ACCESS", archiveRules=twice)
    assert code(exc) == "ConflictException"
    assert [a["name"] for a in aa.list_analyzers()["analyzers"]] == ["external"]


def test_analyzers_are_per_region(account: Account, aa: Any) -> None:
    eu = boto3.client(
        "accessanalyzer",
        endpoint_url=account.server.endpoint,
        region_name="eu-west-1",
        aws_access_key_id=account.key_id,
        aws_secret_access_key=account.secret,
    )
    us_arn = _analyzer(aa)
    eu_arn = eu.create_analyzer(analyzerName="external", type="ACCOUNT")["arn"]
    assert eu_arn == f"arn:aws:access-analyzer:eu-west-1:{account.account_id}:analyzer/external"
    assert [a["arn"] for a in eu.list_analyzers()["analyzers"]] == [eu_arn]
    assert [a["arn"] for a in aa.list_analyzers()["analyzers"]] == [us_arn]
    with pytest.raises(ClientError) as exc:
        eu.list_findings(analyzerArn=us_arn)
    assert code(exc) == "ResourceNotFoundException"
    eu.delete_analyzer(analyzerName="external")
    assert aa.get_analyzer(analyzerName="external")["analyzer"]["arn"] == us_arn


def test_sorting(account: Account, aa: Any) -> None:
    iam = account.client("iam")
    for name in ("b", "a", "c"):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust({"AWS": OTHER}))
    arn = _analyzer(aa)
    for order, expected in (("ASC", ["a", "b", "c"]), ("DESC", ["c", "b", "a"])):
        page = aa.list_findings_v2(analyzerArn=arn, sort={"attributeName": "resource", "orderBy": order})
        assert [f["resource"].rsplit("/", 1)[1] for f in page["findings"]] == expected
    with pytest.raises(ClientError) as exc:
        aa.list_findings(analyzerArn=arn, sort={"attributeName": "principal", "orderBy": "ASC"})
    assert code(exc) == "ValidationException"


def test_a_deleted_analyzer_takes_its_findings_and_rules(account: Account, aa: Any) -> None:
    account.client("iam").create_role(RoleName="D", AssumeRolePolicyDocument=trust({"AWS": OTHER}))
    arn = _analyzer(aa)
    (finding,) = _findings(aa, arn)
    aa.update_findings(analyzerArn=arn, status="ARCHIVED", ids=[finding["id"]])
    aa.create_archive_rule(analyzerName="external", ruleName="all", filter={"status": {"exists": True}})
    aa.tag_resource(resourceArn=arn, tags={"k": "v"})
    aa.delete_analyzer(analyzerName="external")
    with pytest.raises(ClientError) as exc:
        aa.get_finding(analyzerArn=arn, id=finding["id"])
    assert code(exc) == "ResourceNotFoundException"
    assert _analyzer(aa) == arn
    (again,) = _findings(aa, arn)
    assert again["status"] == "ACTIVE" and again["createdAt"] > finding["createdAt"]
    assert aa.list_archive_rules(analyzerName="external")["archiveRules"] == []
    assert aa.list_tags_for_resource(resourceArn=arn)["tags"] == {}


def test_archive_rules_quota(aa: Any) -> None:
    _analyzer(aa)
    for i in range(100):
        aa.create_archive_rule(analyzerName="external", ruleName=f"r{i:03}", filter={"id": {"eq": [str(i)]}})
    with pytest.raises(ClientError) as exc:
        aa.create_archive_rule(analyzerName="external", ruleName="r100", filter={"id": {"eq": ["x"]}})
    assert code(exc) == "ServiceQuotaExceededException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 402
    first = aa.list_archive_rules(analyzerName="external", maxResults=60)
    rest = aa.list_archive_rules(analyzerName="external", nextToken=first["nextToken"])
    names = [r["ruleName"] for r in first["archiveRules"] + rest["archiveRules"]]
    assert names == [f"r{i:03}" for i in range(100)] and "nextToken" not in rest
