"""Policies: AWS managed and customer managed, a policy's versions and document, and a JSON editor
whose findings (those of `ostiary policy validate`) come back through htmx as the text changes."""

from __future__ import annotations

import json
from urllib.parse import quote

from starlette.responses import Response

from ostiary.analyzer import validate as validate_document
from ostiary.console import documents
from ostiary.console.pages import Visit, page, redirect
from ostiary.errors import AwsError

PAGE_SIZE = 100
_SCOPES = ("All", "AWS", "Local")
_MAX_DOCUMENT = 131072
_STARTER = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}],
    },
    indent=2,
)


@page
async def policy_list(visit: Visit) -> Response:
    if visit.request.method == "POST":
        name, document = visit.form.get("policyname", "").strip(), visit.form.get("document", "")
        try:
            created = await visit.call("CreatePolicy", PolicyName=name, PolicyDocument=document)
        except AwsError as exc:
            if exc.code == "AccessDenied":
                raise
            return await _list(visit, error=exc, document=document, name=name)
        return redirect(f"/console/policy?arn={quote(created['Policy']['Arn'], safe='')}")
    return await _list(visit)


async def _list(
    visit: Visit, error: AwsError | None = None, document: str = _STARTER, name: str = ""
) -> Response:
    scope = visit.request.query_params.get("scope", "Local")
    scope = scope if scope in _SCOPES else "Local"
    marker = visit.request.query_params.get("marker") or None
    answer = await visit.call("ListPolicies", Scope=scope, MaxItems=PAGE_SIZE, Marker=marker)
    return visit.render(
        "policies.html",
        400 if error else 200,
        policies=answer["Policies"],
        scope=scope,
        next_marker=answer.get("Marker"),
        error=error,
        document=document,
        name=name,
        findings=validate_document(document) if error else None,
    )


@page
async def policy_detail(visit: Visit) -> Response:
    arn = visit.request.query_params.get("arn", "")
    error: AwsError | None = None
    if visit.request.method == "POST":
        try:
            await visit.call(
                "CreatePolicyVersion",
                PolicyArn=arn,
                PolicyDocument=visit.form.get("document", ""),
                SetAsDefault=True,
            )
        except AwsError as exc:
            if exc.code == "AccessDenied":
                raise
            error = exc
    policy = (await visit.call("GetPolicy", PolicyArn=arn))["Policy"]
    versions = (await visit.call("ListPolicyVersions", PolicyArn=arn))["Versions"]
    wanted = visit.request.query_params.get("version") or policy["DefaultVersionId"]
    version = (await visit.call("GetPolicyVersion", PolicyArn=arn, VersionId=wanted))["PolicyVersion"]
    text = documents.readable(version["Document"])
    return visit.render(
        "policy.html",
        400 if error else 200,
        policy=policy,
        versions=versions,
        version=version,
        document=text,
        error=error,
        is_customer=not arn.startswith("arn:aws:iam::aws:"),
        findings=validate_document(text),
    )


@page
async def validate(visit: Visit) -> Response:
    """The findings on the editor's text, as a fragment (htmx swaps it in beside the editor)."""
    document = visit.form.get("document", "")[:_MAX_DOCUMENT]
    kind = "trust" if visit.form.get("kind") == "trust" else "identity"
    policy_type = "RESOURCE_POLICY" if kind == "trust" else "IDENTITY_POLICY"
    resource_type = "AWS::IAM::AssumeRolePolicyDocument" if kind == "trust" else None
    return visit.render("_findings.html", findings=validate_document(document, policy_type, resource_type))
