"""The SQL frontend, one line per case.

- names PostgreSQL chooses (constraints, indexes, serial sequences) and sequence defaults,
  stated by hand;
- DDL scripts (CREATE / ALTER / RENAME / DROP ...) whose compiled IR must equal what the
  live frontend reads after running the same script in a real PostgreSQL 15 (the oracle:
  every naming case runs through it too);
- warnings for statements not modelled, and errors with file:line:col."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pglast
import psycopg
import pytest

from nself.errors import SourceError
from nself.frontends.live import introspect
from nself.frontends.sql import (
    compile_migrations,
    compile_migrations_with_warnings,
    compile_sql,
    compile_sql_with_warnings,
    parse_statements,
)
from nself.ir.model import Catalog, Identity, Sequence, Table
from nself.runtime.cluster import LocalCluster
from tests.conftest import CORPUS
from tests.frontends.test_sql_fidelity import object_diffs


def table(catalog: Catalog, name: str, schema: str = "public") -> Table:
    found = catalog.table(schema, name)
    assert found is not None, f"no table {schema}.{name}"
    return found


def constraint_names(sql: str, name: str) -> list[str]:
    return sorted(c.name for c in table(compile_sql(sql), name).constraints)


# --------------------------------------------------------------------------- names PostgreSQL chooses

T = "CREATE TABLE t (a int, b text);"
LONG = "x" * 60

CONSTRAINT_NAMES = [
    ("CREATE TABLE t (id int PRIMARY KEY)", "t", ["t_pkey"]),
    ("CREATE TABLE t (a int UNIQUE, b int UNIQUE)", "t", ["t_a_key", "t_b_key"]),
    ("CREATE TABLE t (a int, b int, UNIQUE (a, b))", "t", ["t_a_b_key"]),
    ("CREATE TABLE t (a int, b int, UNIQUE (a) INCLUDE (b))", "t", ["t_a_b_key"]),
    ("CREATE TABLE t (a int UNIQUE PRIMARY KEY)", "t", ["t_pkey"]),
    ("CREATE TABLE t (a int UNIQUE, UNIQUE (a))", "t", ["t_a_key"]),
    ("CREATE TABLE t (a int CHECK (a > 0))", "t", ["t_a_check"]),
    ("CREATE TABLE t (a int, b int, CHECK (a > b))", "t", ["t_check"]),
    (
        "CREATE TABLE t (a int CHECK (a > 0), b int CHECK (b > 0), CHECK (a > b), CHECK (a < b))",
        "t",
        ["t_a_check", "t_b_check", "t_check", "t_check1"],
    ),
    (
        "CREATE TABLE t (a int CHECK (a > 0)); ALTER TABLE t ADD CHECK (a < 10)",
        "t",
        ["t_a_check", "t_a_check1"],
    ),
    ("CREATE TABLE t (a int CHECK (true))", "t", ["t_check"]),
    ("CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (p int REFERENCES p)", "c", ["c_p_fkey"]),
    (
        "CREATE TABLE p (a int, b int, PRIMARY KEY (a, b)); CREATE TABLE c (x int, y int, FOREIGN KEY (x, y) REFERENCES p)",
        "c",
        ["c_x_y_fkey"],
    ),
    (
        "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (p int REFERENCES p, FOREIGN KEY (p) REFERENCES p)",
        "c",
        ["c_p_fkey", "c_p_fkey1"],
    ),
    ("CREATE TABLE t (id int PRIMARY KEY, parent int REFERENCES t)", "t", ["t_parent_fkey", "t_pkey"]),
    ("CREATE TABLE t_a_key (x int); CREATE TABLE t (a int UNIQUE)", "t", ["t_a_key1"]),
    ("CREATE TABLE t (a int CONSTRAINT t_b_key CHECK (a > 0), b int UNIQUE)", "t", ["t_b_key", "t_b_key1"]),
    ("CREATE TABLE t (a int4range, EXCLUDE USING gist (a WITH &&))", "t", ["t_a_excl"]),
    (f"CREATE TABLE {LONG} (id int PRIMARY KEY)", LONG, ["x" * 58 + "_pkey"]),
    (f"CREATE TABLE {LONG} ({LONG} int UNIQUE)", LONG, ["x" * 29 + "_" + "x" * 29 + "_key"]),
    (f"CREATE TABLE t ({LONG} int CHECK ({LONG} > 0))", "t", ["t_" + "x" * 55 + "_check"]),
    ('CREATE TABLE "Mixed" ("Id" int PRIMARY KEY)', "Mixed", ["Mixed_pkey"]),
    ("CREATE TABLE t (a int); ALTER TABLE t ADD PRIMARY KEY (a), ADD UNIQUE (a)", "t", ["t_a_key", "t_pkey"]),
    (
        "CREATE TABLE t (a int); ALTER TABLE t ADD COLUMN b int UNIQUE CHECK (b > a)",
        "t",
        ["t_b_key", "t_check"],
    ),
]


@pytest.mark.parametrize(("sql", "name", "expected"), CONSTRAINT_NAMES)
def test_constraint_names(sql: str, name: str, expected: list[str]) -> None:
    assert constraint_names(sql, name) == expected


INDEX_NAMES = [
    (T + "CREATE INDEX ON t (a)", ["t_a_idx"]),
    (T + "CREATE INDEX ON t (a, b)", ["t_a_b_idx"]),
    (T + "CREATE INDEX ON t (a) INCLUDE (b)", ["t_a_b_idx"]),
    (T + "CREATE INDEX ON t (a); CREATE INDEX ON t (a)", ["t_a_idx", "t_a_idx1"]),
    (T + "CREATE INDEX ON t (a, a)", ["t_a_a1_idx"]),
    (T + "CREATE UNIQUE INDEX ON t (a)", ["t_a_idx"]),
    (T + "CREATE INDEX ON t (lower(b))", ["t_lower_idx"]),
    (T + "CREATE INDEX ON t (lower(b), upper(b))", ["t_lower_upper_idx"]),
    (T + "CREATE INDEX ON t ((a + 1))", ["t_expr_idx"]),
    (T + "CREATE INDEX ON t ((a + 1), (a - 1))", ["t_expr_expr1_idx"]),
    (T + "CREATE INDEX ON t ((b::varchar))", ["t_b_idx"]),
    (T + "CREATE INDEX ON t ((coalesce(b, '')))", ["t_coalesce_idx"]),
    (T + "CREATE INDEX ON t ((CASE WHEN a > 0 THEN b END))", ["t_case_idx"]),
    (T + "CREATE INDEX ON t ((CASE WHEN a > 0 THEN b ELSE lower(b) END))", ["t_lower_idx"]),
    (T + "CREATE INDEX ON t (a) WHERE b IS NOT NULL", ["t_a_idx"]),
    (T + "CREATE TABLE t_a_idx (x int); CREATE INDEX ON t (a)", ["t_a_idx1"]),
    (T + "CREATE INDEX IF NOT EXISTS i ON t (a); CREATE INDEX IF NOT EXISTS i ON t (b)", ["i"]),
    (T + "CREATE INDEX CONCURRENTLY ON t USING hash (b)", ["t_b_idx"]),
    (
        f"CREATE TABLE {LONG} ({LONG} int); CREATE INDEX ON {LONG} ({LONG})",
        ["x" * 29 + "_" + "x" * 29 + "_idx"],
    ),
]


@pytest.mark.parametrize(("sql", "expected"), INDEX_NAMES)
def test_index_names(sql: str, expected: list[str]) -> None:
    assert sorted(i.name for i in compile_sql(sql).indexes) == expected


MAX8 = 9223372036854775807
SEQUENCES = [
    ("CREATE SEQUENCE s", Sequence("public", "s")),
    ("CREATE SEQUENCE s AS integer", Sequence("public", "s", "integer", max_value=2147483647)),
    ("CREATE SEQUENCE s AS smallint", Sequence("public", "s", "smallint", max_value=32767)),
    (
        "CREATE SEQUENCE s INCREMENT -1",
        Sequence("public", "s", increment=-1, start=-1, min_value=-MAX8 - 1, max_value=-1),
    ),
    (
        "CREATE SEQUENCE s AS integer INCREMENT BY -2 MINVALUE -100",
        Sequence("public", "s", "integer", -1, -2, -100, -1),
    ),
    ("CREATE SEQUENCE s START 5 CACHE 10 CYCLE", Sequence("public", "s", start=5, cache=10, cycle=True)),
    ("CREATE SEQUENCE s MINVALUE 10", Sequence("public", "s", start=10, min_value=10)),
    (
        "CREATE SEQUENCE s; ALTER SEQUENCE s AS integer",
        Sequence("public", "s", "integer", max_value=2147483647),
    ),
    (
        "CREATE SEQUENCE s MAXVALUE 99; ALTER SEQUENCE s AS integer",
        Sequence("public", "s", "integer", max_value=99),
    ),
    (
        "CREATE SEQUENCE s; ALTER SEQUENCE s INCREMENT 5 NO MAXVALUE RESTART",
        Sequence("public", "s", increment=5),
    ),
    (
        "CREATE TABLE t (id int); CREATE SEQUENCE s OWNED BY t.id",
        Sequence("public", "s", owned_by=("t", "id")),
    ),
    (
        "CREATE TABLE t (id int); CREATE SEQUENCE s OWNED BY t.id; ALTER SEQUENCE s OWNED BY NONE",
        Sequence("public", "s"),
    ),
    ("CREATE TABLE t (id bigserial)", Sequence("public", "t_id_seq", owned_by=("t", "id"))),
    (
        "CREATE TABLE t (id smallserial)",
        Sequence("public", "t_id_seq", "smallint", max_value=32767, owned_by=("t", "id")),
    ),
    (
        "CREATE TABLE t_id_seq (x int); CREATE TABLE t (id serial)",
        Sequence("public", "t_id_seq1", "integer", max_value=2147483647, owned_by=("t", "id")),
    ),
    (
        "CREATE SCHEMA s2; CREATE TABLE s2.t (id serial)",
        Sequence("s2", "t_id_seq", "integer", max_value=2147483647, owned_by=("t", "id")),
    ),
]


@pytest.mark.parametrize(("sql", "expected"), SEQUENCES)
def test_sequences(sql: str, expected: Sequence) -> None:
    assert [s for s in compile_sql(sql).sequences if s.name == expected.name] == [expected]


COLUMNS = [
    ("CREATE TABLE t (id serial)", "id", "integer", True, "nextval('public.t_id_seq'::regclass)", None),
    ('CREATE TABLE "T" (id serial)', "id", "integer", True, "nextval('public.\"T_id_seq\"'::regclass)", None),
    (
        "CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY)",
        "id",
        "integer",
        True,
        None,
        Identity("ALWAYS", max_value=2147483647),
    ),
    (
        "CREATE TABLE t (id bigint GENERATED BY DEFAULT AS IDENTITY (START 10 INCREMENT 5))",
        "id",
        "bigint",
        True,
        None,
        Identity("BY DEFAULT", start=10, increment=5),
    ),
    (
        "CREATE TABLE t (id int NOT NULL); ALTER TABLE t ALTER id ADD GENERATED ALWAYS AS IDENTITY",
        "id",
        "integer",
        True,
        None,
        Identity("ALWAYS", max_value=2147483647),
    ),
    (
        "CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY); ALTER TABLE t ALTER id SET GENERATED BY DEFAULT SET INCREMENT 2",
        "id",
        "integer",
        True,
        None,
        Identity("BY DEFAULT", increment=2, max_value=2147483647),
    ),
    (
        "CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY); ALTER TABLE t ALTER id DROP IDENTITY",
        "id",
        "integer",
        True,
        None,
        None,
    ),
    (
        "CREATE TABLE t (a int); ALTER TABLE t ALTER a SET NOT NULL, ALTER a SET DEFAULT 7",
        "a",
        "integer",
        True,
        "7",
        None,
    ),
    (
        "CREATE TABLE t (a int NOT NULL DEFAULT 1); ALTER TABLE t ALTER a DROP NOT NULL, ALTER a DROP DEFAULT",
        "a",
        "integer",
        False,
        None,
        None,
    ),
    ("CREATE TABLE t (a int PRIMARY KEY)", "a", "integer", True, None, None),
    (
        "CREATE TABLE t (a varchar(5) DEFAULT 'x'); ALTER TABLE t ALTER a TYPE text",
        "a",
        "text",
        False,
        "'x'::character varying",
        None,
    ),
    ("CREATE TABLE t (a int); ALTER TABLE t RENAME a TO b", "b", "integer", False, None, None),
]


@pytest.mark.parametrize(("sql", "column", "data_type", "not_null", "default", "identity"), COLUMNS)
def test_columns(
    sql: str, column: str, data_type: str, not_null: bool, default: str | None, identity: Identity | None
) -> None:
    t = compile_sql(sql).tables[0]
    col = t.column(column)
    assert col is not None, [c.name for c in t.columns]
    assert (col.data_type, col.not_null, col.default, col.identity) == (
        data_type,
        not_null,
        default,
        identity,
    )


# --------------------------------------------------------------------------- the oracle

ORACLE = (
    [c[0] for c in CONSTRAINT_NAMES]
    + [c[0] for c in INDEX_NAMES if "CONCURRENTLY" not in c[0]]
    + [c[0] for c in SEQUENCES]
    + [c[0] for c in COLUMNS]
    + [
        # tables
        "CREATE TABLE t (a int NOT NULL, b text COLLATE \"C\" DEFAULT 'x', c numeric(10,2) CHECK (c > 0) NO INHERIT)",
        "CREATE UNLOGGED TABLE t (a int) WITH (fillfactor=70)",
        "CREATE TABLE t (a int, b int GENERATED ALWAYS AS (a * 2) STORED)",
        "CREATE TABLE t (a int DEFAULT NULL, b text DEFAULT NULL::text)",
        # declared array dimensions (attndims): kept on definitions, not on copies
        "CREATE TYPE ct AS (a int[][]); CREATE TABLE t (a int[][], b text[][][], c int[]); "
        "ALTER TABLE t ADD COLUMN d int[][]; ALTER TABLE t ALTER COLUMN c TYPE int[][]",
        "CREATE TABLE t (a int[][]); CREATE TABLE ch () INHERITS (t); CREATE TABLE ch2 (a int[][][]) INHERITS (t); "
        "ALTER TABLE t ADD COLUMN b int[][]; CREATE TABLE l (LIKE t)",
        "CREATE TABLE p (k int, a int[][]) PARTITION BY RANGE (k); "
        "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (1) TO (2); ALTER TABLE p ADD COLUMN b int[][]; "
        "CREATE TABLE p2 (k int, a int[][], b int[][]); ALTER TABLE p ATTACH PARTITION p2 FOR VALUES FROM (2) TO (3); "
        "ALTER TABLE p ALTER COLUMN b TYPE int[][][]",
        "CREATE TABLE u (id int); CREATE TABLE t (a int); ALTER TABLE t ENABLE ROW LEVEL SECURITY; "
        "CREATE POLICY p ON t USING (EXISTS (SELECT 1 FROM u WHERE u.id = t.a)) WITH CHECK (a > 0)",
        "CREATE TABLE t (a int); ALTER TABLE t SET UNLOGGED; ALTER TABLE t SET (fillfactor=50)",
        "CREATE TABLE IF NOT EXISTS t (a int); CREATE TABLE IF NOT EXISTS t (b int)",
        "CREATE TABLE p (a int); CREATE TABLE c (b int) INHERITS (p)",
        "CREATE TABLE p (a int NOT NULL, CHECK (a > 0)); CREATE TABLE c (a int, b int) INHERITS (p)",
        "CREATE TABLE m (a date NOT NULL, b int) PARTITION BY RANGE (a);"
        " CREATE TABLE m1 PARTITION OF m FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');"
        " CREATE TABLE m2 (a date NOT NULL, b int); ALTER TABLE m ATTACH PARTITION m2 FOR VALUES FROM ('2021-01-01') TO ('2022-01-01');"
        " ALTER TABLE m ADD PRIMARY KEY (a); CREATE INDEX ON m (b); CREATE INDEX ON m1 (b)",
        "CREATE TABLE l (a int) PARTITION BY LIST (a); CREATE TABLE l1 PARTITION OF l FOR VALUES IN (1, 2); CREATE TABLE ld PARTITION OF l DEFAULT",
        # ALTER TABLE
        "CREATE TABLE t (a int, b int); CREATE INDEX ON t (b); ALTER TABLE t ADD UNIQUE (a, b); ALTER TABLE t DROP COLUMN b",
        "CREATE TABLE t (a int, b int CHECK (b > 0)); ALTER TABLE t DROP COLUMN b",
        "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (p int REFERENCES p); ALTER TABLE p DROP CONSTRAINT p_pkey CASCADE",
        "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (p int REFERENCES p); DROP TABLE p CASCADE",
        "CREATE TABLE t (id serial, a int); CREATE INDEX ON t (a); ALTER TABLE t RENAME TO u; ALTER TABLE u RENAME a TO b",
        "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (p int REFERENCES p); ALTER TABLE p RENAME id TO pid; ALTER TABLE p RENAME TO q",
        "CREATE TABLE t (a int CONSTRAINT c1 CHECK (a > 0)); ALTER TABLE t RENAME CONSTRAINT c1 TO c2",
        "CREATE TABLE t (a text CHECK (a <> ''), b int); CREATE INDEX ON t (lower(a)) WHERE a IS NOT NULL;"
        " CREATE INDEX ON t (a, b); ALTER TABLE t RENAME COLUMN a TO c; ALTER TABLE t ALTER b TYPE bigint",
        "CREATE TABLE t (a int PRIMARY KEY); ALTER INDEX t_pkey RENAME TO t_key_renamed",
        "CREATE TABLE t (a int); CREATE INDEX i ON t (a); ALTER INDEX i RENAME TO j; ALTER INDEX j SET (fillfactor=80)",
        "CREATE TABLE t (a int); CREATE SEQUENCE s OWNED BY t.a; ALTER SEQUENCE s RENAME TO s2",
        "CREATE TABLE t (id serial); ALTER SEQUENCE t_id_seq RENAME TO t_seq",
        "CREATE SCHEMA s; CREATE TABLE t (id serial, a int); CREATE INDEX ON t (a); ALTER TABLE t SET SCHEMA s",
        "CREATE TABLE t (a int); ALTER TABLE t ENABLE ROW LEVEL SECURITY; ALTER TABLE t FORCE ROW LEVEL SECURITY",
        "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (p int);"
        " ALTER TABLE c ADD CONSTRAINT f FOREIGN KEY (p) REFERENCES p ON DELETE SET NULL NOT VALID;"
        " ALTER TABLE c ADD CONSTRAINT k CHECK (p > 0) NOT VALID; ALTER TABLE c VALIDATE CONSTRAINT k",
        "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (p int REFERENCES p DEFERRABLE INITIALLY DEFERRED)",
        "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (p int REFERENCES p); ALTER TABLE c ALTER CONSTRAINT c_p_fkey DEFERRABLE",
        "CREATE TABLE t (a int, b int); ALTER TABLE t ADD COLUMN IF NOT EXISTS a int, DROP COLUMN IF EXISTS z, ADD COLUMN c serial",
        "CREATE TABLE t (a text); ALTER TABLE t ALTER COLUMN a SET DATA TYPE varchar(20); ALTER TABLE t ALTER a TYPE int USING a::int",
        "CREATE TABLE t (a int CHECK (a > 0)); CREATE INDEX ON t (a) WHERE a > 1; ALTER TABLE t ALTER a TYPE bigint",
        "CREATE TABLE t (a int, b int GENERATED ALWAYS AS (a + 1) STORED); ALTER TABLE t ALTER b DROP EXPRESSION",
        # types
        "CREATE TYPE mood AS ENUM ('sad', 'ok'); ALTER TYPE mood ADD VALUE 'happy'; ALTER TYPE mood ADD VALUE 'meh' BEFORE 'ok';"
        " ALTER TYPE mood ADD VALUE IF NOT EXISTS 'sad'; ALTER TYPE mood ADD VALUE 'x' AFTER 'sad'",
        "CREATE TYPE mood AS ENUM ('sad', 'ok'); CREATE TABLE t (m mood DEFAULT 'ok'); ALTER TYPE mood RENAME VALUE 'ok' TO 'fine'",
        "CREATE TYPE mood AS ENUM ('a'); ALTER TYPE mood RENAME TO feeling; CREATE TABLE t (f feeling[])",
        "CREATE DOMAIN pos AS int NOT NULL DEFAULT 1 CHECK (VALUE > 0); CREATE DOMAIN d2 AS text CONSTRAINT named CHECK (VALUE <> '')",
        "CREATE DOMAIN pos AS int; ALTER DOMAIN pos SET NOT NULL; ALTER DOMAIN pos SET DEFAULT 5; ALTER DOMAIN pos ADD CHECK (VALUE > 0);"
        " ALTER DOMAIN pos ADD CONSTRAINT c2 CHECK (VALUE < 100); ALTER DOMAIN pos DROP CONSTRAINT c2; ALTER DOMAIN pos DROP DEFAULT",
        "CREATE TYPE pair AS (a int, b text); CREATE TYPE r AS RANGE (subtype = float8)",
        "CREATE TYPE pair AS (a int, b text); ALTER TYPE pair ADD ATTRIBUTE c date, DROP ATTRIBUTE a,"
        " ALTER ATTRIBUTE b TYPE varchar(5); ALTER TYPE pair RENAME ATTRIBUTE c TO d",
        "CREATE TYPE mood AS ENUM ('a'); CREATE TABLE t (m mood, n int); DROP TYPE mood CASCADE",
        # views, functions, triggers, policies, grants, comments
        "CREATE TABLE t (a int, b text); CREATE VIEW v AS SELECT a, b FROM t; CREATE OR REPLACE VIEW v AS SELECT a, b, 1 AS c FROM t",
        "CREATE TABLE t (a int); CREATE MATERIALIZED VIEW mv AS SELECT a FROM t; CREATE INDEX ON mv (a); ALTER MATERIALIZED VIEW mv RENAME TO mv2",
        "CREATE TABLE t (a int); CREATE VIEW v AS SELECT a FROM t; DROP TABLE t CASCADE",
        "CREATE FUNCTION f(a int, b text DEFAULT 'x') RETURNS int LANGUAGE sql IMMUTABLE STRICT AS 'SELECT a';"
        " CREATE OR REPLACE FUNCTION f(a int, b text DEFAULT 'x') RETURNS int LANGUAGE sql STABLE AS 'SELECT a + 1'",
        "CREATE FUNCTION f() RETURNS TABLE (x int, y text) LANGUAGE sql AS 'SELECT 1, ''a''';"
        " CREATE FUNCTION g(OUT a int, OUT b int) LANGUAGE sql AS 'SELECT 1, 2'",
        "CREATE FUNCTION f(int) RETURNS int LANGUAGE sql AS 'SELECT $1'; ALTER FUNCTION f(int) RENAME TO g;"
        " CREATE SCHEMA s; ALTER FUNCTION g(int) SET SCHEMA s; DROP FUNCTION IF EXISTS g(int)",
        "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$BEGIN END$$",
        "CREATE PROCEDURE p(a int) LANGUAGE sql AS 'SELECT 1'",
        "CREATE TABLE t (a int); CREATE FUNCTION tf() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;"
        " CREATE TRIGGER tr BEFORE INSERT OR UPDATE OF a ON t FOR EACH ROW WHEN (NEW.a > 0) EXECUTE FUNCTION tf();"
        " CREATE TRIGGER tr2 AFTER DELETE ON t EXECUTE FUNCTION tf('x', 1); ALTER TRIGGER tr2 ON t RENAME TO tr3;"
        " ALTER TABLE t DISABLE TRIGGER tr; DROP TRIGGER IF EXISTS nope ON t",
        "CREATE TABLE t (a int, owner text); CREATE POLICY p ON t FOR SELECT TO PUBLIC USING (owner = current_user);"
        " CREATE POLICY q ON t AS RESTRICTIVE USING (a > 0) WITH CHECK (a < 10); ALTER POLICY q ON t USING (a > 1);"
        " ALTER POLICY p ON t RENAME TO p2",
        "CREATE TABLE t (a int); CREATE POLICY p ON t USING (true); DROP POLICY p ON t",
        "CREATE TABLE t (a int, b int); GRANT SELECT, INSERT ON t TO PUBLIC; GRANT UPDATE (a) ON t TO PUBLIC;"
        " REVOKE INSERT ON t FROM PUBLIC",
        "CREATE SCHEMA s; GRANT USAGE, CREATE ON SCHEMA s TO PUBLIC; CREATE TYPE e AS ENUM ('a'); GRANT USAGE ON TYPE e TO PUBLIC;"
        " CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'; REVOKE EXECUTE ON FUNCTION f() FROM PUBLIC",
        "CREATE TABLE t (a int); CREATE VIEW v AS SELECT a FROM t; GRANT ALL ON ALL TABLES IN SCHEMA public TO PUBLIC",
        "CREATE SCHEMA s; COMMENT ON SCHEMA s IS 'x'; CREATE TABLE s.t (a int PRIMARY KEY, CONSTRAINT c CHECK (a > 0));"
        " COMMENT ON TABLE s.t IS 't'; COMMENT ON COLUMN s.t.a IS 'a'; COMMENT ON CONSTRAINT c ON s.t IS 'c';"
        " CREATE INDEX i ON s.t (a); COMMENT ON INDEX s.i IS 'i'; CREATE SEQUENCE s.q; COMMENT ON SEQUENCE s.q IS 'q';"
        " CREATE VIEW s.v AS SELECT a FROM s.t; COMMENT ON VIEW s.v IS 'v'; COMMENT ON COLUMN s.v.a IS 'va';"
        " CREATE TYPE s.e AS ENUM ('a'); COMMENT ON TYPE s.e IS 'e'; CREATE DOMAIN s.d AS int; COMMENT ON DOMAIN s.d IS 'd';"
        " CREATE FUNCTION s.f() RETURNS int LANGUAGE sql AS 'SELECT 1'; COMMENT ON FUNCTION s.f() IS 'f';"
        " COMMENT ON TABLE s.t IS NULL",
        "CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE TABLE t (a text); CREATE INDEX ON t USING gin (a gin_trgm_ops)",
        "CREATE SCHEMA ext; CREATE EXTENSION citext WITH SCHEMA ext; COMMENT ON EXTENSION citext IS 'mine'",
        # renames that PostgreSQL follows by OID
        "CREATE TABLE t (a int); CREATE VIEW v AS SELECT a FROM t; ALTER TABLE t RENAME TO u",
        "CREATE TABLE t (a int); CREATE VIEW v AS SELECT a FROM t; ALTER TABLE t RENAME a TO b",
        "CREATE TABLE t (a int); CREATE VIEW v AS SELECT a FROM t; ALTER VIEW v RENAME COLUMN a TO b",
        "CREATE TABLE t (a int, b int); CREATE VIEW v (x, y) AS SELECT a, b FROM t",
        "CREATE TYPE mood AS ENUM ('a','b'); CREATE TABLE t (m mood DEFAULT 'a', CHECK (m <> 'b')); ALTER TYPE mood RENAME TO feeling",
        "CREATE SCHEMA s; CREATE TYPE mood AS ENUM ('a'); CREATE TABLE t (m mood DEFAULT 'a'); ALTER TYPE mood SET SCHEMA s",
        "CREATE TABLE t (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, a text); ALTER TABLE t RENAME TO u;"
        " CREATE TABLE t (id serial)",
        "CREATE TABLE t (a int PRIMARY KEY); CREATE TABLE t2 (a int PRIMARY KEY); ALTER TABLE t2 RENAME CONSTRAINT t2_pkey TO x;"
        " CREATE TABLE t3 (a int primary key)",
        # constraints and indexes in every form
        "CREATE TABLE p (a int, b int, PRIMARY KEY (a, b));"
        " CREATE TABLE c (a int, b int, FOREIGN KEY (a, b) REFERENCES p (a, b) MATCH FULL ON UPDATE CASCADE)",
        "CREATE TABLE t (a int, b int, UNIQUE NULLS NOT DISTINCT (a)); CREATE UNIQUE INDEX ON t (b) NULLS NOT DISTINCT",
        'CREATE TABLE t (a int, b text); CREATE INDEX ON t (a DESC NULLS LAST, b COLLATE "C" text_pattern_ops)',
        "CREATE TABLE t (a int, b int); CREATE INDEX ON t USING brin (a) WITH (pages_per_range = 32)",
        "CREATE TABLE t (a int DEFAULT 1); ALTER TABLE t ALTER a TYPE bigint",
        "CREATE TABLE t (a text); ALTER TABLE t ADD COLUMN b text GENERATED ALWAYS AS (upper(a)) STORED",
        "CREATE TABLE t (a int); ALTER TABLE t ADD CONSTRAINT u UNIQUE (a) DEFERRABLE INITIALLY DEFERRED",
        "CREATE TABLE t (a int); CREATE UNIQUE INDEX t_a_uq ON t (a); ALTER TABLE t ADD CONSTRAINT t_a_uq UNIQUE USING INDEX t_a_uq",
        "CREATE TABLE t (a int); CREATE UNIQUE INDEX i ON t (a); ALTER TABLE t ADD PRIMARY KEY USING INDEX i",
        "CREATE TABLE t (id serial PRIMARY KEY); ALTER TABLE t DROP COLUMN id",
        "CREATE TABLE t (id serial PRIMARY KEY); DROP TABLE t; CREATE TABLE t (id bigserial)",
        "CREATE TABLE t (a int CONSTRAINT a_pos CHECK (a > 0), CONSTRAINT tab_chk CHECK (a < 100) NOT VALID)",
        "CREATE TABLE t (a int); ALTER TABLE t ADD COLUMN b int NOT NULL DEFAULT 0, ADD CONSTRAINT b_pos CHECK (b >= 0),"
        " ALTER COLUMN a SET NOT NULL",
        "CREATE TABLE t (a int, b int); CREATE INDEX ON t (a, b); ALTER TABLE t DROP COLUMN b CASCADE",
        "CREATE TABLE p (a int) PARTITION BY HASH (a); CREATE TABLE p0 PARTITION OF p FOR VALUES WITH (modulus 2, remainder 0);"
        " ALTER TABLE p DETACH PARTITION p0",
        "CREATE TABLE p (a int); CREATE TABLE c () INHERITS (p); ALTER TABLE c NO INHERIT p; ALTER TABLE c INHERIT p",
        "CREATE TABLE t (a numeric(8,2), b varchar, c char(3), d timestamp(3), e bit varying(5), f interval day to second,"
        " g int[][], h double precision)",
        "CREATE DOMAIN d AS varchar(10) COLLATE \"C\" CHECK (VALUE ~ '^[a-z]+$'); CREATE TABLE t (x d DEFAULT 'abc')",
        # routines, triggers, grants
        "CREATE TABLE t (a int); CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;"
        " CREATE TRIGGER tr AFTER INSERT ON t REFERENCING NEW TABLE AS nt FOR EACH STATEMENT EXECUTE FUNCTION f();"
        " CREATE CONSTRAINT TRIGGER ct AFTER UPDATE ON t DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION f()",
        "CREATE TABLE t (a int); CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;"
        " CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f(); ALTER TABLE t ENABLE ALWAYS TRIGGER tr;"
        " DROP FUNCTION f() CASCADE",
        "CREATE FUNCTION f(a int DEFAULT 1, VARIADIC b int[] DEFAULT '{}') RETURNS SETOF int LANGUAGE sql ROWS 5 COST 10"
        " PARALLEL SAFE LEAKPROOF AS 'SELECT 1'",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'; ALTER FUNCTION f() STABLE SET work_mem = '64MB'",
        "CREATE TABLE t (a int); CREATE SEQUENCE s; GRANT USAGE, SELECT ON SEQUENCE s TO PUBLIC;"
        " GRANT SELECT (a), INSERT (a) ON t TO PUBLIC; REVOKE ALL ON t FROM PUBLIC",
        "CREATE FUNCTION sfunc(text, text) RETURNS text LANGUAGE sql AS 'SELECT $1 || $2';"
        " CREATE AGGREGATE agg(text) (SFUNC = sfunc, STYPE = text, INITCOND = '')",
        "CREATE TABLE t (a int); COMMENT ON COLUMN t.a IS 'x'; ALTER TABLE t RENAME a TO b; COMMENT ON TABLE t IS 'y'",
        "CREATE SCHEMA a; CREATE SCHEMA b; SET search_path TO b, a; CREATE TABLE a.t (x int); CREATE TABLE t (y int);"
        " CREATE INDEX ON t (y); RESET search_path; CREATE TABLE t (z int)",
        "CREATE TABLE t (a int); CREATE MATERIALIZED VIEW mv AS SELECT a FROM t WITH NO DATA; DROP MATERIALIZED VIEW mv",
        "CREATE SCHEMA s; CREATE TYPE s.e AS ENUM ('a'); CREATE TABLE s.t (id serial PRIMARY KEY, e s.e DEFAULT 'a',"
        " CHECK (e <> 'a')); CREATE TABLE u (t int REFERENCES s.t); CREATE VIEW s.v AS SELECT id FROM s.t;"
        " ALTER SCHEMA s RENAME TO s2",
        # partitions and inheritance: what children get
        "CREATE TABLE m (id serial, a date NOT NULL DEFAULT now(), b text DEFAULT 'x' CHECK (b <> '')) PARTITION BY RANGE (a); CREATE TABLE m1 PARTITION OF m FOR VALUES FROM ('2020-01-01') TO ('2021-01-01'); CREATE TABLE m2 PARTITION OF m (b DEFAULT 'y', CONSTRAINT own CHECK (b <> 'z')) FOR VALUES FROM ('2021-01-01') TO ('2022-01-01')",
        "CREATE TABLE p (id serial, a text DEFAULT 'x' NOT NULL, CHECK (a <> '')); CREATE TABLE c (b int, a text DEFAULT 'y') INHERITS (p)",
        "CREATE TABLE p (id int GENERATED ALWAYS AS IDENTITY, a int); CREATE TABLE c () INHERITS (p)",
        "CREATE TABLE p (a int); CREATE TABLE c () INHERITS (p); ALTER TABLE p ADD COLUMN b int DEFAULT 5 NOT NULL; ALTER TABLE p ADD CHECK (a > 0); ALTER TABLE p ALTER a SET NOT NULL",
        "CREATE TABLE p (a int, b int); CREATE TABLE c () INHERITS (p); ALTER TABLE p DROP COLUMN b; ALTER TABLE p RENAME a TO z",
        "CREATE TABLE t (a int, b text); CREATE TABLE u (LIKE t INCLUDING DEFAULTS, c int)",
        "CREATE SCHEMA s; CREATE TABLE s.t (a int); CREATE VIEW s.v AS SELECT * FROM s.t; CREATE FUNCTION s.f(s.t) RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "CREATE TABLE t (a int); CREATE TABLE u AS SELECT a, a + 1 AS b FROM t",
        "CREATE TYPE e AS ENUM ('a'); CREATE TABLE t (x e); ALTER TYPE e ADD VALUE 'b'; CREATE FUNCTION f(e) RETURNS e LANGUAGE sql AS 'SELECT $1'; DROP TYPE e CASCADE",
        "CREATE DOMAIN d AS int CONSTRAINT pos CHECK (VALUE > 0); COMMENT ON CONSTRAINT pos ON DOMAIN d IS 'positive'",
        "CREATE EXTENSION citext; CREATE TABLE t (a citext UNIQUE, b citext[])",
        'CREATE EXTENSION IF NOT EXISTS "uuid-ossp"; CREATE TABLE t (id uuid DEFAULT uuid_generate_v4() PRIMARY KEY)',
        "CREATE EXTENSION ltree; CREATE TABLE t (p ltree); CREATE INDEX ON t USING gist (p)",
        "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME t_seq_custom), x int); CREATE SEQUENCE t_id_seq",
        "CREATE TABLE t (a int); CREATE INDEX ON t (a); CREATE TABLE t_a_idx1 (x int); CREATE INDEX ON t (a)",
        'CREATE TABLE t ("A" int, "b c" text); CREATE INDEX ON t ("A", "b c"); ALTER TABLE t ADD UNIQUE ("b c")',
        "CREATE TABLE t (a int, b int); CREATE VIEW v AS SELECT a, b FROM t; CREATE VIEW w AS SELECT a FROM t;"
        " ALTER TABLE t DROP COLUMN b CASCADE",
        "CREATE TABLE t (id serial PRIMARY KEY, a int CHECK (a > 0), b text UNIQUE, c int); CREATE INDEX ON t (c); CREATE INDEX ON t (lower(b)); CREATE TABLE u (LIKE t INCLUDING ALL)",
        "CREATE TABLE t (id int PRIMARY KEY, a int CONSTRAINT named CHECK (a > 0)); CREATE TABLE u (LIKE t INCLUDING CONSTRAINTS, extra int)",
        "CREATE TABLE t (id int PRIMARY KEY, a int, b int, UNIQUE (a, b)); CREATE TABLE u (x int, LIKE t INCLUDING INDEXES)",
        # default privileges (in a schema of the case's own: global ones would outlive the reset)
        "CREATE SCHEMA s; ALTER DEFAULT PRIVILEGES IN SCHEMA s GRANT SELECT, UPDATE ON TABLES TO PUBLIC;"
        " ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA s GRANT ALL ON SEQUENCES TO PUBLIC;"
        " ALTER DEFAULT PRIVILEGES IN SCHEMA s REVOKE UPDATE ON TABLES FROM PUBLIC;"
        " CREATE TABLE s.t (id serial); CREATE VIEW s.v AS SELECT id FROM s.t; CREATE TABLE public.u (a int)",
        # search_path, schemas, quoting
        "CREATE SCHEMA app; SET search_path = app, public; CREATE TABLE t (id serial PRIMARY KEY); CREATE TABLE public.u (t int REFERENCES t)",
        'CREATE SCHEMA "My Schema"; CREATE TABLE "My Schema"."My Table" ("Id" serial PRIMARY KEY, "select" int UNIQUE)',
        "CREATE SCHEMA a CREATE TABLE t (x int) CREATE VIEW v AS SELECT x FROM t",
        "CREATE SCHEMA s; CREATE TABLE s.t (a int); DROP SCHEMA s CASCADE",
        "CREATE TABLE t (a int); ALTER TABLE t OWNER TO CURRENT_USER; BEGIN; INSERT INTO t VALUES (1); COMMIT",
        # collations
        'CREATE COLLATION posix FROM "POSIX"; CREATE TABLE t (a text, b text COLLATE posix)',
        'CREATE COLLATION c1 FROM "C"; CREATE COLLATION c2 FROM c1; CREATE COLLATION c3 FROM "ucs_basic";'
        ' CREATE COLLATION c4 FROM "en-x-icu"; CREATE COLLATION c5 FROM pg_catalog."und-x-icu"',
        "CREATE COLLATION IF NOT EXISTS numeric (provider = icu, locale = 'en-u-kn-true');"
        " CREATE COLLATION IF NOT EXISTS numeric (provider = icu, locale = 'en');"
        " CREATE COLLATION nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);"
        " CREATE COLLATION mixed (lc_collate = 'C', lc_ctype = 'POSIX'); CREATE COLLATION plain (locale = 'C');"
        " COMMENT ON COLLATION numeric IS 'by value'; COMMENT ON COLLATION plain IS 'x'; COMMENT ON COLLATION plain IS NULL",
        "CREATE SCHEMA s; CREATE COLLATION s.numeric (provider = icu, locale = 'en-u-kn-true');"
        " CREATE TABLE t (a text COLLATE s.numeric); CREATE DOMAIN d AS text COLLATE s.numeric;"
        ' CREATE INDEX ON t (a COLLATE s.numeric); CREATE INDEX ON t (a COLLATE "C"); CREATE INDEX ON t ((a || a) COLLATE s.numeric);'
        " ALTER COLLATION s.numeric RENAME TO num;"
        " CREATE SCHEMA s2; ALTER COLLATION s.num SET SCHEMA s2; ALTER SCHEMA s2 RENAME TO s3",
        'CREATE COLLATION a FROM "C"; CREATE COLLATION b FROM "C"; DROP COLLATION a; DROP COLLATION IF EXISTS b, zz',
        'CREATE SCHEMA s; CREATE COLLATION s.a FROM "C"; DROP SCHEMA s CASCADE',
        # inherited columns (attislocal)
        "CREATE TABLE p1 (id int, x text, y text); CREATE TABLE p2 (id int, z text);"
        " CREATE TABLE c (x text, own int) INHERITS (p1, p2); CREATE TABLE gc (g int) INHERITS (c)",
        "CREATE TABLE p (id int); CREATE TABLE c (a int) INHERITS (p); CREATE TABLE gc () INHERITS (c);"
        " ALTER TABLE p ADD COLUMN late int; CREATE TABLE d (id int, late int); ALTER TABLE d INHERIT p;"
        " ALTER TABLE p ADD COLUMN later text",
        "CREATE TABLE p (id int, e int, f int, g int); CREATE TABLE q (f int);"
        " CREATE TABLE c (a int, e int) INHERITS (p, q); CREATE TABLE gc () INHERITS (c);"
        " ALTER TABLE p DROP COLUMN e; ALTER TABLE p DROP COLUMN f; ALTER TABLE ONLY p DROP COLUMN g",
        "CREATE TABLE p (id int, x int); CREATE TABLE q (x int); CREATE TABLE c (a int) INHERITS (p, q);"
        " ALTER TABLE c NO INHERIT p",
        "CREATE TABLE p (id int); CREATE TABLE c (a int) INHERITS (p); ALTER TABLE c NO INHERIT p;"
        " ALTER TABLE c INHERIT p",
        "CREATE TABLE gp (g0 int CONSTRAINT g0_positive CHECK (g0 > 0));"
        " CREATE TABLE p (id int CHECK (id > 0), n text NOT NULL DEFAULT 'x') INHERITS (gp);"
        " CREATE TABLE q (k int CHECK (k <> 0) NO INHERIT, m int);"
        " CREATE TABLE c (a int, n text, CHECK (a > 0)) INHERITS (p, q); CREATE TABLE gc (b int) INHERITS (c);"
        " ALTER TABLE p ADD COLUMN late int DEFAULT 3; ALTER TABLE q ADD COLUMN m2 int NOT NULL;"
        " ALTER TABLE ONLY c ALTER COLUMN late SET DEFAULT 4; ALTER TABLE c ADD COLUMN own2 int;"
        " ALTER TABLE p ADD COLUMN a int; ALTER TABLE p ADD CONSTRAINT late_check CHECK (late > 0);",
        "CREATE TABLE p (id int); CREATE TABLE c (a int) INHERITS (p); CREATE TABLE gc () INHERITS (c);"
        " CREATE TABLE other (id int); CREATE TABLE both_ (b int) INHERITS (p, other); DROP TABLE p CASCADE",
        # migra inherit2: a column the child only inherits goes with the parent's; its own stays
        "CREATE TABLE base (created_at timestamp DEFAULT now(), e int);"
        " CREATE TABLE a (a1 int, a2 int) INHERITS (base); CREATE TABLE b (e int) INHERITS (base);"
        " ALTER TABLE base DROP COLUMN e; ALTER TABLE a ADD COLUMN e int",
        "CREATE TABLE parted (k int, v text) PARTITION BY LIST (k);"
        " CREATE TABLE parted_1 PARTITION OF parted FOR VALUES IN (1); ALTER TABLE parted ADD COLUMN w int;"
        " CREATE TABLE parted_2 (k int, v text, w int); ALTER TABLE parted ATTACH PARTITION parted_2 FOR VALUES IN (2);"
        " ALTER TABLE parted DETACH PARTITION parted_1",
    ]
)


RESET = """
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' LOOP
        EXECUTE format('DROP EXTENSION %I CASCADE', r.extname);
    END LOOP;
    FOR r IN SELECT nspname FROM pg_namespace
             WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' LOOP
        EXECUTE format('DROP SCHEMA %I CASCADE', r.nspname);
    END LOOP;
END $$;
CREATE SCHEMA public AUTHORIZATION pg_database_owner;
COMMENT ON SCHEMA public IS 'standard public schema';
GRANT USAGE ON SCHEMA public TO PUBLIC;
"""


@pytest.fixture(scope="module")
def oracle_url(pg_cluster: LocalCluster) -> Iterator[str]:
    """One database for every oracle case, emptied back to a fresh database's state before
    each (much faster than a CREATE DATABASE per case)."""
    name = f"sqlfe_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    yield pg_cluster.url(name)
    with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def live_catalog(url: str, sql: str) -> Catalog:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(RESET)  # type: ignore[arg-type]
        conn.execute(sql)  # type: ignore[arg-type]
    return introspect(url)


@pytest.mark.oracle
@pytest.mark.parametrize("sql", ["", *ORACLE])
def test_oracle(sql: str, oracle_url: str) -> None:
    live = live_catalog(oracle_url, sql)
    diffs = object_diffs(live, compile_sql(sql))
    assert not diffs, "objects differ (--- live, +++ sql):\n" + "\n".join(diffs)


# A string literal naming a table, an alias named like a schema whose table is named like
# the column, a function call, a sub-select, outer joins, set operations, views over views.
VIEW_SHAPES = """
CREATE SCHEMA audit;
CREATE TABLE audit.log (id int NOT NULL);
CREATE TABLE other_table (id int);
CREATE TABLE events (id int NOT NULL, log text, at timestamptz NOT NULL);
CREATE FUNCTION label(t text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT upper(t)';
CREATE VIEW literal AS SELECT id, 'public.other_table' AS note, 'other_table' AS bare FROM events;
CREATE VIEW aliased AS SELECT audit.log, audit.id FROM events audit;
CREATE VIEW calls AS SELECT label(e.log) AS label, e.id, e.at FROM events e
    WHERE e.id IN (SELECT l.id FROM audit.log l);
CREATE VIEW outer_join AS SELECT e.id, l.id AS log_id FROM events e LEFT JOIN audit.log l ON l.id = e.id;
CREATE VIEW counted AS SELECT count(*) AS n FROM other_table;
CREATE VIEW stacked AS SELECT c.id, c.label FROM calls c;
CREATE VIEW nested AS SELECT s.id FROM (SELECT id FROM events) s;
CREATE VIEW combined AS SELECT id FROM events UNION SELECT id FROM audit.log;
CREATE MATERIALIZED VIEW joined AS SELECT e.at, l.id FROM events e JOIN audit.log l USING (id);
"""


@pytest.mark.oracle
def test_view_dependencies_and_nullability_are_postgresqls(oracle_url: str) -> None:
    """View.depends_on is what pg_depend records for the view's rule (live) and what the
    analysed query uses (sql frontend): equal, with no dependency from a string literal or
    from `alias.column`; a column is NOT NULL as PostgreSQL knows it."""
    compiled = compile_sql(VIEW_SHAPES, strict=True)
    live = live_catalog(oracle_url, VIEW_SHAPES)
    diffs = object_diffs(live, compiled)
    assert not diffs, "objects differ (--- live, +++ sql):\n" + "\n".join(diffs)

    def depends(name: str) -> set[tuple[str, ...]]:
        view = compiled.view("public", name)
        assert view is not None and view.depends_on is not None
        return {tuple(x for x in (d.kind, d.schema, d.name, d.column) if x) for d in view.depends_on}

    def not_null(name: str) -> list[str]:
        view = compiled.view("public", name)
        assert view is not None
        return [c.name for c in view.columns if c.not_null]

    assert depends("literal") == {("column", "public", "events", "id")}
    assert depends("aliased") == {
        ("column", "public", "events", "id"),
        ("column", "public", "events", "log"),
    }
    assert depends("calls") == {
        ("function", "public", "label"),
        ("column", "audit", "log", "id"),
        ("column", "public", "events", "id"),
        ("column", "public", "events", "log"),
        ("column", "public", "events", "at"),
    }
    assert depends("counted") == {("relation", "public", "other_table")}
    assert depends("stacked") >= {("column", "public", "calls", "id"), ("column", "public", "calls", "label")}
    assert [not_null(v) for v in ("literal", "aliased", "calls", "outer_join", "stacked", "nested", "combined")] == [
        ["id"], ["id"], ["id", "at"], [], ["id"], ["id"], []
    ]


VIEW_RENAMES = """
CREATE SCHEMA other;
CREATE TABLE a (x int NOT NULL, y int);
CREATE FUNCTION f(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1';
CREATE VIEW v AS SELECT x, f(y) AS fy FROM a;
CREATE VIEW w AS SELECT v.x FROM v;
ALTER TABLE a RENAME COLUMN x TO x2;
ALTER TABLE a RENAME TO a2;
ALTER VIEW v RENAME TO v2;
ALTER FUNCTION f(int) RENAME TO g;
ALTER FUNCTION g(int) SET SCHEMA other;
ALTER TABLE a2 SET SCHEMA other;
"""


@pytest.mark.oracle
def test_view_dependencies_follow_renames(oracle_url: str) -> None:
    compiled = compile_sql(VIEW_RENAMES, strict=True)
    diffs = object_diffs(live_catalog(oracle_url, VIEW_RENAMES), compiled)
    assert not diffs, "objects differ (--- live, +++ sql):\n" + "\n".join(diffs)


# --------------------------------------------------------------------------- warnings and errors

WARNINGS = [
    (
        "CREATE TABLE t (a int);\nINSERT INTO t VALUES (1);",
        ["a.sql:2: INSERT skipped: it does not change the schema"],
    ),
    ("\n\nDO $$ BEGIN END $$;", []),
    (
        "\n\nDO $$ DECLARE r record; BEGIN FOR r IN SELECT 1 LOOP END LOOP; END $$;",
        ["a.sql:3: DO block not interpreted: it holds a FOR loop statement; statement skipped"],
    ),
    (
        "DO LANGUAGE plperl $$ 1 $$;",
        ["a.sql:1: DO block in language plperl is not interpreted; statement skipped"],
    ),
    ("-- a comment\nCOPY t FROM stdin;", ["a.sql:2: COPY skipped: it does not change the schema"]),
    (
        "CREATE TEMP TABLE t (a int);",
        ["a.sql:1: temporary tables are not part of a schema; statement skipped"],
    ),
    (
        "ALTER DEFAULT PRIVILEGES FOR ROLE someone GRANT SELECT ON TABLES TO PUBLIC;",
        [
            "a.sql:1: default privileges of another role do not apply to what the migrations create;"
            " statement skipped"
        ],
    ),
    ("SET statement_timeout = 0; SELECT pg_catalog.set_config('search_path', '', false); BEGIN; COMMIT;", []),
    ("CREATE TABLE t (a int); SELECT * FROM t;", ["a.sql:1: SELECT is not modelled; statement skipped"]),
]


@pytest.mark.parametrize(("sql", "expected"), WARNINGS)
def test_warnings(sql: str, expected: list[str]) -> None:
    assert [str(w) for w in compile_sql_with_warnings(sql, "a.sql").warnings] == expected


ERRORS = [
    ("CREATE TABEL t (a int);", 'a.sql:1:8: syntax error at or near "TABEL"'),
    ("CREATE TABLE t (a int);\n\nCREATE TABLE u (a int,);", 'a.sql:3:23: syntax error at or near ")"'),
    (
        "CREATE TABLE t (a int);\nALTER TABLE nope ADD COLUMN b int;",
        'a.sql:2:13: relation "nope" does not exist',
    ),
    ("CREATE TABLE t (a int);\n  CREATE TABLE t (b int);", 'a.sql:2:16: relation "t" already exists'),
    (
        "CREATE TABLE t (a int);\nALTER TABLE t DROP COLUMN b;",
        'a.sql:2:1: column "b" of relation "t" does not exist',
    ),
    ("SET search_path = '';\nCREATE TABLE t (a int);", "a.sql:2:1: no schema has been selected to create in"),
    (
        "CREATE TABLE t (id int);\nALTER TABLE t ALTER id ADD GENERATED ALWAYS AS IDENTITY;",
        'a.sql:2:1: column "id" of relation "t" must be declared NOT NULL before identity can be added',
    ),
    ("CREATE TABLE t (a int REFERENCES nope);", 'a.sql:1:1: relation "nope" does not exist'),
    # hatchet's migrations make partitions in a routine nself does not run: the error names it
    (
        "CREATE TABLE wal (x int) PARTITION BY HASH (x);\n"
        "CREATE FUNCTION make_parts(t text, n int) RETURNS void LANGUAGE plpgsql AS $$ BEGIN NULL; END $$;\n"
        "SELECT make_parts('wal', 4);\nSELECT make_parts('other', 2);\nDO $$ BEGIN PERFORM 1; END $$;\n"
        "CREATE INDEX ON wal_0 (x);",
        'a.sql:6:17: relation "wal_0" does not exist (it may come from a.sql:3, which nself did not run)',
    ),
]


@pytest.mark.parametrize(("sql", "expected"), ERRORS)
def test_errors(sql: str, expected: str) -> None:
    with pytest.raises(SourceError) as info:
        compile_sql(sql, "a.sql")
    assert str(info.value) == expected


def test_error_line_counts_from_the_up_section(tmp_path: Path) -> None:
    path = tmp_path / "001_20240101_init.sql"
    path.write_text(
        "-- migrate:up\nCREATE TABLE t (a int);\nCREATE TABLE t (a int);\n-- migrate:down\nDROP TABLE t;\n"
    )
    with pytest.raises(SourceError) as info:
        compile_migrations(tmp_path)
    assert (info.value.file, info.value.line, info.value.col) == (str(path), 3, 14)


def test_warnings_name_the_original_line(tmp_path: Path) -> None:
    (tmp_path / "001_20240101_init.sql").write_text(
        "-- migrate:up\nCREATE TABLE t (a int);\nINSERT INTO t VALUES (1);\n"
    )
    result = compile_migrations_with_warnings(tmp_path)
    assert [w.line for w in result.warnings] == [3]


# A construct the expression canonicaliser does not model (TABLESAMPLE in a view): pglast's
# text of it is kept, which may not be what PostgreSQL records.
UNMODELLED = "CREATE TABLE t (a int);\n\nCREATE VIEW v AS SELECT * FROM t TABLESAMPLE SYSTEM (10);"


def test_a_canonicaliser_fallback_is_a_warning_naming_the_statement() -> None:
    result = compile_sql_with_warnings(UNMODELLED, "a.sql")
    assert [str(w) for w in result.warnings] == [
        "a.sql:3: view definition not canonicalised (Unsupported: RangeTableSample); kept as pglast prints "
        "it, which may differ from what PostgreSQL records"
    ]
    assert [v.name for v in result.catalog.views] == ["v"]


def test_strict_makes_a_canonicaliser_fallback_an_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as info:
        compile_sql(UNMODELLED, "a.sql", strict=True)
    assert str(info.value) == "a.sql:3:1: cannot canonicalise this view definition: Unsupported: RangeTableSample"
    (tmp_path / "1_a.up.sql").write_text(UNMODELLED)
    with pytest.raises(SourceError):
        compile_migrations(tmp_path, strict=True)
    assert len(compile_migrations_with_warnings(tmp_path).warnings) == 1


def test_a_memoised_expression_is_never_a_fallback() -> None:
    """The same unmodelled default twice: each is warned of (a fallback is not memoised)."""
    sql = "CREATE TABLE t (a xml DEFAULT xmlelement(name x));\nCREATE TABLE u (a xml DEFAULT xmlelement(name x));"
    assert [w.line for w in compile_sql_with_warnings(sql, "a.sql").warnings] == [1, 2]


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("project", sorted(p.name for p in EXAMPLES.iterdir() if (p / "nself.toml").exists()))
def test_the_examples_compile_with_no_canonicaliser_fallback(project: str) -> None:
    """Strict: every expression of the examples' migrations is canonicalised (the corpus
    is checked the same way by test_sql_fidelity, which compares it with PostgreSQL)."""
    result = compile_migrations_with_warnings(EXAMPLES / project / "nself" / "migrations", strict=True)
    assert result.catalog.tables


def test_each_migration_starts_with_the_default_search_path(tmp_path: Path) -> None:
    (tmp_path / "1_a.up.sql").write_text("CREATE SCHEMA app; SET search_path = app;")
    (tmp_path / "2_b.up.sql").write_text("CREATE TABLE t (a int);")
    assert [(t.schema, t.name) for t in compile_migrations(tmp_path).tables] == [("public", "t")]


# --------------------------------------------------------------------------- the parser


@pytest.mark.skipif(not (CORPUS / "README.md").exists(), reason="shared corpus not found")
def test_fast_parse_gives_pglasts_trees() -> None:
    for path in [
        CORPUS / "schemas" / "pagila" / "pagila-schema.sql",
        CORPUS / "migra" / "everything" / "b.sql",
    ]:
        text = path.read_text()
        assert parse_statements(text) == tuple(pglast.parse_sql(text))


def test_thousand_tables_compile() -> None:
    sql = "\n".join(
        f"CREATE TABLE t{i} (id bigserial PRIMARY KEY, name text NOT NULL, parent_id bigint REFERENCES t{max(i - 1, 0)});"
        f" CREATE INDEX ON t{i} (name); COMMENT ON TABLE t{i} IS 'table {i}';"
        for i in range(1000)
    )
    catalog = compile_sql(sql)
    assert len(catalog.tables) == 1000 and len(catalog.indexes) == 1000


def test_default_privileges_apply_to_later_objects() -> None:
    catalog = compile_sql(
        "CREATE TABLE before (a int); ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO reader;"
        " CREATE TABLE t (a int); CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';"
        " ALTER DEFAULT PRIVILEGES GRANT EXECUTE ON FUNCTIONS TO reader; CREATE FUNCTION g() RETURNS int"
        " LANGUAGE sql AS 'SELECT 1'"
    )
    granted = [(p.object_kind, p.object_name, p.grantee, p.privilege) for p in catalog.privileges]
    assert granted == [
        ("FUNCTION", "g()", "reader", "EXECUTE"),
        ("SCHEMA", "public", "PUBLIC", "USAGE"),
        ("TABLE", "t", "reader", "SELECT"),
    ]


DUPLICATE_COLUMNS = [
    "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\nCREATE VIEW v AS SELECT a.id, b.id FROM a, b;",
    "CREATE VIEW v (x, x) AS SELECT 1, 2;",
    "CREATE VIEW v (x) AS SELECT 1, 2 AS x;",
    "CREATE MATERIALIZED VIEW m AS SELECT 1 AS q, 2 AS q;",
    "CREATE TABLE t AS SELECT 1 AS q, 2 AS q;",
]


@pytest.mark.parametrize("sql", DUPLICATE_COLUMNS)
def test_two_output_columns_of_one_name_are_refused_as_postgresql_does(sql: str, oracle_url: str) -> None:
    with psycopg.connect(oracle_url, autocommit=True) as conn:
        conn.execute(RESET)  # type: ignore[arg-type]
        with pytest.raises(psycopg.errors.DuplicateColumn) as refused:
            conn.execute(sql)  # type: ignore[arg-type]
    with pytest.raises(SourceError) as info:
        compile_sql(sql, "a.sql")
    assert str(info.value).endswith(str(refused.value.diag.message_primary))
    assert info.value.line == sql.count("\n") + 1


def test_dropping_a_column_keeps_a_view_that_reads_another_tables_column_of_that_name() -> None:
    # crates.io: DROP COLUMN version_downloads.id; its materialized view reads versions.id
    catalog = compile_sql(
        "CREATE TABLE versions (id int PRIMARY KEY, crate_id int);\n"
        "CREATE TABLE version_downloads (id int, version_id int, downloads int);\n"
        "CREATE MATERIALIZED VIEW recent (crate_id, downloads) AS SELECT crate_id, sum(d.downloads)\n"
        "  FROM version_downloads d JOIN versions ON d.version_id = versions.id GROUP BY crate_id;\n"
        "CREATE VIEW ids AS SELECT id FROM version_downloads;\n"
        "ALTER TABLE version_downloads DROP COLUMN id CASCADE;",
        "a.sql",
    )
    assert [v.name for v in catalog.views] == ["recent"]
