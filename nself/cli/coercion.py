"""typer's value coercion, built only when a value needs it.

typer 0.29 coerces each parameter's value through a pydantic TypeAdapter it builds at first
use, importing pydantic for it (about as long as the rest of the start-up), even for a flag
or option that was not given (None), `--help` included, or a plain string. The command
classes here (every nself.cli.safety.App command and group uses them) let those values,
flags, whole numbers and paths through as typer would return them, and hand any other value
to typer's own coercion, built then. On a typer that coerces otherwise (no `_runtime_param` on its
parameters) they change nothing. They also lay their help text out for the terminal
(nself.cli.helptext)."""

from __future__ import annotations

import re
from pathlib import Path, PurePath
from typing import Any

from typer.core import TyperCommand, TyperGroup

from nself.cli.helptext import reflowed

# Annotations whose given values pass as typer would return them without pydantic: a
# string, a flag (click gives a bool), a whole number written in digits (when no range is
# declared), a path (typer's own path checks, which need pydantic only for a str).
_PLAIN = (str, bool, int, Path)
_DIGITS = re.compile(r"-?[0-9]+")


class _Light:
    def __init__(self, param: Any) -> None:
        self.param = param
        descriptor = param.type_descriptor
        annotation = descriptor.annotation
        found = [kind for kind in _PLAIN if annotation in (kind, kind | None)]
        info: Any = getattr(descriptor, "parameter_info", None)
        custom = info is None or getattr(info, "parser", None) is not None
        if found and found[0] is int and (custom or info.min is not None or info.max is not None):
            found = []
        if found and found[0] is Path and (custom or getattr(info, "path_type", None) is not None):
            found = []
        self.info: Any = info
        self.plain = found[0] if found and param.nargs == 1 else None

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if value is None:
            return () if param.multiple or param.nargs == -1 else None
        if self.plain is not None and not param.multiple:
            if type(value) is self.plain:
                if self.plain is not Path:
                    return value
            elif self.plain is int and isinstance(value, str) and _DIGITS.fullmatch(value):
                return int(value)
            if self.plain is Path and isinstance(value, (str, PurePath)):
                from typer._param_types import coerce_cli_path

                return coerce_cli_path(Path(value), self.info, path_type=Path, param=param, ctx=ctx)
        self.param._runtime_param = None
        return self.param.get_runtime_param().coerce(value, param=param, ctx=ctx)


def light(params: list[Any]) -> list[Any]:
    for param in params:
        if getattr(param, "_runtime_param", False) is None and hasattr(param, "type_descriptor"):
            param._runtime_param = _Light(param)
    return params


class LightCommand(TyperCommand):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = reflowed(self.help)

    def get_params(self, ctx: Any) -> list[Any]:
        return light(super().get_params(ctx))


class LightGroup(TyperGroup):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = reflowed(self.help)

    def get_params(self, ctx: Any) -> list[Any]:
        return light(super().get_params(ctx))
