"""The jinja2 templates of the diagram formats (templates/diagram/). No autoescaping: each
format escapes its own way, in Python, before the template sees a name."""

from __future__ import annotations

from nself.templating import template_environment


def render_template(name: str, **context: object) -> str:
    """Render templates/diagram/`name`."""
    return template_environment().get_template(f"diagram/{name}").render(**context)
