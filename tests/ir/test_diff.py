"""The schema diff over IR alone: which operations, in which order, and their reverses.
(Soundness against PostgreSQL is tests/runtime/test_schema_diff_soundness.py.)"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from nself.ir import diff as d
from nself.ir.builder import normalise
from nself.ir.model import (
    Catalog,
    Column,
    Enum,
    Extension,
    ForeignKey,
    Index,
    IndexKey,
    PrimaryKey,
    Schema,
    Sequence,
    Table,
    View,
    ViewDependency,
)

PUBLIC = Schema("public", "standard public schema")


def catalog(**kinds: tuple[object, ...]) -> Catalog:
    return normalise(Catalog(schemas=(PUBLIC,), **kinds))  # type: ignore[arg-type]


USERS = Table(
    "public",
    "users",
    columns=(
        Column("id", "integer", not_null=True, default="nextval('public.users_id_seq'::regclass)"),
        Column("name", "text"),
    ),
    constraints=(PrimaryKey("users_pkey", ("id",)),),
)
USERS_SEQ = Sequence(
    "public", "users_id_seq", data_type="integer", max_value=2147483647, owned_by=("users", "id")
)
ORDERS = Table(
    "public",
    "orders",
    columns=(Column("id", "integer", not_null=True), Column("user_id", "integer")),
    constraints=(
        PrimaryKey("orders_pkey", ("id",)),
        ForeignKey("orders_user_id_fkey", ("user_id",), "public", "users", ("id",)),
    ),
)
USER_NAMES = View("public", "user_names", " SELECT users.name\n   FROM public.users;")


def kinds(ops: list[d.Operation]) -> list[str]:
    return [type(op).__name__ for op in ops]


def position(ops: list[d.Operation], cls: type, **match: object) -> int:
    for i, op in enumerate(ops):
        if isinstance(op, cls) and all(_field(op, k) == v for k, v in match.items()):
            return i
    raise AssertionError(f"no {cls.__name__} {match} in {kinds(ops)}")


def _field(op: object, dotted: str) -> object:
    value = op
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def test_no_differences_no_operations() -> None:
    full = catalog(tables=(USERS, ORDERS), sequences=(USERS_SEQ,), views=(USER_NAMES,))
    assert d.diff(full, full) == []


def test_creates_dependencies_first() -> None:
    empty = catalog()
    full = catalog(tables=(USERS, ORDERS), sequences=(USERS_SEQ,), views=(USER_NAMES,))
    ops = d.diff(empty, full)
    seq = position(ops, d.CreateSequence)
    users = position(ops, d.CreateTable, **{"table.name": "users"})
    orders = position(ops, d.CreateTable, **{"table.name": "orders"})
    fk = position(ops, d.AddConstraint, **{"constraint.name": "orders_user_id_fkey"})
    owner = position(ops, d.SetSequenceOwner)
    view = position(ops, d.CreateView)
    assert seq < users < fk and orders < fk
    assert users < owner and users < view


def test_drops_dependants_first_and_reverse_undoes() -> None:
    empty = catalog()
    full = catalog(tables=(USERS, ORDERS), sequences=(USERS_SEQ,), views=(USER_NAMES,))
    ops = d.diff(full, empty)
    assert position(ops, d.DropView) < position(ops, d.DropTable, **{"table.name": "users"})
    assert position(ops, d.DropConstraint) < position(ops, d.DropTable, **{"table.name": "users"})
    assert position(ops, d.SetSequenceOwner) < position(ops, d.DropTable, **{"table.name": "users"})
    assert position(ops, d.DropTable, **{"table.name": "users"}) < position(ops, d.DropSequence)
    down = d.reverse_operations(ops, full, empty)
    assert sorted(kinds(down)) == sorted(kinds(d.diff(empty, full)))


def test_column_type_change_rebuilds_views_over_the_table() -> None:
    a = catalog(tables=(USERS,), sequences=(USERS_SEQ,), views=(USER_NAMES,))
    wider = dataclasses.replace(USERS, columns=(USERS.columns[0], Column("name", "character varying(50)")))
    b = catalog(tables=(wider,), sequences=(USERS_SEQ,), views=(USER_NAMES,))
    ops = d.diff(a, b)
    assert kinds(ops) == ["DropView", "AlterColumnType", "CreateView"]
    assert ops[1].destructive is not None  # text -> varchar(50) narrows


@pytest.mark.parametrize(
    ("old", "new", "widening"),
    [
        ("integer", "bigint", True),
        ("bigint", "integer", False),
        ("character varying(10)", "character varying(20)", True),
        ("character varying(20)", "character varying(10)", False),
        ("character varying(20)", "text", True),
        ("numeric(5,2)", "numeric(7,2)", True),
        ("numeric(5,2)", "numeric(5,3)", False),
        ("text", "integer", False),
        ("integer[]", "bigint[]", True),
    ],
)
def test_is_widening(old: str, new: str, widening: bool) -> None:
    assert d.is_widening(old, new) is widening


MOOD = Enum("public", "mood", ("sad", "ok", "happy"))


def _with_mood(enum: Enum) -> Catalog:
    t = Table(
        "public",
        "people",
        columns=(
            Column("m", "public.mood", default="'ok'::public.mood"),
            Column("history", "public.mood[]"),
        ),
    )
    return catalog(enums=(enum,), tables=(t,))


def test_enum_label_added_in_place() -> None:
    ops = d.diff(
        _with_mood(MOOD), _with_mood(dataclasses.replace(MOOD, labels=("sad", "meh", "ok", "happy")))
    )
    assert kinds(ops) == ["AddEnumValue"]
    assert ops[0].additions() == [("meh", "BEFORE", "ok")]  # type: ignore[attr-defined]


def test_enum_label_removed_rebuilds_with_arrays_and_defaults() -> None:
    a, b = _with_mood(MOOD), _with_mood(dataclasses.replace(MOOD, labels=("sad", "happy", "ok")))
    ops = d.diff(a, b)
    assert kinds(ops) == ["RebuildEnum"]
    op = ops[0]
    assert isinstance(op, d.RebuildEnum)
    assert {(u.column, u.data_type, u.old_default) for u in op.usages} == {
        ("m", "public.mood", "'ok'::public.mood"),
        ("history", "public.mood[]", None),
    }
    back = d.reverse_operations(ops, a, b)
    assert kinds(back) == ["RebuildEnum"]


def test_index_and_comment_changes() -> None:
    ix = Index("public", "users_name_idx", "users", (IndexKey(column="name"),))
    a = catalog(tables=(USERS,), sequences=(USERS_SEQ,), indexes=(ix,))
    b = catalog(
        tables=(dataclasses.replace(USERS, comment="people"),),
        sequences=(USERS_SEQ,),
        indexes=(dataclasses.replace(ix, predicate="(name IS NOT NULL)"),),
    )
    ops = d.diff(a, b)
    assert kinds(ops) == ["DropIndex", "CreateIndex", "SetComment"]


def test_every_operation_reverses_to_itself() -> None:
    a = catalog()
    b = catalog(tables=(USERS, ORDERS), sequences=(USERS_SEQ,), views=(USER_NAMES,), enums=(MOOD,))
    for op in d.diff(a, b) + d.diff(b, a):
        assert op.reverse().reverse() == op
        assert op.reverse().deps.reversed() == op.deps


def test_ir_imports_nothing_of_nself_outside_the_ir() -> None:
    source = Path(d.__file__).read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("nself"):
            assert node.module.startswith("nself.ir"), node.module


def test_unreachable_column_order_is_noted_both_ways() -> None:
    a = catalog(tables=(Table("public", "t", columns=(Column("id", "integer"), Column("b", "text"))),))
    b = catalog(
        tables=(
            Table("public", "t", columns=(Column("id", "integer"), Column("a", "text"), Column("b", "text"))),
        )
    )
    ops = d.diff(a, b)
    assert kinds(ops) == ["AddColumn", "ColumnOrderNote"]
    note = ops[1]
    assert isinstance(note, d.ColumnOrderNote)
    assert (note.reached, note.wanted) == (("id", "b", "a"), ("id", "a", "b"))
    # Back down, dropping `a` restores A's order exactly: no note.
    assert kinds(d.reverse_operations(ops, a, b)) == ["DropColumn"]


def test_inheritance_child_keeps_a_column_its_parent_drops() -> None:
    parent_a = Table(
        "public", "base", columns=(Column("created", "timestamp without time zone"), Column("e", "integer"))
    )
    parent_b = dataclasses.replace(parent_a, columns=parent_a.columns[:1])
    inherited = Column("created", "timestamp without time zone", inherited=True)
    child_a = Table(
        "public",
        "child",
        columns=(inherited, Column("e", "integer", inherited=True)),
        inherits=(("public", "base"),),
    )
    child_b = dataclasses.replace(child_a, columns=(inherited, Column("e", "integer")))
    ops = d.diff(catalog(tables=(parent_a, child_a)), catalog(tables=(parent_b, child_b)))
    assert kinds(ops) == ["DropColumn", "AddColumn"]
    assert isinstance(ops[1], d.AddColumn) and ops[1].if_not_exists and ops[1].table == "child"
    # A column of the child's own (merged with the parent's) stays: nothing to do.
    ops = d.diff(catalog(tables=(parent_a, child_b)), catalog(tables=(parent_b, child_b)))
    assert kinds(ops) == ["DropColumn"]


def _reordered() -> tuple[Catalog, Catalog]:
    t = Table(
        "public",
        "t",
        columns=(Column("id", "integer", not_null=True), Column("b", "text"), Column("c", "integer")),
        constraints=(PrimaryKey("t_pkey", ("id",)),),
    )
    u = dataclasses.replace(
        t, columns=(t.columns[2], Column("a", "text", default="'x'::text"), *t.columns[:2])
    )
    view = View("public", "v", " SELECT t.id\n   FROM public.t;")
    other = Table(
        "public",
        "o",
        columns=(Column("t_id", "integer"),),
        constraints=(ForeignKey("o_t_id_fkey", ("t_id",), "public", "t", ("id",)),),
    )
    return catalog(tables=(t, other), views=(view,)), catalog(tables=(u, other), views=(view,))


def test_reorder_columns_rebuilds_the_table_and_its_dependants() -> None:
    a, b = _reordered()
    assert "ColumnOrderNote" in kinds(d.diff(a, b))
    ops = d.diff(a, b, reorder_columns=True)
    assert "ColumnOrderNote" not in kinds(ops) and "AddColumn" not in kinds(ops)
    rebuild = position(ops, d.RebuildTable)
    # the view, the foreign key pointing in and the table's own key: dropped before, back after
    assert position(ops, d.DropView) < rebuild < position(ops, d.CreateView)
    assert position(ops, d.DropConstraint, **{"constraint.name": "o_t_id_fkey"}) < rebuild
    assert position(ops, d.DropConstraint, **{"constraint.name": "t_pkey"}) < rebuild
    assert rebuild < position(ops, d.AddConstraint, **{"constraint.name": "t_pkey"})
    assert position(ops, d.AddConstraint, **{"constraint.name": "t_pkey"}) < position(
        ops, d.AddConstraint, **{"constraint.name": "o_t_id_fkey"}
    )
    op = ops[rebuild]
    assert isinstance(op, d.RebuildTable)
    assert op.copied() == [("c", None, False), ("id", None, False), ("b", None, False)]
    # and back: rebuilt again, to A's order
    down = d.reverse_operations(ops, a, b, reorder_columns=True)
    back = [o for o in down if isinstance(o, d.RebuildTable)]
    assert len(back) == 1 and [c.name for c in back[0].new.columns] == ["id", "b", "c"]


def test_reorder_columns_releases_owned_sequences() -> None:
    a, b = _reordered()
    seq = Sequence("public", "t_id_seq", data_type="integer", max_value=2147483647, owned_by=("t", "id"))
    a, b = dataclasses.replace(a, sequences=(seq,)), dataclasses.replace(b, sequences=(seq,))
    ops = d.diff(a, b, reorder_columns=True)
    rebuild = position(ops, d.RebuildTable)
    owners = [(i, op) for i, op in enumerate(ops) if isinstance(op, d.SetSequenceOwner)]
    assert [(op.old, op.new) for _, op in owners] == [(("t", "id"), None), (None, ("t", "id"))]
    assert owners[0][0] < rebuild < owners[1][0]


def test_domain_base_type_change_moves_its_columns() -> None:
    from nself.ir.model import CheckConstraint, Domain

    dom = Domain("public", "amount", "integer", checks=(CheckConstraint("amount_check", "(VALUE > 0)"),))
    t = Table("public", "t", columns=(Column("v", "public.amount"), Column("arr", "public.amount[]")))
    a = catalog(domains=(dom,), tables=(t,))
    b = catalog(domains=(dataclasses.replace(dom, data_type="bigint"),), tables=(t,))
    ops = d.diff(a, b)
    assert kinds(ops) == ["RebuildDomain"]
    op = ops[0]
    assert isinstance(op, d.RebuildDomain)
    assert [(u.column, u.data_type) for u in op.usages] == [
        ("v", "public.amount"),
        ("arr", "public.amount[]"),
    ]
    assert kinds(d.reverse_operations(ops, a, b)) == ["RebuildDomain"]


def test_collations_come_before_their_columns() -> None:
    from nself.ir.model import Collation

    coll = Collation("public", "posixish", lc_collate="POSIX", lc_ctype="POSIX")
    t = Table("public", "t", columns=(Column("a", "text", collation="public.posixish"),))
    ops = d.diff(catalog(), catalog(collations=(coll,), tables=(t,)))
    assert position(ops, d.CreateCollation) < position(ops, d.CreateTable)
    down = d.reverse_operations(ops, catalog(), catalog(collations=(coll,), tables=(t,)))
    assert position(down, d.DropTable) < position(down, d.DropCollation)


# --------------------------------------------------------------------------- extensions (issue 12 #15)


def _with_extension(e: Extension) -> Catalog:
    return Catalog(schemas=(PUBLIC, Schema("partman")), extensions=(e,))


def test_an_extension_outside_the_snapshot_compares_as_unknown() -> None:
    live = Extension(
        "pg_partman", "partman", "4.7.2", "Extension to manage partitioned tables", ("partman.part_config",)
    )
    offline = Extension("pg_partman", "partman")  # no version, no comment: unknown
    assert d.diff(_with_extension(live), _with_extension(offline)) == []
    assert d.diff(_with_extension(offline), _with_extension(live)) == []
    # a comment written in the migrations is known, and compares
    commented = Extension("pg_partman", "partman", comment="ours")
    ops = d.diff(_with_extension(live), _with_extension(commented))
    assert [type(op) for op in ops] == [d.SetComment]


def test_an_extension_version_change_is_an_update_both_ways() -> None:
    old, new = Extension("pg_trgm", "public", "1.5"), Extension("pg_trgm", "public", "1.6")
    up = d.diff(_with_extension(old), _with_extension(new))
    assert up == [d.AlterExtension(old, new)]
    down = d.reverse_operations(up, _with_extension(old), _with_extension(new))
    assert down == [d.AlterExtension(new, old)]
    assert all(op.destructive is None for op in up + down)


def test_dropping_an_extension_names_the_tables_it_owns() -> None:
    e = Extension("pg_partman", "partman", "4.7.2", tables=("partman.part_config", "partman.part_config_sub"))
    (op,) = d.diff(_with_extension(e), Catalog(schemas=(PUBLIC, Schema("partman"))))
    assert isinstance(op, d.DropExtension)
    assert op.destructive is not None and "partman.part_config, partman.part_config_sub" in op.destructive


OTHER = Table("public", "other_table", columns=(Column("id", "integer"),))
AUDIT_LOG = Table("audit", "log", columns=(Column("name", "integer"),))
# A string literal that names a table, and an alias named like a schema whose table is
# named like the column (`audit.name` is users.name through the alias `audit`).
NOTES = View(
    "public",
    "notes",
    " SELECT audit.name,\n    'public.other_table audit.log'::text AS note\n   FROM public.users audit;",
    depends_on=(ViewDependency("column", "public", "users", "name"),),
)


@pytest.mark.parametrize("changed", [OTHER, AUDIT_LOG], ids=["literal", "alias"])
def test_view_dependencies_come_from_depends_on_not_from_the_text(changed: Table) -> None:
    """A column type change rebuilds the views that use the table (View.depends_on), not
    the views whose text merely holds `schema.name` in a literal or as `alias.column`."""
    audit = Schema("audit")
    before = (USERS, OTHER, AUDIT_LOG)
    after = tuple(
        dataclasses.replace(t, columns=(dataclasses.replace(t.columns[0], data_type="bigint"),)) if t == changed else t
        for t in before
    )

    def both(view: View) -> tuple[Catalog, Catalog]:
        return tuple(  # type: ignore[return-value]
            normalise(Catalog(schemas=(PUBLIC, audit), tables=tables, sequences=(USERS_SEQ,), views=(view,)))
            for tables in (before, after)
        )

    assert kinds(d.diff(*both(NOTES))) == ["AlterColumnType"]
    # without depends_on (an IR document of before it), the text is read: the false match
    assert kinds(d.diff(*both(dataclasses.replace(NOTES, depends_on=None)))) == [
        "DropView",
        "AlterColumnType",
        "CreateView",
    ]


def test_a_view_is_rebuilt_when_a_column_it_depends_on_changes_type() -> None:
    a = catalog(tables=(USERS,), sequences=(USERS_SEQ,), views=(NOTES,))
    wider = dataclasses.replace(USERS, columns=(USERS.columns[0], Column("name", "character varying(50)")))
    b = catalog(tables=(wider,), sequences=(USERS_SEQ,), views=(NOTES,))
    assert kinds(d.diff(a, b)) == ["DropView", "AlterColumnType", "CreateView"]


def test_views_are_dropped_and_created_in_dependency_order() -> None:
    """Views over views, known only through depends_on (their text names no relation), named
    so that the order of names is the wrong one."""
    base = View("public", "c_base", " SELECT 1 AS x;", depends_on=())
    middle = View(
        "public", "b_middle", " SELECT x FROM b;", depends_on=(ViewDependency("column", "public", "c_base", "x"),)
    )
    top = View("public", "a_top", " SELECT x FROM m;", depends_on=(ViewDependency("relation", "public", "b_middle"),))
    empty, full = catalog(), catalog(views=(top, base, middle))
    created = [op.view.name for op in d.diff(empty, full) if isinstance(op, d.CreateView)]
    dropped = [op.view.name for op in d.diff(full, empty) if isinstance(op, d.DropView)]
    assert created == ["c_base", "b_middle", "a_top"] and dropped == ["a_top", "b_middle", "c_base"]


def test_a_view_using_a_type_is_rebuilt_around_its_rebuild() -> None:
    """The type of a constant in a view (pg_depend's type reference, in depends_on): an enum
    rebuilt under it drops the view first and creates it again after."""
    view = View(
        "public",
        "sad_people",
        " SELECT people.m\n   FROM public.people\n  WHERE people.m = 'sad'::public.mood;",
        depends_on=(ViewDependency("column", "public", "people", "m"), ViewDependency("type", "public", "mood")),
    )

    def with_view(enum: Enum) -> Catalog:
        return dataclasses.replace(_with_mood(enum), views=(view,))

    ops = d.diff(with_view(MOOD), with_view(dataclasses.replace(MOOD, labels=("sad", "happy", "ok"))))
    assert kinds(ops) == ["DropView", "RebuildEnum", "CreateView"]


def test_an_exclusion_constraint_needs_the_extension_of_its_operator() -> None:
    """An operator is no IR object: an exclusion constraint that compares WITH one of an
    extension's (Dependency kind "operator", in the extension's schema) is created after
    the extension and dropped before it; without depends_on (an older IR document) the
    operator's text is not read."""
    from nself.ir.diff.context import _Diff
    from nself.ir.model import Catalog, Column, Dependency, ExclusionConstraint, ExclusionElement, Extension

    excl = ExclusionConstraint(
        "no_overlap",
        "gist",
        (ExclusionElement("tags", "public.&&"),),
        depends_on=(Dependency("column", "public", "t", "tags"), Dependency("operator", "public", "&&")),
    )
    table = Table("public", "t", (Column("tags", "integer[]"),), constraints=(excl,))
    b = Catalog(extensions=(Extension("intarray", "public", "1.5"),), tables=(table,))
    diff = _Diff(Catalog(), b)
    assert ("ext", "intarray") in diff.constraint_requires("public", "t", excl)
    unknown = dataclasses.replace(excl, depends_on=None)
    assert ("ext", "intarray") not in diff.constraint_requires("public", "t", unknown)
