"""Broken input never gives a traceback or a hang: a few hundred seeded mutants of a valid
file per format, read the way the commands read them (tests/fuzz.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nself.backends.lint.config import lint_settings
from nself.backends.mock import plan_mock, table_key
from nself.backends.mock import render as render_mock
from nself.frontends.dbml import parse_dbml
from nself.frontends.sql import compile_migrations
from nself.ir import catalog_from_json, catalog_to_json
from nself.runtime.codegen import configured_outputs
from nself.runtime.data_io import import_data
from nself.runtime.mock.executor import preview_rows
from nself.runtime.mock.project import CONFIG_NAME, load_config
from nself.runtime.project import load_project
from nself.runtime.seeds import run_seeds
from nself.textfiles import decode_user_text
from tests.conftest import run_sql
from tests.fuzz import fuzz

MUTANTS = 300

DBML = b"""\
Project blog {
  database_type: 'PostgreSQL'
  Note: 'a blog'
}
Enum status {
  draft
  published [note: 'live']
}
Table users as U {
  id integer [pk, increment]
  email varchar(255) [not null, unique, note: 'login']
  tags text[] [default: `'{}'`]
  created_at timestamptz [default: `now()`]
  Indexes {
    (email, created_at) [name: 'users_email_created']
  }
}
Table posts {
  id bigint [pk]
  author_id integer [ref: > U.id, note: "who"]
  status status [default: 'draft']
  body text
}
Table tags {
  post_id bigint [ref: > posts.id]
  name varchar(40)
  indexes {
    (post_id, name) [unique]
  }
}
"""

SQL = b"""\
create type status as enum ('draft', 'published');
create table users (
  id integer generated always as identity primary key,
  email varchar(255) not null unique check (email like '%@%'),
  created_at timestamptz default now()
);
create table posts (
  id bigserial primary key,
  author_id integer references users (id) on delete cascade,
  status status default 'draft',
  title text collate "C",
  body text default 'it''s $$ quoted'
);
create index posts_author on posts (author_id) where status = 'published';
create view published as select p.id, u.email from posts p join users u on u.id = p.author_id;
comment on table posts is 'the posts';
"""

TOML = b"""\
[environments.local]
port = 54329

[environments.staging]
url = "env:STAGING_DATABASE_URL"

[environments.prod]
url = "env:PROD_DATABASE_URL"
production = true

[types]
source = "nself/migrations"

[types.typescript]
output = "types/db.ts"
with_relations = true

[types.go]
output = "models/db.go"
package = "models"

[lint]
skip = ["varchar-length", "serial-column"]
fail-on = "warning"
timestamp-without-time-zone = "error"
"""


def test_dbml(tmp_path: Path) -> None:
    def read(data: bytes) -> object:
        return parse_dbml(decode_user_text(data, "schema.dbml"), "schema.dbml")

    parse_dbml(DBML.decode(), "schema.dbml")
    findings = fuzz(read, DBML, count=MUTANTS, seed=1)
    assert not findings, "\n".join(f.describe() for f in findings[:5])


def test_ir_json() -> None:
    catalog = parse_dbml(DBML.decode(), "schema.dbml")
    valid = catalog_to_json(catalog).encode()

    def read(data: bytes) -> object:
        return catalog_from_json(decode_user_text(data, "schema.json"))

    findings = fuzz(read, valid, count=MUTANTS, seed=2)
    assert not findings, "\n".join(f.describe() for f in findings[:5])


def test_sql_migration(tmp_path: Path) -> None:
    path = tmp_path / "001_init.sql"

    def read(data: bytes) -> object:
        path.write_bytes(data)
        return compile_migrations(path)

    read(SQL)
    findings = fuzz(read, SQL, count=MUTANTS, seed=3)
    assert not findings, "\n".join(f.describe() for f in findings[:5])


@pytest.mark.parametrize("environment", ["local", "staging", "prod"])
def test_nself_toml(tmp_path: Path, environment: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGING_DATABASE_URL", "postgresql://u@127.0.0.1:1/staging")
    monkeypatch.setenv("PROD_DATABASE_URL", "postgresql://u@127.0.0.1:1/prod")
    path = tmp_path / "nself.toml"

    def read(data: bytes) -> object:
        path.write_bytes(data)
        project = load_project(tmp_path)
        configured_outputs(project)
        lint_settings(project.config, project.config_path)
        return project.environment(environment).url()

    read(TOML)
    findings = fuzz(read, TOML, count=MUTANTS // 3, seed=4 + len(environment))
    assert not findings, "\n".join(f.describe() for f in findings[:5])


MOCK_MUTANTS = 200
DATABASE_MUTANTS = 120


def test_mock_config(tmp_path: Path) -> None:
    catalog = parse_dbml(DBML.decode(), "schema.dbml")
    valid = render_mock(catalog, {"seed": 7})[CONFIG_NAME].encode()
    path = tmp_path / CONFIG_NAME

    def read(data: bytes) -> object:
        path.write_bytes(data)
        config = load_config(path)
        plan_mock(catalog, config)
        return [preview_rows(catalog, config, table_key(t.schema, t.name), 3) for t in catalog.tables]

    read(valid)
    findings = fuzz(read, valid, count=MOCK_MUTANTS, seed=5)
    assert not findings, "\n".join(f.describe() for f in findings[:5])


SEED = b"""\
INSERT INTO users (id, email) VALUES (1, 'a@example.com'), (2, 'b@example.com');
UPDATE users SET email = lower(email) WHERE id > 0;
WITH moved AS (DELETE FROM posts WHERE id < 0 RETURNING *) INSERT INTO posts SELECT * FROM moved;
"""


def test_seed_files(tmp_path: Path, database: str) -> None:
    run_sql(database, "CREATE TABLE users (id int PRIMARY KEY, email text); CREATE TABLE posts (id int);")
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    path = seeds / "001_users.sql"

    def read(data: bytes) -> object:
        path.write_bytes(data)
        return run_seeds(database, seeds, "local", fresh=True, cascade=True)

    read(SEED)
    findings = fuzz(read, SEED, count=DATABASE_MUTANTS, seed=6)
    assert not findings, "\n".join(f.describe() for f in findings[:5])


IMPORT_JSON = b"""\
[
  {"id": 1, "email": "a@example.com", "tags": ["x", null], "profile": {"age": 3}, "born": "2000-01-02"},
  {"id": 2, "email": null, "tags": [], "profile": null, "born": null}
]
"""

IMPORT_CSV = b"""\
id,email,tags,profile,born
1,a@example.com,"{x,NULL}","{""age"": 3}",2000-01-02
2,,{},,
"""


@pytest.mark.parametrize(("suffix", "valid"), [("json", IMPORT_JSON), ("csv", IMPORT_CSV)])
def test_data_import_files(tmp_path: Path, database: str, suffix: str, valid: bytes) -> None:
    run_sql(database, "CREATE TABLE people (id int PRIMARY KEY, email text, tags text[], profile jsonb, born date);")
    folder = tmp_path / "export"
    folder.mkdir()
    path = folder / f"public.people.{suffix}"

    def read(data: bytes) -> object:
        path.write_bytes(data)
        return import_data(database, folder, truncate=True)

    read(valid)
    findings = fuzz(read, valid, count=DATABASE_MUTANTS, seed=7 + len(suffix))
    assert not findings, "\n".join(f.describe() for f in findings[:5])
