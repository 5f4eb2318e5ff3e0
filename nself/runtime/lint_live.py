"""The parts of `nself db lint` that need a live database: the pending migration files
(judged by nself.backends.lint.migration_safety against the schema they will run on) and
PL/pgSQL function bodies checked by the plpgsql_check extension where the server has it.
Nothing is left behind: the history is only read, and plpgsql_check is created (when not
installed already) in a transaction that is rolled back."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from nself.backends.lint.findings import Finding, Level, LintSettings
from nself.backends.lint.migration_safety import LIVE_RULES, PendingMigration, lint_migrations
from nself.connection import connect
from nself.frontends.migration_files import discover_migrations
from nself.ir.names import quote_ident
from nself.runtime.migrate import HISTORY_TABLE, migration_key
from nself.runtime.project import Project


def pending_migrations(url: str, directory: Path) -> list[PendingMigration]:
    """The migration files of `directory` not in the database's history (every file when
    the database has no history yet), in the order `db migrate` applies them."""
    if not directory.is_dir():
        return []
    files = discover_migrations(directory)
    with connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (HISTORY_TABLE,)).fetchone()
        applied: set[str] = set()
        if row and row[0]:
            applied = {str(r[0]) for r in conn.execute(f"SELECT version FROM {HISTORY_TABLE}".encode()).fetchall()}
    return [
        PendingMigration(_display(m.path), m.up_sql, m.line_offset)
        for m in files
        if migration_key(m) not in applied
    ]


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# Each PL/pgSQL function of the user schemas (not of extensions); a trigger function is
# checked against one table that fires it (it cannot be checked without one).
FUNCTIONS = """
SELECT p.oid, n.nspname AS schema, p.proname || '(' || oidvectortypes(p.proargtypes) || ')' AS name,
       CASE WHEN p.prorettype = 'trigger'::regtype
            THEN (SELECT t.tgrelid FROM pg_trigger t WHERE t.tgfoid = p.oid ORDER BY t.tgrelid LIMIT 1)
            ELSE 0 END AS relid
  FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_language l ON l.oid = p.prolang AND l.lanname = 'plpgsql'
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
   AND p.prokind IN ('f', 'p')
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                   AND d.deptype = 'e')
 ORDER BY n.nspname, name
"""


def plpgsql_findings(url: str, settings: LintSettings | None = None) -> tuple[list[Finding], str | None]:
    """(findings, why not checked): plpgsql_check's errors and warnings on every PL/pgSQL
    function; `why` says why nothing was checked (the server lacks the extension, or this
    role may not create it), None when the check ran."""
    settings = settings or LintSettings()
    rule = LIVE_RULES["plpgsql-check"]
    if not settings.selects(rule.id):
        return [], None
    import psycopg

    with connect(url) as conn:  # one transaction, rolled back
        available = conn.execute(
            "SELECT installed_version IS NOT NULL FROM pg_available_extensions WHERE name = 'plpgsql_check'"
        ).fetchone()
        if available is None:
            conn.rollback()
            return [], "plpgsql_check is not available on this server (Debian: postgresql-15-plpgsql-check)"
        schema = "pg_catalog"
        if not available[0]:
            try:
                conn.execute("CREATE SCHEMA nself_plpgsql_check")
                conn.execute("CREATE EXTENSION plpgsql_check SCHEMA nself_plpgsql_check")
                schema = "nself_plpgsql_check"
            except psycopg.Error as exc:
                conn.rollback()
                return [], f"plpgsql_check could not be created here: {' '.join(str(exc).split())}"
        else:
            schema = str(
                cast(
                    tuple[Any, ...],
                    conn.execute(
                        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
                        " WHERE e.extname = 'plpgsql_check'"
                    ).fetchone(),
                )[0]
            )
        findings: list[Finding] = []
        for oid, owner, name, relid in conn.execute(FUNCTIONS.encode()).fetchall():
            if relid is None:
                continue  # a trigger function no trigger uses
            try:
                with conn.transaction():  # a savepoint: a function it cannot check is skipped
                    rows = conn.execute(
                        (
                            "SELECT lineno, message, level, sqlstate FROM "
                            f"{quote_ident(schema, always=True)}.plpgsql_check_function_tb(%s::regprocedure, %s::regclass)"
                        ).encode(),
                        (oid, relid),
                    ).fetchall()
            except psycopg.Error:
                continue  # polymorphic arguments without a type to check them with, and the like
            for lineno, message, level, _sqlstate in rows:
                found: Level = "error" if level == "error" else "warning"
                chosen = settings.levels.get(rule.id, found if rule.level == "error" else rule.level)
                at = f"line {lineno}: " if lineno is not None else ""
                findings.append(
                    Finding(
                        rule.id,
                        chosen,
                        owner,
                        name,
                        "function",
                        f"{at}{message}",
                        "fix the function body (plpgsql_check checks what PostgreSQL checks only when it runs)",
                    )
                )
        conn.rollback()
    return findings, None


def lint_source(
    source: str, project: Project, settings: LintSettings, *, include_platform: bool = False
) -> tuple[list[Finding], list[str]]:
    """`nself db lint`: (findings most severe first, notes). Every SOURCE gets the catalog
    rules; a live one also the migration rules on the project's pending migrations and
    plpgsql_check on its functions."""
    from nself.backends.lint import lint
    from nself.runtime.inspect import live_url
    from nself.runtime.sources import load_catalog

    # the platform's tables the project references are the platform's to lint, not the project's
    catalog = load_catalog(source, project, include_platform=include_platform, platform_references=include_platform)
    findings = lint(catalog, settings)
    notes: list[str] = []
    url = live_url(source, project)
    if url is not None:
        findings += lint_migrations(catalog, pending_migrations(url, project.migrations_dir), settings)
        checked, why = plpgsql_findings(url, settings)
        findings += checked
        if why is not None and "plpgsql-check" in settings.only:
            notes.append(why)
    return sorted(set(findings), key=Finding.sort_key), notes
