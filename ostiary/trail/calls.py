"""The hooks the request flow calls: an IAM or STS call begun, answered or failed, and a gateway
request decided. Each builds the call's CloudTrail records and hands them to the recorder before the
answer is sent."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ostiary.auth.caller import Caller
from ostiary.blocking import WouldBlock
from ostiary.errors import AwsError
from ostiary.protocol import ApiCall, HttpRequest
from ostiary.settings import Settings
from ostiary.store.db import Database
from ostiary.store.keyring import Keyring
from ostiary.trail import endpoint, events, recorder
from ostiary.trail.config import TrailConfig
from ostiary.trail.identity import unsigned_identity, user_identity

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
        if caller is None:  # AssumeRoleWithWebIdentity / SAML: the role's account holds the record
            account = _arn_account(str(params.get("RoleArn", ""))) or ctx.settings.account_id
            identity = unsigned_identity(call.operation, params)
        else:
            account, identity = caller.account_id, user_identity(caller)
        record = events.api_call(
            identity,
            account,
            call.service,
            call.operation,
            params,
            _request(request, request_id, ctx.now, ctx.region or ctx.settings.region),
            result=result,
            error=(error.code, error.message) if error is not None else None,
        )
        accounts = {account}
        if call.operation == "AssumeRole" and caller is not None:
            accounts.add(_arn_account(str(params.get("RoleArn", ""))) or account)
        self.recorder.record(events.copies(record, accounts))


def decided(
    authorizer: Authorizer,
    request: HttpRequest,
    caller: Caller | None,
    operation: Operation,
    region: str,
    request_id: str,
    now: datetime,
) -> Pending:
    """`authorizer.authorize`, recorded: the gateway request's record, allowed or refused (AccessDenied
    is raised again once it is written down). `caller` None is an unsigned request: CloudTrail's
    anonymous identity, recorded in the default account."""
    trail = recorder.of(authorizer.db)
    if trail is None:
        return authorizer.authorize(request, caller, operation, region, request_id, now)
    error: AwsError | None = None
    blocked = False
    try:
        return authorizer.authorize(request, caller, operation, region, request_id, now)
    except AwsError as exc:
        error = exc
        raise
    except WouldBlock:  # tried on the event loop: recorded when it is decided again on a thread
        blocked = True
        raise
    finally:
        if not blocked:
            account = caller.account_id if caller is not None else authorizer.settings.account_id
            resources = _gateway_resources(operation, account, region)
            record = events.api_call(
                user_identity(caller) if caller is not None else ANONYMOUS,
                account,
                operation.service,
                operation.name,
                _gateway_params(operation.params),
                _request(request, request_id, now, region),
                error=(error.code, error.message) if error is not None else None,
                resources=resources,
            )
            trail.record(events.copies(record, {r["accountId"] for r in resources}))


# What CloudTrail records of an unsigned request's caller.
ANONYMOUS: dict[str, Any] = {"type": "AWSAccount", "principalId": "", "accountId": "anonymous"}


def _gateway_resources(operation: Operation, account: str, region: str) -> list[dict[str, str]]:
    """The ARNs a gateway call acts on, as far as its parameters name them."""
    params = operation.params
    found: list[dict[str, str]] = []
    if operation.service == "s3" and isinstance(params.get("Bucket"), str):
        bucket = params["Bucket"]
        found.append(events.arn_resource(f"arn:aws:s3:::{bucket}", account))
        if isinstance(params.get("Key"), str):
            found.append(events.arn_resource(f"arn:aws:s3:::{bucket}/{params['Key']}", account))
        for resource in found:
            resource["accountId"] = account  # a bucket's ARN names no account: the caller's trail
    elif operation.service == "dynamodb" and isinstance(params.get("TableName"), str):
        name = params["TableName"]
        arn = name if name.startswith("arn:") else f"arn:aws:dynamodb:{region}:{account}:table/{name}"
        found.append(events.arn_resource(arn, account))
    elif operation.service == "kms" and isinstance(params.get("KeyId"), str):
        key = params["KeyId"]
        if key.startswith("arn:"):
            found.append(events.arn_resource(key, account))
        else:
            kind = "alias" if key.startswith("alias/") else "key/"
            arn = f"arn:aws:kms:{region}:{account}:{key if kind == 'alias' else kind + key}"
            found.append(events.arn_resource(arn, account))
    return found


def _gateway_params(params: dict[str, Any]) -> dict[str, Any]:
    """A gateway call's parameters without its payloads (an object's body, an item's values are data,
    not parameters CloudTrail keeps)."""
    return {k: v for k, v in params.items() if k not in ("Body", "Item", "Plaintext", "CiphertextBlob")}


def _request(request: HttpRequest, request_id: str, now: datetime, region: str) -> events.Request:
    return events.Request(
        request_id=request_id,
        time=now,
        source_ip=request.client_ip,
        user_agent=request.header("user-agent") or "",
        region=region,
    )


def _arn_account(arn: str) -> str | None:
    parts = arn.split(":", 5)
    return parts[4] if arn.startswith("arn:") and len(parts) == 6 and parts[4].isdigit() else None
