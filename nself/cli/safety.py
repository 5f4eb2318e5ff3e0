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
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from nself.cli.coercion import LightCommand, LightGroup
from nself.cli.guard import Destructive as Destructive  # re-exported: the commands declare with it
from nself.cli.guard import enforce

F = TypeVar("F", bound=Callable[..., Any])

ATTRIBUTE = "__nself_destructive__"


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
