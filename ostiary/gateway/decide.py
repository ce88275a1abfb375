"""The gateway's decisions: every permission an operation needs asked of the engine, with the resource's
own policy (a KMS key policy, an S3 bucket policy) and its owner's account; AccessDenied with AWS's
message at the first refusal.

All accounts share one backend, so each bucket, table and key belongs to the account that created it
through the gateway (`ownership.py`, `store/resources.py`): a permission on it is decided with that
account as the resource's (its ARN rewritten to carry it), which makes any other account's access
cross-account (both its identity policy and the resource policy must allow; a table has no resource
policy, so never). The root of the owning account may do anything to its resources but what an
explicit Deny of the bucket policy refuses (never the bucket-policy calls themselves). An unsigned
request is anonymous: only a bucket policy allowing `"*"` lets it through (`anonymous.py`). Bucket
policies are kept in the store, validated as S3 does, and answered from there (`answer_here`): the
backend never sees them. Key policies go to the backend and, once it took them, into the store, which
decides and answers GetKeyPolicy (`keypolicystore`).

`--enforce soft` logs each refusal of a signed caller (who, what, on what, the deciding statements) and
lets it through (`verdicts.py`); `--enforce off` decides nothing for signed callers. Anonymous requests
are always decided.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ostiary import services
from ostiary.auth.caller import Caller
from ostiary.frozen import quick_init
from ostiary.gateway import (
    anonymous,
    bucketpolicies,
    dynamodb_refusals,
    keypolicies,
    keypolicystore,
    kms,
    kmsaliases,
    listtokens,
    multidelete,
    ownership,
    publicaccess,
    s3,
    verdicts,
)
from ostiary.gateway.forwarding import Answer, BackendUnavailable
from ostiary.gateway.lookups import BackendLookups
from ostiary.gateway.operations import Operation
from ostiary.gateway.ownership import BUCKET_POLICY_ACTIONS, CREATING_ACTIONS, Resource
from ostiary.gateway.permissions import Facts, Permission, permissions_of
from ostiary.policy import is_unique_id
from ostiary.protocol import HttpRequest
from ostiary.services import named_principals
from ostiary.settings import OFF, SOFT, Settings
from ostiary.store import principals, uploads
from ostiary.store import resources as store
from ostiary.store.db import Database
from ostiary.store.keyring import Keyring

_POLICY_CALLS = frozenset(
    {("s3", "GetBucketPolicy"), ("s3", "PutBucketPolicy"), ("s3", "DeleteBucketPolicy")}
)
_FACTS_KEPT = 1024


@quick_init
@dataclass(frozen=True)
class Pending:
    """The caller's context, the permissions to ask once the backend has answered (KMS Decrypt of a
    ciphertext names its key only in the answer), and the positions of a DeleteObjects' objects the
    caller may not delete (`multidelete`)."""

    ctx: services.Context | None
    permissions: tuple[tuple[Permission, str], ...]
    refused: tuple[int, ...] = ()


@quick_init
@dataclass(frozen=True)
class Owned:
    """A permission as decided: its resource ARN carrying the owner's account, the owner (None when the
    permission names no one resource) and the resource's own stored policy text."""

    permission: Permission
    owner: str | None
    resource: Resource | None
    policy_text: str | None = None


class Authorizer:
    """Decides the gateway's requests with the engine, over one store and the backends' facts."""

    def __init__(self, settings: Settings, db: Database, keyring: Keyring, lookups: BackendLookups) -> None:
        self.settings = settings
        self.db = db
        self.keyring = keyring
        self.lookups = lookups
        self.is_soft = settings.enforce == SOFT
        self._facts: dict[tuple[str, str, bool], Facts] = {}  # they ask the lookups, which keep the facts

    def authorize(
        self,
        request: HttpRequest,
        caller: Caller | None,
        operation: Operation,
        region: str,
        request_id: str,
        now: datetime,
    ) -> Pending:
        """Ask the engine about every permission the operation needs; AccessDenied at the first refusal
        (a DeleteObjects' objects are decided one by one: the refused ones are returned).

        `caller` None is an unsigned request. Returns the permissions only the answer can name the
        resource of.
        """
        if caller is None:
            return Pending(None, (), anonymous.decide(self, request, operation, region, now))
        if self.settings.enforce == OFF:
            return Pending(None, ())
        ctx = services.Context(
            db=self.db,
            keyring=self.keyring,
            settings=self.settings,
            caller=caller,
            request_id=request_id,
            now=now,
            source_ip=request.client_ip,
            region=region,
            is_secure=request.is_secure,
        )
        later = []
        # A root's decisions never read a table's key schema (no resource policy of a table names keys):
        # not asked, so a CreateTable does not look its table up before it exists.
        facts = self.facts(caller.account_id, region, with_key_schema=not caller.is_root)
        if multidelete.is_decided_per_object(operation):
            return Pending(
                ctx, (), multidelete.refused(operation, facts, lambda p: self.decide(ctx, p, region))
            )
        for permission in permissions_of(operation, facts):
            member = kms.key_in_answer(operation, permission)
            if member is not None:
                later.append((permission, member))
            else:
                self.decide(ctx, permission, region)
        return Pending(ctx, tuple(later))

    def facts(self, account: str, region: str, *, with_key_schema: bool = True) -> Facts:
        """What `permissions_of` needs to know from the backend, for a caller of `account`."""
        known = self._facts.get((account, region, with_key_schema))
        if known is not None:
            return known
        lookups = self.lookups
        facts = Facts(
            account=account,
            region=region,
            caller_account=account,
            resolve_alias=lambda owner, alias: lookups.resolve_alias(region, owner, alias),
            bucket_encryption=lambda bucket: lookups.bucket_encryption(region, bucket),
            object_encryption=lambda bucket, key, version: lookups.object_encryption(
                region, bucket, key, version
            ),
            upload_encryption=lambda bucket, upload_id: uploads.kept_find(self.db, bucket, upload_id),
            prefix_encryption=lambda bucket, prefix: lookups.prefix_encryption(region, bucket, prefix),
        )
        if with_key_schema:
            facts = replace(facts, key_schema=lambda table, index: lookups.key_schema(region, table, index))
        if len(self._facts) >= _FACTS_KEPT:
            self._facts.clear()
        self._facts[(account, region, with_key_schema)] = facts
        return facts

    def after_answer(self, pending: Pending, region: str, answer_body: Callable[[], bytes]) -> None:
        """Decide the permissions whose resource the backend's (successful) answer names."""
        if not pending.permissions or pending.ctx is None:
            return
        try:
            named = json.loads(answer_body())
        except ValueError:
            named = {}
        for permission, member in pending.permissions:
            resource = named.get(member) if isinstance(named, dict) else None
            resource = resource if isinstance(resource, str) and resource.startswith("arn:") else "*"
            self.decide(pending.ctx, Permission(permission.action, resource, permission.context), region)

    def decide(self, ctx: services.Context, permission: Permission, region: str) -> None:
        """AccessDenied, with AWS's message, unless the engine allows the caller this permission on the
        resource of its owner (soft mode: logged instead); MethodNotAllowed for another account's
        allowed bucket-policy call."""
        caller = ctx.caller
        if caller is None:
            raise TypeError("decide takes a signed caller")
        owned = self.owned(permission, caller.account_id, region)
        policy = self.resource_policy(owned, caller.account_id, region)
        is_own = owned.owner in (None, caller.account_id)
        if not is_own and policy is not None and self.restricted(owned, region):
            policy = None  # RestrictPublicBuckets: another account's access through the policy is blocked
        if caller.is_root and is_own and not _bucket_policy_applies(owned, policy):
            return
        verdicts.decide(ctx, owned.permission, policy, owned.owner, is_soft=self.is_soft)
        if not is_own and owned.permission.action in BUCKET_POLICY_ACTIONS and not self.is_soft:
            raise ownership.MethodNotAllowed(ownership.METHOD_NOT_ALLOWED)

    def owned(self, permission: Permission, caller_account: str, region: str) -> Owned:
        """The permission on its owner's resource: the ARN rewritten to the owner's account, and the
        resource's stored policy. A resource Ostiary never saw created is the default account's."""
        # The alias a CreateAlias makes points nowhere yet: not looked up (nor its absence kept).
        resolve = _no_alias if permission.action == "kms:CreateAlias" else self.lookups.resolve_alias
        named = ownership.named_by(permission.resource, resolve)
        resource = named.resource
        if resource is None:
            return Owned(permission, named.account or None, None)
        if permission.action in CREATING_ACTIONS or permission.creates:
            return Owned(permission, caller_account, resource)
        found = store.recent_find(self.db, resource.service, resource.region, resource.name)
        owner, text = found if found is not None else (self.settings.account_id, None)
        arn = ownership.with_account(permission.resource, owner)
        return Owned(Permission(permission.action, arn, permission.context), owner, resource, text)

    def owner_of(self, service: str, region: str, name: str) -> str:
        """The account that owns a table or key (the default account's when Ostiary never saw it made)."""
        found = store.recent_find(self.db, service, region, name)
        return found[0] if found is not None else self.settings.account_id

    def resource_policy(self, owned: Owned, caller_account: str, region: str) -> Any:
        """The resource policy a permission is also decided by: a bucket's stored policy, a KMS key's
        policy (None for tables, and for buckets without one).

        A key's policy is the one stored when it was written through the gateway (`keypolicystore`), else
        the backend's; a key neither can tell of, and a call on no key (CreateKey, ListKeys), take AWS's
        default key policy, which lets the account's identity policies decide.
        """
        action = owned.permission.action
        if action.startswith("s3:"):
            return bucketpolicies.compiled(owned.policy_text) if owned.policy_text else None
        if not action.startswith("kms:"):
            return None
        resource, text = owned.resource, owned.policy_text
        if text is None and resource is not None and resource.service == "kms":
            text = self.lookups.key_policy(region, resource.name)
        return keypolicies.compiled(text, owned.owner or caller_account)

    def restricted(self, owned: Owned, region: str) -> bool:
        """Whether a bucket's public policy is restricted to its own account (RestrictPublicBuckets)."""
        text, resource = owned.policy_text, owned.resource
        if text is None or resource is None or not owned.permission.action.startswith("s3:"):
            return False
        if not publicaccess.is_public_text(text):
            return False
        owner = owned.owner or self.settings.account_id
        return publicaccess.effective(
            self.lookups, self.db, region, resource.name, owner
        ).restrict_public_buckets

    def before_forward(
        self, operation: Operation, caller: Caller | None, region: str, request_body: bytes | None = None
    ) -> None:
        """Refuse, with the service's own error, what the backend must not see: a key or table named by
        an ARN of another region, a PartiQL statement whose table cannot be read, a DynamoDB value of
        more than one type, a Query's partition value it cannot read, an update of a key attribute, an
        index's projection asked of a table (`dynamodb`), a bucket policy S3 would refuse
        (MalformedPolicy), and a bucket or table created over another account's.

        The policy text is the operation's `Policy` member, else `request_body` (PutBucketPolicy's payload).
        """
        ownership.refuse_another_region(operation, region)
        kmsaliases.refuse(operation, caller.account_id if caller is not None else self.settings.account_id)
        dynamodb_refusals.refuse_unread_statements(operation, region)
        dynamodb_refusals.refuse_unread_values(operation)
        schema = functools.partial(self.lookups.key_schema, region)
        dynamodb_refusals.refuse_unread_key_conditions(operation, schema)
        dynamodb_refusals.refuse_key_updates(operation, schema)
        dynamodb_refusals.refuse_projected_table_reads(operation)
        if operation.service == "s3":
            s3.refuse_access_point_source(operation)
            multidelete.refuse_unreadable(operation)
        if (operation.service, operation.name) == ("s3", "PutBucketPolicy"):
            bucket = str(operation.params.get("Bucket", ""))
            bucketpolicies.validate(_policy_text(operation, request_body), bucket, self._principal_exists)
        if operation.service == "kms" and operation.name in ("PutKeyPolicy", "CreateKey", "ReplicateKey"):
            policy = operation.params.get("Policy")
            if isinstance(policy, str):
                keypolicies.validate(policy, self._principal_exists)
        created = ownership.target(operation, region)
        if created is None:
            return
        account = caller.account_id if caller is not None else self.settings.account_id
        with self.db.read() as conn:
            owner = store.owner(conn, created.service, created.region, created.name)
        if owner is None and created.service == "s3" and account != self.settings.account_id:
            # A bucket Ostiary never saw created is the default account's, and S3 answers a CreateBucket of
            # an existing bucket in us-east-1 with success: another account would take it over.
            exists = self.lookups.bucket_exists(region, created.name)
            owner = self.settings.account_id if exists is not False else None
        if owner is None or owner == account:
            return
        if created.service == "s3":
            raise ownership.BucketAlreadyExists(ownership.BUCKET_TAKEN)
        raise ownership.ResourceInUseException(f"Table already exists: {created.name}")

    def _principal_exists(self, name: str) -> bool:
        """Whether the IAM user or role an ARN names exists, spelled exactly as its ARN is
        (`arn:aws:iam::A:user/p/n`), or one has this unique id (AIDA…, AROA…)."""
        if is_unique_id(name):
            with self.db.read() as conn:
                return any(principals.find_by_id(conn, kind, name) for kind in ("user", "role"))
        parts = name.split(":", 5)
        kind, _, path_and_name = parts[5].partition("/")
        with self.db.read() as conn:
            found = principals.find_named(conn, parts[4], kind, path_and_name.rpartition("/")[2])
        return found is not None and name == f"arn:aws:iam::{parts[4]}:{kind}{found.path}{found.name}"

    def needs_answer(self, operation: Operation) -> bool:
        """Whether `after_success` reads the answer's body (list answers, CreateKey's): small answers only."""
        kind = (operation.service, operation.name)
        return kind in ownership.LISTS or kind == ("kms", "CreateKey")

    def answer_here(
        self,
        operation: Operation,
        caller: Caller | None,
        region: str,
        request_body: bytes | None = None,
        now: datetime | None = None,
    ) -> Answer | None:
        """The gateway's own answer to an (authorized, validated) bucket-policy call, or None: forward.

        Bucket policies live in Ostiary's store and never reach the backend, which would enforce them
        on the gateway's own credentials (moto refuses everyone any action a Deny statement names).
        S3's answers: 204 for PutBucketPolicy and DeleteBucketPolicy, the policy for GetBucketPolicy,
        NoSuchBucketPolicy or NoSuchBucket (404).
        """
        kind = (operation.service, operation.name)
        if kind not in _POLICY_CALLS:
            return None
        bucket = str(operation.params.get("Bucket", ""))
        with self.db.read() as conn:
            found = store.find(conn, "s3", store.GLOBAL_REGION, bucket)
        if found is None and self.lookups.bucket_exists(region, bucket) is not True:
            raise bucketpolicies.NoSuchBucket(bucketpolicies.NO_BUCKET)
        if kind == ("s3", "GetBucketPolicy"):
            text = found[1] if found is not None else None
            if text is None:
                raise bucketpolicies.NoSuchBucketPolicy(bucketpolicies.NO_POLICY)
            return Answer(200, (("content-type", "application/json"),), text.encode("utf-8"))
        stored = None
        if kind == ("s3", "PutBucketPolicy"):
            stored = bucketpolicies.validate(
                _policy_text(operation, request_body), bucket, self._principal_exists
            )
        with self.db.transaction() as conn:
            if stored is not None:  # the principals first, held: none is deleted meanwhile
                named_principals.bind(conn, named_principals.BUCKET, bucket, stored, _invalid_principal)
            store.set_policy(
                conn,
                "s3",
                store.GLOBAL_REGION,
                bucket,
                stored,
                default_owner=self.settings.account_id,
                now=now or datetime.now(UTC),
            )
        return Answer(204, (), b"")

    def after_success(
        self,
        operation: Operation,
        caller: Caller | None,
        region: str,
        body: bytes | None,
        now: datetime | None = None,
    ) -> bytes | None:
        """Once the backend answered 2xx: record who created what and forget what was deleted; return
        a list answer cut to the caller's own resources (None: the backend's body as it is)."""
        account = caller.account_id if caller is not None else self.settings.account_id
        kind = (operation.service, operation.name)
        made = ownership.created(operation, region, _json(body) if kind == ("kms", "CreateKey") else None)
        gone = ownership.deleted(operation, region)
        if made is not None or gone is not None:
            with self.db.transaction() as conn:
                if made is not None:
                    store.record(
                        conn, made.service, made.region, made.name, account, now or datetime.now(UTC)
                    )
                if gone is not None and ownership.outlived(gone):  # its owner stays, its policy goes
                    store.set_policy(
                        conn,
                        gone.service,
                        gone.region,
                        gone.name,
                        None,
                        default_owner=account,
                        now=now or datetime.now(UTC),
                    )
                elif gone is not None:
                    store.forget(conn, gone.service, gone.region, gone.name)
        if operation.service == "kms" and isinstance(operation.params.get("AliasName"), str):
            self.lookups.forget_alias(region, account, operation.params["AliasName"])
        if keypolicystore.concerns(operation):
            facts = self.facts(account, region)
            key = made or keypolicystore.key_named(operation, facts, self.lookups.resolve_alias)
            kept = keypolicystore.after_success(
                self.db, operation, key, account, self.settings.account_id, body, now or datetime.now(UTC)
            )
            if kept is not None:  # GetKeyPolicy's answer: the stored policy
                return kept
        if body is None or kind not in ownership.LISTS:
            return None
        default = self.settings.account_id

        def visible(service: str, in_region: str, names: list[str]) -> set[str]:
            with self.db.read() as conn:
                known = store.owners(conn, service, in_region, names)
            return {n for n in names if known.get(n, default) == account}

        def next_page(name: str, params: dict[str, Any]) -> dict[str, Any]:
            page = self.lookups.list_page(region, name, params)
            if page is None:
                raise BackendUnavailable(f"the backend did not answer a {name} page")
            return page

        cut: bytes | None
        if kind == ("kms", "ListAliases"):  # the caller's own aliases, as it names them
            cut = kmsaliases.listed(
                ownership.plain(body), account, region, lambda ids: visible("kms", region, ids)
            )
        else:
            cut = ownership.visible_answer(operation, region, body, visible, next_page, account)
        sealed = listtokens.sealed_answer(
            self.keyring, account, operation, cut if cut is not None else ownership.plain(body)
        )
        return sealed if sealed is not None else cut


def _no_alias(region: str, account: str, alias: str) -> str | None:
    return None


def _policy_text(operation: Operation, request_body: bytes | None) -> str:
    """PutBucketPolicy's policy: its `Policy` member, else the request's payload (undecodable: not JSON)."""
    text = operation.params.get("Policy")
    if isinstance(text, str):
        return text
    try:
        return (request_body or b"").decode("utf-8")
    except UnicodeDecodeError:
        return ""


def _json(body: bytes | None) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _invalid_principal(_name: str) -> bucketpolicies.MalformedPolicy:
    """S3's refusal of a bucket policy naming a user or role that does not exist."""
    return bucketpolicies.MalformedPolicy(bucketpolicies.BAD_PRINCIPAL)


def _bucket_policy_applies(owned: Owned, policy: Any) -> bool:
    """Whether the owner's root is still decided: a bucket policy (its explicit Denies) binds the root
    too, except on the bucket-policy calls, which the owner's root may always make."""
    return (
        policy is not None
        and owned.permission.action.startswith("s3:")
        and (owned.permission.action not in BUCKET_POLICY_ACTIONS)
    )
