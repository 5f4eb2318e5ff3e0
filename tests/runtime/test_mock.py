"""Mock data against a real PostgreSQL: determinism across processes, subsets, seeds,
every constraint kind, and the corpus schemas."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import psycopg
import pytest

from nself.backends.mock import ColumnPlan, check_rules, plan_mock
from nself.errors import SourceError
from nself.frontends.live import introspect
from nself.runtime.mock.executor import MockError, _copy_column, _copy_rows, column_values, generate_mock
from nself.runtime.mock.project import load_config
from nself.runtime.mock.values import GENERATOR_VERSION, stream_key
from tests.clitools import run_nself
from tests.conftest import NewDatabase, run_sql
from tests.corpus import row_checksums

DATA = Path(__file__).parent / "data"
BLOG = """
CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE NOT NULL, name text NOT NULL,
                    avatar text, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE posts (id serial PRIMARY KEY, title text NOT NULL, body text,
                    user_id int NOT NULL REFERENCES users, published boolean NOT NULL DEFAULT false);
CREATE TABLE comments (id serial PRIMARY KEY, content text NOT NULL,
                       user_id int NOT NULL REFERENCES users, post_id int NOT NULL REFERENCES posts);
"""
PLAN_CONFIG = """
seed: 42
tables:
  users:
    count: 100
    columns:
      email: { type: email }
      name: { type: fullName }
      avatar: { type: avatar }
      created_at: { type: pastDate, years: 2 }
  posts:
    count: 500
    columns:
      title: { type: sentence, words: 5 }
      body: { type: paragraphs, count: 3 }
      user_id: { type: foreignKey, table: users }
      published: { type: boolean, probability: 0.8 }
  comments:
    count: 2000
    columns:
      content: { type: paragraph }
      user_id: { type: foreignKey, table: users }
      post_id: { type: foreignKey, table: posts }
"""


def checksums(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
                "WHERE schemaname NOT IN ('pg_catalog', 'information_schema', '_nself') ORDER BY 1"
            ).fetchall()
        ]
        sums = row_checksums(conn, tables)
    return {table: f"{count}:{digest}" for table, (count, digest) in sums.items()}


def project(tmp_path: Path, urls: dict[str, str]) -> tuple[Path, dict[str, str]]:
    lines = []
    env = {}
    for name, url in urls.items():
        lines.append(f'[environments.{name}]\nurl = "env:NSELF_MOCK_{name.upper()}"\n')
        env[f"NSELF_MOCK_{name.upper()}"] = url
    (tmp_path / "nself.toml").write_text("\n".join(lines))
    (tmp_path / "nself" / "mock").mkdir(parents=True)
    (tmp_path / "nself" / "mock" / "mock.config.yaml").write_text(PLAN_CONFIG)
    return tmp_path, env


def test_two_processes_same_seed_same_rows_and_subsets_match(new_database: NewDatabase, tmp_path: Path) -> None:
    first, second, third = new_database(), new_database(), new_database()
    for url in (first, second, third):
        run_sql(url, BLOG)
    root, env = project(tmp_path, {"one": first, "two": second, "three": third})
    for name in ("one", "two"):
        result = run_nself("mock", "generate", "--env", name, "--json", "--yes", cwd=root, env=env)
        assert result.code == 0, result.stderr
        assert {r["table"]: r["rows"] for r in json.loads(result.stdout)} == {
            "public.users": 100, "public.posts": 500, "public.comments": 2000,
        }
    assert checksums(first) == checksums(second)
    # A subset run gives the same rows for its tables as the full run.
    assert run_nself("mock", "generate", "users", "posts", "--yes", "--env", "three", cwd=root, env=env).code == 0
    full, subset = checksums(first), checksums(third)
    assert subset["public.users"] == full["public.users"]
    assert subset["public.posts"] == full["public.posts"]
    # Another seed gives other rows.
    assert run_nself("mock", "generate", "--seed", "7", "--yes", "--env", "two", cwd=root, env=env).code == 0
    other = checksums(second)
    assert all(other[t] != full[t] for t in full)


def test_every_constraint_kind_is_respected(database: str) -> None:
    run_sql(database, (DATA / "mock_every_constraint.sql").read_text())
    catalog = introspect(database)
    # Keys and indexes set aside during the load (as for tables of 1,000 rows and more),
    # then checked row by row as they go in (small tables): the same rows.
    generate_mock(database, catalog, {"seed": 3}, preset="minimal", set_aside_from=0)
    set_aside = checksums(database)
    assert introspect(database) == catalog
    results = generate_mock(database, catalog, {"seed": 3}, preset="minimal")
    assert checksums(database) == set_aside
    counts = {r.table: r.rows for r in results}
    assert counts["public.people"] == 10 and counts["public.bookings"] == 10
    with psycopg.connect(database) as conn:
        for table in ("organisations", "people", "teams", "memberships", "badges", "bookings", "measurements", "events"):
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            assert row is not None and row[0] > 0, table
        # Cycles and self references were filled after the rows existed.
        row = conn.execute("SELECT count(*) FROM people WHERE mentor_id IS NOT NULL AND team_id IS NOT NULL").fetchone()
        assert row == (10,)
        row = conn.execute("SELECT count(DISTINCT during) FROM bookings").fetchone()
        assert row == (10,)


def test_generation_is_refused_with_a_clear_message(database: str) -> None:
    run_sql(database, "CREATE TABLE a (id int PRIMARY KEY, self_id int NOT NULL REFERENCES a);")
    with pytest.raises(Exception, match=r"public\.a: cannot fill NOT NULL self reference self_id \(foreign key a_self_id_fkey\)"):
        generate_mock(database, introspect(database), {"seed": 1})


@pytest.mark.parametrize("case", ["pagila", "openstreetmap", "lemmy"])
def test_corpus_schemas_init_then_generate_the_same_rows_process_to_process(
    case: str, corpus: Path, new_database: NewDatabase, tmp_path: Path
) -> None:
    """`mock init` writes a config `mock generate` accepts, every table gets rows, and a
    second run in a fresh process gives the same rows: pagila's sequences (restored from
    pg_dump, owned by no column) start again like owned ones."""
    from tests.corpus import schema_cases

    database = new_database(case, case=next(c for c in schema_cases(corpus) if c.name == case))
    schema = introspect(database)
    (tmp_path / "nself.toml").write_text('[environments.dev]\nurl = "env:NSELF_MOCK_DEV"\n')
    env = {"NSELF_MOCK_DEV": database}
    init = run_nself("mock", "init", "--env", "dev", cwd=tmp_path, env=env)
    assert init.code == 0, init.stderr
    result = run_nself(
        "mock", "generate", "--seed", "42", "--preset", "minimal", "--json", "--yes", "--env", "dev", cwd=tmp_path, env=env
    )
    assert result.code == 0, result.stderr
    filled = json.loads(result.stdout)
    assert filled and not [r["table"] for r in filled if r["rows"] == 0]
    first = checksums(database)
    assert introspect(database) == schema
    # Again in this process (another hash seed, other interpreter state), over those rows.
    # Keys and indexes set aside during the load this time (as for tables of 1,000 rows and
    # more): the same rows, and they are back as they were.
    config = load_config(tmp_path / "nself/mock/mock.config.yaml")
    generate_mock(database, introspect(database), config, seed=42, preset="minimal", set_aside_from=0)
    assert checksums(database) == first
    assert introspect(database) == schema


def test_sequences_no_column_owns_start_again(database: str) -> None:
    run_sql(
        database,
        """
        CREATE SEQUENCE loose_seq; CREATE SEQUENCE shared_seq;
        CREATE TABLE items (id int PRIMARY KEY DEFAULT nextval('loose_seq'), label text NOT NULL,
                            code int NOT NULL DEFAULT nextval('shared_seq'));
        CREATE TABLE other (id int PRIMARY KEY DEFAULT nextval('shared_seq'));
        INSERT INTO other SELECT FROM generate_series(1, 3);
        """,
    )
    catalog = introspect(database)
    config = {"seed": 9, "tables": {"skip": ["other"]}}
    rows = "SELECT string_agg((id, label)::text, '|' ORDER BY id) FROM items"
    generate_mock(database, catalog, config, preset="minimal")
    with psycopg.connect(database) as conn:
        first = conn.execute(rows).fetchone()
    generate_mock(database, catalog, config, preset="minimal")
    with psycopg.connect(database) as conn:
        assert conn.execute(rows).fetchone() == first
        assert conn.execute("SELECT min(id), max(id) FROM items").fetchone() == (1, 10)
        # shared_seq also numbers `other`, which the run leaves alone: never set back
        # below `other`'s keys.
        row = conn.execute("SELECT min(code) FROM items").fetchone()
        assert row is not None and row[0] > 3


# --------------------------------------------------------------------------- composite


def test_init_then_generate_with_a_composite_column(database: str, tmp_path: Path) -> None:
    run_sql(
        database,
        """
        CREATE TYPE amount AS (value numeric(10,2), currency char(3));
        CREATE TABLE invoices (id serial PRIMARY KEY, total amount NOT NULL, history amount[]);
        """,
    )
    (tmp_path / "nself.toml").write_text('[environments.dev]\nurl = "env:NSELF_MOCK_DEV"\n')
    env = {"NSELF_MOCK_DEV": database}
    assert run_nself("mock", "init", "--env", "dev", cwd=tmp_path, env=env).code == 0
    assert "total:\n        type: composite" in (tmp_path / "nself/mock/mock.config.yaml").read_text()
    result = run_nself("mock", "generate", "--preset", "minimal", "--yes", "--env", "dev", cwd=tmp_path, env=env)
    assert result.code == 0, result.stderr
    with psycopg.connect(database) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT (total).currency) FROM invoices WHERE (total).value IS NOT NULL"
        ).fetchone()
        assert row is not None and row[0] == 10 and row[1] > 1


# --------------------------------------------------------------------------- cascade


def test_tables_that_reference_the_generated_ones_are_named_before_they_are_emptied(
    database: str, tmp_path: Path
) -> None:
    run_sql(database, BLOG)
    catalog = introspect(database)
    generate_mock(database, catalog, {"seed": 1}, preset="minimal")
    before = checksums(database)
    with pytest.raises(MockError, match=r"would also empty public\.comments, public\.posts, which reference it through"):
        generate_mock(database, catalog, {"seed": 2}, only=["users"])
    asked: list[list[str]] = []
    with pytest.raises(MockError):
        generate_mock(database, catalog, {"seed": 2}, only=["users"], confirm=lambda t: asked.append(t) or False)
    assert asked == [["public.comments", "public.posts"]]
    assert checksums(database) == before  # refused: nothing changed

    root, env = project(tmp_path, {"dev": database})
    refused = run_nself("mock", "generate", "users", "--env", "dev", cwd=root, env=env)
    assert refused.code == 1 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "--yes" in refused.stderr  # no terminal to ask at: refused before anything is emptied
    assert checksums(database) == before
    agreed = run_nself("mock", "generate", "users", "--yes", "--json", "--env", "dev", cwd=root, env=env)
    assert agreed.code == 0, agreed.stderr
    assert [(r["table"], r["rows"], r["cascaded"]) for r in json.loads(agreed.stdout)] == [
        ("public.users", 100, False), ("public.comments", 0, True), ("public.posts", 0, True),
    ]
    # Emptied tables are not asked about again.
    assert run_nself("mock", "generate", "users", "--yes", "--env", "dev", cwd=root, env=env).code == 0


# Golden values: a change here means every user's mock data changes. Bump
# GENERATOR_VERSION (recorded in mock.seed) when that is intended.
GOLDEN = {
    "email": ["kenji.yamamoto0@example.com", "daniel.schmidt1@example.com", "rafael.brown2@mail.test"],
}


def test_golden_values_pin_the_algorithm() -> None:
    assert GENERATOR_VERSION == 1
    column = ColumnPlan("email", "text", "text", 0, "email", {}, True)
    values = column_values(column, np.arange(3, dtype=np.int64), stream_key(42, "public.users", "email"), np.datetime64("2026-01-01", "s"))
    assert values == GOLDEN["email"]


@pytest.mark.parametrize(
    ("expression", "column", "expected"),
    [
        ("((age >= 18) AND (age <= 99))", "age", {"minimum": 18.0, "maximum": 99.0}),
        ("(level = ANY (ARRAY['junior'::text, 'senior'::text]))", "level", {"choices": ("junior", "senior")}),
        ("((status)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[]))", "status", {"choices": ("a", "b")}),
        ("(price > (0)::numeric)", "price", {"minimum": 0.0, "min_exclusive": True}),
        ("(char_length(code) <= 5)", "code", {"max_length": 5}),
        ("(VALUE <> ''::text)", "value", {"non_empty": True}),
    ],
)
def test_check_rules_read_ranges_and_lists(expression: str, column: str, expected: dict[str, object]) -> None:
    rules = check_rules(expression)[column]
    for name, value in expected.items():
        assert getattr(rules, name) == value


def test_plan_orders_parents_first(database: str) -> None:
    run_sql(database, BLOG)
    plan = plan_mock(introspect(database), {})
    assert [t.name for t in plan.tables] == ["users", "posts", "comments"]


# A view that selects a non-key column grouped by the primary key relies on the key's
# functional dependency (pg_depend: the view's rule on the constraint); a foreign key of
# another table relies on the key's index.
FUNCTIONAL_DEPENDENCY = """
CREATE TABLE charge_filters (id int PRIMARY KEY, name text NOT NULL UNIQUE);
COMMENT ON CONSTRAINT charge_filters_name_key ON charge_filters IS 'a comment ADD CONSTRAINT would lose';
CREATE TABLE charges (id serial PRIMARY KEY, filter_id int NOT NULL REFERENCES charge_filters,
                      amount numeric(8,2));
CREATE VIEW filter_totals AS
    SELECT f.id, f.name, sum(c.amount) AS total
    FROM charge_filters f JOIN charges c ON c.filter_id = f.id GROUP BY f.id;
"""


def constraints(url: str) -> list[tuple[str, str, str, str | None]]:
    with psycopg.connect(url) as conn:
        return [
            (str(r[0]), str(r[1]), str(r[2]), r[3])
            for r in conn.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), "
                "obj_description(oid, 'pg_constraint') FROM pg_constraint "
                "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2"
            ).fetchall()
        ]


def test_keys_other_objects_depend_on_stay_in_place(database: str) -> None:
    run_sql(database, FUNCTIONAL_DEPENDENCY)
    before = constraints(database)
    results = generate_mock(database, introspect(database), {"seed": 5}, preset="minimal", set_aside_from=0)
    assert {r.table: r.rows for r in results} == {"public.charge_filters": 10, "public.charges": 10}
    assert constraints(database) == before
    with psycopg.connect(database) as conn:
        row = conn.execute("SELECT count(*) FROM filter_totals").fetchone()
        assert row is not None and row[0] > 0


# --------------------------------------------------------------------------- config shapes


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("tables:\n  users:\n    columns: [a, b]\n", 3, "tables.users.columns must be a mapping"),
        ("tables:\n  users:\n    columns:\n      name: {type: [1]}\n", 4, "unknown generator [1]"),
        ("tables:\n  skip: 3\n", 2, "tables.skip must be a list"),
        ("anchor: someday\n", 1, "anchor must be a date"),
    ],
)
def test_config_of_the_wrong_shape_is_one_positioned_error(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "mock.config.yaml"
    path.write_text(text)
    with pytest.raises(SourceError) as caught:
        load_config(path)
    assert caught.value.line == line and message in str(caught.value)


@pytest.mark.parametrize(
    ("generator", "params", "message"),
    [
        ("integer", {"min": "x"}, "min must be a number, not 'x'"),
        ("oneOf", {"values": 3}, "values must be a list, not 3"),
        ("words", {"nullProbability": [1]}, "nullProbability must be a number"),
    ],
)
def test_generator_parameters_of_the_wrong_type_name_the_column(generator: str, params: dict[str, object], message: str) -> None:
    column = ColumnPlan("amount", "integer", "integer", 0, generator, params, False)
    with pytest.raises(MockError, match=f"column amount: {message}"):
        column_values(column, np.arange(3, dtype=np.int64), stream_key(1, "public.t", "amount"), np.datetime64("2026-01-01", "s"))


def test_a_trigger_that_stamps_updates_does_not_make_runs_differ(database: str) -> None:
    """A self reference is filled by an UPDATE after the rows exist; the table's BEFORE
    UPDATE trigger (updated_at := now()) must not see it, and is enabled again after."""
    run_sql(
        database,
        """
        CREATE TABLE staff (id serial PRIMARY KEY, name text NOT NULL, manager_id int REFERENCES staff,
                            updated_at timestamptz NOT NULL DEFAULT now());
        CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
        CREATE TRIGGER touch BEFORE UPDATE ON staff FOR EACH ROW EXECUTE FUNCTION touch();
        ALTER TABLE staff ENABLE ALWAYS TRIGGER touch;
        """,
    )
    catalog = introspect(database)
    runs = []
    for _ in range(2):
        generate_mock(database, catalog, {"seed": 4}, preset="minimal")
        runs.append(checksums(database))
    assert runs[0] == runs[1]
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT count(manager_id) FROM staff").fetchone() == (10,)
        assert conn.execute("SELECT tgenabled FROM pg_trigger WHERE tgname = 'touch'").fetchone() == ("A",)


@pytest.mark.parametrize(
    ("key_type", "keys", "sorted_here"),
    [
        ("int", ["-10", "-9", "0", "1", "10", "100", "2", "9", "99"], True),
        ("text", ["a", "ab", "b", "é", "z1", "Z", "10", "9", "日本"], True),
        # Characters that sort before ")" or that row text quotes: the server sorts.
        ("text", ["a", "a!", "a b", "(x)", "a,b", 'q"', "a\\b", ""], False),
    ],
)
def test_parent_keys_come_in_the_order_of_their_row_text(
    database: str, key_type: str, keys: list[str], sorted_here: bool
) -> None:
    from psycopg import sql

    from nself.backends.mock import ForeignKeyPlan
    from nself.runtime.mock.executor import _parent_keys, _single_keys_sorted_here

    run_sql(database, "DROP TABLE IF EXISTS parent_keys")
    run_sql(database, f"CREATE TABLE parent_keys (k {key_type} PRIMARY KEY)")
    with psycopg.connect(database) as conn:
        for key in keys:
            conn.execute("INSERT INTO parent_keys VALUES (%s)", (key,))
        fk = ForeignKeyPlan("fk", ("k",), "public", "parent_keys", ("k",), deferred=False, nullable=False)
        by_row_text = 'SELECT k::text FROM parent_keys ORDER BY (ROW(k))::text COLLATE "C"'
        server = [r[0] for r in conn.execute(by_row_text)]
        here = _single_keys_sorted_here(conn, fk, sql.Identifier("public", "parent_keys"))
        assert (here is not None) == sorted_here
        assert list(_parent_keys(conn, fk, {}).columns[0]) == server


def test_copy_text_reads_back_as_the_values(database: str) -> None:
    """The COPY text a block becomes (escapes found in the joined column, rows laid out in
    one join): PostgreSQL reads back exactly the values, NULLs and awkward characters too."""
    columns: list[list[str | None]] = [
        ["plain", "tab\there", "new\nline\r\n", "back\\slash \\N", None, "", "\\t literal"],
        [None, "x", "para one\n\npara two", "é ✓", "last", "\t", "\\"],
    ]
    text = _copy_rows([_copy_column(column) for column in columns])
    with psycopg.connect(database) as conn:
        conn.execute("CREATE TEMP TABLE t (n serial, a text, b text)")
        with conn.cursor() as cur, cur.copy("COPY t (a, b) FROM STDIN") as copy:
            copy.write(text.encode())
        rows = conn.execute("SELECT a, b FROM t ORDER BY n").fetchall()
    assert rows == list(zip(*columns, strict=True))



TYPED = """
CREATE TABLE kinds_parent (id bigserial PRIMARY KEY, code text UNIQUE NOT NULL);
CREATE TABLE kinds (
    id serial PRIMARY KEY, small smallint, big bigint NOT NULL, flag boolean, seq int NOT NULL,
    at timestamptz, local_at timestamp NOT NULL, day date, future date NOT NULL,
    label varchar(12), padded char(6), note text,
    parent_id bigint NOT NULL REFERENCES kinds_parent, parent_code text REFERENCES kinds_parent (code)
);
"""
TYPED_CONFIG = {
    "seed": 5,
    "tables": {
        "kinds_parent": {"count": 40, "columns": {"code": {"type": "word"}}},
        "kinds": {
            "count": 300,
            "columns": {
                "small": {"type": "integer", "min": -5, "max": 5, "nullProbability": 0.3},
                "big": {"type": "integer", "min": -(2**40), "max": 2**40},
                "flag": {"type": "boolean", "probability": 0.4, "nullProbability": 0.5},
                "seq": {"type": "sequence", "start": -3},
                "at": {"type": "pastDate", "years": 40, "nullProbability": 0.2},
                "local_at": {"type": "futureDate", "years": 3},
                "day": {"type": "pastDate", "years": 80},
                "future": {"type": "futureDate", "years": 2},
                "label": {"type": "word", "nullProbability": 0.3},
                "padded": {"type": "constant", "value": "é"},
                "note": {
                    "type": "oneOf",
                    "values": ["tab\there", "new\nline", "back\\slash", "", "\\N", "ünï"],
                },
            },
        },
    },
}


def test_binary_copy_gives_the_rows_text_copy_gives(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables of the common types are written in COPY's binary format: the rows are the
    ones the text format gives (NULLs, non-ASCII and awkward text, dates before 2000,
    integer and text foreign keys), and the COPY said FORMAT binary."""
    from nself.runtime.mock import executor

    run_sql(database, TYPED)
    catalog = introspect(database)
    generate_mock(database, catalog, TYPED_CONFIG)
    binary = checksums(database)
    with psycopg.connect(database) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE small IS NULL), count(*) FILTER (WHERE flag IS NULL), "
            "count(*) FILTER (WHERE label IS NULL), count(DISTINCT note), min(day) < '2000-01-01' FROM kinds"
        ).fetchone()
    assert row is not None and all(row[:3]) and row[3] == 6 and row[4]
    chosen: list[object] = []
    real = executor._binary_kinds
    monkeypatch.setattr(executor, "_binary_kinds", lambda *a: chosen.append(real(*a)))  # always None: text
    generate_mock(database, catalog, TYPED_CONFIG)
    assert all(kinds is not None for kinds in chosen)  # both tables could go binary
    assert checksums(database) == binary


def test_binary_rows_read_back_as_the_values(database: str) -> None:
    from nself.runtime.mock.binary import HEADER, TRAILER, encode_rows

    texts: list[str | None] = ["plain", None, "", "é ✓\ttab", "\\N", "x" * 70_000]
    numbers = np.array([1, -2, 3, 2**31 - 1, -(2**31), 0], dtype=np.int64)
    missing = np.array([False, True, False, False, True, False])
    moments = np.array(
        ["1999-12-31T23:59:59", "2000-01-01T00:00:00", "2026-05-06T07:08:09"] * 2, dtype="datetime64[s]"
    )
    flags = np.array([True, False] * 3)
    with psycopg.connect(database) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute("CREATE TEMP TABLE b (n int, a text, t timestamptz, d date, f boolean)")
        for ascii_only in (True, False):
            values = [
                v if v is None or not ascii_only else v.encode("ascii", "replace").decode() for v in texts
            ]
            block = encode_rows(
                ["int4", "text", "timestamp", "date", "bool"],
                [numbers, values, moments, moments, flags],
                [missing, None, None, None, missing],
            )
            with conn.cursor() as cur, cur.copy("COPY b FROM STDIN (FORMAT binary)") as copy:
                copy.write(HEADER + block + TRAILER)
            rows = conn.execute("SELECT n, a, t::text, d::text, f FROM b").fetchall()
            conn.execute("TRUNCATE b")
            text_rows = conn.execute(
                "SELECT n, a, (t AT TIME ZONE 'UTC')::text, d::text, f FROM (VALUES "
                + ", ".join(
                    "(%s::int, %s, %s::timestamp AT TIME ZONE 'UTC', %s::date, %s::boolean)" for _ in values
                )
                + ") v (n, a, t, d, f)",
                [
                    x
                    for i, v in enumerate(values)
                    for x in (
                        None if missing[i] else int(numbers[i]),
                        v,
                        str(moments[i]),
                        str(moments[i])[:10],
                        None if missing[i] else bool(flags[i]),
                    )
                ],
            ).fetchall()
            assert [(r[0], r[1], r[4]) for r in rows] == [(r[0], r[1], r[4]) for r in text_rows]
            assert [r[3] for r in rows] == [r[3] for r in text_rows]
            assert [r[2] for r in rows] == [r[2] + "+00" for r in text_rows]


def test_a_value_out_of_its_integer_type_is_one_clear_error(database: str) -> None:
    run_sql(database, "CREATE TABLE small_ints (id serial PRIMARY KEY, n smallint NOT NULL)")
    config = {
        "seed": 1,
        "tables": {"small_ints": {"count": 5, "columns": {"n": {"type": "sequence", "start": 32766}}}},
    }
    with pytest.raises(
        MockError, match=r'^public\.small_ints: value "32768" is out of range for type smallint$'
    ):
        generate_mock(database, introspect(database), config)


# --------------------------------------------------------------------------- a failed run


# The blog tables with what a set-aside key or index must get back exactly: a deferrable
# foreign key, a NOT VALID one, a partial index and expression indexes (one with a comment
# and one with a statistics target, which keep them in place), unique indexes no
# constraint owns (one that a foreign key references), and a switch that
# makes a run fail in the middle of the last table's COPY, or at the end, when the unique
# e-mails are checked again.
FAILING_BLOG = (
    BLOG.replace("REFERENCES posts)", "REFERENCES posts DEFERRABLE INITIALLY DEFERRED)")
    + """
CREATE TABLE tags (id serial PRIMARY KEY, post_id int, name text NOT NULL);
ALTER TABLE tags ADD CONSTRAINT tags_post_id_fkey FOREIGN KEY (post_id) REFERENCES posts NOT VALID;
CREATE INDEX posts_published_by_user ON posts (user_id) WHERE published;
CREATE INDEX users_lower_name ON users (lower(name));
COMMENT ON INDEX users_lower_name IS 'kept in place: a re-created index would lose it';
CREATE UNIQUE INDEX tags_name_unique ON tags (name, id);
CREATE UNIQUE INDEX posts_id_title ON posts (id, title);
ALTER TABLE tags ADD COLUMN about_id int, ADD COLUMN about_title text;
ALTER TABLE tags ADD CONSTRAINT tags_about_fkey FOREIGN KEY (about_id, about_title) REFERENCES posts (id, title);
CREATE INDEX posts_lower_title ON posts (lower(title));
ALTER INDEX posts_lower_title ALTER COLUMN 1 SET STATISTICS 500;
CREATE SCHEMA switch;
CREATE TABLE switch.fail (at text NOT NULL);
CREATE FUNCTION switch.comments_fail() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id > 5 AND EXISTS (SELECT FROM switch.fail WHERE at = 'load') THEN
        RAISE EXCEPTION 'injected failure in the middle of the load';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER fail BEFORE INSERT ON comments FOR EACH ROW EXECUTE FUNCTION switch.comments_fail();
CREATE FUNCTION switch.users_same_email() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM switch.fail WHERE at = 'keys') THEN NEW.email := 'same@example.com'; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER same_email BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION switch.users_same_email();
"""
)


def catalog_facts(url: str) -> dict[str, list[tuple[object, ...]]]:
    """What PostgreSQL says of the public tables' constraints and indexes: names,
    definitions (deferrability and NOT VALID among them), comments, owners, and more."""
    with psycopg.connect(url) as conn:
        return {
            "constraints": conn.execute(
                "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid), condeferrable, "
                "condeferred, convalidated, conindid <> 0, obj_description(oid, 'pg_constraint') "
                "FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2"
            ).fetchall(),
            "indexes": conn.execute(
                "SELECT i.indrelid::regclass::text, c.relname, pg_get_indexdef(i.indexrelid), i.indisunique, "
                "i.indisprimary, i.indisvalid, i.indisclustered, i.indisreplident, c.reltablespace, "
                "pg_get_userbyid(c.relowner), obj_description(i.indexrelid, 'pg_class'), "
                "(SELECT array_agg(a.attstattarget ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = i.indexrelid) "
                "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relnamespace = 'public'::regnamespace ORDER BY 1, 2"
            ).fetchall(),
            "tables": conn.execute(
                "SELECT relname, pg_get_userbyid(relowner), relkind FROM pg_class "
                "WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p') ORDER BY 1"
            ).fetchall(),
            "triggers": conn.execute(
                "SELECT tgrelid::regclass::text, tgname, tgenabled, tgisinternal, tgdeferrable, tginitdeferred "
                "FROM pg_trigger WHERE tgrelid IN (SELECT oid FROM pg_class "
                "WHERE relnamespace = 'public'::regnamespace) AND NOT tgisinternal ORDER BY 1, 2"
            ).fetchall()
            + conn.execute(
                # The foreign keys' own triggers, by constraint (their names carry oids).
                "SELECT tgrelid::regclass::text, c.conname, count(*)::text, '', t.tgdeferrable, t.tginitdeferred "
                "FROM pg_trigger t JOIN pg_constraint c ON c.oid = t.tgconstraint "
                "WHERE t.tgisinternal AND c.connamespace = 'public'::regnamespace "
                "GROUP BY 1, 2, 5, 6 ORDER BY 1, 2"
            ).fetchall(),
        }


@pytest.mark.parametrize(("at", "set_aside_from"), [("load", 0), ("keys", 0), ("keys", 1_000)])
def test_a_failed_run_leaves_rows_keys_and_indexes_as_they_were(database: str, at: str, set_aside_from: int) -> None:
    """Keys, foreign keys and indexes are set aside during the load and added back at the
    end, all in the run's transaction: a failure in the middle of a COPY, or when a key is
    added back, leaves every row, constraint and index as it was (the catalog compared).
    Tables under `set_aside_from` rows keep them, and the failure comes in the COPY."""
    run_sql(database, FAILING_BLOG)
    catalog = introspect(database)
    pristine = catalog_facts(database)

    def index_oids() -> dict[str, int]:
        with psycopg.connect(database) as conn:
            found = conn.execute(
                "SELECT relname, oid::int FROM pg_class WHERE relkind = 'i' AND relnamespace = 'public'::regnamespace"
            )
            return {str(r[0]): int(r[1]) for r in found}

    built = index_oids()
    only = ["users", "posts", "comments", "tags"]
    generate_mock(database, catalog, {"seed": 9}, only=only, preset="minimal", set_aside_from=set_aside_from)
    # Set aside and built again, except the commented one; or all left in place.
    rebuilt = {name for name, oid in index_oids().items() if built[name] != oid}
    assert rebuilt == (set(built) - {"users_lower_name", "posts_lower_title"} if set_aside_from == 0 else set())
    def rows() -> dict[str, str]:
        return {table: sums for table, sums in checksums(database).items() if table.startswith("public.")}

    filled = rows()
    assert filled["public.comments"].startswith("10:")
    # A successful run gave every constraint and index back as it was.
    assert catalog_facts(database) == pristine
    run_sql(database, f"INSERT INTO switch.fail VALUES ('{at}')")
    message = "injected failure" if at == "load" else "users_email_key"
    with pytest.raises(MockError, match=message):
        generate_mock(database, catalog, {"seed": 10}, only=only, preset="minimal", set_aside_from=set_aside_from)
    assert rows() == filled
    assert catalog_facts(database) == pristine
    assert introspect(database) == catalog


def test_a_foreign_key_inside_another_is_filled_by_it(database: str) -> None:
    """A key on (post_id) beside one on (post_id, post_title) to posts (id, title): the
    wider key's parent row fills both (PostgreSQL checks them). Keys that share a column
    otherwise are one clear error."""
    run_sql(
        database,
        BLOG
        + """
        CREATE UNIQUE INDEX posts_id_title ON posts (id, title);
        CREATE TABLE tags (id serial PRIMARY KEY, post_id int NOT NULL REFERENCES posts, post_title text,
                           FOREIGN KEY (post_id, post_title) REFERENCES posts (id, title));
        """,
    )
    for set_aside_from in (0, 1_000):
        results = generate_mock(database, introspect(database), {"seed": 2}, preset="minimal", set_aside_from=set_aside_from)
        assert {r.table: r.rows for r in results}["public.tags"] == 10
    with psycopg.connect(database) as conn:
        row = conn.execute(
            "SELECT count(*) FROM tags t JOIN posts p ON p.id = t.post_id AND p.title = t.post_title"
        ).fetchone()
        assert row == (10,)
    run_sql(
        database,
        "DROP TABLE tags; CREATE UNIQUE INDEX posts_id_user ON posts (id, user_id); "
        "CREATE TABLE tags (post_id int REFERENCES posts, user_id int REFERENCES users, "
        "FOREIGN KEY (post_id, user_id) REFERENCES posts (id, user_id))",
    )
    with pytest.raises(MockError, match=r"public\.tags: column user_id belongs to foreign keys tags_post_id_user_id_fkey and tags_user_id_fkey"):
        generate_mock(database, introspect(database), {"seed": 2}, preset="minimal")


@pytest.mark.parametrize("accent", ["", "é"])
def test_joined_columns_are_the_bytes_of_their_values(accent: str) -> None:
    """The binary writer lays a not yet joined column's parts out as they are: the block is
    byte for byte the one its joined values give (all ASCII, and with a non-ASCII part, which
    is joined first)."""
    from nself.runtime.mock.binary import encode_rows
    from nself.runtime.mock.values import JOINED_GENERATORS, Context, Joined, draws

    rows = np.arange(50, 80, dtype=np.int64)
    anchor = np.datetime64("2026-01-01T00:00:00", "s")
    columns = []
    for generator, params in [
        ("sentence", {"words": 5}),
        ("sentence", {"words": 1}),
        ("sentence", {}),
        ("paragraphs", {"count": 3}),
        ("fullName", {}),
        ("email", {}),
    ]:
        column = ColumnPlan("c", "text", "text", 0, generator, params, not_null=True)
        columns.append(JOINED_GENERATORS[generator](Context(column, rows, draws(np.uint64(7), rows), anchor)))
    parts = [np.array([f"a{accent}", "", "b\tc"] * 10, dtype=object), np.array(["x"] * 30, dtype=object)]
    columns += [Joined(parts, " | "), Joined(parts, "")]
    kinds = ["int8", *["text"] * len(columns)]
    numbers = np.arange(30, dtype=np.int64)
    joined = encode_rows(kinds, [numbers, *columns], [None] * len(kinds))
    plain = encode_rows(kinds, [numbers, *[c.values() for c in columns]], [None] * len(kinds))
    assert joined == plain
