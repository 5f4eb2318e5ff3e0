"""nself.runtime.dump against real PostgreSQL. The oracle is the source database itself:
after a dump and a load, every table's rows hash the same (md5 over each row's text, in
order) and the schema introspects to the same Catalog."""

from __future__ import annotations

import stat
from pathlib import Path

import psycopg
import pytest

from nself.errors import OptionError
from nself.frontends.live import introspect
from nself.runtime.dump import ClientProgramError, DumpFormat, dump, find_client, load
from tests.conftest import NewDatabase, run_sql

SCHEMA = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE people (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    nick text,
    tags text[],
    scores int[],  -- not int[][]: pg_dump does not keep declared array dimensions (PostgreSQL ignores them)
    profile jsonb,
    raw json,
    avatar bytea,
    feeling mood,
    born date,
    seen timestamptz,
    balance numeric(12, 2)
);
CREATE TABLE events (
    id serial PRIMARY KEY,
    person_id bigint REFERENCES people (id),
    payload text,
    at timestamptz NOT NULL
);
CREATE INDEX events_person_idx ON events (person_id);
CREATE VIEW busy_people AS
    SELECT p.name, count(*) AS n FROM people p JOIN events e ON e.person_id = p.id GROUP BY p.name;
INSERT INTO people (name, nick, tags, scores, profile, raw, avatar, feeling, born, seen, balance) VALUES
    ('Ann', NULL, ARRAY['a', 'b c', NULL], '{{1,2},{3,4}}', '{"k": [1, null, "x"]}', '{"dup": 1, "dup": 2}',
     '\\x00ff10', 'happy', '1990-02-28', '2026-01-01 12:00:00+00', 12.5),
    ('Bo''b "quoted"', 'bob', '{}', NULL, 'null', NULL, '', NULL, NULL, NULL, NULL),
    (E'tab\\there\\nnewline', NULL, NULL, NULL, NULL, '[]', NULL, 'sad', NULL, 'infinity', -0.01);
INSERT INTO events (person_id, payload, at)
    SELECT 1 + g % 3, CASE WHEN g % 7 = 0 THEN NULL ELSE md5(g::text) END,
           timestamptz '2026-01-01' + g * interval '1 minute'
    FROM generate_series(1, 50000) AS g;
CREATE SCHEMA _nself;
CREATE TABLE _nself.history (version text);
INSERT INTO _nself.history VALUES ('001');
"""

TABLES = ("people", "events")
EMPTY = (0, "d41d8cd98f00b204e9800998ecf8427e")  # no rows: md5 of the empty string


def checksums(url: str) -> dict[str, tuple[int, str] | None]:
    """Per table: (row count, md5 of every row's text in order)."""
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM {table} t"
            ).fetchone()
            for table in TABLES
        }


def tables_in(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'v') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
    return {r[0] for r in rows}


@pytest.fixture(scope="module")
def source(pg_cluster: object) -> str:
    from nself.runtime.cluster import LocalCluster

    assert isinstance(pg_cluster, LocalCluster)
    name = "dump_source"
    with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    url = pg_cluster.url(name)
    run_sql(url, SCHEMA)
    return url


@pytest.mark.parametrize("fmt", ["custom", "plain"])
def test_round_trip_keeps_rows_and_schema(
    source: str, new_database: NewDatabase, tmp_path: Path, fmt: DumpFormat
) -> None:
    path = tmp_path / f"all.{fmt}"
    result = dump(source, path, fmt=fmt)
    assert result.bytes == path.stat().st_size > 0
    assert path.read_bytes().startswith(b"PGDMP") == (fmt == "custom")
    target = new_database()
    load(target, path)
    assert checksums(target) == checksums(source)
    assert introspect(target) == introspect(source)
    assert "_nself.history" not in tables_in(target), "nself's history stays out of dumps by default"
    with psycopg.connect(target) as conn:  # sequences carry on where the source stopped
        assert conn.execute("SELECT nextval('events_id_seq')").fetchone() == (50001,)


def test_jobs_restore_in_several_sessions_gives_the_same_database(
    source: str, new_database: NewDatabase, tmp_path: Path
) -> None:
    dump(source, tmp_path / "j.dump")
    target = new_database()
    load(target, tmp_path / "j.dump", single_transaction=False, jobs=2)
    assert checksums(target) == checksums(source)
    assert introspect(target) == introspect(source)
    with pytest.raises(OptionError, match="--no-single-transaction"):
        load(target, tmp_path / "j.dump", jobs=2)
    dump(source, tmp_path / "j.sql", fmt="plain")
    with pytest.raises(OptionError, match="custom-format"):
        load(target, tmp_path / "j.sql", single_transaction=False, jobs=2)


def test_with_history_includes_the_nself_schema(
    source: str, new_database: NewDatabase, tmp_path: Path
) -> None:
    dump(source, tmp_path / "h.dump", with_history=True)
    target = new_database()
    load(target, tmp_path / "h.dump")
    assert "_nself.history" in tables_in(target)


def test_schema_only_gives_the_schema_and_no_rows(
    source: str, new_database: NewDatabase, tmp_path: Path
) -> None:
    dump(source, tmp_path / "s.dump", schema_only=True)
    target = new_database()
    load(target, tmp_path / "s.dump")
    assert introspect(target) == introspect(source)
    assert checksums(target) == dict.fromkeys(TABLES, EMPTY)


def test_data_only_into_the_schema_gives_the_same_rows(
    source: str, new_database: NewDatabase, tmp_path: Path
) -> None:
    dump(source, tmp_path / "s.dump", schema_only=True)
    dump(source, tmp_path / "d.dump", data_only=True)
    target = new_database()
    load(target, tmp_path / "s.dump")
    load(target, tmp_path / "d.dump")
    assert checksums(target) == checksums(source)


def test_table_filters(source: str, new_database: NewDatabase, tmp_path: Path) -> None:
    # pg_dump --table leaves out what the table depends on (here the enum): the target has it.
    dump(source, tmp_path / "p.dump", tables=["people"])
    only = new_database()
    run_sql(only, "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');")
    load(only, tmp_path / "p.dump")
    assert tables_in(only) == {"public.people"}
    with psycopg.connect(only) as conn:
        assert conn.execute("SELECT count(*) FROM people").fetchone() == (3,)

    dump(source, tmp_path / "s.dump", schema_only=True)
    dump(source, tmp_path / "x.dump", data_only=True, exclude_tables=["events"])
    without = new_database()
    load(without, tmp_path / "s.dump")
    load(without, tmp_path / "x.dump")
    sums = checksums(without)
    assert sums["people"] == checksums(source)["people"]
    assert sums["events"] == EMPTY


def test_failed_load_leaves_the_target_as_it_was(
    source: str, new_database: NewDatabase, tmp_path: Path
) -> None:
    """The view comes after both tables in the dump; a table in the target with the view's
    name makes the restore fail half-way."""
    path = tmp_path / "all.dump"
    dump(source, path)
    target = new_database()
    run_sql(target, "CREATE TABLE busy_people (keep int); INSERT INTO busy_people VALUES (1), (2);")
    before = tables_in(target)

    with pytest.raises(ClientProgramError) as failure:
        load(target, path)
    message = str(failure.value)
    assert "\n" not in message
    assert str(path) in message and "already exists" in message
    assert tables_in(target) == before
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT array_agg(keep ORDER BY keep) FROM busy_people").fetchone() == ([1, 2],)

    # Without the single transaction the same load stops half-way, tables made: the conflict
    # above really was in the middle of the dump.
    with pytest.raises(ClientProgramError):
        load(target, path, single_transaction=False)
    assert {"public.people", "public.events"} <= tables_in(target)


def test_failed_plain_load_leaves_the_target_as_it_was(
    source: str, new_database: NewDatabase, tmp_path: Path
) -> None:
    path = tmp_path / "all.sql"
    dump(source, path, fmt="plain")
    target = new_database()
    run_sql(target, "CREATE TABLE busy_people (keep int); INSERT INTO busy_people VALUES (1);")
    with pytest.raises(ClientProgramError) as failure:
        load(target, path)
    message = str(failure.value)
    assert "\n" not in message and str(path) in message and "already exists" in message
    assert tables_in(target) == {"public.busy_people"}


def test_errors_never_show_the_password(source: str, new_database: NewDatabase, tmp_path: Path) -> None:
    path = tmp_path / "all.dump"
    dump(source, path)
    target = new_database()
    run_sql(target, "CREATE TABLE busy_people (keep int);")
    secret = "Pa55-s3cret"
    # The test cluster trusts local connections, so the password is carried but not checked.
    with_password = target.replace("postgres@", f"postgres:{secret}@", 1)
    assert secret in with_password
    with pytest.raises(ClientProgramError) as failure:
        load(with_password, path)
    assert secret not in str(failure.value)


def test_failed_dump_leaves_no_file(source: str, tmp_path: Path) -> None:
    out = tmp_path / "dumps" / "x.dump"
    out.parent.mkdir()
    out.write_bytes(b"the previous dump")
    with pytest.raises(ClientProgramError, match="pg_dump"):
        dump(source, out, tables=["a.b.c.d"])  # pg_dump rejects the pattern after connecting
    assert out.read_bytes() == b"the previous dump"
    assert [p.name for p in out.parent.iterdir()] == ["x.dump"]


def test_missing_pg_dump_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ClientProgramError) as failure:
        find_client("pg_dump", 15, path=str(tmp_path), library_dirs=[])
    assert "\n" not in str(failure.value)
    assert "pg_dump not found" in str(failure.value)


def test_too_old_pg_dump_is_refused(tmp_path: Path) -> None:
    old = tmp_path / "pg_dump"
    old.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
    old.chmod(old.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(ClientProgramError, match="pg_dump 9 is older than the server"):
        find_client("pg_dump", 15, path=str(tmp_path), library_dirs=[])


def test_the_server_version_wins_over_the_newest(tmp_path: Path) -> None:
    (tmp_path / "bin15").mkdir()
    (tmp_path / "bin17").mkdir()
    for major in (15, 17):
        program = tmp_path / f"bin{major}" / "pg_dump"
        program.write_text(f"#!/bin/sh\necho 'pg_dump (PostgreSQL) {major}.1'\n")
        program.chmod(0o755)
    dirs = [str(tmp_path / "bin15"), str(tmp_path / "bin17")]
    assert find_client("pg_dump", 15, path="", library_dirs=dirs) == tmp_path / "bin15" / "pg_dump"
    assert find_client("pg_dump", 16, path="", library_dirs=dirs) == tmp_path / "bin17" / "pg_dump"


def test_a_plain_dump_cut_at_a_statement_boundary_is_refused(
    source: str, new_database: NewDatabase, tmp_path: Path
) -> None:
    whole = tmp_path / "all.sql"
    dump(source, whole, fmt="plain")
    text = whole.read_text()
    # Cut right after the first table's CREATE statement: psql would run the rest "successfully".
    cut = tmp_path / "cut.sql"
    cut.write_text(text[: text.index(";\n", text.index("CREATE TABLE")) + 2])
    target = new_database()
    with pytest.raises(OptionError, match=r"cut\.sql: incomplete pg_dump script .* nothing was loaded"):
        load(target, cut)
    assert tables_in(target) == set()
    # The whole dump (closing line, then pg_dump's `\unrestrict` line) and a script not
    # written by pg_dump load as before.
    load(target, whole)
    assert checksums(target) == checksums(source)
    script = tmp_path / "mine.sql"
    script.write_text("CREATE TABLE mine (x int);\n")
    load(target, script)
    assert "public.mine" in tables_in(target)
