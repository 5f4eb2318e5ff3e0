"""`nself types`, run as a user runs it: languages to stdout or a file, the outputs of
nself.toml [types] in one run, --check, --watch, and errors in one line. Sources are
migration files (the SQL frontend, no database)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.clitools import run_nself

INIT = """\
-- migrate:up
CREATE TYPE public.mood AS ENUM ('read-only', 'Guest User', '2fa_pending');
CREATE TABLE public.users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    "Display Name" text,
    mood public.mood NOT NULL DEFAULT 'read-only'
);
-- migrate:down
DROP TABLE public.users;
DROP TYPE public.mood;
"""

SECOND = """\
-- migrate:up
CREATE TABLE public.posts (id serial PRIMARY KEY, user_id bigint NOT NULL REFERENCES public.users (id));
-- migrate:down
DROP TABLE public.posts;
"""

CONFIG = """\
[types.typescript]
output = "types/db.ts"
with_relations = true

[types.python]
output = "py/models.py"
pydantic = true

[types.graphql]
output = "schema.graphql"
with_hasura = true
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    migrations = tmp_path / "nself" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "001_20240101_init.sql").write_text(INIT)
    return tmp_path


def test_language_to_stdout_reads_the_migrations_by_default(project: Path) -> None:
    done = run_nself("types", "typescript", cwd=project)
    assert done.code == 0, done.stderr
    assert 'export type Mood = "read-only" | "Guest User" | "2fa_pending";' in done.stdout
    assert "export type UsersInsert = {" in done.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["typescript", "--with-relations"], "export type UsersWithRelations = Users & {"),
        (["typescript", "--flavor", "kysely"], "  id: GeneratedAlways<Int8>;"),
        (["typescript", "--int8", "string"], "  id: string;"),
        (["typescript", "--flavor", "kysely", "--int8", "number"], "  id: GeneratedAlways<number>;"),
        (["python", "--pydantic"], "class Users(Model):"),
        (["python"], "@dataclass(frozen=True, kw_only=True)"),
        (["graphql", "--with-hasura"], "input users_bool_exp {"),
        (["graphql"], "type Users {"),
        (["go", "--package", "dbtypes"], "package dbtypes"),
        (["rust"], "pub struct Users"),
        (["swift"], "struct Users"),
    ],
)
def test_each_language_and_its_option(project: Path, args: list[str], expected: str) -> None:
    done = run_nself("types", *args, cwd=project)
    assert done.code == 0, done.stderr
    assert expected in done.stdout


def test_output_file_and_from(project: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "001_x.sql").write_text(SECOND.replace("REFERENCES public.users (id)", ""))
    done = run_nself("types", "typescript", "-o", "out/db.ts", "--from", "elsewhere", cwd=project)
    assert done.code == 0, done.stderr
    text = (project / "out" / "db.ts").read_text()
    assert "export type Posts = {" in text and "Users" not in text
    assert done.stdout == ""


def test_output_is_byte_identical_across_runs(project: Path) -> None:
    first = run_nself("types", "graphql", "--with-hasura", cwd=project)
    second = run_nself("types", "graphql", "--with-hasura", cwd=project)
    assert first.code == 0 and first.stdout == second.stdout


def test_configured_outputs_then_check(project: Path) -> None:
    (project / "nself.toml").write_text(CONFIG)
    done = run_nself("types", cwd=project)
    assert done.code == 0, done.stderr
    assert {"wrote types/db.ts", "wrote py/models.py", "wrote schema.graphql"} <= set(
        done.stderr.splitlines()
    )
    assert "export type UsersWithRelations = " in (project / "types" / "db.ts").read_text()
    assert "class Users(Model):" in (project / "py" / "models.py").read_text()

    again = run_nself("types", cwd=project)
    assert "unchanged types/db.ts" in again.stderr

    check = run_nself("types", "--check", cwd=project)
    assert check.code == 0, check.stderr

    (project / "nself" / "migrations" / "002_20240102_posts.sql").write_text(SECOND)
    (project / "schema.graphql").unlink()
    stale = run_nself("types", "--check", cwd=project)
    assert stale.code == 1
    assert set(stale.stderr.splitlines()) == {
        "stale: types/db.ts",
        "stale: py/models.py",
        "stale: schema.graphql",
    }
    assert not (project / "schema.graphql").exists()  # --check writes nothing


def test_check_of_one_language(project: Path) -> None:
    assert run_nself("types", "python", "-o", "m.py", cwd=project).code == 0
    assert run_nself("types", "python", "-o", "m.py", "--check", cwd=project).code == 0
    changed = run_nself("types", "python", "--pydantic", "-o", "m.py", "--check", cwd=project)
    assert changed.code == 1 and "stale: m.py" in changed.stderr


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('[types.cobol]\noutput = "x"\n', "nself.toml:1:1: types.cobol: unknown language"),
        ("[types.typescript]\nwith_relations = true\n", "types.typescript.output must be a file path"),
        (
            '[types.typescript]\noutput = "x.ts"\nrelations = true\n',
            "nself.toml:3:1: types.typescript.relations: unknown option",
        ),
        ('[types.python]\noutput = "x.py"\npydantic = "yes"\n', "types.python.pydantic must be a bool"),
    ],
)
def test_configuration_errors_point_at_nself_toml(project: Path, config: str, message: str) -> None:
    (project / "nself.toml").write_text(config)
    done = run_nself("types", cwd=project)
    assert done.code == 1
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--flavor", "prisma"], "typescript option flavor = 'prisma': one of supabase, kysely"),
        (["--int8", "float"], "typescript option int8 = 'float': one of number, string, bigint"),
    ],
)
def test_typescript_option_errors_are_one_line(project: Path, args: list[str], message: str) -> None:
    done = run_nself("types", "typescript", *args, cwd=project)
    assert done.code == 1
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_typescript_options_from_nself_toml(project: Path) -> None:
    (project / "nself.toml").write_text(
        '[types.typescript]\noutput = "db.ts"\nflavor = "kysely"\nnumeric = "number"\nrelationships = false\n'
    )
    done = run_nself("types", cwd=project)
    assert done.code == 0, done.stderr
    assert "export interface DB {" in (project / "db.ts").read_text()
    assert run_nself("types", "--check", cwd=project).code == 0


def test_no_configured_outputs(project: Path) -> None:
    done = run_nself("types", cwd=project)
    assert done.code == 1 and "no outputs configured" in done.stderr


def test_broken_migration_is_one_line_with_its_position(project: Path) -> None:
    (project / "nself" / "migrations" / "002_20240102_bad.sql").write_text(
        "-- migrate:up\nCREATE TABLE broken (\n"
    )
    done = run_nself("types", "typescript", cwd=project)
    assert done.code == 1
    assert done.stderr.startswith("error: ") and "002_20240102_bad.sql:" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------------- watch


class Watcher:
    """`nself types --watch` in a subprocess, its stderr lines in a queue."""

    def __init__(self, cwd: Path) -> None:
        environ = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
        self.process = subprocess.Popen(
            [sys.executable, "-P", "-m", "nself", "types", "--watch"],
            cwd=cwd,
            env=environ,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line.rstrip("\n"))

    def next_line(self, timeout: float = 30) -> str:
        return self.lines.get(timeout=timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def test_watch_regenerates_and_survives_a_broken_file(project: Path) -> None:
    (project / "nself.toml").write_text(CONFIG)
    watcher = Watcher(project)
    try:
        assert watcher.next_line().startswith("watching ")
        first = watcher.next_line()
        assert first.startswith(
            "regenerated types/db.ts, py/models.py, schema.graphql in "
        ) and first.endswith(" ms")
        time.sleep(0.3)
        (project / "nself" / "migrations" / "002_20240102_posts.sql").write_text(SECOND)
        assert watcher.next_line().startswith("regenerated types/db.ts, py/models.py, schema.graphql in ")
        assert "export type Posts = {" in (project / "types" / "db.ts").read_text()

        bad = project / "nself" / "migrations" / "003_20240103_bad.sql"
        bad.write_text("-- migrate:up\nCREATE TABLE broken (\n")
        error = watcher.next_line()
        assert error.startswith("error: ") and "003_20240103_bad.sql:" in error

        bad.write_text("-- migrate:up\nCREATE TABLE fixed (id integer);\n")
        assert watcher.next_line().startswith("regenerated ")
        assert "export type Fixed = {" in (project / "types" / "db.ts").read_text()
        assert watcher.process.poll() is None
    finally:
        watcher.stop()


def test_watch_prints_the_warnings_a_one_shot_run_prints(project: Path) -> None:
    """The Go rename warning of a column no json tag can name, in every round of --watch
    (a round that reuses the text warns as the render did)."""
    (project / "nself.toml").write_text('[types.go]\noutput = "models/db.go"\n')
    (project / "nself" / "migrations" / "002_20240102_odd.sql").write_text(
        '-- migrate:up\nCREATE TABLE public.odd (id int, "a,b" text);\n-- migrate:down\nDROP TABLE public.odd;\n'
    )
    watcher = Watcher(project)
    try:
        assert watcher.next_line().startswith("watching ")
        warning = watcher.next_line()
        assert "warning" in warning and "the name 'a,b' cannot be a Go json tag" in warning, warning
        assert watcher.next_line().startswith("regenerated models/db.go in ")
        time.sleep(0.3)
        (project / "nself" / "migrations" / "003_20240103_more.sql").write_text(
            "-- migrate:up\nCREATE TABLE public.more (id int);\n"
        )
        assert "the name 'a,b' cannot be a Go json tag" in watcher.next_line()
        assert watcher.next_line().startswith("regenerated models/db.go in ")
    finally:
        watcher.stop()


def test_watch_needs_a_file_source(project: Path) -> None:
    (project / "nself.toml").write_text('[types]\nsource = "local"\n\n[types.typescript]\noutput = "db.ts"\n')
    done = run_nself("types", "--watch", cwd=project)
    assert done.code == 1 and "watch needs a migrations directory" in done.stderr


def test_from_a_database_url(project: Path, database: str) -> None:
    from tests.conftest import run_sql

    run_sql(database, "CREATE TABLE public.live_only (id integer PRIMARY KEY, note text);")
    done = run_nself("types", "python", "--pydantic", "--from", database, cwd=project)
    assert done.code == 0, done.stderr
    assert "class LiveOnly(Model):" in done.stdout and "class Users" not in done.stdout


def test_one_language_honours_its_nself_toml_options(project: Path) -> None:
    (project / "nself.toml").write_text(CONFIG + '\n[types.go]\noutput = "models/db.go"\npackage = "store"\n')
    assert run_nself("types", cwd=project).code == 0
    # The configured file, named by -o: the same options, so a fresh file is not stale.
    for language, path in [
        ("typescript", "types/db.ts"),
        ("python", "py/models.py"),
        ("graphql", "schema.graphql"),
        ("go", "models/db.go"),
    ]:
        check = run_nself("types", language, "-o", path, "--check", cwd=project)
        assert check.code == 0, (language, check.stderr)
    # Without -o: the configured options too.
    assert "package store" in run_nself("types", "go", cwd=project).stdout
    assert "class Users(Model):" in run_nself("types", "python", cwd=project).stdout
    # Another file: only the command line's options.
    assert run_nself("types", "go", "-o", "other.go", cwd=project).code == 0
    assert "package models" in (project / "other.go").read_text()
    # The command line wins over nself.toml.
    over = run_nself("types", "go", "--package", "x", "-o", "models/db.go", "--check", cwd=project)
    assert over.code == 1 and "stale: models/db.go" in over.stderr


def test_go_renames_a_column_no_json_tag_can_name_with_a_warning(project: Path) -> None:
    (project / "nself" / "migrations" / "002_20240102_odd.sql").write_text(
        '-- migrate:up\nCREATE TABLE public.odd (id int, "a,b" text);\n-- migrate:down\nDROP TABLE public.odd;\n'
    )
    done = run_nself("types", "go", cwd=project)
    assert done.code == 0, done.stderr
    assert '`json:"a_b"`' in done.stdout
    lines = [line for line in done.stderr.splitlines() if "warning" in line]
    assert len(lines) == 1 and "table public.odd: the name 'a,b' cannot be a Go json tag" in lines[0]


ARRAYS = """\
-- migrate:up
CREATE TABLE public.grids (id integer PRIMARY KEY, cells integer[][], flat integer[] CHECK (array_ndims(flat) = 1));
-- migrate:down
DROP TABLE public.grids;
"""


def test_arrays_option_from_the_command_line_and_nself_toml(project: Path) -> None:
    """Arrays admit any dimension unless a CHECK fixes it; `arrays = "declared"` in [types]
    (every output) or [types.<lang>] (which wins), or --arrays, keeps the declared ones."""
    (project / "nself" / "migrations" / "002_20240102_arrays.sql").write_text(ARRAYS)
    default = run_nself("types", "typescript", cwd=project)
    assert "  cells: PgArray<number | null> | null;" in default.stdout
    assert "  flat: (number | null)[] | null;" in default.stdout  # the CHECK fixes one dimension
    declared = run_nself("types", "rust", "--arrays", "declared", cwd=project)
    assert "    pub cells: Option<Vec<Vec<Option<i32>>>>," in declared.stdout, declared.stderr
    bad = run_nself("types", "go", "--arrays", "nested", cwd=project)
    assert bad.code == 1 and "go option arrays = 'nested': one of any, declared" in bad.stderr
    (project / "nself.toml").write_text(
        '[types]\narrays = "declared"\n\n[types.go]\noutput = "db.go"\n\n'
        '[types.python]\noutput = "db.py"\narrays = "any"\n'
    )
    assert run_nself("types", cwd=project).code == 0
    assert "\tCells [][]*int32" in (project / "db.go").read_text()
    assert "    cells: PgArray[int | None] | None" in (project / "db.py").read_text()
    assert run_nself("types", "go", "-o", "db.go", "--check", cwd=project).code == 0
    (project / "nself.toml").write_text('[types]\narrays = 1\n\n[types.go]\noutput = "db.go"\n')
    done = run_nself("types", cwd=project)
    assert done.code == 1 and "nself.toml:2:1: types.arrays must be a str" in done.stderr
