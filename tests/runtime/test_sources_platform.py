"""nself/runtime/sources.py on a platform's project: migrations compiled on the base, and
the platform's objects left out of what every reader gets unless asked."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nself.backends import docs as docs_backend
from nself.backends.lint import lint
from nself.backends.types.typescript import render_typescript
from nself.ir.model import Catalog
from nself.runtime.codegen import default_source
from nself.runtime.diagram import draw_diagram
from nself.runtime.project import load_project
from nself.runtime.sources import load_catalog


@pytest.fixture
def todo_list(corpus: Path, tmp_path: Path) -> Path:
    root = tmp_path / "todo-list"
    shutil.copytree(corpus / "supabase-examples" / "todo-list", root)
    return root


def tables(catalog: Catalog) -> set[str]:
    return {f"{t.schema}.{t.name}" for t in catalog.tables}


def test_a_supabase_migrations_folder_is_read_on_the_base_without_nself_toml(todo_list: Path) -> None:
    project = load_project(todo_list)
    assert project.platform is None  # no nself.toml: recognised by the folder
    source = str(todo_list / "supabase" / "migrations")
    assert tables(load_catalog(source, project)) == {"public.todos", "auth.users"}
    assert tables(load_catalog(source, project, platform_references=False)) == {"public.todos"}
    everything = load_catalog(source, project, include_platform=True)
    assert {
        "auth.users",
        "storage.buckets",
        "storage.objects",
        "storage.migrations",
        "storage.s3_multipart_uploads",
        "storage.s3_multipart_uploads_parts",
        "net.http_request_queue",
        "net._http_response",
        "public.todos",
    } == tables(everything)
    assert {f.name for f in everything.functions} >= {"uid", "role", "jwt", "email"}


def test_the_project_keys_choose_the_folder_and_the_platform(todo_list: Path) -> None:
    moved = todo_list / "db" / "migrations"
    moved.parent.mkdir()
    shutil.move(str(todo_list / "supabase" / "migrations"), moved)
    (todo_list / "nself.toml").write_text('platform = "supabase"\nmigrations = "db/migrations"\n')
    project = load_project(todo_list)
    assert default_source(project) == str(moved)
    assert tables(load_catalog(str(moved), project)) == {"public.todos", "auth.users"}


def test_every_reader_handles_the_catalog_without_the_platform(todo_list: Path) -> None:
    project = load_project(todo_list)
    catalog = load_catalog(str(todo_list / "supabase" / "migrations"), project)
    # the project's foreign key still leads to auth.users, which the types describe
    typescript = render_typescript(catalog, {})
    assert "auth: {" in typescript and "todos: {" in typescript and "storage" not in typescript
    assert '"auth.users"' in draw_diagram(catalog, "mermaid")
    [(_, markdown)] = docs_backend.render(catalog, {"format": "markdown"}).items()
    assert "auth.users" in markdown and "storage.objects" not in markdown
    stripped = load_catalog(str(todo_list / "supabase" / "migrations"), project, platform_references=False)
    findings = lint(stripped)
    assert findings and all(f.object.startswith("public.") for f in findings)  # none on auth or storage
