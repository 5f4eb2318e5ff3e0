"""The `nself` process's entry point. `nself --version`, `nself --help` and `nself GROUP
--help` answer before the command tree (typer, rich, every command group) is imported:
editors and build systems ask them often, and they need none of it (the help comes from
nself.cli.tree's tables).
A plain `nself schema show`, `schema diff`, `db query SQL --csv`, `db dump` or `db load` runs
without typer or click (nself.cli.quick); any other command loads typer and only the module
of the command it runs (nself.cli.main)."""

from __future__ import annotations

import gc
import os
import sys
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING, NoReturn, cast

from nself import __version__

if TYPE_CHECKING:
    from importlib.abc import Loader


def run(argv: list[str] | None = None) -> NoReturn:
    args = list(sys.argv[1:] if argv is None else argv)
    text = quick_answer(args)
    if text is not None:
        _answer(text)
    _collect_less(args)
    _known_versions()
    if args[:2] in (["schema", "diff"], ["schema", "show"], ["db", "query"], ["db", "dump"], ["db", "load"]):
        from nself.cli.quick import run_plain

        run_plain(args)  # returns only when the command line is not a plain one
    from nself.cli.main import run as run_command

    run_command(args)


def quick_answer(args: list[str]) -> str | None:
    """What `nself ARGS` prints without loading the command tree (the version, the root's or a
    group's help), or None when the command tree must answer."""
    given = [a for a in args if a != "--debug"]
    if given == ["--version"]:
        return f"nself {__version__}\n"
    if "_NSELF_COMPLETE" not in os.environ:
        if given in ([], ["--help"], ["-h"]):
            from nself.cli.tree import root_help

            return root_help()
        if len(given) == 2 and given[1] in ("--help", "-h"):
            from nself.cli.tree import group_help

            return group_help(given[0])
    return None


# Commands that read or compare schemas once and end: no cyclic garbage collection at all.
_ONE_SHOT = (["schema", "diff"], ["schema", "show"])


def _collect_less(args: list[str]) -> None:
    """The process's cyclic garbage collector, set for what nself's commands build: large
    structures that live until the command ends (catalogs of many thousand objects, lists of
    rows) and almost no reference cycles. At Python's defaults (a young collection every 700
    allocations, whose survivors are scanned again and again in older collections) the
    collector costs about a quarter of reading and diffing two 1,000-table databases. A
    young collection every 100,000 allocations still frees the cycles a long-running command
    (--watch) leaves. `schema show` and `schema diff` end when their one catalog or diff is
    written, leaving no cycles worth collecting: even young collections of what they build
    (every survivor scanned once more, 25 ms each at 1,000 tables) were a tenth of a diff's
    CPU, so the collector is off for them. Only for the process's own entry point: a program
    embedding nself keeps its own settings.

    A one-shot `nself types` runs without the collector: it reads a compiled catalog and
    the outputs' pieces from its caches (millions of objects that live until it ends, and
    that the first young collection after reading them, then the older ones, scan again:
    a fifth of its CPU after an edit of 10,000 tables), makes almost no cycles, and ends."""
    if args[:2] in _ONE_SHOT or (args[:1] == ["types"] and "--watch" not in args):
        gc.disable()
    else:
        gc.set_threshold(100_000, 20, 100)


# The modules that only read their distribution's version from the installed metadata, by
# the distribution: psycopg's and psycopg_binary's `version` modules each call
# importlib.metadata.version() when psycopg is imported.
_VERSION_MODULES = {"psycopg": "psycopg.version", "psycopg_binary": "psycopg_binary.version"}


class _Versions:
    """An import finder and loader that answers the _VERSION_MODULES with the version their
    distribution's METADATA file states, read directly: importing importlib.metadata (and the
    email parser, zipfile and more with it) and searching every sys.path entry for the two
    distributions is about a quarter of psycopg's import, which every command connecting to
    PostgreSQL pays."""

    def __init__(self, versions: dict[str, str]) -> None:
        self.versions = versions

    def find_spec(self, name: str, path: object = None, target: object = None) -> ModuleSpec | None:
        return ModuleSpec(name, cast("Loader", self)) if name in self.versions else None

    def create_module(self, spec: ModuleSpec) -> None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        module.__version__ = self.versions[module.__name__]  # type: ignore[attr-defined]


def _known_versions() -> None:
    """Let psycopg import without importlib.metadata (see _Versions). Only for the process's
    own entry point, and only when each distribution has exactly one .dist-info folder beside
    its package, whose METADATA states its version; otherwise nothing changes."""
    versions: dict[str, str] = {}
    for distribution, module in _VERSION_MODULES.items():
        for entry in sys.path:
            package = os.path.join(entry or ".", distribution)
            if not os.path.isfile(os.path.join(package, "__init__.py")):
                continue
            try:
                infos = [
                    name
                    for name in os.listdir(entry or ".")
                    if name.startswith(f"{distribution}-") and name.endswith(".dist-info")
                ]
                if len(infos) != 1:
                    return
                with open(os.path.join(entry or ".", infos[0], "METADATA"), encoding="utf-8") as lines:
                    for line in lines:
                        if not line.strip():
                            return  # the headers ended without a version
                        if line.startswith("Version:"):
                            versions[module] = line.partition(":")[2].strip()
                            break
            except OSError:
                return
            break
    if versions:
        sys.meta_path.insert(0, _Versions(versions))


def _answer(text: str) -> NoReturn:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `nself --help | head`: the reader has what it wanted
        pass
    os._exit(0)
