"""Server settings: one frozen dataclass, and SETTINGS naming each flag, its variable and its help."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ostiary.federation.egress import Network, parse_networks

# How the gateway applies its decisions (`--enforce`): refuse, log and let through, or not decide at all.
ENFORCED, SOFT, OFF = "enforced", "soft", "off"
ENFORCE_MODES = (ENFORCED, SOFT, OFF)


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    default: str | int | None
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("host", "OSTIARY_HOST", "127.0.0.1", "address to listen on"),
    Setting("port", "OSTIARY_PORT", 4566, "port to listen on"),
    Setting(
        "data_dir",
        "OSTIARY_DATA_DIR",
        "./data",
        "folder for the SQLite file, the keyring and root credentials",
    ),
    Setting(
        "database_url",
        "OSTIARY_DATABASE_URL",
        None,
        "SQLAlchemy URL; default a SQLite file in the data folder, postgresql+psycopg://... for PostgreSQL",
    ),
    Setting("account_id", "OSTIARY_ACCOUNT_ID", "123456789012", "the default account"),
    Setting(
        "auth",
        "OSTIARY_AUTH",
        "strict",
        "strict refuses unknown keys; permissive maps them to the administrator user ostiary-permissive",
    ),
    Setting(
        "enforce",
        "OSTIARY_ENFORCE",
        ENFORCED,
        "the gateway's decisions: enforced refuses; soft logs each would-be refusal and lets it through; "
        "off skips authorization (authentication still required); IAM and STS are always enforced",
    ),
    Setting("workers", "OSTIARY_WORKERS", 1, "server processes sharing the port (each a node: see README)"),
    Setting(
        "trusted_proxies",
        "OSTIARY_TRUSTED_PROXIES",
        None,
        "comma-separated addresses of reverse proxies whose X-Forwarded-For gives the client's address "
        "(aws:SourceIp); none by default, so no client can claim another address",
    ),
    Setting(
        "request_timeout",
        "OSTIARY_REQUEST_TIMEOUT",
        30,
        "seconds a request (line, headers and body) may take to arrive before the connection is closed",
    ),
    Setting(
        "log_format",
        "OSTIARY_LOG_FORMAT",
        "text",
        "text, or json: one JSON object a line, with the request id, and a line per request answered",
    ),
    Setting(
        "shutdown_timeout",
        "OSTIARY_SHUTDOWN_TIMEOUT",
        10,
        "seconds the requests under way may take to finish after SIGTERM; then the node stops anyway",
    ),
    Setting("region", "OSTIARY_REGION", "us-east-1", "region reported in ARNs that carry one"),
    Setting(
        "public_url",
        "OSTIARY_PUBLIC_URL",
        None,
        "the URL clients reach this server at (behind a proxy or a public name): the base of the outbound "
        "federation issuers; by default http(s)://HOST:PORT of the listen address",
    ),
    Setting(
        "oidc_private_targets",
        "OSTIARY_OIDC_PRIVATE_TARGETS",
        None,
        "comma-separated private networks (CIDR) an OIDC issuer's documents may be fetched from; "
        "none by default: only public addresses, and loopback (http too) for local issuers",
    ),
)


# The throttle of failed MFA codes and passwords: variables only, no `serve` flag (tests shorten them).
THROTTLE_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "failures",
        "OSTIARY_THROTTLE_FAILURES",
        5,
        "failed MFA codes or passwords of one user or device, within the window, before a pause",
    ),
    Setting("window_seconds", "OSTIARY_THROTTLE_WINDOW_SECONDS", 900, "the window those failures count in"),
    Setting("delay_seconds", "OSTIARY_THROTTLE_DELAY_SECONDS", 60, "the first pause; each next one doubles"),
    Setting("max_delay_seconds", "OSTIARY_THROTTLE_MAX_DELAY_SECONDS", 3600, "the longest pause"),
)


@dataclass(frozen=True)
class ThrottleLimits:
    """How failed MFA codes and passwords are throttled (THROTTLE_SETTINGS)."""

    failures: int = 5
    window_seconds: int = 900
    delay_seconds: int = 60
    max_delay_seconds: int = 3600  # a guesser gets 5 codes an hour: a 6-digit code takes years

    @classmethod
    def from_env(cls) -> ThrottleLimits:
        """The limits from OSTIARY_THROTTLE_* variables, each a positive integer, else the defaults."""
        values: dict[str, int] = {}
        for s in THROTTLE_SETTINGS:
            text = os.environ.get(s.env)
            if text is not None:
                if not (text.isascii() and text.isdigit() and int(text) > 0):
                    raise ValueError(f"{s.env} must be a positive integer, not `{text}`")
                values[s.name] = int(text)
        return cls(**values)


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 4566
    data_dir: Path = Path("./data")
    database_url: str | None = None
    account_id: str = "123456789012"
    auth: str = "strict"
    enforce: str = ENFORCED
    workers: int = 1
    region: str = "us-east-1"
    trusted_proxies: str | None = None
    request_timeout: int = 30
    log_format: str = "text"
    shutdown_timeout: int = 10
    oidc_private_targets: str | None = None
    public_url: str | None = None
    root_access_key_id: str | None = field(default=None)
    root_secret_access_key: str | None = field(default=None, repr=False)

    @property
    def oidc_private_networks(self) -> tuple[Network, ...]:
        """The networks of `oidc_private_targets`."""
        return parse_networks(self.oidc_private_targets)

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'ostiary.db').resolve()}"

    def environment(self) -> dict[str, str]:
        """These settings as OSTIARY_* variables, for worker processes that rebuild them with from_env."""
        env = {s.env: str(getattr(self, s.name)) for s in SETTINGS if getattr(self, s.name) is not None}
        env["OSTIARY_DATA_DIR"] = str(self.data_dir.resolve())
        return env

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from OSTIARY_* variables, then explicit overrides (flags) on top."""
        values: dict[str, object] = {}
        for s in SETTINGS:
            if s.env in os.environ:
                values[s.name] = os.environ[s.env]
        values["root_access_key_id"] = os.environ.get("OSTIARY_ROOT_ACCESS_KEY_ID")
        values["root_secret_access_key"] = os.environ.get("OSTIARY_ROOT_SECRET_ACCESS_KEY")
        values.update({k: v for k, v in overrides.items() if v is not None})
        for name in ("port", "workers", "request_timeout", "shutdown_timeout"):
            if name in values:
                values[name] = int(str(values[name]))
        if "data_dir" in values:
            values["data_dir"] = Path(str(values["data_dir"]))
        parse_networks(str(values.get("oidc_private_targets") or ""))  # ValueError names a bad one
        if values.get("auth") not in (None, "strict", "permissive"):
            raise ValueError(f"--auth must be strict or permissive, not `{values['auth']}`")
        if values.get("log_format") not in (None, "text", "json"):
            raise ValueError(f"--log-format must be text or json, not `{values['log_format']}`")
        if values.get("enforce") not in (None, *ENFORCE_MODES):
            raise ValueError(f"--enforce must be enforced, soft or off, not `{values['enforce']}`")
        return cls(**values)  # type: ignore[arg-type]  # values were coerced above
