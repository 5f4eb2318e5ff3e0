"""The shared test corpus as a list of cases, each able to load itself into a database.

Shared by every oracle test (live frontend, sql frontend fidelity, round trips):

    for case in schema_cases(corpus_dir) + migra_cases(corpus_dir):
        case.load(url)          # applies the case's SQL to the (empty) database at url

Loading follows the corpus README: pagila and openstreetmap with
`psql -v ON_ERROR_STOP=1 -f`; lemmy by applying each migrations/<version>/up.sql in
directory order, each in its own transaction; migra's a.sql and b.sql as they are, except
`rls`, which needs the role `schemainspect_test_role` (created here if missing: roles are
cluster-wide, so it is shared by every database of the cluster).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

if TYPE_CHECKING:
    from nself.runtime.cluster import LocalCluster

PSQL = shutil.which("psql") or "/usr/bin/psql"

# Roles a case needs before its SQL runs, by case name (migra's own tests make these).
_MIGRA_ROLES: dict[str, tuple[str, ...]] = {"rls": ("schemainspect_test_role",)}


class CorpusLoadError(AssertionError):
    """A corpus file that PostgreSQL refused; names the file and PostgreSQL's message."""


@dataclass(frozen=True)
class CorpusCase:
    """One schema of the corpus: `files` applied in order (each in its own transaction
    when `per_file_transaction`), after creating `roles`."""

    name: str
    files: tuple[Path, ...]
    per_file_transaction: bool = False
    roles: tuple[str, ...] = ()
    # The folder a migration-history case's files live in (lemmy: migrations/).
    root: Path | None = field(default=None, compare=False)

    def load(self, url: str) -> None:
        """Apply the case to the database at `url`; CorpusLoadError if PostgreSQL refuses."""
        if self.roles:
            ensure_roles(url, self.roles)
        if self.per_file_transaction:
            apply_files_in_transactions(url, self.files)
        else:
            for path in self.files:
                run_psql_file(url, path)

    def __str__(self) -> str:
        return self.name


# The corpus schemas whose load takes seconds (lemmy's history of some 130 migrations,
# openstreetmap, pagila): each is loaded once per cluster and test process into a template
# database, and every database asked for with the case is a copy of it (CREATE DATABASE ...
# TEMPLATE copies the files: about the cost of an empty database). A copy holds the same
# objects, rows and sequence states (the corpus sets nothing at the database level: no
# ALTER DATABASE, COMMENT ON DATABASE or GRANT ON DATABASE, which a copy would not keep);
# tests/test_cluster_fixture.py compares one with a fresh load. migra's small cases load
# faster than a copy is made.
TEMPLATED = frozenset({"pagila", "openstreetmap", "lemmy"})
_templates: dict[tuple[str, str], str] = {}


def create_loaded(cluster: LocalCluster, name: str, case: CorpusCase) -> str:
    """CREATE DATABASE `name` in `cluster` holding `case` loaded, and its URL: a copy of the
    case's template database (made on first use) for the TEMPLATED cases, else a new
    database the case is loaded into. CorpusLoadError if PostgreSQL refuses the case."""
    template = _template(cluster, case) if case.name in TEMPLATED else None
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        clause = f' TEMPLATE "{template}"' if template else ""
        conn.execute(f'CREATE DATABASE "{name}"{clause}'.encode())
    url = cluster.url(name)
    if template is None:
        case.load(url)
    return url


def _template(cluster: LocalCluster, case: CorpusCase) -> str:
    key = (str(cluster.root), case.name)
    if key not in _templates:
        name = f"corpus_template_{case.name}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        case.load(cluster.url(name))
        _templates[key] = name
    return _templates[key]


def row_checksums(conn: psycopg.Connection[Any], tables: list[str], *, separator: str = "|") -> dict[str, tuple[int, str]]:
    """Per table (a qualified, quoted name): its row count and the md5 of its rows' text in
    order, joined by `separator`, asked in one statement (a round trip per table was most
    of the time on lemmy's tables)."""
    if not tables:
        return {}
    parts = [
        f"SELECT {i}, count(*), md5(coalesce(string_agg(t::text, '{separator}' ORDER BY t::text), '')) FROM {table} t"
        for i, table in enumerate(tables)
    ]
    rows = conn.execute("\nUNION ALL\n".join(parts).encode()).fetchall()
    return {tables[i]: (count, digest) for i, count, digest in rows}


def ensure_roles(url: str, roles: tuple[str, ...], *, login: bool = False) -> None:
    """Create the roles that do not exist yet (roles are cluster-wide)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for role in roles:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            if exists:
                continue
            # another test process may make it meanwhile (roles are cluster-wide)
            with contextlib.suppress(psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
                conn.execute(f'CREATE ROLE "{role}"{" LOGIN" if login else ""}')  # type: ignore[arg-type]


def run_psql_file(url: str, path: Path, *, single_transaction: bool = False) -> None:
    argv = [PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(path)]
    if single_transaction:
        argv.insert(1, "-1")
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        raise CorpusLoadError(f"{path}: {result.stderr.strip() or result.stdout.strip()}")


def apply_files_in_transactions(url: str, files: tuple[Path, ...]) -> None:
    """Each file in one transaction over one connection (fast for long histories)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for path in files:
            sql = path.read_text(encoding="utf-8")
            if not sql.strip():
                continue
            try:
                with conn.transaction():
                    conn.execute(sql.encode("utf-8"))
            except psycopg.Error as exc:
                raise CorpusLoadError(f"{path}: {' '.join(str(exc).split())}") from exc


def pagila(corpus_dir: Path) -> CorpusCase:
    return CorpusCase("pagila", (corpus_dir / "schemas" / "pagila" / "pagila-schema.sql",))


def openstreetmap(corpus_dir: Path) -> CorpusCase:
    return CorpusCase("openstreetmap", (corpus_dir / "schemas" / "openstreetmap" / "structure.sql",))


def lemmy(corpus_dir: Path) -> CorpusCase:
    root = corpus_dir / "schemas" / "lemmy" / "migrations"
    files = tuple(
        d / "up.sql" for d in sorted(p for p in root.iterdir() if p.is_dir()) if (d / "up.sql").exists()
    )
    return CorpusCase("lemmy", files, per_file_transaction=True, root=root)


def schema_cases(corpus_dir: Path) -> list[CorpusCase]:
    """pagila, openstreetmap and lemmy (its whole migration history)."""
    return [pagila(corpus_dir), openstreetmap(corpus_dir), lemmy(corpus_dir)]


def migra_cases(corpus_dir: Path) -> list[CorpusCase]:
    """Every migra fixture's a.sql and b.sql, as cases named `migra/<case>/a` and `.../b`."""
    cases = []
    for folder in sorted(p for p in (corpus_dir / "migra").iterdir() if p.is_dir()):
        for side in ("a", "b"):
            path = folder / f"{side}.sql"
            if path.exists():
                cases.append(
                    CorpusCase(
                        f"migra/{folder.name}/{side}",
                        (path,),
                        roles=_MIGRA_ROLES.get(folder.name, ()),
                    )
                )
    return cases


def all_cases(corpus_dir: Path) -> list[CorpusCase]:
    return schema_cases(corpus_dir) + migra_cases(corpus_dir)


def case_names(corpus_dir: Path, select: Callable[[Path], list[CorpusCase]] = all_cases) -> list[str]:
    return [c.name for c in select(corpus_dir)]
