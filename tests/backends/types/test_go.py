"""Go types: naming and type-mapping rules one line per case, a golden file for
every_case.sql, and `go vet` + `gofmt -l` (Debian's golang-go, standard library only, no
network) on the output for every_case.sql and every corpus case."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from nself.backends.types.common import TypesWarning, callable_functions, table_field_sets
from nself.backends.types.go import (
    FILE_NAME,
    GoRenderer,
    field_names,
    go_name,
    go_string,
    json_tag,
    render,
    render_go,
    valid_json_tag,
)
from nself.errors import OptionError
from nself.frontends.live import introspect
from nself.ir import Catalog, CatalogBuilder, catalog_from_json, catalog_to_json
from nself.ir.model import (
    CheckConstraint,
    Column,
    CompositeAttribute,
    CompositeType,
    Domain,
    Schema,
    Table,
    View,
    ViewColumn,
)
from tests.backends.types.conftest import (
    CorpusCatalogs,
    SessionDatabases,
    assert_golden,
)
from tests.backends.types.toolchain import FUNCTION_CALLS, FUNCTIONS_SQL, call_function
from tests.conftest import run_sql
from tests.tools import REPO, require_program

GO_INSTALL = "apt-get install -y golang-go"


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("db_name", "expected"),
    [
        ("user_id", "UserID"),
        ("userId", "UserID"),
        ("read-only", "ReadOnly"),
        ("Guest User", "GuestUser"),
        ("2fa_pending", "2faPending"),
        ("api_url", "APIURL"),
        ("json_data", "JSONData"),
        ("naïve", "Naive"),
        ("type", "Type"),
    ],
)
def test_go_name(db_name: str, expected: str) -> None:
    assert go_name(db_name) == expected


def test_field_names_are_exported_unique_and_never_start_with_a_digit() -> None:
    assert field_names(["id", "ID", "2nd_line", "type", "-", "user_id", "userId", "Id"]) == [
        "Id",  # the name without initialisms, before a number
        "ID",  # spelled as in Go: keeps the Go name
        "X2ndLine",
        "Type",
        "Field",
        "UserID",
        "UserId",  # spelled without initialisms
        "ID2",  # no underscore: Go names have none
    ]
    assert field_names(["user_id", "userID"]) == ["UserId", "UserID"]


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("Display Name", True),
        ("a-b.c", True),
        ("naïve", True),
        ('say "hi"', False),
        ("a,b", False),
        ("it's", False),
    ],
)
def test_valid_json_tag(name: str, valid: bool) -> None:
    assert valid_json_tag(name) is valid


def test_json_tag_keeps_the_database_name() -> None:
    assert json_tag("Display Name", omitempty=False, owner="t") == '`json:"Display Name"`'
    assert json_tag("id", omitempty=True, owner="t") == '`json:"id,omitempty"`'
    with pytest.warns(TypesWarning, match="table public.t: the name 'a,b' cannot be a Go json tag.*'a_b'"):
        assert json_tag("a,b", omitempty=False, owner="table public.t") == '`json:"a_b"`'
    with pytest.warns(TypesWarning):
        assert json_tag('say "hi"', omitempty=True, owner="t") == '`json:"say _hi_,omitempty"`'


def test_go_string() -> None:
    assert go_string('a "b" \\ \n') == '"a \\"b\\" \\\\ \\n"'


@pytest.mark.parametrize("package", ["type", "func", "string", "Models", "2x", "my-pkg"])
def test_bad_package_names_are_refused(package: str) -> None:
    with pytest.raises(OptionError):
        render_go(Catalog(), {"package": package})


# --------------------------------------------------------------------------- types


# The declared dimensions, as before arrays admitted any (the tests of element nullability
# read easier so; test_arrays_admit_any_dimension checks the default).
DECLARED = {"arrays": "declared"}


def _types(
    columns: list[Column], options: dict[str, str] | None = None, checks: tuple[CheckConstraint, ...] = ()
) -> tuple[list[str], list[str], list[str]]:
    """Row, Insert and Update field types of a table public.t with `columns`."""
    builder = CatalogBuilder()
    builder.add(Schema("public"))
    builder.add(Table("public", "t", tuple(columns), constraints=checks))
    catalog = builder.freeze()
    renderer = GoRenderer(catalog, DECLARED if options is None else options)
    structs = renderer.table_structs(catalog.tables[0])
    return tuple(s.types for s in structs)  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("data_type", "not_null", "row"),
    [
        ("smallint", True, "int16"),
        ("integer", True, "int32"),
        ("bigint", True, "int64"),
        ("bigint", False, "*int64"),
        ("real", True, "float32"),
        ("double precision", True, "float64"),
        ("numeric(10,2)", True, "json.Number"),
        ("money", True, "string"),
        ("boolean", False, "*bool"),
        ("character varying(20)", True, "string"),
        ("bytea", False, "[]byte"),
        ("json", False, "json.RawMessage"),
        ("jsonb", True, "json.RawMessage"),
        ("uuid", True, "string"),
        ("date", True, "time.Time"),
        ("timestamp without time zone", False, "*time.Time"),
        ("timestamp(3) with time zone", True, "time.Time"),
        ("time without time zone", True, "string"),
        ("interval", True, "string"),
        ("inet", True, "string"),
        ("tstzrange", True, "string"),
        ("oid", True, "uint32"),
        ("xid8", True, "uint64"),
        # Array elements may be NULL; only the innermost elements (a sub-array is never NULL).
        ("integer[]", True, "[]*int32"),
        ("integer[]", False, "[]*int32"),
        ("text[][]", True, "[][]*string"),
        # nil already is NULL for []byte and json.RawMessage elements.
        ("bytea[]", True, "[][]byte"),
        ("jsonb[]", False, "[]json.RawMessage"),
        ("public.citext", False, "*string"),
    ],
)
def test_type_mapping(data_type: str, not_null: bool, row: str) -> None:
    assert _types([Column("c", data_type, not_null=not_null)])[0] == [row]


def test_arrays_admit_any_dimension() -> None:
    """By default an array is a PgArray (any number of dimensions, as PostgreSQL accepts in
    every array column); a CHECK (array_ndims(c) = N) gives N nested slices; json arrays are
    one slice of raw values, which hold nested arrays themselves."""
    row, insert, _ = _types(
        [
            Column("a", "integer[]", not_null=True),
            Column("b", "text[][]"),
            Column("grid", "integer[]", not_null=True),
            Column("docs", "jsonb[]"),
        ],
        {},
        (CheckConstraint("t_grid", "((array_ndims(grid) = 2) AND (grid <> '{}'::integer[]))"),),
    )
    assert row == ["PgArray[*int32]", "*PgArray[*string]", "[][]*int32", "[]json.RawMessage"]
    assert insert == ["PgArray[*int32]", "**PgArray[*string]", "[][]*int32", "*[]json.RawMessage"]


def test_insert_and_update_optionality() -> None:
    row, insert, update = _types(
        [
            Column("id", "bigint", not_null=True, default="nextval('public.t_id_seq'::regclass)"),
            Column("name", "text", not_null=True),
            Column("note", "text"),
            Column("tags", "text[]", not_null=True, default="'{}'::text[]"),
            Column("total", "integer", generated="(1 + 1)"),
        ]
    )
    assert row == ["int64", "string", "*string", "[]*string", "*int32"]
    # One pointer above the Row type: nil leaves the column out, a pointer to nil is NULL.
    assert insert == ["*int64", "string", "**string", "*[]*string"]
    assert update == ["*int64", "*string", "**string", "*[]*string"]


def test_elements_are_non_null_where_postgresql_guarantees_it() -> None:
    builder = CatalogBuilder()
    builder.add(Schema("public"))
    builder.add(Domain("public", "label", "text", not_null=True))
    builder.add(
        Table(
            "public",
            "t",
            (
                Column("labels", "public.label[]"),
                Column("checked", "integer[]"),
                Column("unchecked", "integer[]"),
            ),
            constraints=(CheckConstraint("t_checked", "(array_position(checked, NULL::integer) IS NULL)"),),
        )
    )
    catalog = builder.freeze()
    row, _, update = GoRenderer(catalog, DECLARED).table_structs(catalog.tables[0])
    assert row.types == ["[]string", "[]int32", "[]*int32"]
    assert update.types == ["*[]string", "*[]int32", "*[]*int32"]


def test_view_and_composite_elements() -> None:
    """Views and composite types have no CHECKs: their array elements are nullable unless the
    element type is a NOT NULL domain."""
    builder = CatalogBuilder()
    builder.add(Schema("public"))
    builder.add(Domain("public", "label", "text", not_null=True))
    columns = (("tags", "text[]"), ("labels", "public.label[]"), ("grid", "integer[][]"))
    builder.add(View("public", "v", "SELECT 1", tuple(ViewColumn(n, t) for n, t in columns)))
    builder.add(CompositeType("public", "c", tuple(CompositeAttribute(n, t) for n, t in columns)))
    catalog = builder.freeze()
    renderer = GoRenderer(catalog, DECLARED)
    expected = ["[]*string", "[]string", "[][]*int32"]
    assert renderer.view_struct(catalog.views[0]).types == expected
    assert renderer.composite_struct(catalog.composite_types[0]).types == expected


def test_structs_follow_common_table_field_sets(every_case_catalog: Catalog) -> None:
    """The Go backend decides Row/Insert/Update fields in one pass of its own (for speed) by
    the rules of common.table_field_sets: each struct has that function's fields, in its
    order, each spelled from its (nullable, optional, element_nullable)."""
    from tests.backends.types.test_native_names import adversarial_catalog  # imports this module

    for catalog in [every_case_catalog, *(adversarial_catalog(seed) for seed in range(4))]:
        renderer = GoRenderer(catalog, {})
        for table in catalog.tables:
            structs = renderer.table_structs(table)
            for struct, fields in zip(structs, table_field_sets(table, renderer.resolver), strict=True):
                assert [
                    re.sub(r'^`json:"(.*?)(,omitempty)?(,string)?"`$', r"\1", t) for t in struct.tags
                ] == [f.column for f in fields]
                assert [",omitempty" in t for t in struct.tags] == [f.optional for f in fields]
                assert struct.types == [
                    renderer.spell(f.data_type, f.nullable, f.optional, f.element_nullable, f.ndims)[0]
                    for f in fields
                ]


def test_every_case_mapping(every_case_catalog: Catalog) -> None:
    """Spot checks on the real schema: domains resolve to their base type and NOT NULL,
    identity ALWAYS and generated columns stay out of Insert, views are nullable where
    PostgreSQL does not know."""
    text = render_go(every_case_catalog, DECLARED)
    assert re.search(r"\tCEmail +string +`json:\"c_email\"`", text)  # NOT NULL domain over citext
    assert re.search(r"\tCStrict +int32 +`json:\"c_strict\"`", text)  # domain over a NOT NULL domain
    assert re.search(
        r"\tCTagMatrix +\[\]\[\]\*string +`json:\"c_tag_matrix\"`", text
    )  # array of a domain over text[]
    assert re.search(r"\tCMoodD +\*Mood +`json:\"c_mood_d\"`", text)
    # Array elements: nullable unless a NOT NULL element domain or a CHECK keeps NULL out.
    assert re.search(r"\tCLabels +\[\]string +`json:\"c_labels\"`", text)
    assert re.search(r"\tCStrictTags +\[\]string +`json:\"c_strict_tags\"`", text)
    assert re.search(r"\tCCheckedInts +\[\]int32 +`json:\"c_checked_ints\"`", text)
    assert re.search(r"\tCCheckedTexts +\[\]string +`json:\"c_Checked Texts\"`", text)
    assert re.search(r"\tCUncheckedInts +\[\]\*int32 +`json:\"c_unchecked_ints\"`", text)
    insert = text.split("type AllTypesInsert struct {")[1].split("}")[0]
    assert "c_generated" not in insert and "c_identity,omitempty" in insert and "c_serial,omitempty" in insert
    type_insert = text.split("type TypeInsert struct {")[1].split("}")[0]
    assert '"id' not in type_insert  # GENERATED ALWAYS AS IDENTITY
    # Same table name in two schemas, and names that collide after qualifying.
    assert "type Users struct {" in text and "type BillingUsers struct {" in text
    assert "type BillingUsers2 struct {" in text and "type PublicUsersInsert struct {" in text


def test_helper_names_are_never_type_names() -> None:
    """Value, NullableValue and Null are the file's own functions: tables named so are
    qualified, as a name taken by another type would be."""
    builder = CatalogBuilder()
    builder.add(Schema("public"))
    for name in ("value", "nullable_value", "null"):
        builder.add(Table("public", name, (Column("id", "integer"),)))
    text = render_go(builder.freeze(), {})
    for name in ("PublicValue", "PublicNullableValue", "PublicNull"):
        assert f"type {name} struct" in text and f"type {name}Insert struct" in text
    assert "func Value[T any](v T) *T {" in text and "func Null[T any]() **T {" in text


def test_output_is_deterministic(every_case_catalog: Catalog) -> None:
    again = catalog_from_json(catalog_to_json(every_case_catalog))
    assert render(every_case_catalog, {}) == render(again, {})


def test_golden_every_case(every_case_catalog: Catalog) -> None:
    assert_golden("go/every_case/types.go", render(every_case_catalog, {"package": "models"})[FILE_NAME])


def test_golden_functions(functions_catalog: Catalog) -> None:
    """functions_schema.sql's functions: Args, Result and Returns types."""
    assert_golden("go/functions/types.go", render(functions_catalog, {"package": "models"})[FILE_NAME])


def test_golden_declared_arrays(every_case_catalog: Catalog, functions_catalog: Catalog) -> None:
    """`arrays = "declared"`: the declared dimensions, as before arrays admitted any."""
    options = {"package": "models", **DECLARED}
    assert_golden("go/every_case/types_declared.go", render(every_case_catalog, options)[FILE_NAME])
    assert_golden("go/functions/types_declared.go", render(functions_catalog, options)[FILE_NAME])


# --------------------------------------------------------------------------- toolchain


def _go_env(cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GOFLAGS="-mod=mod",
        GOTOOLCHAIN="local",
        GOPROXY="off",
        GONOSUMDB="*",
        # Go's build cache is content-addressed and safe for concurrent use: one in the
        # repository's .cache/ (as the Rust target), shared by the xdist workers and kept
        # between runs, compiles and vets the standard library once per machine.
        GOCACHE=str(REPO / ".cache" / "go-build"),
        GOPATH=str(cache / "gopath"),
        GO111MODULE="on",
    )
    return env


def go_vet(module: Path, packages: dict[str, str], cache: Path) -> None:
    """Write each package (directory -> types.go text) into one module and run go vet and
    gofmt -l over all of them; fail with the tools' output."""
    module.mkdir(parents=True, exist_ok=True)
    (module / "go.mod").write_text("module example.com/nselftypes\n\ngo 1.19\n", encoding="utf-8")
    for directory, text in packages.items():
        (module / directory).mkdir(parents=True, exist_ok=True)
        (module / directory / FILE_NAME).write_text(text, encoding="utf-8")
    env = _go_env(cache)
    go = require_program("go", GO_INSTALL)
    gofmt = shutil.which("gofmt") or str(Path(go).resolve().parent / "gofmt")
    vet = subprocess.run([go, "vet", "./..."], cwd=module, env=env, capture_output=True, text=True)
    assert vet.returncode == 0, f"go vet failed:\n{vet.stdout}{vet.stderr}"
    fmt = subprocess.run([gofmt, "-l", "."], cwd=module, env=env, capture_output=True, text=True)
    assert fmt.returncode == 0 and fmt.stdout == "", f"gofmt would reformat:\n{fmt.stdout}{fmt.stderr}"


@pytest.mark.oracle
def test_go_vet_every_case(every_case_catalog: Catalog, tmp_path: Path, toolchain_cache: Path) -> None:
    go_vet(
        tmp_path / "module",
        {
            "models": render(every_case_catalog, {})[FILE_NAME],
            "other": render(every_case_catalog, {"package": "other_name"})[FILE_NAME],
        },
        toolchain_cache,
    )


@pytest.mark.oracle
def test_go_vet_corpus(corpus_catalogs: CorpusCatalogs, tmp_path: Path, toolchain_cache: Path) -> None:
    """Every corpus case as one package of one module, checked by one go vet run."""
    packages = {
        re.sub(r"[^a-z0-9]+", "_", name.lower()): render(corpus_catalogs.get(name), {})[FILE_NAME]
        for name in corpus_catalogs.names()
    }
    go_vet(tmp_path / "module", packages, toolchain_cache)
    print(f"go vet: {len(packages)} corpus cases pass")


def test_a_column_has_one_field_name_in_row_insert_and_update() -> None:
    """'userId' (generated, absent from Insert/Update) and 'user_id' convert to the same
    name; userId is UserId and user_id is UserID in all three structs, also where userId is
    missing."""
    builder = CatalogBuilder()
    builder.add(Schema("public"))
    builder.add(
        Table("public", "t", (Column("userId", "integer", generated="1"), Column("user_id", "integer")))
    )
    catalog = builder.freeze()
    row, insert, update = GoRenderer(catalog, {}).table_structs(catalog.tables[0])
    assert row.names == ["UserId", "UserID"]
    assert insert.names == update.names == ["UserID"]


# --------------------------------------------------------------------------- real rows


GO_DECODER = """package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"example.com/nselftypes/models"
)

func roundTrip[T any](data []byte) (string, error) {
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.DisallowUnknownFields()
	var row T
	if err := decoder.Decode(&row); err != nil {
		return "", err
	}
	out, err := json.Marshal(row)
	return string(out), err
}

var decoders = map[string]func([]byte) (string, error){
%s
}

func main() {
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1<<20), 1<<24)
	failed := false
	for scanner.Scan() {
		name, data, _ := strings.Cut(scanner.Text(), "\\t")
		out, err := decoders[name]([]byte(data))
		if err != nil {
			fmt.Printf("%%s\\tERROR %%v\\n", name, err)
			failed = true
			continue
		}
		fmt.Printf("%%s\\t%%s\\n", name, out)
	}
	if failed {
		os.Exit(1)
	}
}
"""


def _normalise(value: object) -> object:
    """JSON values compared by meaning: exact decimals, instants for timestamps with an
    offset (Go writes 'Z' where PostgreSQL writes '+00:00')."""
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)", value):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


@pytest.mark.oracle
def test_go_types_read_real_rows(
    every_case_rows: tuple[str, Catalog], tmp_path: Path, toolchain_cache: Path
) -> None:
    """Rows PostgreSQL itself writes as JSON (row_to_json) decode into the Row structs with
    unknown fields refused, and encode back to the same values: every column has a field
    under its database name, with a type that takes PostgreSQL's JSON for it and a
    nullability that keeps NULL. every_case_rows.sql fills the tables, leaving out what
    encoding/json cannot read (dates and timestamps without an offset, bytea's hex)."""
    go = require_program("go", GO_INSTALL)
    url, catalog = every_case_rows
    renderer = GoRenderer(catalog, {})
    lines: list[str] = []
    with psycopg.connect(url) as conn:
        for table in catalog.tables:
            if not table.columns:
                continue
            qualified = '"{}"."{}"'.format(table.schema.replace('"', '""'), table.name.replace('"', '""'))
            rows = conn.execute(f"SELECT row_to_json(t)::text FROM {qualified} t").fetchall()  # type: ignore[arg-type]
            lines += [f"{renderer.names[(table.schema, table.name)]}\t{row[0]}" for row in rows]
    assert len(lines) >= 15
    module = tmp_path / "module"
    go_vet(module, {"models": render(catalog, {})[FILE_NAME]}, toolchain_cache)
    entries = "\n".join(
        f'\t"{name}": roundTrip[models.{name}],' for name in sorted({line.split("\t")[0] for line in lines})
    )
    (module / "check").mkdir()
    (module / "check" / "main.go").write_text(GO_DECODER % entries, encoding="utf-8")
    result = subprocess.run(
        [go, "run", "./check"],
        cwd=module,
        env=_go_env(toolchain_cache),
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"{result.stdout}{result.stderr}"
    outputs = result.stdout.splitlines()
    assert len(outputs) == len(lines)
    for sent, received in zip(lines, outputs, strict=True):
        name, original = sent.split("\t", 1)
        _, decoded = received.split("\t", 1)
        expected = _normalise(json.loads(original, parse_float=Decimal))
        actual = _normalise(json.loads(decoded, parse_float=Decimal))
        assert actual == expected, f"{name}: {original} came back as {decoded}"


# --------------------------------------------------------------------------- writes

WRITES_SQL = r"""
CREATE TABLE public.writes (
    id integer PRIMARY KEY,
    note text DEFAULT 'default note',
    amount integer DEFAULT 7,
    tags text[] DEFAULT '{d}',
    blob bytea DEFAULT '\x01',
    doc jsonb DEFAULT '{"d": 1}',
    label text NOT NULL DEFAULT 'L',
    counted oid DEFAULT 5
);
"""

# Each Insert or Update value as one JSON line, the way a client would send it: encoding/json,
# nothing else. Helpers Value, NullableValue and Null are the generated file's own.
GO_WRITER = """package main

import (
	"encoding/json"
	"fmt"

	"example.com/nselftypes/models"
)

func emit(name string, value any) {
	data, err := json.Marshal(value)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s\\t%s\\n", name, data)
}

func main() {
	emit("insert", models.WritesInsert{ID: 1})
	emit("insert", models.WritesInsert{
		ID:      2,
		Note:    models.Null[string](),
		Amount:  models.Null[int32](),
		Tags:    models.Null[models.PgArray[*string]](),
		Blob:    models.Value[[]byte](nil),
		Doc:     models.Value[json.RawMessage](nil),
		Counted: models.Null[uint32](),
	})
	emit("insert", models.WritesInsert{
		ID:      3,
		Note:    models.NullableValue("n"),
		Amount:  models.NullableValue(int32(0)),
		Tags:    models.NullableValue(models.PgArrayOf(models.Value("a"), nil)),
		Blob:    models.Value([]byte{}),
		Doc:     models.Value(json.RawMessage(`{"v": 2}`)),
		Label:   models.Value(""),
		Counted: models.NullableValue(uint32(42)),
	})
	emit("insert", models.WritesInsert{ID: 4, Tags: models.NullableValue(models.PgArrayOf[*string]()), Blob: models.Value([]byte{})})
	emit("insert", models.WritesInsert{ID: 5, Tags: models.NullableValue(models.PgArray[*string]{
		Elements: []*string{models.Value("a"), nil, models.Value("c"), models.Value("d")}, Dims: []int{2, 2},
	})})
	emit("update 1", models.WritesUpdate{Label: models.Value("L2")})
	emit("update 1", models.WritesUpdate{
		Note:   models.Null[string](),
		Tags:   models.Null[models.PgArray[*string]](),
		Doc:    models.Value[json.RawMessage](nil),
		Amount: models.NullableValue(int32(8)),
	})
	emit("update 3", models.WritesUpdate{Note: models.NullableValue("m")})
	emit("update 2", models.WritesUpdate{Tags: models.NullableValue(models.PgArray[*string]{})})
}
"""


@pytest.mark.oracle
def test_go_insert_and_update_write_omitted_null_and_values(
    types_databases: SessionDatabases, tmp_path: Path, toolchain_cache: Path
) -> None:
    """Insert and Update values marshalled by encoding/json and applied as a client would
    (the JSON's keys are the columns; json_populate_record reads the values): a nil field
    leaves the column out (its default applies, or it stays unchanged), Null writes NULL
    over a default, and values are written, the zero value and the empty array and bytea
    included."""
    go = require_program("go", GO_INSTALL)
    url = types_databases.new("types_go_writes")
    run_sql(url, WRITES_SQL)
    module = tmp_path / "module"
    go_vet(module, {"models": render(introspect(url), {})[FILE_NAME]}, toolchain_cache)
    (module / "write").mkdir()
    (module / "write" / "main.go").write_text(GO_WRITER, encoding="utf-8")
    result = subprocess.run(
        [go, "run", "./write"], cwd=module, env=_go_env(toolchain_cache), capture_output=True, text=True
    )
    assert result.returncode == 0, f"{result.stdout}{result.stderr}"
    with psycopg.connect(url, autocommit=True) as conn:
        for line in result.stdout.splitlines():
            action, data = line.split("\t")
            columns = ", ".join(f'"{key}"' for key in json.loads(data))
            if action == "insert":
                conn.execute(
                    f"INSERT INTO public.writes ({columns}) SELECT {columns}"  # type: ignore[arg-type]
                    " FROM json_populate_record(NULL::public.writes, %s::json)",
                    (data,),
                )
            else:
                sets = ", ".join(f'"{key}" = r."{key}"' for key in json.loads(data))
                conn.execute(
                    f"UPDATE public.writes AS t SET {sets}"  # type: ignore[arg-type]
                    " FROM json_populate_record(NULL::public.writes, %s::json) AS r WHERE t.id = %s",
                    (data, int(action.split()[1])),
                )
        rows = conn.execute(
            # doc::text tells SQL NULL (None) from a JSON null ('null').
            "SELECT id, note, amount, tags, blob, doc::text, label, counted::bigint FROM public.writes ORDER BY id"
        ).fetchall()
    assert rows == [
        # left out, then updated: label set, NULL over note, tags and doc, a value in amount
        (1, None, 8, None, b"\x01", None, "L2", 5),
        (2, None, None, [], None, None, "L", None),  # NULL over every default, then tags '{}'
        (3, "m", 0, ["a", None], b"", '{"v": 2}', "", 42),  # values, zero values; note updated
        (4, "default note", 7, [], b"", '{"d": 1}', "L", 5),  # empty array and bytea are sent
        (5, "default note", 7, [["a", None], ["c", "d"]], b"\x01", '{"d": 1}', "L", 5),  # a 2-D text[]
    ]


# --------------------------------------------------------------------------- functions


@pytest.mark.oracle
def test_go_functions_take_named_arguments_and_read_real_results(
    types_databases: SessionDatabases, tmp_path: Path, toolchain_cache: Path
) -> None:
    """Each function's Args struct decodes the JSON object of its named arguments (unknown
    fields refused) and encodes it back; PostgreSQL takes those keys as `name => value`
    (no unnamed argument among them); what the function returns (NULL rows of a SETOF
    among them) decodes into its Returns type and encodes back to the same JSON."""
    go = require_program("go", GO_INSTALL)
    url = types_databases.new("types_go_functions")
    run_sql(url, FUNCTIONS_SQL.read_text(encoding="utf-8"))
    catalog = introspect(url)
    renderer = GoRenderer(catalog, {})
    text = renderer.render()
    shapes = {s.name: s for s in callable_functions(catalog)}
    assert "nothing" in shapes and not any(s.endswith("NothingReturns") for s in text.split())
    lines: list[str] = []
    with psycopg.connect(url) as conn:
        for name, args, unnamed in FUNCTION_CALLS:
            shape = shapes[name]
            args_type, _, returns_type = renderer.function_types[shape.signature]
            assert [n for n, _ in shape.named_inputs] == [n for n, a in shape.inputs if a.name]
            lines.append(f"{args_type}\t{json.dumps(args)}")
            lines.append(f"{returns_type}\t{call_function(conn, name, args, unnamed, shape.returns_set)}")
    assert any("null" in line for line in lines if line.startswith("PeopleNamedReturns"))
    assert "type MaybeNumbersReturns = []*int32" in text
    assert "type OneReturns = int32" in text  # a NOT NULL domain is never NULL
    assert "type SplitNameReturns = *SplitNameResult" in text
    assert "type DoubleItReturns = *int32" in text  # one OUT (INOUT) parameter: its value
    assert 'type ShoutArgs struct {\n\tSuffix *string `json:"suffix,omitempty"`\n}' in text
    module = tmp_path / "module"
    go_vet(module, {"models": text}, toolchain_cache)
    entries = "\n".join(
        f'\t"{name}": roundTrip[models.{name}],' for name in sorted({line.split("\t")[0] for line in lines})
    )
    (module / "check").mkdir()
    (module / "check" / "main.go").write_text(GO_DECODER % entries, encoding="utf-8")
    result = subprocess.run(
        [go, "run", "./check"],
        cwd=module,
        env=_go_env(toolchain_cache),
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"{result.stdout}{result.stderr}"
    for sent, received in zip(lines, result.stdout.splitlines(), strict=True):
        name, original = sent.split("\t", 1)
        _, decoded = received.split("\t", 1)
        assert json.loads(decoded) == json.loads(original), f"{name}: {original} came back as {decoded}"
