import psycopg

from tests.conftest import run_sql


def test_database_is_fresh_and_usable(database: str) -> None:
    run_sql(database, "CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2);")
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (2,)
