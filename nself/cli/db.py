"""`nself db`: the local cluster, and (in later modules) migrations, query, shell, dump."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from nself.cli.common import EnvOption, JsonOption, console, environment, print_json, project, warn
from nself.cli.quick import reader_gone, write_bytes
from nself.cli.safety import App, Destructive
from nself.errors import OptionError

if TYPE_CHECKING:
    from nself.runtime.local import ClusterStatus
    from nself.runtime.migrate import HistoryChange, MigrationRun
    from nself.runtime.project import Environment, Project

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
    from nself.runtime.local import start_local

    _print_status(start_local(proj, environ), as_json)


@app.command("stop", destructive=False)
def stop(env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Stop the local PostgreSQL cluster.

    Examples:

      nself db stop
    """
    proj, environ = environment(env)
    from nself.runtime.local import stop_local

    _print_status(stop_local(proj, environ), as_json)


@app.command("status", destructive=False)
def status(env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Show whether the local cluster runs, its URL and data folder.

    Examples:

      nself db status --json
    """
    proj, environ = environment(env)
    from nself.runtime.local import status_local

    _print_status(status_local(proj, environ), as_json)


# --------------------------------------------------------------------------- migrations


def _database_url(proj: Project, environ: Environment) -> str:
    from nself.runtime.local import database_url  # loads the cluster's module: only when a command runs

    return database_url(proj, environ)


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
    """Apply pending migrations of nself/migrations/ (or nself.toml's `migrations` folder) in
    order, each in its own transaction and from a clean session. Stops when an applied file was edited since (status changed).

    Examples:

      nself db migrate

      nself db migrate --env staging
    """
    from nself.runtime.migrate import apply_migrations

    proj, environ = environment(env)
    url = _database_url(proj, environ)
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
    for warning in run.warnings:
        warn(escape(warning))


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
    """Create nself/migrations/NNN_YYYYMMDD_NAME.sql with up and down sections (in a
    Supabase project: supabase/migrations/YYYYMMDDHHMMSS_NAME.sql, as its CLI writes them).

    Examples:

      nself db migrate:create create_users
    """
    from nself.runtime.migrate import create_migration

    proj = project()
    path = create_migration(_migrations_dir(proj), name, platform_layout=proj.platform is not None)
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
            _database_url(proj, environ),
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
    states = migration_status(_database_url(proj, environ), _migrations_dir(proj))
    if as_json:
        print_json([dataclasses.asdict(state) for state in states])
        return
    table = Table("version", "name", "status", "applied at", box=None)
    colours = {"applied": "green", "pending": "cyan", "changed": "red", "missing": "red"}
    for state in states:
        applied = f"{state.applied_at:%Y-%m-%d %H:%M:%S}" if state.applied_at else ""
        table.add_row(state.version, state.name, f"[{colours[state.status]}]{state.status}[/]", applied)
    console.print(table)


@app.command(
    "migrate:baseline",
    destructive=Destructive("mark migrations as applied without running them", force_production=True),
)
def migrate_baseline(
    version: Annotated[str, typer.Argument(help="The last migration the database already holds, e.g. 003.")],
    env: EnvOption = None,
    as_json: JsonOption = False,
) -> None:
    """Adopt an existing database: record every migration up to VERSION as applied without
    running it (Flyway's baseline). Later migrations stay pending. Asks first (--yes);
    refused on production unless --force-production.

    Examples:

      nself db migrate:baseline 003 --env staging
    """
    from nself.runtime.migrate import baseline_migrations

    proj, environ = environment(env)
    changes = baseline_migrations(_database_url(proj, environ), _migrations_dir(proj), version)
    _print_history_changes(changes, as_json, f"{environ.name}: nothing to baseline (already applied up to {version})")


@app.command(
    "migrate:adopt",
    destructive=Destructive("mark migrations as applied without running them", force_production=True),
)
def migrate_adopt(
    env: EnvOption = None,
    tool: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="The tool whose history to take: prisma, supabase, dbmate, golang-migrate, goose, diesel or atlas "
            "(default: the one whose history the database holds).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Move a database another tool migrated to nself: every migration that Prisma, the
    Supabase CLI, dbmate, golang-migrate, goose, diesel or Atlas recorded as applied is recorded in nself's
    history, without running anything; the rest stay pending. Refused, with nothing written,
    when that history holds a failed or dirty migration, a Prisma file edited since it was
    applied, or a migration with no file. Asks first (--yes); refused on production unless
    --force-production.

    Examples:

      nself db migrate:adopt

      nself db migrate:adopt --from prisma --env staging --yes
    """
    from nself.runtime.migrate import adopt_migrations

    proj, environ = environment(env)
    changes = adopt_migrations(_database_url(proj, environ), _migrations_dir(proj), tool)
    _print_history_changes(changes, as_json, f"{environ.name}: nothing to adopt (nself's history already has them)")


@app.command(
    "migrate:repair",
    destructive=Destructive("rewrite the migration history", force_production=True),
)
def migrate_repair(
    env: EnvOption = None,
    remove_missing: Annotated[
        bool, typer.Option("--remove-missing", help="Also forget applied migrations whose file is gone.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Make the history match the files without running any: applied files edited since
    (status changed) get their new checksum, so `migrate` runs again. Runs nothing on the
    schema: use it for edits that change no behaviour. Asks first (--yes); refused on
    production unless --force-production.

    Examples:

      nself db migrate:repair

      nself db migrate:repair --remove-missing --yes
    """
    from nself.runtime.migrate import repair_migrations

    proj, environ = environment(env)
    changes = repair_migrations(_database_url(proj, environ), _migrations_dir(proj), remove_missing=remove_missing)
    _print_history_changes(changes, as_json, f"{environ.name}: history already matches the files")


def _print_history_changes(changes: list[HistoryChange], as_json: bool, nothing: str) -> None:
    if as_json:
        print_json([dataclasses.asdict(change) for change in changes])
        return
    for change in changes:
        console.print(f"{change.change} {change.version} {change.file or change.name}")
    if not changes:
        console.print(nothing)


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
    from nself.runtime.platform import ensure_platform

    proj, environ = environment(env)
    url = _database_url(proj, environ)
    drop_everything(url)
    from nself.runtime.local import managed_platform

    if (platform := managed_platform(proj, environ)) is not None:
        ensure_platform(url, platform)  # the base went with everything else
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
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="Run this psql script (meta-commands included) with psql."),
    ] = None,
    env: EnvOption = None,
    as_json: JsonOption = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout, as psql --csv writes it.")] = False,
    unaligned: Annotated[
        bool, typer.Option("--unaligned", "-A", help="Rows as psql -At prints them: fields joined by |, no header.")
    ] = False,
) -> None:
    """Run SQL and print every statement's result in order, as psql does, values as
    PostgreSQL prints them. Rows are written as they arrive, so large results do not fill
    memory. --json: one statement gives an array of row objects; several give an array of
    result objects (docs/query.md). With --file, the
    script goes to psql (ON_ERROR_STOP, one transaction), as `db load` runs plain SQL.

    Examples:

      nself db query "select count(*) from users"

      nself db query "select * from orders" --csv > orders.csv

      nself db query -f report.sql
    """
    if (sql is None) == (file is None):
        raise OptionError("give either SQL as an argument or --file FILE")
    if sum((as_json, as_csv, unaligned)) > 1:
        raise OptionError("--json, --csv and --unaligned exclude each other")
    proj, environ = environment(env)
    if file is not None:
        if not file.is_file():
            raise OptionError(f"--file: file not found: {file}")
        if as_json:
            raise OptionError("--json: a --file script runs in psql, which writes text or CSV; use --csv or --unaligned")
        from nself.runtime.query import run_psql_script

        options = ["--csv"] if as_csv else ["-At"] if unaligned else []
        run_psql_script(_database_url(proj, environ), file, options)
        return
    if as_csv:
        from nself.runtime.query_csv import stream_csv

        with reader_gone(), stream_csv(_database_url(proj, environ), sql or "") as chunks:
            write_bytes(chunks)
        return
    from nself.runtime.query import stream_query

    with reader_gone(), stream_query(_database_url(proj, environ), sql or "") as results:
        if as_json:
            _write_json(results)
        elif unaligned:
            _write_lines(results, header=False, line=_unaligned_line())
        else:
            _print_tables(results)


if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from nself.runtime.query import QueryResults, QueryStream

    LineWriter = Callable[[Sequence[str | None]], str]


def _unaligned_line() -> LineWriter:
    from nself.runtime.query import unaligned_line

    return unaligned_line


def _write_lines(results: QueryResults, *, header: bool, line: LineWriter) -> None:
    """Each result as psql --csv / -At prints it: the header (CSV) and rows of a result
    with rows, then the command tag where psql prints one."""
    out = sys.stdout
    for result in results:
        if header and result.returns_rows:
            out.write(line([c.name for c in result.columns]) + "\n")
        for row in result.rows:
            out.write(line(row) + "\n")
        if result.shows_status:
            out.write(result.status + "\n")


def _write_json(results: QueryResults) -> None:
    """One statement: a JSON array of its row objects. Several: an array of one object a
    statement, {"line", "columns", "rows", "command"} ("columns" and "rows" only for a
    result with rows). Rows are written as they arrive, keys in column order."""
    from nself.runtime.query import json_object

    out = sys.stdout
    out.write("[")
    for number, result in enumerate(results):
        if results.count == 1:
            _write_json_rows(result, "\n  ", json_object)
            out.write("\n]\n" if result.columns else "]\n")
            return
        out.write(("," if number else "") + f'\n  {{"line": {result.line}')
        if result.returns_rows:
            out.write(', "columns": ' + json.dumps([c.name for c in result.columns]) + ', "rows": [')
            _write_json_rows(result, "\n    ", json_object)
            out.write("\n  ]" if result.columns else "]")
        out.write(', "command": ' + json.dumps(result.status) + "}")
    out.write("\n]\n" if results.count else "]\n")


def _write_json_rows(result: QueryStream, indent: str, json_object: Callable[..., str]) -> None:
    for count, row in enumerate(result.rows):
        sys.stdout.write(("," if count else "") + indent + json_object(result.columns, row))


def _print_tables(results: QueryResults) -> None:
    """Each result in order: its rows as tables and their count, then the command tag where
    psql prints one; results apart by a blank line, as psql sets them."""
    for number, result in enumerate(results):
        if number:
            console.print()
        if result.returns_rows:
            _print_table(result)
        if result.shows_status:
            console.print(result.status, markup=False)


def _print_table(result: QueryStream) -> None:
    from nself.cli import table_view

    utf = console.encoding.lower().startswith("utf")
    total = table_view.write_tables(
        console.file,
        [c.name for c in result.columns],
        result.rows,
        box=table_view.HEAVY_HEAD if utf else table_view.ASCII,
        style=table_view.COLOUR if console.color_system is not None else table_view.Style(),
    )
    console.print(f"({total} row{'s' if total != 1 else ''})")


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
    open_psql(_database_url(proj, environ), psql_args or [])


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
