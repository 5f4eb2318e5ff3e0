"""The top of the command tree as a light table: each top-level command's name, the module
that defines it and the line `nself --help` shows for it.

nself.cli.main builds the tree from it, importing a command's module only when that command
runs (or its help is asked for); nself.cli.entry prints `nself --help` from it, and
`nself GROUP --help` from nself.cli.help_table (generated from the tree by
scripts/help_table.py), without importing typer, rich or any command. Imports nothing but
the standard library's `shutil` (for the terminal's width, when the help is printed).
tests/cli/test_help.py checks both tables against the real commands' help."""

from __future__ import annotations

HELP = "nself: a compiler for PostgreSQL schemas, with a runtime beside it."

# (name, module, help): in the order `nself --help` lists them. A module defines either
# `register(app)` (commands registered on the root) or `app` (a group added by name).
COMMANDS: tuple[tuple[str, str, str], ...] = (
    (
        "init",
        "nself.cli.init",
        "Create nself.toml and the nself/ folder layout (migrations, seeds, mock, tests). In a "
        "Supabase project (a folder holding supabase/), nself.toml uses supabase/migrations, "
        "supabase/seed.sql and supabase/tests where they are, on the Supabase platform's base.",
    ),
    (
        "restore",
        "nself.cli.restore",
        "Restore the managed cluster to a backup's end point, or to a point in time. The old data "
        "is replaced only after the restored one has recovered. Refused on production.",
    ),
    ("db", "nself.cli.db", "Database operations: local cluster, migrations, queries, dumps."),
    ("schema", "nself.cli.schema", "Schema management: show, diff, diagram, docs."),
    ("data", "nself.cli.data", "Data utilities: export, import, anonymize, reset."),
    (
        "backup",
        "nself.cli.backup",
        "Backups: physical with WAL for point-in-time recovery, incremental, logical.",
    ),
    (
        "types",
        "nself.cli.types",
        "Generate types from the schema: typescript, go, python, swift, rust, graphql.",
    ),
    ("seed", "nself.cli.seed", "Seed data: SQL files run per environment, tracked by checksum."),
    (
        "mock",
        "nself.cli.mock",
        "Deterministic mock data: the same config and seed give the same rows everywhere.",
    ),
)
MODULES = {name: module for name, module, _ in COMMANDS}

# The root's options as typer shows them: (long names, short name, help).
OPTIONS: tuple[tuple[str, str, str], ...] = (
    ("--debug", "", "Show tracebacks for errors."),
    ("--version", "", "Print the version."),
    ("--install-completion", "", "Install completion for the current shell."),
    (
        "--show-completion",
        "",
        "Show completion for the current shell, to copy it or customize the installation.",
    ),
    ("--help", "-h", "Show this message and exit."),
)


def root_help(width: int | None = None) -> str:
    """`nself --help` as typer draws it (panels of rows), in plain text."""
    long_width = max(len(long) for long, _, _ in OPTIONS)
    option_rows = [(f"{long:<{long_width}}  {short:<2}", text) for long, short, text in OPTIONS]
    commands = [(name, text) for name, _, text in COMMANDS]
    return _help("nself [OPTIONS] COMMAND [ARGS]...", HELP, option_rows, commands, width)


def group_help(name: str, width: int | None = None) -> str | None:
    """`nself NAME --help` for a group in nself.cli.help_table (a group of commands with no
    options of its own), as typer draws it, in plain text; None for any other name."""
    from nself.cli.help_table import GROUPS

    found = GROUPS.get(name)
    if found is None:
        return None
    text, commands = found
    options = [("--help  -h", "Show this message and exit.")]
    return _help(f"nself {name} [OPTIONS] COMMAND [ARGS]...", text, options, list(commands), width)


def _help(
    usage: str, text: str, options: list[tuple[str, str]], commands: list[tuple[str, str]], width: int | None
) -> str:
    if width is None:
        import shutil

        width = shutil.get_terminal_size().columns
    width = max(width, 40)
    lines = ["", f" Usage: {usage}", ""]
    lines += [f" {line}" for line in _wrap(text, width - 2)]
    lines.append("")
    lines += _panel("Options", options, width)
    lines += _panel("Commands", commands, width)
    return "\n".join(lines) + "\n"


def _panel(title: str, rows: list[tuple[str, str]], width: int) -> list[str]:
    inner = width - 4  # "│ " and " │"
    left = max(len(cell) for cell, _ in rows) + 2
    out = ["╭─ " + title + " " + "─" * (width - len(title) - 5) + "╮"]
    for cell, text in rows:
        wrapped = _wrap(text, max(inner - left, 10))
        for i, part in enumerate(wrapped):
            line = f"{cell if i == 0 else '':<{left}}{part}"
            out.append(f"│ {line:<{inner}} │")
    out.append("╰" + "─" * (width - 2) + "╯")
    return out


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line]
