"""The engine benchmark's shared workload: one user's policies, seeded requests, and filler statements.

Everything is deterministic for a given seed, so every engine sees the same documents and requests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "123456789012"
USER = "alice"
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/{USER}"
USER_ID = "AIDAEXAMPLEALICE0001"
TAGS = {"team": "blue", "dept": "eng"}
V = "2012-10-17"
INTERNAL_NETS = ["10.0.0.0/8", "192.168.0.0/16"]

# Services the workload's own requests never use: filler statements go there, so that a request can
# match only the workload's statements, however many fillers there are.
FILLER_SERVICES = (
    "glue athena redshift sagemaker elasticbeanstalk cloudformation codebuild codecommit codedeploy "
    "codepipeline ecr ecs eks route53 apigateway states kinesis firehose elasticache rds backup batch "
    "cloudtrail config cognito-idp datasync dms ds elasticfilesystem elasticmapreduce es events fsx "
    "guardduty inspector iot kafka lightsail mq quicksight ram servicecatalog ses shield storagegateway "
    "swf transfer xray workspaces"
).split()
FILLER_VERBS = ("Describe*", "Get*", "List*", "Create*", "Delete*", "Update*", "Tag*", "Untag*", "Put*")


@dataclass
class Workload:
    """Policies (name, document) per statement count, and the requests every engine evaluates."""

    seed: int
    principal: dict[str, Any]
    policies: dict[int, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    grow: str = "services"

    @property
    def base_size(self) -> int:
        """The statement count of the workload without fillers."""
        return min(self.policies)


def _stmt(
    effect: str,
    actions: Any,
    resources: Any,
    condition: dict | None = None,
    *,
    sid: str = "",
    not_action: bool = False,
    not_resource: bool = False,
) -> dict[str, Any]:
    """One statement document."""
    doc: dict[str, Any] = {"Effect": effect}
    if sid:
        doc["Sid"] = sid
    doc["NotAction" if not_action else "Action"] = actions
    doc["NotResource" if not_resource else "Resource"] = resources
    if condition:
        doc["Condition"] = condition
    return doc


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    """A 2012-10-17 policy document."""
    return {"Version": V, "Statement": list(statements)}


def base_policies() -> list[tuple[str, dict[str, Any]]]:
    """Ten policies, 60 statements: wildcards, Deny, NotAction, tags, source IP, MFA, ${aws:username}."""
    a = ACCOUNT
    mfa_true = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    mfa_false = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
    internal = {"IpAddress": {"aws:SourceIp": INTERNAL_NETS}}
    team = {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}
    eng = {"StringEquals": {"aws:PrincipalTag/dept": "eng"}}
    home = "arn:aws:s3:::corp-home"
    return [
        (
            "S3Home",
            _policy(
                _stmt(
                    "Allow",
                    "s3:ListBucket",
                    home,
                    {"StringLike": {"s3:prefix": ["${aws:username}/*", "${aws:username}"]}},
                    sid="ListOwnPrefix",
                ),
                _stmt(
                    "Allow", ["s3:GetObject", "s3:PutObject"], f"{home}/${{aws:username}}/*", sid="OwnObjects"
                ),
                _stmt(
                    "Allow", "s3:DeleteObject", f"{home}/${{aws:username}}/*", mfa_true, sid="DeleteWithMfa"
                ),
                _stmt("Deny", "s3:DeleteObject", f"{home}/${{aws:username}}/archive/*", sid="KeepArchive"),
                _stmt("Allow", "s3:Get*", "arn:aws:s3:::corp-shared/*", internal, sid="SharedFromOffice"),
                _stmt("Allow", "s3:ListAllMyBuckets", "*", sid="ListBuckets"),
            ),
        ),
        (
            "ReadOnly",
            _policy(
                *[
                    _stmt("Allow", [f"{svc}:Describe*", f"{svc}:List*", f"{svc}:Get*"], "*", sid=f"Read{i}")
                    for i, svc in enumerate(["ec2", "dynamodb", "sqs", "sns", "logs", "cloudwatch"])
                ]
            ),
        ),
        (
            "TeamEc2",
            _policy(
                _stmt(
                    "Allow",
                    ["ec2:StartInstances", "ec2:StopInstances", "ec2:RebootInstances"],
                    f"arn:aws:ec2:*:{a}:instance/*",
                    team,
                    sid="OwnTeamInstances",
                ),
                _stmt(
                    "Allow",
                    "ec2:TerminateInstances",
                    f"arn:aws:ec2:*:{a}:instance/*",
                    {**team, **mfa_true},
                    sid="TerminateWithMfa",
                ),
                _stmt(
                    "Deny",
                    "ec2:*",
                    f"arn:aws:ec2:*:{a}:instance/*",
                    {"StringEquals": {"aws:ResourceTag/env": "prod"}},
                    sid="NoProd",
                ),
                _stmt("Allow", "ec2:CreateTags", f"arn:aws:ec2:*:{a}:instance/*", team, sid="TagOwn"),
                _stmt("Deny", "ec2:DeleteTags", "*", sid="NoUntag"),
                _stmt("Allow", "ec2:RunInstances", "*", {**eng, **internal}, sid="Launch"),
            ),
        ),
        (
            "TeamData",
            _policy(
                _stmt(
                    "Allow",
                    ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"],
                    f"arn:aws:dynamodb:*:{a}:table/app-${{aws:PrincipalTag/team}}-*",
                    sid="TeamTables",
                ),
                _stmt("Allow", "dynamodb:*", f"arn:aws:dynamodb:*:{a}:table/sandbox-*", eng, sid="Sandbox"),
                _stmt("Deny", "dynamodb:DeleteTable", "*", sid="NoDropTable"),
                _stmt(
                    "Allow",
                    "dynamodb:BatchGet*",
                    f"arn:aws:dynamodb:*:{a}:table/shared-*",
                    internal,
                    sid="Shared",
                ),
                _stmt(
                    "Allow", "dynamodb:Scan", f"arn:aws:dynamodb:*:{a}:table/app-*", team, sid="ScanTagged"
                ),
                _stmt(
                    "Deny",
                    "dynamodb:PutItem",
                    f"arn:aws:dynamodb:*:{a}:table/app-*-audit",
                    sid="AuditAppendOnly",
                ),
            ),
        ),
        (
            "Functions",
            _policy(
                _stmt(
                    "Allow",
                    "lambda:InvokeFunction",
                    f"arn:aws:lambda:*:{a}:function:team-${{aws:PrincipalTag/team}}-*",
                    sid="InvokeTeam",
                ),
                _stmt("Allow", ["lambda:GetFunction", "lambda:ListFunctions"], "*", sid="ReadFunctions"),
                _stmt(
                    "Allow",
                    "lambda:UpdateFunctionCode",
                    f"arn:aws:lambda:*:{a}:function:team-*",
                    {**team, **mfa_true},
                    sid="DeployTeam",
                ),
                _stmt("Deny", "lambda:DeleteFunction", "*", sid="NoDelete"),
                _stmt("Allow", "logs:*", f"arn:aws:logs:*:{a}:log-group:/aws/lambda/team-*", sid="Logs"),
                _stmt(
                    "Allow", "lambda:Invoke*", f"arn:aws:lambda:*:{a}:function:public-*", sid="InvokePublic"
                ),
            ),
        ),
        (
            "Secrets",
            _policy(
                _stmt(
                    "Allow",
                    "secretsmanager:GetSecretValue",
                    f"arn:aws:secretsmanager:*:{a}:secret:${{aws:username}}/*",
                    sid="OwnSecrets",
                ),
                _stmt(
                    "Allow",
                    "secretsmanager:GetSecretValue",
                    f"arn:aws:secretsmanager:*:{a}:secret:shared/*",
                    {**internal, **mfa_true},
                    sid="SharedSecrets",
                ),
                _stmt("Allow", ["secretsmanager:Describe*", "secretsmanager:List*"], "*", sid="ListSecrets"),
                _stmt(
                    "Deny",
                    "secretsmanager:*",
                    f"arn:aws:secretsmanager:*:{a}:secret:prod/*",
                    sid="NoProdSecrets",
                ),
                _stmt(
                    "Allow",
                    "ssm:GetParameter*",
                    f"arn:aws:ssm:*:{a}:parameter/eng/*",
                    eng,
                    sid="EngParameters",
                ),
                _stmt("Deny", "ssm:DeleteParameter*", "*", sid="NoParameterDeletion"),
            ),
        ),
        (
            "SelfService",
            _policy(
                _stmt(
                    "Allow",
                    ["iam:GetUser", "iam:ChangePassword"],
                    f"arn:aws:iam::{a}:user/${{aws:username}}",
                    sid="OwnUser",
                ),
                _stmt(
                    "Allow",
                    ["iam:*AccessKey*", "iam:*SSHPublicKey*"],
                    f"arn:aws:iam::{a}:user/${{aws:username}}",
                    sid="OwnKeys",
                ),
                _stmt(
                    "Allow",
                    ["iam:CreateVirtualMFADevice", "iam:EnableMFADevice"],
                    [f"arn:aws:iam::{a}:mfa/${{aws:username}}", f"arn:aws:iam::{a}:user/${{aws:username}}"],
                    sid="OwnMfa",
                ),
                _stmt("Deny", "iam:DeactivateMFADevice", "*", mfa_false, sid="KeepMfa"),
                _stmt("Allow", ["iam:ListUsers", "iam:ListVirtualMFADevices"], "*", sid="ListIam"),
                _stmt(
                    "Deny",
                    "iam:*AccessKey*",
                    f"arn:aws:iam::{a}:user/${{aws:username}}",
                    mfa_false,
                    sid="NoKeysWithoutMfa",
                ),
            ),
        ),
        (
            "Queues",
            _policy(
                _stmt(
                    "Allow",
                    ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"],
                    f"arn:aws:sqs:*:{a}:${{aws:PrincipalTag/team}}-*",
                    sid="TeamQueues",
                ),
                _stmt("Allow", "sns:Publish", f"arn:aws:sns:*:{a}:alerts-*", internal, sid="Alerts"),
                _stmt("Deny", "sqs:PurgeQueue", "*", sid="NoPurge"),
                _stmt("Allow", "sqs:*", f"arn:aws:sqs:*:{a}:sandbox-*", eng, sid="SandboxQueues"),
                _stmt(
                    "Allow",
                    "sns:Subscribe",
                    f"arn:aws:sns:*:{a}:${{aws:PrincipalTag/team}}-*",
                    sid="Subscribe",
                ),
                _stmt("Deny", "sns:DeleteTopic", "*", sid="NoTopicDelete"),
            ),
        ),
        (
            "PowerUser",
            _policy(
                _stmt(
                    "Allow",
                    ["iam:*", "organizations:*", "account:*"],
                    "*",
                    {"StringEquals": {"aws:PrincipalTag/dept": "platform"}},
                    sid="PlatformPowerUser",
                    not_action=True,
                ),
                _stmt("Allow", "cloudwatch:PutMetricData", "*", internal, sid="Metrics"),
                _stmt(
                    "Allow", "s3:*", "arn:aws:s3:::corp-scratch-${aws:PrincipalTag/team}/*", sid="TeamScratch"
                ),
                _stmt(
                    "Allow",
                    "s3:PutObject",
                    "arn:aws:s3:::corp-drop/*",
                    {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
                    sid="Drop",
                ),
                _stmt("Deny", "s3:PutBucketPolicy", "*", sid="NoBucketPolicy"),
                _stmt(
                    "Allow",
                    "ec2:Describe*",
                    "*",
                    {"StringLike": {"aws:PrincipalTag/team": "*"}},
                    sid="Tagged",
                ),
            ),
        ),
        (
            "Guardrails",
            _policy(
                _stmt(
                    "Deny",
                    ["iam:ChangePassword", "iam:GetUser", "sts:GetCallerIdentity"],
                    "*",
                    {"NotIpAddress": {"aws:SourceIp": INTERNAL_NETS}},
                    sid="OfficeOnly",
                    not_action=True,
                ),
                _stmt(
                    "Deny",
                    ["ec2:TerminateInstances", "s3:DeleteObject", "dynamodb:Delete*", "lambda:Update*"],
                    "*",
                    mfa_false,
                    sid="MfaForDestructive",
                ),
                _stmt(
                    "Deny",
                    "s3:*",
                    [
                        "arn:aws:s3:::corp-home",
                        "arn:aws:s3:::corp-home/${aws:username}/*",
                        "arn:aws:s3:::corp-shared/*",
                        "arn:aws:s3:::corp-scratch-*",
                        "arn:aws:s3:::corp-drop/*",
                    ],
                    {"StringEquals": {"aws:PrincipalTag/team": "blue"}},
                    sid="OnlyCorpBuckets",
                    not_resource=True,
                ),
                _stmt(
                    "Deny",
                    "*",
                    "*",
                    {"StringEquals": {"aws:PrincipalTag/suspended": "true"}},
                    sid="Suspended",
                ),
                _stmt(
                    "Deny",
                    "ec2:RunInstances",
                    "*",
                    {"Bool": {"aws:MultiFactorAuthPresent": "false"}},
                    sid="RunMfa",
                ),
                _stmt(
                    "Deny",
                    "ssm:GetParameter*",
                    "*",
                    {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
                    sid="ParametersFromOffice",
                ),
            ),
        ),
    ]


def filler_statements(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """Statements on services the requests never call: they only cost a scanning engine time."""
    out = []
    for i in range(count):
        svc = FILLER_SERVICES[i % len(FILLER_SERVICES)]
        verbs = rng.sample(FILLER_VERBS, rng.randint(1, 3))
        resource = f"arn:aws:{svc}:us-west-2:{ACCOUNT}:filler/{i}-*"
        roll = rng.random()
        condition = None
        if roll < 0.2:
            condition = {"StringEquals": {"aws:PrincipalTag/team": rng.choice(["blue", "red", "green"])}}
        elif roll < 0.3:
            condition = {"IpAddress": {"aws:SourceIp": rng.choice(INTERNAL_NETS)}}
        elif roll < 0.35:
            condition = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
        effect = "Deny" if rng.random() < 0.1 else "Allow"
        out.append(_stmt(effect, [f"{svc}:{v}" for v in verbs], resource, condition, sid=f"Filler{i}"))
    return out


# Shared-action fillers: the requests' own actions on resources no request names (many buckets, many
# prefixes, tables, functions, instances, queues), each with its own resource and often a condition.
_SHARED: tuple[tuple[tuple[str, ...], str], ...] = (
    (("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:Get*"), "arn:aws:s3:::tenant-{i:05d}/*"),
    (("s3:GetObject", "s3:PutObject", "s3:GetObjectTagging"), "arn:aws:s3:::corp-home/project-{i}/*"),
    (("s3:GetObject", "s3:GetObjectAcl", "s3:Put*"), "arn:aws:s3:::corp-shared/dept-{i}/reports/*"),
    (("s3:GetObject", "s3:PutObject"), "arn:aws:s3:::tenant-{i:05d}/${{aws:username}}/*"),
    (("s3:ListBucket",), "arn:aws:s3:::tenant-{i:05d}"),
    (
        ("ec2:StartInstances", "ec2:StopInstances", "ec2:TerminateInstances", "ec2:RebootInstances"),
        "arn:aws:ec2:{region}:{account}:instance/i-0{i:016x}",
    ),
    (
        ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"),
        "arn:aws:dynamodb:{region}:{account}:table/svc-{i}",
    ),
    (("dynamodb:Query", "dynamodb:Scan"), "arn:aws:dynamodb:{region}:{account}:table/svc-{i}/index/*"),
    (("lambda:InvokeFunction", "lambda:GetFunction"), "arn:aws:lambda:{region}:{account}:function:fn-{i}"),
    (("secretsmanager:GetSecretValue",), "arn:aws:secretsmanager:{region}:{account}:secret:svc/{i}-*"),
    (("ssm:GetParameter", "ssm:GetParameters"), "arn:aws:ssm:{region}:{account}:parameter/svc/{i}/*"),
    (("sqs:SendMessage", "sqs:ReceiveMessage"), "arn:aws:sqs:{region}:{account}:q-{i}"),
    (("logs:PutLogEvents", "logs:CreateLogStream"), "arn:aws:logs:{region}:{account}:log-group:/svc/{i}:*"),
    # any region: the literal text starts after the region's `*`
    (("dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"), "arn:aws:dynamodb:*:{account}:table/reg-{i}"),
    (("lambda:InvokeFunction", "lambda:UpdateFunctionCode"), "arn:aws:lambda:*:{account}:function:reg-{i}"),
    (("ec2:StartInstances", "ec2:StopInstances"), "arn:aws:ec2:*:{account}:instance/i-0{i:016x}"),
)


def shared_statements(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """Statements on the requests' own actions and resources no request names, with varied conditions.

    A request can still match only the workload's statements, but an index by action alone now
    finds thousands of candidates for it.
    """
    out = []
    for i in range(count):
        actions, template = _SHARED[i % len(_SHARED)]
        region = rng.choice(["us-east-1", "eu-west-1", "us-west-2"])
        resource = template.format(i=i, region=region, account=ACCOUNT)
        roll = rng.random()
        condition = None
        if roll < 0.25:
            condition = {"StringEquals": {"aws:ResourceTag/team": rng.choice(["blue", "red", f"t{i}"])}}
        elif roll < 0.4:
            condition = {"IpAddress": {"aws:SourceIp": rng.choice(INTERNAL_NETS)}}
        elif roll < 0.5:
            condition = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
        elif roll < 0.55:
            condition = {"StringLike": {"s3:prefix": [f"p{i}/*"]}}
        effect = "Deny" if rng.random() < 0.1 else "Allow"
        chosen = rng.sample(actions, rng.randint(1, len(actions)))
        out.append(_stmt(effect, chosen, resource, condition, sid=f"Shared{i}"))
    return out


GROWTH = {"services": filler_statements, "shared": shared_statements}


def grown(
    base: list[tuple[str, dict]], size: int, rng: random.Random, grow: str = "services"
) -> list[tuple[str, dict]]:
    """The base policies plus filler policies (at most 100 statements each) up to `size` statements.

    `grow` names the fillers: "services" (services the requests never call) or "shared" (the
    requests' own actions on resources they never name).
    """
    extra = size - sum(len(doc["Statement"]) for _, doc in base)
    fillers = GROWTH[grow](max(extra, 0), rng)
    out = list(base)
    for n, start in enumerate(range(0, len(fillers), 100)):
        out.append((f"Filler{n}", _policy(*fillers[start : start + 100])))
    return out


def _context(rng: random.Random) -> dict[str, Any]:
    """The keys AWS sets for an IAM user's request, with a seeded source IP and MFA state."""
    ctx: dict[str, Any] = {
        "aws:username": USER,
        "aws:userid": USER_ID,
        "aws:PrincipalArn": USER_ARN,
        "aws:PrincipalAccount": ACCOUNT,
        "aws:PrincipalType": "User",
        "aws:SecureTransport": "true",
        "aws:CurrentTime": "2024-06-01T12:00:00Z",
        "aws:EpochTime": "1717243200",
        **{f"aws:PrincipalTag/{k}": v for k, v in TAGS.items()},
    }
    roll = rng.random()
    if roll < 0.75:
        ctx["aws:SourceIp"] = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    elif roll < 0.85:
        ctx["aws:SourceIp"] = f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    else:
        ctx["aws:SourceIp"] = f"203.0.113.{rng.randint(1, 254)}"
    roll = rng.random()
    if roll < 0.7:
        ctx["aws:MultiFactorAuthPresent"] = "true"
        ctx["aws:MultiFactorAuthAge"] = str(rng.randint(1, 3000))
    elif roll < 0.85:
        ctx["aws:MultiFactorAuthPresent"] = "false"
    return ctx


def _request(rng: random.Random) -> dict[str, Any]:
    """One request: action, resource and context, drawn from the shapes the policies talk about."""
    a = ACCOUNT
    ctx = _context(rng)
    owner = rng.choice([USER, USER, "bob"])
    team = rng.choice(["blue", "blue", "red"])
    region = rng.choice(["us-east-1", "eu-west-1"])
    kind = rng.randrange(14)
    if kind == 0:
        action = rng.choice(["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:GetObjectTagging"])
        folder = rng.choice(["docs", "archive", "tmp"])
        resource = f"arn:aws:s3:::corp-home/{owner}/{folder}/f{rng.randrange(100)}.txt"
    elif kind == 1:
        action, resource = "s3:ListBucket", "arn:aws:s3:::corp-home"
        ctx["s3:prefix"] = rng.choice([f"{owner}/", owner, "", "shared/"])
    elif kind == 2:
        action = rng.choice(["s3:GetObject", "s3:GetObjectAcl", "s3:PutObject", "s3:ListAllMyBuckets"])
        bucket = rng.choice(["corp-shared", "corp-drop", f"corp-scratch-{team}", "other-bucket"])
        resource = "*" if action == "s3:ListAllMyBuckets" else f"arn:aws:s3:::{bucket}/k{rng.randrange(50)}"
        if action == "s3:PutObject" and rng.random() < 0.5:
            ctx["s3:x-amz-acl"] = rng.choice(["bucket-owner-full-control", "private"])
    elif kind in (3, 4):
        action = rng.choice(
            [
                "ec2:StartInstances",
                "ec2:StopInstances",
                "ec2:TerminateInstances",
                "ec2:CreateTags",
                "ec2:DeleteTags",
                "ec2:RebootInstances",
                "ec2:AttachVolume",
            ]
        )
        resource = f"arn:aws:ec2:{region}:{a}:instance/i-{rng.randrange(16**8):08x}"
        ctx["aws:ResourceTag/team"] = team
        if rng.random() < 0.2:
            ctx["aws:ResourceTag/env"] = "prod"
    elif kind == 5:
        action = rng.choice(
            [
                "ec2:DescribeInstances",
                "ec2:DescribeVolumes",
                "ec2:RunInstances",
                "sqs:ListQueues",
                "logs:DescribeLogGroups",
                "cloudwatch:GetMetricData",
                "cloudwatch:PutMetricData",
                "sns:ListTopics",
            ]
        )
        resource = "*"
    elif kind == 6:
        action = rng.choice(
            [
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:Query",
                "dynamodb:Scan",
                "dynamodb:DeleteTable",
                "dynamodb:BatchGetItem",
                "dynamodb:DeleteItem",
            ]
        )
        table = rng.choice([f"app-{team}-orders", f"app-{team}-audit", "sandbox-x", "shared-ref", "legacy"])
        resource = f"arn:aws:dynamodb:{region}:{a}:table/{table}"
        ctx["aws:ResourceTag/team"] = team
    elif kind == 7:
        action = rng.choice(
            [
                "lambda:InvokeFunction",
                "lambda:UpdateFunctionCode",
                "lambda:DeleteFunction",
                "lambda:GetFunction",
                "lambda:InvokeAsync",
            ]
        )
        fn = rng.choice([f"team-{team}-api", "public-echo", "internal-billing"])
        resource = f"arn:aws:lambda:{region}:{a}:function:{fn}"
        ctx["aws:ResourceTag/team"] = team
    elif kind == 8:
        action = rng.choice(
            [
                "secretsmanager:GetSecretValue",
                "secretsmanager:DescribeSecret",
                "secretsmanager:PutSecretValue",
            ]
        )
        path = rng.choice([f"{owner}/db", "shared/api", "prod/root"])
        resource = f"arn:aws:secretsmanager:{region}:{a}:secret:{path}-AbCdEf"
    elif kind == 9:
        action = rng.choice(
            [
                "iam:GetUser",
                "iam:ChangePassword",
                "iam:CreateAccessKey",
                "iam:DeleteAccessKey",
                "iam:DeactivateMFADevice",
                "iam:ListUsers",
                "iam:CreateUser",
            ]
        )
        resource = f"arn:aws:iam::{a}:user/{owner}" if action != "iam:ListUsers" else "*"
    elif kind == 10:
        action = rng.choice(
            ["ssm:GetParameter", "ssm:GetParameters", "ssm:PutParameter", "ssm:DeleteParameter"]
        )
        resource = f"arn:aws:ssm:{region}:{a}:parameter/{rng.choice(['eng', 'ops'])}/p{rng.randrange(100)}"
    elif kind == 11:
        action = rng.choice(
            [
                "sqs:SendMessage",
                "sqs:ReceiveMessage",
                "sqs:PurgeQueue",
                "sqs:CreateQueue",
                "sns:Publish",
                "sns:Subscribe",
                "sns:DeleteTopic",
            ]
        )
        name = rng.choice([f"{team}-jobs", "sandbox-q", "alerts-ops", "billing"])
        resource = f"arn:aws:{action.split(':')[0]}:{region}:{a}:{name}"
    elif kind == 12:
        action = rng.choice(["logs:PutLogEvents", "logs:CreateLogStream", "logs:DeleteLogGroup"])
        group = rng.choice([f"/aws/lambda/team-{team}-api", "/aws/lambda/billing"])
        resource = f"arn:aws:logs:{region}:{a}:log-group:{group}"
    else:
        action = rng.choice(
            [
                "sqs:DeleteQueue",
                "sns:CreateTopic",
                "ec2:CreateVpc",
                "iam:CreateRole",
                "lambda:CreateFunction",
                "dynamodb:CreateTable",
                "s3:CreateBucket",
            ]
        )
        resource = "*"
    return {"action": action, "resource": resource, "context": ctx}


def build(
    seed: int = 20240601,
    requests: int = 10_000,
    sizes: tuple[int, ...] = (100, 1000, 10_000),
    grow: str = "services",
) -> Workload:
    """The workload for `seed`: base policies, the grown variants for `sizes` (fillers of kind `grow`),
    and `requests` requests."""
    rng = random.Random(seed)
    base = base_policies()
    principal = {
        "type": "user",
        "arn": USER_ARN,
        "account": ACCOUNT,
        "user_id": USER_ID,
        "name": USER,
        "tags": dict(TAGS),
    }
    work = Workload(seed=seed, principal=principal, grow=grow)
    work.policies[sum(len(doc["Statement"]) for _, doc in base)] = base
    for size in sizes:
        work.policies[size] = grown(base, size, random.Random(f"{seed}-{size}"), grow)
    work.requests = [dict(_request(rng), id=f"r{i}") for i in range(requests)]
    return work
