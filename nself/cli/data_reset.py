"""`nself data reset`: empty an environment's database (nself.runtime.data_reset)."""

from __future__ import annotations

from typing import Annotated

import typer

from nself.cli.common import EnvOption, JsonOption, console, environment, err_console, print_json
from nself.cli.safety import App


def register(app: App) -> None:
    @app.command("reset", destructive="reset the data")
    def reset_command(
        env: EnvOption = None,
        keep_schema: Annotated[
            bool,
            typer.Option("--keep-schema", help="Keep schema and migration history; only empty the tables."),
        ] = False,
        keep_seeds: Annotated[
            bool, typer.Option("--keep-seeds", help="Run the environment's seeds again afterwards.")
        ] = False,
        as_json: JsonOption = False,
    ) -> None:
        """Clear all data: rebuild the database from the migrations, or with --keep-schema
        empty every table. Refused on production environments.

        Examples:

          nself data reset --yes

          nself data reset --keep-schema --keep-seeds --env staging
        """
        from nself.runtime.data_reset import reset_data
        from nself.runtime.local import database_url, managed_platform

        proj, environ = environment(env)
        url = database_url(proj, environ)
        with err_console.status("resetting") as status:
            result = reset_data(
                url,
                proj.migrations_dir,
                proj.seeds_path,
                environ.name,
                keep_schema=keep_schema,
                keep_seeds=keep_seeds,
                on_step=status.update,
                platform=managed_platform(proj, environ),
            )
        if as_json:
            print_json({"environment": environ.name, **result.__dict__})
            return
        if result.mode == "truncated":
            summary = f"emptied {len(result.tables)} table(s)"
        else:
            summary = f"dropped everything, applied {len(result.migrations)} migration(s)"
        if keep_seeds:
            summary += f", ran {len(result.seeds)} seed(s)"
        console.print(f"{environ.name}: {summary}")
