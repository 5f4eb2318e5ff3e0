"""`nself db clone`: recreate an environment's database from another's schema and data
(nself.runtime.anonymize.api.clone_environment)."""

from __future__ import annotations

from typing import Annotated

import typer

from nself.cli.common import JsonOption, project
from nself.cli.data_anonymize import ConfigOption, print_result, table_progress
from nself.cli.safety import App, Destructive, ForceProductionOption


def register(app: App) -> None:
    @app.command(
        "clone",
        destructive=Destructive(
            "drop and recreate the database", target=("to", "target"), force_production=True
        ),
    )
    def clone_command(
        target: Annotated[
            str | None, typer.Argument(metavar="[TO]", help="Environment to recreate (or --to).")
        ] = None,
        source: Annotated[
            str | None,
            typer.Option(
                "--from",
                metavar="ENV",
                help="Environment to clone (default: $NSELF_ENV, else local).",
                show_default=False,
            ),
        ] = None,
        to: Annotated[
            str | None,
            typer.Option("--to", metavar="ENV", help="Environment to recreate.", show_default=False),
        ] = None,
        anonymize: Annotated[
            bool,
            typer.Option("--anonymize", help="Anonymise the data on the way (required from production)."),
        ] = False,
        config: ConfigOption = None,
        force_production: ForceProductionOption = False,
        as_json: JsonOption = False,
    ) -> None:
        """Recreate the target's database: the source's schema (pg_dump --schema-only), then its
        rows through `data sync`. Destructive on the target; from production --anonymize is
        required.

        Examples:

          nself db clone --from prod --to staging --anonymize

          nself db clone staging
        """
        from nself.errors import OptionError
        from nself.runtime.anonymize.api import clone_environment

        if target is not None and to is not None and target != to:
            raise OptionError("give the target once: TO or --to")
        name = to or target
        if name is None:
            raise OptionError("--to: name the environment to recreate")
        proj = project()
        source_env, target_env = proj.environment(source), proj.environment(name)
        with table_progress("copying", as_json) as progress:
            result = clone_environment(
                proj,
                source_env,
                target_env,
                anonymize=anonymize,
                config_file=config,
                force_production=force_production,
                progress=progress,
            )
        how = "anonymised " if result.anonymized else ""
        print_result(
            result,
            f"cloned {source_env.name} into {target_env.name}: {len(result.tables)} tables, "
            f"{sum(t.rows for t in result.tables)} {how}rows",
            as_json,
            {"from": source_env.name, "to": target_env.name},
        )
