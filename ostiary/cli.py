"""The `ostiary` command: serve, policy validate|eval, account and admin commands."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.decorators import FC

from ostiary.policy_commands import policy as _policy_group
from ostiary.settings import ENFORCE_MODES, ENFORCED, OFF, SETTINGS, Settings
from ostiary.trail.commands import trail as _trail_group

if TYPE_CHECKING:
    from ostiary.store.db import Database
    from ostiary.store.keyring import Keyring


@click.group()
@click.version_option(package_name="ostiary")
def main() -> None:
    """Ostiary: AWS IAM and STS that you run yourself."""


def _setting(name: str, *param_decls: str, **overrides: Any) -> Callable[[FC], FC]:
    """The option of a setting: its flag, variable, default and help as SETTINGS names them."""
    setting = next(s for s in SETTINGS if s.name == name)
    options: dict[str, Any] = {
        "envvar": setting.env,
        "default": setting.default,
        "show_default": setting.default is not None,
        "help": setting.help,
    }
    return click.option("--" + name.replace("_", "-"), *param_decls, **(options | overrides))


def _store_options(fn: FC) -> FC:
    return _setting("data_dir")(_setting("database_url")(fn))


def _existing_store(settings: Settings, *, pool: bool = True) -> tuple[Database, Keyring]:
    """The store `ostiary serve` made at these settings' location; a click error naming the location
    when it holds none (credentials sealed with a new keyring would be refused by the server)."""
    from ostiary.bootstrap import open_store
    from ostiary.store.db import Database
    from ostiary.store.schema import is_created

    where = f"`{settings.data_dir.resolve()}`"
    hint = "run it where `ostiary serve` keeps its store, or give that --data-dir (OSTIARY_DATA_DIR)"
    if not os.environ.get("OSTIARY_KEYRING_KEY") and not (settings.data_dir / "keyring").is_file():
        raise click.ClickException(f"{where} holds no Ostiary store (no keyring there): {hint}")
    url = settings.resolved_database_url
    sqlite_file = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else None
    if sqlite_file is not None and not Path(sqlite_file).is_file():
        raise click.ClickException(f"{where} holds no Ostiary store (no `{sqlite_file}`): {hint}")
    probe = Database(url, pool=False)
    try:
        if not is_created(probe):
            raise click.ClickException(
                f"the database of {where} holds no Ostiary store (`ostiary serve` never ran on it): {hint}"
            )
    finally:
        probe.dispose()
    return open_store(settings, pool=pool)


@main.command()
@_setting("host")
@_setting("port", type=int)
@_store_options
@_setting("account_id")
@_setting("auth", type=click.Choice(["strict", "permissive"]))
@_setting("enforce", type=click.Choice(ENFORCE_MODES))
@_setting("workers", type=click.IntRange(1, 64))
@_setting("trusted_proxies")
@_setting("request_timeout", type=click.IntRange(1, 3600))
@_setting("log_format", type=click.Choice(["text", "json"]))
@_setting("shutdown_timeout", type=click.IntRange(0, 3600))
@_setting("oidc_private_targets")
@_setting("public_url")
@click.option(
    "--backend",
    "backend",
    multiple=True,
    help="SERVICE=URL: authorize SERVICE's requests here and forward them to URL (repeatable; `*=URL` "
    "for every other service; default from OSTIARY_BACKENDS, comma-separated)",
)
@click.option("--log-level", default="warning", show_default=True, help="uvicorn log level")
def serve(
    host: str,
    port: int,
    data_dir: str,
    database_url: str | None,
    account_id: str,
    auth: str,
    enforce: str,
    workers: int,
    trusted_proxies: str | None,
    request_timeout: int,
    log_format: str,
    shutdown_timeout: int,
    oidc_private_targets: str | None,
    public_url: str | None,
    backend: tuple[str, ...],
    log_level: str,
) -> None:
    """Start the IAM and STS endpoint."""
    from ostiary.app import OstiaryApp
    from ostiary.bootstrap import ensure_default_account, ensure_permissive_user, open_store
    from ostiary.gateway.backends import export_backends
    from ostiary.operations import logs, metrics
    from ostiary.server import run_server, run_workers

    logs.configure(log_format)
    settings = Settings.from_env(
        host=host,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        account_id=account_id,
        auth=auth,
        enforce=enforce,
        workers=workers,
        trusted_proxies=trusted_proxies,
        request_timeout=request_timeout,
        log_format=log_format,
        shutdown_timeout=shutdown_timeout,
        oidc_private_targets=oidc_private_targets,
        public_url=public_url,
    )
    try:  # the app, and every worker, reads them from OSTIARY_BACKENDS
        export_backends(backend)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--backend") from exc
    db, keyring = open_store(settings)
    creds = ensure_default_account(settings, db, keyring)
    ensure_permissive_user(settings, db)
    _announce(settings, creds)
    if workers > 1:
        db.dispose()
        os.environ.update(settings.environment())
        metrics.prepare_workers(settings.data_dir / "metrics")
        run_workers(
            "ostiary.app:app_from_environment",
            workers,
            host=host,
            port=port,
            log_level=log_level,
            trusted_proxies=trusted_proxies,
            request_timeout=request_timeout,
            log_format=log_format,
            shutdown_timeout=shutdown_timeout,
        )
        return
    app = OstiaryApp(settings, db, keyring)
    run_server(
        app,
        host=host,
        port=port,
        log_level=log_level,
        trusted_proxies=trusted_proxies,
        request_timeout=request_timeout,
        log_format=log_format,
        shutdown_timeout=shutdown_timeout,
    )
    db.dispose()


def _announce(settings: Settings, creds: Path | None) -> None:
    """Say where the server listens, in which modes, and where the root credentials are."""
    from ostiary.bootstrap import PERMISSIVE_USER

    say = click.echo if settings.log_format == "text" else logging.getLogger("ostiary").info  # JSON lines
    endpoint = f"http://{settings.host}:{settings.port}"
    say(f"Ostiary listening on {endpoint}  (account {settings.account_id}, auth {settings.auth})")
    if settings.auth == "permissive":
        say(f"unknown access keys act as arn:aws:iam::{settings.account_id}:user/{PERMISSIVE_USER}")
    if settings.enforce != ENFORCED:
        what = "skips authorization" if settings.enforce == OFF else "logs its refusals and lets them through"
        say(f"the gateway {what} (--enforce {settings.enforce}); IAM and STS are enforced")
    if creds is not None:
        say(f"root credentials: {creds}")
    elif settings.root_access_key_id:
        say("root credentials: from OSTIARY_ROOT_ACCESS_KEY_ID / OSTIARY_ROOT_SECRET_ACCESS_KEY")
    sys.stdout.flush()


@main.command("root-credentials")
@_setting("data_dir")
@_setting("host", help="the address `ostiary serve` listens on (for AWS_ENDPOINT_URL)")
@_setting("port", type=int, help="the port `ostiary serve` listens on (for AWS_ENDPOINT_URL)")
@_setting("region")
@click.option(
    "--profile",
    default=None,
    help="write them as this AWS profile (~/.aws/credentials and ~/.aws/config) instead of printing",
)
def root_credentials(data_dir: str, host: str, port: int, region: str, profile: str | None) -> None:
    """Print the default account's root credentials as `export` lines for a shell.

    \b
    eval "$(ostiary root-credentials)"     sets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
                                           AWS_ENDPOINT_URL and AWS_DEFAULT_REGION
    ostiary root-credentials --profile ostiary   then: aws --profile ostiary iam list-users

    They come from OSTIARY_ROOT_ACCESS_KEY_ID / OSTIARY_ROOT_SECRET_ACCESS_KEY when set, else from
    the root-credentials.json that the first `ostiary serve` wrote in the data folder.
    """
    import json
    import shlex

    from ostiary.bootstrap import ROOT_CREDENTIALS_FILE

    settings = Settings.from_env(data_dir=data_dir, host=host, port=port, region=region)
    key_id, secret = settings.root_access_key_id, settings.root_secret_access_key
    if not (key_id and secret):
        path = settings.data_dir / ROOT_CREDENTIALS_FILE
        if not path.is_file():
            raise click.ClickException(
                f"`{path.resolve()}` does not exist: run it where `ostiary serve` keeps its store, "
                "or give that --data-dir (OSTIARY_DATA_DIR)"
            )
        stored = json.loads(path.read_text())
        key_id, secret = stored["AccessKeyId"], stored["SecretAccessKey"]
    values = {
        "AWS_ACCESS_KEY_ID": key_id,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_ENDPOINT_URL": f"http://{settings.host}:{settings.port}",
        "AWS_DEFAULT_REGION": settings.region,
    }
    if profile is None:
        for name, value in values.items():
            click.echo(f"export {name}={shlex.quote(value)}")
        return
    _write_profile(profile, values)
    click.echo(f"profile `{profile}` written: aws --profile {profile} sts get-caller-identity")


def _write_profile(profile: str, values: dict[str, str]) -> None:
    """Write an AWS profile where the SDKs look (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE)."""
    import configparser

    home = Path.home() / ".aws"
    credentials = Path(os.environ.get("AWS_SHARED_CREDENTIALS_FILE", home / "credentials"))
    config = Path(os.environ.get("AWS_CONFIG_FILE", home / "config"))
    section = "default" if profile == "default" else f"profile {profile}"
    for path, name, entries in (
        (
            credentials,
            profile,
            {
                "aws_access_key_id": values["AWS_ACCESS_KEY_ID"],
                "aws_secret_access_key": values["AWS_SECRET_ACCESS_KEY"],
            },
        ),
        (
            config,
            section,
            {"endpoint_url": values["AWS_ENDPOINT_URL"], "region": values["AWS_DEFAULT_REGION"]},
        ),
    ):
        parser = configparser.RawConfigParser()
        parser.read(path)
        parser[name] = entries
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            parser.write(f)


@main.group()
def account() -> None:
    """Manage accounts."""


@account.command("create")
@_store_options
@click.option("--account-id", default=None, help="the new account's id (default: random)")
def account_create(data_dir: str, database_url: str | None, account_id: str | None) -> None:
    """Create an account; print its id and root credentials as one JSON object."""
    import json

    from ostiary.bootstrap import create_account

    settings = Settings.from_env(data_dir=data_dir, database_url=database_url)
    db, keyring = _existing_store(settings, pool=False)
    click.echo(json.dumps(create_account(db, keyring, account_id)))


@main.command("service-credentials")
@_store_options
@click.argument("service")
@_setting("account_id", help="the account the service acts in")
@click.option(
    "--duration-seconds",
    default=365 * 86400,
    show_default=True,
    type=click.IntRange(900),
    help="how long the credentials stay valid",
)
@click.option(
    "--credential-process",
    "as_process",
    is_flag=True,
    help="print in the SDKs' credential_process format (Version 1)",
)
def service_credentials(
    data_dir: str,
    database_url: str | None,
    service: str,
    account_id: str,
    duration_seconds: int,
    as_process: bool,
) -> None:
    """Print credentials of a service principal (e.g. dynamodb.amazonaws.com) as one JSON object.

    They may assume exactly the roles whose trust policies name SERVICE; they are a sealed session
    token, so any server sharing this keyring accepts them until they expire.
    """
    import json
    import re
    from datetime import UTC, datetime

    from ostiary.services.sts import service_session

    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*\.[a-z0-9-]+", service):
        raise click.BadParameter(f"`{service}` is not a service principal name", param_hint="SERVICE")
    settings = Settings.from_env(data_dir=data_dir, database_url=database_url, account_id=account_id)
    _db, keyring = _existing_store(settings, pool=False)
    creds = service_session(keyring, settings.account_id, service, duration_seconds, datetime.now(UTC))
    if as_process:
        creds = {"Version": 1, **{k: v for k, v in creds.items() if k != "AccountId"}}
    click.echo(json.dumps(creds))


main.add_command(_policy_group)
main.add_command(_trail_group)


@main.command()
@_store_options
@click.option(
    "--instance-profile", "profile_name", required=True, help="the instance profile the instance runs with"
)
@click.option("--port", default=1338, show_default=True, type=int, help="port to listen on")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--instance-id", default=None, help="the instance id (default: a random i-...)")
@click.option("--v2-only", is_flag=True, help="require IMDSv2 session tokens (refuse IMDSv1)")
@click.option(
    "--session-seconds",
    default=21600,
    show_default=True,
    type=click.IntRange(1, 43200),
    help="length of the role sessions handed out, as EC2's (capped by the role's MaxSessionDuration); "
    "short ones show a client renewing its credentials",
)
@_setting("account_id", help="the account of the instance profile")
@click.option("--log-level", default="warning", show_default=True, help="uvicorn log level")
def imds(
    data_dir: str,
    database_url: str | None,
    profile_name: str,
    port: int,
    host: str,
    instance_id: str | None,
    v2_only: bool,
    session_seconds: int,
    account_id: str,
    log_level: str,
) -> None:
    """Serve the EC2 instance metadata endpoint with the role credentials of an instance profile."""
    import secrets

    from ostiary.imds.app import MetadataApp
    from ostiary.imds.credentials import RoleCredentials
    from ostiary.server import run_server

    settings = Settings.from_env(data_dir=data_dir, database_url=database_url, account_id=account_id)
    db, keyring = _existing_store(settings)
    instance = instance_id or f"i-{secrets.token_hex(8)[:17]}"
    creds = RoleCredentials(db, keyring, settings, profile_name, instance)
    from ostiary.errors import AwsError

    try:
        creds.profile()  # fail now, not on the first request, when the profile does not exist
    except AwsError as exc:
        raise click.ClickException(exc.message) from exc
    creds.session_seconds = session_seconds
    click.echo(f"Instance metadata of {instance} ({profile_name}) on http://{host}:{port}")
    sys.stdout.flush()
    run_server(MetadataApp(creds, instance, v2_only=v2_only), host=host, port=port, log_level=log_level)
    db.dispose()


@main.command()
@_store_options
@click.option("--user-name", required=True, help="the IAM user signing in")
@_setting("account_id", help="the user's account")
@click.option(
    "--password",
    envvar="OSTIARY_PASSWORD",
    prompt=True,
    hide_input=True,
    help="the console password (prompted for when not given; or OSTIARY_PASSWORD)",
)
@click.option("--mfa-code", default=None, help="the current code of the user's MFA device, if it has one")
def signin(
    data_dir: str,
    database_url: str | None,
    user_name: str,
    account_id: str,
    password: str,
    mfa_code: str | None,
) -> None:
    """Sign in with a console password (and MFA code); print the session's credentials as JSON."""
    import json

    from ostiary.signin import SignInRefused, sign_in

    settings = Settings.from_env(data_dir=data_dir, database_url=database_url, account_id=account_id)
    db, keyring = _existing_store(settings, pool=False)
    try:
        click.echo(json.dumps(sign_in(db, keyring, settings.account_id, user_name, password, mfa_code)))
    except SignInRefused as exc:
        raise click.ClickException(str(exc)) from exc


@main.command("backup")
@_store_options
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--include-keyring",
    is_flag=True,
    help="put the keyring's key in the archive too (then the archive alone opens every secret: keep it "
    "as safe as the key); by default the operator keeps the key apart",
)
def backup_command(data_dir: str, database_url: str | None, file: Path, include_keyring: bool) -> None:
    """Write a consistent backup of the store to FILE, while the server serves."""
    import base64

    from ostiary.operations.archive import ArchiveError
    from ostiary.operations.backup import backup

    settings = Settings.from_env(data_dir=data_dir, database_url=database_url)
    db, keyring = _existing_store(settings, pool=False)
    db.dispose()
    material: bytes | None = None
    if include_keyring:
        env = os.environ.get("OSTIARY_KEYRING_KEY")
        material = (
            base64.b64encode(base64.b64decode(env)) if env else (settings.data_dir / "keyring").read_bytes()
        )
    try:
        manifest = backup(settings.resolved_database_url, keyring, material, file)
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from exc
    rows = sum(manifest.tables.values())
    kept = "with the keyring" if include_keyring else "without the keyring (keep the key apart)"
    click.echo(f"backup of {rows} rows (revision {manifest.revision}) written to {file}, {kept}")


@main.command("restore")
@_store_options
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--keyring-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="the keyring file the backup was taken with, when the backup holds none and the data folder "
    "has none (or OSTIARY_KEYRING_KEY)",
)
def restore_command(data_dir: str, database_url: str | None, file: Path, keyring_file: Path | None) -> None:
    """Restore the backup FILE into an empty store (a new data folder or database)."""
    from ostiary.bootstrap import private_data_dir
    from ostiary.operations.archive import ArchiveError
    from ostiary.operations.restore import restore_store

    settings = Settings.from_env(data_dir=data_dir, database_url=database_url)
    private_data_dir(settings.data_dir)
    try:
        counts = restore_store(file, settings.data_dir, settings.resolved_database_url, keyring_file)
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored {sum(counts.values())} rows from {file}")


@main.group()
def keyring() -> None:
    """Manage the keyring that seals the store's secrets."""


@keyring.command("rotate")
@_store_options
@click.option(
    "--keep-old-key",
    is_flag=True,
    help="leave the old key in the keyring file, opening only, so that session tokens sealed under it "
    "keep working until they expire; running the command again retires it",
)
def keyring_rotate(data_dir: str, database_url: str | None, keep_old_key: bool) -> None:
    """Re-seal every secret of the store under a new key while servers serve, then retire the old key.

    A keyring file that still holds a retiring key (an interrupted rotation, or --keep-old-key) is
    finished instead: anything left under the old key is re-sealed and the old key retired.
    """
    from ostiary.operations.rekey import RotationError, rotate

    settings = Settings.from_env(data_dir=data_dir, database_url=database_url)
    if os.environ.get("OSTIARY_KEYRING_KEY"):
        raise click.ClickException(
            "the key comes from OSTIARY_KEYRING_KEY: rotation rewrites the keyring file, so run the "
            "servers on a keyring file (--data-dir) to rotate"
        )
    db, _keyring = _existing_store(settings, pool=False)
    try:
        resealed = rotate(db, settings.data_dir / "keyring", keep_old=keep_old_key)
    except RotationError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        db.dispose()
    kept = "; the old key still opens older session tokens" if keep_old_key else "; the old key is retired"
    click.echo(f"keyring rotated: {sum(resealed.values())} secrets re-sealed under the new key{kept}")
