"""`nself db query`: values as PostgreSQL prints them (psql is the oracle: the same query run
by `psql -At` and `psql --csv` must print the same bytes), JSON that never holds a bare NaN or
a number a reader would round, duplicate columns kept, rows streamed, and `-f` scripts run by
psql with ON_ERROR_STOP."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import psycopg
import pytest

from nself.runtime.query import psql_environment
from tests.clitools import Result, run_nself, run_nself_process

CONFIG = '[environments.dev]\nurl = "env:NSELF_QUERY_URL"\n'

# Values whose text form is where a driver's own conversion would differ from psql.
AWKWARD = """
select 1 as a, 2 as a,
       'infinity'::date as d_inf, '0044-03-15 BC'::date as bc, '-infinity'::timestamptz as ts,
       'NaN'::numeric as nan, 'Infinity'::float8 as f_inf, 0.1::float8 as f,
       12345678901234567890.123456789::numeric as big, 9007199254740993::int8 as i8, 42::int4 as i,
       true as yes, null::text as nothing, '' as empty, 'a,b "c"' || chr(10) || 'd' as tricky,
       '\\.' as marker, '\\xdeadbeef'::bytea as bin, array[1, null, 3] as arr, '{"k": [1, 2.50]}'::jsonb as doc,
       '[red]x[/red]' as markup, interval '1 day 02:03:04' as span, 'x'::char(3) as padded
"""


def query(tmp_path: Path, url: str, *args: str) -> Result:
    (tmp_path / "nself.toml").write_text(CONFIG)
    return run_nself("db", "query", "--env", "dev", *args, cwd=tmp_path, env={"NSELF_QUERY_URL": url})


def psql(url: str, *args: str) -> str:
    done = subprocess.run(
        ["psql", "-X", "-v", "ON_ERROR_STOP=1", *args],
        env={**psql_environment(url), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.mark.parametrize(("ours", "theirs"), [(("--unaligned",), ("-At",)), (("--csv",), ("--csv",))])
def test_text_and_csv_match_psql_byte_for_byte(
    tmp_path: Path, database: str, ours: tuple[str, ...], theirs: tuple[str, ...]
) -> None:
    done = query(tmp_path, database, AWKWARD, *ours)
    assert done.code == 0, done.stderr
    assert done.stdout == psql(database, *theirs, "-c", AWKWARD)


# Several statements: every result in order, as psql shows them (command tags included).
SCRIPT = """create temp table s (id int, name text);
insert into s values (1, 'a'), (2, null);
select id, name from s order by id;
update s set name = 'b' where id = 2 returning id, name;
select 1 as one where false;
set search_path = public;
show search_path;
delete from s
"""


@pytest.mark.parametrize(("ours", "theirs"), [(("--unaligned",), ("-At",)), (("--csv",), ("--csv",))])
def test_several_statements_print_every_result_as_psql_does(
    tmp_path: Path, database: str, ours: tuple[str, ...], theirs: tuple[str, ...]
) -> None:
    done = query(tmp_path, database, SCRIPT, *ours)
    assert done.code == 0, done.stderr
    assert done.stdout == psql(database, *theirs, "-c", SCRIPT)
    assert "INSERT 0 2" in done.stdout and "UPDATE 1" in done.stdout and "DELETE 2" in done.stdout


def test_several_statements_in_json_are_one_object_each(tmp_path: Path, database: str) -> None:
    done = query(tmp_path, database, SCRIPT, "--json")
    assert done.code == 0, done.stderr
    results = json.loads(done.stdout)
    assert [r["line"] for r in results] == [1, 2, 3, 4, 5, 6, 7, 8]
    commands = ["CREATE TABLE", "INSERT 0 2", "SELECT 2", "UPDATE 1", "SELECT 0", "SET", "SHOW", "DELETE 2"]
    assert [r["command"] for r in results] == commands
    assert results[2]["columns"] == ["id", "name"]
    assert results[2]["rows"] == [{"id": 1, "name": "a"}, {"id": 2, "name": None}]
    assert results[3]["rows"] == [{"id": 2, "name": "b"}]
    assert results[4] == {"line": 5, "columns": ["one"], "rows": [], "command": "SELECT 0"}
    assert results[6]["rows"] == [{"search_path": "public"}]
    assert "rows" not in results[0] and "columns" not in results[7]
    # one statement keeps the plain array of rows
    one = query(tmp_path, database, "select 1 as a", "--json")
    assert json.loads(one.stdout) == [{"a": 1}]


def test_several_statements_in_the_terminal_show_every_result(tmp_path: Path, database: str) -> None:
    done = query(tmp_path, database, SCRIPT)
    assert done.code == 0, done.stderr
    out = done.stdout
    order = ["CREATE TABLE", "INSERT 0 2", "(2 rows)", "(1 row)", "UPDATE 1", "(0 rows)", "SET"]
    order += ["public", "DELETE 2"]
    positions = [out.index(word) for word in order]
    assert positions == sorted(positions), out
# Where COPY's CSV (the --csv path for queries) and psql's differ or could: empty strings and
# NULLs, a lone \. in rows of one and many columns, quotes next to commas and line ends, no
# columns, no rows, a result of many chunks, and statements that do not run inside COPY.
CSV_EDGES = [
    "select ''::text as a",
    "select null::text as a from generate_series(1, 3)",
    "select '\\.' as a",
    "select '\\.' as a, '\\.' as b, 'x\\.' as c",
    "select 'x,\",y' as a, '' as b, null as c, '\"\"' as d, e'\"\n\"' as e, ',' as f",
    "select from generate_series(1, 3)",
    "select 1 as a where false",
    "values (1, ''), (null, 'x')",
    "select g, case when g % 3 = 0 then '' when g % 3 = 1 then null else '\\.' end as v, "
    "repeat('\"', g % 5) as q from generate_series(1, 30000) g",
    "show search_path",
]


@pytest.mark.parametrize("sql", CSV_EDGES)
def test_csv_matches_psql_at_the_edges(tmp_path: Path, database: str, sql: str) -> None:
    done = query(tmp_path, database, sql, "--csv")
    assert done.code == 0, done.stderr
    assert done.stdout == psql(database, "--csv", "-c", sql)


def test_csv_of_rows_returned_by_a_change(tmp_path: Path, database: str) -> None:
    sql = "create temp table t (a text); insert into t values (''), (null), ('\\.') returning a, 'x' as b"
    done = query(tmp_path, database, sql, "--csv")
    assert done.code == 0, done.stderr
    assert done.stdout == psql(database, "--csv", "-c", sql)
    assert 'a,b\n,x\n,x\n"\\.",x\n' in done.stdout


def test_csv_errors_name_line_and_column(tmp_path: Path, database: str) -> None:
    done = query(tmp_path, database, "select 1;\nselect nope from pg_class", "--csv")
    assert done.code == 1
    assert 'error: <query>:2:8: column "nope" does not exist' in done.stderr


def test_json_keeps_order_and_duplicates_and_never_rounds_or_writes_nan(tmp_path: Path, database: str) -> None:
    done = query(tmp_path, database, AWKWARD, "--json")
    assert done.code == 0, done.stderr
    assert "NaN" not in done.stdout.replace('"NaN"', "")
    assert "Infinity" not in done.stdout.replace('"Infinity"', "")
    rows = json.loads(done.stdout, object_pairs_hook=list, parse_float=str, parse_int=str)
    assert len(rows) == 1
    pairs = rows[0]
    # psql's own -At line gives every column's text in order: JSON carries the same text.
    texts = psql(database, "-At", "-F", "\x1f", "-c", AWKWARD).rstrip("\n").split("\x1f")
    assert [name for name, _ in pairs] == [
        "a", "a", "d_inf", "bc", "ts", "nan", "f_inf", "f", "big", "i8", "i", "yes", "nothing",
        "empty", "tricky", "marker", "bin", "arr", "doc", "markup", "span", "padded",
    ]
    values = dict(pairs[2:])
    assert [v for _, v in pairs[:2]] == ["1", "2"]  # numbers (parse_int=str), both kept
    assert values["d_inf"] == "infinity" and values["bc"] == "0044-03-15 BC"
    assert values["nan"] == "NaN" and values["f_inf"] == "Infinity"  # strings, not bare tokens
    assert values["big"] == "12345678901234567890.123456789"  # a string: a double would round it
    assert values["i8"] == "9007199254740993"  # a string too (beyond 2**53)
    assert '"i8": "9007199254740993"' in done.stdout and '"i": 42' in done.stdout and '"f": 0.1' in done.stdout
    assert values["yes"] is True and values["nothing"] is None
    assert values["doc"] == [("k", ["1", "2.50"])]  # jsonb embedded as JSON
    for (name, value), text in zip(pairs, texts, strict=True):
        if isinstance(value, str) and name not in ("a", "i", "f"):
            assert value == text, name


def test_terminal_table_shows_values_as_postgresql_prints_them(tmp_path: Path, database: str) -> None:
    done = query(tmp_path, database, "select 'infinity'::date as d, '0044-03-15 BC'::date as bc, 1 as a, 2 as a, '[red]x[/red]' as m")
    assert done.code == 0, done.stderr
    assert "infinity" in done.stdout and "0044-03-15 BC" in done.stdout and "[red]x[/red]" in done.stdout
    assert done.stdout.count(" a ") == 2
    assert "(1 row)" in done.stdout


def test_no_rows_still_names_the_columns(tmp_path: Path, database: str) -> None:
    sql = "select 1 as first, 'x' as second where false"
    done = query(tmp_path, database, sql)
    assert done.code == 0, done.stderr
    assert " first " in done.stdout and " second " in done.stdout and "(0 rows)" in done.stdout
    done = query(tmp_path, database, sql, "--unaligned")
    assert done.code == 0 and done.stdout == ""


def test_a_large_result_streams_through(tmp_path: Path, database: str) -> None:
    done = query(tmp_path, database, "select g, md5(g::text) from generate_series(1, 200000) g", "--csv")
    assert done.code == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 200001 and lines[-1].startswith("200000,")
    done = query(tmp_path, database, "select g from generate_series(1, 2500) g")
    assert done.code == 0, done.stderr
    assert "(2500 rows)" in done.stdout and "2500" in done.stdout


def test_an_error_while_rows_stream_is_one_line_and_nothing_is_kept(tmp_path: Path, database: str) -> None:
    sql = "create table kept (x int);\nselect 1 / (g - 150000) from generate_series(1, 200000) g"
    done = query(tmp_path, database, sql, "--csv")
    assert done.code == 1
    assert done.stderr.strip().splitlines()[-1] == "error: <query>: division by zero"
    assert "Traceback" not in done.stderr
    with psycopg.connect(database) as conn:
        assert conn.execute("select to_regclass('kept')").fetchone() == (None,)


def test_errors_in_a_later_statement_name_its_line_and_column(tmp_path: Path, database: str) -> None:
    done = query(tmp_path, database, "select 1;\nselect nope from pg_class")
    assert done.code == 1
    assert 'error: <query>:2:8: column "nope" does not exist' in done.stderr


def test_file_runs_a_psql_script_with_meta_commands_and_stops_at_the_first_error(
    tmp_path: Path, database: str
) -> None:
    script = tmp_path / "report.sql"
    script.write_text("\\set n 3\ncreate table r (x int);\ninsert into r select generate_series(1, :n);\nselect count(*) from r;\n")
    done = query(tmp_path, database, "-f", str(script), "--unaligned")
    assert done.code == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "3"
    bad = tmp_path / "bad.sql"
    bad.write_text("create table b (x int);\nselect nope;\ncreate table c (x int);\n")
    done = query(tmp_path, database, "-f", str(bad))
    assert done.code == 1
    assert "nope" in done.stderr and "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    with psycopg.connect(database) as conn:  # one transaction: b rolled back, c never made
        assert conn.execute("select to_regclass('b'), to_regclass('c')").fetchone() == (None, None)


def read_then_close(tmp_path: Path, database: str, sql: str, lines: int) -> tuple[list[str], int, str]:
    """`nself db query --csv SQL` as a process whose reader takes `lines` lines and closes the
    pipe, as `| head` does: (the lines, the exit code, stderr)."""
    import os
    import sys

    reader = subprocess.Popen(
        [sys.executable, "-P", "-m", "nself", "db", "query", "--env", "dev", "--csv", sql],
        cwd=tmp_path,
        env={**os.environ, "NSELF_QUERY_URL": database, "NO_COLOR": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout is not None and reader.stderr is not None
    read = [reader.stdout.readline() for _ in range(lines)]
    reader.stdout.close()
    stderr = reader.stderr.read()
    return read, reader.wait(timeout=60), stderr


def test_a_reader_that_stops_early_gets_one_line_not_a_traceback(tmp_path: Path, database: str) -> None:
    (tmp_path / "nself.toml").write_text(CONFIG)
    # every statement's result, as psql prints them
    lines, code, stderr = read_then_close(
        tmp_path, database, "create table kept (x int); select g from generate_series(1, 200000) g", 2
    )
    assert lines == ["CREATE TABLE\n", "g\n"] and code == 1
    assert "broken pipe" in stderr and "rolled back" in stderr and "Traceback" not in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    with psycopg.connect(database) as conn:
        assert conn.execute("select to_regclass('kept')").fetchone() == (None,)


def test_a_reader_that_stops_early_on_the_libpq_path_gets_the_same_line(tmp_path: Path, database: str) -> None:
    """One query runs on libpq (nself.runtime.query_csv): a closed pipe ends it as it ends a
    script's run through psycopg, and what the query did is rolled back."""

    (tmp_path / "nself.toml").write_text(CONFIG)
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("create table seen (n int)")
        conn.execute("create function see(n int) returns int language sql as 'insert into seen values (n) returning n'")
    lines, code, stderr = read_then_close(tmp_path, database, "select see(g) from generate_series(1, 200000) g", 1)
    assert lines == ["see\n"] and code == 1
    assert "broken pipe" in stderr and "rolled back" in stderr and len(stderr.strip().splitlines()) == 1, stderr
    with psycopg.connect(database) as conn:
        assert conn.execute("select count(*) from seen").fetchone() == (0,)


def test_csv_is_answered_without_typer_or_rich_and_ends_as_the_typer_path_does(
    tmp_path: Path, database: str
) -> None:
    """`db query SQL --csv` skips the command tree (nself.cli.quick): the same bytes as psql,
    nothing of typer or rich imported, and for one query neither psycopg nor pglast (the COPY
    runs on libpq through nself.libpq); its errors are the typer path's (`-e` takes that path)."""
    (tmp_path / "nself.toml").write_text(CONFIG)
    env = {"NSELF_QUERY_URL": database, "PYTHONPROFILEIMPORTTIME": "1"}
    fast = run_nself_process("db", "query", "--env", "dev", AWKWARD, "--csv", cwd=tmp_path, env=env)
    assert fast.code == 0
    assert fast.stdout == psql(database, "--csv", "-c", AWKWARD)
    imported = {
        line.rsplit("|", 1)[-1].strip()
        for line in fast.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "nself.runtime.query_csv" in imported and "nself.libpq" in imported
    heavy = ("typer", "rich", "click", "psycopg", "psycopg_binary", "pglast")
    assert not {name for name in imported if name.split(".")[0] in heavy}, imported
    assert "nself.runtime.query" not in imported
    for sql, env_option in (("select 1/0", "dev"), ("select 1", "nope")):
        ours = run_nself_process(
            "db", "query", "--env", env_option, sql, "--csv", cwd=tmp_path, env={"NSELF_QUERY_URL": database}
        )
        typer_path = run_nself(
            "db", "query", "-e", env_option, sql, "--csv", cwd=tmp_path, env={"NSELF_QUERY_URL": database}
        )
        assert (ours.code, ours.stdout, ours.stderr) == (
            typer_path.code,
            typer_path.stdout,
            typer_path.stderr,
        )
        assert ours.code == 1 and ours.stderr.startswith("error: ") and ours.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["db", "query", "select 1", "--csv"], ("select 1", None)),
        (["db", "query", "--csv", "--env", "dev", "select 1"], ("select 1", "dev")),
        (["db", "query", "--env=dev", "select 1", "--csv"], ("select 1", "dev")),
        (["db", "query", "select 1"], None),  # the table: typer's path
        (["db", "query", "select 1", "--csv", "--json"], None),
        (["db", "query", "--csv", "-f", "x.sql"], None),
        (["db", "query", "select 1", "select 2", "--csv"], None),
        (["db", "query", "select 1", "--csv", "--csv"], None),
        (["db", "query", "select 1", "--csv", "--env"], None),
        (["db", "query", "--help", "--csv"], None),
        (["db", "dump", "--csv"], None),
    ],
)
def test_only_the_plain_csv_shape_takes_the_short_path(args: list[str], expected: object) -> None:
    from nself.cli.quick import query_csv_args

    assert query_csv_args(args) == expected


@pytest.mark.parametrize("sql", ["selec 1", "select 1; selec 2", "select 1;\n/* note */ selec 2"])
def test_a_statement_that_does_not_parse_reaches_the_server_and_fails(
    tmp_path: Path, database: str, sql: str
) -> None:
    """A misspelt statement ran nothing and exited 0 (the scanner's split dropped it); it is
    now sent and PostgreSQL's syntax error is the one line, exit 1, as psql would fail."""
    for options in ((), ("--csv",)):
        done = query(tmp_path, database, sql, *options)
        assert done.code == 1
        assert 'syntax error at or near "selec"' in done.stderr and done.stderr.count("\n") == 1
