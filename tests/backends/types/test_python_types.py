"""Python types: golden files for rich_schema.sql (pydantic and dataclasses), `mypy --strict`
on the output for rich_schema.sql, every_case.sql and each corpus schema, and the pydantic
models validating real rows fetched from PostgreSQL with psycopg."""

from __future__ import annotations

import dataclasses
import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.composite import CompositeInfo, register_composite
from psycopg.types.enum import EnumInfo, register_enum

from nself.backends.types.python import render, render_python
from nself.ir import Catalog, catalog_from_json, catalog_to_json
from tests.backends.types.conftest import CorpusCatalogs, SessionDatabases, assert_golden
from tests.backends.types.toolchain import CORPUS_SCHEMAS, load_rich

ROWS = r"""
INSERT INTO public.users (email, display_name, "Display Name", access, roles, "2fa_secret", score, tags)
VALUES ('a@example.com', 'Ann', 'ANN', 'Guest User', '{read-only,2fa_pending}', '\x0102', 5, '{x,y}'),
       ('b@example.com', NULL, NULL, 'true', '{}', NULL, NULL, NULL);
INSERT INTO auth.users (user_id, status, "type") SELECT id, 'active', 'staff' FROM public.users;
INSERT INTO public."class" ("type", "from", "import", "None", "model_config", "_private", teacher_id)
VALUES ('lecture', '2024-02-29', true, 'none', 'cfg', 7, (SELECT min(id) FROM public.users));
INSERT INTO public.all_types (
    c_smallint, c_integer, c_bigint, c_real, c_double, c_numeric, c_money, c_boolean, c_text, c_varchar,
    c_char, c_qchar, c_name, c_bytea, c_json, c_jsonb, c_uuid, c_date, c_timestamp, c_timestamptz, c_time,
    c_timetz, c_interval, c_interval_ym, c_inet, c_cidr, c_macaddr, c_bit, c_varbit, c_tsvector, c_tsquery,
    c_xml, c_point, c_int4range, c_int8range, c_numrange, c_tstzrange, c_daterange, c_int4multirange,
    c_floatrange, c_oid, c_int_array, c_int_matrix, c_text_array, c_composite, c_composite_array)
VALUES (
    1, 2, 9007199254740993, 1.5, 2.25, 1234567890123456.1234, 12.34, true, 'text', 'varchar',
    'ab', 'c', 'name', '\xdeadbeef', '{"a": [1, 2]}', '[1, "two", null]', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    '2024-01-02', '2024-01-02 03:04:05', '2024-01-02 03:04:05.678+00', '12:34:56', '12:34:56+02',
    '1 day 02:03:04', '1 year 2 months', '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03', B'101', B'1',
    'a fat cat', 'fat & cat', '<a>x</a>', '(1,2)', '[1,10)', '[1,2)', '[1.5,2.5]', '[2024-01-01,2024-02-01)',
    '[2024-01-01,2024-02-01)', '{[1,3), [5,7)}', '[1.5,2.5)', 42, '{1,2,3}', '{{1,2},{3,4}}', '{a,b}',
    ROW('EUR', 1.25, '2024-01-01'), ARRAY[ROW('USD', 2.5, NULL)::public.money_amount]);
INSERT INTO public.all_types (c_smallint, c_integer, c_bigint) VALUES (0, 0, 0);
INSERT INTO "Billing Dept"."Invoice Lines" ("Line No", amount, "class")
SELECT 1, 9.99, c FROM public."class" c;
REFRESH MATERIALIZED VIEW public.type_counts;
"""


@pytest.fixture(scope="module")
def rich_database(types_databases: SessionDatabases) -> tuple[str, Catalog]:
    url, catalog = load_rich(types_databases)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(ROWS)  # type: ignore[arg-type]
    return url, catalog


@pytest.fixture(scope="module")
def rich(rich_database: tuple[str, Catalog]) -> Catalog:
    return rich_database[1]


def import_generated(text: str, directory: Path, name: str) -> ModuleType:
    path = directory / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pydantic resolve annotations through it
    spec.loader.exec_module(module)
    return module


def with_declared_dimensions(catalog: Catalog) -> Catalog:
    """The catalog with all_types.c_int_matrix typed integer[][] as declared. format_type
    prints integer[] whatever the declared dimensions (PostgreSQL neither keeps them through
    pg_dump nor enforces them), so an introspected IR cannot know them; the backends nest
    lists when the IR's data type carries the dimensions."""
    tables = []
    for table in catalog.tables:
        if table.name == "all_types":
            columns = tuple(
                dataclasses.replace(c, data_type="integer[][]") if c.name == "c_int_matrix" else c
                for c in table.columns
            )
            table = dataclasses.replace(table, columns=columns)
        tables.append(table)
    return dataclasses.replace(catalog, tables=tuple(tables))


@pytest.fixture
def modules(rich: Catalog, tmp_path: Path) -> Iterator[tuple[ModuleType, ModuleType]]:
    catalog = with_declared_dimensions(rich)
    pydantic_module = import_generated(
        render_python(catalog, {"pydantic": True}), tmp_path, "nself_rich_pydantic"
    )
    plain_module = import_generated(render_python(catalog, {}), tmp_path, "nself_rich_dataclasses")
    yield pydantic_module, plain_module
    sys.modules.pop("nself_rich_pydantic", None)
    sys.modules.pop("nself_rich_dataclasses", None)


# --------------------------------------------------------------------------- text


def test_names_and_aliases(rich: Catalog) -> None:
    text = render_python(rich, {"pydantic": True})
    for line in [
        "    display_name_2: str | None = Field(alias='Display Name')",
        "    n_2fa_secret: bytes | None = Field(alias='2fa_secret')",
        "    class_: Class | None = Field(alias='class')",
        "    from_: _dt.date | None = Field(alias='from')",
        "    none: str | None = Field(alias='None')",
        "    model_config_: str | None = Field(alias='model_config')",
        "    private: int | None = Field(alias='_private')",
        "    string: str | None",
        "    str_: str | None = Field(alias='str')",  # would shadow the annotation str
        "    int_: int | None = Field(alias='int')",
        "    schema_: str | None = Field(alias='schema')",  # a BaseModel attribute
        "    _2FA_PENDING = '2fa_pending'",
        "    c_bigint: int",
        "    c_numeric: _decimal.Decimal | None",
        "    c_jsonb: Json",
        "    c_int_array: list[int] | None",
    ]:
        assert line in text, line
    plain = render_python(rich, {})
    assert "    display_name_2: str | None = field(metadata={\"db_name\": 'Display Name'})" in plain
    assert "class AuthUsers(" not in plain and "class AuthUsers:" in plain


def test_functions(rich: Catalog) -> None:
    text = render_python(rich, {"pydantic": True})
    for line in [
        "SearchUsersArgs = TypedDict(\"SearchUsersArgs\", {'query': str, 'max_rows': NotRequired[int]})",
        "SearchUsersReturns: TypeAlias = list[Users]",
        "UserStatsReturns: TypeAlias = list[UserStatsResult]",
        "    last_seen: _dt.datetime | None = Field(alias='Last Seen')",
        "UserCountReturns: TypeAlias = int | None",
        "TouchReturns: TypeAlias = None",
        "AuthUidReturns: TypeAlias = _uuid.UUID | None",
    ]:
        assert line in text, line
    assert "SetCreated" not in text  # a trigger function is not callable


def test_output_is_deterministic(rich: Catalog) -> None:
    for options in ({}, {"pydantic": True}):
        assert render(rich, options) == render(catalog_from_json(catalog_to_json(rich)), options)


def test_golden(rich: Catalog) -> None:
    assert_golden("python/rich_pydantic.py", render_python(rich, {"pydantic": True}))
    assert_golden("python/rich_dataclasses.py", render_python(rich, {}))


# --------------------------------------------------------------------------- mypy


@pytest.mark.oracle
def test_mypy_strict_accepts_every_output(
    rich: Catalog, every_case_catalog: Catalog, corpus_catalogs: CorpusCatalogs, tmp_path: Path
) -> None:
    catalogs = {"rich": rich, "every_case": every_case_catalog}
    catalogs.update({name: corpus_catalogs.get(name) for name in CORPUS_SCHEMAS})
    files = []
    for name, catalog in catalogs.items():
        for pydantic in (False, True):
            file = tmp_path / f"{name}_{'pydantic' if pydantic else 'dataclasses'}.py"
            file.write_text(render_python(catalog, {"pydantic": pydantic}), encoding="utf-8")
            files.append(str(file))
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", "/dev/null", *files],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr
    print(f"mypy --strict: {len(files)} outputs accepted")


# --------------------------------------------------------------------------- real rows

RELATIONS = [
    ("public", "users", "Users"),
    ("auth", "users", "AuthUsers"),
    ("public", "class", "Class"),
    ("public", "all_types", "AllTypes"),
    ("Billing Dept", "Invoice Lines", "InvoiceLines"),
    ("public", "user_emails", "UserEmails"),
    ("public", "type_counts", "TypeCounts"),
]


def typed_connection(url: str, module: ModuleType, *, autocommit: bool = False) -> psycopg.Connection[Any]:
    """A connection that reads the rich schema's enums and composites as a client would."""
    conn = psycopg.connect(url, autocommit=autocommit)
    # Arrays of enums need the enum registered (psycopg reads unknown arrays as text);
    # the generated enums fit register_enum with their labels as the mapping.
    for type_name, python_enum in (("public.access", module.Access), ("auth.status", module.Status)):
        enum_info = EnumInfo.fetch(conn, type_name)
        assert enum_info is not None
        register_enum(enum_info, conn, python_enum, mapping={m: m.value for m in python_enum})
    # Composite values arrive as dicts keyed by attribute name, as a JSON client sees them.
    for type_name in ("public.money_amount", 'public."class"'):
        info = CompositeInfo.fetch(conn, type_name)
        assert info is not None
        names = info.field_names
        register_composite(
            info, conn, factory=lambda *values, names=names: dict(zip(names, values, strict=True))
        )
    return conn


def fetch_rows(url: str, schema: str, name: str, module: ModuleType) -> list[dict[str, Any]]:
    with typed_connection(url, module) as conn, conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute(f'SELECT * FROM "{schema}"."{name}" ORDER BY 1')  # type: ignore[arg-type]
        return cursor.fetchall()


@pytest.mark.oracle
@pytest.mark.parametrize(("schema", "name", "model"), RELATIONS, ids=[f"{s}.{n}" for s, n, _ in RELATIONS])
def test_pydantic_models_validate_real_rows(
    rich_database: tuple[str, Catalog],
    modules: tuple[ModuleType, ModuleType],
    schema: str,
    name: str,
    model: str,
) -> None:
    url, _ = rich_database
    pydantic_module, plain_module = modules
    rows = fetch_rows(url, schema, name, pydantic_module)
    assert rows, f"no rows in {schema}.{name}"
    cls = getattr(pydantic_module, model)
    for row in rows:
        validated = cls.model_validate(row)
        # every column is a field, and dumping by alias gives the database names back
        assert set(validated.model_dump(by_alias=True)) == set(row)
    # the dataclasses hold the same rows, their field metadata mapping back to columns
    plain = getattr(plain_module, model)
    for row in rows:
        by_field = {}
        for f in dataclasses.fields(plain):
            by_field[f.name] = row[f.metadata.get("db_name", f.name)]
        assert dataclasses.asdict(plain(**by_field)).keys() == by_field.keys()


@pytest.mark.oracle
def test_pydantic_insert_model_round_trips_through_postgresql(
    rich_database: tuple[str, Catalog], modules: tuple[ModuleType, ModuleType]
) -> None:
    url, _ = rich_database
    pydantic_module, _ = modules
    insert = pydantic_module.UsersInsert.model_validate({"email": "c@example.com", "Display Name": "Cee"})
    values = insert.model_dump(by_alias=True, exclude_unset=True, mode="json")
    assert values == {"email": "c@example.com", "Display Name": "Cee"}
    columns = ", ".join(f'"{k}"' for k in values)
    placeholders = ", ".join(["%s"] * len(values))
    with (
        typed_connection(url, pydantic_module, autocommit=True) as conn,
        conn.cursor(row_factory=dict_row) as cursor,
    ):
        cursor.execute(
            f"INSERT INTO public.users ({columns}) VALUES ({placeholders}) RETURNING *",  # type: ignore[arg-type]
            list(values.values()),
        )
        row = cursor.fetchone()
        assert row is not None
        cursor.execute("DELETE FROM public.users WHERE id = %s", (row["id"],))
    users = pydantic_module.Users.model_validate(row)
    assert users.display_name_2 == "Cee" and users.access == pydantic_module.Access.READ_ONLY


@pytest.mark.oracle
@pytest.mark.parametrize(
    ("function", "args", "result"),
    [
        ("search_users", {"query": "%"}, "Users"),
        ("user_stats", {"since": "2000-01-01T00:00:00+00:00"}, "UserStatsResult"),
    ],
)
def test_function_rows_validate(
    rich_database: tuple[str, Catalog],
    modules: tuple[ModuleType, ModuleType],
    function: str,
    args: dict[str, Any],
    result: str,
) -> None:
    """A call with named arguments (the Args TypedDict's keys) returns rows the result
    type validates."""
    url, _ = rich_database
    pydantic_module, _ = modules
    call = ", ".join(f'"{name}" => %({name})s' for name in args)
    with typed_connection(url, pydantic_module) as conn, conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute(f"SELECT * FROM public.{function}({call})", args)  # type: ignore[arg-type]
        rows = cursor.fetchall()
    assert rows
    model = getattr(pydantic_module, result)
    for row in rows:
        assert set(model.model_validate(row).model_dump(by_alias=True)) == set(row)
