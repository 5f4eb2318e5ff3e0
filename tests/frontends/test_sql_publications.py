"""Publications and replica identity in the sql frontend, oracle-checked: the same script
applied to PostgreSQL 15 and introspected gives the same IR."""

from __future__ import annotations

import psycopg
import pytest

from nself.frontends.live import introspect
from nself.frontends.sql import compile_sql_with_warnings
from nself.ir.model import Publication, PublicationTable
from tests.frontends.test_sql_fidelity import object_diffs

pytestmark = pytest.mark.oracle

SCRIPT = """
create table a (id int primary key, x int, y text, z int);
create table b (id int primary key, v text not null);
create unique index b_v on b (v);
alter table b replica identity using index b_v;
alter table a replica identity full;
create table n (id int);
alter table n replica identity nothing;
create schema s;
create table s.c (id int);
create publication p1 for table a (x, id) where (x > 1), b
  with (publish = 'insert, update', publish_via_partition_root = true);
create publication p2 for all tables;
create publication p3;
alter publication p3 add table a, b;
alter publication p3 drop table b;
create publication p4 for tables in schema s;
comment on publication p1 is 'one';
alter publication p2 set (publish = 'delete');
create publication old_name;
alter publication old_name rename to new_name;
alter table a rename to a2;
create table d (id int);
alter publication new_name add table d, n;
drop table d;
alter publication new_name set table b;
begin;
  drop publication if exists supabase_realtime;
  create publication supabase_realtime;
commit;
alter publication supabase_realtime add table a2;
"""


def test_publications_and_replica_identity_compile_as_postgresql_records_them(database: str) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(SCRIPT)  # type: ignore[arg-type]
    live = introspect(database)
    result = compile_sql_with_warnings(SCRIPT)
    assert result.warnings == ()
    assert object_diffs(live, result.catalog, limit=10) == []
    p1 = next(p for p in result.catalog.publications if p.name == "p1")
    assert p1 == Publication(
        "p1",
        tables=(PublicationTable("public", "a2", ("id", "x"), "(x > 1)"), PublicationTable("public", "b")),
        publish=("insert", "update"),
        via_partition_root=True,
        comment="one",
    )
    identities = {t.name: (t.replica_identity, t.replica_identity_index) for t in result.catalog.tables}
    assert identities == {
        "a2": ("FULL", None),
        "b": ("INDEX", "b_v"),
        "n": ("NOTHING", None),
        "c": ("DEFAULT", None),
    }


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("create publication p; create publication p;", 'publication "p" already exists'),
        ("alter publication nope add table t;", 'publication "nope" does not exist'),
        ("create table t (id int); create publication p for table t (nope);", 'column "nope" of relation "t" does not exist'),
        ("create table t (id int); alter table t replica identity using index nope;", 'index "nope" for table "t" does not exist'),
        ("create table t (id int); create publication p for table t; alter publication p add table t;", 'relation "t" is already member'),
    ],
)
def test_bad_publication_statements_name_the_line(sql: str, message: str) -> None:
    from nself.errors import SourceError

    with pytest.raises(SourceError, match=message):
        compile_sql_with_warnings(sql, "m.sql")
