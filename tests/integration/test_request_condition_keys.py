"""Every operation whose request sets a condition key is decided on the request's value (issue 10: 1).

One row per operation and key: the caller may do the action only when the key equals a good value.
The call with a bad value is refused with AccessDenied, the call with the good one goes through. Where
the entity already holds the good value (a stored boundary), the request's bad value still decides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ostiary import actions, services
from tests.conftest import Server
from tests.integration.authz_helpers import ADMIN_POLICY, Principal, account_trust, allow, denied, doc
from tests.integration.credential_helpers import certificate, private_pem, rsa_key
from tests.integration.test_saml_providers import metadata


@dataclass
class World:
    """What a row's calls need: the root's client, the caller, fresh names, and the row's two values."""

    server: Server
    root: Any
    unique: str
    caller: Principal | None = None
    good: str = "good"
    bad: str = "bad"
    counter: list[int] = field(default_factory=lambda: [0])

    def fresh(self, prefix: str) -> str:
        self.counter[0] += 1
        return f"{prefix}-{self.unique}-{self.counter[0]}"

    def policy(self, prefix: str) -> str:
        doc_ = doc(allow("iam:GetUser"))
        return str(
            self.root.create_policy(PolicyName=self.fresh(prefix), PolicyDocument=doc_)["Policy"]["Arn"]
        )

    def role(self, **extra: Any) -> str:
        name = self.fresh("role")
        self.root.create_role(
            RoleName=name, AssumeRolePolicyDocument=account_trust(self.server.account_id), **extra
        )
        return name


Call = Callable[[World, str], Any]


@dataclass(frozen=True)
class Row:
    id: str
    action: str
    key: str
    call: Call
    values: Callable[[World], tuple[str, str]] = lambda w: ("good", "bad")
    operator: str = "StringEquals"
    also: tuple[str, ...] = ()  # actions the caller needs unconditionally (sts:AssumeRole for TagSession)


def _iam(w: World) -> Any:
    assert w.caller is not None
    return w.caller.iam


def _sts(w: World) -> Any:
    assert w.caller is not None
    return w.caller.sts


def _boundaries(w: World) -> tuple[str, str]:
    return w.policy("team"), ADMIN_POLICY


def _two_policies(w: World) -> tuple[str, str]:
    return w.policy("good"), w.policy("bad")


def _put_user_boundary(w: World, value: str) -> Any:
    name = w.fresh("user")
    w.root.create_user(UserName=name, PermissionsBoundary=w.good)  # the stored value is the good one
    return _iam(w).put_user_permissions_boundary(UserName=name, PermissionsBoundary=value)


def _put_role_boundary(w: World, value: str) -> Any:
    name = w.role(PermissionsBoundary=w.good)
    return _iam(w).put_role_permissions_boundary(RoleName=name, PermissionsBoundary=value)


def _attach(kind: str) -> Call:
    def call(w: World, value: str) -> Any:
        name = _entity(w, kind)
        return getattr(_iam(w), f"attach_{kind}_policy")(**{f"{kind.title()}Name": name, "PolicyArn": value})

    return call


def _detach(kind: str) -> Call:
    def call(w: World, value: str) -> Any:
        name = _entity(w, kind)
        for arn in (w.good, w.bad):
            getattr(w.root, f"attach_{kind}_policy")(**{f"{kind.title()}Name": name, "PolicyArn": arn})
        return getattr(_iam(w), f"detach_{kind}_policy")(**{f"{kind.title()}Name": name, "PolicyArn": value})

    return call


def _entity(w: World, kind: str) -> str:
    if kind == "role":
        return w.role()
    name = w.fresh(kind)
    getattr(w.root, f"create_{kind}")(**{f"{kind.title()}Name": name})
    return name


def _tags(value: str) -> list[dict[str, str]]:
    return [{"Key": "team", "Value": value}]


def _key_tags(value: str) -> list[dict[str, str]]:
    return [{"Key": value, "Value": "x"}]


# The taggable kinds: the operation's name, and how to make one (with the root) and name it in a call.
_TAGGABLE: dict[str, tuple[str, Callable[[World], dict[str, str]]]] = {
    "user": ("User", lambda w: {"UserName": _entity(w, "user")}),
    "role": ("Role", lambda w: {"RoleName": w.role()}),
    "policy": ("Policy", lambda w: {"PolicyArn": w.policy("tagged")}),
    "instance_profile": ("InstanceProfile", lambda w: {"InstanceProfileName": _profile(w)}),
    "mfa_device": ("MFADevice", lambda w: {"SerialNumber": _mfa_device(w)}),
    "open_id_connect_provider": ("OpenIDConnectProvider", lambda w: {"OpenIDConnectProviderArn": _oidc(w)}),
    "saml_provider": ("SAMLProvider", lambda w: {"SAMLProviderArn": _saml(w)}),
    "server_certificate": ("ServerCertificate", lambda w: {"ServerCertificateName": _server_certificate(w)}),
}


def _upload_server_certificate(w: World, iam: Any, **extra: Any) -> str:
    name, key = w.fresh("cert"), rsa_key()
    iam.upload_server_certificate(
        ServerCertificateName=name, CertificateBody=certificate(key), PrivateKey=private_pem(key), **extra
    )
    return name


def _server_certificate(w: World) -> str:
    return _upload_server_certificate(w, w.root)


def _profile(w: World) -> str:
    name = w.fresh("profile")
    w.root.create_instance_profile(InstanceProfileName=name)
    return name


def _mfa_device(w: World) -> str:
    device = w.root.create_virtual_mfa_device(VirtualMFADeviceName=w.fresh("mfa"))["VirtualMFADevice"]
    return str(device["SerialNumber"])


def _oidc(w: World) -> str:
    url = f"https://{w.fresh('oidc')}.example.com"
    return str(
        w.root.create_open_id_connect_provider(Url=url, ThumbprintList=[_THUMBPRINT])[
            "OpenIDConnectProviderArn"
        ]
    )


def _saml(w: World) -> str:
    return str(
        w.root.create_saml_provider(Name=w.fresh("saml"), SAMLMetadataDocument=metadata())["SAMLProviderArn"]
    )


_THUMBPRINT = "a" * 40


def _tag(kind: str, tags: Callable[[str], list[dict[str, str]]] = _tags) -> Call:
    def call(w: World, value: str) -> Any:
        return getattr(_iam(w), f"tag_{kind}")(**_TAGGABLE[kind][1](w), Tags=tags(value))

    return call


def _untag(kind: str) -> Call:
    def call(w: World, value: str) -> Any:
        named = _TAGGABLE[kind][1](w)
        getattr(w.root, f"tag_{kind}")(**named, Tags=_key_tags(value))
        return getattr(_iam(w), f"untag_{kind}")(**named, TagKeys=[value])

    return call


def _assume(**params: Callable[[str], Any]) -> Call:
    def call(w: World, value: str) -> Any:
        arn = f"arn:aws:iam::{w.server.account_id}:role/{w.role()}"
        args = {"RoleSessionName": "session", **{k: f(value) for k, f in params.items()}}
        return _sts(w).assume_role(RoleArn=arn, **args)

    return call


def _federate(w: World, value: str) -> Any:
    return _sts(w).get_federation_token(Name=w.fresh("fed")[:32], Tags=_tags(value))


def _web_token(**params: Callable[[str], Any]) -> Call:
    """GetWebIdentityToken with the row's value in `params`, the account's federation enabled first."""

    def call(w: World, value: str) -> Any:
        try:
            w.root.enable_outbound_web_identity_federation()
        except w.root.exceptions.FeatureEnabledException:
            pass
        args = {"Audience": ["aud"], "SigningAlgorithm": "RS256", **{k: f(value) for k, f in params.items()}}
        return _sts(w).get_web_identity_token(**args)

    return call


ROWS = [
    Row("CreateUser-boundary", "iam:CreateUser", "iam:PermissionsBoundary",
        lambda w, v: _iam(w).create_user(UserName=w.fresh("user"), PermissionsBoundary=v), _boundaries),
    Row("CreateRole-boundary", "iam:CreateRole", "iam:PermissionsBoundary",
        lambda w, v: _iam(w).create_role(
            RoleName=w.fresh("role"), AssumeRolePolicyDocument=account_trust(w.server.account_id),
            PermissionsBoundary=v), _boundaries),
    Row("PutUserPermissionsBoundary", "iam:PutUserPermissionsBoundary", "iam:PermissionsBoundary",
        _put_user_boundary, _boundaries),
    Row("PutRolePermissionsBoundary", "iam:PutRolePermissionsBoundary", "iam:PermissionsBoundary",
        _put_role_boundary, _boundaries),
    *[Row(f"Attach{k.title()}Policy", f"iam:Attach{k.title()}Policy", "iam:PolicyARN", _attach(k),
          _two_policies) for k in ("user", "role", "group")],
    *[Row(f"Detach{k.title()}Policy", f"iam:Detach{k.title()}Policy", "iam:PolicyARN", _detach(k),
          _two_policies) for k in ("user", "role", "group")],
    Row("CreateServiceLinkedRole", "iam:CreateServiceLinkedRole", "iam:AWSServiceName",
        lambda w, v: _iam(w).create_service_linked_role(AWSServiceName=v, CustomSuffix=w.fresh("s")[-20:]),
        lambda w: ("autoscaling.amazonaws.com", "connect.amazonaws.com")),
    Row("CreateUser-RequestTag", "iam:CreateUser", "aws:RequestTag/team",
        lambda w, v: _iam(w).create_user(UserName=w.fresh("user"), Tags=_tags(v))),
    Row("CreateUser-TagKeys", "iam:CreateUser", "aws:TagKeys",
        lambda w, v: _iam(w).create_user(UserName=w.fresh("user"), Tags=_key_tags(v)),
        operator="ForAllValues:StringEquals"),
    Row("CreateRole-RequestTag", "iam:CreateRole", "aws:RequestTag/team",
        lambda w, v: _iam(w).create_role(
            RoleName=w.fresh("role"), AssumeRolePolicyDocument=account_trust(w.server.account_id),
            Tags=_tags(v))),
    Row("CreatePolicy-RequestTag", "iam:CreatePolicy", "aws:RequestTag/team",
        lambda w, v: _iam(w).create_policy(
            PolicyName=w.fresh("policy"), PolicyDocument=doc(allow("iam:GetUser")), Tags=_tags(v))),
    Row("CreateInstanceProfile-RequestTag", "iam:CreateInstanceProfile", "aws:RequestTag/team",
        lambda w, v: _iam(w).create_instance_profile(InstanceProfileName=w.fresh("profile"), Tags=_tags(v))),
    *[Row(f"Tag{op}-RequestTag", f"iam:Tag{op}", "aws:RequestTag/team", _tag(k))
      for k, (op, _) in _TAGGABLE.items()],
    *[Row(f"Untag{op}-TagKeys", f"iam:Untag{op}", "aws:TagKeys", _untag(k),
          operator="ForAllValues:StringEquals") for k, (op, _) in _TAGGABLE.items()],
    Row("TagUser-TagKeys", "iam:TagUser", "aws:TagKeys", _tag("user", _key_tags),
        operator="ForAllValues:StringEquals"),
    Row("UploadServerCertificate-RequestTag", "iam:UploadServerCertificate", "aws:RequestTag/team",
        lambda w, v: _upload_server_certificate(w, _iam(w), Tags=_tags(v))),
    Row("UploadServerCertificate-TagKeys", "iam:UploadServerCertificate", "aws:TagKeys",
        lambda w, v: _upload_server_certificate(w, _iam(w), Tags=_key_tags(v)),
        operator="ForAllValues:StringEquals"),
    Row("CreateVirtualMFADevice-RequestTag", "iam:CreateVirtualMFADevice", "aws:RequestTag/team",
        lambda w, v: _iam(w).create_virtual_mfa_device(VirtualMFADeviceName=w.fresh("mfa"), Tags=_tags(v))),
    Row("CreateOpenIDConnectProvider-RequestTag", "iam:CreateOpenIDConnectProvider", "aws:RequestTag/team",
        lambda w, v: _iam(w).create_open_id_connect_provider(
            Url=f"https://{w.fresh('oidc')}.example.com", ThumbprintList=[_THUMBPRINT], Tags=_tags(v))),
    Row("CreateSAMLProvider-RequestTag", "iam:CreateSAMLProvider", "aws:RequestTag/team",
        lambda w, v: _iam(w).create_saml_provider(
            Name=w.fresh("saml"), SAMLMetadataDocument=metadata(), Tags=_tags(v))),
    Row("AssumeRole-ExternalId", "sts:AssumeRole", "sts:ExternalId", _assume(ExternalId=str)),
    Row("AssumeRole-RoleSessionName", "sts:AssumeRole", "sts:RoleSessionName",
        _assume(RoleSessionName=lambda v: f"{v}-session")),
    Row("AssumeRole-SourceIdentity", "sts:SetSourceIdentity", "sts:SourceIdentity",
        _assume(SourceIdentity=str), also=("sts:AssumeRole",)),
    Row("AssumeRole-RequestTag", "sts:TagSession", "aws:RequestTag/team", _assume(Tags=_tags),
        also=("sts:AssumeRole",)),
    Row("AssumeRole-TransitiveTagKeys", "sts:TagSession", "sts:TransitiveTagKeys",
        _assume(Tags=_key_tags, TransitiveTagKeys=lambda v: [v]), operator="ForAllValues:StringEquals",
        also=("sts:AssumeRole",)),
    Row("GetFederationToken-RequestTag", "sts:GetFederationToken", "aws:RequestTag/team", _federate,
        also=("sts:TagSession",)),
    Row("GetFederationToken-TagSession", "sts:TagSession", "aws:RequestTag/team", _federate,
        also=("sts:GetFederationToken",)),
    Row("GetWebIdentityToken-IdentityTokenAudience", "sts:GetWebIdentityToken", "sts:IdentityTokenAudience",
        _web_token(Audience=lambda v: [v]), operator="ForAllValues:StringEquals"),
    Row("GetWebIdentityToken-SigningAlgorithm", "sts:GetWebIdentityToken", "sts:SigningAlgorithm",
        _web_token(SigningAlgorithm=str), lambda w: ("ES384", "RS256")),
    Row("GetWebIdentityToken-DurationSeconds", "sts:GetWebIdentityToken", "sts:DurationSeconds",
        _web_token(DurationSeconds=int), lambda w: ("300", "600"), operator="NumericEquals"),
    Row("GetWebIdentityToken-RequestTag", "sts:TagGetWebIdentityToken", "aws:RequestTag/team",
        _web_token(Tags=_tags), also=("sts:GetWebIdentityToken",)),
]  # fmt: skip


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_the_requests_value_decides(server: Server, iam: Any, unique: str, row: Row) -> None:
    world = World(server, iam, unique)
    world.good, world.bad = row.values(world)
    condition = {row.operator: {row.key: [world.good] if "ForAllValues" in row.operator else world.good}}
    if row.id == "AssumeRole-RoleSessionName":
        condition = {"StringEquals": {row.key: f"{world.good}-session"}}
    statements = [allow(row.action, Condition=condition)] + ([allow(list(row.also))] if row.also else [])
    world.caller = Principal(server, iam, f"caller-{unique}", *statements)
    with pytest.raises(ClientError) as exc:
        row.call(world, world.bad)
    assert f"is not authorized to perform: {row.action} on resource: " in denied(exc)
    row.call(world, world.good)


# Keys a request parameter sets, as AWS's reference lists them (lower case).
_REQUEST_KEYS = ("aws:requesttag/", "aws:tagkeys", "iam:policyarn", "iam:awsservicename", "sts:")
# Unsigned calls decided by the trust policy alone, on the claims of a token: their own tests cover them.
_TRUST_ONLY = {"AssumeRoleWithSAML", "AssumeRoleWithWebIdentity"}


def test_every_operation_that_sets_a_key_has_a_row() -> None:
    """A new operation whose request sets a condition key needs a row above."""
    wanted = set()
    for service, operation in services.implemented():
        keys = actions.listed_keys(service, operation)
        sets = any(k.startswith(_REQUEST_KEYS) and k != "sts:awsservicename" for k in keys)
        if sets or actions.request_sets(service, operation, "iam:PermissionsBoundary"):
            wanted.add(operation)
    covered = {row.id.split("-")[0] for row in ROWS}
    assert wanted - _TRUST_ONLY - covered == set()
