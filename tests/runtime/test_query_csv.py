"""`db query --csv` on libpq directly (nself.libpq, nself.runtime.query_csv): one query runs
inside COPY without psycopg, the server telling one query from anything else; everything
else, and every failure to connect, takes psycopg's path with its words. psql is the oracle
for the bytes, psycopg's `connect` for the connection failures."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator

import psycopg
import pytest

from nself.connection import connect, connect_libpq
from nself.errors import ConnectionFailed, NselfError, SourceError
from nself.runtime.cluster import LocalCluster
from nself.runtime.query import psql_environment
from nself.runtime.query_csv import stream_csv
from tests.conftest import run_sql


def psql_csv(url: str, sql: str) -> bytes:
    done = subprocess.run(
        ["psql", "-X", "-v", "ON_ERROR_STOP=1", "--csv", "-c", sql],
        env={**psql_environment(url), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        check=True,
    )
    return done.stdout


def ours(url: str, sql: str) -> bytes:
    with stream_csv(url, sql) as chunks:
        return b"".join(chunks)


# (script, whether the server takes it as the one query COPY runs)
SHAPES = [
    ("select 1 as a", True),
    ("select 1 as a;", True),  # the final semicolon is the script's, not the query's
    ("select 1 as a -- a note", True),
    ("/* first */ select 1 as a;\n  ", True),
    ("values (1, ''), (null, 'x')", True),
    ("table kept", True),
    ("with x as (select 1 as a) select * from x", True),
    ("(select 1 as a) union all (select 2) order by 1 desc", True),
    ("select * from kept for update", True),
    ("select 1 as a, 2 as a", True),
    ("select from kept", True),
    ("select 1; select 2", False),
    ("select 1;;", False),
    ("insert into kept values (2) returning a", False),
    ("with d as (delete from kept where false returning *) select * from d", False),
    ("select 1 as a into temp made", False),
    ("show search_path", False),
    ("selec 1", False),
    ("select nope", False),
    ("select 1) as q; drop table kept; select * from (select 1", False),
]


@pytest.fixture(scope="module")
def kept(pg_cluster: LocalCluster) -> str:
    """One database for the shapes (each is compared with psql right after nself ran it)."""
    with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS query_csv_shapes")
        conn.execute("CREATE DATABASE query_csv_shapes")
    url = pg_cluster.url("query_csv_shapes")
    run_sql(url, "create table kept (a int); insert into kept values (1);")
    return url


def kept_rows(url: str) -> object:
    with psycopg.connect(url) as conn:
        return conn.execute("select count(*) from kept").fetchone()


# Scripts that fail, with the server's words for it.
FAILING = {
    "selec 1": '<query>:1:1: syntax error at or near "selec"',
    "select nope": '<query>:1:8: column "nope" does not exist',
    "select 1) as q; drop table kept; select * from (select 1": '<query>:1:9: syntax error at or near ")"',
}


@pytest.mark.parametrize(("sql", "one_query"), SHAPES)
def test_the_server_tells_one_query_from_anything_else(kept: str, sql: str, one_query: bool) -> None:
    conn = connect_libpq(kept)
    assert conn is not None
    with conn:
        stripped = sql.rstrip()
        query = stripped[:-1] if stripped.endswith(";") else sql
        assert conn.parses(f"SELECT * FROM (\n{query}\n) AS nself_query".encode()) == one_query


@pytest.mark.parametrize("sql", [sql for sql, _ in SHAPES if sql not in FAILING])
def test_every_shape_prints_what_psql_prints(kept: str, sql: str) -> None:
    assert ours(kept, sql) == psql_csv(kept, sql)


@pytest.mark.parametrize(("sql", "message"), FAILING.items())
def test_a_failing_script_is_the_servers_one_line(kept: str, sql: str, message: str) -> None:
    before = kept_rows(kept)
    with pytest.raises(NselfError) as raised:
        ours(kept, sql)
    assert str(raised.value) == message
    assert kept_rows(kept) == before  # nothing of the script ran (its DROP TABLE least of all)


@pytest.mark.parametrize(
    "sql",
    [
        # rows longer than nself.libpq's buffer (twice CSV_CHUNK), around rows that fit
        "select g, repeat(md5(g::text), 2000 * (g % 3)) as big from generate_series(1, 12) g",
        # and with a lone \. beside them (the chunk is written again by psql's rules)
        "select repeat('a,\"b', 70000) as big, '\\.' as m, null as n, '' as e from generate_series(1, 3)",
        # a \. that looks lone inside quoted values (a comma or a line end either side)
        "select 'a,\\.,b' as x, '\\.' as y, e'x\\n\\\\.\\ny' as z, '\"\\.' as w, '\\.' as v",
    ],
)
def test_long_rows_and_lone_end_markers_print_as_psql_does(database: str, sql: str) -> None:
    assert ours(database, sql) == psql_csv(database, sql)


def test_an_error_between_rows_comes_after_the_rows_before_it(database: str) -> None:
    sql = "select g, 1 / (g - 150000) as q from generate_series(1, 200000) g"
    got: list[bytes] = []
    with pytest.raises(NselfError) as raised, stream_csv(database, sql) as chunks:
        got.extend(chunks)
    assert str(raised.value) == "<query>: division by zero"
    text = b"".join(got)
    assert text.startswith(b"g,q\n1,0\n") and text.count(b"\n") > 1000


def test_an_error_at_a_position_names_its_line_and_column(database: str) -> None:
    """Errors the server finds only when the COPY runs are placed in the user's text, not
    in the COPY around it."""
    with pytest.raises(SourceError, match=r"^<query>:2:8: there is no parameter \$1$"):
        ours(database, "\nselect $1")


def test_a_reader_that_stops_early_keeps_nothing_of_the_query(database: str) -> None:
    """The COPY runs in a transaction committed only once every row is read: a reader that
    stops (a closed pipe) leaves nothing of what the query did."""
    run_sql(
        database,
        "create table seen (n int);"
        "create function see(n int) returns int language sql as 'insert into seen values (n) returning n';",
    )
    with stream_csv(database, "select see(g) from generate_series(1, 100000) g") as chunks:
        assert next(chunks).startswith(b"see\n1\n")
    with psycopg.connect(database) as conn:
        assert conn.execute("select count(*) from seen").fetchone() == (0,)
    assert ours(database, "select see(g) from generate_series(1, 3) g") == b"see\n1\n2\n3\n"
    with psycopg.connect(database) as conn:
        assert conn.execute("select count(*) from seen").fetchone() == (3,)


def test_notices_are_not_printed(database: str, capfd: pytest.CaptureFixture[str]) -> None:
    run_sql(database, "create function noisy() returns int language plpgsql as $$ begin raise notice 'hello'; return 1; end $$;")
    assert ours(database, "select noisy()") == b"noisy\n1\n"
    assert capfd.readouterr().err == ""


def test_a_key_value_target_connects_as_a_url_does(database: str) -> None:
    params = psycopg.conninfo.conninfo_to_dict(database)
    conninfo = " ".join(f"{key}={value}" for key, value in params.items())
    conn = connect_libpq(conninfo)
    assert conn is not None
    conn.close()
    assert ours(conninfo, "select 1 as a") == b"a\n1\n"
    assert connect_libpq("postgres") is None  # a bare word: psycopg refuses it, libpq would not


def failure(call: object) -> str:
    assert callable(call)
    with pytest.raises(ConnectionFailed) as raised:
        call()
    return str(raised.value)


def test_a_refused_connection_is_psycopgs_message(database: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://someone:s3cret@127.0.0.1:{port}/nothing"
    assert connect_libpq(url) is None  # psycopg names the failure
    message = failure(lambda: ours(url, "select 1"))
    assert message == failure(lambda: connect(url))
    assert "Connection refused" in message and "s3cret" not in message


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


def test_a_timeout_is_psycopgs_message(silent_server: int) -> None:
    url = f"postgresql://someone:s3cret@127.0.0.1:{silent_server}/nothing"
    message = failure(lambda: connect_libpq(url, connect_timeout=2))
    assert message == failure(lambda: connect(url, connect_timeout=2))
    assert message.endswith(": connection timeout expired") and "s3cret" not in message
