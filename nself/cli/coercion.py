"""typer's value coercion, built only when a value needs it.

typer 0.29 coerces each parameter's value through a pydantic TypeAdapter it builds at first
use, importing pydantic for it (about as long as the rest of the start-up), even for a flag
or option that was not given (None), `--help` included, or a plain string. The command
classes here (every nself.cli.safety.App command and group uses them) let those two values
through unchanged, as typer would return them, and hand any other value to typer's own
coercion, built then. On a typer that coerces otherwise (no `_runtime_param` on its
parameters) they change nothing."""

from __future__ import annotations

from typing import Any

from typer.core import TyperCommand, TyperGroup


class _Light:
    def __init__(self, param: Any) -> None:
        self.param = param
        self.plain = param.type_descriptor.annotation in (str, str | None) and param.nargs == 1

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if value is None:
            return () if param.multiple or param.nargs == -1 else None
        if self.plain and not param.multiple and isinstance(value, str):
            return value
        self.param._runtime_param = None
        return self.param.get_runtime_param().coerce(value, param=param, ctx=ctx)


def light(params: list[Any]) -> list[Any]:
    for param in params:
        if getattr(param, "_runtime_param", False) is None and hasattr(param, "type_descriptor"):
            param._runtime_param = _Light(param)
    return params


class LightCommand(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return light(super().get_params(ctx))


class LightGroup(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return light(super().get_params(ctx))
