"""The production guard itself, without typer: what a destructive command declares
(`Destructive`) and the one check every destructive command runs before its body
(`enforce`). nself.cli.safety wraps the commands of the tree with it; the commands the entry
point runs without the tree (nself.cli.quick: `db load`) call it directly, so both paths
refuse and ask the same way (docs/production-safety.md)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Destructive:
    """What a destructive command does, for the refusal and the question.

    action: the verb phrase, as in "refusing to {action} on 'prod'".
    when: parameters of the command (by their Python name) that make it destructive when
      one of them is set, e.g. ("fresh",) for `seed --fresh`; empty: always destructive.
    force_production: the command accepts --force-production to run on production anyway.
    confirm: ask before running (or --yes). False for commands that are refused on
      production but destroy nothing (creating or switching a database branch).
    unless: parameters that make it harmless when one of them is set, e.g. ("preview",).
    target: the parameter naming the environment (or URL) the command touches; several names
      (a positional TO and --to) when the first one given names it.
    A group callback's declaration applies only when the group runs without a subcommand."""

    action: str
    when: tuple[str, ...] = ()
    force_production: bool = False
    confirm: bool = True
    target: str | tuple[str, ...] = "env"
    unless: tuple[str, ...] = ()

    @property
    def targets(self) -> tuple[str, ...]:
        return (self.target,) if isinstance(self.target, str) else self.target


# `db load`'s declaration, shared by the tree's command (nself.cli.db_dump) and the plain
# command line (nself.cli.quick), which imports this module only when it loads a dump.
LOAD_DUMP = Destructive("load a dump", force_production=True)


def enforce(declared: Destructive, arguments: dict[str, Any], *, yes: bool, force_production: bool) -> None:
    """The one guard: production refused (by name or server), then confirmation."""
    if declared.when and not any(arguments.get(name) for name in declared.when):
        return
    if any(arguments.get(name) for name in declared.unless):
        return
    context = arguments.get("ctx")  # click's Context (typer's copy of click): read, not type-checked
    if getattr(context, "invoked_subcommand", None) is not None:
        return  # a group's callback on the way to one of its commands, which declares its own
    from nself.connection import is_connection_target, mask_url
    from nself.errors import OptionError
    from nself.runtime.production import refuse_production
    from nself.runtime.project import Environment, load_project

    project = load_project()
    chosen = next((arguments[name] for name in declared.targets if arguments.get(name) is not None), None)
    if isinstance(chosen, str) and is_connection_target(chosen) and declared.targets != ("env",):
        environment = Environment(mask_url(chosen), url_setting=chosen)
        url: str | None = chosen
    else:
        environment = project.environment(chosen if isinstance(chosen, str) else None)
        url = None
    refuse_production(
        project,
        environment,
        declared.action,
        force_production=force_production,
        allows_force=declared.force_production,
        url=url,
    )
    if not declared.confirm or yes:
        return
    if not sys.stdin.isatty():
        raise OptionError(
            f"refusing to {declared.action} on {environment.name!r} without --yes: stdin is not a terminal"
        )
    question = f"{declared.action[:1].upper()}{declared.action[1:]} on {environment.name} ({environment.display_url()})?"
    import typer  # only here: the question needs a terminal, the rest of the guard does not

    if not typer.confirm(question):
        raise typer.Abort()
