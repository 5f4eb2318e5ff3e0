"""Lint settings from nself.toml `[lint]` and the command line.

    [lint]
    skip = ["varchar-length"]             # rules that never run
    fail-on = "warning"                   # default of --fail-on
    timestamp-without-time-zone = "error" # a rule's level: error, warning, info or "off"

A bad entry raises SourceError at its line of nself.toml; a bad --rule, --skip or
--fail-on raises OptionError naming the option."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, cast

from nself.backends.lint.findings import LEVELS, Level, LintSettings
from nself.backends.lint.migration_safety import LIVE_RULES, MIGRATION_RULES
from nself.backends.lint.rules import RULES
from nself.errors import OptionError, SourceError, line_containing

FAIL_ON_CHOICES = (*LEVELS, "never")

# Every rule id: the catalog rules, the migration rules and the live ones.
ALL_RULE_IDS = RULES.keys() | MIGRATION_RULES.keys() | LIVE_RULES.keys()


def lint_settings(
    config: Mapping[str, Any],
    config_path: Path,
    *,
    only: Iterable[str] = (),
    skip: Iterable[str] = (),
    fail_on: str | None = None,
) -> LintSettings:
    """The settings of one run: nself.toml's `[lint]` (the `lint` entry of `config`, read
    from `config_path`) with the command line's --rule, --skip and --fail-on on top."""
    only = _rule_ids(only, "--rule")
    skip = _rule_ids(skip, "--skip")
    if fail_on is not None and fail_on not in FAIL_ON_CHOICES:
        raise OptionError(f"--fail-on: {fail_on!r} is not one of {', '.join(FAIL_ON_CHOICES)}")
    file = _from_file(config.get("lint"), config_path)
    chosen_fail_on = fail_on if fail_on is not None else file.fail_on
    return LintSettings(
        only=only,
        skip=skip | file.skip,
        levels=file.levels,
        fail_on=None if chosen_fail_on in (None, "never") else cast(Level, chosen_fail_on),
    )


def _rule_ids(ids: Iterable[str], option: str) -> frozenset[str]:
    chosen = frozenset(ids)
    unknown = sorted(chosen - ALL_RULE_IDS)
    if unknown:
        raise OptionError(f"{option}: unknown rule {unknown[0]!r} (see `nself db lint --list-rules`)")
    return chosen


def _from_file(section: object, path: Path) -> LintSettings:
    if section is None:
        return LintSettings()
    text = path.read_text(encoding="utf-8") if path.is_file() else ""

    def error(needle: str, message: str) -> SourceError:
        return SourceError(path, line_containing(text, needle) or line_containing(text, "[lint"), 1, message)

    if not isinstance(section, dict):
        raise error("lint", "[lint] must be a table")
    skip: frozenset[str] = frozenset()
    levels: dict[str, Level] = {}
    fail_on: str | None = "error"
    for key, value in section.items():
        if key == "skip":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise error("skip", 'lint.skip must be a list of rule ids, e.g. skip = ["varchar-length"]')
            unknown = sorted(set(value) - ALL_RULE_IDS)
            if unknown:
                raise error(unknown[0], f"lint.skip: unknown rule {unknown[0]!r}")
            skip = frozenset(value)
        elif key == "fail-on":
            if value not in FAIL_ON_CHOICES:
                raise error("fail-on", f"lint.fail-on must be one of {', '.join(FAIL_ON_CHOICES)}")
            fail_on = value
        elif key in ALL_RULE_IDS:
            if value == "off":
                skip |= {key}
            elif value in LEVELS:
                levels[key] = value
            else:
                raise error(key, f'lint.{key} must be one of {", ".join(LEVELS)} or "off"')
        else:
            raise error(key, f"lint.{key}: unknown rule or setting (settings: skip, fail-on)")
    return LintSettings(
        skip=skip, levels=levels, fail_on=None if fail_on == "never" else cast(Level, fail_on)
    )
