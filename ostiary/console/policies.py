"""Policies: AWS managed and customer managed, a policy's versions and document, and a JSON editor
whose findings (those of `ostiary policy validate`) come back through htmx as the text changes."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from ostiary.analyzer import validate as validate_document
from ostiary.console import documents
from ostiary.console.calls import validate_policy
from ostiary.console.pages import Visit, page, redirect
from ostiary.errors import AccessDenied, AwsError

PAGE_SIZE = 100
_SCOPES = ("All", "AWS", "Local")
_MAX_DOCUMENT = 131072
_TRUST = "AWS::IAM::AssumeRolePolicyDocument"
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
            if isinstance(exc, AccessDenied):
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
        findings=_findings(document) if error else None,
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
            if isinstance(exc, AccessDenied):
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
        findings=_findings(text),
    )


@page
async def validate(visit: Visit) -> Response:
    """ValidatePolicy's findings on the editor's text, as a fragment (htmx swaps it in beside the editor)."""
    document = visit.form.get("document", "")[:_MAX_DOCUMENT]
    params: dict[str, Any] = {"policyDocument": document, "policyType": "IDENTITY_POLICY"}
    if visit.form.get("kind") == "trust":
        params |= {"policyType": "RESOURCE_POLICY", "validatePolicyResourceType": _TRUST}
    try:
        found = await asyncio.to_thread(validate_policy, visit.app, visit.principal, params)
    except AwsError as exc:  # refused, or a document Access Analyzer does not take (empty, too long)
        return visit.render("_findings.html", exc.status, findings=[], error=exc)
    return visit.render("_findings.html", findings=found["findings"])


def _findings(document: str) -> list[dict[str, Any]]:
    """The findings of `ostiary policy validate` on an identity policy, in ValidatePolicy's shape."""
    return [finding.as_api() for finding in validate_document(document)]
