"""The `nself` process's entry point. `nself --version`, `nself --help` and `nself GROUP
--help` answer before the command tree (typer, rich, every command group) is imported:
editors and build systems ask them often, and they need none of it (the help comes from
nself.cli.tree's tables).
A plain `nself schema show`, `schema diff` or `db query SQL --csv` runs without typer or click
(nself.cli.quick); any other command loads typer and only the module of the command it runs
(nself.cli.main)."""

from __future__ import annotations

import gc
import os
import sys
from typing import NoReturn

from nself import __version__


def run(argv: list[str] | None = None) -> NoReturn:
    args = list(sys.argv[1:] if argv is None else argv)
    text = quick_answer(args)
    if text is not None:
        _answer(text)
    _collect_less(args)
    if args[:2] in (["schema", "diff"], ["schema", "show"], ["db", "query"]):
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


def _collect_less(args: list[str]) -> None:
    """The process's cyclic garbage collector, set for what nself's commands build: large
    structures that live until the command ends (catalogs of many thousand objects, lists of
    rows) and almost no reference cycles. At Python's defaults (a young collection every 700
    allocations, whose survivors are scanned again and again in older collections) the
    collector costs about a quarter of reading and diffing two 1,000-table databases. A
    young collection every 100,000 allocations still frees the cycles a long-running command
    (--watch) leaves. Only for the process's own entry point: a program embedding nself keeps
    its own settings.

    A one-shot `nself types` runs without the collector: it reads a compiled catalog and
    the outputs' pieces from its caches (millions of objects that live until it ends, and
    that the first young collection after reading them, then the older ones, scan again:
    a fifth of its CPU after an edit of 10,000 tables), makes almost no cycles, and ends."""
    gc.set_threshold(100_000, 20, 100)
    if args[:1] == ["types"] and "--watch" not in args:
        gc.disable()


def _answer(text: str) -> NoReturn:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `nself --help | head`: the reader has what it wanted
        pass
    os._exit(0)
