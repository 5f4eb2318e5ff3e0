"""The sql frontend reads SQL as PostgreSQL 15 does, although pglast's grammar is 18's
(nself.pg15). Oracle: each script runs on a live PostgreSQL 15 in a transaction
rolled back, and through the frontend; they must agree on which are syntax errors (SQLSTATE
42601), and the frontend's refusal names the line and column."""

from __future__ import annotations

import re

import psycopg
import pytest
from pglast.parser import get_postgresql_version

from nself.errors import SourceError
from nself.frontends.sql import compile_sql
from nself.pg15 import NEWER_KEYWORDS

# Scripts (setup; statement) whose last statement is the case. PostgreSQL 15 accepts the
# first group's grammar (some fail later, for a missing function: not a syntax error).
ACCEPTED = [
    "create table t (system_user text)",
    "create table t (json_object int, json_table int, merge_action int, json int, json_value int)",
    "create function json_object(a int) returns int language sql as 'select 1'",
    "create view v as select system_user from (select 1 as system_user) s",
    "create table t (j json, k jsonb, l json[])",
    "create table t (j json default '{}'::json, k json default json '[]')",
    "create table t (a numeric default 1.5e3, b int default 10)",
    "create view v as select * from (select 1 as a) s",
    "create view v as select json_array(1, 2) as j",
    "create view v as select json_scalar(1) as j",
    "create view v as select json('{}') as j",
    "create table t (a int generated always as (1) stored)",
    "create table t (a text compression pglz)",
    "create table t (a int); create table s (a int); merge into t using s on t.a = s.a when matched then delete",
    "create role pg15_r1; create role pg15_r2; grant pg15_r1 to pg15_r2 with admin option",
    "create table t (a int, b int); create statistics s on a, b from t",
    "create table t (a int); alter table t set access method heap",
    "create table t (a int unique nulls not distinct)",
    "create table t (a int); insert into t values (1) returning *",
    "create table t (a int); update t set a = 1 returning a",
    "create table t (a int not null); alter table t add constraint c check (a > 0) not valid",
    "create table t (id int primary key); create table u (id int references t on delete set null (id))",
    "create function f() returns int language sql begin atomic select 1; end",
    "create table t (system_user int); create index i on t (system_user)",
    "create table t (a int); create view v as select a from t where a = any (array[1])",
    "do $$ begin create table t (system_user int); exception when duplicate_table then null; end $$",
]
REFUSED = [
    "create table t (a int default 0x1F)",
    "create table t (a int default 1_000)",
    "create table t (a int default 0o17)",
    "create table t (a int default 0b101)",
    "create view v as select * from (select 1 as a)",
    "create view v as select * from (values (1))",
    "create view v as select json_object('a': 1) as j",
    "create view v as select json_object('a' value 1) as j",
    "create view v as select '1'::text is json as j",
    "create view v as select * from json_table('[]'::jsonb, '$[*]' columns (a int path '$.a')) jt",
    "create table t (a int generated always as (1) virtual)",
    "create table t (a int generated always as (1))",
    "create table t (a text storage external)",
    "create table t (a int generated always as (1) stored); alter table t alter column a set expression as (2)",
    "create table t (a int); create table s (a int);\n"
    "merge into t using s on t.a = s.a when matched then delete returning *",
    "create table t (a int); create table s (a int);\n"
    "merge into t using s on t.a = s.a when not matched by source then delete",
    "create role pg15_r1; create role pg15_r2; grant pg15_r1 to pg15_r2 with inherit true",
    "create table t (a int, check (a > 0) not enforced)",
    "create table t (a int, b int); create statistics on a, b from t",
    "create extension btree_gist; create table t (a int4range, primary key (a without overlaps))",
    "create table t (a int); alter table t set access method default",
    "create table t (a int, constraint c not null a)",
    "create table t (a int); alter table t alter constraint c inherit",
    "create table t (a int); update t set a = 1 returning with (old as o) o.a",
    "do $$ begin create table t (a int generated always as (1)); exception when duplicate_table then null; end $$",
]


def postgresql_15_parses(conn: psycopg.Connection[tuple[object, ...]], script: str) -> bool:
    try:
        with conn.transaction():
            conn.execute(script.encode())
            raise _RolledBack
    except _RolledBack:
        return True
    except psycopg.Error as exc:
        return exc.sqlstate != "42601"


class _RolledBack(Exception):
    pass


def nself_parses(script: str) -> bool:
    try:
        compile_sql(script, "case.sql")
    except SourceError as exc:
        assert re.match(r"case\.sql:\d+:\d+: ", str(exc)), exc
        return not any(
            marker in exc.message
            for marker in ("syntax error", "trailing junk", "must have an alias", "PostgreSQL 15 refuses")
        )
    return True


def test_pglast_is_newer_than_postgresql_15() -> None:
    assert get_postgresql_version()[0] > 15  # else this module and nself.pg15 have nothing to do


@pytest.mark.parametrize("script", ACCEPTED + REFUSED)
def test_the_frontend_accepts_what_postgresql_15_accepts(
    pg15_connection: psycopg.Connection[tuple[object, ...]], script: str
) -> None:
    expected = script in ACCEPTED
    assert postgresql_15_parses(pg15_connection, script) == expected  # the lists say what 15 does
    assert nself_parses(script) == expected


def test_newer_keywords_are_not_keywords_in_15(
    pg15_connection: psycopg.Connection[tuple[object, ...]],
) -> None:
    rows = pg15_connection.execute("SELECT word FROM pg_get_keywords()").fetchall()
    assert NEWER_KEYWORDS.isdisjoint(str(r[0]) for r in rows)


def test_newer_keywords_are_identifiers_with_their_own_names() -> None:
    catalog = compile_sql(
        "create table t (System_User text, json_table int);\n"
        "create function json_object(a int) returns int language sql as 'select a';\n"
        "create view v as select system_user, t.json_table from t;\n"
    )
    (table,) = catalog.tables
    assert [c.name for c in table.columns] == ["system_user", "json_table"]
    assert [f.name for f in catalog.functions] == ["json_object"]
    (view,) = catalog.views
    assert [c.name for c in view.columns] == ["system_user", "json_table"]


def test_refusals_name_the_position_in_the_file() -> None:
    with pytest.raises(SourceError) as found:
        compile_sql('create table "json" (json json);\ncreate table t (a int default 0x1F);\n', "m.sql")
    assert str(found.value) == 'm.sql:2:31: trailing junk after numeric literal at or near "0x1F"'
    with pytest.raises(SourceError) as found:
        compile_sql(
            "create table j (json json, system_user int, b int generated always as (1) virtual);\n", "m.sql"
        )
    # the column is the file's, although the parsed text quoted json and system_user
    assert str(found.value).startswith("m.sql:1:51: "), found.value  # at GENERATED (57 unmapped)
    with pytest.raises(SourceError) as found:
        compile_sql(
            "create table j (json json, x int);\nselect 1 from (select json_object('a': 1));\n", "m.sql"
        )
    assert str(found.value).startswith('m.sql:2:38: syntax error at or near ":"'), found.value
