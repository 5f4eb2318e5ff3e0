"""The DBML backend: a golden file, and round trips through the DBML frontend.

Regenerate the golden file after a reviewed change with
    NSELF_UPDATE_GOLDEN=1 python -m pytest tests/backends/test_dbml_backend.py
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from nself.backends import SCHEMA_FORMATS, load_renderer
from nself.backends.dbml import dbml_type, index_loss, losses, render
from nself.errors import SourceError
from nself.frontends.dbml import parse_dbml
from nself.ir import Catalog
from nself.ir import model as m
from tests.backends.sample_catalog import sample_catalog
from tests.conftest import CORPUS, run_sql

GOLDEN = Path(__file__).parent / "golden" / "features.dbml"
FEATURES = Path(__file__).parents[1] / "frontends" / "data" / "dbml" / "features.dbml"


def _features() -> Catalog:
    return parse_dbml(FEATURES.read_text(), FEATURES.name)


def test_registered_as_a_schema_format() -> None:
    assert load_renderer(SCHEMA_FORMATS["dbml"]) is render


def test_golden() -> None:
    text = render(_features(), {})["schema.dbml"]
    if os.environ.get("NSELF_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_deterministic() -> None:
    assert render(sample_catalog(), {}) == render(sample_catalog(), {})


def test_round_trip_features() -> None:
    catalog = _features()
    assert parse_dbml(render(catalog, {})["schema.dbml"], "rendered.dbml") == catalog


def _corpus_dbml() -> list[Path]:
    folder = CORPUS / "dbml"
    return sorted([*folder.glob("*/input/*.dbml"), *folder.glob("*/output/*.dbml")])


ROUND_TRIP_XFAIL = {
    "checks.out.dbml": (
        "PostgreSQL's own deparse is not a fixed point: `(status)::text = ANY ((ARRAY['a'::character "
        "varying])::text[])`, read again, is stored as `... ANY (ARRAY[('a'::character varying)::text])`"
    ),
}


def _round_trip_param(path: Path) -> Any:
    reason = ROUND_TRIP_XFAIL.get(path.name)
    marks = [pytest.mark.xfail(reason=reason, strict=False)] if reason else []
    return pytest.param(path, marks=marks, id=f"{path.parent.parent.name}/{path.name}")


@pytest.mark.parametrize("path", [_round_trip_param(p) for p in _corpus_dbml()])
def test_round_trip_corpus(corpus: Path, path: Path) -> None:
    """Every catalog read from DBML is, by construction, one DBML can express: rendering
    it and reading the result back gives the same catalog."""
    try:
        catalog = parse_dbml(path.read_text(), path.name)
    except SourceError:
        pytest.skip("an error fixture: no catalog to render")
    assert parse_dbml(render(catalog, {})["schema.dbml"], "rendered.dbml") == catalog


def assert_dbml_part_equal(original: Catalog, back: Catalog) -> None:
    """`back` (read from the DBML of `original`) holds `original`'s DBML part: enums,
    tables with columns, keys, checks, refs and comments, and indexes without what DBML
    cannot say (collations, operator classes, predicates, INCLUDE)."""
    for table in original.tables:
        got = back.table(table.schema, table.name)
        assert got is not None, table.name
        where = f"{table.schema}.{table.name}"
        assert [(c.name, c.data_type, c.comment) for c in got.columns] == [
            (c.name, c.data_type, c.comment) for c in table.columns
        ], where
        # PostgreSQL makes identity columns NOT NULL, whatever a hand-written catalog says
        assert [c.not_null for c in got.columns] == [
            c.not_null or c.identity is not None for c in table.columns
        ], where
        # DBML has no sequences but serials': other nextval() defaults are left out
        assert [c.default for c in got.columns] == [
            None if (c.default or "").startswith("nextval(") and g.default is None else c.default
            for c, g in zip(table.columns, got.columns, strict=True)
        ], where
        assert got.comment == table.comment, where
        pk = table.primary_key
        assert (got.primary_key and got.primary_key.columns) == (pk and pk.columns), where

        def refs(t: m.Table) -> set[tuple[object, ...]]:
            return {
                (f.name, f.columns, f.ref_schema, f.ref_table, f.ref_columns, f.on_delete, f.on_update)
                for f in t.foreign_keys
            }

        assert refs(got) == refs(table), where
        checks = {(c.name, c.expression) for c in table.constraints if isinstance(c, m.CheckConstraint)}
        assert {(c.name, c.expression) for c in got.constraints if isinstance(c, m.CheckConstraint)} == checks
        for index in original.indexes_of(table.schema, table.name):
            if index_loss(index) is not None:  # left out whole (a partial index), never stricter
                assert index.name not in {i.name for i in back.indexes_of(table.schema, table.name)}
                continue
            twin = next(i for i in back.indexes_of(table.schema, table.name) if i.name == index.name)
            # collations, operator classes and orderings of keys are not DBML
            keys = [(k.column, k.expression) for k in index.keys]
            assert [(k.column, k.expression) for k in twin.keys] == keys, index.name
            assert (twin.unique, twin.method) == (index.unique, index.method), index.name
    assert {(e.schema, e.name, e.labels) for e in back.enums} == {
        (e.schema, e.name, e.labels) for e in original.enums
    }


def test_sample_catalog_restricted_round_trip() -> None:
    """A catalog with much that DBML cannot hold: what comes back is its DBML part."""
    original = sample_catalog()
    assert_dbml_part_equal(original, parse_dbml(render(original, {})["schema.dbml"], "rendered.dbml"))


@pytest.mark.oracle
def test_round_trip_of_an_introspected_database(database: str) -> None:
    """features.sql (dbml's export of features.dbml) applied and introspected: its DBML
    reads back to exactly the introspected catalog."""
    from nself.frontends.live import introspect

    run_sql(database, FEATURES.with_suffix(".sql").read_text())
    live = introspect(database)
    assert parse_dbml(render(live, {})["schema.dbml"], "rendered.dbml") == live


@pytest.mark.oracle
def test_round_trip_of_pagila(corpus: Path, database: str) -> None:
    """pagila (domains, views, partitions, functions: much DBML cannot say) introspected,
    rendered and read back: its tables, keys, refs, checks, indexes and enums come back."""
    from nself.frontends.live import introspect
    from nself.runtime.cluster import find_pg_program

    path = corpus / "schemas" / "pagila" / "pagila-schema.sql"
    argv = [
        str(find_pg_program("psql")),
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-d",
        database,
        "-f",
        str(path),
    ]
    subprocess.run(argv, check=True, capture_output=True)
    live = introspect(database)
    text = render(live, {})["schema.dbml"]
    assert_dbml_part_equal(live, parse_dbml(text, "pagila.dbml"))


@pytest.mark.parametrize(
    ("data_type", "dbml"),
    [
        ("integer", "integer"),
        ("character varying(255)", "varchar(255)"),
        ("character varying", "varchar"),
        ("character(2)", "char(2)"),
        ("numeric(10,2)", "numeric(10,2)"),
        ("double precision", '"double precision"'),
        ("timestamp(3) without time zone", "timestamp(3)"),
        ("timestamp with time zone", "timestamptz"),
        ("time with time zone[]", "timetz[]"),
        ("integer[]", "integer[]"),
        ("public.mood", '"public"."mood"'),
        ('app."Weird Type"[]', '"app"."Weird Type"[]'),
        ("tsvector", "tsvector"),
    ],
)
def test_dbml_type(data_type: str, dbml: str) -> None:
    assert dbml_type(data_type) == dbml
    back = parse_dbml(f"Enum public.mood {{\n  a\n}}\nTable t {{\n  c {dbml}\n}}\n", "t.dbml")
    table = back.table("public", "t")
    assert table is not None and table.columns[0].data_type == data_type


def test_losses_name_what_the_sample_catalog_loses() -> None:
    found = losses(sample_catalog())
    partial = [i for i in sample_catalog().indexes if i.predicate is not None]
    assert partial and all(any(i.name in line and "WHERE" in line for line in found) for i in partial)
    assert any(line.startswith(tuple(f"{n} view(s)" for n in range(1, 50))) for line in found) or not sample_catalog().views
