"""Request: who asks (Principal), for which action, on which resource, with which context keys."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

PRINCIPAL_TYPES = ("user", "assumed-role", "root", "service", "federated", "anonymous")
_AWS_TYPE = {"user": "User", "assumed-role": "AssumedRole", "root": "Account", "federated": "FederatedUser"}


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: its ARN and type, account, ids and tags, and for sessions the role or the user.

    `type` is user, assumed-role, root, service, federated or anonymous. A GetFederationToken
    session is `federated` with `user_arn`; a web-identity or SAML caller is `federated` with
    `federation` ("web-identity" or "saml") and `provider`.
    """

    arn: str
    type: str = "user"
    account: str | None = None
    user_id: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    role_arn: str | None = None
    role_id: str | None = None
    session_name: str | None = None
    user_arn: str | None = None
    federation: str | None = None
    provider: str | None = None
    derived: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.type not in PRINCIPAL_TYPES:
            raise ValueError(f"unknown principal type `{self.type}`")
        object.__setattr__(self, "derived", self.derived_context())

    def __hash__(self) -> int:
        return hash((self.arn, self.type, self.account))

    @property
    def has_identity_policies(self) -> bool:
        """Whether identity-based policies can apply (not a service, a web-identity caller or anonymous)."""
        return self.type in ("user", "assumed-role", "root") or (
            self.type == "federated" and self.federation is None
        )

    @property
    def is_session(self) -> bool:
        """Whether the caller holds temporary credentials."""
        return self.type == "assumed-role" or (self.type == "federated" and self.federation is None)

    def derived_context(self) -> dict[str, tuple[str, ...]]:
        """The global condition keys that follow from the principal (lowercased names)."""
        found: dict[str, tuple[str, ...]] = {}
        if self.type in _AWS_TYPE and not (self.type == "federated" and self.federation):
            found["aws:principalarn"] = (
                self.role_arn if self.type == "assumed-role" and self.role_arn else self.arn,
            )
            found["aws:principaltype"] = (_AWS_TYPE[self.type],)
        if self.account:
            found["aws:principalaccount"] = (self.account,)
        userid = self._userid()
        if userid:
            found["aws:userid"] = (userid,)
        if self.type == "user":
            found["aws:username"] = (self.arn.rsplit("/", 1)[-1],)
        for key, value in self.tags.items():
            found["aws:principaltag/" + key.lower()] = (value,)
        return found

    def _userid(self) -> str | None:
        """aws:userid as AWS sets it for each kind of caller."""
        if self.type == "assumed-role" and self.role_id and self.session_name:
            return f"{self.role_id}:{self.session_name}"
        if self.type == "root":
            return self.account
        if self.type == "federated" and self.federation is None and self.account:
            return f"{self.account}:{self.arn.rsplit('/', 1)[-1]}"
        return self.user_id


def _values(value: str | Iterable[str]) -> tuple[str, ...]:
    """A context value as a tuple of strings (a bare string is one value)."""
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)


@dataclass(frozen=True, slots=True)
class Request:
    """One question to the engine; context key names are case-insensitive (stored lowercased).

    Keys that follow from the principal (aws:PrincipalArn, aws:username, aws:PrincipalTag/…) are
    added when the caller did not give them.
    """

    principal: Principal
    action: str
    resource: str = "*"
    context: Mapping[str, str | Iterable[str]] = field(default_factory=dict)
    keys: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    action_lower: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys = dict(self.principal.derived)
        for name, value in self.context.items():
            keys[name.lower()] = _values(value)
        object.__setattr__(self, "keys", keys)
        object.__setattr__(self, "action_lower", self.action.lower())

    def get(self, key: str) -> tuple[str, ...] | None:
        """The values of a context key (any case), or None when absent."""
        return self.keys.get(key.lower())
