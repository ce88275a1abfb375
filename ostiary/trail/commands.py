"""`ostiary trail export --since TIME [--format jsonl|cloudtrail] [--to FOLDER] [--account-id ID]`."""

from __future__ import annotations

from pathlib import Path

import click

from ostiary.settings import Settings


@click.group()
def trail() -> None:
    """Read the audit trail beside a server."""


@trail.command("export")
@click.option("--since", required=True, help="ISO 8601 date or time (UTC unless it says otherwise)")
@click.option(
    "--format",
    "form",
    type=click.Choice(["jsonl", "cloudtrail"]),
    default="jsonl",
    show_default=True,
    help="jsonl: one record a line on standard output; cloudtrail: CloudTrail's gzipped files under --to",
)
@click.option("--to", "folder", type=click.Path(file_okay=False, path_type=Path), help="folder of the files")
@click.option("--account-id", default=None, help="one account's records only (default: every account's)")
@click.option("--data-dir", envvar="OSTIARY_DATA_DIR", default="./data", help="the server's data folder")
@click.option("--database-url", envvar="OSTIARY_DATABASE_URL", default=None, help="the server's database")
def export(
    since: str,
    form: str,
    folder: Path | None,
    account_id: str | None,
    data_dir: str,
    database_url: str | None,
) -> None:
    """Write the trail's records since a time (CloudTrail's record format)."""
    from ostiary.store import trail_store
    from ostiary.store.db import Database
    from ostiary.store.schema import is_created
    from ostiary.trail import export as exporting

    try:
        start = exporting.parse_since(since)
    except ValueError as exc:
        raise click.BadParameter(f"`{since}` is no ISO 8601 date or time", param_hint="--since") from exc
    if form == "cloudtrail" and folder is None:
        raise click.BadParameter("the cloudtrail format writes files: give the folder", param_hint="--to")
    settings = Settings.from_env(data_dir=data_dir, database_url=database_url)
    db = Database(settings.resolved_database_url, pool=False)
    try:
        if not is_created(db):
            raise click.ClickException(
                "no Ostiary store there: give the server's --data-dir or --database-url"
            )
        trail_store.prepare(db)  # a store this version's server has not opened yet keeps them in its file
        if form == "jsonl":
            for line in exporting.records(db, start, account_id):
                click.echo(line)
        else:
            assert folder is not None
            for path in exporting.write_files(db, start, folder, account_id):
                click.echo(str(path))
    finally:
        db.dispose()
