import dataclasses
import json

import pytest

from nself.ir import CatalogBuilder, IRFormatError, catalog_from_json, catalog_to_json
from nself.ir.model import (
    CheckConstraint,
    Column,
    Enum,
    ExclusionConstraint,
    ExclusionElement,
    ForeignKey,
    Function,
    FunctionArgument,
    Identity,
    Index,
    IndexKey,
    PartitionSpec,
    PrimaryKey,
    Schema,
    Table,
    UniqueConstraint,
    View,
    ViewColumn,
)


def sample_catalog() -> CatalogBuilder:
    b = CatalogBuilder()
    b.add(Schema("public", "standard public schema"))
    b.add(Enum("public", "mood", ("sad", "ok", "happy")))
    b.add(
        Table(
            "public",
            "users",
            columns=(
                Column("id", "bigint", not_null=True, identity=Identity("ALWAYS")),
                Column("email", "text", not_null=True),
                Column("mood", "public.mood"),
            ),
            constraints=(
                UniqueConstraint("users_email_key", ("email",)),
                PrimaryKey("users_pkey", ("id",)),
                CheckConstraint("users_email_check", "(email <> ''::text)"),
            ),
        )
    )
    b.add(
        Table(
            "public",
            "posts",
            columns=(Column("id", "integer", not_null=True), Column("user_id", "bigint")),
            constraints=(
                ForeignKey("posts_user_id_fkey", ("user_id",), "public", "users", ("id",), on_delete="CASCADE"),
                ExclusionConstraint("posts_excl", "gist", (ExclusionElement("id", "="),)),
            ),
            partition_by=PartitionSpec("RANGE", "id"),
        )
    )
    b.add(Index("public", "posts_user_idx", "posts", (IndexKey(column="user_id", descending=True),)))
    b.add(View("public", "v", " SELECT 1 AS one;", (ViewColumn("one", "integer"),)))
    b.add(Function("public", "f", (FunctionArgument("x", "integer"),), returns="integer", body="select x"))
    return b


def test_json_round_trip_gives_an_equal_catalog() -> None:
    catalog = sample_catalog().freeze()
    assert catalog_from_json(catalog_to_json(catalog)) == catalog


def test_json_is_deterministic_whatever_the_insertion_order() -> None:
    first = sample_catalog().freeze()
    reordered = CatalogBuilder()
    for collection in ("functions", "views", "indexes", "tables", "enums", "schemas"):
        for node in reversed(getattr(first, collection)):
            reordered.add(node)
    assert catalog_to_json(reordered.freeze()) == catalog_to_json(first)


def test_constraints_are_sorted_by_name_and_tagged_with_their_kind() -> None:
    data = json.loads(catalog_to_json(sample_catalog().freeze()))
    users = next(t for t in data["tables"] if t["name"] == "users")
    assert [c["name"] for c in users["constraints"]] == ["users_email_check", "users_email_key", "users_pkey"]
    assert [c["kind"] for c in users["constraints"]] == ["CheckConstraint", "UniqueConstraint", "PrimaryKey"]


def test_a_field_named_kind_survives_the_round_trip() -> None:
    b = CatalogBuilder()
    b.add(Function("public", "agg", (FunctionArgument(None, "text"),), kind="aggregate", body="SFUNC = f, STYPE = text"))
    catalog = b.freeze()
    assert catalog_from_json(catalog_to_json(catalog)).functions[0].kind == "aggregate"


def test_defaults_are_left_out_of_json() -> None:
    data = json.loads(catalog_to_json(sample_catalog().freeze()))
    email = next(t for t in data["tables"] if t["name"] == "users")["columns"][1]
    assert email == {"name": "email", "data_type": "text", "not_null": True}


def test_catalog_is_hashable_and_equal_by_value() -> None:
    assert hash(sample_catalog().freeze()) == hash(sample_catalog().freeze())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not JSON"),
        ('{"ir_version": 99}', "ir_version"),
        ('{"ir_version": 1, "tables": [{"schema": "s", "name": "t", "colour": 1}]}', "unknown field 'colour'"),
        ('{"ir_version": 1, "tables": [{"schema": "s", "name": 5}]}', "expected str"),
        ('{"ir_version": 1, "triggers": [{"schema": "s", "table": "t", "name": "x", "timing": "SOMETIMES", '
         '"events": [], "function_schema": "s", "function": "f"}]}', "SOMETIMES"),
    ],
)
def test_bad_ir_json_is_rejected_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(IRFormatError, match=message):
        catalog_from_json(text)


def test_builder_replace_handles_renames() -> None:
    b = sample_catalog()
    users = b.get(Table, "public", "users")
    assert users is not None
    import dataclasses

    b.replace(users, dataclasses.replace(users, name="people"))
    catalog = b.freeze()
    assert catalog.table("public", "users") is None
    assert catalog.table("public", "people") is not None


def test_json_is_what_json_dumps_writes_of_to_data() -> None:
    """catalog_to_json writes the indented JSON itself (json's indenting encoder is slow):
    byte for byte what json.dumps makes of to_data, on the sample and on pagila."""
    from pathlib import Path

    from nself.ir import to_data

    catalogs = [sample_catalog().freeze()]
    pagila = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "schemas" / "pagila"
    if pagila.is_dir():
        from nself.frontends.sql import compile_migrations

        catalogs.append(compile_migrations(pagila))
    for catalog in catalogs:
        data = to_data(catalog)
        data["ir_version"] = catalog.ir_version
        assert catalog_to_json(catalog) == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        assert catalog_to_json(catalog, indent=None) == json.dumps(data, sort_keys=True, ensure_ascii=False) + "\n"


def test_operators_round_trip_and_an_older_document_has_none() -> None:
    """Operators (CREATE OPERATOR's) and body_depends_on survive the round trip; an IR
    document written before them (no `operators` list, no `body_depends_on`) loads with none
    and with the field unknown."""
    from nself.ir.model import Dependency, Function, Operator

    b = CatalogBuilder()
    f = Function("app", "near", (), returns="boolean", body="SELECT true")
    b.add(dataclasses.replace(f, body_depends_on=(Dependency("relation", "app", "t"),)))
    b.add(Operator("app", "~~~", "integer", "integer", "app.near", commutator="OPERATOR(app.~~~)", comment="x"))
    b.add(Operator("app", "~~~", None, "integer", "app.near"))
    catalog = b.freeze()
    text = catalog_to_json(catalog)
    again = catalog_from_json(text)
    assert again == catalog and again.operators == catalog.operators
    assert again.functions[0].body_depends_on == (Dependency("relation", "app", "t"),)
    data = json.loads(text)
    del data["operators"]
    del data["functions"][0]["body_depends_on"]
    older = catalog_from_json(json.dumps(data))
    assert older.operators == () and older.functions[0].body_depends_on is None
