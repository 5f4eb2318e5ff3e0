"""GraphQL schema: golden files for rich_schema.sql (plain and Hasura), and graphql-core's
build_schema + validate_schema on the output for rich_schema.sql, every_case.sql and each
corpus schema, in both modes; real rows with NULL array elements executed through the
schema, and input values (NULL elements, explicit NULL, left out) coerced by graphql-core
and written to PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    graphql_sync,
    parse,
    validate,
    validate_schema,
)
from graphql.utilities import coerce_input_value

from nself.backends.types.common import table_column_rules, table_field_sets
from nself.backends.types.graphql import _Renderer, field_name, member_line, render, render_graphql
from nself.frontends.live import introspect
from nself.ir import Catalog, CatalogBuilder, catalog_from_json, catalog_to_json
from nself.ir.model import Schema
from tests.backends.types.conftest import CorpusCatalogs, SessionDatabases, assert_golden
from tests.backends.types.toolchain import CORPUS_SCHEMAS, load_rich

MODES = [pytest.param({}, id="plain"), pytest.param({"with_hasura": True}, id="hasura")]
# The declared dimensions, as before arrays admitted any (the tests of element nullability
# read easier so; test_arrays_admit_any_dimension checks the default).
DECLARED = {"arrays": "declared"}


@pytest.fixture(scope="module")
def rich(types_databases: SessionDatabases) -> Catalog:
    return load_rich(types_databases)[1]


def built(catalog: Catalog, options: dict[str, bool]) -> GraphQLSchema:
    schema = build_schema(render_graphql(catalog, options))
    errors = validate_schema(schema)
    assert errors == [], [str(e) for e in errors]
    return schema


@pytest.mark.parametrize(
    ("db_name", "expected"),
    [
        ("id", "id"),
        ("Display Name", "Display_Name"),
        ("2fa", "_2fa"),
        ("__x", "_x"),
        ("-", "_value"),
        ("naïve", "naive"),
    ],
)
def test_field_name(db_name: str, expected: str) -> None:
    assert field_name(db_name) == expected


@pytest.mark.oracle
@pytest.mark.parametrize("options", MODES)
def test_rich_schema_builds_and_validates(rich: Catalog, options: dict[str, bool]) -> None:
    schema = built(rich, options)
    assert isinstance(schema, object)


def test_plain_mode_types(rich: Catalog) -> None:
    schema = build_schema(render_graphql(rich, DECLARED))
    users = schema.get_type("Users")
    assert isinstance(users, GraphQLObjectType)
    assert str(users.fields["id"].type) == "BigInt!"
    assert str(users.fields["roles"].type) == "[Access]!"  # array elements may be NULL
    all_types = schema.get_type("AllTypes")
    assert isinstance(all_types, GraphQLObjectType)
    assert str(all_types.fields["c_text_array"].type) == "[String]!"
    assert str(all_types.fields["c_int_matrix"].type) == "[[Int]!]"  # a sub-array is never NULL
    assert str(all_types.fields["c_labels"].type) == "[String!]"  # an array of a NOT NULL domain
    assert str(all_types.fields["c_checked_texts"].type) == "[String!]"  # a null-free CHECK
    assert (
        "Display_Name" in users.fields
        and users.fields["Display_Name"].description == 'Column "Display Name".'
    )
    assert isinstance(schema.get_type("AuthUsers"), GraphQLObjectType)  # auth.users beside public.users
    access = schema.get_type("Access")
    assert isinstance(access, GraphQLEnumType)
    assert list(access.values) == [
        "READ_ONLY",
        "GUEST_USER",
        "_2FA_PENDING",
        "ADMIN",
        "READ_ONLY_2",
        "CLASS",
        "TRUE",
    ]
    insert = schema.get_type("UsersInsertInput")
    assert isinstance(insert, GraphQLInputObjectType)
    assert "id" not in insert.fields and str(insert.fields["email"].type) == "String!"
    assert str(schema.get_type("AllTypesInsertInput").fields["c_composite"].type) == "MoneyAmountInput"  # type: ignore[union-attr]
    query = schema.query_type
    assert query is not None
    assert str(query.fields["search_users"].type) == "[Users]!"  # SETOF users may yield a NULL row
    assert set(query.fields["search_users"].args) == {"query", "max_rows"}
    assert str(query.fields["user_stats"].type) == "[UserStatsResult!]!"
    assert "add_tag" in query.fields and "add_tag_2" in query.fields  # overloads
    assert "auth_uid" in query.fields  # a function outside public
    mutation = schema.mutation_type
    assert mutation is not None and "touch" in mutation.fields  # VOLATILE functions are mutations
    assert "set_created" not in query.fields and "set_created" not in mutation.fields


def test_hasura_mode_types(rich: Catalog) -> None:
    schema = build_schema(render_graphql(rich, {"with_hasura": True}))
    for name in [
        "users",
        "auth_users",
        "users_bool_exp",
        "users_order_by",
        "users_insert_input",
        "users_set_input",
        "users_pk_columns_input",
        "users_mutation_response",
        "bigint_comparison_exp",
        "access_array_comparison_exp",
        "auth_status_comparison_exp",
        "order_by",
    ]:
        assert schema.get_type(name) is not None, name
    query = schema.query_type
    mutation = schema.mutation_type
    assert query is not None and mutation is not None
    assert {"users", "users_by_pk", "auth_users", "auth_users_by_pk", "user_emails"} <= set(query.fields)
    assert {
        "insert_users",
        "insert_users_one",
        "update_users",
        "update_users_by_pk",
        "delete_users",
        "delete_users_by_pk",
    } <= set(mutation.fields)
    assert str(query.fields["users_by_pk"].args["id"].type) == "bigint!"


def validation_errors(schema: GraphQLSchema, document: str) -> list[str]:
    return [e.message for e in validate(schema, parse(document))]


# Queries as Hasura's documentation writes them (hasura.io/docs/latest/queries/postgres/:
# filtering with _and and relationships, nested object and array relationships,
# distinct_on, order_by on a relationship's aggregate, aggregation queries), over
# rich_schema.sql: public.class.teacher_id and auth.users.user_id reference public.users.
HASURA_QUERIES = [
    """query {
      users(
        where: {_and: [{email: {_ilike: "%a%"}}, {class: {teacher_id: {_is_null: false}}}]}
        order_by: [{created_at: desc_nulls_last}, {class_aggregate: {count: desc}}]
        distinct_on: [email]
        limit: 10
      ) {
        id email
        class(where: {id: {_gt: 1}}, order_by: {id: asc}) { id users { email } }
        class_aggregate { aggregate { count max { id } } }
        users { status }
      }
    }""",
    """query {
      users_aggregate(where: {score: {_gte: 1}, roles: {_contains: ["admin"]}}) {
        aggregate { count(columns: [email], distinct: true) sum { score } avg { score } max { created_at } }
        nodes { id class_aggregate { aggregate { count } } }
      }
    }""",
    # the docs' distinct_on example: one row per value, the first of each by order_by
    """query {
      users(distinct_on: [access], order_by: [{access: asc}, {score: desc}]) { id access score }
    }""",
    """query Active($status: auth_status) {
      auth_users(where: {status: {_eq: $status}, users: {email: {_eq: "x"}}}, order_by: {users: {email: asc}}) {
        status users { id }
      }
      users_by_pk(id: 1) { email }
    }""",
    """mutation {
      insert_users_one(object: {email: "a@x"}) { id }
      update_users(where: {id: {_eq: 1}}, _set: {score: 2}) {
        affected_rows returning { class_aggregate { aggregate { count } } }
      }
      delete_class(where: {users: {id: {_eq: 1}}}) { affected_rows }
    }""",
    # an upsert, as Hasura's docs write one: on a key constraint, updating some columns
    """mutation {
      insert_users(
        objects: [{email: "a@x", score: 1}]
        on_conflict: {constraint: users_pkey, update_columns: [score, email], where: {score: {_lt: 5}}}
      ) { affected_rows }
      insert_users_one(object: {email: "b@x"}, on_conflict: {constraint: users_pkey}) { id }
    }""",
    # update operators beside _set: _inc on numbers, the jsonb ones on jsonb columns
    """mutation {
      update_all_types(where: {id: {_eq: 1}}, _inc: {c_integer: 1, c_numeric: "0.5"},
                       _append: {c_jsonb: {a: 1}}, _delete_key: {c_jsonb: "b"}) { affected_rows }
      update_all_types_by_pk(pk_columns: {id: 1}, _delete_at_path: {c_jsonb: ["a", "b"]},
                             _delete_elem: {c_jsonb: 0}, _prepend: {c_jsonb: [1]}) { id }
    }""",
]

# Each must be refused: a column that is not there, a distinct_on value that is not a
# column, sum over a text column, a filter on a relationship the table does not have.
# Streaming subscriptions as Hasura's docs write them (a cursor object where the list is
# declared: GraphQL coerces one value to a list of one), and misuses.
HASURA_STREAMS = [
    """subscription {
      users_stream(
        batch_size: 10
        cursor: {initial_value: {created_at: "2021-02-22T18:16:12.95499+00:00"}, ordering: ASC}
        where: {access: {_eq: "read-only"}}
      ) { id email created_at }
    }""",
    """subscription ($id: bigint) {
      users_stream(batch_size: 1, cursor: [{initial_value: {id: $id}}]) { id class { id } }
    }""",
    "subscription { all_types_stream(batch_size: 2, cursor: {initial_value: {id: 1}, ordering: DESC}) { id } }",
]
HASURA_STREAMS_REFUSED = [
    "subscription { users_stream(cursor: {initial_value: {id: 1}}) { id } }",  # batch_size is required
    "subscription { users_stream(batch_size: 1) { id } }",  # so is the cursor
    "subscription { users_stream(batch_size: 1, cursor: {initial_value: {id: 1}, ordering: asc}) { id } }",
    "subscription { users_stream(batch_size: 1, cursor: {initial_value: {nope: 1}}) { id } }",
    "subscription { users_stream(batch_size: 1, cursor: {ordering: ASC}) { id } }",  # no initial_value
    "query { users_stream(batch_size: 1, cursor: {initial_value: {id: 1}}) { id } }",  # not a query
]

HASURA_REFUSED = [
    "{ users { nope } }",
    "{ users(distinct_on: [nope]) { id } }",
    "{ users_aggregate { aggregate { sum { email } } } }",
    "{ class(where: {class: {id: {_eq: 1}}}) { id } }",
    "{ users { class { teacher } } }",
    "mutation { insert_users(objects: [], on_conflict: {constraint: nope}) { affected_rows } }",
    "mutation { update_all_types(where: {}, _inc: {c_jsonb: 1}) { affected_rows } }",
    "mutation { update_all_types(where: {}, _append: {c_integer: 1}) { affected_rows } }",
]


def test_hasura_queries_validate_against_the_schema(rich: Catalog) -> None:
    """graphql-core's validate: queries written as Hasura users write them (relationships,
    aggregates, where, order_by, distinct_on) are valid; wrong ones are not."""
    schema = built(rich, {"with_hasura": True})
    assert schema.query_type is not None and schema.query_type.name == "query_root"
    assert schema.mutation_type is not None and schema.mutation_type.name == "mutation_root"
    assert schema.subscription_type is not None and schema.subscription_type.name == "subscription_root"
    # every query field is a live query as well, and every table and view streams
    streams = set(schema.subscription_type.fields) - set(schema.query_type.fields)
    assert set(schema.subscription_type.fields) >= set(schema.query_type.fields)
    relations = set(_Renderer(rich, {"with_hasura": True}).names.values())
    assert streams == {f"{n}_stream" for n in relations if f"{n}_aggregate" in schema.query_type.fields}
    assert (
        "users_stream" in streams and "auth_users_stream" in streams and "search_users_stream" not in streams
    )
    subscription = "subscription { users(limit: 5, order_by: {id: desc}) { id class { id } } }"
    assert validation_errors(schema, subscription) == []
    for document in HASURA_STREAMS:
        assert validation_errors(schema, document) == [], document
    for document in HASURA_STREAMS_REFUSED:
        assert validation_errors(schema, document), document
    for document in HASURA_QUERIES:
        assert validation_errors(schema, document) == [], document
    for document in HASURA_REFUSED:
        assert validation_errors(schema, document), document
    # A native enum is a scalar named after it, as Hasura exposes it.
    assert str(schema.get_type("auth_status")) == "auth_status" and not isinstance(
        schema.get_type("auth_status"), GraphQLEnumType
    )


def test_plain_schema_has_relation_fields(rich: Catalog) -> None:
    schema = built(rich, {})
    document = """{
      users(limit: 5) { id class(limit: 2) { id users { email } } users { status } }
      class { users { id } }
    }"""
    assert validation_errors(schema, document) == []
    users = schema.get_type("Users")
    assert isinstance(users, GraphQLObjectType)
    assert (
        str(users.fields["class"].type) == "[Class!]!" and str(users.fields["users"].type) == "[AuthUsers!]!"
    )
    klass = schema.get_type("Class")
    assert isinstance(klass, GraphQLObjectType)
    assert str(klass.fields["users"].type) == "Users"  # teacher_id may be NULL
    auth_users = schema.get_type("AuthUsers")
    assert isinstance(auth_users, GraphQLObjectType) and str(auth_users.fields["users"].type) == "Users!"


def test_functions_take_named_arguments_and_setof_elements_may_be_null(functions_catalog: Catalog) -> None:
    """functions_schema.sql: shout(text, suffix text) has an unnamed argument without a
    default, which a call by name cannot pass (PostgreSQL refuses `arg1 => ...`): left
    out; SETOF integer and SETOF people may yield NULL elements, TABLE rows may not."""
    schema = built(functions_catalog, {})
    query = schema.query_type
    assert query is not None
    assert "shout" not in query.fields
    assert all("arg1" not in f.args for f in query.fields.values())
    assert str(query.fields["maybe_numbers"].type) == "[Int]!"
    assert str(query.fields["people_named"].type) == "[People]!"
    assert set(query.fields["people_named"].args) == {"pattern", "max_rows"}
    assert str(query.fields["stats"].type) == "[StatsResult!]!"


def test_hasura_functions_take_args_and_select_like_tables(functions_catalog: Catalog, rich: Catalog) -> None:
    """As Hasura tracks functions: only those returning a table's or view's rows, their
    arguments in one `args` input, a SETOF function's rows filtered, sorted and aggregated
    as the table's (a NULL row reaches a client as a row of NULLs: the elements are the
    table's type)."""
    schema = built(functions_catalog, {"with_hasura": True})
    query = schema.query_type
    assert query is not None
    functions = {"people_named", "people_named_aggregate", "maybe_numbers", "stats", "shout", "one"}
    assert functions & set(query.fields) == {"people_named", "people_named_aggregate"}
    assert str(query.fields["people_named"].type) == "[people!]!"
    assert str(query.fields["people_named"].args["args"].type) == "people_named_args!"
    assert input_fields(schema, "people_named_args") == {"pattern": "String!", "max_rows": "Int"}
    document = """{
      people_named(args: {pattern: "A%"}, where: {tags: {_contains: ["a"]}}, order_by: {name: asc}, limit: 1) { id name }
      people_named_aggregate(args: {pattern: "%", max_rows: 5}) { aggregate { count max { id } } }
    }"""
    assert validation_errors(schema, document) == []
    assert validation_errors(schema, '{ people_named(pattern: "A%") { id } }')  # not Hasura's shape
    rich_schema = built(rich, {"with_hasura": True})
    assert (
        validation_errors(rich_schema, '{ search_users(args: {query: "%a%"}) { email class { id } } }') == []
    )


def input_fields(schema: GraphQLSchema, name: str) -> dict[str, str]:
    input_type = schema.get_type(name)
    assert isinstance(input_type, GraphQLInputObjectType)
    return {n: str(f.type) for n, f in input_type.fields.items()}


@pytest.mark.parametrize("options", MODES)
def test_array_elements_are_nullable_unless_postgresql_keeps_null_out(
    every_case_catalog: Catalog, options: dict[str, bool]
) -> None:
    schema = build_schema(render_graphql(every_case_catalog, {**options, **DECLARED}))
    hasura = bool(options)
    row = schema.get_type("array_elements" if hasura else "ArrayElements")
    assert isinstance(row, GraphQLObjectType)
    expected = {
        "plain": "[String]",
        "numbers": "[Int]!",  # NOT NULL binds the array, not its elements
        "matrix": "[[Int]!]",
        "labels": "[String!]",  # label is a NOT NULL domain
        "strict": "[String!]",  # a domain whose CHECK keeps NULL out
        "checked": "[bigint!]" if hasura else "[BigInt!]",  # the column's CHECK does
    }
    assert {n: str(row.fields[n].type) for n in expected} == expected
    for name in (
        ("array_elements_insert_input", "array_elements_set_input")
        if hasura
        else (
            "ArrayElementsInsertInput",
            "ArrayElementsUpdateInput",
        )
    ):
        fields = input_fields(schema, name)
        assert fields["plain"] == "[String]" and fields["labels"] == "[String!]", fields
        assert fields["matrix"] == "[[Int]!]", fields
    all_types = schema.get_type("all_types" if hasura else "AllTypes")
    assert isinstance(all_types, GraphQLObjectType)
    assert str(all_types.fields["c_Checked_Texts"].type) == "[String!]"  # an operand of a top-level AND
    assert str(all_types.fields["c_unchecked_ints"].type) == "[Int]"  # under OR: promises nothing
    composite = schema.get_type("line_item" if hasura else "LineItem")  # as the types say
    assert isinstance(composite, GraphQLObjectType) and str(composite.fields["matrix"].type) == "[[Int]!]"
    if hasura:
        # The operand of an array comparison is a value PostgreSQL takes with NULL elements.
        assert input_fields(schema, "String_array_comparison_exp")["_contains"] == "[String]"
        assert input_fields(schema, "String_array_comparison_exp")["_in"] == "[[String]!]"


def test_arrays_admit_any_dimension(every_case_catalog: Catalog) -> None:
    """By default (PostgreSQL enforces no declared dimension) an array is the scalar PgArray
    in plain GraphQL, which GraphQL's list types cannot be for lists of any depth, and one
    list level with Hasura, as Hasura serves array columns; a CHECK (array_ndims(c) = N)
    gives N nested lists in plain GraphQL."""
    import dataclasses

    from nself.ir.model import CheckConstraint, Column, Table

    grid = Table(
        "public",
        "grid",
        (
            Column("id", "integer", not_null=True),
            Column("cells", "integer[]"),
            Column("any_cells", "integer[]"),
        ),
        constraints=(CheckConstraint("grid_cells", "(array_ndims(cells) = 2)"),),
    )
    catalog = dataclasses.replace(every_case_catalog, tables=(*every_case_catalog.tables, grid))
    plain = built(catalog, {})
    row = plain.get_type("ArrayElements")
    assert isinstance(row, GraphQLObjectType)
    assert {n: str(row.fields[n].type) for n in ("plain", "numbers", "matrix")} == {
        "plain": "PgArray",
        "numbers": "PgArray!",
        "matrix": "PgArray",
    }
    assert "nested JSON lists" in (plain.get_type("PgArray").description or "")  # type: ignore[union-attr]
    cells = plain.get_type("Grid")
    assert isinstance(cells, GraphQLObjectType)
    assert str(cells.fields["cells"].type) == "[[Int]!]" and str(cells.fields["any_cells"].type) == "PgArray"
    hasura = built(catalog, {"with_hasura": True})
    row = hasura.get_type("array_elements")
    assert isinstance(row, GraphQLObjectType)
    assert str(row.fields["matrix"].type) == "[Int]" and str(row.fields["labels"].type) == "[String!]"


def test_array_elements_of_function_arguments_and_results(rich: Catalog) -> None:
    schema = build_schema(render_graphql(rich, DECLARED))
    query = schema.query_type
    assert query is not None
    overloads = [query.fields["add_tag"], query.fields["add_tag_2"]]
    assert {str(f.args["tags"].type) for f in overloads} == {"[String]!"}
    assert str(query.fields["sum_ints"].args["nums"].type) == "[Int]!"
    assert {str(f.type) for f in overloads} >= {"[String]"}


def field_set_lines(renderer: _Renderer, catalog: Catalog) -> list[tuple[list[str], ...]]:
    """What each table gives, spelled from common.table_field_sets."""
    result: list[tuple[list[str], ...]] = []
    for table in catalog.tables:
        row, insert, update = table_field_sets(table, renderer.resolver)
        names = renderer.fields_of([f.column for f in row])
        gql = dict(zip([f.column for f in row], names, strict=True))
        filters: list[str] = []
        order: list[str] = []
        if renderer.hasura:
            for f in row:
                filter_type, order_type = renderer.filter_types(f.data_type)
                filters += [member_line(gql[f.column], filter_type)] if filter_type else []
                order += [member_line(gql[f.column], order_type)] if order_type else []
        lines: list[list[str]] = [[], [], []]
        for target, fields, as_input in ((0, row, False), (1, insert, True), (2, update, True)):
            for f in fields:
                nullable = f.nullable if target == 0 else f.optional
                text = renderer.type_ref(
                    f.data_type,
                    nullable,
                    element_nullable=f.element_nullable,
                    as_input=as_input,
                    ndims=f.ndims,
                )
                doc = renderer.description(f.column, gql[f.column], f.comment if target == 0 else None)
                lines[target].append(member_line(gql[f.column], text, "", doc))
        result.append((*lines, filters, order))
    return result


@pytest.mark.parametrize("options", MODES)
@pytest.mark.parametrize("source", ["rich", "every_case", *CORPUS_SCHEMAS])
def test_table_lines_decide_as_table_field_sets(
    source: str,
    options: dict[str, bool],
    rich: Catalog,
    every_case_catalog: Catalog,
    corpus_catalogs: CorpusCatalogs,
) -> None:
    """The renderer spells each distinct column once (table_lines); what it decides must
    stay what common.table_field_sets decides."""
    catalog = {"rich": rich, "every_case": every_case_catalog}.get(source) or corpus_catalogs.get(source)
    renderer = _Renderer(catalog, options)
    lines = [
        renderer.table_lines(
            t, renderer.fields_of([c.name for c in t.columns]), table_column_rules(t, renderer.resolver)
        )
        for t in catalog.tables
    ]
    assert lines == field_set_lines(renderer, catalog)


@pytest.mark.oracle
def test_real_rows_with_null_elements_go_through_the_schema(every_case_rows: tuple[str, Catalog]) -> None:
    """Rows of public.array_elements as PostgreSQL writes them in JSON, returned by a
    resolver: graphql-core serialises them through the field types, and would refuse a
    NULL where a type says non-null (shown with a row PostgreSQL itself would refuse)."""
    url, _ = every_case_rows
    with psycopg.connect(url) as conn:
        rows = [
            json.loads(r[0])
            for r in conn.execute(
                "SELECT json_build_object('id', id, 'plain', plain, 'numbers', numbers, 'matrix', matrix,"
                " 'labels', labels, 'strict', strict, 'checked', checked)::text"
                " FROM public.array_elements ORDER BY id"
            ).fetchall()
        ]
    assert rows[0]["plain"] == ["a", None, "c"] and rows[0]["matrix"] == [[1, None], [None, 4]]
    schema = built(introspect(url), DECLARED)
    query = "{ arrayElements { id plain numbers matrix labels strict checked } }"
    result = graphql_sync(schema, query, root_value={"arrayElements": rows})
    assert result.errors is None, result.errors
    assert result.data == {"arrayElements": rows}
    refused = graphql_sync(schema, query, root_value={"arrayElements": [{**rows[0], "labels": ["x", None]}]})
    assert refused.errors and "non-nullable field ArrayElements.labels" in str(refused.errors[0])


@pytest.mark.oracle
def test_inputs_take_null_elements_where_postgresql_does(every_case_catalog: Catalog) -> None:
    schema = built(every_case_catalog, DECLARED)
    insert = schema.get_type("ArrayElementsInsertInput")
    assert isinstance(insert, GraphQLInputObjectType)
    value = {
        "id": 1,
        "plain": ["a", None],
        "numbers": [None],
        "matrix": [[1, None], [None, 4]],
        "labels": ["x"],
    }
    assert coerce_input_value(value, insert) == value
    for refused in ({"labels": ["x", None]}, {"strict": [None]}, {"checked": [None]}, {"matrix": [None]}):
        with pytest.raises(GraphQLError):
            coerce_input_value({"id": 1, "numbers": [], **refused}, insert)


@pytest.mark.oracle
def test_insert_and_update_inputs_tell_null_from_left_out(types_databases: SessionDatabases) -> None:
    """An input field left out, set to null and set to a value coerce to three different
    things (GraphQL keeps an explicit null apart from a missing field), and written to
    PostgreSQL the way a resolver would (the columns present), they mean: the default
    applies, NULL is written, the value is written. score is a domain with DEFAULT 1."""
    url, catalog = load_rich(types_databases)
    schema = built(catalog, {})
    insert, update = schema.get_type("UsersInsertInput"), schema.get_type("UsersUpdateInput")
    assert isinstance(insert, GraphQLInputObjectType) and isinstance(update, GraphQLInputObjectType)

    def write(conn: psycopg.Connection[Any], values: dict[str, Any], row_id: int | None = None) -> Any:
        columns = ", ".join(f'"{k}"' for k in values)
        marks = ", ".join(["%s"] * len(values))
        if row_id is None:
            sql = f"INSERT INTO public.users ({columns}) VALUES ({marks}) RETURNING score"
            return conn.execute(sql, list(values.values())).fetchone()[0]  # type: ignore[index]
        if values:
            sql = f"UPDATE public.users SET ({columns}) = ROW({marks}) WHERE id = %s"
            conn.execute(sql, [*values.values(), row_id])
        return conn.execute("SELECT score FROM public.users WHERE id = %s", [row_id]).fetchone()[0]  # type: ignore[index]

    left_out = coerce_input_value({"email": "a@x"}, insert)
    written_null = coerce_input_value({"email": "b@x", "score": None}, insert)
    assert left_out == {"email": "a@x"} and written_null == {"email": "b@x", "score": None}
    with pytest.raises(GraphQLError):  # email is NOT NULL without a default: required
        coerce_input_value({"score": 2}, insert)
    with psycopg.connect(url) as conn:
        assert write(conn, left_out) == 1  # the domain's default
        assert write(conn, written_null) is None
        assert write(conn, coerce_input_value({"email": "c@x", "score": 7}, insert)) == 7
        row_id = conn.execute("SELECT id FROM public.users WHERE email = 'c@x'").fetchone()[0]  # type: ignore[index]
        assert write(conn, coerce_input_value({}, update), row_id) == 7  # left alone
        assert write(conn, coerce_input_value({"score": None}, update), row_id) is None
        assert write(conn, coerce_input_value({"score": 3}, update), row_id) == 3


def test_empty_catalog_still_gives_a_valid_schema() -> None:
    builder = CatalogBuilder()
    builder.add(Schema("public"))
    for options in ({}, {"with_hasura": True}):
        built(builder.freeze(), options)


def test_output_is_deterministic(rich: Catalog) -> None:
    for options in ({}, {"with_hasura": True}):
        assert render(rich, options) == render(catalog_from_json(catalog_to_json(rich)), options)


def test_golden(rich: Catalog) -> None:
    assert_golden("graphql/rich.graphql", render_graphql(rich, {}))
    assert_golden("graphql/rich_hasura.graphql", render_graphql(rich, {"with_hasura": True}))
    # `arrays = "declared"`: the declared dimensions, as before arrays admitted any.
    assert_golden("graphql/rich_declared.graphql", render_graphql(rich, DECLARED))
    assert_golden(
        "graphql/rich_hasura_declared.graphql", render_graphql(rich, {"with_hasura": True, **DECLARED})
    )


@pytest.mark.oracle
@pytest.mark.parametrize("options", MODES)
def test_every_case_schema_validates(every_case_catalog: Catalog, options: dict[str, bool]) -> None:
    built(every_case_catalog, options)


@pytest.mark.oracle
@pytest.mark.parametrize("name", CORPUS_SCHEMAS)
def test_corpus_schemas_validate(corpus_catalogs: CorpusCatalogs, name: str) -> None:
    catalog = corpus_catalogs.get(name)
    for options in ({}, {"with_hasura": True}):
        built(catalog, options)
