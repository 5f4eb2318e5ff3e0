"""Documentation of a schema: one self-contained HTML page, or one GitHub-flavoured
Markdown file, with the same content (docs/schema-docs.md).

    render(catalog, {"format": "html", "schemas": ("public",)}) -> {"schema.html": text}

`nself.backends.docs.document` decides what is said and how objects link to each other;
the templates under templates/docs/ lay it out; `nself.backends.docs.markdown` escapes
text for Markdown (HTML escaping is jinja2's autoescape).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import jinja2

from nself.backends.docs import markdown
from nself.backends.docs.document import TableStatistics, build_document, qualified, schema_names
from nself.errors import OptionError
from nself.ir import Catalog
from nself.templating import template_environment

FORMATS: dict[str, str] = {"html": "schema.html", "markdown": "schema.md"}

TITLE = "Schema documentation"


def render(catalog: Catalog, options: Mapping[str, Any]) -> dict[str, str]:
    """options: `format` (html or markdown, default html), `schemas` (names to document,
    default every schema), `title`, and `statistics` ((schema, table) -> TableStatistics,
    when the schema was read from a live database)."""
    format = str(options.get("format", "html"))
    if format not in FORMATS:
        raise OptionError(f"--format: {format!r} is not one of {', '.join(FORMATS)}")
    document = build_document(
        catalog,
        select_schemas(catalog, options.get("schemas") or ()),
        str(options.get("title") or TITLE),
        options.get("statistics"),
    )
    template = _environment(format).get_template(f"docs/page.{'html' if format == 'html' else 'md'}.jinja2")
    text = template.render(doc=document)
    return {FORMATS[format]: markdown.tidy(text) if format == "markdown" else text}


def select_schemas(catalog: Catalog, wanted: tuple[str, ...] | list[str]) -> list[str]:
    """The schemas to document, in name order: `wanted`, or every schema when empty."""
    available = schema_names(catalog)
    missing = [name for name in wanted if name not in available]
    if missing:
        raise OptionError(
            f"--schema: {', '.join(repr(m) for m in missing)} not in the source "
            f"(schemas: {', '.join(available) or 'none'})"
        )
    return [name for name in available if not wanted or name in wanted]


@functools.cache
def _environment(format: str) -> jinja2.Environment:
    # The page is HTML (also inside Markdown, where jinja2's escaping would be wrong: there
    # the `md` and `code` filters escape). An overlay: the filters stay this backend's.
    environment = template_environment(autoescape=format == "html").overlay()
    environment.globals["qualified"] = qualified
    environment.filters["md"] = markdown.text
    environment.filters["code"] = markdown.code
    environment.filters["fence"] = markdown.fence
    environment.filters["row"] = markdown.row
    environment.filters["size"] = size_text
    environment.filters["rows"] = rows_text
    return environment


def size_text(size: int) -> str:
    """Bytes in the units pg_size_pretty uses (bytes, kB, MB, GB, TB; 1024 each, rounded)."""
    value = float(size)
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if abs(value) < 10 * 1024 or unit == "TB":
            return f"{round(value)} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def rows_text(statistics: TableStatistics) -> str:
    """`1,234 rows`, `about 1,234 rows (estimate)`, or `unknown` (never analyzed)."""
    if statistics.rows is None:
        return "unknown (never analyzed)"
    count = f"{statistics.rows:,} row{'' if statistics.rows == 1 else 's'}"
    return count if statistics.exact else f"about {count} (estimate)"
