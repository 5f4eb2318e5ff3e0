"""nself.runtime.codegen in-process: [types] parsing, staleness, one regeneration round,
and which file changes wake the watcher. Sources are IR JSON files (no database)."""

from __future__ import annotations

import pickle
import threading
import time
from pathlib import Path

import pytest

from nself.errors import OptionError, SourceError
from nself.frontends.sql_cache import read_entry, write_entry
from nself.ir import CatalogBuilder, catalog_to_json
from nself.ir.model import Column, Schema, Table
from nself.runtime import codegen
from nself.runtime.project import load_project


def write_catalog(path: Path, *tables: str) -> None:
    builder = CatalogBuilder()
    builder.add(Schema("public"))
    for name in tables:
        builder.add(Table("public", name, (Column("id", "bigint", not_null=True),)))
    path.write_text(catalog_to_json(builder.freeze()), encoding="utf-8")


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    write_catalog(tmp_path / "schema.json", "users")
    (tmp_path / "nself.toml").write_text(
        '[types]\nsource = "schema.json"\n\n'
        '[types.typescript]\noutput = "out/db.ts"\nwith_relations = true\n\n'
        '[types.graphql]\noutput = "out/schema.graphql"\nsource = "other.json"\n'
    )
    write_catalog(tmp_path / "other.json", "posts")
    return tmp_path


def test_configured_outputs(project_dir: Path) -> None:
    outputs = codegen.configured_outputs(load_project(project_dir))
    assert [
        (o.language, o.path.relative_to(project_dir).as_posix(), dict(o.options), o.source) for o in outputs
    ] == [
        ("typescript", "out/db.ts", {"with_relations": True}, "schema.json"),
        ("graphql", "out/schema.graphql", {}, "other.json"),
    ]


def test_generate_write_and_stale(project_dir: Path) -> None:
    project = load_project(project_dir)
    outputs = codegen.configured_outputs(project)
    results = codegen.generate(project, outputs)
    assert codegen.stale(results) == [o.path for o in outputs]
    assert codegen.write(results) == [o.path for o in outputs]
    assert "export type Users = {" in outputs[0].path.read_text()
    assert "type Posts {" in outputs[1].path.read_text()  # its own source
    assert codegen.stale(codegen.generate(project, outputs)) == []
    write_catalog(project_dir / "schema.json", "users", "orders")
    assert codegen.stale(codegen.generate(project, outputs)) == [outputs[0].path]


def test_regenerate_reports_errors_in_one_line(project_dir: Path) -> None:
    project = load_project(project_dir)
    (project_dir / "schema.json").write_text("{broken")
    result = codegen.regenerate(project, codegen.configured_outputs(project))
    assert result.written == [] and result.error is not None and "\n" not in result.error


def test_unknown_language_and_missing_backend_are_option_errors() -> None:
    with pytest.raises(OptionError, match="unknown language 'cobol'"):
        codegen.render_types("cobol", CatalogBuilder().freeze(), {})


def test_bad_option_type_points_at_the_line(tmp_path: Path) -> None:
    (tmp_path / "nself.toml").write_text('[types.go]\noutput = "db.go"\npackage = 3\n')
    with pytest.raises(SourceError) as error:
        codegen.configured_outputs(load_project(tmp_path))
    assert error.value.line == 3 and "types.go.package must be a str" in str(error.value)


def test_relevant_changes(project_dir: Path) -> None:
    migrations = project_dir / "nself" / "migrations"
    outputs = [codegen.TypeOutput("typescript", project_dir / "nself" / "migrations" / "gen.json")]
    sources = [migrations, project_dir / "schema.dbml"]
    assert codegen._relevant(migrations / "001_x.sql", sources, outputs)
    assert codegen._relevant(migrations / "sub" / "up.sql", sources, outputs)
    assert not codegen._relevant(migrations / "notes.txt", sources, outputs)
    assert not codegen._relevant(migrations / "gen.json", sources, outputs)  # our own output
    assert codegen._relevant(project_dir / "schema.dbml", sources, outputs)
    assert not codegen._relevant(project_dir / "other.dbml", sources, outputs)


def test_watch_in_process(project_dir: Path) -> None:
    project = load_project(project_dir)
    outputs = codegen.configured_outputs(project)[:1]
    rounds: list[codegen.Regeneration] = []
    stop = threading.Event()
    thread = threading.Thread(
        target=codegen.watch, args=(project, outputs, rounds.append), kwargs={"stop": stop}
    )
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not rounds and time.monotonic() < deadline:
            time.sleep(0.02)
        assert rounds and rounds[0].written == [outputs[0].path]
        write_catalog(project_dir / "schema.json", "users", "orders")
        while len(rounds) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(rounds) == 2 and rounds[1].error is None
        assert "export type Orders = {" in outputs[0].path.read_text()
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_render_cache_reuses_texts_while_the_schema_is_unchanged(project_dir: Path) -> None:
    project = load_project(project_dir)
    outputs = codegen.configured_outputs(project)
    cache = codegen.RenderCache()
    first = codegen.generate(project, outputs, cache)
    assert len(cache.texts) == 2
    again = codegen.generate(project, outputs, cache)
    assert [r.text for r in again] == [r.text for r in first]
    write_catalog(project_dir / "schema.json", "users", "orders")
    changed = codegen.generate(project, outputs, cache)
    assert "Orders" in changed[0].text and changed[1].text == first[1].text


def test_parallel_generation_gives_the_serial_texts(tmp_path: Path) -> None:
    """A schema above PARALLEL_RENDER_WEIGHT renders in forked processes: same texts, same
    errors as one process."""
    builder = CatalogBuilder()
    builder.add(Schema("public"))
    columns = tuple(Column(f"c{i}", "text") for i in range(10))
    for n in range(codegen.PARALLEL_RENDER_WEIGHT // len(columns) + 1):
        builder.add(Table("public", f"t{n}", (Column("id", "bigint", not_null=True), *columns)))
    (tmp_path / "schema.json").write_text(catalog_to_json(builder.freeze()), encoding="utf-8")
    config = ['[types]\nsource = "schema.json"\n']
    for language in ("typescript", "go", "python", "swift", "rust", "graphql"):
        config.append(f'[types.{language}]\noutput = "out/{language}.txt"\n')
    (tmp_path / "nself.toml").write_text("\n".join(config))
    project = load_project(tmp_path)
    outputs = codegen.configured_outputs(project)
    serial = codegen.generate(project, outputs)
    parallel = codegen.generate(project, outputs, parallel=True)
    assert [r.text for r in parallel] == [r.text for r in serial]

    # generate_files: each forked render writes its own file(s); an output of the same
    # text at a second path is written too; a file already holding the text is not
    twice = [*outputs, codegen.TypeOutput("go", tmp_path / "again.go", outputs[1].options, "schema.json")]
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "python.txt").write_text(serial[2].text, encoding="utf-8")
    written = codegen.generate_files(project, twice, parallel=True)
    assert [o for o, _ in written] == twice
    assert [w for _, w in written] == [True, True, False, True, True, True, True]
    assert [o.path.read_text(encoding="utf-8") for o in twice] == [r.text for r in serial] + [serial[1].text]
    assert not any(w for _, w in codegen.generate_files(project, twice, parallel=True))

    bad = [*outputs, codegen.TypeOutput("go", tmp_path / "bad.go", {"package": "not a name"}, "schema.json")]
    with pytest.raises(OptionError, match="package"):
        codegen.generate(project, bad, parallel=True)
    # a failed render leaves every file as it was, those of the renders that succeeded too
    for output in outputs:
        output.path.write_text("kept", encoding="utf-8")
    with pytest.raises(OptionError, match="package"):
        codegen.generate_files(project, bad, parallel=True)
    assert [o.path.read_text(encoding="utf-8") for o in outputs] == ["kept"] * len(outputs)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(o.path.name for o in outputs)


def test_rendered_outputs_are_kept_while_the_files_compile_the_same(tmp_path: Path) -> None:
    """One-shot runs keep each output of a migrations source in .nself/cache/types/: read
    back while the files are the same, never once they (or the options) changed."""
    migrations = tmp_path / "nself" / "migrations"
    migrations.mkdir(parents=True)
    first = migrations / "001_init.sql"
    first.write_text("CREATE TABLE users (id bigint PRIMARY KEY, name text);\n")
    (tmp_path / "nself.toml").write_text(
        '[types.typescript]\noutput = "db.ts"\n\n[types.go]\noutput = "db.go"\npackage = "models"\n'
    )
    project = load_project(tmp_path)
    outputs = codegen.configured_outputs(project)
    texts = [r.text for r in codegen.generate(project, outputs)]
    types = tmp_path / ".nself" / "cache" / "types"
    kept = sorted(p for p in types.glob("*.pickle") if "-pieces-" not in p.name)  # the outputs
    assert [p.name.split("-")[0] for p in kept] == ["go", "typescript"]
    assert sorted({p.name.split("-")[0] for p in types.glob("*-pieces-*")}) == ["go", "typescript"]
    assert [r.text for r in codegen.generate(project, outputs)] == texts
    digest = kept[1].stem.split("-", 1)[1]  # the entry is what is read: plant a text in it
    assert write_entry(kept[1], digest, ("planted", []), pickle.dumps, kept[1].parent.parent)
    assert [r.text for r in codegen.generate(project, outputs)] == ["planted", texts[1]]
    for path in kept:  # a corrupt entry is rendered again
        path.write_bytes(b"garbage")
    assert [r.text for r in codegen.generate(project, outputs)] == texts
    first.write_text("CREATE TABLE users (id bigint PRIMARY KEY, name text, email text);\n")
    changed = [r.text for r in codegen.generate(project, outputs)]
    assert all("email" in text.lower() for text in changed)
    assert changed == [codegen.render_output(project, o) for o in outputs]  # no cache there
    other = [codegen.TypeOutput("go", outputs[1].path, {"package": "db"})]

    assert "package db" in codegen.generate(project, other)[0].text


def _many_tables(count: int) -> str:
    """A schema of `count` tables in two schemas: enums, foreign keys both ways (one of
    them one-to-one through a unique index), arrays, jsonb, numeric, comments, a view
    every tenth table."""
    statements = [
        "CREATE SCHEMA app;",
        "CREATE TYPE public.status AS ENUM ('new', 'active', 'gone');",
        "CREATE DOMAIN public.positive AS integer CHECK (VALUE > 0);",
    ]
    for n in range(count):
        name = f"{'app' if n % 2 else 'public'}.t{n:03d}"
        columns = [
            "id bigserial PRIMARY KEY",
            "code varchar(32) NOT NULL UNIQUE",
            "amount numeric(12,2) NOT NULL DEFAULT 0",
            "state public.status NOT NULL DEFAULT 'new'",
            "tags text[] CHECK (array_ndims(tags) = 1)",
            "payload jsonb",
            "rank public.positive",
        ]
        if n % 50 == 0:  # types few tables use: what a reused piece adds must be kept
            columns += ["uid uuid", "seen timestamptz[]"]
        for ref in sorted({r for r in (n - 1, n // 2) if 0 <= r < n}):
            columns.append(f"t{ref:03d}_id bigint REFERENCES {'app' if ref % 2 else 'public'}.t{ref:03d} (id)")
        statements.append(f"CREATE TABLE {name} (\n  " + ",\n  ".join(columns) + "\n);")
        statements.append(f"COMMENT ON TABLE {name} IS 'Table {n}';")
        if n % 7 == 1:
            statements.append(f"CREATE UNIQUE INDEX ON {name} (t{n - 1:03d}_id);")
        if n % 10 == 0:
            statements.append(f"CREATE VIEW {name}_v AS SELECT id, code, state FROM {name};")
    return "\n".join(statements) + "\n"


def test_an_edit_renders_only_what_it_touched_and_the_same_text(tmp_path: Path) -> None:
    """After an edit of a few tables, the languages that keep pieces (FRAGMENT_LANGUAGES)
    reuse those of the other tables: every output is byte for byte a cold render's."""
    migrations = tmp_path / "nself" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "001_init.sql").write_text(_many_tables(200))
    edit = migrations / "002_edit.sql"
    edit.write_text("-- later\n")
    config = [
        '[types.typescript]\noutput = "out/db.ts"\nwith_relations = true\n',
        '[types.go]\noutput = "out/db.go"\npackage = "models"\n',
        '[types.python]\noutput = "out/models.py"\npydantic = true\n',
        '[types.swift]\noutput = "out/DB.swift"\n',
        '[types.rust]\noutput = "out/db.rs"\n',
        '[types.graphql]\noutput = "out/schema.graphql"\nwith_hasura = true\n',
    ]
    (tmp_path / "nself.toml").write_text("\n".join(config))
    project = load_project(tmp_path)
    outputs = [
        *codegen.configured_outputs(project),
        codegen.TypeOutput("graphql", tmp_path / "plain.graphql"),
        codegen.TypeOutput("typescript", tmp_path / "kysely.ts", {"flavor": "kysely"}),
    ]
    pieces = tmp_path / ".nself" / "cache" / "types"

    def kept() -> dict[str, dict[bytes, object]]:
        found = {}
        for path in pieces.glob("*-pieces-*.pickle"):  # an output's in PIECE_SHARDS files
            _, key, _ = pickle.loads(path.read_bytes())
            found.setdefault(path.name.rsplit("-", 1)[0], {}).update(read_entry(path, key))
        return found

    assert [r.text for r in codegen.generate(project, outputs)] == [
        codegen.render_output(project, o) for o in outputs
    ]
    before = kept()
    assert len(before) == len([o for o in outputs if o.language in codegen.FRAGMENT_LANGUAGES])
    codegen.generate(project, outputs)  # every text read whole: the pieces are kept
    assert kept() == before
    edits = [
        # a column added, a nullability and a comment changed in one table (True: most
        # pieces are reused)
        (
            "ALTER TABLE app.t101 ADD COLUMN extra numeric(10,2);\n"
            "ALTER TABLE app.t101 ALTER COLUMN amount DROP NOT NULL;\n"
            "COMMENT ON COLUMN app.t101.code IS 'edited';\n",
            True,
        ),
        # a foreign key made one-to-one (the other side's relation changes) and one added
        (
            "CREATE UNIQUE INDEX ON public.t050 (t049_id);\n"
            "ALTER TABLE public.t010 ADD COLUMN t199_id bigint REFERENCES app.t199 (id);\n",
            True,
        ),
        # an enum label added, a table added: every piece rendered again
        ("ALTER TYPE public.status ADD VALUE 'archived';\nCREATE TABLE public.added (id int PRIMARY KEY);\n", False),
        ("ALTER TABLE public.t002 RENAME COLUMN code TO label;\n", True),
    ]
    applied = ""
    for sql, reused in edits:  # each edit on top of the ones before
        applied += sql
        edit.write_text(applied)
        files = {path: path.stat().st_ino for path in pieces.glob("*-pieces-*.pickle")}
        # in forked processes, as `nself types` renders: each keeps its output's pieces
        if sql == edits[-1][0]:  # as a one-shot `nself types` does: the renders write the files
            assert all(w for _, w in codegen.generate_files(project, outputs, parallel=True))
            texts = [o.path.read_text(encoding="utf-8") for o in outputs]
        else:
            texts = [r.text for r in codegen.generate(project, outputs, parallel=True)]
        assert texts == [codegen.render_output(project, o) for o in outputs], sql
        if sql == edits[0][0]:  # one table's piece changed: the files of its new and old
            written = [path for path, inode in files.items() if path.stat().st_ino != inode]
            assert len(written) <= 2 * len(before) < len(files)  # piece written again
        after = kept()
        for name, now in after.items():
            shared = len(now.keys() & before[name].keys())
            assert shared > len(now) * 0.9 if reused else shared == 0, (sql, name)
        before = after
