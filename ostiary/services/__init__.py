"""The operations: one plain function per AWS operation, registered with `@operation`.

A handler takes a Context and the operation's input members in snake_case (botocore's xform_name of
each top-level member; nested values keep AWS's PascalCase keys) and returns the output shape as a
dict with AWS's member names. It raises AwsError subclasses. It never sees HTTP.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore import xform_name

from ostiary.auth.caller import Caller
from ostiary.errors import InvalidAction
from ostiary.frozen import quick_init
from ostiary.settings import Settings
from ostiary.store.db import Database
from ostiary.store.keyring import Keyring

log = logging.getLogger("ostiary.services")

Handler = Callable[..., dict[str, Any]]
_HANDLERS: dict[tuple[str, str], Handler] = {}
_BLOCKING: set[str] = set()

_TOKEN_SIZE = frozenset({"MinimumSessionTokenSize"})

# Members of the served models whose feature Ostiary does not have: the parser checks them against the
# model, then they are left out, as a query service ignores what it does not know (README, "What is
# partial"): a padded session token size (Ostiary's tokens are never packed), and the simulator's
# Organizations policies (Ostiary has no Organizations) and policy exclusions.
IGNORED_MEMBERS: dict[tuple[str, str], frozenset[str]] = {
    ("iam", "SimulateCustomPolicy"): frozenset({"OrderedOrganizationPolicyInputList"}),
    ("iam", "SimulatePrincipalPolicy"): frozenset({"PolicyExclusionList"}),
    ("sts", "AssumeRole"): _TOKEN_SIZE,
    ("sts", "AssumeRoleWithSAML"): _TOKEN_SIZE,
    ("sts", "AssumeRoleWithWebIdentity"): _TOKEN_SIZE,
    ("sts", "GetFederationToken"): _TOKEN_SIZE,
    ("sts", "GetSessionToken"): _TOKEN_SIZE,
}


@quick_init
@dataclass(frozen=True)
class Context:
    """What a handler may use: the store, the keyring, the settings and who is calling.

    `caller` is None only for the operations AWS takes unsigned (AssumeRoleWithWebIdentity/SAML).
    """

    db: Database
    keyring: Keyring
    settings: Settings
    caller: Caller | None
    request_id: str
    now: datetime
    source_ip: str = "127.0.0.1"
    region: str | None = None  # the region the request was signed for
    is_secure: bool = False  # whether it came over TLS

    @property
    def account_id(self) -> str:
        """The caller's account; an unsigned call has none (its handler takes the role's)."""
        if self.caller is None:
            raise TypeError("an unsigned call has no caller account")
        return self.caller.account_id


def operation(name: str, service: str = "iam", *, blocking: bool = False) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of `service`'s operation `name`.

    `blocking` marks an operation that may take long (argon2, an identity provider's keys fetched):
    the server runs it off its event loop so that it holds up no other request.
    """

    def register(fn: Handler) -> Handler:
        key = (service, name)
        if key in _HANDLERS:
            raise ValueError(f"operation `{service}:{name}` is registered twice")
        _HANDLERS[key] = fn
        if blocking:
            _BLOCKING.add(name)
        return fn

    return register


def handler_for(service: str, name: str) -> Handler | None:
    _load_all()
    return _HANDLERS.get((service, name))


def blocking_operations() -> frozenset[str]:
    """The names of the operations registered as blocking."""
    _load_all()
    return frozenset(_BLOCKING)


def implemented() -> list[tuple[str, str]]:
    """Every (service, operation) that has a handler."""
    _load_all()
    return sorted(_HANDLERS)


def dispatch(ctx: Context, service: str, name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Call the handler of one operation with its parameters in snake_case.

    The members of IGNORED_MEMBERS are left out. Any other member the handler does not take is left
    out too, with a warning, as AWS's query services ignore a parameter they do not know, never a
    crash: test_conventions holds every handler to its served model's members less the ignored ones,
    so only a model newer than the handlers could bring one.
    """
    fn = handler_for(service, name)
    if fn is None:
        raise InvalidAction(f"Ostiary does not implement {service}:{name} yet.")
    taken = _parameters(fn)
    ignored_here = IGNORED_MEMBERS.get((service, name), frozenset())
    arguments = {_snake(k): v for k, v in params.items() if k not in ignored_here}
    ignored = arguments.keys() - taken
    if ignored:
        log.warning("%s:%s ignored members its handler does not take: %s", service, name, sorted(ignored))
        arguments = {k: v for k, v in arguments.items() if k in taken}
    return fn(ctx, **arguments)


_snake = functools.cache(xform_name)  # a member name → its parameter name, worked out once per name


@functools.cache
def _parameters(fn: Handler) -> frozenset[str]:
    """The names a handler takes besides its context."""
    return frozenset(inspect.signature(fn).parameters) - {"ctx"}


_loaded = False


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    _loaded = True
