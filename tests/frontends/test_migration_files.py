"""Migration layouts, one line per case: the files a folder holds -> the migrations found,
in order, with their up SQL and where it starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from nself.errors import SourceError
from nself.frontends.migration_files import discover_migrations, natural_key, split_sections

UP = "CREATE TABLE t (a int);\n"

# files (path -> text) -> [(version, name, layout, path of the up SQL, up_sql, up_line)]
LAYOUTS: list[tuple[str, dict[str, str], list[tuple[str, str, str, str, str, int]]]] = [
    (
        "nself",
        {"002_20240102_b.sql": UP, "001_20240101_a.sql": UP},
        [
            ("001", "20240101_a", "nself", "001_20240101_a.sql", UP, 1),
            ("002", "20240102_b", "nself", "002_20240102_b.sql", UP, 1),
        ],
    ),
    (
        "goose sections, text before the first annotation left out",
        {"00001_a.sql": "-- header\n-- +goose Up\n" + UP + "-- +goose Down\nDROP TABLE t;\n", "00002_x.go": "package m\n"},
        [("00001", "a", "nself", "00001_a.sql", UP, 3)],
    ),
    (
        "nself sections",
        {"001_20240101_a.sql": "-- migrate:up\n" + UP + "-- migrate:down\nDROP TABLE t;\n"},
        [("001", "20240101_a", "nself", "001_20240101_a.sql", UP, 2)],
    ),
    (
        "dbmate",
        {
            "20151129054053_test.sql": "-- a header\n-- migrate:up transaction:false\n"
            + UP
            + "\n-- migrate:down\n"
        },
        [("20151129054053", "test", "nself", "20151129054053_test.sql", UP + "\n", 3)],
    ),
    (
        "diesel",
        {
            "2019-02-27-170003_b/up.sql": UP,
            "2019-02-26-002946_a/up.sql": UP,
            "2019-02-26-002946_a/down.sql": "x",
            "00000000000000_diesel_initial_setup/up.sql": UP,
            "README.md": "not a migration",
            "data_oauth_github.sql": "INSERT INTO x SELECT 1;",  # crates.io: a script run by hand
            "20140924113530_old/up.sql": UP,  # crates.io's first versions have no dashes
        },
        [
            (
                "00000000000000",
                "diesel_initial_setup",
                "diesel",
                "00000000000000_diesel_initial_setup/up.sql",
                UP,
                1,
            ),
            ("20140924113530", "old", "diesel", "20140924113530_old/up.sql", UP, 1),
            ("2019-02-26-002946", "a", "diesel", "2019-02-26-002946_a/up.sql", UP, 1),
            ("2019-02-27-170003", "b", "diesel", "2019-02-27-170003_b/up.sql", UP, 1),
        ],
    ),
    (
        "golang-migrate",
        {"10_c.up.sql": UP, "2_b.up.sql": UP, "2_b.down.sql": "x", "1_a.up.sql": UP, "1_a.down.sql": "x"},
        [
            ("1", "a", "golang-migrate", "1_a.up.sql", UP, 1),
            ("2", "b", "golang-migrate", "2_b.up.sql", UP, 1),
            ("10", "c", "golang-migrate", "10_c.up.sql", UP, 1),
        ],
    ),
    (
        "prisma",
        {
            "20240102000000_b/migration.sql": UP,
            "20240101000000_a/migration.sql": UP,
            "migration_lock.toml": "x",
        },
        [
            ("20240101000000", "a", "prisma", "20240101000000_a/migration.sql", UP, 1),
            ("20240102000000", "b", "prisma", "20240102000000_b/migration.sql", UP, 1),
        ],
    ),
    (
        "supabase",
        {"20240101120000_init.sql": UP, "20240101120001_more.sql": UP},
        [
            ("20240101120000", "init", "nself", "20240101120000_init.sql", UP, 1),
            ("20240101120001", "more", "nself", "20240101120001_more.sql", UP, 1),
        ],
    ),
]


@pytest.mark.parametrize(
    ("files", "expected"), [(f, e) for _, f, e in LAYOUTS], ids=[n for n, _, _ in LAYOUTS]
)
def test_layouts(
    tmp_path: Path, files: dict[str, str], expected: list[tuple[str, str, str, str, str, int]]
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    found = [
        (m.version, m.name, m.layout, m.path.relative_to(tmp_path).as_posix(), m.up_sql, m.up_line)
        for m in discover_migrations(tmp_path)
    ]
    assert found == expected


def test_down_sql_is_kept(tmp_path: Path) -> None:
    (tmp_path / "1_a.up.sql").write_text(UP)
    (tmp_path / "1_a.down.sql").write_text("DROP TABLE t;\n")
    (tmp_path / "2_b.sql").write_text("-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n")
    first, second = discover_migrations(tmp_path)
    assert (first.down_sql, first.down_path, first.down_line) == (
        "DROP TABLE t;\n",
        tmp_path / "1_a.down.sql",
        1,
    )
    assert (second.down_sql, second.down_path, second.down_line) == ("SELECT 2;\n", tmp_path / "2_b.sql", 4)


def test_a_single_file(tmp_path: Path) -> None:
    path = tmp_path / "schema.sql"
    path.write_text(UP)
    (migration,) = discover_migrations(path)
    assert (migration.path, migration.up_sql, migration.up_line, migration.layout) == (path, UP, 1, "file")


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such migrations directory"):
        discover_migrations(tmp_path / "nope")


SECTIONS = [
    (UP, UP, 1, None, None),
    ("-- migrate:up\n" + UP, UP, 2, None, None),
    ("-- migrate:up\n" + UP + "-- migrate:down\nDROP TABLE t;\n", UP, 2, "DROP TABLE t;\n", 4),
    ("-- migrate:down\nDROP TABLE t;\n-- migrate:up\n" + UP, UP, 4, "DROP TABLE t;\n", 2),
    ("--migrate:up\n" + UP, UP, 2, None, None),
    ("-- migrate:down\nDROP TABLE t;\n", "", 1, "DROP TABLE t;\n", 2),
]


@pytest.mark.parametrize(("text", "up", "up_line", "down", "down_line"), SECTIONS)
def test_sections(text: str, up: str, up_line: int, down: str | None, down_line: int | None) -> None:
    s = split_sections(text)
    assert (s.up_sql, s.up_line, s.down_sql, s.down_line) == (up, up_line, down, down_line)


@pytest.mark.parametrize(
    ("names", "ordered"),
    [
        (["10_a", "2_a", "1_a"], ["1_a", "2_a", "10_a"]),
        (["002_x", "001_y", "010_z"], ["001_y", "002_x", "010_z"]),
        (["2019-03-01-000000_b", "2019-02-26-002946_a"], ["2019-02-26-002946_a", "2019-03-01-000000_b"]),
    ],
)
def test_natural_order(names: list[str], ordered: list[str]) -> None:
    assert sorted(names, key=natural_key) == ordered


def test_a_goose_migration_in_go_is_named_where_the_schema_is_read(tmp_path: Path) -> None:
    from nself.frontends.sql import compile_migrations_with_warnings

    (tmp_path / "00001_a.sql").write_text("-- +goose Up\n" + UP)
    (tmp_path / "00002_fill.go").write_text("package m\n\nfunc init() { goose.AddMigrationContext(up, down) }\n")
    result = compile_migrations_with_warnings(tmp_path, None)
    assert [str(w) for w in result.warnings] == [
        f"{tmp_path / '00002_fill.go'}:1: a goose migration written in Go is not read: the schema lacks what it does"
    ]
    assert [t.name for t in result.catalog.tables] == ["t"]
