"""`nself data reset` against a real PostgreSQL: PostgreSQL's own catalog and counts say
every table is empty, sequences restart, the schema (introspected) and the migration
history are unchanged with --keep-schema, the seeds' rows come back with --keep-seeds, and
a rebuild gives exactly what the migrations give on a fresh database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from nself.errors import NselfError
from nself.frontends.live import introspect
from nself.runtime.data_reset import reset_data
from nself.runtime.migrate import apply_migrations
from nself.runtime.seeds import run_seeds
from tests.conftest import NewDatabase, run_sql
from tests.tools import missing

SCHEMA = """-- migrate:up
CREATE TABLE authors (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
CREATE TABLE posts (id serial PRIMARY KEY, author_id int NOT NULL REFERENCES authors, title text);
CREATE SCHEMA audit;
CREATE TABLE audit.log (id bigserial PRIMARY KEY, post_id int REFERENCES posts ON DELETE CASCADE, msg text);
CREATE TABLE measurements (at date NOT NULL, v int) PARTITION BY RANGE (at);
CREATE TABLE measurements_2026 PARTITION OF measurements FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
-- migrate:down
"""

ROWS = """
INSERT INTO authors (name) VALUES ('x'), ('y'), ('z');
INSERT INTO posts (author_id, title) VALUES (1, 'a'), (2, 'b');
INSERT INTO audit.log (post_id, msg) VALUES (1, 'm'), (2, 'n');
INSERT INTO measurements VALUES ('2026-05-01', 1);
"""

SEED = "INSERT INTO authors (name) VALUES ('ann'), ('bob');\nINSERT INTO posts (author_id, title) VALUES (2, 'hello');\n"

# Every ordinary or partitioned table outside the system schemas and `_nself`, as
# pg_catalog lists them (independent of the query the reset itself uses).
CATALOG_TABLES = """
SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', '_nself')
  AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1
"""


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "001_20260101_schema.sql").write_text(SCHEMA)
    seeds = tmp_path / "seeds"
    (seeds / "local").mkdir(parents=True)
    (seeds / "001_authors.sql").write_text(SEED)
    return migrations, seeds


def counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        tables = [row[0] for row in conn.execute(CATALOG_TABLES).fetchall()]
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}  # type: ignore[index]


def fetch(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


HISTORY = "SELECT version, name, checksum, applied_at FROM _nself.migrations ORDER BY version"
SEEDED = (
    "SELECT a.id, a.name, p.id, p.title FROM authors a LEFT JOIN posts p ON p.author_id = a.id ORDER BY 1, 3"
)


def test_keep_schema_empties_every_table_and_keeps_schema_and_history(
    database: str, layout: tuple[Path, Path]
) -> None:
    migrations, seeds = layout
    apply_migrations(database, migrations)
    run_sql(database, ROWS)
    run_seeds(database, seeds, "local")
    schema_before, history_before = introspect(database), fetch(database, HISTORY)
    assert all(counts(database).values())

    result = reset_data(database, migrations, seeds, "local", keep_schema=True)

    after = counts(database)
    assert len(after) == 5 and set(after.values()) == {0}, after
    assert sorted(result.tables) == sorted(after)  # partitions included, each named
    assert introspect(database) == schema_before
    assert fetch(database, HISTORY) == history_before
    assert fetch(database, "SELECT count(*) FROM _nself.seeds") == [(0,)]
    # Identity, serial and bigserial sequences all restarted.
    run_sql(database, "INSERT INTO authors (name) VALUES ('n'); INSERT INTO posts (author_id) VALUES (1);")
    run_sql(database, "INSERT INTO audit.log (msg) VALUES ('n')")
    ids = "SELECT (SELECT id FROM authors), (SELECT id FROM posts), (SELECT id FROM audit.log)"
    assert fetch(database, ids) == [(1, 1, 1)]


def test_keep_seeds_brings_back_exactly_the_seeds_rows(
    new_database: NewDatabase, layout: tuple[Path, Path]
) -> None:
    migrations, seeds = layout
    oracle = new_database()
    apply_migrations(oracle, migrations)
    run_seeds(oracle, seeds, "local")
    for keep_schema in (True, False):
        url = new_database()
        apply_migrations(url, migrations)
        run_seeds(url, seeds, "local")
        run_sql(url, ROWS)

        result = reset_data(url, migrations, seeds, "local", keep_schema=keep_schema, keep_seeds=True)

        assert result.seeds == ["001_authors.sql"]
        assert fetch(url, SEEDED) == fetch(oracle, SEEDED)
        assert counts(url) == counts(oracle)
        assert fetch(url, "SELECT name FROM _nself.seeds") == [("001_authors.sql",)]


def test_rebuild_gives_what_the_migrations_give(new_database: NewDatabase, layout: tuple[Path, Path]) -> None:
    migrations, seeds = layout
    oracle = new_database()
    apply_migrations(oracle, migrations)
    url = new_database()
    apply_migrations(url, migrations)
    run_sql(url, ROWS)
    run_sql(
        url, "CREATE TABLE stray (id int); INSERT INTO stray VALUES (1); ALTER TABLE posts ADD extra int;"
    )

    result = reset_data(url, migrations, seeds, "local")

    assert result.mode == "rebuilt" and result.migrations == ["001"]
    assert introspect(url) == introspect(oracle)
    assert set(counts(url).values()) == {0}
    assert [row[:2] for row in fetch(url, HISTORY)] == [row[:2] for row in fetch(oracle, HISTORY)]


def test_a_failing_truncate_leaves_every_row(database: str, layout: tuple[Path, Path]) -> None:
    migrations, seeds = layout
    apply_migrations(database, migrations)
    run_sql(database, ROWS)
    run_seeds(database, seeds, "local")
    run_sql(
        database,
        """CREATE FUNCTION no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN RAISE EXCEPTION 'audit log is append-only'; END $$;
           CREATE TRIGGER keep BEFORE TRUNCATE ON audit.log EXECUTE FUNCTION no_truncate();""",
    )
    before = counts(database)

    with pytest.raises(NselfError, match="no rows were removed: audit log is append-only"):
        reset_data(database, migrations, seeds, "local", keep_schema=True)

    assert counts(database) == before
    assert fetch(database, "SELECT count(*) FROM _nself.seeds") == [(1,)]


def test_extension_tables_keep_their_rows(database: str, layout: tuple[Path, Path]) -> None:
    migrations, seeds = layout
    with psycopg.connect(database) as conn:
        available = {r[0] for r in conn.execute("SELECT name FROM pg_available_extensions").fetchall()}
    if "postgis" not in available:
        missing("no extension that owns a table (postgis) is installed (apt-get install postgresql-15-postgis-3)")
    run_sql(database, "CREATE EXTENSION postgis")
    apply_migrations(database, migrations)
    run_sql(database, ROWS)
    spatial_ref_sys = "SELECT count(*) FROM spatial_ref_sys"
    before = fetch(database, spatial_ref_sys)

    result = reset_data(database, migrations, seeds, "local", keep_schema=True)

    assert "spatial_ref_sys" not in result.tables
    assert fetch(database, spatial_ref_sys) == before != [(0,)]


def test_rebuild_runs_each_file_from_a_clean_session(database: str, layout: tuple[Path, Path]) -> None:
    """A migration and a seed that clear search_path: the next file still finds its tables,
    in a rebuild as in a step-by-step migrate."""
    migrations, seeds = layout
    (migrations / "000_20251231_settings.sql").write_text(
        "-- migrate:up\nSELECT set_config('search_path', '', false);\n-- migrate:down\n"
    )
    (seeds / "000_settings.sql").write_text("SELECT set_config('search_path', '', false);\n")
    result = reset_data(database, migrations, seeds, "local", keep_seeds=True)
    assert result.migrations == ["000", "001"] and result.seeds == ["000_settings.sql", "001_authors.sql"]
    assert fetch(database, "SELECT count(*) FROM authors") == [(2,)]
