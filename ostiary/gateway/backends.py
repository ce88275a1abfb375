"""Which backend serves which service: `--backend SERVICE=URL` (repeatable, `*=URL` for every other
service) or `OSTIARY_BACKENDS` (comma-separated), and the backend's own credentials."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

ENV = "OSTIARY_BACKENDS"
ACCESS_KEY_ENV = "OSTIARY_BACKEND_ACCESS_KEY_ID"
SECRET_KEY_ENV = "OSTIARY_BACKEND_SECRET_ACCESS_KEY"
ACCOUNT_ENV = "OSTIARY_BACKEND_ACCOUNT_ID"  # the backend's own account (default: asked of its STS)
TIMEOUT_ENV = "OSTIARY_BACKEND_TIMEOUT"  # seconds a backend may stay silent before the client gets a 503
ANY_SERVICE = "*"
# Services Ostiary serves itself: a backend for them is refused.
SERVED_HERE = frozenset({"iam", "sts"})
_SERVICE = re.compile(r"^(?:\*|[a-z0-9][a-z0-9-]{0,62})$")


@dataclass(frozen=True)
class Backends:
    """Backend URLs by service (`*`: any service without its own) and the credentials to sign with."""

    urls: Mapping[str, str] = field(default_factory=dict)
    access_key_id: str = "test"
    secret_access_key: str = field(default="test", repr=False)
    timeout_seconds: float = 60.0
    account_id: str | None = None  # the account the backend writes into its ARNs (None: learned)

    def url_for(self, service: str) -> str | None:
        """The backend URL of `service`, or None when no backend serves it."""
        if service in SERVED_HERE:
            return None
        return self.urls.get(service) or self.urls.get(ANY_SERVICE)

    @property
    def services(self) -> frozenset[str]:
        """The services named with a backend of their own (not `*`)."""
        return frozenset(self.urls) - {ANY_SERVICE}


def parse_backends(specs: Iterable[str]) -> dict[str, str]:
    """`SERVICE=URL` specs as a dict; ValueError (our own words) for a malformed one."""
    urls: dict[str, str] = {}
    for spec in specs:
        spec = spec.strip()
        if not spec:
            continue
        service, sep, url = spec.partition("=")
        service, url = service.strip().lower(), url.strip().rstrip("/")
        if not sep or not _SERVICE.match(service):
            raise ValueError(f"`{spec}` is not SERVICE=URL")
        if service in SERVED_HERE:
            raise ValueError(f"`{service}` is served by Ostiary itself and takes no backend")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError(f"`{url}` is not an http(s) URL of a backend")
        urls[service] = url
    return urls


def from_environment(environ: Mapping[str, str] | None = None) -> Backends:
    """The backends `OSTIARY_BACKENDS` names, with `OSTIARY_BACKEND_*` credentials (default test/test)."""
    env = os.environ if environ is None else environ
    return Backends(
        urls=parse_backends(env.get(ENV, "").split(",")),
        access_key_id=env.get(ACCESS_KEY_ENV) or "test",
        secret_access_key=env.get(SECRET_KEY_ENV) or "test",
        timeout_seconds=_timeout(env.get(TIMEOUT_ENV)),
        account_id=_account(env.get(ACCOUNT_ENV)),
    )


def _account(text: str | None) -> str | None:
    """`OSTIARY_BACKEND_ACCOUNT_ID`: twelve digits, or None (learned); ValueError for anything else."""
    if not text:
        return None
    if not re.fullmatch(r"\d{12}", text.strip()):
        raise ValueError(f"{ACCOUNT_ENV} must be an account id of twelve digits, not {text}")
    return text.strip()


def _timeout(text: str | None) -> float:
    """`OSTIARY_BACKEND_TIMEOUT` in seconds (0.1 to 3600; default 60); ValueError for anything else."""
    if not text:
        return 60.0
    value = float(text)
    if not 0.1 <= value <= 3600:
        raise ValueError(f"{TIMEOUT_ENV} must be between 0.1 and 3600 seconds, not {text}")
    return value


def export_backends(specs: Iterable[str]) -> None:
    """`--backend` flags (when any, else `OSTIARY_BACKENDS` as it is) checked and put in `OSTIARY_BACKENDS`,
    where the app and every worker process read them; ValueError for a malformed one."""
    specs = tuple(specs) or tuple(os.environ.get(ENV, "").split(","))
    parse_backends(specs)
    os.environ[ENV] = ",".join(s.strip() for s in specs if s.strip())
