"""GraphQL schema: golden files for rich_schema.sql (plain and Hasura), and graphql-core's
build_schema + validate_schema on the output for rich_schema.sql, every_case.sql and each
corpus schema, in both modes."""

from __future__ import annotations

import pytest
from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType, build_schema, validate_schema

from nself.backends.types.graphql import field_name, render, render_graphql
from nself.ir import Catalog, CatalogBuilder, catalog_from_json, catalog_to_json
from nself.ir.model import Schema
from tests.backends.types.conftest import CorpusCatalogs, SessionDatabases, assert_golden
from tests.backends.types.toolchain import CORPUS_SCHEMAS, load_rich

MODES = [pytest.param({}, id="plain"), pytest.param({"with_hasura": True}, id="hasura")]


@pytest.fixture(scope="module")
def rich(types_databases: SessionDatabases) -> Catalog:
    return load_rich(types_databases)[1]


def built(catalog: Catalog, options: dict[str, bool]) -> object:
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
    schema = build_schema(render_graphql(rich, {}))
    users = schema.get_type("Users")
    assert isinstance(users, GraphQLObjectType)
    assert str(users.fields["id"].type) == "BigInt!"
    assert str(users.fields["roles"].type) == "[Access]!"
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
    assert str(query.fields["search_users"].type) == "[Users!]!"
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
