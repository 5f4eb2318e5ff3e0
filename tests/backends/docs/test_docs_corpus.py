"""Oracle: every object PostgreSQL reports (pg_catalog queries of the loaded database, not
the IR) for each corpus schema, and for awkward.sql (which has the comments the corpus
lacks), appears in the documentation under the right table; every comment PostgreSQL
holds appears, escaped. HTML is read with a strict parser (balanced
tags, unique ids, no dangling internal link); Markdown is checked as GFM tables.

Constraints, indexes and triggers PostgreSQL clones onto partitions (conparentid <> 0,
indexes attached to a partitioned index, tgparentid <> 0) are the parent's, documented
once on the parent."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from nself.backends.docs import render
from nself.backends.docs.document import anchor
from nself.backends.docs.markdown import text as md_text
from tests.backends.docs.conftest import Loaded
from tests.backends.docs.pages import (
    gfm_tables,
    markdown_anchors,
    markdown_links,
    markdown_rows,
    markdown_sections,
    parse_html,
)

USER_SCHEMA = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'"
)


def _not_extension(catalog: str, oid: str) -> str:
    return (
        f"NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '{catalog}'::regclass "
        f"AND d.objid = {oid} AND d.deptype = 'e')"
    )


RELATIONS = f"""
SELECT n.nspname, c.relname, c.relkind, obj_description(c.oid, 'pg_class')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm') AND {USER_SCHEMA} AND {_not_extension("pg_class", "c.oid")}
"""
COLUMNS = f"""
SELECT n.nspname, c.relname, a.attname, col_description(c.oid, a.attnum)
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm')
  AND {USER_SCHEMA} AND {_not_extension("pg_class", "c.oid")}
"""
INDEXES = f"""
SELECT n.nspname, t.relname, i.relname, con.conname, obj_description(i.oid, 'pg_class')
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
LEFT JOIN pg_constraint con
  ON con.conindid = x.indexrelid AND con.conrelid = t.oid AND con.contype IN ('p', 'u', 'x')
WHERE {USER_SCHEMA} AND {_not_extension("pg_class", "t.oid")}
  AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.oid)
"""
FOREIGN_KEYS = f"""
SELECT n.nspname, c.relname, con.conname, rn.nspname, r.relname
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class r ON r.oid = con.confrelid JOIN pg_namespace rn ON rn.oid = r.relnamespace
WHERE con.contype = 'f' AND con.conparentid = 0 AND {USER_SCHEMA}
"""
CONSTRAINTS = f"""
SELECT n.nspname, c.relname, con.conname
FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE con.contype IN ('p', 'u', 'c', 'x') AND con.conparentid = 0 AND {USER_SCHEMA}
  AND {_not_extension("pg_class", "c.oid")}
"""
TRIGGERS = f"""
SELECT n.nspname, c.relname, t.tgname
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND {USER_SCHEMA}
"""
POLICIES = f"""
SELECT n.nspname, c.relname, p.polname
FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {USER_SCHEMA}
"""
# An identity column's sequence is part of the column (documented there as the identity).
SEQUENCES = f"""
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'S' AND {USER_SCHEMA} AND {_not_extension("pg_class", "c.oid")}
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                  AND d.deptype = 'i')
"""
# Domains and free-standing composite types (a table's row type is the table).
TYPES = f"""
SELECT n.nspname, t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_class c ON c.oid = t.typrelid
WHERE (t.typtype IN ('d', 'e', 'r') OR c.relkind = 'c') AND {USER_SCHEMA} AND {_not_extension("pg_type", "t.oid")}
"""
ENUM_LABELS = f"""
SELECT n.nspname, t.typname, e.enumlabel
FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE {USER_SCHEMA} AND {_not_extension("pg_type", "t.oid")}
"""
FUNCTIONS = f"""
SELECT n.nspname, p.proname
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE {USER_SCHEMA} AND {_not_extension("pg_proc", "p.oid")}
"""
# Comments on everything else that lives in a user schema (and on the schemas).
OTHER_COMMENTS = f"""
SELECT d.description FROM pg_description d JOIN pg_proc p ON d.classoid = 'pg_proc'::regclass AND d.objoid = p.oid
JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {USER_SCHEMA} AND {_not_extension("pg_proc", "p.oid")}
UNION ALL
SELECT d.description FROM pg_description d JOIN pg_type t ON d.classoid = 'pg_type'::regclass AND d.objoid = t.oid
JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {USER_SCHEMA} AND {_not_extension("pg_type", "t.oid")}
UNION ALL
SELECT d.description FROM pg_description d
JOIN pg_constraint c ON d.classoid = 'pg_constraint'::regclass AND d.objoid = c.oid
JOIN pg_namespace n ON n.oid = c.connamespace WHERE {USER_SCHEMA} AND c.conparentid = 0
UNION ALL
SELECT d.description FROM pg_description d
JOIN pg_class c ON d.classoid = 'pg_class'::regclass AND d.objoid = c.oid AND d.objsubid = 0
JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND {USER_SCHEMA}
UNION ALL
SELECT d.description FROM pg_description d
JOIN pg_trigger t ON d.classoid = 'pg_trigger'::regclass AND d.objoid = t.oid
UNION ALL
SELECT d.description FROM pg_description d
JOIN pg_policy p ON d.classoid = 'pg_policy'::regclass AND d.objoid = p.oid
UNION ALL
SELECT d.description FROM pg_description d
JOIN pg_namespace n ON d.classoid = 'pg_namespace'::regclass AND d.objoid = n.oid WHERE {USER_SCHEMA}
"""


@dataclass(frozen=True)
class Reported:
    """What PostgreSQL says the database holds."""

    relations: list[tuple[str, str, str, str | None]]
    columns: list[tuple[str, str, str, str | None]]
    indexes: list[tuple[str, str, str, str | None, str | None]]
    foreign_keys: list[tuple[str, str, str, str, str]]
    constraints: list[tuple[str, str, str]]
    triggers: list[tuple[str, str, str]]
    policies: list[tuple[str, str, str]]
    sequences: list[tuple[str, str]]
    types: list[tuple[str, str]]
    enum_labels: list[tuple[str, str, str]]
    functions: Counter[tuple[str, str]]
    other_comments: list[str]


def reported(url: str) -> Reported:
    with psycopg.connect(url) as conn:

        def rows(sql: str) -> list[Any]:
            return [tuple(r) for r in conn.execute(sql).fetchall()]

        return Reported(
            relations=rows(RELATIONS),
            columns=rows(COLUMNS),
            indexes=rows(INDEXES),
            foreign_keys=rows(FOREIGN_KEYS),
            constraints=rows(CONSTRAINTS),
            triggers=rows(TRIGGERS),
            policies=rows(POLICIES),
            sequences=rows(SEQUENCES),
            types=rows(TYPES),
            enum_labels=rows(ENUM_LABELS),
            functions=Counter(rows(FUNCTIONS)),
            other_comments=[r[0] for r in rows(OTHER_COMMENTS)],
        )


def relation_anchor(kind: str, schema: str, name: str) -> str:
    return anchor("view" if kind in ("v", "m") else "table", schema, name)


CASES = ["awkward", "pagila", "openstreetmap", "lemmy"]


@pytest.mark.parametrize("loaded", CASES, indirect=True)
def test_html_documents_everything_postgresql_reports(loaded: Loaded) -> None:
    pg = reported(loaded.url)
    html = render(loaded.catalog, {"format": "html"})["schema.html"]
    page = parse_html(html)
    assert "link" not in page.tags  # and the script is inline (pages.parse_html)
    assert pg.relations, "the corpus case loaded nothing"

    for schema, name, kind, comment in pg.relations:
        section = relation_anchor(kind, schema, name)
        assert section in page.text, f"{schema}.{name} missing"
        if comment:
            assert comment in page.text[section], f"comment of {schema}.{name}"
    kinds = {(s, n): k for s, n, k, _ in pg.relations}
    for schema, table, column, comment in pg.columns:
        kind = kinds[(schema, table)]
        row = anchor("column", schema, table, column)
        assert page.inside(row, relation_anchor(kind, schema, table)), f"{schema}.{table}.{column}"
        assert column in page.text[row]
        if comment:
            assert comment in page.text[row], f"comment of {schema}.{table}.{column}"
    for schema, table, index, constraint, comment in pg.indexes:
        owner = relation_anchor(kinds[(schema, table)], schema, table)
        target = (
            anchor("constraint", schema, table, constraint) if constraint else anchor("index", schema, index)
        )
        assert page.inside(target, owner), f"index {index} of {schema}.{table}"
        assert (constraint or index) in page.text[target]
        if comment:
            assert comment in page.text[owner], f"comment of index {index}"
    for schema, table, name, ref_schema, ref_table in pg.foreign_keys:
        owner = anchor("table", schema, table)
        assert page.inside(anchor("constraint", schema, table, name), owner), f"foreign key {name}"
        # ... and both ways: the referenced table lists it, linking back.
        referenced = anchor("table", ref_schema, ref_table)
        assert name in page.text[referenced], f"{ref_schema}.{ref_table} does not list {name}"
        assert ref_table in page.text[anchor("constraint", schema, table, name)]
    for kind, owned in (("constraint", pg.constraints), ("trigger", pg.triggers), ("policy", pg.policies)):
        for schema, table, name in owned:
            owner = relation_anchor(kinds[(schema, table)], schema, table)
            assert page.inside(anchor(kind, schema, table, name), owner), f"{kind} {name} of {schema}.{table}"
            assert name in page.text[anchor(kind, schema, table, name)]
    for schema, name in pg.sequences:
        assert name in page.text[anchor("sequence", schema, name)], f"sequence {schema}.{name}"
    for schema, name in pg.types:
        assert page.inside(anchor("type", schema, name), anchor("schema", schema)), f"type {schema}.{name}"
    for schema, enum, label in pg.enum_labels:
        assert label in page.text[anchor("type", schema, enum)], f"label {label!r} of {schema}.{enum}"
    for (schema, name), count in pg.functions.items():
        prefix = anchor("function", schema, name) + "."
        documented = [i for i in page.text if i.startswith(prefix)]
        assert len(documented) == count, (
            f"{schema}.{name}: {count} in PostgreSQL, {len(documented)} documented"
        )
        assert all(page.inside(i, anchor("schema", schema)) for i in documented)
    for comment in pg.other_comments:
        assert comment in page.all_text, f"comment {comment[:60]!r}"


@pytest.mark.parametrize("loaded", CASES, indirect=True)
def test_markdown_documents_everything_postgresql_reports(loaded: Loaded) -> None:
    pg = reported(loaded.url)
    markdown = render(loaded.catalog, {"format": "markdown"})["schema.md"]
    tables = gfm_tables(markdown)
    sections = markdown_sections(markdown)
    rows = markdown_rows(markdown)
    anchors = markdown_anchors(markdown)
    assert len(anchors) == len(set(anchors)), "duplicate anchors"
    dangling = markdown_links(markdown) - set(anchors)
    assert not dangling, f"links to missing anchors: {sorted(dangling)[:10]}"
    assert "<script" not in markdown

    kinds = {(s, n): k for s, n, k, _ in pg.relations}
    column_tables = 0
    for schema, name, kind, comment in pg.relations:
        assert relation_anchor(kind, schema, name) in sections, f"{schema}.{name} missing"
        section = sections[relation_anchor(kind, schema, name)]
        if comment:
            assert md_text(comment) in section, f"comment of {schema}.{name}"
    for schema, table, column, comment in pg.columns:
        row_id = anchor("column", schema, table, column)
        assert rows[row_id] in sections[relation_anchor(kinds[(schema, table)], schema, table)]
        assert md_text(column) in rows[row_id]
        if comment:
            assert md_text(comment) in rows[row_id], f"comment of {schema}.{table}.{column}"
    for schema, table, index, constraint, _comment in pg.indexes:
        target = (
            anchor("constraint", schema, table, constraint) if constraint else anchor("index", schema, index)
        )
        assert rows[target] in sections[relation_anchor(kinds[(schema, table)], schema, table)]
    for schema, table, name, ref_schema, ref_table in pg.foreign_keys:
        assert rows[anchor("constraint", schema, table, name)] in sections[anchor("table", schema, table)]
        assert md_text(name) in sections[anchor("table", ref_schema, ref_table)]
    for kind, owned in (("constraint", pg.constraints), ("trigger", pg.triggers), ("policy", pg.policies)):
        for schema, table, name in owned:
            section = sections[relation_anchor(kinds[(schema, table)], schema, table)]
            assert rows[anchor(kind, schema, table, name)] in section, f"{kind} {name} of {schema}.{table}"
            assert md_text(name) in rows[anchor(kind, schema, table, name)]
    for schema, name in pg.sequences:
        assert md_text(name) in rows[anchor("sequence", schema, name)], f"sequence {schema}.{name}"
    for schema, name in pg.types:
        assert anchor("type", schema, name) in sections, f"type {schema}.{name}"
    for schema, enum, label in pg.enum_labels:
        assert md_text(label) in sections[anchor("type", schema, enum)]
    for (schema, name), count in pg.functions.items():
        prefix = anchor("function", schema, name) + "."
        assert len([r for r in rows if r.startswith(prefix)]) == count, f"{schema}.{name}"
    for comment in pg.other_comments:
        assert md_text(comment) in markdown, f"comment {comment[:60]!r}"
    # Every column table has the seven columns of the header, in every row.
    for grid in tables:
        if "Identity / generated" in grid[0]:
            column_tables += 1
            assert all(len(row) == 7 for row in grid)
    assert column_tables == sum(1 for _, _, k, _ in pg.relations if k in ("r", "p"))
