"""`nself schema diff` through the real CLI, on real databases."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from tests.clitools import run_nself, run_nself_process
from tests.conftest import NewDatabase, run_sql

PASSWORD = "diff-Pa55word"


def with_password(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{PASSWORD}@{parts.hostname}:{parts.port}"))


def make(new_database: NewDatabase, sql: str) -> str:
    url = new_database("diffcli")
    run_sql(url, sql)
    return with_password(url)


A_SQL = "CREATE TABLE t (id int PRIMARY KEY, gone text); CREATE VIEW v AS SELECT id FROM t;"
B_SQL = (
    "CREATE TABLE t (id int PRIMARY KEY, added int NOT NULL DEFAULT 0); CREATE VIEW v AS SELECT id FROM t;"
)


def test_two_urls_print_sql_warn_and_mask(tmp_path: Path, new_database: NewDatabase) -> None:
    a, b = make(new_database, A_SQL), make(new_database, B_SQL)
    result = run_nself("schema", "diff", a, b, cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert "ALTER TABLE public.t ADD COLUMN added integer DEFAULT 0 NOT NULL;" in result.stdout
    assert "-- destructive: drops column public.t.gone" in result.stdout
    assert "destructive" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert ":***@" in result.stdout  # the header names both sides, masked
    # The printed SQL really turns A into B.
    with psycopg.connect(a, autocommit=True) as conn:
        conn.execute(result.stdout.encode())
    assert run_nself("schema", "diff", a, b, "--exit-code", cwd=tmp_path).code == 0


def test_exit_code(tmp_path: Path, new_database: NewDatabase) -> None:
    a, b = make(new_database, A_SQL), make(new_database, A_SQL)
    same = run_nself("schema", "diff", a, b, "--exit-code", cwd=tmp_path)
    assert same.code == 0 and same.stdout == ""
    assert "no differences" in same.stderr
    c = make(new_database, B_SQL)
    assert run_nself("schema", "diff", a, c, "--exit-code", cwd=tmp_path).code == 1


def test_create_migration_from_migrations_dir(tmp_path: Path, new_database: NewDatabase) -> None:
    (tmp_path / "nself.toml").write_text('[environments.staging]\nurl = "env:NSELF_TEST_DIFF_STAGING"\n')
    migrations = tmp_path / "nself" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "001_20260101_init.sql").write_text(
        "-- migrate:up\nCREATE TABLE t (id int PRIMARY KEY, gone text);\n-- migrate:down\nDROP TABLE t;\n"
    )
    staging = make(new_database, B_SQL)
    env = {"NSELF_TEST_DIFF_STAGING": staging}
    result = run_nself(
        "schema",
        "diff",
        "nself/migrations",
        "staging",
        "--create-migration",
        "Add added!",
        cwd=tmp_path,
        env=env,
    )
    assert result.code == 0, result.stderr
    day = dt.date.today().strftime("%Y%m%d")
    written = migrations / f"002_{day}_add_added.sql"
    assert written.is_file(), sorted(p.name for p in migrations.iterdir())
    text = written.read_text()
    up, down = text.split("-- migrate:up\n", 1)[1].split("-- migrate:down\n")
    assert "CREATE VIEW public.v" in up and "ADD COLUMN added" in up
    assert "DROP VIEW public.v;" in down and "ADD COLUMN gone text" in down
    assert PASSWORD not in result.stdout + result.stderr + text
    # Applying every migration now gives staging's schema.
    again = run_nself("schema", "diff", "nself/migrations", "staging", "--exit-code", cwd=tmp_path, env=env)
    assert again.code == 0, again.stdout + again.stderr


def test_reorder_columns(tmp_path: Path, new_database: NewDatabase) -> None:
    a = make(new_database, "CREATE TABLE t (id int PRIMARY KEY, b text); INSERT INTO t VALUES (1, 'one');")
    b = make(new_database, "CREATE TABLE t (id int PRIMARY KEY, a int DEFAULT 0, b text);")
    plain = run_nself("schema", "diff", a, b, cwd=tmp_path)
    assert plain.code == 0, plain.stderr
    assert "ADD COLUMN a" in plain.stdout and "--reorder-columns" in plain.stderr  # the note says how
    result = run_nself("schema", "diff", a, b, "--reorder-columns", cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert "-- rebuild: public.t is created anew" in result.stdout and "kept" in result.stdout
    assert "ACCESS EXCLUSIVE" in result.stdout
    with psycopg.connect(a, autocommit=True) as conn:
        conn.execute(result.stdout.encode())
        assert conn.execute("SELECT * FROM t").fetchall() == [(1, 0, "one")]
    assert run_nself("schema", "diff", a, b, "--exit-code", cwd=tmp_path).code == 0
    helped = run_nself("schema", "diff", "--help", cwd=tmp_path)
    assert "--reorder-columns" in helped.stdout and "ACCESS EXCLUSIVE" in helped.stdout


# --------------------------------------------------------------------------- extensions (issue 12 #15)

PARTMAN_SQL = (
    "CREATE SCHEMA partman; CREATE EXTENSION pg_partman SCHEMA partman; "
    "CREATE TABLE public.events (id bigint, at timestamptz NOT NULL) PARTITION BY RANGE (at);"
)


def test_live_database_against_its_migration_file_keeps_an_extension_outside_the_snapshot(
    tmp_path: Path, new_database: NewDatabase
) -> None:
    """pg_partman is not in the catalog snapshot: read offline it has no known version or
    comment, which compares as unknown. Dropping and creating it again would destroy its
    configuration tables (partman.part_config)."""
    live = make(
        new_database,
        PARTMAN_SQL + " INSERT INTO partman.part_config (parent_table, control, "
        "partition_interval, partition_type) VALUES ('public.events', 'at', '1 month', 'native');",
    )
    structure = tmp_path / "structure.sql"
    structure.write_text(PARTMAN_SQL + "\n", encoding="utf-8")
    for first, second in ((live, str(structure)), (str(structure), live)):
        result = run_nself("schema", "diff", first, second, "--exit-code", cwd=tmp_path)
        assert result.code == 0, result.stdout + result.stderr
        assert "EXTENSION" not in result.stdout, result.stdout


def test_dropping_an_extension_that_owns_tables_says_so(tmp_path: Path, new_database: NewDatabase) -> None:
    live = make(new_database, PARTMAN_SQL)
    plain = make(new_database, "CREATE SCHEMA partman; " + PARTMAN_SQL.split("; ", 2)[2])
    result = run_nself("schema", "diff", live, plain, cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert "DROP EXTENSION pg_partman;" in result.stdout
    line = next(
        x for x in result.stdout.splitlines() if x.startswith("-- destructive: drops extension pg_partman")
    )
    assert "partman.part_config" in line, line
    assert "partman.part_config" in " ".join(result.stderr.split()), result.stderr


def test_an_extension_version_change_is_an_update_never_a_drop(
    tmp_path: Path, new_database: NewDatabase
) -> None:
    old = make(new_database, "CREATE EXTENSION pg_trgm VERSION '1.5';")
    new = make(new_database, "CREATE EXTENSION pg_trgm VERSION '1.6';")
    up = run_nself("schema", "diff", old, new, cwd=tmp_path)
    assert up.code == 0, up.stderr
    assert "ALTER EXTENSION pg_trgm UPDATE TO '1.6';" in up.stdout
    down = run_nself("schema", "diff", new, old, cwd=tmp_path)
    assert down.code == 0, down.stderr
    assert "ALTER EXTENSION pg_trgm UPDATE TO '1.5';" in down.stdout
    assert "DROP EXTENSION" not in up.stdout + down.stdout


def test_create_migration_refuses_while_migrations_are_pending(
    tmp_path: Path, new_database: NewDatabase
) -> None:
    """The migrations directory ahead of the database: the new migration would undo the
    pending one, so --create-migration says so and writes nothing."""
    (tmp_path / "nself.toml").write_text('[environments.staging]\nurl = "env:NSELF_TEST_DIFF_STAGING"\n')
    migrations = tmp_path / "nself" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "001_20260101_init.sql").write_text(
        "-- migrate:up\nCREATE TABLE t (id int PRIMARY KEY);\n-- migrate:down\nDROP TABLE t;\n"
    )
    staging = make(new_database, "")
    env = {"NSELF_TEST_DIFF_STAGING": staging, "NSELF_ENV": "staging"}
    applied = run_nself("db", "migrate", cwd=tmp_path, env=env)
    assert applied.code == 0, applied.stderr
    (migrations / "002_20260102_posts.sql").write_text(
        "-- migrate:up\nCREATE TABLE posts (id int);\n-- migrate:down\nDROP TABLE posts;\n"
    )
    run_sql(staging, "ALTER TABLE t ADD COLUMN by_hand text;")
    before = sorted(p.name for p in migrations.iterdir())
    result = run_nself("schema", "diff", "--create-migration", "by_hand", cwd=tmp_path, env=env)
    assert result.code != 0, result.stdout + result.stderr
    assert "pending" in result.stderr and "002_20260102_posts" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in migrations.iterdir()) == before
    # once applied, the hand change is captured (and nothing of 002 undone)
    assert run_nself("db", "migrate", cwd=tmp_path, env=env).code == 0
    result = run_nself("schema", "diff", "--create-migration", "by_hand", cwd=tmp_path, env=env)
    assert result.code == 0, result.stderr
    (written,) = [p for p in migrations.iterdir() if p.name not in before]
    up = written.read_text().split("-- migrate:up\n", 1)[1].split("-- migrate:down\n")[0]
    assert "by_hand" in up and "posts" not in up


def test_a_plain_diff_runs_without_the_command_tree_and_says_the_same(
    tmp_path: Path, new_database: NewDatabase
) -> None:
    """`nself schema diff A B [flags]` is run by the entry point without typer, click or rich
    (nself.cli.quick): the same output, warnings, errors and exit codes as the command of
    the tree (which runs it with --debug, or with any option the plain path leaves to it)."""
    import subprocess
    import sys

    a, b = make(new_database, A_SQL), make(new_database, B_SQL)
    missing = a.rsplit("/", 1)[0] + "/no_such_database"
    for args in (
        [a, b],
        [a, b, "--exit-code"],
        [a, a, "--exit-code"],
        [b, a, "--reorder-columns"],
        [missing, a],
    ):
        plain = run_nself_process("schema", "diff", *args, cwd=tmp_path)
        tree = run_nself("--debug", "schema", "diff", *args, cwd=tmp_path) if args[0] != missing else None
        if tree is not None:
            assert (plain.code, plain.stdout, plain.stderr) == (tree.code, tree.stdout, tree.stderr), args
        else:  # an error: one line, masked, exit 1 (--debug would show the traceback)
            assert plain.code == 1 and plain.stderr.startswith("error: ") and plain.stderr.count("\n") == 1
            assert PASSWORD not in plain.stderr
    done = subprocess.run(
        [sys.executable, "-P", "-X", "importtime", "-m", "nself", "schema", "diff", a, a],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert not imported & {"typer", "click", "nself.cli.main"}
    assert "no differences" in done.stderr


def test_a_plain_schema_show_says_what_the_command_tree_says(
    tmp_path: Path, new_database: NewDatabase
) -> None:
    """`nself schema show` with plain options is run without typer (nself.cli.quick): the same
    output, file, warnings and errors as the command of the tree (run with --debug)."""
    a = make(new_database, A_SQL)
    for args in (
        ["--from", a],
        ["--format", "json", "--from", a],
        ["-f", "dbml", f"--from={a}"],
        ["--from", a, "-o", "out/schema.sql", "--format=sql"],
    ):
        plain = run_nself_process("schema", "show", *args, cwd=tmp_path)
        written = (tmp_path / "out" / "schema.sql").read_text() if "-o" in args else None
        tree = run_nself("--debug", "schema", "show", *args, cwd=tmp_path)
        assert (plain.code, plain.stdout, plain.stderr) == (tree.code, tree.stdout, tree.stderr), args
        if written is not None:
            assert (
                written == (tmp_path / "out" / "schema.sql").read_text()
                and "CREATE TABLE public.t" in written
            )
    assert run_nself("schema", "show", "--format", "bogus", "--from", a, cwd=tmp_path).stderr.startswith(
        "error: --format: 'bogus'"
    )
