"""Broken input never gives a traceback or a hang: a few hundred seeded mutants of a valid
file per format, read the way the commands read them (tests/fuzz.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nself.backends.lint.config import lint_settings
from nself.frontends.dbml import parse_dbml
from nself.frontends.sql import compile_migrations
from nself.ir import catalog_from_json, catalog_to_json
from nself.runtime.codegen import configured_outputs
from nself.runtime.project import load_project
from nself.textfiles import decode_user_text
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
