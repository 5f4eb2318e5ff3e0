"""Arrays of any dimension, with PostgreSQL as the oracle: it enforces no declared dimension
(`integer[]` takes `'{{1,2},{3,4}}'`, `integer[][]` takes `'{1,2}'`, and `'{}'` has none),
so every language's type for an array column must take every value PostgreSQL stores in it;
where a CHECK (array_ndims(c) = N) fixes the dimension, on the column or on a domain, the
type is exactly N nested lists. Rows are written by PostgreSQL, read with row_to_json and
given to each language's real consumer: tsc, pydantic, encoding/json, serde_json,
graphql-core; Swift (no swiftc here) by the shapes of its text."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest
from graphql import build_schema, graphql_sync
from psycopg.errors import CheckViolation

from nself.backends.types.go import render_go
from nself.backends.types.graphql import render_graphql
from nself.backends.types.python import render_python
from nself.backends.types.rust import render_rust
from nself.backends.types.swift import render_swift
from nself.backends.types.typescript import render_typescript
from nself.frontends.live import introspect
from nself.ir import Catalog
from tests.backends.types.conftest import SessionDatabases
from tests.backends.types.test_go import GO_DECODER, GO_INSTALL, _go_env, _normalise, go_vet
from tests.backends.types.test_python_types import import_generated
from tests.backends.types.test_rust import run_decoder
from tests.backends.types.test_swift import SWIFT_WIRE, swift_problems, swift_shapes
from tests.backends.types.test_typescript import run_tsc
from tests.backends.types.toolchain import json_misfit, tsc_path
from tests.conftest import run_sql
from tests.tools import require_program

SCHEMA = """
CREATE DOMAIN public.grid AS integer[] CHECK (array_ndims(VALUE) = 2);
CREATE TABLE public.dims (
    id integer PRIMARY KEY,
    one integer[],
    two integer[][],
    pinned integer[] CHECK (array_ndims(pinned) = 2),
    cells public.grid
);
-- Each dimension PostgreSQL takes, in a column declared with one and one declared with two;
-- the pinned columns take two dimensions (or the empty array, which has none) and NULL.
INSERT INTO public.dims VALUES
    (1, '{}', '{}', '{}', '{}'),
    (2, '{1,NULL}', '{1,2}', '{{1,2}}', '{{1}}'),
    (3, '{{1,2},{3,NULL}}', '{{1,2},{3,4}}', '{{NULL,2},{3,4}}', '{{1,2},{3,4}}'),
    (4, '{{{1},{2}},{{3},{NULL}}}', '{{{1,2}}}', NULL, NULL),
    (5, NULL, '{NULL}', NULL, NULL);
"""


@pytest.fixture(scope="module")
def dims(types_databases: SessionDatabases) -> tuple[Catalog, list[str]]:
    """The catalog of SCHEMA and its rows as PostgreSQL writes them (row_to_json)."""
    url = types_databases.new("types_array_dims")
    run_sql(url, SCHEMA)
    with psycopg.connect(url) as conn:
        ndims = conn.execute(
            "SELECT array_ndims(one), array_ndims(two) FROM public.dims ORDER BY id"
        ).fetchall()
        rows = [r[0] for r in conn.execute("SELECT row_to_json(d)::text FROM public.dims d ORDER BY id")]
        # The oracle: PostgreSQL refuses one dimension where a CHECK fixes two.
        for column in ("pinned", "cells"):
            with pytest.raises(CheckViolation), conn.transaction():
                conn.execute(f"INSERT INTO public.dims (id, {column}) VALUES (9, '{{1,2}}')")  # type: ignore[arg-type]
    assert ndims == [(None, None), (1, 1), (2, 2), (3, 3), (None, 1)]
    return introspect(url), rows


def test_pinned_dimensions_are_read_from_the_checks(dims: tuple[Catalog, list[str]]) -> None:
    catalog, _ = dims
    text = render_typescript(catalog, {})
    for line in (
        "  one: PgArray<number | null> | null;",
        "  two: PgArray<number | null> | null;",
        "  pinned: (number | null)[][] | null;",
        "  cells: (number | null)[][] | null;",
    ):
        assert line in text, text
    declared = render_typescript(catalog, {"arrays": "declared"})
    assert "  one: (number | null)[] | null;" in declared and "  two: (number | null)[][] | null;" in declared
    assert "PgArray" not in declared


@pytest.mark.oracle
def test_typescript_takes_every_row(dims: tuple[Catalog, list[str]], tmp_path: Path) -> None:
    catalog, rows = dims
    tsc_path()
    (tmp_path / "types.ts").write_text(render_typescript(catalog, {}), encoding="utf-8")
    (tmp_path / "rows.ts").write_text(
        'import type { Dims } from "./types";\n'
        f"const rows: Dims[] = [{', '.join(rows)}];\n"
        "// @ts-expect-error: CHECK (array_ndims(pinned) = 2)\n"
        "const flat: Dims = { ...rows[0], pinned: [1, 2] };\n"
        "// @ts-expect-error: the domain grid's CHECK (array_ndims(VALUE) = 2)\n"
        "const deep: Dims = { ...rows[0], cells: [[[1]]] };\n"
        "export { rows, flat, deep };\n",
        encoding="utf-8",
    )
    done = run_tsc(tmp_path, ["types.ts", "rows.ts"])
    assert done.returncode == 0, done.stdout + done.stderr


def test_pydantic_takes_every_row(dims: tuple[Catalog, list[str]], tmp_path: Path) -> None:
    catalog, rows = dims
    module = import_generated(render_python(catalog, {"pydantic": True}), tmp_path, "nself_array_dims_any")
    values = [json.loads(r) for r in rows]
    for value in values:
        assert module.Dims.model_validate(value).model_dump() == value
    with pytest.raises(ValueError, match="pinned"):
        module.Dims.model_validate({**values[0], "pinned": [1, 2]})
    with pytest.raises(ValueError, match="one"):
        module.Dims.model_validate({**values[0], "one": [[1], 2]})  # ragged: no PostgreSQL array


@pytest.mark.oracle
def test_go_takes_every_row(dims: tuple[Catalog, list[str]], tmp_path: Path, toolchain_cache: Path) -> None:
    catalog, rows = dims
    go = require_program("go", GO_INSTALL)
    text = render_go(catalog, {})
    assert '\tOne    *PgArray[*int32] `json:"one"`' in text and "\tPinned [][]*int32" in text
    module = tmp_path / "module"
    go_vet(module, {"models": text}, toolchain_cache)
    (module / "check").mkdir()
    (module / "check" / "main.go").write_text(
        GO_DECODER % '\t"Dims": roundTrip[models.Dims],', encoding="utf-8"
    )
    lines = [f"Dims\t{r}" for r in rows]
    result = subprocess.run(
        [go, "run", "./check"],
        cwd=module,
        env=_go_env(toolchain_cache),
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"{result.stdout}{result.stderr}"
    for sent, received in zip(rows, result.stdout.splitlines(), strict=True):
        assert _normalise(json.loads(received.split("\t", 1)[1])) == _normalise(json.loads(sent))
    refused = subprocess.run(
        [go, "run", "./check"],
        cwd=module,
        env=_go_env(toolchain_cache),
        input='Dims\t{"id": 9, "one": [[1], 2], "two": null, "pinned": null, "cells": null}\n',
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0 and "needs an array" in refused.stdout


@pytest.mark.oracle
def test_rust_takes_every_row(dims: tuple[Catalog, list[str]], tmp_path: Path, toolchain_cache: Path) -> None:
    catalog, rows = dims
    text = render_rust(catalog, {})
    assert "    pub one: Option<PgArray<Option<i32>>>," in text
    assert "    pub pinned: Option<Vec<Vec<Option<i32>>>>," in text
    flat = json.dumps({**json.loads(rows[0]), "pinned": [1, 2]})
    lines = [f"Dims\t{r}" for r in [*rows, flat]]
    outputs = run_decoder(tmp_path / "crate", toolchain_cache, "db", text, lines, errors=True)
    assert len(outputs) == len(lines)
    for sent, received in zip(rows, outputs[:-1], strict=True):
        assert json.loads(received.split("\t", 1)[1]) == json.loads(sent)
    assert outputs[-1].startswith("Dims\tERROR ")  # one dimension where the CHECK fixes two


def test_swift_takes_every_row(dims: tuple[Catalog, list[str]]) -> None:
    catalog, rows = dims
    text = render_swift(catalog, {})
    assert swift_problems(text) == []
    assert "    public var one: PgArray<Int32?>?\n" in text and "    public var pinned: [[Int32?]]?\n" in text
    shapes = swift_shapes(text)
    fields = shapes[0]["Dims"]
    for row in rows:
        value: dict[str, Any] = json.loads(row)
        assert [json_misfit(fields[k], v, SWIFT_WIRE, shapes) for k, v in value.items()] == [None] * len(
            value
        )
    assert json_misfit(fields["pinned"], [1, 2], SWIFT_WIRE, shapes) is not None


def test_graphql_serves_every_row(dims: tuple[Catalog, list[str]]) -> None:
    """Plain GraphQL: graphql-core returns every row through the schema (PgArray for the
    columns of any dimension, nested lists for the pinned ones)."""
    catalog, rows = dims
    schema = build_schema(render_graphql(catalog, {}))
    values = [json.loads(r) for r in rows]
    query = "{ dims { id one two pinned cells } }"
    result = graphql_sync(schema, query, root_value={"dims": values})
    assert result.errors is None, result.errors
    assert result.data == {"dims": values}
    refused = graphql_sync(schema, query, root_value={"dims": [{**values[0], "pinned": [1, 2]}]})
    assert refused.errors
