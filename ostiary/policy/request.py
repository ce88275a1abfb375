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
    `federation` ("web-identity" or "saml") and `provider`. `has_boundary` says a permissions
    boundary applies to the caller (`authorize` sets it when given one).
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
    has_boundary: bool = False
    is_current: bool = True  # False: the session's user or role was deleted (its name may name another now)
    derived: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    flat: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.type not in PRINCIPAL_TYPES:
            raise ValueError(f"unknown principal type `{self.type}`")
        derived = self.derived_context()
        object.__setattr__(self, "derived", derived)
        object.__setattr__(self, "flat", {key: values[0] for key, values in derived.items()})

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


_REFERENCED: set[str] = set()
_REFERENCED_LIMIT = 10_000  # past this many distinct keys, every key of a context is looked up
_every_key = False  # whether the limit was passed: policies' keys are then no longer remembered
_version = 0
_PICKS: dict[tuple[str, ...], tuple[int, tuple[tuple[str, str], ...]]] = {}
_PICKS_LIMIT = 1024


def reference_key(key: str) -> None:
    """Note a (lowercased) key that a compiled condition or a policy variable reads.

    The engine looks up only such keys in a request's context (`Request.lookup`). Policies with ever
    new keys (simulated, session or stored ones) must not grow the set without bound: past
    `_REFERENCED_LIMIT` keys it is dropped and every key of a context is looked up instead.
    """
    global _version, _every_key
    if _every_key or key in _REFERENCED:
        return
    if len(_REFERENCED) >= _REFERENCED_LIMIT:
        _every_key = True  # before the clear: a lookup in between picks more keys, never fewer
        _REFERENCED.clear()
    else:
        _REFERENCED.add(key)
    _version += 1


def _picks(context: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
    """(lowercased name, name as given) of the context's referenced keys (the last spelling wins)."""
    names = tuple(context)
    found = _PICKS.get(names)
    if found is None or found[0] != _version:
        version = _version
        picked: dict[str, str] = {}
        for name in names:
            lowered = name.lower()
            if _every_key or lowered in _REFERENCED:
                picked[lowered] = name
        found = (version, tuple(picked.items()))
        if len(_PICKS) >= _PICKS_LIMIT:
            _PICKS.clear()
        _PICKS[names] = found
    return found[1]


_NAMES: dict[tuple[str, ...], dict[str, str]] = {}
_NO_NAMES: dict[str, str] = {}


def context_names(context: Mapping[str, object]) -> dict[str, str]:
    """Lowercased name → name as given for every key of the context (the last spelling wins)."""
    if not context:
        return _NO_NAMES
    names = tuple(context)
    found = _NAMES.get(names)
    if found is None:
        found = {name.lower(): name for name in names}
        if len(_NAMES) >= _PICKS_LIMIT:
            _NAMES.clear()
        _NAMES[names] = found
    return found


class Request:
    """One question to the engine; context key names are case-insensitive.

    Keys that follow from the principal (aws:PrincipalArn, aws:username, aws:PrincipalTag/…) are
    added when the caller did not give them. The context is read when the request is decided.
    """

    __slots__ = ("_principal", "_action", "_resource", "_context", "_flat", "_version", "_keys")

    def __init__(
        self,
        principal: Principal,
        action: str,
        resource: str = "*",
        context: Mapping[str, str | Iterable[str]] | None = None,
    ) -> None:
        self._principal = principal
        self._action = action
        self._resource = resource
        self._context = {} if context is None else context
        # _flat, _version and _keys are set on first use (`lookup`, `keys`)

    principal = property(lambda self: self._principal, doc="Who asks.")
    action = property(lambda self: self._action, doc="The action as given.")
    resource = property(lambda self: self._resource, doc="The resource ARN (or `*`).")
    context = property(lambda self: self._context, doc="The context keys as given.")

    @property
    def action_lower(self) -> str:
        """The action, lowercased."""
        return self._action.lower()

    @property
    def keys(self) -> dict[str, tuple[str, ...]]:
        """Every context key (lowercased name) with its values, the principal's keys included."""
        try:
            return self._keys
        except AttributeError:
            keys = dict(self._principal.derived)
            for name, value in self._context.items():
                keys[name.lower()] = _values(value)
            self._keys: dict[str, tuple[str, ...]] = keys
            return keys

    def lookup(self) -> dict[str, object]:
        """The keys compiled policies read (lowercased names) with their values as given."""
        try:
            if self._version == _version:
                return self._flat
        except AttributeError:
            pass
        found: dict[str, object] = dict(self._principal.flat)
        context = self._context
        if context:
            for lowered, name in _picks(context):
                found[lowered] = context[name]
        self._flat: dict[str, object] = found
        self._version: int = _version
        return found

    def values(self, key: str) -> tuple[str, ...] | None:
        """The values of a (lowercased) key that compiled policies read, or None when absent."""
        value = self.lookup().get(key)
        if value is None:
            return None
        return (value,) if value.__class__ is str else _values(value)  # type: ignore[arg-type]

    def get(self, key: str) -> tuple[str, ...] | None:
        """The values of a context key (any case), or None when absent."""
        return self.keys.get(key.lower())

    def _fields(self) -> tuple[object, ...]:
        return (self._principal, self._action, self._resource, self._context)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Request) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return (
            f"Request(principal={self._principal!r}, action={self._action!r}, "
            f"resource={self._resource!r}, context={self._context!r})"
        )
