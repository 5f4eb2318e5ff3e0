from pathlib import Path

import psycopg

from nself.frontends.live import introspect
from tests.conftest import NewDatabase, run_sql
from tests.corpus import TEMPLATED, pagila


def test_database_is_fresh_and_usable(database: str) -> None:
    run_sql(database, "CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2);")
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (2,)


def test_a_corpus_copy_is_what_a_fresh_load_gives(corpus: Path, new_database: NewDatabase) -> None:
    """new_database(case=...) copies the case's template database (tests/corpus.py
    create_loaded): the copy holds what loading the case into an empty database gives, the
    objects as introspected, every table's rows and every sequence's state."""
    case = pagila(corpus)
    assert case.name in TEMPLATED
    fresh = new_database("fresh")
    case.load(fresh)
    copy = new_database("copy", case=case)
    assert introspect(copy) == introspect(fresh)
    assert _contents(copy) == _contents(fresh)


def _contents(url: str) -> dict[str, object]:
    """Each table's rows (as text, sorted) and each sequence's last value, by name."""
    found: dict[str, object] = {}
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT c.oid::regclass::text, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('r', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
            " AND n.nspname NOT LIKE 'pg\\_toast%'"
        ).fetchall()
        for name, kind in tables:
            if kind == "S":
                found[name] = conn.execute(f"SELECT last_value, is_called FROM {name}").fetchone()  # type: ignore[arg-type]
            else:
                rows = conn.execute(f"SELECT t::text FROM {name} t").fetchall()  # type: ignore[arg-type]
                found[name] = sorted(r[0] for r in rows)
    return found
