"""`nself db lint`: rules that read a Catalog and report what is probably a mistake.

Each rule is a pure function of the IR (nself.backends.lint.rules) registered under an id
with a default level; `lint` runs the selected ones and returns findings in a fixed order
(most severe first, then rule id, then object), so two runs over the same schema print the
same text. Settings come from the command line and nself.toml `[lint]`
(nself.backends.lint.config)."""

from __future__ import annotations

from nself.backends.lint.findings import (
    LEVELS,
    Finding,
    Level,
    LintSettings,
    Rule,
    at_or_above,
    format_findings,
)
from nself.backends.lint.rules import RULES, lint

__all__ = [
    "LEVELS",
    "RULES",
    "Finding",
    "Level",
    "LintSettings",
    "Rule",
    "at_or_above",
    "format_findings",
    "lint",
]
