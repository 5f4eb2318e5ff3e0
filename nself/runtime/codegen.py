"""Type generation as a build step: the outputs configured in nself.toml `[types]`,
generated in one run, checked for staleness (`--check`) or kept fresh (`--watch`).

    [types]
    source = "nself/migrations"        # optional, for every output

    [types.typescript]
    output = "types/db.ts"
    with_relations = true

    [types.go]
    output = "models/db.go"
    package = "models"
    source = "schema.dbml"              # optional, for this output only

A SOURCE is what `nself.runtime.sources.load_catalog` reads. Without one, the default is
the project's migrations directory (nself/migrations) when it exists, else the local
environment (the database nself manages)."""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from nself.backends import TYPE_LANGUAGES, load_renderer
from nself.backends.types.common import Fragments, TypesWarning, object_digests
from nself.collector import collector_paused
from nself.connection import is_connection_target
from nself.errors import NselfError, OptionError, SourceError, line_containing
from nself.ir import Catalog, IRFormatError
from nself.runtime.forked import forked_map
from nself.runtime.project import Project
from nself.runtime.sources import load_catalog, platform_of_path, strip_platform
from nself.textfiles import read_user_text

# Options each language accepts in nself.toml (besides output and source), with their type.
LANGUAGE_OPTIONS: dict[str, dict[str, type]] = {
    "typescript": {
        "with_relations": bool,
        "relationships": bool,
        "flavor": str,
        "int8": str,
        "numeric": str,
        "partitions": bool,
        "arrays": str,
    },
    "go": {"package": str, "arrays": str},
    "python": {"pydantic": bool, "arrays": str},
    "swift": {"arrays": str},
    "rust": {"arrays": str},
    "graphql": {"with_hasura": bool, "arrays": str},
}
# Options `[types]` itself may set for every output (a `[types.LANGUAGE]` value wins).
SHARED_OPTIONS: dict[str, type] = {"arrays": str}

# Files whose change can change a schema read from a directory or file source.
WATCHED_SUFFIXES = (".sql", ".dbml", ".json")


@dataclass(frozen=True)
class TypeOutput:
    """One configured output: `language` rendered with `options` from `source` into `path`."""

    language: str
    path: Path
    options: Mapping[str, Any] = field(default_factory=dict)
    source: str | None = None


@dataclass(frozen=True)
class Generated:
    output: TypeOutput
    text: str
    current: str | None  # what is on disk now (None: no file)

    @property
    def stale(self) -> bool:
        return self.current != self.text


def single_output(
    project: Project,
    language: str,
    options: Mapping[str, Any],
    source: str | None,
    path: Path | None,
) -> TypeOutput:
    """What a single-language command (`nself types go -o x.go`) renders: `options` given on
    the command line over those of `[types.<language>]` in nself.toml when that output is
    the one written (no `-o`, or `-o` naming its file), so `--check` compares a file with
    what `nself types` writes there. `source`: --from (None: the configured source, else
    the default)."""
    configured = next((o for o in configured_outputs(project) if o.language == language), None)
    if configured is not None and (path is None or path.resolve() == configured.path.resolve()):
        chosen = source if source is not None else configured.source
        return TypeOutput(language, path or configured.path, {**configured.options, **options}, chosen)
    return TypeOutput(language, path or Path("-"), dict(options), source)


def render_output(project: Project, output: TypeOutput, *, include_platform: bool = False) -> str:
    """The text of one output, its source read here (relative to the project root, as in
    nself.toml; None: the default source)."""
    catalog = load_catalog(
        _resolve_source(output.source, project), project, include_platform=include_platform
    )
    return render_types(output.language, catalog, output.options)


@contextmanager
def type_warnings() -> Iterator[list[str]]:
    """Collects the TypesWarnings of the renders run inside (a name a language refuses,
    renamed), each message once, into the list it yields, for the CLI to print."""
    found: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TypesWarning)
        yield found
    for warning in caught:
        if issubclass(warning.category, TypesWarning):
            if str(warning.message) not in found:
                found.append(str(warning.message))
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)


def default_source(project: Project) -> str | None:
    """The migrations directory when the project has one, else None (the local environment)."""
    return str(project.migrations_dir) if project.migrations_dir.is_dir() else None


def language_renderer(language: str) -> Callable[[Catalog, Mapping[str, Any]], dict[str, str]]:
    """The backend's render function for `language` (its module imported on first use)."""
    if language not in TYPE_LANGUAGES:
        raise OptionError(f"unknown language {language!r} (one of: {', '.join(TYPE_LANGUAGES)})")
    try:
        return load_renderer(TYPE_LANGUAGES[language])
    except ModuleNotFoundError as exc:
        if exc.name == TYPE_LANGUAGES[language]:
            raise OptionError(f"the {language} backend is not available in this build of nself") from exc
        raise


def render_types(
    language: str, catalog: Catalog, options: Mapping[str, Any], fragments: Fragments | None = None
) -> str:
    """The text of one language's output. `fragments` (for the languages in
    FRAGMENT_LANGUAGES): the pieces of an earlier render to reuse, filled with this one's."""
    render = language_renderer(language)
    if fragments is not None and language in FRAGMENT_LANGUAGES:
        files = cast(Callable[..., dict[str, str]], render)(catalog, options, fragments)
    else:
        files = render(catalog, options)
    return "".join(files[name] for name in sorted(files))


# The languages whose render takes `fragments` (nself.backends.types.common.Fragments):
# after an edit, only the tables and views it touched are rendered again.
FRAGMENT_LANGUAGES = frozenset(TYPE_LANGUAGES)


def configured_outputs(project: Project) -> list[TypeOutput]:
    """The `[types]` table of nself.toml as outputs, in the order written. Errors point at
    the line of nself.toml."""
    config = project.config.get("types")
    path = project.config_path
    text = read_user_text(path) if path.is_file() else ""
    if config is None:
        return []
    if not isinstance(config, dict):
        raise SourceError(path, line_containing(text, "types"), 1, "[types] must be a table")
    common_source = config.get("source")
    if common_source is not None and not isinstance(common_source, str):
        raise SourceError(path, line_containing(text, "source"), 1, "types.source must be a string")
    shared: dict[str, Any] = {}
    for key, kind in SHARED_OPTIONS.items():
        if key in config:
            if not isinstance(config[key], kind):
                raise SourceError(
                    path, line_containing(text, key), 1, f"types.{key} must be a {kind.__name__}"
                )
            shared[key] = config[key]
    outputs: list[TypeOutput] = []
    for language, settings in config.items():
        if language == "source" or language in SHARED_OPTIONS:
            continue
        line = line_containing(text, f"types.{language}")
        if language not in LANGUAGE_OPTIONS:
            raise SourceError(
                path, line, 1, f"types.{language}: unknown language (one of: {', '.join(LANGUAGE_OPTIONS)})"
            )
        if not isinstance(settings, dict):
            raise SourceError(path, line, 1, f'types.{language} must be a table with output = "FILE"')
        output = settings.get("output")
        if not isinstance(output, str) or not output:
            raise SourceError(
                path, line, 1, f'types.{language}.output must be a file path, e.g. output = "types/db.ts"'
            )
        source = settings.get("source", common_source)
        if source is not None and not isinstance(source, str):
            raise SourceError(path, line, 1, f"types.{language}.source must be a string")
        options: dict[str, Any] = dict(shared)
        for key, value in settings.items():
            if key in ("output", "source"):
                continue
            expected = LANGUAGE_OPTIONS[language].get(key)
            if expected is None:
                known = ", ".join(["output", "source", *LANGUAGE_OPTIONS[language]])
                raise SourceError(
                    path,
                    line_containing(text, key) or line,
                    1,
                    f"types.{language}.{key}: unknown option (known: {known})",
                )
            if not isinstance(value, expected):
                raise SourceError(
                    path,
                    line_containing(text, key) or line,
                    1,
                    f"types.{language}.{key} must be a {expected.__name__}",
                )
            options[key] = value
        outputs.append(TypeOutput(language, project.root / output, options, source))
    return outputs


def _resolve_source(source: str | None, project: Project) -> str | None:
    """A source relative to the project root (nself.toml's paths are), or the default."""
    if source is None:
        return default_source(project)
    if is_connection_target(source) or source in project.environments or source == "local":
        return source
    path = Path(source)
    return str(path if path.is_absolute() else project.root / path)


@dataclass
class RenderCache:
    """What the last round rendered, so that a round whose schema did not change (a
    migration saved with only whitespace or comments changed) renders nothing."""

    catalogs: dict[str | None, Catalog] = field(default_factory=dict)
    texts: dict[tuple[str | None, str, str], str] = field(default_factory=dict)
    # the TypesWarnings each text's render gave: warned again when the text is reused, so
    # every round says what a one-shot run says
    warnings: dict[tuple[str | None, str, str], list[str]] = field(default_factory=dict)
    # per migrations source: the SQL frontend's state after each file, so that a round
    # replays only the files (or the tail of the file) that changed
    compilers: dict[str, Any] = field(default_factory=dict)

    def settle(self) -> None:
        """Bookkeeping for the next round, done while the watcher waits."""
        for compiler in self.compilers.values():
            compiler.settle()


def _load_catalog(
    source: str | None, project: Project, cache: RenderCache | None, include_platform: bool = False
) -> Catalog:
    """load_catalog, but incremental for migrations (a directory or a .sql file) when a
    watcher's cache is given."""
    if cache is not None and source is not None and not is_connection_target(source):
        path = Path(source)
        if (
            source not in project.environments
            and source != "local"
            and (path.is_dir() or (path.suffix == ".sql" and path.is_file()))
        ):
            compiler = cache.compilers.get(source)
            platform = platform_of_path(path, project)
            if compiler is None:
                from nself.frontends.sql import IncrementalCompiler

                compiler = cache.compilers[source] = IncrementalCompiler(platform=platform)
            from nself.frontends.sql import report_warnings

            catalog: Catalog = report_warnings(compiler.compile_migrations(path))
            if platform is not None and not include_platform:
                catalog = strip_platform(catalog, platform)
            return catalog
    return load_catalog(source, project, include_platform=include_platform)


def generate(
    project: Project,
    outputs: Sequence[TypeOutput],
    cache: RenderCache | None = None,
    *,
    parallel: bool = False,
    include_platform: bool = False,
) -> list[Generated]:
    """Render every output (each source read once) and read what is on disk beside it.
    `parallel`: render on every core (forked processes) when the schema is big enough to
    gain from it; only for a process that runs no other threads (see runtime.forked).
    `include_platform`: keep the objects of the project's platform (auth, storage, ...)."""
    texts = _render_outputs(project, outputs, cache, parallel=parallel, include_platform=include_platform)
    results: list[Generated] = []
    for output, text in zip(outputs, texts, strict=True):
        current = output.path.read_text(encoding="utf-8") if output.path.is_file() else None
        results.append(Generated(output, cast(str, text), current))
    return results


def generate_files(
    project: Project, outputs: Sequence[TypeOutput], *, parallel: bool = False, include_platform: bool = False
) -> list[tuple[TypeOutput, bool]]:
    """generate() then write(), for a one-shot run: each output with whether its file was
    written (False: it already held those bytes). A render in a forked process writes its
    own output's text (hundreds of MB at 10,000 tables never travel back) beside the file;
    the files are replaced only once every render succeeded, so a failed run leaves them all
    as they were."""
    try:
        written = _render_outputs(
            project, outputs, None, parallel=parallel, include_platform=include_platform, write_files=True
        )
    except BaseException:
        for output in outputs:
            _staged(output.path).unlink(missing_ok=True)
        raise
    for output, flag in zip(outputs, written, strict=True):
        if flag:
            os.replace(_staged(output.path), output.path)
    return [(output, bool(flag)) for output, flag in zip(outputs, written, strict=True)]


def _render_outputs(
    project: Project,
    outputs: Sequence[TypeOutput],
    cache: RenderCache | None,
    *,
    parallel: bool,
    include_platform: bool,
    write_files: bool = False,
) -> list[str | bool]:
    """Each output's text; with `write_files`, whether its file was written instead (the
    file is written where the text is rendered or read: by a forked render, its own)."""
    from nself.runtime.forked import fork_available

    if not parallel or not fork_available():
        return _render(project, outputs, cache, parallel=parallel, include_platform=include_platform, write_files=write_files)
    from nself.frontends.sql_cache import writes_forked

    with writes_forked():  # the compile's result written beside the renders
        return _render(project, outputs, cache, parallel=parallel, include_platform=include_platform, write_files=write_files)


def _render(
    project: Project,
    outputs: Sequence[TypeOutput],
    cache: RenderCache | None,
    *,
    parallel: bool,
    include_platform: bool,
    write_files: bool,
) -> list[str | bool]:
    catalogs: dict[str | None, Catalog] = {}
    keys: list[tuple[str | None, str, str]] = []
    for output in outputs:
        source = _resolve_source(output.source, project)
        if source not in catalogs:
            catalogs[source] = _load_catalog(source, project, cache, include_platform)
        keys.append((source, output.language, repr(sorted(output.options.items()))))
    texts: dict[tuple[str | None, str, str], str] = {}
    found: dict[tuple[str | None, str, str], list[str]] = {}
    if cache is not None:
        texts.update(
            (k, cache.texts[k])
            for k in keys
            if cache.catalogs.get(k[0]) == catalogs[k[0]] and k in cache.texts
        )
        found.update((k, cache.warnings.get(k, [])) for k in texts)
    stored = RenderStore(project, include_platform) if cache is None else None
    if stored is not None:
        for key in dict.fromkeys(keys):
            hit = stored.get(key)
            if hit is not None:
                texts[key], found[key] = hit
    destinations: dict[tuple[str | None, str, str], list[TypeOutput]] = {}
    for key, output in zip(keys, outputs, strict=True):
        destinations.setdefault(key, []).append(output)
    jobs = [(k, o) for k, o in zip(keys, outputs, strict=True) if k not in texts]
    jobs = list({k: (k, o) for k, o in jobs}.values())  # two outputs of the same text render once

    # The pieces of earlier renders (RenderStore.get_fragments), keyed by digests of the
    # catalog's objects, computed once here for every language (and forked child). Every
    # output's entry is kept, those rendered and those read whole alike.
    pieces = {k for k in keys if stored is not None and stored.fragments_entry(k) is not None}
    digests = {
        source: object_digests(catalogs[source])
        for source in dict.fromkeys(k[0] for k, _ in jobs if k in pieces)
    }

    def render_job(
        job: tuple[tuple[str | None, str, str], TypeOutput],
    ) -> tuple[str | tuple[bool, ...], list[str]]:
        """The text (with `write_files`: which of its outputs' files were written), and the
        TypesWarnings of the render as messages: a render in a forked child sends them back
        with the text, and they are warned again here."""
        key, output = job
        fragments = None
        if stored is not None and key[0] in digests:
            fragments = Fragments(digests[key[0]], stored.get_fragments(key))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", TypesWarning)
            text = render_types(output.language, catalogs[key[0]], output.options, fragments)
        if fragments is not None and stored is not None:
            stored.put_fragments(key, fragments)
        found = [str(w.message) for w in caught if issubclass(w.category, TypesWarning)]
        for warning in caught:
            if not issubclass(warning.category, TypesWarning):
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
        if write_files:
            written = tuple(_write_output(o.path, text) for o in destinations[key])
            if stored is not None:
                stored.put(key, text, found)
            return written, found
        if stored is not None:  # kept here: a forked render writes its own output's entry
            stored.put(key, text, found)
        return text, found

    if parallel and sum(_render_weight(catalogs[k[0]]) for k, _ in jobs) >= PARALLEL_RENDER_WEIGHT:
        # Longest first, so the processes end together: a long render taken last would
        # leave the other processes idle.
        jobs.sort(key=lambda job: -RENDER_COST.get(job[1].language, 1))
        for _, output in jobs:  # imported once, before the fork, rather than once per process
            language_renderer(output.language)
        rendered = forked_map(render_job, jobs)
    else:
        rendered = [render_job(job) for job in jobs]
    done: dict[tuple[str | None, str, str], str | tuple[bool, ...]] = dict(texts)
    if write_files:  # the texts read whole from the store: written here
        done.update((k, tuple(_write_output(o.path, t) for o in destinations[k])) for k, t in texts.items())
    done.update((k, text) for (k, _), (text, _) in zip(jobs, rendered, strict=True))
    found.update((k, messages) for (k, _), (_, messages) in zip(jobs, rendered, strict=True))
    if stored is not None:
        for key, _ in jobs:
            stored.keep(key)
        stored.prune()
    for message in dict.fromkeys(m for k in dict.fromkeys(keys) for m in found.get(k, [])):
        warnings.warn(message, TypesWarning, stacklevel=2)
    if cache is not None:
        cache.texts.update((k, cast(str, t)) for k, t in done.items())
        cache.warnings.update(found)
        cache.catalogs.update(catalogs)
    if write_files:  # each output's flag among those of the outputs of its text
        return [cast(tuple[bool, ...], done[k])[destinations[k].index(o)] for k, o in zip(keys, outputs, strict=True)]
    return [cast(str, done[k]) for k in keys]


def _write_output(path: Path, text: str) -> bool:
    """Stage `text` beside `path` (generate_files puts it in place) unless the file holds
    those bytes already; True: staged."""
    data = (text if os.linesep == "\n" else text.replace("\n", os.linesep)).encode("utf-8")  # as write_text
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    _staged(path).write_bytes(data)
    return True


def _staged(path: Path) -> Path:
    return path.with_name(f".{path.name}.nself-new")


class RenderStore:
    """The rendered outputs of one-shot runs, kept in the project's `.nself/cache/types/`
    beside the sql frontend's compile cache (nself.frontends.sql_cache): an output of a
    migrations source is read from there while the files compile to the same catalog (the
    compile cache's key of the files, which covers the frontend's code) and the renderers,
    their templates, the language and the options are the same (a digest of their code).
    Other sources (databases, DBML and JSON files) are always rendered."""

    _PARTS = ("backends", "templates", "templating.py", "runtime/codegen.py", "ir")

    def __init__(self, project: Project, include_platform: bool) -> None:
        from nself.runtime.sources import compile_cache_dir

        self.project, self.include_platform = project, include_platform
        self.root = compile_cache_dir(project)
        self.directory = self.root / "types"
        self._sources: dict[str | None, str | None] = {}
        self._kept: set[str] = set()

    def _source_key(self, source: str | None) -> str | None:
        """The compile cache's key of the migration files `source` names (None: not files)."""
        if source not in self._sources:
            self._sources[source] = None
            path = Path(source) if source is not None else None
            if (
                path is not None
                and not is_connection_target(str(source))
                and source not in self.project.environments
                and source != "local"
                and (path.is_dir() or (path.suffix == ".sql" and path.is_file()))
            ):
                from nself.frontends.migration_files import discover_migrations
                from nself.frontends.sql import compile_cache

                compiled = compile_cache(
                    self.root, discover_migrations(path), platform_of_path(path, self.project)
                )
                self._sources[source] = compiled.keys[-1] if compiled is not None else None
        return self._sources[source]

    def _entry(self, key: tuple[str | None, str, str]) -> tuple[Path, str] | None:
        import hashlib

        import jinja2

        from nself.frontends.sql_cache import code_fingerprint

        files = self._source_key(key[0])
        code = code_fingerprint(self._PARTS)
        if files is None or code is None:
            return None
        text = f"{files}\0{code}\0{jinja2.__version__}\0{self.include_platform}\0{key[1]}\0{key[2]}"
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        return self.directory / f"{key[1]}-{digest}.pickle", digest

    def fragments_entry(self, key: tuple[str | None, str, str]) -> list[tuple[Path, str]] | None:
        """Where the pieces of the output `key` names are kept (Fragments): PIECE_SHARDS
        entries per source, language and options, whatever the files hold (the pieces' own
        keys say what they were rendered from), a piece in the one its key's first byte
        picks, so that an edit of a few tables rewrites a few entries; None: not kept (not
        a migrations source, a language that renders no pieces). Counted as current by
        `prune`."""
        import hashlib

        import jinja2

        from nself.frontends.sql_cache import code_fingerprint

        if key[1] not in FRAGMENT_LANGUAGES or self._source_key(key[0]) is None:
            return None
        code = code_fingerprint(self._PARTS)
        if code is None:
            return None
        text = f"fragments\0{key[0]}\0{code}\0{jinja2.__version__}\0{self.include_platform}\0{key[1]}\0{key[2]}"
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        entries = [(self.directory / f"{key[1]}-pieces-{digest}-{n}.pickle", digest) for n in range(PIECE_SHARDS)]
        self._kept.update(path.name for path, _ in entries)
        return entries

    def get_fragments(self, key: tuple[str | None, str, str]) -> dict[bytes, object] | None:
        """The pieces kept for the output `key` names (None: none; an entry that cannot be
        read holds none)."""
        from nself.frontends.sql_cache import read_entry

        entries = self.fragments_entry(key)
        if entries is None:
            return None
        found: dict[bytes, object] = {}
        with collector_paused():  # tens of thousands of tuples, all kept
            for entry in entries:
                value = read_entry(*entry)
                if isinstance(value, dict):
                    found.update(value)
        return found

    def put_fragments(self, key: tuple[str | None, str, str], fragments: Fragments) -> None:
        """Keep this render's pieces (those it used or made): the entries whose pieces are
        not those kept are written again."""
        import pickle

        from nself.frontends.sql_cache import write_entry

        entries = self.fragments_entry(key)
        if entries is None or fragments.kept.keys() == fragments.known.keys():
            return
        shards: list[dict[bytes, object]] = [{} for _ in entries]
        for piece, value in fragments.kept.items():
            shards[piece[0] % PIECE_SHARDS][piece] = value
        before: list[set[bytes]] = [set() for _ in entries]
        for piece in fragments.known:
            before[piece[0] % PIECE_SHARDS].add(piece)
        for entry, shard, known in zip(entries, shards, before, strict=True):
            if shard.keys() != known:
                write_entry(*entry, shard, pickle.dumps, self.root)

    def get(self, key: tuple[str | None, str, str]) -> tuple[str, list[str]] | None:
        """(text, the render's TypesWarnings) of the output `key` names, if kept."""
        from nself.frontends.sql_cache import read_entry

        entry = self._entry(key)
        if entry is None:
            return None
        value = read_entry(*entry)
        if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str)):
            return None
        self._kept.add(entry[0].name)
        return value[0], [str(m) for m in value[1]]

    def put(self, key: tuple[str | None, str, str], text: str, messages: list[str]) -> None:
        import pickle

        from nself.frontends.sql_cache import write_entry

        entry = self._entry(key)
        if entry is not None and write_entry(*entry, (text, list(messages)), pickle.dumps, self.root):
            self._kept.add(entry[0].name)

    def keep(self, key: tuple[str | None, str, str]) -> None:
        """Count the entry of the output `key` names as current (`put` in another process)."""
        entry = self._entry(key)
        if entry is not None:
            self._kept.add(entry[0].name)

    def prune(self) -> None:
        """Remove the outputs no longer current (kept: those of this run)."""
        from nself.frontends.sql_cache import prune

        if self._kept:
            prune(self.directory, self._kept)


# The entries each output's pieces are spread over (RenderStore.fragments_entry).
PIECE_SHARDS = 8

# Relative time of each language's render (bench/bench_types.py, 1,000 tables).
RENDER_COST = {"swift": 65, "graphql": 61, "go": 47, "rust": 46, "typescript": 40, "python": 23}

# Below this many columns in all the renders of a run, forking costs more than it saves
# (pagila's six renders take about 30 ms in one process).
PARALLEL_RENDER_WEIGHT = 5_000


def _render_weight(catalog: Catalog) -> int:
    return sum(len(t.columns) for t in catalog.tables) + sum(len(v.columns) for v in catalog.views)


def write(results: Iterable[Generated]) -> list[Path]:
    """Write the outputs whose text changed; return their paths."""
    written: list[Path] = []
    for result in results:
        if not result.stale:
            continue
        result.output.path.parent.mkdir(parents=True, exist_ok=True)
        result.output.path.write_text(result.text, encoding="utf-8")
        written.append(result.output.path)
    return written


def stale(results: Iterable[Generated]) -> list[Path]:
    """Outputs whose file differs from what would be generated (or is missing)."""
    return [r.output.path for r in results if r.stale]


# --------------------------------------------------------------------------- watch


def watched_paths(project: Project, outputs: Sequence[TypeOutput]) -> list[Path]:
    """The directories and files whose changes regenerate `outputs`: each file source
    (a migrations directory, a .sql/.dbml/.json file). Database sources cannot be watched."""
    paths: list[Path] = []
    for output in outputs:
        source = _resolve_source(output.source, project)
        if source is None or is_connection_target(source) or source in project.environments:
            raise OptionError(
                f"--watch: the {output.language} output reads a database "
                f"({source or 'the local environment'}); watch needs a migrations directory or a .sql/.dbml file "
                "(set [types] source in nself.toml or --from)"
            )
        path = Path(source)
        if path not in paths:
            paths.append(path)
    return paths


def _relevant(changed: Path, sources: Sequence[Path], outputs: Sequence[TypeOutput]) -> bool:
    if any(changed == o.path for o in outputs):
        return False  # our own writes
    for source in sources:
        if source.is_dir() or not source.suffix:
            if changed.suffix in WATCHED_SUFFIXES and source in changed.parents:
                return True
        elif changed == source:
            return True
    return False


@dataclass
class Regeneration:
    """What one round of `watch` did: the files written, or the error that stopped it."""

    written: list[Path]
    seconds: float
    error: str | None = None  # one line
    warnings: list[str] = field(default_factory=list)  # the renders' TypesWarnings, each once


def regenerate(
    project: Project,
    outputs: Sequence[TypeOutput],
    cache: RenderCache | None = None,
    *,
    include_platform: bool = False,
) -> Regeneration:
    started = time.perf_counter()
    try:
        with collector_paused(), type_warnings() as found:
            written = write(generate(project, outputs, cache, include_platform=include_platform))
    except (NselfError, IRFormatError) as exc:
        return Regeneration([], time.perf_counter() - started, " ".join(str(exc).split()))
    except Exception as exc:  # a bug must not end a watch session either; say what it was
        message = f"internal error: {type(exc).__name__}: {exc}"
        return Regeneration([], time.perf_counter() - started, " ".join(message.split()))
    return Regeneration(written, time.perf_counter() - started, warnings=found)


def watch(
    project: Project,
    outputs: Sequence[TypeOutput],
    report: Callable[[Regeneration], None],
    *,
    stop: threading.Event | None = None,
    step_ms: int = 20,
    debounce_ms: int = 1600,
    initial: bool = True,
    include_platform: bool = False,
) -> None:
    """Regenerate `outputs` once the watcher is running (unless not `initial`) and after
    every change of their sources, until `stop` is set (or Ctrl-C). Changes within
    `step_ms` of each other are handled as one (an editor's save is a write, or a write and
    a rename, within a millisecond or two; every millisecond waited here is latency). Each
    round is reported; an error is
    reported and watching goes on."""
    import watchfiles

    sources = watched_paths(project, outputs)
    # Watch each source's directory (a single file may be replaced by an editor's rename).
    roots = sorted({str(p if p.is_dir() else p.parent) for p in sources})
    resolved_outputs = list(outputs)

    def keep(change: watchfiles.Change, path: str) -> bool:
        return _relevant(Path(path), sources, resolved_outputs)

    # The watcher starts on the first iteration and yields an empty set when nothing
    # happened for `rust_timeout` ms: the first yield, whatever it holds, means the watcher
    # is running, so the first generation cannot miss a change made right after it.
    pending_initial = initial
    cache = RenderCache()
    for changes in watchfiles.watch(
        *roots,
        watch_filter=keep,
        step=step_ms,
        debounce=debounce_ms,
        stop_event=stop,
        raise_interrupt=False,
        rust_timeout=200,
        yield_on_timeout=True,
    ):
        if changes or pending_initial:
            pending_initial = False
            report(regenerate(project, outputs, cache, include_platform=include_platform))
            cache.settle()
