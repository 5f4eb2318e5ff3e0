"""Destructiveness declared with the command, enforced in one place (docs/production-safety.md).

Every command says, where it is registered, whether it destroys or replaces data:

    @app.command("migrate:rollback", destructive="run down migrations")
    @app.command("load", destructive=Destructive("load a dump", force_production=True))
    @app.command("run", destructive=Destructive("empty the seeded tables", when=("fresh",)))
    @app.command("status", destructive=False)

`App` (a typer.Typer) wraps each destructive command when it registers. Before the
command's body runs, the wrapper resolves the environment the command will touch and
1. refuses it when it is production, by name or by server (nself.runtime.production),
   unless the declaration allows --force-production and it was given;
2. asks for confirmation, unless --yes; without a terminal and without --yes it refuses
   with one message, the same for every command.
The wrapper adds --yes (and --force-production where allowed) to the command's options,
so a command body never handles either. tests/cli/test_production_guard.py walks the
command tree and fails on a command that declares neither."""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import typer

from nself.cli.coercion import LightCommand, LightGroup

F = TypeVar("F", bound=Callable[..., Any])

ATTRIBUTE = "__nself_destructive__"


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


# What `destructive=` takes: a Destructive, an action (always destructive, confirmed),
# False (declared safe: reads, or writes only what the user asked it to add), or None
# (not declared: the guard test fails).
Declaration = Destructive | str | bool | None

YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
ForceProductionOption = Annotated[
    bool,
    typer.Option("--force-production", help="Run on an environment marked production = true anyway."),
]


def declaration_of(callback: Callable[..., Any] | None) -> Destructive | bool | None:
    """What the command whose callback this is declared: a Destructive, False (safe), or
    None (nothing). Works on typer's and click's wrappers, which copy the attribute."""
    return getattr(callback, ATTRIBUTE, None) if callback is not None else None


def declare(declaration: Declaration) -> Callable[[F], F]:
    """The decorator behind `destructive=`: marks a safe command, wraps a destructive one."""

    def apply(function: F) -> F:
        if declaration is None:
            return function
        if declaration is True:
            raise TypeError("destructive=True: give the action instead, e.g. destructive=\"drop the tables\"")
        if declaration is False:
            setattr(function, ATTRIBUTE, False)
            return function
        declared = Destructive(declaration) if isinstance(declaration, str) else declaration
        return _guarded(function, declared)

    return apply


def _guarded(function: F, declared: Destructive) -> F:
    signature = inspect.signature(function, eval_str=True)
    names = set(signature.parameters)
    unknown = {*declared.targets, *declared.when, *declared.unless} - names
    if unknown:
        raise TypeError(f"{function.__name__}: destructive= names parameters it does not have: {sorted(unknown)}")
    added: list[inspect.Parameter] = []
    if declared.confirm and "yes" not in names:
        added.append(inspect.Parameter("yes", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=YesOption))
    if declared.force_production and "force_production" not in names:
        added.append(
            inspect.Parameter(
                "force_production", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=ForceProductionOption
            )
        )
    own = {parameter.name for parameter in added}

    @functools.wraps(function)
    def guarded(**kwargs: Any) -> Any:
        yes = bool(kwargs.pop("yes", False) if "yes" in own else kwargs.get("yes", False))
        force = bool(
            kwargs.pop("force_production", False) if "force_production" in own else kwargs.get("force_production", False)
        )
        enforce(declared, kwargs, yes=yes, force_production=force)
        return function(**kwargs)

    guarded.__signature__ = signature.replace(parameters=[*signature.parameters.values(), *added])  # type: ignore[attr-defined]
    guarded.__annotations__ = {**function.__annotations__, **{p.name: p.annotation for p in added}}
    setattr(guarded, ATTRIBUTE, declared)
    return guarded  # type: ignore[return-value]


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
    if not typer.confirm(question):
        raise typer.Abort()


class App(typer.Typer):
    """typer.Typer whose `command` and `callback` take `destructive=` (see the module doc).
    Its commands and groups coerce values through pydantic only when needed (nself.cli.coercion)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("cls", LightGroup)
        super().__init__(*args, **kwargs)

    def command(self, *args: Any, destructive: Declaration = None, **kwargs: Any) -> Callable[[F], F]:
        kwargs.setdefault("cls", LightCommand)
        register = super().command(*args, **kwargs)

        def decorator(function: F) -> F:
            register(declare(destructive)(function))
            return function

        return decorator

    def callback(self, *args: Any, destructive: Declaration = None, **kwargs: Any) -> Callable[[F], F]:
        register = super().callback(*args, **kwargs)

        def decorator(function: F) -> F:
            register(declare(destructive)(function))
            return function

        return decorator
