"""nself.runtime.data_io against real PostgreSQL. The oracle is PostgreSQL itself: per table,
the row count and the md5 of every row's text form in primary-key order, in the source and in
a fresh database the export was imported into."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from nself.errors import NselfError
from nself.runtime.data_io import DataFormat, export_data, import_data
from tests.conftest import NewDatabase, run_sql

SCHEMA = """
CREATE SCHEMA app;
CREATE TABLE app.teams (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL UNIQUE);
CREATE TABLE app.users (
    id bigserial PRIMARY KEY,
    team_id int NOT NULL REFERENCES app.teams,
    manager_id bigint REFERENCES app.users,
    email text NOT NULL,
    tags text[],
    scores int[],
    settings jsonb,
    raw json,
    avatar bytea,
    balance numeric(20, 6),
    joined timestamptz,
    email_upper text GENERATED ALWAYS AS (upper(email)) STORED
);
CREATE TABLE public.posts (
    id serial PRIMARY KEY,
    author_id bigint NOT NULL REFERENCES app.users,
    body text,
    created timestamptz DEFAULT now()
);
CREATE TABLE public.no_key (note text);
"""

ROWS = r"""
INSERT INTO app.teams (name) VALUES ('core'), ('ops'), ('q"uote, comma');
-- user 1's manager is user 3: a self reference to a later row loads in one statement
INSERT INTO app.users (id, team_id, manager_id, email, tags, scores, settings, raw, avatar, balance, joined)
VALUES (1, 1, 3, 'boss@x.org', '{a,"b c",NULL}', '{1,2,3}', '{"k": [1, {"x": null}]}', '{"a" : 1}',
        '\x00ff10', 12345678901234.123456, '2024-02-29 23:59:59.123456+05:30'),
       (2, 2, 1, 'two@x.org', '{}', NULL, '[]', NULL, '\x', -0.000001, NULL),
       (3, 3, 2, E'line\nbreak, "quoted"\\', NULL, '{-1}', '"text"', '[1,2]', NULL, NULL, '-infinity');
SELECT setval('app.users_id_seq', 3);
INSERT INTO public.posts (author_id, body, created)
SELECT 1 + g % 3, CASE WHEN g % 4 = 0 THEN NULL ELSE 'post ' || g END, '2020-01-01'::timestamptz + g * interval '1 hour'
FROM generate_series(1, 40) g;
INSERT INTO public.no_key VALUES ('a'), (NULL);
"""

TABLES = ["app.teams", "app.users", "public.posts", "public.no_key"]


def checksums(url: str, tables: list[str] = TABLES) -> dict[str, tuple[int, str | None]]:
    result: dict[str, tuple[int, str | None]] = {}
    with psycopg.connect(url) as conn:
        for table in tables:
            row = conn.execute(
                f"SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t"
            ).fetchone()
            assert row is not None
            result[table] = (row[0], row[1])
    return result


@pytest.fixture
def source(new_database: NewDatabase) -> str:
    url = new_database("src")
    run_sql(url, SCHEMA + ROWS)
    run_sql(
        url,
        "CREATE SCHEMA _nself; CREATE TABLE _nself.history (v int); INSERT INTO _nself.history VALUES (1);",
    )
    return url


@pytest.fixture
def target(new_database: NewDatabase) -> str:
    url = new_database("dst")
    run_sql(url, SCHEMA)
    return url


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_round_trip_gives_the_same_rows(source: str, target: str, tmp_path: Path, fmt: DataFormat) -> None:
    exported = export_data(source, tmp_path / "out", fmt=fmt)
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == sorted(f"{t}.{fmt}" for t in TABLES), "one file per table, _nself left out"
    assert {t.table: t.rows for t in exported.tables} == {t: checksums(source)[t][0] for t in TABLES}

    imported = import_data(target, tmp_path / "out")
    assert checksums(target) == checksums(source)
    assert [t.table for t in imported.tables].index("app.teams") < [t.table for t in imported.tables].index(
        "app.users"
    ), "parents first"
    with psycopg.connect(target) as conn:
        # Sequences continue past the loaded maximum: inserts with the defaults succeed.
        assert conn.execute("INSERT INTO app.teams (name) VALUES ('new') RETURNING id").fetchone() == (4,)
        assert conn.execute(
            "INSERT INTO app.users (team_id, email) VALUES (1, 'n') RETURNING id"
        ).fetchone() == (4,)
        assert conn.execute("INSERT INTO public.posts (author_id) VALUES (1) RETURNING id").fetchone() == (
            41,
        )


def test_export_is_deterministic_and_can_pick_tables(source: str, tmp_path: Path) -> None:
    export_data(source, tmp_path / "a", tables=["users", "public.posts"])
    export_data(source, tmp_path / "b", tables=["app.users", "posts"])
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["app.users.json", "public.posts.json"]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    rows = json.loads((tmp_path / "a" / "app.users.json").read_text())
    assert rows[0]["settings"] == {"k": [1, {"x": None}]} and rows[1]["avatar"] == "\\x"
    with pytest.raises(NselfError, match="--table: no table 'nope'"):
        export_data(source, tmp_path / "c", tables=["nope"])


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_upsert_updates_existing_rows_and_adds_new_ones(
    source: str, target: str, tmp_path: Path, fmt: DataFormat
) -> None:
    export_data(source, tmp_path / "out", fmt=fmt, tables=["teams", "users", "posts"])
    # The target holds some of the rows, changed, plus nothing else.
    run_sql(
        target,
        "INSERT INTO app.teams (id, name) OVERRIDING SYSTEM VALUE VALUES (1, 'old'), (2, 'older');"
        "INSERT INTO app.users (id, team_id, email, tags) VALUES (1, 2, 'stale@x.org', '{z}');",
    )
    import_data(target, tmp_path / "out", upsert=True)
    expected = checksums(source)
    got = checksums(target)
    for table in ["app.teams", "app.users", "public.posts"]:
        assert got[table] == expected[table], table


def test_upsert_needs_a_primary_key(source: str, target: str, tmp_path: Path) -> None:
    export_data(source, tmp_path / "out", tables=["no_key"])
    with pytest.raises(NselfError, match=r"public\.no_key\.json: --upsert needs a primary key"):
        import_data(target, tmp_path / "out", upsert=True)


def test_truncate_replaces_the_rows(source: str, target: str, tmp_path: Path) -> None:
    export_data(source, tmp_path / "out")
    import_data(target, tmp_path / "out")
    import_data(target, tmp_path / "out", truncate=True)
    assert checksums(target) == checksums(source)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "public.posts.json",
            '[{"id": 100, "author_id": 1, "nope": 1}]',
            "column 'nope' is not in table public.posts",
        ),
        (
            "public.posts.json",
            '[{"id": 100, "author_id": 1},\n {"id": 101, "author_id": "one"}]',
            'public.posts.json: row 2: invalid input syntax for type bigint: "one"',
        ),
        ("public.posts.json", '[{"id": 100,', "public.posts.json:1:"),
        (
            "public.posts.csv",
            "id,author_id\n100,1\n101,x\n",
            'line 3: invalid input syntax for type bigint: "x"',
        ),
        ("public.posts.csv", "id,author\n100,1\n", "column 'author' is not in table public.posts"),
        (
            "public.posts.csv",
            "id,author_id\n100,99\n",
            'violates foreign key constraint "posts_author_id_fkey" (Key (author_id)=(99) is not present in table "users".)',
        ),
    ],
)
def test_a_bad_file_leaves_every_table_unchanged(
    source: str, target: str, tmp_path: Path, name: str, content: str, message: str
) -> None:
    export_data(source, tmp_path / "out", fmt="csv" if name.endswith(".csv") else "json")
    (tmp_path / "out" / name).write_text(content)
    before = checksums(target)
    with pytest.raises(NselfError) as caught:
        import_data(target, tmp_path / "out")
    assert message in str(caught.value)
    assert str(caught.value).startswith(str(tmp_path / "out" / name)), "the error names the file"
    assert "\n" not in str(caught.value)
    assert checksums(target) == before


def test_one_file_into_a_named_table(source: str, target: str, tmp_path: Path) -> None:
    export_data(source, tmp_path / "out", fmt="csv", tables=["teams"])
    renamed = tmp_path / "teams-backup.csv"
    (tmp_path / "out" / "app.teams.csv").rename(renamed)
    with pytest.raises(NselfError, match="no table 'teams-backup'"):
        import_data(target, renamed)
    import_data(target, renamed, table="app.teams")
    assert checksums(target)["app.teams"] == checksums(source)["app.teams"]


def test_a_json_null_value_survives_csv_but_not_json(new_database: NewDatabase, tmp_path: Path) -> None:
    """The documented limit of the JSON format: row_to_json writes a jsonb 'null' and an SQL
    NULL the same way, so both come back as SQL NULL; CSV keeps them apart."""
    source_url, json_url, csv_url = new_database("src"), new_database("dst"), new_database("dst")
    for url in (source_url, json_url, csv_url):
        run_sql(url, "CREATE TABLE doc (id int PRIMARY KEY, body jsonb)")
    run_sql(source_url, "INSERT INTO doc VALUES (1, 'null'), (2, NULL)")
    export_data(source_url, tmp_path / "json", fmt="json")
    export_data(source_url, tmp_path / "csv", fmt="csv")
    import_data(json_url, tmp_path / "json")
    import_data(csv_url, tmp_path / "csv")
    query = "SELECT id, body IS NULL FROM doc ORDER BY id"
    with psycopg.connect(csv_url) as conn:
        assert conn.execute(query).fetchall() == [(1, False), (2, True)]
    with psycopg.connect(json_url) as conn:
        assert conn.execute(query).fetchall() == [(1, True), (2, True)]


CYCLE_AND_PARTITIONS = """
CREATE TABLE a (id int PRIMARY KEY, b_id int);
CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a DEFERRABLE);
ALTER TABLE a ADD FOREIGN KEY (b_id) REFERENCES b DEFERRABLE;
CREATE TABLE events (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
"""


def test_a_deferrable_cycle_and_a_partitioned_table(new_database: NewDatabase, tmp_path: Path) -> None:
    source_url, target_url = new_database("src"), new_database("dst")
    run_sql(source_url, CYCLE_AND_PARTITIONS)
    run_sql(target_url, CYCLE_AND_PARTITIONS)
    run_sql(
        source_url,
        "BEGIN; SET CONSTRAINTS ALL DEFERRED; INSERT INTO a VALUES (1, 1); INSERT INTO b VALUES (1, 1); COMMIT;"
        "INSERT INTO events VALUES (1, '2024-05-01'), (2, '2025-05-01');",
    )
    exported = export_data(source_url, tmp_path / "out")
    assert sorted(t.table for t in exported.tables) == ["public.a", "public.b", "public.events"], (
        "partitions via parent"
    )
    import_data(target_url, tmp_path / "out")
    query = "SELECT tableoid::regclass::text, * FROM {} ORDER BY 2"
    for table in ["a", "b", "events"]:
        with psycopg.connect(source_url) as src, psycopg.connect(target_url) as dst:
            expected = src.execute(query.format(table)).fetchall()
            assert dst.execute(query.format(table)).fetchall() == expected


def source_and_target(new_database: NewDatabase, schema: str, rows: str) -> tuple[str, str]:
    """Two databases with `schema`, the first also holding `rows`."""
    source_url, target_url = new_database("src"), new_database("dst")
    run_sql(source_url, schema)
    run_sql(target_url, schema)
    run_sql(source_url, rows)
    return source_url, target_url


ODD_NAMES = 'CREATE SCHEMA "we.ird"; CREATE TABLE "we.ird"."odd ""name"" %s" (id serial PRIMARY KEY, "pct%" numeric, "Mixed Case" text);'


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_names_that_need_quoting(new_database: NewDatabase, tmp_path: Path, fmt: DataFormat) -> None:
    source_url, target_url = source_and_target(
        new_database,
        ODD_NAMES,
        """INSERT INTO "we.ird"."odd ""name"" %s" ("pct%", "Mixed Case") VALUES (0.5, 'a'), (NULL, 'b')""",
    )
    export_data(source_url, tmp_path / "out", fmt=fmt)
    import_data(target_url, tmp_path / "out")
    import_data(target_url, tmp_path / "out", upsert=True)
    query = """SELECT * FROM "we.ird"."odd ""name"" %s" ORDER BY id"""
    with psycopg.connect(source_url) as src, psycopg.connect(target_url) as dst:
        assert dst.execute(query).fetchall() == src.execute(query).fetchall()
        assert dst.execute(
            """INSERT INTO "we.ird"."odd ""name"" %s" DEFAULT VALUES RETURNING id"""
        ).fetchone() == (3,)


def all_checksums(url: str) -> dict[str, tuple[int, str | None]]:
    """Every table of the database, partitions included."""
    with psycopg.connect(url) as conn:
        tables = [
            str(r[0])
            for r in conn.execute(
                "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
                "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
            ).fetchall()
        ]
    return checksums(url, tables)


def test_pagila_export_imports_into_a_fresh_pagila(
    new_database: NewDatabase, corpus: Path, tmp_path: Path
) -> None:
    """pagila as pg_dump restores it: foreign keys declared on payment's partitions, and
    sequences that no column owns (named only by the columns' defaults)."""
    from nself.frontends.live import introspect
    from nself.runtime.mock.executor import generate_mock
    from tests.corpus import pagila

    source_url, target_url = new_database("src", case=pagila(corpus)), new_database("dst", case=pagila(corpus))
    generate_mock(source_url, introspect(source_url), {"seed": 42})
    export_data(source_url, tmp_path / "out")
    import_data(target_url, tmp_path / "out")
    expected = all_checksums(source_url)
    assert all_checksums(target_url) == expected
    assert expected["public.payment_p2022_01"][0] > 0  # a partition with its own foreign keys holds rows
    with psycopg.connect(target_url) as conn:
        for sequence, table, column in [
            ("customer_customer_id_seq", "customer", "customer_id"),
            ("payment_payment_id_seq", "payment", "payment_id"),
            ("rental_rental_id_seq", "rental", "rental_id"),
        ]:
            largest = conn.execute(f"SELECT max({column}) FROM {table}").fetchone()
            following = conn.execute(f"SELECT nextval('{sequence}')").fetchone()
            assert largest is not None and following is not None and following[0] > largest[0] > 0


HOSTILE_NAMES = """
CREATE SCHEMA "../../x/"; CREATE SCHEMA "/var/x/";
CREATE TABLE "../../x/"."a/b" (id serial PRIMARY KEY, note text);
CREATE TABLE "/var/x/"."t" (id int PRIMARY KEY REFERENCES "../../x/"."a/b", "c/d" text);
CREATE TABLE public."..\\%2F" (id int PRIMARY KEY);
"""


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_names_never_leave_the_output_directory(new_database: NewDatabase, tmp_path: Path, fmt: DataFormat) -> None:
    source_url, target_url = source_and_target(
        new_database,
        HOSTILE_NAMES,
        """INSERT INTO "../../x/"."a/b" (note) VALUES ('one'), ('two');
           INSERT INTO "/var/x/"."t" VALUES (2, 'x/y'); INSERT INTO public."..\\%2F" VALUES (7);""",
    )
    out = tmp_path / "deep" / "out"
    exported = export_data(source_url, out, fmt=fmt)
    assert len(exported.tables) == 3
    # Every file is directly inside the directory, and nothing was written anywhere else.
    assert sorted(p.relative_to(tmp_path).parts[:2] for p in tmp_path.rglob("*") if p.is_file()) == [("deep", "out")] * 3
    assert all(Path(t.path).parent == out for t in exported.tables)
    import_data(target_url, out)
    with psycopg.connect(source_url) as src, psycopg.connect(target_url) as dst:
        for table in ('"../../x/"."a/b"', '"/var/x/"."t"', 'public."..\\%2F"'):
            query = f"SELECT * FROM {table} ORDER BY 1"
            assert dst.execute(query).fetchall() == src.execute(query).fetchall()
