"""`nself db inspect` and `nself schema indexes` through the real CLI, on real databases."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from tests.clitools import Result, run_nself
from tests.conftest import run_sql

PASSWORD = "inspect-Pa55word"
VARIABLE = "NSELF_TEST_INSPECT_URL"

SCHEMA = """
CREATE TABLE authors (id int PRIMARY KEY, name text);
CREATE TABLE books (id int PRIMARY KEY, author_id int REFERENCES authors (id), title text);
CREATE INDEX books_title_idx ON books (title) WHERE title IS NOT NULL;
INSERT INTO authors SELECT g, 'a' || g FROM generate_series(1, 100) g;
ANALYZE;
"""


def with_password(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{PASSWORD}@{parts.hostname}:{parts.port}"))


def nself(tmp_path: Path, url: str, *args: str) -> Result:
    """Run nself in a project whose `staging` environment is `url` (with a password,
    which trust authentication ignores and no output may show)."""
    (tmp_path / "nself.toml").write_text(f'[environments.staging]\nurl = "env:{VARIABLE}"\n')
    result = run_nself(*args, cwd=tmp_path, env={VARIABLE: with_password(url)})
    assert PASSWORD not in result.stdout + result.stderr
    return result


def test_unused_indexes_table_and_json(tmp_path: Path, database: str) -> None:
    run_sql(database, SCHEMA)
    table = nself(tmp_path, database, "db", "inspect", "unused-indexes", "--env", "staging")
    assert table.code == 0, table.stderr
    assert "books_title_idx" in table.stdout and "authors_pkey" not in table.stdout
    data = json.loads(
        nself(tmp_path, database, "db", "inspect", "unused-indexes", "--env", "staging", "--json").stdout
    )
    assert [i["index"] for i in data["indexes"]] == ["books_title_idx"]
    # `schema indexes --unused` is the same report.
    same = nself(tmp_path, database, "schema", "indexes", "--from", "staging", "--unused", "--json")
    assert json.loads(same.stdout) == data


# Autovacuum's workers hold locks too (an ANALYZE of the new tables, once in CI): off for
# the tables of a test that expects no other session's locks.
NO_AUTOVACUUM = """DO $$ DECLARE t regclass; BEGIN
  FOR t IN SELECT oid FROM pg_class WHERE relkind IN ('r', 'm') AND relnamespace = 'public'::regnamespace LOOP
    EXECUTE format('ALTER TABLE %s SET (autovacuum_enabled = false)', t);
  END LOOP; END $$"""


def test_cache_hit_bloat_and_locks_json(tmp_path: Path, database: str) -> None:
    run_sql(database, SCHEMA + ";\n" + NO_AUTOVACUUM)
    cache = json.loads(
        nself(tmp_path, database, "db", "inspect", "cache-hit", "--env", "staging", "--json").stdout
    )
    assert set(cache) == {"database", "table_ratio", "index_ratio", "tables", "databases"}
    bloat = nself(tmp_path, database, "db", "inspect", "bloat", "--env", "staging", "--json", "--limit", "2")
    rows = json.loads(bloat.stdout)
    assert len(rows) == 2 and {"kind", "name", "size_bytes", "wasted_bytes", "ratio"} <= set(rows[0])
    locks = nself(tmp_path, database, "db", "inspect", "locks", "--env", "staging", "--json")
    assert locks.code == 0 and json.loads(locks.stdout) == []
    quiet = nself(tmp_path, database, "db", "inspect", "locks", "--env", "staging")
    assert quiet.stdout.strip() == "no locks held by other sessions"


def test_slow_queries_without_the_extension_says_how_and_succeeds(tmp_path: Path, database: str) -> None:
    human = nself(tmp_path, database, "db", "inspect", "slow-queries", "--env", "staging")
    assert human.code == 0, human.stderr
    assert len(human.stdout.strip().splitlines()) == 1
    assert (
        "shared_preload_libraries" in human.stdout and "CREATE EXTENSION pg_stat_statements" in human.stdout
    )
    data = json.loads(
        nself(tmp_path, database, "db", "inspect", "slow-queries", "--env", "staging", "--json").stdout
    )
    assert data["available"] is False and data["queries"] == []
    bad = nself(tmp_path, database, "db", "inspect", "slow-queries", "--env", "staging", "--order", "max")
    assert bad.code == 1 and bad.stderr.startswith("error: --order")


def test_schema_indexes_offline_and_live_agree(tmp_path: Path, database: str) -> None:
    schema = tmp_path / "schema.sql"
    schema.write_text(SCHEMA)
    offline = json.loads(run_nself("schema", "indexes", "--from", str(schema), "--json", cwd=tmp_path).stdout)
    run_sql(database, SCHEMA)
    live = json.loads(nself(tmp_path, database, "schema", "indexes", "--from", "staging", "--json").stdout)
    with psycopg.connect(database) as conn:
        oracle = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY tablename, indexname"
        ).fetchall()
    assert [(i["name"], i["definition"]) for i in live] == oracle
    assert [(i["name"], i["definition"]) for i in offline] == oracle
    assert all(i["size_bytes"] is None for i in offline) and all(i["size_bytes"] > 0 for i in live)
    table = run_nself("schema", "indexes", "--from", str(schema), cwd=tmp_path)
    assert "books_title_idx" in table.stdout and "partial" in table.stdout and "primary" in table.stdout


def test_missing_lists_the_foreign_key_and_postgresql_accepts_the_fix(tmp_path: Path, database: str) -> None:
    migrations = tmp_path / "nself" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "001_20260101_init.sql").write_text(f"-- migrate:up\n{SCHEMA}\n-- migrate:down\n")
    human = run_nself("schema", "indexes", "--from", "nself/migrations", "--missing", cwd=tmp_path)
    assert human.code == 0, human.stderr
    suggestion = "CREATE INDEX books_author_id_idx ON public.books (author_id);"
    assert "public.books (author_id) -> public.authors(id)" in human.stdout and suggestion in human.stdout
    assert "need a live database" in human.stdout
    run_sql(database, SCHEMA)
    live = json.loads(
        nself(tmp_path, database, "schema", "indexes", "--from", "staging", "--missing", "--json").stdout
    )
    assert [fk["suggestion"] for fk in live["foreign_keys"]] == [suggestion]
    assert live["seq_scan_tables"] == []
    run_sql(database, suggestion)
    after = json.loads(
        nself(tmp_path, database, "schema", "indexes", "--from", "staging", "--missing", "--json").stdout
    )
    assert after["foreign_keys"] == []


def test_bad_sources_and_unreachable_servers_are_one_line(tmp_path: Path) -> None:
    schema = tmp_path / "schema.sql"
    schema.write_text(SCHEMA)
    offline = run_nself("schema", "indexes", "--from", str(schema), "--unused", cwd=tmp_path)
    assert offline.code == 1 and offline.stderr.count("\n") == 1
    assert "--unused needs a live database" in offline.stderr
    unreachable = f"postgresql://someone:{PASSWORD}@127.0.0.1:1/nowhere"
    for args in (["db", "inspect", "locks", "--env", "staging"], ["schema", "indexes", "--from", "staging"]):
        result = nself(tmp_path, unreachable, *args)
        assert result.code == 1 and result.stdout == ""
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: cannot connect to")
        assert "someone:***@127.0.0.1" in result.stderr


def test_names_that_look_like_markup_are_printed_as_they_are(tmp_path: Path, database: str) -> None:
    run_sql(database, 'CREATE TABLE "t[bold]" (a int); CREATE INDEX "i[red]x" ON "t[bold]" (a);')
    result = nself(tmp_path, database, "db", "inspect", "unused-indexes", "--env", "staging")
    assert "i[red]x" in result.stdout and 'public."t[bold]"' in result.stdout
    listed = nself(tmp_path, database, "schema", "indexes", "--from", "staging")
    assert 'CREATE INDEX "i[red]x" ON public."t[bold]" USING btree (a)' in listed.stdout


def test_locks_name_the_waiting_session_and_its_blocker(tmp_path: Path, database: str) -> None:
    run_sql(database, "CREATE TABLE accounts (id int);")
    with psycopg.connect(database) as holder, psycopg.connect(database, autocommit=True) as waiter:
        holder_pid, waiter_pid = holder.info.backend_pid, waiter.info.backend_pid
        holder.execute("LOCK TABLE accounts IN SHARE MODE")
        thread = threading.Thread(target=lambda: waiter.execute("INSERT INTO accounts VALUES (1)"))
        thread.start()
        try:
            with psycopg.connect(database, autocommit=True) as observer:
                while not observer.execute("SELECT pg_blocking_pids(%s)", (waiter_pid,)).fetchone()[0]:  # type: ignore[index]
                    pass
            data = json.loads(
                nself(tmp_path, database, "db", "inspect", "locks", "--env", "staging", "--json").stdout
            )
            table = nself(tmp_path, database, "db", "inspect", "locks", "--env", "staging")
        finally:
            holder.rollback()
            thread.join()
    waiting = [lock for lock in data if not lock["granted"]]
    assert [(w["pid"], w["blocked_by"], w["mode"], w["relation"]) for w in waiting] == [
        (waiter_pid, [holder_pid], "RowExclusiveLock", "public.accounts")
    ]
    first = table.stdout.splitlines()[1].split()
    assert first[:3] == [str(waiter_pid), str(holder_pid), "relation"]


def test_every_report_prints_a_table_and_json(
    tmp_path: Path, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process (typer's runner: 22 subprocesses would take half a minute)."""
    from typer.testing import CliRunner

    from nself.cli.main import app

    run_sql(database, SCHEMA)
    (tmp_path / "nself.toml").write_text(f'[environments.staging]\nurl = "env:{VARIABLE}"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(VARIABLE, with_password(database))
    runner = CliRunner()

    def invoke(*args: str) -> str:
        result = runner.invoke(app, ["db", "inspect", *args, "--env", "staging"], env={"COLUMNS": "200", "NO_COLOR": "1"})
        assert result.exit_code == 0, (args, result.output)
        assert PASSWORD not in result.output
        return result.output

    for name in (
        "table-sizes", "total-table-size", "index-sizes", "total-index-size", "table-record-counts",
        "seq-scans", "vacuum-stats", "long-running-queries", "blocking", "role-connections",
        "replication-slots",
    ):
        assert invoke(name).strip(), name
        assert isinstance(json.loads(invoke(name, "--json")), list), name
    sizes = json.loads(invoke("total-table-size", "--json"))
    with psycopg.connect(database) as conn:
        oracle = conn.execute(
            "SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relname IN ('authors', 'books')"
        ).fetchall()
    assert {r["name"]: r["size_bytes"] for r in sizes} == dict(oracle)
    assert len(json.loads(invoke("index-sizes", "--json", "-n", "1"))) == 1
    table = invoke("total-table-size")
    assert table.splitlines()[0].split() == ["schema", "name", "size"]


def test_report_writes_a_folder(tmp_path: Path, database: str) -> None:
    run_sql(database, SCHEMA)
    out = tmp_path / "audit"
    done = nself(tmp_path, database, "db", "inspect", "report", "--env", "staging", "-o", str(out), "--json")
    assert done.code == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["format"] == "csv" and isinstance(summary["duration_ms"], int)
    assert {Path(r["path"]).name for r in summary["reports"]} == {p.name for p in out.iterdir()}
    assert "table-record-counts.csv" in {p.name for p in out.iterdir()}
    bad = nself(tmp_path, database, "db", "inspect", "report", "--env", "staging", "--format", "xml")
    assert bad.code == 1 and bad.stderr.startswith("error: --format") and "Traceback" not in bad.stderr


def test_statements_work_on_a_fresh_managed_project(tmp_path: Path) -> None:
    """The managed cluster preloads pg_stat_statements and installs it in a database of
    its own: `calls`, `outliers` and `slow-queries` read the project's statements from
    there, and the project's own schema has no extension it did not ask for."""
    from nself.runtime.cluster import free_port

    tmp_path.chmod(0o755)
    assert run_nself("init", cwd=tmp_path).code == 0
    config = tmp_path / "nself.toml"
    config.write_text(config.read_text().replace("port = 54329", f"port = {free_port()}"))
    try:
        started = run_nself("db", "start", "--json", cwd=tmp_path)
        assert started.code == 0, started.stderr
        status_url = json.loads(run_nself("db", "status", "--json", cwd=tmp_path).stdout)["url"]
        with psycopg.connect(status_url, autocommit=True) as conn:
            database = conn.execute("SELECT current_database()").fetchone()
            for _ in range(4):
                conn.execute("SELECT 41 + 1 AS answer_for_inspect")
            assert conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'").fetchone() == (0,)
        assert database is not None
        calls = json.loads(run_nself("db", "inspect", "calls", "--json", "-n", "100", cwd=tmp_path).stdout)
        assert calls["available"] is True, calls
        mine = [q for q in calls["queries"] if "answer_for_inspect" in q["query"]]
        with psycopg.connect(status_url.rsplit("/", 1)[0] + "/nself_stats") as conn:
            oracle = conn.execute(
                "SELECT calls FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
                " WHERE d.datname = %s AND query LIKE %s",
                (database[0], "%answer_for_inspect%"),
            ).fetchone()
        assert oracle is not None and [q["calls"] for q in mine] == [oracle[0]] == [4]
        outliers = run_nself("db", "inspect", "outliers", cwd=tmp_path)
        assert outliers.code == 0 and "total ms" in outliers.stdout
    finally:
        run_nself("db", "stop", cwd=tmp_path)


def test_help_shows_flags_bare_and_completion_script() -> None:
    here = Path(__file__).parent
    helptext = run_nself("db", "lint", "--help", cwd=here).stdout
    assert "--json" in helptext and "<bool>" not in helptext
    script = run_nself("--show-completion", "bash", cwd=here)
    assert script.code == 0 and "complete -o default -F _nself_completion nself" in script.stdout
    completed = run_nself("db", "ins", cwd=here, env={"_NSELF_COMPLETE": "complete_bash", "COMP_WORDS": "nself db ins", "COMP_CWORD": "2"})
    assert completed.stdout.split() == ["inspect"]
