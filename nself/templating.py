"""The jinja2 templates backends lay their output out with: the repository's templates/
folder (one folder per backend), shipped inside the wheel as the package nself.templates
(docs/design.md). One environment for every backend: strict about undefined names, blocks
trimmed so templates can be laid out readably, compiled templates cached between runs."""

from __future__ import annotations

import contextlib
import functools
import importlib.resources
import os
import types
from typing import Any

import jinja2
import jinja2.bccache
import jinja2.runtime


class _QuietBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept between runs (a template's compile costs more than its
    render for most schemas). A cached entry is used only when the template's source is
    unchanged (jinja2 checks a checksum); a cache that cannot be written is no cache."""

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError):
            bucket.reset()


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    if os.environ.get("NSELF_NO_TEMPLATE_CACHE"):
        return None
    version = "".join(c if c.isalnum() else "_" for c in jinja2.__version__)
    try:
        return _QuietBytecodeCache(pattern=f"__nself_jinja2_{version}_%s.cache")
    except (OSError, RuntimeError):  # no usable temporary directory
        return None


_PLAIN_CALLABLES = frozenset(
    {types.FunctionType, types.MethodType, types.BuiltinFunctionType, types.BuiltinMethodType}
)


class _Context(jinja2.runtime.Context):
    """jinja2's Context, with a direct path for calling plain functions and methods (the
    renderers' helpers, called once per field): jinja2.Context.call inspects every callable
    for pass_context/pass_environment markers, which costs more than most helpers."""

    def call(__self, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if type(__obj) in _PLAIN_CALLABLES and not hasattr(__obj, "jinja_pass_arg"):
            if kwargs:
                kwargs.pop("_block_vars", None)
                kwargs.pop("_loop_vars", None)
            try:
                return __obj(*args, **kwargs)
            except StopIteration:
                return __self.environment.undefined(
                    "value was undefined because a callable raised a StopIteration exception"
                )
        return super().call(__obj, *args, **kwargs)


class _Environment(jinja2.Environment):
    context_class = _Context


@functools.cache
def template_environment(*, autoescape: bool = False) -> jinja2.Environment:
    """The environment over the shipped templates. No autoescaping by default: most output
    is code, escaped in Python the way its language wants; HTML pages ask for it. A backend
    that adds filters or globals does so on an `.overlay()` of this one."""
    root = importlib.resources.files("nself.templates")

    def load(name: str) -> str:
        return root.joinpath(*name.split("/")).read_text(encoding="utf-8")

    return _Environment(
        loader=jinja2.FunctionLoader(load),
        bytecode_cache=_bytecode_cache(),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_template(name: str, **context: object) -> str:
    """Render templates/`name` (e.g. 'types/typescript/types.ts.jinja2')."""
    return template_environment().get_template(name).render(**context)
