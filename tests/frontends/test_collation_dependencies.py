"""The user collations objects use (Dependency kind `collation`), oracle-checked: the live
frontend's are pg_depend's (read here independently), the sql frontend's, inferred over its
analysed expressions as parse_collate.c does, equal the live ones.

What PostgreSQL 15 records, measured (and exercised by SCHEMA): a COLLATE clause anywhere;
the result collation of a binary-coercible cast (RelabelType): a collated column cast
(`word::varchar`), a varchar passed to a text function or operator (`lower(v)`, `v < 'x'`),
a collated domain's value used as its base type (`x < 'x'`, `x || ''`); a parameter of a
collated domain type in a SQL-standard body; the collation of an index key and of a
partition key (derived: `lower(word)` has word's, `length(word)` none); a view column's; a
domain's own (or its base domain's). Not recorded: the collation an operator or function is
called with (`word < 'x'` on a text column, `length(word)`)."""

from __future__ import annotations

import psycopg
import pytest

from nself.frontends.live import introspect
from nself.frontends.sql import compile_sql
from nself.ir import catalog_from_json, catalog_to_json
from nself.ir import model as m
from nself.ir.model import Catalog
from tests.conftest import NewDatabase

pytestmark = pytest.mark.oracle

SCHEMA = """
CREATE SCHEMA app;
CREATE COLLATION app.c1 (provider = libc, locale = 'C');
CREATE COLLATION public.c2 (provider = libc, locale = 'POSIX');
CREATE DOMAIN app.dom AS text COLLATE c2;
CREATE DOMAIN app.dom3 AS app.dom;
CREATE DOMAIN app.dom4 AS app.dom COLLATE app.c1 CHECK (VALUE COLLATE c2 > '');
CREATE DOMAIN app.plain AS text CHECK (VALUE::varchar <> '');
CREATE TABLE app.t (
    id int, word text COLLATE app.c1, v varchar(10) COLLATE app.c1, plain text, x app.dom3, y app.dom4,
    z text COLLATE "C", arr text[] COLLATE app.c1,
    g text GENERATED ALWAYS AS (v::text || 'x') STORED,
    g2 int GENERATED ALWAYS AS (length(word)) STORED,
    d1 text DEFAULT 'x'::app.dom,
    d2 text DEFAULT ('x' COLLATE app.c1),
    CONSTRAINT ck_cast CHECK (word::varchar <> ''),
    CONSTRAINT ck_cmp CHECK (word < 'x'),
    CONSTRAINT ck_len CHECK (length(word) > 0),
    CONSTRAINT ck_lenc CHECK (length(plain COLLATE c2) > 0),
    CONSTRAINT ck_dcmp CHECK (x < 'a'),
    CONSTRAINT ck_vcmp CHECK (v < 'a'),
    CONSTRAINT ck_vc5 CHECK (word::varchar(5) <> ''),
    CONSTRAINT ck_todom CHECK (word::app.dom <> ''),
    CONSTRAINT ck_arr CHECK (arr::varchar[] <> '{}'),
    CONSTRAINT ck_explicit_c CHECK (plain COLLATE "C" > '')
);
ALTER TABLE app.t ADD COLUMN g3 text GENERATED ALWAYS AS (lower(v)) STORED;
CREATE INDEX i_concat ON app.t ((word || 'x'));
CREATE INDEX i_lower ON app.t (lower(word));
CREATE INDEX i_len ON app.t (length(word));
CREATE INDEX i_col ON app.t (word);
CREATE INDEX i_coll ON app.t (plain COLLATE c2);
CREATE INDEX i_c ON app.t (word COLLATE "C");
CREATE INDEX i_lower_c ON app.t (lower(word) COLLATE "C");
CREATE INDEX i_dom ON app.t (y);
CREATE INDEX i_pred ON app.t (id) WHERE word > 'a';
CREATE INDEX i_pred_dom ON app.t (id) WHERE x > 'a';
CREATE INDEX i_len_v ON app.t (length(v));
ALTER TABLE app.t ADD CONSTRAINT ex_col EXCLUDE USING btree (word WITH =);
ALTER TABLE app.t ADD CONSTRAINT ex_expr EXCLUDE USING btree (lower(v) WITH =, (plain COLLATE c2) WITH =);
ALTER TABLE app.t ADD CONSTRAINT ex_len EXCLUDE USING btree (length(word) WITH =) WHERE (x > 'a');
CREATE VIEW app.v_plain AS SELECT word, v FROM app.t;
CREATE VIEW app.v_cast AS SELECT word::varchar AS w FROM app.t;
CREATE VIEW app.v_where AS SELECT id FROM app.t WHERE word < 'x' ORDER BY word;
CREATE VIEW app.v_len AS SELECT length(word) AS l FROM app.t;
CREATE VIEW app.v_expl AS SELECT plain COLLATE c2 AS p, word COLLATE "C" AS c FROM app.t;
CREATE VIEW app.v_dom AS SELECT x, y, x || '' AS xx, upper(x) AS u FROM app.t WHERE x = 'a';
CREATE VIEW app.v_nested AS SELECT v::text AS w, word FROM app.v_plain;
CREATE VIEW app.v_sub AS SELECT s.w::varchar AS w FROM (SELECT word AS w FROM app.t) s;
CREATE VIEW app.v_cte AS WITH c AS (SELECT v FROM app.t) SELECT v::text AS w FROM c;
CREATE VIEW app.v_scalar AS SELECT (SELECT max(word) FROM app.t) AS m;
CREATE VIEW app.v_case AS SELECT CASE WHEN id > 0 THEN word ELSE 'x' END AS w, coalesce(word, 'x') AS c FROM app.t;
CREATE VIEW app.v_union AS SELECT word FROM app.t UNION SELECT 'a' COLLATE c2;
CREATE MATERIALIZED VIEW app.mv AS SELECT min(word) AS m FROM app.t;
CREATE TABLE app.p1 (k text COLLATE app.c1) PARTITION BY RANGE (k);
CREATE TABLE app.p2 (k text) PARTITION BY LIST ((k COLLATE c2));
CREATE TABLE app.p3 (k varchar COLLATE app.c1) PARTITION BY RANGE (lower(k));
CREATE TABLE app.p4 (k varchar COLLATE app.c1) PARTITION BY RANGE (length(k));
CREATE TABLE app.p5 (k app.dom) PARTITION BY RANGE (k);
CREATE TABLE app.p6 (k varchar COLLATE app.c1) PARTITION BY RANGE (k COLLATE "C");
CREATE FUNCTION app.f1(a text) RETURNS text LANGUAGE sql BEGIN ATOMIC SELECT a COLLATE app.c1; END;
CREATE FUNCTION app.f2(a text) RETURNS boolean LANGUAGE sql RETURN a < 'x' COLLATE app.c1;
CREATE FUNCTION app.f3(a text DEFAULT 'x' COLLATE app.c1) RETURNS text LANGUAGE sql AS 'SELECT a';
CREATE FUNCTION app.f4(a app.dom3) RETURNS text LANGUAGE sql BEGIN ATOMIC SELECT a || 'x'; END;
CREATE FUNCTION app.f5(a varchar) RETURNS text LANGUAGE sql BEGIN ATOMIC SELECT a::text FROM app.t WHERE word = a; END;
CREATE FUNCTION app.f6(a text) RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(*) FROM app.t WHERE v = a; END;
CREATE FUNCTION app.f7() RETURNS SETOF text LANGUAGE sql
    BEGIN ATOMIC SELECT v::text FROM app.t UNION ALL SELECT word FROM app.t; END;
ALTER TABLE app.t ENABLE ROW LEVEL SECURITY;
CREATE POLICY pol_cmp ON app.t USING (word > 'a');
CREATE POLICY pol_expl ON app.t USING (plain COLLATE c2 > 'a');
CREATE POLICY pol_dom ON app.t USING (x > 'a');
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER tr BEFORE UPDATE ON app.t FOR EACH ROW WHEN (NEW.v <> OLD.v) EXECUTE FUNCTION app.touch();
SET search_path = app, public;
CREATE TABLE t2 (a text COLLATE c1 CHECK (a::varchar <> ''), b text DEFAULT 'q' COLLATE c1);
CREATE VIEW v_path AS SELECT a COLLATE c1 AS a2 FROM t2;
RESET search_path;
"""

# Each dependent object pg_depend records a user collation for, named as `owner` below
# names IR objects: a column's own collation, a composite type's attribute's and an array
# type's are left out (the IR holds them as names: Column.collation and the like).
ORACLE = """
SELECT CASE
         WHEN d.classid = 'pg_attrdef'::regclass THEN
           (SELECT 'default ' || c.relname || '.' || a.attname FROM pg_attrdef ad
            JOIN pg_class c ON c.oid = ad.adrelid
            JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum WHERE ad.oid = d.objid)
         WHEN d.classid = 'pg_constraint'::regclass THEN
           (SELECT CASE WHEN co.contypid <> 0 THEN 'domain check ' || t.typname || '.' || co.conname
                        ELSE 'constraint ' || c.relname || '.' || co.conname END
            FROM pg_constraint co LEFT JOIN pg_class c ON c.oid = co.conrelid
            LEFT JOIN pg_type t ON t.oid = co.contypid WHERE co.oid = d.objid)
         WHEN d.classid = 'pg_rewrite'::regclass THEN
           (SELECT 'view ' || c.relname FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE r.oid = d.objid)
         WHEN d.classid = 'pg_class'::regclass THEN
           (SELECT CASE WHEN c.relkind = 'i' THEN coalesce(
                            -- an exclusion constraint's index: the constraint's
                            (SELECT 'constraint ' || tc.relname || '.' || x.conname FROM pg_constraint x
                             JOIN pg_class tc ON tc.oid = x.conrelid WHERE x.conindid = c.oid AND x.contype = 'x'),
                            'index ' || c.relname)
                        WHEN c.relkind IN ('v', 'm') THEN 'view ' || c.relname
                        WHEN c.relkind = 'p' AND d.objsubid = 0 THEN 'partition key ' || c.relname END
            FROM pg_class c WHERE c.oid = d.objid)
         WHEN d.classid = 'pg_policy'::regclass THEN
           (SELECT 'policy ' || polname FROM pg_policy WHERE oid = d.objid)
         WHEN d.classid = 'pg_trigger'::regclass THEN
           (SELECT 'trigger ' || tgname FROM pg_trigger WHERE oid = d.objid)
         WHEN d.classid = 'pg_proc'::regclass THEN
           (SELECT 'function ' || proname FROM pg_proc WHERE oid = d.objid)
         WHEN d.classid = 'pg_type'::regclass THEN
           (SELECT 'domain ' || typname FROM pg_type WHERE oid = d.objid AND typtype = 'd')
       END AS owner,
       n.nspname, co.collname
FROM pg_depend d
JOIN pg_collation co ON co.oid = d.refobjid
JOIN pg_namespace n ON n.oid = co.collnamespace
WHERE d.refclassid = 'pg_collation'::regclass AND d.deptype = 'n' AND n.nspname <> 'pg_catalog'
"""

Dep = tuple[str, str]


@pytest.fixture(scope="module")
def url(module_database: NewDatabase) -> str:
    return module_database("colldeps")


@pytest.fixture(scope="module")
def live(url: str) -> Catalog:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA)
    return introspect(url)


def _pg_depend(url: str) -> dict[str, set[Dep]]:
    out: dict[str, set[Dep]] = {}
    with psycopg.connect(url) as conn:
        for owner, schema, name in conn.execute(ORACLE).fetchall():
            if owner is not None:
                out.setdefault(owner, set()).add((schema, name))
    return out


def recorded(catalog: Catalog) -> dict[str, set[Dep]]:
    """The collation dependencies of every IR node, named as ORACLE names their owners."""
    out: dict[str, set[Dep]] = {}

    def put(owner: str, *lists: tuple[m.Dependency, ...] | None) -> None:
        for deps in lists:
            assert deps is not None, f"{owner}: depends_on not known"
            found = {(d.schema, d.name) for d in deps if d.kind == "collation"}
            if found:
                out.setdefault(owner, set()).update(found)

    for t in catalog.tables:
        for c in t.columns:
            if c.default is not None or c.generated is not None:
                put(f"default {t.name}.{c.name}", c.depends_on)
        for con in t.constraints:
            if isinstance(con, (m.CheckConstraint, m.ExclusionConstraint)):
                put(f"constraint {t.name}.{con.name}", con.depends_on)
        if t.partition_by is not None:
            put(f"partition key {t.name}", t.partition_by.depends_on)
    for i in catalog.indexes:
        put(f"index {i.name}", i.depends_on)
    for v in catalog.views:
        put(f"view {v.name}", v.depends_on)
    for p in catalog.policies:
        put(f"policy {p.name}", p.depends_on)
    for tr in catalog.triggers:
        put(f"trigger {tr.name}", tr.depends_on)
    for f in catalog.functions:
        if f.language != "plpgsql":
            put(f"function {f.name}", f.depends_on if f.depends_on is not None else (), f.defaults_depends_on or ())
    for d in catalog.domains:
        put(f"domain {d.name}", d.depends_on)
        for ck in d.checks:
            put(f"domain check {d.name}.{ck.name}", ck.depends_on)
    return out


def test_live_collation_dependencies_are_pg_depends(url: str, live: Catalog) -> None:
    expected = _pg_depend(url)
    assert recorded(live) == expected
    # kept through the IR's JSON (a document without the kind still loads: test_serialize)
    assert recorded(catalog_from_json(catalog_to_json(live))) == expected
    # the rules measured on PostgreSQL 15 (see the module docstring)
    c1, c2 = ("app", "c1"), ("public", "c2")
    assert expected["constraint t.ck_cast"] == {c1} and "constraint t.ck_cmp" not in expected
    assert "constraint t.ck_len" not in expected and expected["constraint t.ck_dcmp"] == {c2}
    assert expected["index i_lower"] == {c1} and "index i_len" not in expected
    assert expected["domain dom3"] == {c2} and expected["partition key p4"] == {c1}
    assert "view v_where" not in expected and expected["view v_union"] == {c2}


def test_sql_frontend_collation_dependencies_equal_live(live: Catalog) -> None:
    compiled = compile_sql(SCHEMA, strict=True)
    assert recorded(compiled) == recorded(live)
    # a view column's collation where it is not its type's, as the live frontend reads it
    columns = {(v.name, c.name): c.collation for v in live.views for c in v.columns}
    assert {(v.name, c.name): c.collation for v in compiled.views for c in v.columns} == columns
    assert columns[("v_cast", "w")] == "app.c1" and columns[("v_expl", "c")] == '"C"'


RENAMED = SCHEMA + """
ALTER COLLATION app.c1 RENAME TO c9;
ALTER COLLATION public.c2 SET SCHEMA app;
"""


def test_sql_frontend_collation_dependencies_follow_renames(new_database: NewDatabase) -> None:
    """PostgreSQL's dependencies follow a collation renamed or moved (they hold its oid);
    the sql frontend's follow it too."""
    url = new_database("colldeps")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(RENAMED)
    got = recorded(introspect(url))
    assert got == _pg_depend(url)
    assert got["constraint t.ck_cast"] == {("app", "c9")} and got["constraint t.ck_dcmp"] == {("app", "c2")}
    assert recorded(compile_sql(RENAMED, strict=True)) == got
