"""SQL for schema-diff operations: one line per case (operation -> statements)."""

from __future__ import annotations

import pytest

from nself.backends.sql.migration import RENDERERS, render_operation, render_operations
from nself.ir import diff as d
from nself.ir.model import Column, Enum, Identity, PartitionOf, PrimaryKey, Table

MOOD = Enum("public", "mood", ("sad", "ok"))
MOOD2 = Enum("public", "mood", ("sad", "meh", "ok", "happy"))
MOOD_LESS = Enum("public", "mood", ("ok",))
USAGE = d.EnumUsage("public", "people", "m", "public.mood[]", "'{ok}'::public.mood[]", None)

CASES: list[tuple[d.Operation, list[str]]] = [
    (
        d.AddColumn("public", "t", Column("n", "integer", not_null=True, default="0")),
        ["ALTER TABLE public.t ADD COLUMN n integer DEFAULT 0 NOT NULL;"],
    ),
    (
        d.DropColumn("public", "t", Column("Weird Name", "text")),
        ['ALTER TABLE public.t DROP COLUMN "Weird Name";'],
    ),
    (
        d.AlterColumnType("public", "t", Column("n", "integer"), Column("n", "bigint")),
        ["ALTER TABLE public.t ALTER COLUMN n TYPE bigint;"],
    ),
    (
        d.AlterColumnType("public", "t", Column("n", "text"), Column("n", "integer")),
        ["ALTER TABLE public.t ALTER COLUMN n TYPE integer USING n::integer;"],
    ),
    (
        d.AlterColumnType("public", "t", Column("m", "text"), Column("m", "public.mood")),
        ["ALTER TABLE public.t ALTER COLUMN m TYPE public.mood USING m::text::public.mood;"],
    ),
    (
        d.SetColumnDefault("public", "t", "n", None, "1"),
        ["ALTER TABLE public.t ALTER COLUMN n SET DEFAULT 1;"],
    ),
    (
        d.SetColumnDefault("public", "t", "n", "1", None),
        ["ALTER TABLE public.t ALTER COLUMN n DROP DEFAULT;"],
    ),
    (d.SetNotNull("public", "t", "n", True), ["ALTER TABLE public.t ALTER COLUMN n SET NOT NULL;"]),
    (
        d.SetIdentity("public", "t", "n", None, Identity("ALWAYS")),
        [
            "ALTER TABLE public.t ALTER COLUMN n ADD GENERATED ALWAYS AS IDENTITY (INCREMENT BY 1 MINVALUE 1 "
            "MAXVALUE 9223372036854775807 START WITH 1 CACHE 1 NO CYCLE);"
        ],
    ),
    (
        d.SetIdentity("public", "t", "n", Identity("ALWAYS"), None),
        ["ALTER TABLE public.t ALTER COLUMN n DROP IDENTITY;"],
    ),
    (
        d.SetGenerated("public", "t", Column("g", "integer", generated="(n + 1)"), Column("g", "integer")),
        ["ALTER TABLE public.t ALTER COLUMN g DROP EXPRESSION;"],
    ),
    (
        d.AddEnumValue(MOOD, MOOD2),
        [
            "ALTER TYPE public.mood ADD VALUE 'meh' BEFORE 'ok';",
            "ALTER TYPE public.mood ADD VALUE 'happy' AFTER 'ok';",
        ],
    ),
    (
        d.RebuildEnum(MOOD, MOOD_LESS, (USAGE,)),
        [
            "ALTER TYPE public.mood RENAME TO mood__nself_old;",
            "CREATE TYPE public.mood AS ENUM ('ok');",
            "ALTER TABLE public.people ALTER COLUMN m DROP DEFAULT;",
            "ALTER TABLE public.people ALTER COLUMN m TYPE public.mood[] USING m::text[]::public.mood[];",
            "DROP TYPE public.mood__nself_old;",
        ],
    ),
    (
        d.AddConstraint("public", "t", PrimaryKey("t_pkey", ("id",))),
        ["ALTER TABLE public.t ADD CONSTRAINT t_pkey PRIMARY KEY (id);"],
    ),
    (
        d.SetRowLevelSecurity("public", "t", False, True, False, False),
        ["ALTER TABLE public.t ENABLE ROW LEVEL SECURITY;"],
    ),
    (
        d.SetComment("COLUMN", "public", "t", None, "it's", sub="n"),
        ["COMMENT ON COLUMN public.t.n IS 'it''s';"],
    ),
    (
        d.SetComment("FUNCTION", "public", "f", "x", None, arguments="integer"),
        ["COMMENT ON FUNCTION public.f(integer) IS NULL;"],
    ),
    (d.SetSequenceOwner("public", "s", ("t", "id"), None), ["ALTER SEQUENCE public.s OWNED BY NONE;"]),
    (
        d.AttachPartition(
            Table("public", "p1", partition_of=PartitionOf("public", "p", "FOR VALUES IN (1)"))
        ),
        ["ALTER TABLE public.p ATTACH PARTITION public.p1 FOR VALUES IN (1);"],
    ),
]


@pytest.mark.parametrize(
    ("op", "sql"), CASES, ids=[f"{type(op).__name__}-{i}" for i, (op, _) in enumerate(CASES)]
)
def test_renders(op: d.Operation, sql: list[str]) -> None:
    assert render_operation(op) == sql


def test_every_operation_class_has_a_renderer() -> None:
    classes = {
        cls
        for cls in vars(d).values()
        if isinstance(cls, type) and issubclass(cls, d.Operation) and cls is not d.Operation
    }
    assert classes - set(RENDERERS) == set()


def test_destructive_statements_are_marked() -> None:
    script = render_operations(
        [d.DropTable(Table("public", "t")), d.AddColumn("public", "u", Column("c", "text"))]
    )
    assert script.startswith("-- destructive: drops table public.t and its rows\nDROP TABLE public.t;\n")
    assert "-- destructive" not in script.split("\n\n", 1)[1]


def test_empty_script() -> None:
    assert render_operations([]) == ""


def test_rebuild_table_copies_rows_and_carries_identity() -> None:
    old = Table(
        "public",
        "t",
        columns=(
            Column("id", "integer", not_null=True, identity=Identity("ALWAYS")),
            Column("n", "text"),
            Column("gone", "text"),
        ),
    )
    new = Table(
        "public",
        "t",
        columns=(
            Column("n", "integer"),
            Column("id", "integer", not_null=True, identity=Identity("ALWAYS")),
            Column("twice", "integer", generated="(id * 2)"),
        ),
        comment="reordered",
    )
    op = d.RebuildTable(old, new)
    script = render_operations([op])
    assert script.startswith("-- destructive: drops column(s) gone of public.t and their values")
    assert "-- rebuild: public.t is created anew" in script and "kept" in script
    sql = render_operation(op)
    assert sql[1].startswith(
        "CREATE TABLE public.t__nself_new (\n    n integer,\n    id integer GENERATED ALWAYS"
    )
    assert sql[2] == (
        "INSERT INTO public.t__nself_new (n, id) OVERRIDING SYSTEM VALUE\n    SELECT n::integer, id FROM ONLY public.t;"
    )
    assert sql[3].startswith("SELECT setval(pg_get_serial_sequence('public.t__nself_new', 'id')")
    assert sql[4:6] == ["DROP TABLE public.t;", "ALTER TABLE public.t__nself_new RENAME TO t;"]
    assert sql[-1] == "COMMENT ON TABLE public.t IS 'reordered';"


def test_rebuild_domain_moves_columns() -> None:
    from nself.ir.model import Domain

    old, new = Domain("public", "amount", "integer"), Domain("public", "amount", "numeric")
    usage = d.EnumUsage("public", "t", "v", "public.amount", "5", "5")
    assert render_operation(d.RebuildDomain(old, new, (usage,))) == [
        "ALTER DOMAIN public.amount RENAME TO amount__nself_old;",
        "CREATE DOMAIN public.amount AS numeric;",
        "ALTER TABLE public.t ALTER COLUMN v DROP DEFAULT;",
        "ALTER TABLE public.t ALTER COLUMN v TYPE public.amount USING v::public.amount;",
        "ALTER TABLE public.t ALTER COLUMN v SET DEFAULT 5;",
        "DROP DOMAIN public.amount__nself_old;",
    ]


@pytest.mark.parametrize(
    "body",
    [
        "a" * 100_000,  # one long word: the reference scan used to backtrack over it at every position
        "a." * 50_000,
        "x ." * 33_000,
        '"a' * 50_000,  # unbalanced double quotes
        'a""' * 33_000,
        "public.t " * 11_000,
    ],
    ids=["word", "dotted", "spaced-dots", "open-quotes", "doubled-quotes", "names"],
)
def test_a_100kb_default_diffs_and_renders(body: str) -> None:
    """Issue 12 #14: long literals took quadratic time (30,000 characters 6 s, 100 KB
    102 s) in the diff's reference scan and the SQL backend's dependency order."""
    from nself.backends.sql import render
    from nself.ir.model import Catalog, Schema

    default = "'" + body.replace("'", "''") + "'::text"
    public = (Schema("public"),)
    a = Catalog(schemas=public, tables=(Table("public", "t", columns=(Column("c", "text"),)),))
    b = Catalog(schemas=public, tables=(Table("public", "t", columns=(Column("c", "text", default=default),)),))
    up = d.diff(a, b)
    assert up == [d.SetColumnDefault("public", "t", "c", None, default)]
    assert render_operations(up) == f"ALTER TABLE public.t ALTER COLUMN c SET DEFAULT {default};\n"
    assert d.reverse_operations(up, a, b) == [d.SetColumnDefault("public", "t", "c", default, None)]
    assert f"c text DEFAULT {default}" in render(b, {})["schema.sql"]
