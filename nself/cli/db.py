"""`nself db`: the local cluster, and (in later modules) migrations, query, shell, dump."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from nself.cli.common import EnvOption, JsonOption, console, environment, print_json, project
from nself.cli.safety import App, Destructive
from nself.errors import OptionError
from nself.runtime.local import ClusterStatus, database_url, start_local, status_local, stop_local
from nself.runtime.project import Project

if TYPE_CHECKING:
    from nself.runtime.migrate import MigrationRun

# Modules that load psycopg or pglast (runtime.migrate, runtime.query) are imported inside
# the commands that use them, so that `nself --help` and unrelated commands start fast.

app = App(help="Database operations: local cluster, migrations, queries, dumps.", no_args_is_help=True)


def _print_status(status: ClusterStatus, as_json: bool) -> None:
    if as_json:
        print_json(dataclasses.asdict(status))
        return
    state = "[green]running[/green]" if status.running else "[red]stopped[/red]"
    version = f" (PostgreSQL {status.server_version})" if status.server_version else ""
    console.print(f"{status.environment}: {state}{version}")
    console.print(f"  url:  {status.url}")
    console.print(f"  data: {status.data_dir}")
    if status.wal_archive:
        console.print(f"  wal archive: {status.wal_archive}")
    for note in status.notes:
        console.print(f"  [yellow]{note}[/yellow]")


@app.command("start", destructive=False)
def start(env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Start the local PostgreSQL cluster under .nself/ (initialising it on first use).

    Examples:

      nself db start
    """
    proj, environ = environment(env)
    _print_status(start_local(proj, environ), as_json)


@app.command("stop", destructive=False)
def stop(env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Stop the local PostgreSQL cluster.

    Examples:

      nself db stop
    """
    proj, environ = environment(env)
    _print_status(stop_local(proj, environ), as_json)


@app.command("status", destructive=False)
def status(env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Show whether the local cluster runs, its URL and data folder.

    Examples:

      nself db status --json
    """
    proj, environ = environment(env)
    _print_status(status_local(proj, environ), as_json)


# --------------------------------------------------------------------------- migrations


def _migrations_dir(proj: Project) -> Path:
    return proj.migrations_dir


@app.command("migrate", destructive=False)
def migrate(
    env: EnvOption = None,
    as_json: JsonOption = False,
    allow_changed: Annotated[
        bool,
        typer.Option("--allow-changed", help="Apply pending files even if an applied one was edited since."),
    ] = False,
) -> None:
    """Apply pending migrations of nself/migrations/ in order, each in its own transaction
    and from a clean session. Stops when an applied file was edited since (status changed).

    Examples:

      nself db migrate

      nself db migrate --env staging
    """
    from nself.runtime.migrate import apply_migrations

    proj, environ = environment(env)
    url = database_url(proj, environ)
    done: list[MigrationRun] = []
    with console.status("migrating") as status, _report_on_failure(done, as_json):
        apply_migrations(
            url,
            _migrations_dir(proj),
            on_start=lambda m: status.update(f"applying {m.path.name}"),
            on_done=lambda run: _completed(run, done, as_json),
            allow_changed=allow_changed,
        )
    if as_json:
        print_json([dataclasses.asdict(run) for run in done])
    elif not done:
        console.print(f"{environ.name}: up to date")


def _completed(run: MigrationRun, done: list[MigrationRun], as_json: bool) -> None:
    """Print a migration as soon as it is applied or rolled back: a later failure still shows it."""
    done.append(run)
    if not as_json:
        verb = "[green]applied[/green]" if run.direction == "up" else "[yellow]rolled back[/yellow]"
        console.print(f"{verb} {run.file} ({run.duration_ms} ms)")


@contextlib.contextmanager
def _report_on_failure(done: list[MigrationRun], as_json: bool) -> Iterator[None]:
    """With --json, a failure still prints the migrations completed before it (the error
    itself goes to stderr as usual)."""
    try:
        yield
    except Exception:
        if as_json:
            print_json([dataclasses.asdict(run) for run in done])
        raise


@app.command("migrate:create", destructive=False)
def migrate_create(name: Annotated[str, typer.Argument(help="What the migration does, e.g. add_posts.")]) -> None:
    """Create nself/migrations/NNN_YYYYMMDD_NAME.sql with up and down sections.

    Examples:

      nself db migrate:create create_users
    """
    from nself.runtime.migrate import create_migration

    path = create_migration(_migrations_dir(project()), name)
    console.print(f"created {path}")


@app.command(
    "migrate:rollback",
    destructive=Destructive("run the down sections of applied migrations", force_production=True),
)
def migrate_rollback(
    env: EnvOption = None,
    steps: Annotated[int, typer.Option("--steps", "-n", help="How many migrations to roll back.")] = 1,
    as_json: JsonOption = False,
) -> None:
    """Run the down sections of the most recently applied migrations. Refused on production
    environments unless --force-production.

    Examples:

      nself db migrate:rollback

      nself db migrate:rollback --steps 3
    """
    from nself.runtime.migrate import rollback_migrations

    proj, environ = environment(env)
    done: list[MigrationRun] = []
    with _report_on_failure(done, as_json):
        rollback_migrations(
            database_url(proj, environ),
            _migrations_dir(proj),
            steps=steps,
            on_done=lambda run: _completed(run, done, as_json),
        )
    if as_json:
        print_json([dataclasses.asdict(run) for run in done])


@app.command("migrate:status", destructive=False)
def migrate_status(env: EnvOption = None, as_json: JsonOption = False) -> None:
    """List migrations as applied, pending, changed (edited after it was applied) or
    missing (applied, but its file is gone).

    Examples:

      nself db migrate:status

      nself db migrate:status --json
    """
    from nself.runtime.migrate import migration_status

    proj, environ = environment(env)
    states = migration_status(database_url(proj, environ), _migrations_dir(proj))
    if as_json:
        print_json([dataclasses.asdict(state) for state in states])
        return
    table = Table("version", "name", "status", "applied at", box=None)
    colours = {"applied": "green", "pending": "cyan", "changed": "red", "missing": "red"}
    for state in states:
        applied = f"{state.applied_at:%Y-%m-%d %H:%M:%S}" if state.applied_at else ""
        table.add_row(state.version, state.name, f"[{colours[state.status]}]{state.status}[/]", applied)
    console.print(table)


@app.command("migrate:fresh", destructive="drop everything and re-run migrations")
def migrate_fresh(env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Drop every schema of the database and apply all migrations again. Refused on
    production environments.

    With --json, prints the migrations applied as `db migrate --json` does.

    Examples:

      nself db migrate:fresh --yes

      nself db migrate:fresh --yes --json
    """
    from nself.runtime.migrate import apply_migrations, drop_everything

    proj, environ = environment(env)
    url = database_url(proj, environ)
    drop_everything(url)
    done: list[MigrationRun] = []
    with _report_on_failure(done, as_json):
        runs = apply_migrations(url, _migrations_dir(proj), on_done=lambda run: _completed(run, done, as_json))
    if as_json:
        print_json([dataclasses.asdict(run) for run in done])
        return
    console.print(f"{environ.name}: dropped everything, applied {len(runs)} migration(s)")


# --------------------------------------------------------------------------- queries


# db query and db shell run the SQL the user typed: what it does is the user's own statement,
# not something nself decides to destroy (docs/production-safety.md).
@app.command("query", destructive=False)
def query(
    sql: Annotated[str | None, typer.Argument(help="SQL to run.", show_default=False)] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Run the SQL in this file.")] = None,
    env: EnvOption = None,
    as_json: JsonOption = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout.")] = False,
) -> None:
    """Run SQL and print what the last statement returns.

    Examples:

      nself db query "select count(*) from users"

      nself db query -f report.sql --csv
    """
    if (sql is None) == (file is None):
        raise OptionError("give either SQL as an argument or --file FILE")
    if file is not None:
        if not file.is_file():
            raise OptionError(f"--file: file not found: {file}")
        text, source = file.read_text(encoding="utf-8"), str(file)
    else:
        text, source = sql or "", "<query>"
    from nself.runtime.query import run_query

    proj, environ = environment(env)
    result = run_query(database_url(proj, environ), text, source)
    if as_json:
        print_json([dict(zip(result.columns, row, strict=True)) for row in result.rows])
    elif as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
    elif result.columns:
        table = Table(*result.columns)
        for row in result.rows:
            table.add_row(*("NULL" if v is None else str(v) for v in row))
        console.print(table)
        console.print(f"({len(result.rows)} row{'s' if len(result.rows) != 1 else ''})")
    else:
        console.print(result.status)


@app.command("shell", destructive=False)
def shell(
    env: EnvOption = None,
    psql_args: Annotated[
        list[str] | None,
        typer.Argument(metavar="[-- PSQL_OPTIONS...]", help="Passed to psql as they are.", show_default=False),
    ] = None,
) -> None:
    """Open psql on the environment (the password is passed in the environment, not argv).
    Options after `--` go to psql. SQL piped in stops at its first error and exits non-zero
    (ON_ERROR_STOP), as a script should.

    Examples:

      nself db shell

      nself db shell --env staging -- -c "select count(*) from users"

      nself db shell < fix.sql
    """
    from nself.runtime.query import open_psql

    proj, environ = environment(env)
    open_psql(database_url(proj, environ), psql_args or [])


from nself.cli import db_lint  # noqa: E402  (registers into app, so it comes after it)

db_lint.register(app)

from nself.cli import db_inspect  # noqa: E402  (registers into app, so it comes after it)

db_inspect.register(app)

from nself.cli import db_dump  # noqa: E402  (registers into app, so it comes after it)

db_dump.register(app)

from nself.cli import db_test  # noqa: E402  (registers into app, so it comes after it)

db_test.register(app)

from nself.cli import db_branch  # noqa: E402  (registers into app, so it comes after it)

db_branch.register(app)

from nself.cli import db_clone  # noqa: E402  (registers into app, so it comes after it)

db_clone.register(app)
