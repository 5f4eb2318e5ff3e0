"""Finding the columns that look personal, for `nself data anonymize init` (which writes a
rule for each) and for `data sync` out of production (which refuses while one has no rule).

A column is suspected from its name, its type, its comment and a sample of its values; a
JSON column from the keys and values of sampled documents. Every suggestion says why."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nself.ir import model as m
from nself.ir.names import qualified_name, quote_ident
from nself.runtime.anonymize.plan import unique_columns
from nself.runtime.anonymize.strategies import ColumnType, column_type
from nself.runtime.data_io import HISTORY_SCHEMA

if TYPE_CHECKING:
    import psycopg

SAMPLE_ROWS = 200

# (pattern on the column or key name, rule, what the name says)
NAME_RULES: tuple[tuple[str, str, str], ...] = (
    (r"e[-_ ]?mail", "fake:email", "an email address"),
    (r"first_?name|given_?name|forename", "fake:first_name", "a first name"),
    (r"last_?name|surname|family_?name", "fake:last_name", "a last name"),
    (
        r"full_?name|display_?name|contact_?name|holder|customer_?name|person_?name|maiden",
        "fake:name",
        "a person's name",
    ),
    (r"user_?name|login|nick_?name|handle", "fake:username", "a user name"),
    (r"phone|mobile|fax|msisdn|^tel$|telephone", "fake:phone", "a phone number"),
    (r"card_?(no|num)|credit_?card|^pan$|card_number", "mask", "a card number"),
    (
        r"ssn|social_?sec|national_?id|passport|tax_?id|iban|account_?(no|num)|licen[cs]e_?(no|num)",
        "fake:pattern",
        "an identity or account number",
    ),
    (r"zip|post_?code|postal", "fake:postcode", "a postcode"),
    (r"(^|_)city$|town", "fake:city", "a city"),
    (r"street|address|addr$", "fake:address", "an address"),
    (r"birth|dob$|^dob", "fake:date", "a birth date"),
    (r"(^|_)ip($|_)|ip_?addr|remote_addr|client_addr", "fake:ip", "an IP address"),
    (r"salary|income|wage", "{strategy: noise, percent: 10}", "an income"),
    (r"password|passwd|secret|token|api_?key", "hash", "a secret"),
    (r"company|employer", "fake:company", "an employer"),
    (
        r"note|comment|bio$|biography|body|message|description|remark",
        "fake:text",
        "free text, which may hold anything",
    ),
)
PERSON_TABLE = re.compile(
    r"user|person|people|customer|client|employee|member|contact|patient|account|profile|student|author", re.I
)
COMMENT_WORDS = re.compile(
    r"\b(pii|personal|gdpr|sensitive|private|confidential|e-?mail|phone|address)\b", re.I
)

VALUE_RULES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", re.I), "fake:email", "email addresses"),
    (re.compile(r"\d{3}-\d{2}-\d{4}"), "fake:pattern", "social security numbers"),
    (re.compile(r"(\d{4}[ -]?){3}\d{4}"), "mask", "card numbers"),
    (re.compile(r"\+?[\d ()-]{7,20}"), "fake:phone", "phone numbers"),
    (re.compile(r"(\d{1,3}\.){3}\d{1,3}"), "fake:ip", "IP addresses"),
)


@dataclass(frozen=True)
class Suggestion:
    schema: str
    table: str
    column: str
    rule: str  # as written in the YAML file
    why: str
    json: tuple[tuple[str, str, str], ...] = ()  # (key path, rule, why) for JSON columns
    follows: str | None = None  # the column a foreign key makes this one follow


def _by_name(name: str) -> tuple[str, str] | None:
    for pattern, rule, what in NAME_RULES:
        if re.search(pattern, name, re.I):
            return rule, what
    return None


def _fits(rule: str, ctype: ColumnType, unique: bool) -> str | None:
    """The rule adjusted to the column, or None when it cannot apply."""
    kind = rule.split(":", 1)[1] if rule.startswith("fake:") else None
    if ctype.category == "text":
        if unique and rule == "mask":
            return "hash"  # a mask gives many rows one value
        if rule.startswith("{strategy: noise"):
            return None
        return rule
    if ctype.category == "inet":
        return "fake:ip" if kind == "ip" else None
    if ctype.category in ("date", "timestamp", "timestamptz"):
        return "fake:date" if kind == "date" else None
    if ctype.category in ("integer", "numeric"):
        return rule if rule.startswith("{strategy: noise") else None
    if ctype.category == "uuid":
        return None
    return None


def suggest(conn: psycopg.Connection[Any], catalog: m.Catalog, *, sample: bool = True) -> list[Suggestion]:
    """A suggestion for every column that looks personal, in table and column order."""
    domains = {f"{d.schema}.{d.name}": d.data_type for d in catalog.domains}
    unique = unique_columns(catalog)
    references: dict[tuple[str, str, str], tuple[str, str, str]] = {}
    for table in catalog.tables:
        for fk in table.foreign_keys:
            for own, ref in zip(fk.columns, fk.ref_columns, strict=False):
                references[(table.schema, table.name, own)] = (fk.ref_schema, fk.ref_table, ref)
    found: dict[tuple[str, str, str], Suggestion] = {}
    for table in _data_tables(catalog):
        personal_table = bool(PERSON_TABLE.search(table.name))
        for column in table.columns:
            if column.generated is not None:
                continue
            key = (table.schema, table.name, column.name)
            ctype = column_type(column.data_type, domains)
            suggestion = _suggest_column(conn, table, column, ctype, key in unique, personal_table, sample)
            if suggestion is not None:
                found[key] = suggestion
    # A column a foreign key joins to a suggested one follows it: one rule, at the referenced end.
    for key in sorted(references):
        leader, seen = references[key], {key}
        while leader in references and leader not in seen:
            seen.add(leader)
            leader = references[leader]
        if leader != key and leader in found and found[leader].follows is None:
            why = found[key].why if key in found else "a foreign key to it"
            found[key] = Suggestion(*key, found[leader].rule, why, follows=".".join(leader[1:]))
    return [found[k] for k in sorted(found)]


def _data_tables(catalog: m.Catalog) -> Iterator[m.Table]:
    for table in sorted(catalog.tables, key=lambda t: (t.schema, t.name)):
        if table.partition_of is None and table.schema != HISTORY_SCHEMA:
            yield table


def _suggest_column(
    conn: psycopg.Connection[Any],
    table: m.Table,
    column: m.Column,
    ctype: ColumnType,
    unique: bool,
    personal_table: bool,
    sample: bool,
) -> Suggestion | None:
    key = (table.schema, table.name, column.name)
    if ctype.category == "json":
        paths = _json_paths(conn, table, column) if sample else []
        if paths:
            return Suggestion(*key, "json", "JSON documents with personal keys", tuple(paths))
        return None
    named = _by_name(column.name)
    if named is None and column.name.lower() == "name" and personal_table:
        named = ("fake:name", "a person's name (the table holds people)")
    if named is not None:
        rule = _fits(named[0], ctype, unique)
        if rule is not None:
            return Suggestion(*key, rule, f'the name "{column.name}" says {named[1]}')
    if ctype.category == "inet":
        return Suggestion(*key, "fake:ip", f"its type is {ctype.name}")
    if column.comment and COMMENT_WORDS.search(column.comment) and ctype.category == "text":
        return Suggestion(
            *key, "fake:text" if unique is False else "hash", f"its comment says {column.comment!r}"
        )
    if sample and ctype.category == "text":
        values = _sample(conn, table, column)
        if values:
            for pattern, rule, what in VALUE_RULES:
                hits = sum(1 for v in values if pattern.fullmatch(v.strip()))
                if hits * 2 >= len(values):
                    fitted = _fits(rule, ctype, unique)
                    if fitted is not None:
                        return Suggestion(
                            *key, fitted, f"{hits} of {len(values)} sampled values look like {what}"
                        )
    return None


def _sample(conn: psycopg.Connection[Any], table: m.Table, column: m.Column) -> list[str]:
    rows = conn.execute(
        f"SELECT {quote_ident(column.name, always=True)}::text FROM {qualified_name(table.schema, table.name, always=True)} "
        f"WHERE {quote_ident(column.name, always=True)} IS NOT NULL LIMIT {SAMPLE_ROWS}"
    ).fetchall()
    return [str(r[0]) for r in rows]


def _json_paths(
    conn: psycopg.Connection[Any], table: m.Table, column: m.Column
) -> list[tuple[str, str, str]]:
    paths: dict[str, tuple[str, str]] = {}
    for text in _sample(conn, table, column):
        try:
            document = json.loads(text)
        except ValueError:
            continue
        for path, value in _leaves(document, ()):
            if path in paths or not isinstance(value, str):
                continue
            name = path.rsplit(".", 1)[-1].removesuffix("[*]")
            named = _by_name(name) or (("fake:name", "a name") if name.lower() == "name" else None)
            if named is not None and not named[0].startswith("{"):
                paths[path] = (named[0], f'key "{name}" says {named[1]}')
                continue
            for pattern, rule, what in VALUE_RULES:
                if pattern.fullmatch(value.strip()):
                    paths[path] = (rule, f"values look like {what}")
                    break
    return [(p, r, w) for p, (r, w) in sorted(paths.items())]


def _leaves(node: Any, steps: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                yield from _leaves(value, (*steps, key))
    elif isinstance(node, list):
        for item in node:
            if steps:
                yield from _leaves(item, (*steps[:-1], steps[-1] + "[*]"))
    elif steps:
        yield ".".join(steps), node


def render_config(suggestions: list[Suggestion], catalog: m.Catalog, source: str) -> str:
    """The YAML file: one commented rule per suggestion; columns that follow a foreign key
    are written as comments (their rule comes from the referenced column)."""
    lines = [
        "# nself/anonymize.yaml: written by `nself data anonymize init` from " + source + ".",
        "# One rule per column that looks personal, each with why. Review it, edit it, keep it in git.",
        "# Strategies: fake[:kind] mask hash null keep constant noise (see docs/anonymize.md).",
        "# Columns joined by a foreign key follow the referenced column's rule.",
        "tables:",
    ]
    by_table: dict[tuple[str, str], list[Suggestion]] = {}
    for suggestion in suggestions:
        by_table.setdefault((suggestion.schema, suggestion.table), []).append(suggestion)
    for (schema, table), items in sorted(by_table.items()):
        lines.append(f"  {table if schema == 'public' else f'{schema}.{table}'}:")
        for item in items:
            if item.follows is not None:
                lines.append(f"    # {item.column}: follows {item.follows} ({item.why})")
                continue
            if item.json:
                lines.append(f"    {item.column}:  # {item.why}")
                lines.append("      json:")
                for path, rule, why in item.json:
                    lines.append(f"        {_yaml_key(path)}: {rule}  # {why}")
                continue
            lines.append(f"    {item.column}: {item.rule}  # {item.why}")
    personal = {(s.schema, s.table) for s in suggestions}
    others = [t for t in _data_tables(catalog) if (t.schema, t.name) not in personal]
    if others:
        names = ", ".join(t.name if t.schema == "public" else f"{t.schema}.{t.name}" for t in others)
        lines.append(f"  # nothing personal found in: {names}")
    return "\n".join(lines) + "\n"


def _yaml_key(path: str) -> str:
    return f'"{path}"' if "[" in path else path
