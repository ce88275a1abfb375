"""The hooks the request flow calls: an IAM or STS call begun, answered or failed, and a gateway
request decided. Each hands the call's frame (`events.call`: what its records will say, secrets out)
to the recorder before the answer is sent; the records are made where segments are read."""

from __future__ import annotations

import functools
import html
import json
import re
from collections.abc import Callable
from datetime import datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from ostiary.auth.caller import Caller
from ostiary.blocking import WouldBlock
from ostiary.errors import AwsError
from ostiary.operations import request_info
from ostiary.protocol import ApiCall, HttpRequest
from ostiary.settings import Settings
from ostiary.store.db import Database
from ostiary.store.keyring import Keyring
from ostiary.trail import endpoint, events, item_keys, recorder
from ostiary.trail.config import TrailConfig
from ostiary.trail.identity import marshalled_identity, unsigned_identity

if TYPE_CHECKING:  # the gateway imports this module: its types only for the checker
    from ostiary import services
    from ostiary.gateway.decide import Authorizer, Pending
    from ostiary.gateway.operations import Operation


def start(settings: Settings, db: Database, keyring: Keyring) -> Trail:
    """The app's trail: this process's recorder over `db` (started once; its segments in
    `<data dir>/trail/`), or none when OSTIARY_TRAIL=off (LookupEvents is served all the same)."""
    config = TrailConfig.from_env()
    found = None
    if config.enabled:
        found = recorder.of(db) or recorder.Recorder(
            db, settings.data_dir / "trail", retention_days=config.retention_days, separate_writer=True
        )
    return Trail(settings, db, keyring, found)


class Trail:
    """The app's side of the trail: the calls under way in this process, by request id, until they are
    answered; and CloudTrail's endpoint (LookupEvents), served before the gateway."""

    def __init__(
        self, settings: Settings, db: Database, keyring: Keyring, trail: recorder.Recorder | None
    ) -> None:
        self.settings = settings
        self.db = db
        self.keyring = keyring
        self.recorder = trail
        self._open: dict[str, tuple[services.Context, ApiCall, HttpRequest]] = {}

    def takes(self, scope: dict[str, Any]) -> bool:
        """Whether a request is CloudTrail's (LookupEvents), to be served by `serve`."""
        return endpoint.takes(scope)

    async def serve(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Answer a CloudTrail request."""
        await endpoint.serve(self, scope, receive, send)

    def begin(self, ctx: services.Context, call: ApiCall, request: HttpRequest) -> None:
        """A call authenticated and decoded: its record is written once it is answered or refused."""
        if self.recorder is not None:
            self._open[ctx.request_id] = (ctx, call, request)

    def answered(self, request_id: str, result: dict[str, Any]) -> None:
        """The call succeeded with `result` (the output shape): its record, without secrets."""
        self._finish(request_id, result, None)

    def failed(self, request_id: str, error: AwsError) -> None:
        """The call was refused or failed: its record, with AWS's errorCode and errorMessage (a call
        refused before it was decoded, such as a bad signature, has none)."""
        self._finish(request_id, None, error)

    def _finish(self, request_id: str, result: dict[str, Any] | None, error: AwsError | None) -> None:
        begun = self._open.pop(request_id, None)
        if begun is None or self.recorder is None:
            return
        ctx, call, request = begun
        caller = ctx.caller
        params = call.params
        identity: dict[str, Any] | bytes
        if caller is None:  # AssumeRoleWithWebIdentity / SAML: the role's account holds the record
            account = _arn_account(str(params.get("RoleArn", ""))) or ctx.settings.account_id
            identity = unsigned_identity(call.operation, params)
        else:
            account, identity = caller.account_id, marshalled_identity(caller)
        others: tuple[str, ...] = ()
        if call.operation == "AssumeRole" and caller is not None:
            role_account = _arn_account(str(params.get("RoleArn", "")))
            others = (role_account,) if role_account and role_account != account else ()
        self.recorder.record(
            events.call(
                identity,
                account,
                call.service,
                call.operation,
                params,
                request_id,
                ctx.now.timestamp(),
                request.client_ip,
                request.header("user-agent") or "",
                ctx.region or ctx.settings.region,
                result=result,
                error=(error.code, error.message) if error is not None else None,
                others=others,
            )
        )


def decided(
    authorizer: Authorizer,
    request: HttpRequest,
    caller: Caller | None,
    operation: Operation,
    region: str,
    request_id: str,
    now: datetime,
) -> tuple[Pending, Draft | None]:
    """`authorizer.authorize`, recorded: a refusal's record is written at once (AccessDenied is raised
    again once it is); an allowed request's is drafted (`Draft`), to be settled with its answer's outcome
    (the backend's error, a refusal decided after the decision) before the answer leaves. `caller` None
    is an unsigned request: CloudTrail's anonymous identity, recorded in the default account. No draft
    when the trail is off."""
    request_info.note(operation.service, operation.name, request_id)  # the gateway request under way
    trail = recorder.of(authorizer.db)
    if trail is None:
        return authorizer.authorize(request, caller, operation, region, request_id, now), None
    try:
        pending = authorizer.authorize(request, caller, operation, region, request_id, now)
    except AwsError as exc:
        Draft(trail, authorizer, request, caller, operation, region, request_id, now, False).settle(
            (exc.code, exc.message)
        )
        raise
    # (WouldBlock: tried on the event loop, recorded when it is decided again on a thread)
    return pending, Draft(trail, authorizer, request, caller, operation, region, request_id, now, True)


class Draft:
    """A gateway request's record, written once what it was answered is known: `settle` (the first call
    counts). Its resources are read when it is drafted (an allowed call's alias was resolved by its
    decision: the lookup is cached then), and so is a DynamoDB put's item key (`item_keys`: when its
    decision looked the table's key schema up)."""

    __slots__ = ("_trail", "_frame", "_done")

    def __init__(
        self,
        trail: recorder.Recorder,
        authorizer: Authorizer,
        request: HttpRequest,
        caller: Caller | None,
        operation: Operation,
        region: str,
        request_id: str,
        now: datetime,
        allowed: bool,
    ) -> None:
        account = caller.account_id if caller is not None else authorizer.settings.account_id
        resolve = _cached(authorizer.lookups.resolve_alias) if allowed else _unresolved
        resources = _gateway_resources(operation, account, region, resolve)
        self._trail = trail
        self._frame: tuple[Any, ...] = (
            marshalled_identity(caller) if caller is not None else ANONYMOUS,
            account,
            operation.service,
            operation.name,
            # its secrets and data out when its records are made (`plans`); a put's item key added
            # (`item_keys`) when its table's key schema is kept, never asked of the backend for it
            item_keys.keyed(
                operation.service,
                operation.name,
                operation.params,
                lambda table: authorizer.lookups.known_key_schema(region, table),
            ),
            request_id,
            now.timestamp(),
            request.client_ip,
            request.header("user-agent") or "",
            region,
            resources,
            [owner for _, owner, _ in resources if owner != account],
        )
        self._done = False

    def settle(self, error: tuple[str, str] | None) -> None:
        """Write the record down: answered with `error` (errorCode, errorMessage), or None (a success)."""
        if self._done:
            return
        self._done = True
        facts, (resources, others) = self._frame[:-2], self._frame[-2:]
        self._trail.record(events.call(*facts, error=error, resources=resources, others=others))


def settle(draft: Draft | None, status: int, content_type: str | None, body: bytes) -> None:
    """Settle a draft with an answer: a success below 400, else the error its body names."""
    if draft is not None:
        draft.settle(answered_error(status, content_type, body))


_XML_CODE = re.compile(rb"<Code>([^<]*)</Code>")
_XML_MESSAGE = re.compile(rb"<Message>([^<]*)</Message>")


def answered_error(status: int, content_type: str | None, body: bytes) -> tuple[str, str] | None:
    """The (errorCode, errorMessage) CloudTrail records of an answer: None for a success (below 400);
    the code and message of a JSON protocol's error (`__type` without its namespace) or of an XML one
    (`<Code>`, `<Message>`); the status's name when the body names none (a HEAD's)."""
    if status < 400:
        return None
    head = body[:65536]
    code = message = ""
    if content_type is not None and "json" in content_type:
        try:
            document = json.loads(head)
        except ValueError:
            document = None
        if isinstance(document, dict):
            code = str(document.get("__type", "")).rsplit("#", 1)[-1]
            message = str(document.get("message", document.get("Message", "")) or "")
    elif (found := _XML_CODE.search(head)) is not None:
        code = html.unescape(found[1].decode("utf-8", "replace"))
        said = _XML_MESSAGE.search(head)
        message = html.unescape(said[1].decode("utf-8", "replace")) if said is not None else ""
    if not code:
        try:
            code = HTTPStatus(status).phrase.replace(" ", "")
        except ValueError:
            code = str(status)
    return code, message


# What CloudTrail records of an unsigned request's caller.
ANONYMOUS: dict[str, Any] = {"type": "AWSAccount", "principalId": "", "accountId": "anonymous"}


def _gateway_resources(
    operation: Operation, account: str, region: str, resolve: Callable[[str, str, str], str | None]
) -> list[events.Resource]:
    """The resources a gateway call acts on, as far as its parameters name them. A KMS key named by
    its alias is named by its own ARN, as CloudTrail names it (`resolve(region, account, alias)` gives
    the key of that account's alias), so is the key a DynamoDB export encrypts with. A bucket's ARN
    names no account: its resources are in the caller's trail."""
    params = operation.params
    service = operation.service
    found: list[events.Resource] = []
    if service == "dynamodb":
        if isinstance(params.get("TableName"), str):
            found.append(_table(params["TableName"], account, region))
        if isinstance(params.get("S3SseKmsKeyId"), str):
            found.append(
                events.arn_resource(_key_arn(params["S3SseKmsKeyId"], account, region, resolve), account)
            )
    elif service == "s3" and isinstance(params.get("Bucket"), str):
        bucket = params["Bucket"]
        found.append((f"arn:aws:s3:::{bucket}", account, "AWS::S3::Bucket"))
        if isinstance(params.get("Key"), str):
            found.append((f"arn:aws:s3:::{bucket}/{params['Key']}", account, "AWS::S3::Object"))
    elif service == "kms" and isinstance(params.get("KeyId"), str):
        found.append(events.arn_resource(_key_arn(params["KeyId"], account, region, resolve), account))
    return found


@functools.lru_cache(maxsize=4096)
def _table(name: str, account: str, region: str) -> events.Resource:
    """A DynamoDB table's resource, named by its name or its ARN."""
    arn = name if name.startswith("arn:") else f"arn:aws:dynamodb:{region}:{account}:table/{name}"
    return events.arn_resource(arn, account)


def _key_arn(key: str, account: str, region: str, resolve: Callable[[str, str, str], str | None]) -> str:
    """The ARN of the key a KeyId names (an alias's key when it points to one, else the alias's ARN)."""
    if key.startswith("arn:") and ":alias/" not in key:
        return key
    if not key.startswith(("arn:", "alias/")):
        return f"arn:aws:kms:{region}:{account}:key/{key}"
    alias_arn = key if key.startswith("arn:") else f"arn:aws:kms:{region}:{account}:{key}"
    parts = alias_arn.split(":", 5)
    target = resolve(parts[3] or region, parts[4], "alias/" + alias_arn.split(":alias/", 1)[1])
    if target is None:
        return alias_arn
    return target if target.startswith("arn:") else f"arn:aws:kms:{region}:{account}:key/{target}"


def _cached(resolve: Callable[[str, str, str], str | None]) -> Callable[[str, str, str], str | None]:
    """`resolve`, answering None where it would have to ask the backend on the event loop."""

    def cached(region: str, account: str, alias: str) -> str | None:
        try:
            return resolve(region, account, alias)
        except WouldBlock:  # the lookup expired since the decision: the alias's own ARN names the key
            return None

    return cached


def _unresolved(region: str, account: str, alias: str) -> None:
    """No alias lookup (a refused call: its decision may not have looked the alias up)."""
    return None


def _arn_account(arn: str) -> str | None:
    parts = arn.split(":", 5)
    return parts[4] if arn.startswith("arn:") and len(parts) == 6 and parts[4].isdigit() else None
