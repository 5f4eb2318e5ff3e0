"""Adversarial names through the Go, Rust and Swift backends and their toolchains.

A seeded generator builds a catalog whose schemas, tables, columns, enums, labels and
composite types are named from a pool of troublemakers: every language's keywords, names
that collide after conversion ('a-b', 'a b', 'A_B', 'aB'), names of the types the output
itself uses ('Option', 'Date', 'JSONValue', 'CodingKeys'), derived names ('users_insert'),
leading digits, non-ASCII letters, emoji, and labels with quotes, backslashes and newlines.
The output must still compile (go vet, cargo check) or parse cleanly (tree-sitter-swift)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from nself.backends.types import go, rust, swift
from nself.ir import Catalog, CatalogBuilder
from nself.ir.model import Column, CompositeAttribute, CompositeType, Enum, Schema, Table, View, ViewColumn
from tests.backends.types.test_go import go_vet
from tests.backends.types.test_rust import RustSession
from tests.backends.types.test_swift import swift_problems

KEYWORDS = sorted(go.GO_KEYWORDS | go.GO_PREDECLARED | rust.RUST_KEYWORDS | swift.SWIFT_KEYWORDS)
TROUBLE = [
    "a-b", "a b", "A_B", "aB", "a__b", "_", "__", "1", "2fa", "3D model", "ÄÖÜ", "日本", "🙂", "x" * 63,
    "id", "ID", "Id", "users", "Users", "users_insert", "UsersInsert", "users_update", "mood", "mood_happy",
    "Option", "Some", "None", "String", "Vec", "Box", "Serialize", "Deserialize", "Date", "Data", "UUID",
    "JSONValue", "CodingKeys", "CodingKey", "Decimal", "json", "time", "Self", "self", "crate", "super",
    "init", "Type", "Protocol", "value", "Value", "field", "Field", "X2fa", "T1", "V2fa", "all_cases",
    "raw_value", "hash_value",
]  # fmt: skip
LABELS = [
    *TROUBLE,
    'say "hi"',
    "back\\slash",
    "new\nline",
    "tab\there",
    "$",
    "%",
    "-",
    "read-only",
    "ReadOnly",
]
TYPES = [
    "integer", "bigint", "text", "numeric(10,2)", "jsonb", "uuid", "date", "timestamp with time zone",
    "bytea", "integer[]", "text[][]", "boolean", "interval", "oid", "public.citext",
]  # fmt: skip


def adversarial_catalog(seed: int) -> Catalog:
    rng = random.Random(seed)
    pool = TROUBLE + KEYWORDS
    builder = CatalogBuilder()
    schemas = ["public", "auth", "Auth", "self", "type"]
    for schema in schemas:
        builder.add(Schema(schema))
    # Tables, views, enums and composite types share one namespace per schema in PostgreSQL.
    taken: set[tuple[str, str]] = set()

    def free_name() -> tuple[str, str] | None:
        key = (rng.choice(schemas), rng.choice(pool))
        if key in taken:
            return None
        taken.add(key)
        return key

    for _ in range(12):
        if (key := free_name()) is None:
            continue
        schema, name = key
        labels = tuple(dict.fromkeys(rng.sample(LABELS, rng.randint(0, 8))))
        builder.add(Enum(schema, name, labels))
    for _ in range(6):
        if (key := free_name()) is None:
            continue
        schema, name = key
        attributes = tuple(
            CompositeAttribute(n, rng.choice(TYPES))
            for n in dict.fromkeys(rng.sample(pool, rng.randint(1, 5)))
            if go.valid_json_tag(n)
        )
        builder.add(CompositeType(schema, name, attributes))
    for _ in range(40):
        if (key := free_name()) is None:
            continue
        schema, name = key
        columns = tuple(
            Column(
                n, rng.choice(TYPES), not_null=rng.random() < 0.5, default="0" if rng.random() < 0.2 else None
            )
            for n in dict.fromkeys(rng.sample(pool, rng.randint(0, 8)))
            # encoding/json cannot carry these in a tag; the Go backend refuses them (tested apart).
            if go.valid_json_tag(n)
        )
        if rng.random() < 0.25:
            builder.add(
                View(schema, name, "SELECT 1", tuple(ViewColumn(c.name, c.data_type) for c in columns))
            )
        else:
            builder.add(Table(schema, name, columns))
    # Columns typed with the enums and composites made above, by their catalog names.
    for enum in builder.all(Enum):
        builder.add(
            Table(
                "public",
                f"uses {enum.schema} {enum.name}",
                (Column("v", f"{_qualified(enum.schema, enum.name)}[]"),),
            )
        )
    return builder.freeze()


def _qualified(schema: str, name: str) -> str:
    def quote(identifier: str) -> str:
        plain = identifier.isascii() and identifier.isidentifier() and identifier.islower()
        return identifier if plain else '"' + identifier.replace('"', '""') + '"'

    return f"{quote(schema)}.{quote(name)}"


SEEDS = range(4)


def test_adversarial_catalogs_render_deterministically() -> None:
    for seed in SEEDS:
        catalog = adversarial_catalog(seed)
        for backend in (go, rust, swift):
            assert backend.render(catalog, {}) == backend.render(adversarial_catalog(seed), {})


@pytest.mark.oracle
def test_go_vet_adversarial(tmp_path: Path, toolchain_cache: Path) -> None:
    packages = {f"seed{seed}": go.render(adversarial_catalog(seed), {})[go.FILE_NAME] for seed in SEEDS}
    go_vet(tmp_path / "module", packages, toolchain_cache)


@pytest.mark.oracle
def test_cargo_check_adversarial(rust_session: RustSession, tmp_path: Path) -> None:
    """The seeds' modules of the session's crate (test_rust.py rust_session)."""
    assert rust_session.check("adversarial_seed", tmp_path) == [f"adversarial_seed{seed}" for seed in SEEDS]


@pytest.mark.oracle
def test_tree_sitter_adversarial() -> None:
    for seed in SEEDS:
        assert swift_problems(swift.render(adversarial_catalog(seed), {})[swift.FILE_NAME]) == [], (
            f"seed {seed}"
        )
