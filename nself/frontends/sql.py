"""The SQL frontend: interpret migration files into the IR, with no database.

Each file is parsed with pglast (PostgreSQL's own parser) and its statements are
interpreted in order by one handler per statement node class (sql_tables, sql_objects),
all working on one `State` around a CatalogBuilder. Statements that do not change the
schema the IR describes (DML, DO blocks, ...) are skipped with a warning naming file:line;
malformed SQL raises SourceError(file, line, col)."""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pglast

from nself import pg15
from nself.collector import collector_paused
from nself.errors import NselfError, SourceError
from nself.frontends import sql_bodies, sql_do, sql_objects, sql_publications, sql_tables  # noqa: F401  (register handlers)
from nself.frontends.migration_files import MigrationFile, code_migrations, discover_migrations
from nself.frontends.sql_state import CompileWarning, State, interpret_statement
from nself.ir import Catalog
from nself.ir import pickling as ir_pickling
from nself.ir.model import Dependency, Function
from nself.ir.platform import without_objects_of
from nself.pg15 import parse_statements, unvalidated_nodes
from nself.platforms import Platform, detect_platform

if TYPE_CHECKING:  # the cache is imported when a compile uses it
    from nself.frontends.sql_cache import CompileCache

__all__ = [
    "CompileResult",
    "CompileWarning",
    "compile_migrations",
    "compile_migrations_with_warnings",
    "compile_sql",
    "compile_sql_with_warnings",
    "report_warnings",
]


@dataclass(frozen=True, slots=True)
class CompileResult:
    catalog: Catalog
    warnings: tuple[CompileWarning, ...]


def _interpret(
    state: State,
    text: str,
    filename: str,
    line_offset: int = 0,
    start: int = 0,
    between: Callable[[int, int, int, int], None] | None = None,
) -> int | None:
    """Interpret the statements of `text` from offset `start` (a point where the previous
    statement's `;` ends it; what comes before has been interpreted already). Returns the
    offset just past the last statement's terminating `;` (None: the last statement has
    none), where a later text that starts with the same characters may resume.
    `between(number, count, offset, end)` is called before each statement after the first
    whose predecessor's `;` ends at `offset` (a point to resume at; the statement itself
    ends at `end`): the state is then the one the statements before it leave."""
    state.file, state.text, state.line_offset = filename, text, line_offset
    state.pg15 = pg15.Positions()
    try:
        # the interpreted part as blanks (newlines kept): the parser skips it, and locations
        # stay offsets into `text` (mapped by state.pg15 where words were quoted)
        written = pg15.as_pg15(_blank(text[:start]) + text[start:] if start else text)
        state.pg15 = written.positions
        statements = parse_statements(written.text)
    except pg15.NewerSyntax as exc:
        raise state.error(exc.message, exc.location) from None
    except pglast.parser.ParseError as exc:
        # args: (message, character index of the error in the written text)
        location = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0
        state.stmt_location = max(0, min(location, len(written.text)))
        raise state.error(str(exc.args[0]) if exc.args else str(exc), state.stmt_location) from None
    for number, raw in enumerate(statements):
        if between is not None and number:
            previous = statements[number - 1]
            end = (previous.stmt_location or 0) + (previous.stmt_len or 0)
            if previous.stmt_len and end < len(text) and text[end] == ";":
                between(
                    number, len(statements), end + 1, (raw.stmt_location or 0) + (raw.stmt_len or len(text))
                )
        stmt = raw.stmt
        state.stmt_location = raw.stmt_location or 0
        # the location points at leading whitespace/comments; move to the statement itself
        state.stmt_location = pg15.skip_blank(written.text, max(state.stmt_location, start))
        newer = pg15.newer_syntax(stmt)
        if newer is not None:
            raise state.error(*newer)
        interpret_statement(state, stmt)
    if not statements:
        return start
    last = statements[-1]
    end = state.pg15.source_offset((last.stmt_location or 0) + (last.stmt_len or len(written.text)))
    return end + 1 if end < len(text) and text[end] == ";" else None


def _blank(text: str) -> str:
    return "\n".join(" " * len(line) for line in text.split("\n"))


def compile_sql_with_warnings(text: str, filename: str = "<input>", *, strict: bool = False) -> CompileResult:
    """`strict`: an expression the canonicaliser does not model is an error naming the
    statement, not a warning (with pglast's text of it in the IR)."""
    state = State(strict=strict)
    with collector_paused():
        _interpret(state, text, filename)
    return finish(state)


def finish(state: State) -> CompileResult:
    """What the interpreted files give: the catalog, with what each LANGUAGE sql string
    body uses (sql_bodies: analysed now, over the whole schema, as the live frontend does),
    and the warnings, with one for each such body not analysed (at the routine's file and
    line; strict, a construct the analysis does not model is an error there)."""
    catalog = state.catalog()
    warnings = list(state.warnings)
    functions = []
    changed = False
    for f in catalog.functions:
        source = state.body_sources.get((f.schema, f.name, f.identity_arguments))
        if source is None or not sql_bodies.analysed(f):
            functions.append(f)
            continue
        used: tuple[Dependency, ...] | None = None
        try:
            used = sql_bodies.body_dependencies(f, state.builder, source.search_path)
        except Exception as exc:  # not modelled (Unsupported, ...), a name not found, a syntax error
            # strict, a body PostgreSQL checked (check_function_bodies on) must be analysed;
            # unchecked, its names may resolve only when it runs
            why = _why(exc)
            if state.strict and source.checked and not source.quiet:
                raise SourceError(
                    source.file, source.line, 1, f"cannot analyse the body of {f.name}: {why}"
                ) from exc
            if not source.quiet:
                warnings.append(CompileWarning(source.file, source.line, _not_analysed(f, why)))
        functions.append(dataclasses.replace(f, body_depends_on=used))
        changed = True
    if changed:
        catalog = dataclasses.replace(catalog, functions=tuple(functions))
    return CompileResult(catalog, tuple(warnings))


def _why(exc: Exception) -> str:
    why = " ".join(f"{type(exc).__name__}: {exc}".split())
    return why if len(why) <= 160 else why[:157] + "..."


def _not_analysed(f: Function, why: str) -> str:
    return (
        f"what the body of {f.name} uses is not analysed ({why}); "
        "its dependencies are read from the names in its text"
    )


def compile_sql(text: str, filename: str = "<input>", *, strict: bool = False) -> Catalog:
    """The schema one SQL script leaves in an empty database."""
    return compile_sql_with_warnings(text, filename, strict=strict).catalog


def compile_files(
    migrations: list[MigrationFile],
    platform: Platform | None = None,
    *,
    strict: bool = False,
    cache_dir: Path | None = None,
) -> CompileResult:
    """The schema `migrations` build, applied in order; on top of `platform`'s base when
    given (the platform's objects are in the result: see nself.ir.platform to leave them out).
    `strict`: as compile_sql_with_warnings. `cache_dir`: a directory (a project's `.nself/`)
    where what the compile gave is kept and reused while the files are the same
    (nself.frontends.sql_cache); the result is the one a compile without it gives."""
    with collector_paused():
        return _compile_files(migrations, platform, strict=strict, cache_dir=cache_dir)


def _compile_files(
    migrations: list[MigrationFile],
    platform: Platform | None = None,
    *,
    strict: bool = False,
    cache_dir: Path | None = None,
) -> CompileResult:
    cache = compile_cache(cache_dir, migrations, platform, strict=strict) if cache_dir is not None else None
    done, state = 0, None
    if cache is not None:
        cached = cache.result()
        if isinstance(cached, CompileResult):
            return cached
        done, state = cache.resume_point()
    if not isinstance(state, State):
        done, state = 0, initial_state(platform, strict=strict)
    last = len(migrations) - 1
    for number in range(done, len(migrations)):
        if cache is not None and number == last and number != done:
            # for an edit of the last file (unless that is the state just resumed from)
            cache.store_state(number, state, _dump_state)
        migration = migrations[number]
        # each migration starts a new session: search_path goes back to its default
        state.new_session()
        _interpret(state, migration.up_sql, str(migration.path), migration.line_offset)
    result = finish(state)
    if cache is not None:
        cache.store_result(result)
    return result


def compile_cache(
    cache_dir: Path, migrations: list[MigrationFile], platform: Platform | None, *, strict: bool = False
) -> CompileCache | None:
    """The on-disk cache entries of compiling `migrations` (see compile_files); None when
    nothing can be cached (no files, nself's own files unreadable)."""
    from nself.frontends.sql_cache import CompileCache

    if not migrations:
        return None
    context = f"{platform.name if platform is not None else ''}\0{strict}"
    cache = CompileCache(cache_dir, migrations, context, load=_load_state)
    return cache if cache.usable else None


# (platform name, strict) -> the interpreter's state after its base, pickled (each compile
# unpickles a copy of its own)
_PLATFORM_STATES: dict[tuple[str, bool], bytes] = {}


def initial_state(platform: Platform | None, *, strict: bool = False) -> State:
    """A new interpreter state: an empty database, or one holding `platform`'s base with the
    database's search_path the platform sets. The base is nself's own SQL: what it does not
    model is not the project's concern, so its warnings are dropped (strict, its expressions
    must all be canonicalised). `strict`: as compile_sql_with_warnings."""
    if platform is None:
        return State(strict=strict)
    blob = _PLATFORM_STATES.get((platform.name, strict))
    if blob is None:
        state = State(strict=strict)
        with collector_paused():
            for file in platform.files:
                state.new_session()
                _interpret(state, file.text, file.name)
        state.default_search_path = state.search_path = platform.search_path
        state.warnings = []
        state.body_sources = {k: dataclasses.replace(v, quiet=True) for k, v in state.body_sources.items()}
        state.platform = platform
        blob = _PLATFORM_STATES[(platform.name, strict)] = _dump_state(state)
    return _load_state(blob)


def platform_catalog(platform: Platform) -> Catalog:
    """What `platform`'s base adds to an empty database (the objects nself leaves out
    unless asked): the `public` schema an empty database has is not the platform's."""
    return without_objects_of(initial_state(platform).catalog(), State().catalog())


def _load_state(snapshot: bytes) -> State:
    """A State pickled by IncrementalCompiler (its pglast trees were valid when pickled)."""
    with unvalidated_nodes():
        state: State = pickle.loads(snapshot)
    return state


class _Snapshot:
    """The interpreter's state after one migration file: pickled (so later rounds cannot
    alter it), or still live after the last file of a round until `settle`; with a spare
    unpickled copy made while the watcher waits, so resuming costs nothing."""

    __slots__ = ("blob", "end", "live", "result", "spare", "text")

    def __init__(self, text: str, end: int | None, state: State, *, last: bool) -> None:
        self.text, self.end = text, end
        self.live: State | None = state if last else None
        self.blob: bytes | None = None if last else _dump_state(state)
        self.spare: State | None = None
        self.result: CompileResult | None = None  # what the round that ended here returned

    def settle(self) -> None:
        if self.live is not None:
            self.blob, self.live = _dump_state(self.live), None

    def take(self) -> State:
        """A State of its own for the caller to go on interpreting with."""
        if self.spare is not None:
            state, self.spare = self.spare, None
            return state
        self.settle()
        assert self.blob is not None
        return _load_state(self.blob)

    def prepare(self) -> None:
        self.settle()
        if self.spare is None and self.blob is not None:
            self.spare = _load_state(self.blob)


# what pickling or unpickling a State could raise (a value pickle cannot hold, a tree
# deeper than the recursion limit)
_SNAPSHOT_ERRORS = (pickle.PicklingError, pickle.UnpicklingError, RecursionError, TypeError, AttributeError)


def _dump_state(state: State) -> bytes:
    return ir_pickling.dumps(state)


# For IncrementalCompiler.settle: a file to checkpoint (see _to_checkpoint).
_Pending = tuple[tuple[object, ...], MigrationFile, _Snapshot | None, int, int | None]


class IncrementalCompiler:
    """compile_files for a watcher: keeps the interpreter's state after each migration file
    (keyed by the files before it and its text), so that a later round replays only the
    files that changed, and in a file that only changed after a statement's `;` (a
    statement appended, or the last ones edited), only what follows that point. Call
    `settle` while waiting for the next change: it does the bookkeeping a round leaves
    (pickling the last state, unpickling spare copies to resume from)."""

    # A file of at least this many statements gets checkpoints (states part-way through it,
    # made by `settle`), this many of them spread over its statements, and one before its
    # last statement: an edit in its middle then replays from the checkpoint before the
    # edit, not from its start. A smaller file is replayed whole in a few milliseconds.
    CHECKPOINT_MIN_STATEMENTS = 16
    CHECKPOINTS = 6

    def __init__(
        self, keep_per_file: int = 4, platform: Platform | None = None, *, strict: bool = False
    ) -> None:
        self.keep_per_file = keep_per_file
        self.platform = platform  # whose base the files are compiled on
        self.strict = strict  # as compile_sql_with_warnings
        # (files before, path, line offset) -> snapshots, most recently used first
        self._snapshots: dict[tuple[object, ...], list[_Snapshot]] = {}
        # (files before, path, line offset) -> states part-way through the file (end: where)
        self._checkpoints: dict[tuple[object, ...], list[_Snapshot]] = {}
        # the file the last round interpreted, for `settle` to checkpoint: key, migration,
        # the snapshot that round resumed from (None: the empty state) and its offset in the
        # file, and where the file's text last changed
        self._to_checkpoint: _Pending | None = None
        self._last_key: tuple[object, ...] | None = None
        self.replayed: list[tuple[str, int]] = []  # (file, resumed at offset) of the last round

    def compile_files(self, migrations: list[MigrationFile]) -> CompileResult:
        with collector_paused():
            try:
                return self._compile_files(migrations)
            except _SNAPSHOT_ERRORS:  # a state pickle cannot hold: compile without snapshots
                self._snapshots, self._last_key = {}, None
                return _compile_files(migrations, self.platform, strict=self.strict)

    def settle(self) -> None:
        with collector_paused():
            try:
                for entries in self._snapshots.values():
                    for entry in entries:
                        entry.settle()
                if self._last_key is not None:
                    for entry in self._snapshots.get(self._last_key, [])[:2]:
                        entry.prepare()
                pending = self._to_checkpoint
                self._checkpoint()
                if pending is not None:
                    # a copy ready to resume from where the next edit most likely is: the
                    # statement edited last, or the last statement
                    key, _, _, _, edited_at = pending
                    marks = self._checkpoints.get(key, [])
                    at_edit = [e for e in marks if edited_at is not None and (e.end or 0) <= edited_at]
                    for entry in {id(e): e for e in [*at_edit[-1:], *marks[-1:]]}.values():
                        entry.prepare()
            except _SNAPSHOT_ERRORS:
                self._snapshots, self._checkpoints, self._last_key = {}, {}, None

    def _checkpoint(self) -> None:
        """Replay the file the last round interpreted, from where that round resumed,
        keeping its state at a few points (CHECKPOINTS, and before the statement edited
        last): the work of a later round that resumes there, done while waiting. The
        checkpoints before that point stay (the text up to them is unchanged)."""
        pending, self._to_checkpoint = self._to_checkpoint, None
        if pending is None:
            return
        key, migration, base, start, edited_at = pending
        text = migration.up_sql
        if (len(text) - start) * self.CHECKPOINTS < len(text):
            return  # the round replayed a short tail: the checkpoints before it stay valid
        state = base.take() if base is not None else initial_state(self.platform)
        if not start:
            state.new_session()
        made: list[_Snapshot] = []

        def keep(number: int, count: int, offset: int, end: int) -> None:
            if count < self.CHECKPOINT_MIN_STATEMENTS:
                return  # the rest of the file replays in a few milliseconds
            step = max(1, count // self.CHECKPOINTS)
            if (
                number % step == 0
                or number == count - 1
                or (edited_at is not None and offset <= edited_at <= end)
            ):
                made.append(_Snapshot(text, offset, state, last=False))

        try:
            _interpret(state, text, str(migration.path), migration.line_offset, start, keep)
        except NselfError:
            return  # the round reported it; nothing to resume from
        kept = [e for e in self._checkpoints.get(key, []) if (e.end or 0) <= start]
        self._checkpoints[key] = kept + made

    def _compile_files(self, migrations: list[MigrationFile]) -> CompileResult:
        kept: dict[tuple[object, ...], list[_Snapshot]] = {}
        checkpoints: dict[tuple[object, ...], list[_Snapshot]] = {}
        self._to_checkpoint = None
        chain: tuple[object, ...] = ()
        state: State | None = None  # the live state, when a file was interpreted this round
        snapshot: _Snapshot | None = None  # else the snapshot after the files so far (None: empty)
        key: tuple[object, ...] | None = None
        self.replayed = []
        for number, migration in enumerate(migrations, start=1):
            text, path = migration.up_sql, str(migration.path)
            key = (chain, path, migration.line_offset)
            entries = self._snapshots.get(key, [])
            whole = next((e for e in entries if e.text == text), None)
            if whole is not None:
                state, snapshot = None, whole
                kept[key] = [whole, *[e for e in entries if e is not whole]][: self.keep_per_file]
            else:
                start = 0
                # checkpoints still valid: the text up to them has not changed
                valid = [e for e in self._checkpoints.get(key, []) if text.startswith(e.text[: e.end or 0])]
                if valid:
                    checkpoints[key] = valid
                partial = max(
                    (e for e in [*entries, *valid] if e.end is not None and text.startswith(e.text[: e.end])),
                    key=lambda e: e.end or 0,
                    default=None,
                )
                base, resumed = (partial, partial.end or 0) if partial is not None else (snapshot, 0)
                if partial is not None:
                    state, start = partial.take(), partial.end or 0
                elif state is None:
                    state = (
                        snapshot.take()
                        if snapshot is not None
                        else initial_state(self.platform, strict=self.strict)
                    )
                if not start:
                    # each migration starts a new session: search_path goes back to its default
                    state.new_session()
                self.replayed.append((path, start))
                end = _interpret(state, text, path, migration.line_offset, start)
                edited_at = _common_prefix(entries[0].text, text) if entries else None
                self._to_checkpoint = (key, migration, base, resumed, edited_at)
                snapshot = _Snapshot(text, end, state, last=number == len(migrations))
                # most recently used first: the snapshot resumed from stays, for the next edit
                used = [partial] if partial is not None and partial in entries else []
                kept[key] = [snapshot, *used, *[e for e in entries if e is not partial]][: self.keep_per_file]
            chain = (key, text)
        self._snapshots, self._checkpoints, self._last_key = kept, checkpoints, key
        if snapshot is not None and snapshot.result is not None and state is None:
            return snapshot.result  # nothing changed since the round that ended here
        if state is None:
            state = (
                snapshot.take() if snapshot is not None else initial_state(self.platform, strict=self.strict)
            )
        result = finish(state)
        if snapshot is not None:
            snapshot.result = result
        return result

    def compile_migrations(self, path: Path | str) -> CompileResult:
        return _with_code_migrations(self.compile_files(discover_migrations(path)), path)


def _with_code_migrations(result: CompileResult, path: Path | str) -> CompileResult:
    """`result`, warning of the migrations in Go among the files (goose's), whose effect on
    the schema the frontend cannot see."""
    code = code_migrations(path)
    if not code:
        return result
    missed = tuple(
        CompileWarning(str(c.path), 1, "a goose migration written in Go is not read: the schema lacks what it does")
        for c in code
    )
    return CompileResult(result.catalog, result.warnings + missed)


def _common_prefix(a: str, b: str) -> int:
    """The length of the longest common prefix of `a` and `b` (by halving: each step is
    one comparison in C)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[low:middle] == b[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


class _Detect:
    """The `platform` default: the platform whose project layout holds the path."""


DETECT = _Detect()


def _platform_of(path: Path | str, platform: Platform | _Detect | None) -> Platform | None:
    return detect_platform(Path(path)) if isinstance(platform, _Detect) else platform


def compile_migrations_with_warnings(
    path: Path | str,
    platform: Platform | _Detect | None = DETECT,
    *,
    strict: bool = False,
    cache_dir: Path | None = None,
) -> CompileResult:
    """`cache_dir`: as compile_files."""
    result = compile_files(discover_migrations(path), _platform_of(path, platform), strict=strict, cache_dir=cache_dir)
    return _with_code_migrations(result, path)


def report_warnings(result: CompileResult) -> Catalog:
    """The result's catalog, after warning (nself.errors.SourceWarning, which the CLI prints
    on stderr, one line each) of each of its warnings, but for statements that only change
    rows (INSERT, ...: a migration is expected to hold them)."""
    import warnings

    from nself.errors import SourceWarning

    for message in dict.fromkeys(str(w) for w in result.warnings if not w.data):
        warnings.warn(message, SourceWarning, stacklevel=2)
    return result.catalog


def compile_migrations(
    path: Path | str, platform: Platform | _Detect | None = DETECT, *, strict: bool = False
) -> Catalog:
    """The schema a migrations directory (or one .sql file) builds, applied in order, on
    top of the base of `platform` (by default the platform whose layout holds `path`, as
    `supabase/migrations` is a Supabase project's; None: an empty database). `strict`: as
    compile_sql_with_warnings."""
    return compile_migrations_with_warnings(path, platform, strict=strict).catalog
