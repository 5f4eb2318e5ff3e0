"""`nself restore`: bring an environment back to a backup or a point in time
(nself.runtime.backup.restore). Destructive: refused on production, asks first."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from nself.cli.backup import byte_progress
from nself.cli.common import EnvOption, JsonOption, console, environment, err_console, print_json
from nself.cli.safety import App, Destructive
from nself.errors import OptionError

# Replaces an environment's data: --env (default) or --to names it.
RESTORE = Destructive("replace the data with a backup", target=("to", "env"))


def register(app: App) -> None:
    @app.command("restore", destructive=RESTORE)
    def restore(
        backup_id: Annotated[str, typer.Argument(metavar="latest|ID", help="`latest` or a backup id.")] = "latest",
        point_in_time: Annotated[
            str | None,
            typer.Option("--point-in-time", metavar="TIME", help='Replay WAL up to TIME: "2026-12-07 15:30:00[+01:00]" (no zone: the server\'s) or "90 minutes ago".', show_default=False),
        ] = None,
        env: EnvOption = None,
        to: Annotated[str | None, typer.Option("--to", metavar="ENV", help="Load the backup into another environment's database (through a scratch cluster for physical backups).", show_default=False)] = None,
        anonymize: Annotated[bool, typer.Option("--anonymize", help="With --to: pass the data through the anonymiser (nself/anonymize.yaml).")] = False,
        anonymize_config: Annotated[Path | None, typer.Option("--anonymize-config", metavar="FILE", help="The anonymisation rules (default nself/anonymize.yaml).", show_default=False)] = None,
        tablespace_map: Annotated[
            list[str] | None,
            typer.Option("--tablespace-map", metavar="OLD=NEW", help="Restore the tablespace OLD (its location, name or OID) at the folder NEW instead (repeatable).", show_default=False),
        ] = None,
        as_json: JsonOption = False,
    ) -> None:
        """Restore the managed cluster to a backup's end point, or to a point in time. The old
        data is replaced only after the restored one has recovered. Refused on production.

        Examples:

          nself restore latest --yes

          nself restore --point-in-time "90 minutes ago" --yes

          nself restore 20261207T153012Z-full --point-in-time "2026-12-07 15:40:00+00:00"

          nself restore latest --to staging --yes

          nself restore latest --to staging --anonymize --yes

          nself restore --to staging --point-in-time "1 hour ago" --yes

          nself restore latest --tablespace-map /srv/fast=/mnt/ssd/fast --yes
        """
        from nself.runtime.backup.service import restore_backup, restore_to_environment

        if to is not None and env is not None:
            raise OptionError("--to and --env: give one (--to ENV loads the backup into ENV's database)")
        if (anonymize or anonymize_config is not None) and to is None:
            raise OptionError("--anonymize needs --to ENV: the anonymised data goes into another environment")
        if tablespace_map and to is not None:
            raise OptionError("--tablespace-map applies to the managed cluster's restore, not --to (a scratch cluster)")
        proj, environ = environment(to if to is not None else env)
        with byte_progress("restoring") as advance:
            if to is not None:
                result = restore_to_environment(
                    proj, environ, backup_id, point_in_time=point_in_time, anonymize=anonymize or anonymize_config is not None,
                    anonymize_config=anonymize_config,
                )
            else:
                result = restore_backup(proj, environ, backup_id, point_in_time, tablespace_map=tablespace_map, progress=advance)
        if as_json:
            print_json(dataclasses.asdict(result))
            return
        console.print(f"{environ.name}: restored {result.id} ({result.kind}) to {result.target} in {result.seconds:.1f} s")
        if result.time_zone:
            err_console.print(f"TIME read as {result.time_zone}")
        if result.reached_at:
            err_console.print(f"last transaction replayed: {result.reached_at}")
        for space in result.tablespaces:
            err_console.print(f"tablespace {space['name'] or space['oid']}: {space['location']}")
