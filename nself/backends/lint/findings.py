"""What a lint run produces and is told: findings, rules, levels and settings."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from nself.ir import Catalog

Level = Literal["error", "warning", "info"]
# Most severe first: the order findings are printed in and --fail-on compares by.
LEVELS: tuple[Level, ...] = ("error", "warning", "info")


def severity(level: Level) -> int:
    """0 for error, 1 for warning, 2 for info: smaller is more severe."""
    return LEVELS.index(level)


def at_or_above(level: Level, threshold: Level) -> bool:
    return severity(level) <= severity(threshold)


@dataclass(frozen=True, slots=True)
class Issue:
    """What a rule's check reports: the object and the text; the rule adds its id and level."""

    schema: str
    # within the schema: `table`, `table.column`, `table.constraint`, `index`, `f(integer)`;
    # a schema's own name for a schema
    name: str
    kind: str  # table, column, constraint, index, policy, function, enum
    message: str
    remedy: str


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    level: Level
    schema: str
    name: str
    kind: str
    message: str
    remedy: str

    @property
    def object(self) -> str:
        return self.schema if self.kind == "schema" else f"{self.schema}.{self.name}"

    def sort_key(self) -> tuple[int, str, str, str, str]:
        return (severity(self.level), self.rule, self.schema, self.name, self.message)

    def line(self) -> str:
        return f"{self.level} {self.rule} {self.object}: {self.message}"

    def to_data(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "level": self.level,
            "object": {"schema": self.schema, "name": self.name, "kind": self.kind},
            "message": self.message,
            "remedy": self.remedy,
        }


Check = Callable[[Catalog], Iterable[Issue]]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    level: Level
    summary: str
    check: Check


@dataclass(frozen=True, slots=True)
class LintSettings:
    """Which rules run and at what level. `only` empty means every rule not in `skip`;
    `levels` overrides a rule's default level."""

    only: frozenset[str] = frozenset()
    skip: frozenset[str] = frozenset()
    levels: Mapping[str, Level] = field(default_factory=dict)
    fail_on: Level | None = "error"  # None: never fail

    def selects(self, rule_id: str) -> bool:
        return (not self.only or rule_id in self.only) and rule_id not in self.skip


def format_findings(findings: Iterable[Finding]) -> str:
    """One line per finding (in the order given), then a summary line."""
    found = list(findings)
    lines = [f.line() for f in found]
    if not found:
        lines.append("no findings")
    else:
        counts = {level: sum(1 for f in found if f.level == level) for level in LEVELS}
        parts = [f"{counts[level]} {_plural(level, counts[level])}" for level in LEVELS if counts[level]]
        lines.append(f"{len(found)} {'finding' if len(found) == 1 else 'findings'}: {', '.join(parts)}")
    return "\n".join(lines) + "\n"


def _plural(level: Level, count: int) -> str:
    return level if count == 1 or level == "info" else f"{level}s"
