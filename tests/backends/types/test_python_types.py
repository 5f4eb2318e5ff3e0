"""Python types: golden files for rich_schema.sql (pydantic and dataclasses), `mypy --strict`
on the output for rich_schema.sql, every_case.sql and each corpus schema (and on code using
it), the pydantic models validating real rows fetched from PostgreSQL with psycopg (NULL
array elements among them), and Insert / Update values that leave a column out, write NULL
or write a value, checked by what PostgreSQL stores."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.pq import Format
from psycopg.rows import dict_row
from psycopg.types import TypeInfo
from psycopg.types.composite import CompositeInfo, register_composite
from psycopg.types.enum import EnumInfo, register_enum
from psycopg.types.string import TextLoader
from pydantic import TypeAdapter

from nself.backends.types.common import TypeResolver, callable_functions, table_field_sets
from nself.backends.types.python import _Renderer, doc_text, render, render_python
from nself.frontends.live import introspect
from nself.ir import Catalog, catalog_from_json, catalog_to_json
from nself.ir.model import View, ViewColumn
from tests.backends.types.conftest import (
    EVERY_CASE_ROWS_SQL,
    EVERY_CASE_SQL,
    CorpusCatalogs,
    SessionDatabases,
    assert_golden,
)
from tests.backends.types.toolchain import (
    CORPUS_SCHEMAS,
    FUNCTION_CALLS,
    FUNCTIONS_SQL,
    call_function,
    load_rich,
)
from tests.conftest import run_sql

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
        "    c_numeric: Numeric | None",  # Decimal, NaN and the infinities allowed
        "    c_jsonb: Json",
        "    c_int_array: PgArray[int | None] | None",
    ]:
        assert line in text, line
    plain = render_python(rich, {})
    assert "    display_name_2: str | None = field(metadata={\"db_name\": 'Display Name'})" in plain
    assert "class AuthUsers(" not in plain and "class AuthUsers:" in plain


def test_functions(rich: Catalog) -> None:
    text = render_python(rich, {"pydantic": True})
    for line in [
        "SearchUsersArgs = TypedDict(\"SearchUsersArgs\", {'query': str, 'max_rows': NotRequired[int]})",
        "SearchUsersReturns: TypeAlias = list[Users | None]",  # a SETOF may yield a NULL row
        "UserStatsReturns: TypeAlias = list[UserStatsResult]",
        "    last_seen: _dt.datetime | None = Field(alias='Last Seen')",
        "UserCountReturns: TypeAlias = int | None",
        "TouchReturns: TypeAlias = None",
        "AuthUidReturns: TypeAlias = _uuid.UUID | None",
    ]:
        assert line in text, line
    assert "SetCreated" not in text  # a trigger function is not callable


def any_dims(line: str) -> str:
    """An expected line of `arrays = "declared"` as the default spells it: `list[list[T]]`
    becomes `PgArray[T]`."""
    return re.sub(r"(?:list\[)+([^\[\]]+)\]+", r"PgArray[\1]", line)


@pytest.mark.parametrize("arrays", ["declared", "any"])
def test_array_elements_nullable_unless_postgresql_forbids_null(
    rich: Catalog, every_case_catalog: Catalog, arrays: str
) -> None:
    """Elements are `| None` (only the innermost ones of a multi-dimensional array), except
    for arrays of a NOT NULL domain, domains over arrays with a null-free CHECK and columns
    with one: in tables, composite types and function arguments and results alike."""
    spell = (lambda line: line) if arrays == "declared" else any_dims
    rich_text = render_python(rich, {"pydantic": True, "arrays": arrays})
    for line in [
        "    roles: list[Access | None]",  # NOT NULL column: the elements may still be NULL
        "    tags: list[str | None] | None",  # domain over text[]
        "    c_int_matrix: list[list[int | None]] | None",
        "    c_text_array: list[str | None]",
        "    c_labels: list[str] | None",  # label[]: label is NOT NULL
        "    c_checked_texts: list[str] | None",  # CHECK (array_position(..., NULL) IS NULL)
        "    c_composite_array: list[MoneyAmount | None] | None",
        "    result: list[str | None] | None",  # an OUT column
        "AddTagArgs = TypedDict(\"AddTagArgs\", {'tags': list[str | None], 'tag': int})",
        "AddTagReturns: TypeAlias = list[str | None] | None",
        "SumIntsArgs = TypedDict(\"SumIntsArgs\", {'nums': list[int | None]})",
    ]:
        assert spell(line) in rich_text, line
    text = render_python(every_case_catalog, {"arrays": arrays})
    array_elements = text.split("class ArrayElements:")[1].split("\n\n\n")[0]
    for line in [
        "    plain: list[str | None] | None",
        "    numbers: list[int | None]",
        "    moods: list[Mood | None] | None",
        "    labels: list[str] | None",
        "    strict: list[str] | None",
        "    checked: list[int] | None",
    ]:
        assert spell(line) in array_elements, line
    for line in [
        "    c_strict_tags: list[str] | Unset = UNSET",  # AllTypesInsert: NOT NULL with a default
        "    c_checked_ints: list[int] | Unset = UNSET",
        "    c_checked_texts: list[str] | None | Unset = field(default=UNSET, metadata={\"db_name\": 'c_Checked Texts'})",
        "    c_unchecked_ints: list[int | None] | None | Unset = UNSET",  # the CHECK is under OR
        "    c_tag_matrix: list[list[str | None]] | None",  # an array of a domain over text[]
        "    moods: list[Mood | None] | None = None",  # composite line_item
    ]:
        assert spell(line) in text, line


def test_view_array_elements(rich: Catalog) -> None:
    """A view column's elements follow its type (a view carries no CHECK)."""
    view = View(
        "public",
        "arrays",
        "SELECT ...",
        (
            ViewColumn("texts", "text[]", not_null=True),
            ViewColumn("labels", "public.label[]"),
            ViewColumn("grid", "integer[][]"),
        ),
    )
    text = render_python(dataclasses.replace(rich, views=(*rich.views, view)), {"arrays": "declared"})
    for line in [
        "    texts: list[str | None]",
        "    labels: list[str] | None",
        "    grid: list[list[int | None]] | None",
    ]:
        assert line in text, line


@pytest.mark.parametrize("pydantic", [False, True], ids=["dataclasses", "pydantic"])
def test_table_fields_follow_table_field_sets(
    rich: Catalog, every_case_catalog: Catalog, corpus_catalogs: CorpusCatalogs, pydantic: bool
) -> None:
    """The renderer decides each column's fields itself (memoised per kind of column, for
    speed); they are those of common.table_field_sets, spelled by the same rules."""
    for catalog in (rich, every_case_catalog, corpus_catalogs.get("pagila")):
        renderer = _Renderer(catalog, {"pydantic": pydantic})
        resolver = TypeResolver(catalog)
        omitted = "None" if pydantic else "UNSET"
        for table in catalog.tables:
            names = dict(
                zip(
                    [c.name for c in table.columns],
                    renderer.field_names([c.name for c in table.columns]),
                    strict=True,
                )
            )
            comments = {c.name: c.comment for c in table.columns}
            expected = []
            for fields in table_field_sets(table, resolver):
                lines = []
                for f in fields:
                    annotation = renderer.annotation(f.data_type, f.nullable, f.element_nullable, f.ndims)
                    default = omitted
                    if f.optional and annotation != "Any":
                        # a dataclass: UNSET is the default; pydantic: None where the column
                        # takes NULL, else LEFT_OUT (None is refused)
                        if not pydantic:
                            annotation += " | Unset"
                        elif not f.nullable:
                            default = "LEFT_OUT"
                    lines.append(
                        renderer.declaration(
                            names[f.column],
                            f.column,
                            annotation,
                            default if f.optional else None,
                            comments[f.column],
                        )
                    )
                expected.append("\n".join(lines))
            assert [c.body for c in renderer.table_classes(table)] == expected, f"{table.schema}.{table.name}"


@pytest.mark.parametrize("text", ['ends with "q"', 'a\\b """ c', 'x"""', 'a\\"', "plain", '"'])
def test_doc_text_survives_any_comment(text: str) -> None:
    namespace: dict[str, Any] = {}
    exec(f'def f() -> None:\n    """{doc_text(text)}"""\n', namespace)
    assert namespace["f"].__doc__ == text


def test_output_is_deterministic(rich: Catalog) -> None:
    for options in ({}, {"pydantic": True}):
        assert render(rich, options) == render(catalog_from_json(catalog_to_json(rich)), options)


def test_golden(rich: Catalog) -> None:
    assert_golden("python/rich_pydantic.py", render_python(rich, {"pydantic": True}))
    assert_golden("python/rich_dataclasses.py", render_python(rich, {}))
    # `arrays = "declared"`: the declared dimensions, as before arrays admitted any.
    declared = {"arrays": "declared"}
    assert_golden("python/rich_pydantic_declared.py", render_python(rich, {"pydantic": True, **declared}))
    assert_golden("python/rich_dataclasses_declared.py", render_python(rich, declared))


# --------------------------------------------------------------------------- mypy


# Code that uses the generated modules as the docs show, checked with them.
USES = """
from typing import Any

import rich_dataclasses as plain
import rich_pydantic as models

# dataclasses: UNSET (left out), None (NULL), a value; narrowed by `is not UNSET`
update = plain.UsersUpdate(display_name_2=None, score=3)
columns: dict[str, Any] = plain.column_values(update)
if update.score is not plain.UNSET:
    score: int | None = update.score
if not isinstance(update.access, plain.Unset):
    access: plain.Access = update.access  # NOT NULL: never None
insert = plain.UsersInsert(email="a@example.com", tags=["x", None])


def labels(row: plain.AllTypes) -> plain.PgArray[str] | None:
    return row.c_labels  # label[]: elements never NULL


def matrix(row: plain.AllTypes) -> plain.PgArray[int | None] | None:
    return row.c_int_matrix


# Any dimension fits any array column (PostgreSQL enforces none): narrow before use.
two_dims = plain.AllTypesUpdate(c_int_array=[[1, None], [3, None]], c_int_matrix=[1, None], c_text_array=[])


def first(row: plain.AllTypes) -> int | None:
    value = row.c_int_array[0] if row.c_int_array else None
    return value if not isinstance(value, list) else None


# pydantic: the fields set, by column name
changes: dict[str, Any] = models.UsersUpdate(display_name=None).model_dump(by_alias=True, exclude_unset=True)
row = models.Users.model_validate({"id": 1})
elements: models.PgArray[str | None] | None = row.tags
"""


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
    (tmp_path / "uses.py").write_text(USES, encoding="utf-8")
    files.append(str(tmp_path / "uses.py"))
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


def quoted(schema: str, name: str) -> str:
    return '"{}"."{}"'.format(schema.replace('"', '""'), name.replace('"', '""'))


def typed_connection(
    url: str, module: ModuleType, catalog: Catalog, *, autocommit: bool = False
) -> psycopg.Connection[Any]:
    """A connection that reads the schema's enums and composite values as a client would."""
    conn = psycopg.connect(url, autocommit=autocommit)
    names = _Renderer(catalog, {}).names
    # Arrays of enums need the enum registered (psycopg reads unknown arrays as text);
    # the generated enums fit register_enum with their labels as the mapping.
    for enum in catalog.enums:
        if not enum.labels:
            continue
        python_enum = getattr(module, names[(enum.schema, enum.name)])
        enum_info = EnumInfo.fetch(conn, quoted(enum.schema, enum.name))
        assert enum_info is not None
        register_enum(enum_info, conn, python_enum, mapping={m: m.value for m in python_enum})
    # Arrays of a domain too (PostgreSQL sends a domain's values as its base type, but an
    # array of a domain as a type of its own): the domain read as its base type.
    for domain in catalog.domains:
        domain_info = TypeInfo.fetch(conn, quoted(domain.schema, domain.name))
        assert domain_info is not None
        base = conn.execute(
            "WITH RECURSIVE b(oid, base, kind) AS ("
            " SELECT oid, typbasetype, typtype FROM pg_type WHERE oid = %s"
            " UNION ALL SELECT t.oid, t.typbasetype, t.typtype FROM pg_type t JOIN b ON t.oid = b.base)"
            " SELECT oid FROM b WHERE kind <> 'd'",
            (domain_info.oid,),
        ).fetchone()
        assert base is not None
        domain_info.register(conn)
        conn.adapters.register_loader(
            domain_info.oid, conn.adapters.get_loader(base[0], Format.TEXT) or TextLoader
        )
    # Composite values (composite types, and row types used as column types) arrive as
    # dicts keyed by attribute name, as a JSON client sees them.
    resolver = TypeResolver(catalog)
    composites = {(c.schema, c.name) for c in catalog.composite_types}
    for table in catalog.tables:
        for column in table.columns:
            element = resolver.resolve(column.data_type).element()
            if element.kind == "composite":
                composites.add(element.key)
    for schema, name in sorted(composites):
        info = CompositeInfo.fetch(conn, quoted(schema, name))
        assert info is not None
        fields = info.field_names
        register_composite(
            info, conn, factory=lambda *values, fields=fields: dict(zip(fields, values, strict=True))
        )
    return conn


def fetch_rows(
    url: str, schema: str, name: str, module: ModuleType, catalog: Catalog
) -> list[dict[str, Any]]:
    with typed_connection(url, module, catalog) as conn, conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute(f"SELECT * FROM {quoted(schema, name)} ORDER BY 1")  # type: ignore[arg-type]
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
    url, catalog = rich_database
    pydantic_module, plain_module = modules
    rows = fetch_rows(url, schema, name, pydantic_module, catalog)
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
    url, catalog = rich_database
    pydantic_module, _ = modules
    insert = pydantic_module.UsersInsert.model_validate({"email": "c@example.com", "Display Name": "Cee"})
    values = insert.model_dump(by_alias=True, exclude_unset=True, mode="json")
    assert values == {"email": "c@example.com", "Display Name": "Cee"}
    columns = ", ".join(f'"{k}"' for k in values)
    placeholders = ", ".join(["%s"] * len(values))
    with (
        typed_connection(url, pydantic_module, catalog, autocommit=True) as conn,
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
    url, catalog = rich_database
    pydantic_module, _ = modules
    call = ", ".join(f'"{name}" => %({name})s' for name in args)
    with typed_connection(url, pydantic_module, catalog) as conn, conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute(f"SELECT * FROM public.{function}({call})", args)  # type: ignore[arg-type]
        rows = cursor.fetchall()
    assert rows
    model = getattr(pydantic_module, result)
    for row in rows:
        assert set(model.model_validate(row).model_dump(by_alias=True)) == set(row)


# --------------------------------------------------------------------------- every_case rows

EVERY_CASE_TABLES = [
    ("public", "array_elements"),
    ("public", "all_types"),
    ("public", "type"),
    ("public", "users"),
    ("billing", "users"),
    ("Audit Log", "Event Entries"),
    ("public", "3rd_party"),
]


@pytest.fixture(scope="module")
def every_case_models(
    types_databases: SessionDatabases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Catalog, ModuleType, ModuleType]]:
    """every_case.sql with the rows of every_case_rows.sql (NULL array elements among them),
    its catalog and both flavours of models imported."""
    url = types_databases.new("types_python_rows")
    run_sql(url, EVERY_CASE_SQL.read_text(encoding="utf-8") + EVERY_CASE_ROWS_SQL.read_text(encoding="utf-8"))
    catalog = introspect(url)
    directory = tmp_path_factory.mktemp("every_case_models")
    pydantic_module = import_generated(
        render_python(catalog, {"pydantic": True}), directory, "nself_every_case_pydantic"
    )
    plain_module = import_generated(render_python(catalog, {}), directory, "nself_every_case_dataclasses")
    yield url, catalog, pydantic_module, plain_module
    sys.modules.pop("nself_every_case_pydantic", None)
    sys.modules.pop("nself_every_case_dataclasses", None)


@pytest.mark.oracle
@pytest.mark.parametrize(
    ("schema", "name"), EVERY_CASE_TABLES, ids=[f"{s}.{n}" for s, n in EVERY_CASE_TABLES]
)
def test_models_hold_every_case_rows(
    every_case_models: tuple[str, Catalog, ModuleType, ModuleType], schema: str, name: str
) -> None:
    """Rows as psycopg reads them validate into the pydantic Row model and come back out
    unchanged, NULL array elements as None; the dataclass holds them too."""
    url, catalog, pydantic_module, plain_module = every_case_models
    model = _Renderer(catalog, {}).names[(schema, name)]
    rows = fetch_rows(url, schema, name, pydantic_module, catalog)
    assert rows, f"no rows in {schema}.{name}"
    cls = getattr(pydantic_module, model)
    plain = getattr(plain_module, model)
    for row in rows:
        assert cls.model_validate(row).model_dump(by_alias=True) == row
        by_field = {f.name: row[f.metadata.get("db_name", f.name)] for f in dataclasses.fields(plain)}
        assert dataclasses.asdict(plain(**by_field)) == by_field


@pytest.mark.oracle
def test_null_array_elements_come_through_as_none(
    every_case_models: tuple[str, Catalog, ModuleType, ModuleType],
) -> None:
    url, catalog, pydantic_module, _ = every_case_models
    rows = fetch_rows(url, "public", "array_elements", pydantic_module, catalog)
    first, second, _ = (pydantic_module.ArrayElements.model_validate(row) for row in rows)
    mood = pydantic_module.Mood
    assert first.plain == ["a", None, "c"] and second.plain == [None]
    assert first.numbers == [1, None]
    assert first.matrix == [[1, None], [None, 4]]
    assert first.moods == [mood.HAPPY, None]
    with pytest.raises(ValueError):  # label[]: PostgreSQL keeps NULL out, so does the model
        pydantic_module.ArrayElements.model_validate({**rows[0], "labels": ["x", None]})


# --------------------------------------------------------------------------- left out, NULL, a value

# (Python field, value) given to UsersInsert / UsersUpdate: `display_name_2` is the renamed
# column "Display Name"; score has a DEFAULT (1, from its domain); display_name has none.
WRITES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    # (case, fields given, columns PostgreSQL then holds)
    ("left out", {}, {"display_name": "Ann", "Display Name": "ANN", "score": 5}),
    (
        "NULL",
        {"display_name_2": None, "score": None},
        {"display_name": "Ann", "Display Name": None, "score": None},
    ),
    (
        "value",
        {"display_name": "Bea", "score": 7},
        {"display_name": "Bea", "Display Name": "ANN", "score": 7},
    ),
]


def write_columns(model: Any, module: ModuleType) -> dict[str, Any]:
    """The columns an Insert / Update value sets, by database name, as the docs say to get
    them: `model_dump(by_alias=True, exclude_unset=True)` or `column_values`."""
    if hasattr(model, "model_dump"):
        return dict(model.model_dump(by_alias=True, exclude_unset=True))
    return dict(module.column_values(model))


def execute_write(url: str, statement: str | sql.Composed, values: list[Any]) -> dict[str, Any]:
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute(statement, values)  # type: ignore[arg-type]
        row = cursor.fetchone()
    assert row is not None
    return row


def column_list(columns: dict[str, Any]) -> str:
    return ", ".join('"{}"'.format(c.replace('"', '""')) for c in columns)


@pytest.mark.oracle
@pytest.mark.parametrize("flavour", ["pydantic", "dataclasses"])
@pytest.mark.parametrize(("case", "given", "stored"), WRITES, ids=[w[0] for w in WRITES])
def test_update_leaves_out_writes_null_or_a_value(
    rich_database: tuple[str, Catalog],
    modules: tuple[ModuleType, ModuleType],
    flavour: str,
    case: str,
    given: dict[str, Any],
    stored: dict[str, Any],
) -> None:
    """An UPDATE whose SET holds exactly the fields the Update value sets: a field left out
    keeps the column as it is, None writes NULL, a value writes the value."""
    url, _ = rich_database
    module = modules[0] if flavour == "pydantic" else modules[1]
    update = module.UsersUpdate(**given)
    columns = write_columns(update, module)
    assert columns == {({"display_name_2": "Display Name"}.get(k, k)): v for k, v in given.items()}
    row = execute_write(
        url,
        """INSERT INTO public.users (email, display_name, "Display Name", score)
           VALUES ('update-' || gen_random_uuid() || '@example.com', 'Ann', 'ANN', 5) RETURNING id""",
        [],
    )
    if columns:  # as docs/types.md shows it
        sets = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in columns)
        update_sql = sql.SQL("UPDATE public.users SET {} WHERE id = %s RETURNING *").format(sets)
        row = execute_write(url, update_sql, [*columns.values(), row["id"]])
    else:  # nothing to set: the row as it is
        row = execute_write(url, "SELECT * FROM public.users WHERE id = %s", [row["id"]])
    assert {k: row[k] for k in stored} == stored


@pytest.mark.oracle
@pytest.mark.parametrize("flavour", ["pydantic", "dataclasses"])
def test_insert_leaves_out_writes_null_or_a_value(
    rich_database: tuple[str, Catalog], modules: tuple[ModuleType, ModuleType], flavour: str
) -> None:
    """An INSERT of the fields an Insert value sets: a column left out gets its default
    (score: 1, from its domain; display_name: NULL, having none), None writes NULL even
    where a default exists, a value is written. Validated by column name (pydantic) or
    made by Python name, the same columns."""
    url, _ = rich_database
    module = modules[0] if flavour == "pydantic" else modules[1]
    cases: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({}, {"score": 1, "display_name": None, "Display Name": None}),
        (
            {"score": None, "display_name_2": None},
            {"score": None, "display_name": None, "Display Name": None},
        ),
        ({"score": 3, "display_name_2": "Cee"}, {"score": 3, "display_name": None, "Display Name": "Cee"}),
    ]
    for given, stored in cases:
        email = f"insert-{flavour}-{len(given)}-{given.get('score')}@example.com"
        insert = module.UsersInsert(email=email, **given)
        columns = write_columns(insert, module)
        if flavour == "pydantic":  # by column name, as a dict from JSON would come
            by_alias = {({"display_name_2": "Display Name"}.get(k, k)): v for k, v in given.items()}
            assert (
                write_columns(module.UsersInsert.model_validate({"email": email, **by_alias}), module)
                == columns
            )
        assert set(columns) == {"email"} | {({"display_name_2": "Display Name"}.get(k, k)) for k in given}
        placeholders = ", ".join(["%s"] * len(columns))
        row = execute_write(
            url,
            f"INSERT INTO public.users ({column_list(columns)}) VALUES ({placeholders}) RETURNING *",
            list(columns.values()),
        )
        assert {k: row[k] for k in stored} == stored, given


def test_dataclass_fields_left_out_are_unset(modules: tuple[ModuleType, ModuleType]) -> None:
    _, plain = modules
    assert plain.UsersUpdate().score is plain.UNSET
    assert plain.column_values(plain.UsersUpdate()) == {}
    assert plain.column_values(plain.UsersUpdate(display_name_2=None)) == {"Display Name": None}
    with pytest.raises(TypeError):  # email is required: no default, NOT NULL
        plain.UsersInsert()


PYDANTIC_RULES_SQL = """
CREATE TABLE public.ledger (
    id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    amount numeric NOT NULL DEFAULT 0,
    note text DEFAULT 'none',
    register text,
    model_name text,
    copy int
);
COMMENT ON COLUMN public.ledger.note IS 'What the "entry" is for';
INSERT INTO public.ledger (amount, register, model_name, copy)
VALUES ('NaN', 'r', 'm', 1), ('Infinity', NULL, NULL, NULL), ('-Infinity', NULL, NULL, NULL), (1.5, NULL, NULL, NULL);
"""


@pytest.mark.oracle
def test_pydantic_insert_update_numeric_comments_and_shadowing_names(
    types_databases: SessionDatabases, tmp_path: Path
) -> None:
    url = types_databases.new("types_pydantic_rules")
    run_sql(url, PYDANTIC_RULES_SQL)
    text = render_python(introspect(url), {"pydantic": True})
    # BaseModel's and ABCMeta's attributes and pydantic's model_ prefix: renamed, aliased.
    assert "    register_: str | None = Field(alias='register')" in text
    assert "    model_name_: str | None = Field(alias='model_name')" in text
    assert "    copy_: int | None = Field(alias='copy')" in text
    module = import_generated(text, tmp_path, "nself_pydantic_rules")
    try:
        # numeric's NaN and infinities, as PostgreSQL stores them, validate
        with psycopg.connect(url) as conn, conn.cursor(row_factory=dict_row) as cursor:
            rows = cursor.execute("SELECT * FROM public.ledger ORDER BY id").fetchall()
        amounts = [module.Ledger.model_validate(row).amount for row in rows]
        assert [str(a) for a in amounts] == ["NaN", "Infinity", "-Infinity", "1.5"]
        assert module.Ledger.model_validate(rows[0]).register_ == "r"
        # the column's comment is the field's description
        schema = module.Ledger.model_json_schema()
        assert schema["properties"]["note"]["description"] == 'What the "entry" is for'
        # a NOT NULL column with a default may be left out, not set to None (NULL, refused
        # by PostgreSQL); a nullable one may be None
        with pytest.raises(ValueError, match="amount"):
            module.LedgerInsert(amount=None)
        with pytest.raises(ValueError, match="amount"):
            module.LedgerUpdate(amount=None)
        insert = module.LedgerInsert(note=None, register="x")
        values = insert.model_dump(by_alias=True, exclude_unset=True)
        assert values == {"note": None, "register": "x"}
        with psycopg.connect(url, autocommit=True) as conn, conn.cursor(row_factory=dict_row) as cursor:
            columns = ", ".join(f'"{k}"' for k in values)
            cursor.execute(
                f"INSERT INTO public.ledger ({columns}) VALUES (%s, %s) RETURNING *",  # type: ignore[arg-type]
                list(values.values()),
            )
            stored = module.Ledger.model_validate(cursor.fetchone())
        assert (stored.amount, stored.note, stored.register_) == (Decimal(0), None, "x")
    finally:
        sys.modules.pop("nself_pydantic_rules", None)


@pytest.mark.oracle
def test_function_args_and_returns_hold_real_calls(types_databases: SessionDatabases, tmp_path: Path) -> None:
    """Each Args TypedDict holds the named arguments only (PostgreSQL takes them as
    `name => value`), and what each call returns (NULL rows of a SETOF among them)
    validates against its Returns alias."""
    url = types_databases.new("types_python_functions")
    run_sql(url, FUNCTIONS_SQL.read_text(encoding="utf-8"))
    catalog = introspect(url)
    text = render_python(catalog, {"pydantic": True})
    assert "ShoutArgs = TypedDict(\"ShoutArgs\", {'suffix': NotRequired[str]})" in text
    assert "MaybeNumbersReturns: TypeAlias = list[int | None]" in text
    assert "OneReturns: TypeAlias = int\n" in text  # a NOT NULL domain is never NULL
    module = import_generated(text, tmp_path, "nself_python_functions")
    shapes = {s.name: s for s in callable_functions(catalog)}
    try:
        with psycopg.connect(url) as conn:
            for name, args, unnamed in FUNCTION_CALLS:
                base = "".join(w.capitalize() for w in name.split("_"))
                keys = getattr(module, f"{base}Args").__annotations__
                assert set(args) <= set(keys) and set(keys) == {n for n, _ in shapes[name].named_inputs}
                result = json.loads(call_function(conn, name, args, unnamed, shapes[name].returns_set))
                TypeAdapter(getattr(module, f"{base}Returns")).validate_python(result)
    finally:
        sys.modules.pop("nself_python_functions", None)


@pytest.mark.oracle
def test_an_array_of_another_dimension_is_read_or_refused_with_declared(
    types_databases: SessionDatabases, tmp_path: Path
) -> None:
    """docs/types.md, Arrays: PostgreSQL enforces no declared dimensions (an `integer[][]`
    column takes `'{1,2}'`); by default the types admit any, and with `arrays = "declared"`
    they nest per declared dimension and pydantic refuses a value of another dimension,
    naming the field, rather than misreading it."""
    url = types_databases.new("types_array_dims")
    run_sql(
        url,
        "CREATE TABLE public.grid (id int PRIMARY KEY, cells integer[][]);"
        "INSERT INTO public.grid VALUES (1, '{{1,2},{3,4}}'), (2, '{1,2}');",
    )
    catalog = introspect(url)
    assert catalog.tables[0].columns[1].data_type == "integer[][]"
    with psycopg.connect(url) as conn, conn.cursor(row_factory=dict_row) as cursor:
        two, one = cursor.execute("SELECT * FROM public.grid ORDER BY id").fetchall()
    text = render_python(catalog, {"pydantic": True})
    assert "    cells: PgArray[int | None] | None" in text
    module = import_generated(text, tmp_path, "nself_array_dims")
    try:
        assert module.Grid.model_validate(two).cells == [[1, 2], [3, 4]]
        assert module.Grid.model_validate(one).cells == [1, 2]
    finally:
        sys.modules.pop("nself_array_dims", None)
    text = render_python(catalog, {"pydantic": True, "arrays": "declared"})
    assert "    cells: list[list[int | None]] | None" in text
    module = import_generated(text, tmp_path, "nself_array_dims_declared")
    try:
        assert module.Grid.model_validate(two).cells == [[1, 2], [3, 4]]
        with pytest.raises(ValueError, match="cells"):
            module.Grid.model_validate(one)
    finally:
        sys.modules.pop("nself_array_dims_declared", None)
