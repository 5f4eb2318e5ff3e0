"""`nself db lint`: report schema mistakes (missing keys and indexes, risky types, RLS gaps)."""

from __future__ import annotations

from typing import Annotated

import typer

from nself.cli.common import (
    EnvOption,
    IncludePlatformOption,
    JsonOption,
    print_json,
    project,
    warn,
    write_output,
)
from nself.cli.safety import App


def register(app: App) -> None:
    app.command("lint", destructive=False)(lint)


def lint(
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Environment name, postgresql:// URL, migrations directory, .sql, .dbml or .json file "
            "(default: the environment of --env, else the local one, started if it is stopped).",
            show_default=False,
        ),
    ] = None,
    env: EnvOption = None,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on",
            metavar="LEVEL",
            help="Exit 1 when a finding of this level or a more severe one exists: error, warning, info "
            "or never (default: nself.toml lint.fail-on, else error).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
    rules: Annotated[
        list[str] | None,
        typer.Option("--rule", metavar="ID", help="Run only this rule (repeatable).", show_default=False),
    ] = None,
    skip: Annotated[
        list[str] | None,
        typer.Option("--skip", metavar="ID", help="Do not run this rule (repeatable).", show_default=False),
    ] = None,
    list_rules: Annotated[bool, typer.Option("--list-rules", help="List the rules and exit.")] = False,
    include_platform: IncludePlatformOption = False,
) -> None:
    """Check the schema read from SOURCE against lint rules (see docs/lint.md).

    Prints one line per finding, `level rule-id schema.object: message`, most severe first,
    then a summary. The lint table of nself.toml can skip rules and change their levels.

    Examples:

      nself db lint

      nself db lint --from nself/migrations --fail-on warning

      nself db lint --env staging --json

      nself db lint --rule fk-without-index --rule duplicate-index

      nself db lint --skip varchar-length --skip serial-column
    """
    from nself.backends.lint import RULES, at_or_above, format_findings
    from nself.backends.lint.config import lint_settings
    from nself.backends.lint.migration_safety import LIVE_RULES, MIGRATION_RULES
    from nself.runtime.lint_live import lint_source
    from nself.runtime.local import database_url

    if list_rules:
        every = [(r.id, r.level, r.summary) for r in RULES.values()] + [
            (r.id, r.level, r.summary) for r in (*MIGRATION_RULES.values(), *LIVE_RULES.values())
        ]
        write_output("".join(f"{id_} ({level}): {summary}\n" for id_, level, summary in every), None)
        return
    proj = project()
    settings = lint_settings(
        proj.config, proj.config_path, only=rules or (), skip=skip or (), fail_on=fail_on
    )
    if source is None:
        # as every `db` command: the managed local cluster is started when it is stopped
        source = database_url(proj, proj.environment(env))
    findings, notes = lint_source(source, proj, settings, include_platform=include_platform)
    for note in notes:
        warn(note)
    if as_json:
        print_json([f.to_data() for f in findings])
    else:
        write_output(format_findings(findings), None)
    threshold = settings.fail_on
    if threshold is not None and any(at_or_above(f.level, threshold) for f in findings):
        raise typer.Exit(1)
