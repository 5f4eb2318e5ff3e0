"""`nself data anonymize` (in place, or --preview), `nself data anonymize init` and
`nself data sync` (nself.runtime.anonymize.api)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from nself.cli.common import EnvOption, JsonOption, console, environment, err_console, print_json
from nself.cli.safety import App, Destructive, ForceProductionOption

if TYPE_CHECKING:
    from nself.runtime.anonymize.engine import Progress as ProgressCallback
    from nself.runtime.anonymize.engine import SyncResult

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        metavar="FILE",
        help="Anonymisation rules (default nself/anonymize.yaml).",
        show_default=False,
    ),
]


@contextmanager
def table_progress(verb: str, quiet: bool) -> Iterator[ProgressCallback | None]:
    """A rich bar over the tables, one line naming the table being copied."""
    if quiet:
        yield None
        return
    # Here, not at the top: db's group imports this module for `db clone` alone.
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,  # a log gets the per-table lines printed after
    ) as bar:
        task = bar.add_task(verb, total=None)

        def update(position: int, total: int, table: str, rows: int | None) -> None:
            if rows is None:
                bar.update(task, total=total, description=f"{verb} {table}")
            else:
                bar.update(task, completed=position)

        yield update


def print_result(result: SyncResult, summary: str, as_json: bool, extra: dict[str, object]) -> None:
    if as_json:
        print_json(
            {
                **extra,
                "anonymized": result.anonymized,
                "tables": [
                    {"table": t.table, "rows": t.rows, "anonymized": list(t.anonymized)}
                    for t in result.tables
                ],
            }
        )
        return
    for item in result.tables:
        rewritten = f" (anonymised: {', '.join(item.anonymized)})" if item.anonymized else ""
        err_console.print(f"{item.table}: {item.rows} rows{rewritten}")
    console.print(summary)


def register(app: App) -> None:
    anonymize_app = App(
        help="Anonymise personal data: in place, --preview, or `init` to write the rules.",
        invoke_without_command=True,
    )
    app.add_typer(anonymize_app, name="anonymize")

    @anonymize_app.callback(destructive=Destructive("rewrite personal data in place", unless=("preview",)))
    def anonymize_command(
        ctx: typer.Context,
        config: ConfigOption = None,
        env: EnvOption = None,
        preview: Annotated[
            bool, typer.Option("--preview", help="Show rows before and after; change nothing.")
        ] = False,
        limit: Annotated[int, typer.Option("--limit", "-n", help="Rows per table for --preview.")] = 5,
        as_json: JsonOption = False,
    ) -> None:
        """Anonymise an environment's data in place with the rules of nself/anonymize.yaml, in
        one transaction. Refused on production environments (copy them with `data sync
        --anonymize`). The key comes from $NSELF_ANONYMIZE_KEY or nself.toml [anonymize] key.

        Examples:

          nself data anonymize --preview

          nself data anonymize --env staging --yes

          nself data anonymize init
        """
        if ctx.invoked_subcommand is not None:
            return
        from nself.runtime.anonymize.api import (
            anonymize_environment,
            preview_environment,
            refuse_in_place_on_production,
        )

        proj, environ = environment(env)
        if preview:
            shown = preview_environment(proj, environ, config_file=config, limit=limit)
            if as_json:
                print_json(
                    [
                        {
                            "table": t.table,
                            "columns": list(t.columns),
                            "before": [list(r) for r in t.before],
                            "after": [list(r) for r in t.after],
                            "problems": list(t.problems),
                        }
                        for t in shown
                    ]
                )
                return
            for item in shown:
                grid = Table(title=item.table, title_justify="left", show_lines=False)
                grid.add_column("column")
                grid.add_column("before")
                grid.add_column("after")
                for before, after in zip(item.before, item.after, strict=True):
                    for name, old, new in zip(item.columns, before, after, strict=True):
                        grid.add_row(name, "NULL" if old is None else old, "NULL" if new is None else new)
                    grid.add_section()
                console.print(grid)
                for problem in item.problems:
                    console.print(f"[red]would break:[/red] {item.table}: {problem}")
            console.print("preview only: nothing was changed")
            return
        refuse_in_place_on_production(environ)  # no --force-production: copy it with data sync --anonymize
        with table_progress("anonymising", as_json) as progress:
            result = anonymize_environment(proj, environ, config_file=config, progress=progress)
        print_result(
            result,
            f"{environ.name}: anonymised {sum(bool(t.anonymized) for t in result.tables)} table(s)",
            as_json,
            {"environment": environ.name},
        )

    @anonymize_app.command("init", destructive=False)
    def init_command(
        env: EnvOption = None,
        output: Annotated[
            Path | None,
            typer.Option(
                "--output",
                "-o",
                metavar="FILE",
                help="Where to write (default nself/anonymize.yaml).",
                show_default=False,
            ),
        ] = None,
        force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
        as_json: JsonOption = False,
    ) -> None:
        """Write nself/anonymize.yaml: a rule for every column that looks personal (from its
        name, type, comment and a sample of its values; JSON columns per key), each with a
        comment saying why.

        Examples:

          nself data anonymize init

          nself data anonymize init --env staging -o anonymize.yaml
        """
        from nself.runtime.anonymize.api import init_config

        proj, environ = environment(env)
        result = init_config(proj, environ, output=output, force=force)
        if as_json:
            print_json({"path": result.path, "columns": result.columns, "tables": result.tables})
            return
        console.print(f"wrote {result.path}: {result.columns} rule(s) in {result.tables} table(s); review it")

    @app.command(
        "sync",
        destructive=Destructive("replace the rows of the copied tables", target="target", force_production=True),
    )
    def sync_command(
        source: Annotated[str, typer.Option("--from", metavar="ENV", help="Environment to copy from.")],
        target: Annotated[
            str, typer.Option("--to", metavar="ENV", help="Environment whose rows are replaced.")
        ],
        anonymize: Annotated[
            bool, typer.Option("--anonymize", help="Anonymise on the way (required from production).")
        ] = False,
        config: ConfigOption = None,
        tables: Annotated[
            list[str] | None,
            typer.Option(
                "--table", "-t", metavar="TABLE", help="Only this table (schema.table or table; repeatable)."
            ),
        ] = None,
        subset: Annotated[
            Path | None,
            typer.Option(
                "--subset",
                metavar="FILE",
                help="Only the rows a subset file starts from, closed under foreign keys.",
                show_default=False,
            ),
        ] = None,
        force_production: ForceProductionOption = False,
        as_json: JsonOption = False,
    ) -> None:
        """Copy data (not schema) from one environment to another: one consistent snapshot of
        the source, streamed table by table into one transaction on the target, whose rows
        in those tables are replaced. From a production environment --anonymize is required.

        Examples:

          nself data sync --from prod --to staging --anonymize

          nself data sync --from local --to staging --table users

          nself data sync --from prod --to dev --anonymize --subset nself/subset.yaml
        """
        from nself.cli.common import project
        from nself.runtime.anonymize.api import sync_environments

        proj = project()
        source_env, target_env = proj.environment(source), proj.environment(target)
        with table_progress("copying", as_json) as progress:
            result = sync_environments(
                proj,
                source_env,
                target_env,
                anonymize=anonymize,
                config_file=config,
                tables=tables or (),
                subset_file=subset,
                force_production=force_production,
                progress=progress,
            )
        rows = sum(t.rows for t in result.tables)
        how = "anonymised " if result.anonymized else ""
        print_result(
            result,
            f"copied {rows} {how}rows in {len(result.tables)} tables from {source_env.name} to {target_env.name}",
            as_json,
            {"from": source_env.name, "to": target_env.name},
        )
