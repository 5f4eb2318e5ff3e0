"""The jinja2 templates of the diagram formats (templates/diagram/, shipped as the package
nself.templates)."""

from __future__ import annotations

import functools
import importlib.resources

import jinja2


@functools.cache
def _environment() -> jinja2.Environment:
    root = importlib.resources.files("nself.templates")

    def load(name: str) -> str:
        return root.joinpath(*name.split("/")).read_text(encoding="utf-8")

    # No autoescaping: each format escapes its own way, in Python, before the template sees a name.
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(load),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_template(name: str, **context: object) -> str:
    """Render templates/diagram/`name`."""
    return _environment().get_template(f"diagram/{name}").render(**context)
