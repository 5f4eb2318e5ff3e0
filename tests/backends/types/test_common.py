"""The shared naming and type rules of the type backends, one line per case."""

from __future__ import annotations

import pytest

from nself.backends.types.common import (
    TypeResolver,
    array_dims,
    callable_functions,
    camel_case,
    column_nullable,
    escape_reserved,
    insert_presence,
    make_identifier,
    member_names,
    null_free_array_subjects,
    pascal_case,
    screaming_snake_case,
    snake_case,
    split_type_name,
    table_field_sets,
    type_names,
    update_presence,
)
from nself.ir import CatalogBuilder
from nself.ir.model import (
    CheckConstraint,
    Column,
    CompositeAttribute,
    CompositeType,
    Domain,
    Enum,
    Function,
    FunctionArgument,
    Identity,
    RangeType,
    Schema,
    Table,
)


@pytest.mark.parametrize(
    ("name", "pascal", "camel", "snake", "screaming"),
    [
        ("read-only", "ReadOnly", "readOnly", "read_only", "READ_ONLY"),
        ("Guest User", "GuestUser", "guestUser", "guest_user", "GUEST_USER"),
        ("2fa_pending", "2faPending", "2faPending", "2fa_pending", "2FA_PENDING"),
        ("userID", "UserId", "userId", "user_id", "USER_ID"),
        ("HTTPServer", "HttpServer", "httpServer", "http_server", "HTTP_SERVER"),
        ("café", "Cafe", "cafe", "cafe", "CAFE"),
        ("film_actor", "FilmActor", "filmActor", "film_actor", "FILM_ACTOR"),
        ("address2", "Address2", "address2", "address2", "ADDRESS2"),
    ],
)
def test_case_conversions(name: str, pascal: str, camel: str, snake: str, screaming: str) -> None:
    assert (pascal_case(name), camel_case(name), snake_case(name), screaming_snake_case(name)) == (
        pascal,
        camel,
        snake,
        screaming,
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [("2fa_pending", "_2fa_pending"), ("🙂", "value"), ("a b", "a_b"), ("-", "value"), ("x", "x")],
)
def test_make_identifier(name: str, expected: str) -> None:
    assert make_identifier(name) == expected


def test_escape_reserved() -> None:
    assert escape_reserved("type", {"type"}) == "type_"
    assert escape_reserved("type", {"type"}, "r#{}") == "r#type"
    assert escape_reserved("name", {"type"}, "r#{}") == "name"


def test_member_names_are_unique_and_escaped() -> None:
    names = member_names(["a-b", "a b", "class", "2fa", "A_B"], screaming_snake_case, keywords={"CLASS"})
    assert names == ["A_B", "A_B_2", "CLASS_", "_2FA", "A_B_3"]
    assert member_names(["A", "a"], pascal_case, fold_case=True) == ["A", "A_2"]


def test_type_names_never_collide() -> None:
    names = type_names(
        [("public", "users"), ("auth", "users"), ("public", "User"), ("public", "user"), ("x", "date")],
        reserved={"Date"},
        suffixes=("", "Insert", "Update"),
    )
    assert names[("public", "users")] == "Users"
    assert names[("auth", "users")] == "AuthUsers"
    assert names[("x", "date")] == "XDate"
    assert len(set(names.values())) == len(names)
    # derived names are checked too: users_insert would be UsersInsert, as Users + Insert
    derived = type_names([("public", "users"), ("public", "users_insert")], suffixes=("", "Insert"))
    assert derived[("public", "users")] == "Users"
    assert derived[("public", "users_insert")] == "PublicUsersInsert"
    # order of the input does not matter
    objects = [("b", "t"), ("a", "t"), ("public", "t")]
    assert type_names(objects) == type_names(list(reversed(objects)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("timestamp(3) with time zone", (None, "timestamp with time zone", "(3)")),
        ("numeric(10,2)[]", (None, "numeric", "(10,2)")),
        ('"My Schema"."My ""T"""[]', ("My Schema", 'My "T"', None)),
        ("interval day to second(3)", (None, "interval", "(3)")),
        ("public.mood", ("public", "mood", None)),
        ('"char"', (None, '"char"', None)),
    ],
)
def test_split_type_name(text: str, expected: tuple[str | None, str, str | None]) -> None:
    assert split_type_name(text) == expected


def test_array_dims() -> None:
    assert [array_dims(t) for t in ("integer", "integer[]", "text[][]", "public.mood[]")] == [0, 1, 2, 1]


def _catalog_for_resolution() -> TypeResolver:
    builder = CatalogBuilder()
    builder.add(Schema("public"))
    builder.add(Domain("public", "posint", "integer", checks=()))
    builder.add(Domain("public", "required_email", "text", not_null=True))
    builder.add(Domain("public", "email_list", "public.required_email[]"))
    builder.add(Domain("public", "dflt", "integer", default="0"))
    builder.add(Enum("public", "mood", ("sad", "ok")))
    builder.add(CompositeType("public", "pair", (CompositeAttribute("a", "integer"),)))
    builder.add(RangeType("public", "floatrange", "double precision"))
    return TypeResolver(builder.freeze())


def test_resolver_domains_arrays_and_user_types() -> None:
    resolver = _catalog_for_resolution()
    posint = resolver.resolve("public.posint")
    assert (posint.kind, posint.name, posint.family, posint.domain) == (
        "builtin",
        "integer",
        "int4",
        ("public", "posint"),
    )
    assert resolver.resolve("public.required_email").not_null
    email_list = resolver.resolve("public.email_list")
    assert (email_list.family, email_list.dims, email_list.not_null) == ("text", 1, False)
    assert resolver.resolve("public.posint[]").dims == 1
    assert resolver.resolve("public.mood[]").kind == "enum"
    assert resolver.resolve("public.pair").kind == "composite"
    floatrange = resolver.resolve("public.floatrange")
    assert floatrange.kind == "range" and floatrange.subtype is not None
    assert floatrange.subtype.family == "float8"
    assert resolver.resolve("int8range").subtype is not None
    citext = resolver.resolve("public.citext")
    assert (citext.kind, citext.family) == ("unknown", "text")
    assert resolver.resolve("character varying(20)").family == "text"


def test_insert_and_update_presence() -> None:
    resolver = _catalog_for_resolution()
    cases = {
        Column("a", "integer", not_null=True): ("required", "optional"),
        Column("b", "integer"): ("optional", "optional"),
        Column("c", "integer", not_null=True, default="0"): ("optional", "optional"),
        Column("d", "integer", not_null=True, default="nextval('public.t_d_seq'::regclass)"): (
            "optional",
            "optional",
        ),
        Column("e", "integer", not_null=True, identity=Identity("BY DEFAULT")): ("optional", "optional"),
        Column("f", "integer", not_null=True, identity=Identity("ALWAYS")): ("absent", "absent"),
        Column("g", "integer", generated="(a * 2)"): ("absent", "absent"),
        Column("h", "public.required_email"): ("required", "optional"),
        Column("i", "public.dflt", not_null=True): ("optional", "optional"),
    }
    for column, (insert, update) in cases.items():
        assert (insert_presence(column, resolver), update_presence(column)) == (insert, update), column.name
    assert not column_nullable(Column("h", "public.required_email"), resolver)

    # table_field_sets inlines the three rules: the same answers, column by column
    table = Table("public", "t", tuple(cases))
    row, insert_fields, update_fields = table_field_sets(table, resolver)
    assert [f.nullable for f in row] == [column_nullable(c, resolver) for c in cases]
    assert [(f.column, f.optional) for f in insert_fields] == [
        (c.name, insert_presence(c, resolver) == "optional")
        for c in cases
        if insert_presence(c, resolver) != "absent"
    ]
    assert [f.column for f in update_fields] == [c.name for c in cases if update_presence(c) != "absent"]


def test_callable_functions() -> None:
    builder = CatalogBuilder()
    builder.add(Schema("public"))
    builder.add(Table("public", "film", (Column("id", "integer", not_null=True),)))
    builder.add(Function("public", "trg", returns="trigger", language="plpgsql"))
    builder.add(
        Function(
            "public",
            "films",
            (FunctionArgument("q", "text"), FunctionArgument(None, "integer", default="10")),
            returns="SETOF public.film",
        )
    )
    builder.add(
        Function(
            "public",
            "stats",
            (
                FunctionArgument("n", "integer"),
                FunctionArgument("id", "integer", "TABLE"),
                FunctionArgument("t", "text", "TABLE"),
            ),
            returns="TABLE(id integer, t text)",
        )
    )
    builder.add(Function("public", "p", kind="procedure"))
    shapes = {s.name: s for s in callable_functions(builder.freeze())}
    assert sorted(shapes) == ["films", "stats"]
    films = shapes["films"]
    assert films.returns_set and films.return_type == "public.film"
    assert [n for n, _ in films.inputs] == ["q", "arg2"]
    stats = shapes["stats"]
    assert stats.return_columns == (("id", "integer"), ("t", "text")) and stats.returns_set
    assert [n for n, _ in stats.inputs] == ["n"]


def test_array_element_nullability() -> None:
    builder = CatalogBuilder()
    builder.add(Schema("public"))
    builder.add(Domain("public", "label", "text", not_null=True))
    builder.add(Domain("public", "labels", "public.label[]"))
    null_free = CheckConstraint("c", "(array_position(VALUE, NULL::text) IS NULL)")
    builder.add(Domain("public", "strict_tags", "text[]", checks=(null_free,)))
    builder.add(
        Domain("public", "loose_tags", "text[]", checks=(CheckConstraint("c", "(cardinality(VALUE) > 0)"),))
    )
    resolver = TypeResolver(builder.freeze())
    cases = {
        "text": False,  # not an array
        "text[]": True,
        "integer[][]": True,
        "public.label": False,
        "public.label[]": False,  # PostgreSQL checks the domain's NOT NULL on every element
        "public.labels": False,
        "public.strict_tags": False,
        "public.loose_tags": True,
    }
    assert {t: resolver.resolve(t).element_nullable for t in cases} == cases


@pytest.mark.parametrize(
    ("expression", "validated", "subjects"),
    [
        ("(array_position(tags, NULL::text) IS NULL)", True, {"tags"}),
        ("(array_position(tags, NULL::text) IS NULL)", False, set()),  # NOT VALID
        ('(cardinality(array_remove("My Tags", NULL::text)) = cardinality("My Tags"))', True, {"My Tags"}),
        ("(cardinality(array_remove(a, NULL::text)) = cardinality(b))", True, set()),
        ("((array_position(a, NULL::integer) IS NULL) AND (cardinality(a) > 0))", True, {"a"}),
        ("((array_position(a, NULL::integer) IS NULL) OR (cardinality(a) > 0))", True, set()),
        ("(NOT (array_position(a, NULL::integer) IS NULL))", True, set()),
        ("(array_position(a, NULL::character varying(10)) IS NULL)", True, {"a"}),
        ("(array_position(a, 'x'::text) IS NULL)", True, set()),
    ],
)
def test_null_free_array_checks(expression: str, validated: bool, subjects: set[str]) -> None:
    assert null_free_array_subjects([CheckConstraint("c", expression, validated=validated)]) == subjects
