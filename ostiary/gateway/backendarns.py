"""The account in the ARNs of DynamoDB and KMS: the owner's to clients, the backend's to the backend.

The backend has one account of its own (moto's 123456789012, LocalStack's 000000000000) and writes it
into every ARN it answers, whichever Ostiary account the table or key belongs to. AWS writes the
owner's. So the gateway rewrites, in DynamoDB's and KMS's answers (successes and errors alike), each
ARN of a table or what hangs off it (`table/NAME/index/...`, `/stream/...`, `/backup/...`, `/export/...`,
moto's export ARN that nests the table's) and each key ARN whose account is the backend's to the
account that owns the table or key (`ownership`: its creator through the gateway, else the default
account), and a key's `AWSAccountId` to its ARN's; backend alias ARNs become their owner's
(`kmsaliases.client_text`). The owner alone decides: another account reading a key through its key
policy sees the key owner's account. Answers of items (GetItem, Query, Scan...) and a policy's text
(GetKeyPolicy's, GetResourcePolicy's success) are the client's own data: never rewritten.

The other way, a table or key ARN a request names (`TableName`, `TableArn`, `ResourceArn`, `BackupArn`,
`KeyId`...: an owner's account, as the client was told) reaches the backend with the backend's
account, where the backend looks the ARN up whole (moto does, for a TagResource's `ResourceArn` or an
export's `TableArn`). The decision was made before, on the ARN as the client wrote it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from ostiary.gateway import kmsaliases
from ostiary.gateway.operations import Operation

SERVICES = frozenset({"dynamodb", "kms"})
Owner = Callable[[str, str, str], str]  # (service, region, name) → the owning account

# Answers that hold the client's own data (item values): their ARNs are not the backend's.
_ITEMS = frozenset(
    {
        "GetItem",
        "BatchGetItem",
        "Query",
        "Scan",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
        "ExecuteStatement",
        "BatchExecuteStatement",
        "ExecuteTransaction",
    }
)
_POLICIES = frozenset({"GetResourcePolicy", "GetKeyPolicy"})  # a success answers the policy's own text
_ACCOUNT = re.compile(r"\d{12}")
_TABLE = re.compile(
    r"arn:[\w-]+:dynamodb:(?P<r>[\w-]*):(?P<a>\d{12}):table/"
    r"(?:arn:[\w-]+:dynamodb:(?P<r2>[\w-]*):(?P<a2>\d{12}):table/)?(?P<n>[\w.-]+)"
)
_KEY = re.compile(r"arn:[\w-]+:kms:(?P<r>[\w-]*):(?P<a>\d{12}):key/(?P<n>[\w-]+)")
# A table's or key's ARN as a request names it: its account is replaced by the backend's.
_SENT = {
    "dynamodb": re.compile(r"(arn:[\w-]+:dynamodb:[\w-]*:)(\d{12})(:table/)"),
    "kms": re.compile(r"(arn:[\w-]+:kms:[\w-]*:)(\d{12})(:key/)"),
}
_MEMBERS = {
    "dynamodb": ("TableName", "TableArn", "SourceTableArn", "ResourceArn", "BackupArn", "ExportArn"),
    "kms": ("KeyId", "SourceKeyId", "DestinationKeyId", "TargetKeyId"),
}


def rewritten(operation: Operation, status: int) -> bool:
    """Whether the operation's answer of `status` may name the backend's ARNs (`client_body`)."""
    if operation.service not in SERVICES or operation.name in _ITEMS:
        return False
    return status >= 300 or operation.name not in _POLICIES


def client_body(service: str, body: bytes, backend: str, region: str, owner: Owner) -> bytes | None:
    """A DynamoDB or KMS answer's JSON text with each ARN of the backend's account as its owner's
    (`owner(service, region, name)`); None when it names none (the cheap case: the backend's account
    is not in it)."""
    if backend.encode() not in body:
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    found = client_text(service, text, backend, region, owner)
    return found.encode("utf-8") if found != text else None


def client_text(service: str, text: str, backend: str, region: str, owner: Owner) -> str:
    """`text` with each table or key ARN of the backend's account as its owner's (`client_body`)."""
    if service == "dynamodb":
        return _TABLE.sub(lambda m: _owned(m, "dynamodb", backend, region, owner), text)
    text = _KEY.sub(lambda m: _owned(m, "kms", backend, region, owner), text)
    if "alias/" in text:
        text = kmsaliases.client_text(text)
    if '"AWSAccountId"' in text and backend in text:
        text = _key_accounts(text, backend)
    return text


def _owned(found: re.Match[str], service: str, backend: str, region: str, owner: Owner) -> str:
    """The matched ARN with each account of the backend's as the owner of the table or key it names."""
    whole, start = found[0], found.start()
    pieces: list[str] = []
    last = 0
    for account, in_region in (("a", "r"), ("a2", "r2")):
        if found.groupdict().get(account) != backend:
            continue
        named = owner(service, found[in_region] or region, found["n"])
        if named == backend:
            continue
        begin, end = found.span(account)
        pieces += [whole[last : begin - start], named]
        last = end - start
    return "".join(pieces) + whole[last:] if pieces else whole


def _key_accounts(text: str, backend: str) -> str:
    """Each key's `AWSAccountId` of the backend's as the account of its (rewritten) `Arn`."""
    try:
        answer = json.loads(text)
    except ValueError:
        return text
    return json.dumps(answer) if _with_accounts(answer, backend) else text


def _with_accounts(node: Any, backend: str) -> bool:
    changed = False
    if isinstance(node, dict):
        arn = node.get("Arn")
        if node.get("AWSAccountId") == backend and isinstance(arn, str) and arn.count(":") >= 5:
            account = arn.split(":", 5)[4]
            if account != backend and _ACCOUNT.fullmatch(account):
                node["AWSAccountId"] = account
                changed = True
        for value in node.values():
            changed = _with_accounts(value, backend) or changed
    elif isinstance(node, list):
        for value in node:
            changed = _with_accounts(value, backend) or changed
    return changed


def backend_body(operation: Operation, body: bytes, backend: Callable[[], str | None]) -> bytes | None:
    """A DynamoDB or KMS request's JSON body with the table and key ARNs it names in the backend's
    account (`backend()`, asked only when one names another); None when none does."""
    service = operation.service
    if service not in SERVICES:
        return None
    params = operation.params
    named = {m: params[m] for m in _MEMBERS[service] if _names_arn(params.get(m), service)}
    items = params.get("RequestItems") if service == "dynamodb" else None
    keyed = isinstance(items, dict) and any(_names_arn(t, service) for t in items)
    transaction = _transaction_tables(params) if service == "dynamodb" else []
    if not named and not keyed and not transaction:
        return None
    account = backend()
    if account is None:
        return None
    sent = _SENT[service]

    def as_backend(value: str) -> str:
        return sent.sub(lambda m: f"{m[1]}{account}{m[3]}", value)

    request = json.loads(body)  # it parsed already: identify read the operation from it
    before = json.dumps(request)
    request.update({m: as_backend(v) for m, v in named.items()})
    if keyed:
        request["RequestItems"] = {as_backend(t): v for t, v in request["RequestItems"].items()}
    for item in _transaction_tables(request) if transaction else ():
        item["TableName"] = as_backend(item["TableName"])
    after = json.dumps(request)
    return after.encode() if after != before else None


def _names_arn(value: Any, service: str) -> bool:
    return isinstance(value, str) and value.startswith("arn:") and _SENT[service].search(value) is not None


def _transaction_tables(params: dict[str, Any]) -> list[dict[str, Any]]:
    """The requests of a TransactWriteItems or TransactGetItems that name their table by an ARN."""
    items = params.get("TransactItems")
    found = []
    for item in items if isinstance(items, list) else ():
        for request in item.values() if isinstance(item, dict) else ():
            if isinstance(request, dict) and _names_arn(request.get("TableName"), "dynamodb"):
                found.append(request)
    return found
