"""Dependencies of defaults, generated columns, CHECK constraints, indexes, policies,
triggers, BEGIN ATOMIC bodies, aggregates (their functions, SORTOP and state types) and
publications' row filters (`depends_on`), and argument
defaults of routines in any language (`defaults_depends_on`; nself.ir.model.Dependency),
oracle-checked:
the live frontend's are pg_depend's (read here independently, through
pg_identify_object_as_address), the sql frontend's equal the live ones, and a diff that
changes a function those objects use applies to PostgreSQL. String literals naming other
objects, and an alias named like a schema, are decoys: no dependency comes from them."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import psycopg
import pytest

from nself.frontends.live import introspect
from nself.frontends.sql import compile_sql
from nself.ir import model as m
from nself.ir.model import Catalog
from nself.runtime.schema_diff import diff_catalogs
from tests.conftest import NewDatabase

pytestmark = pytest.mark.oracle

SCHEMA = """
CREATE SCHEMA app;
CREATE TABLE app.other (id int);
CREATE SEQUENCE app.ticket_seq;
CREATE TYPE app.mood AS ENUM ('ok', 'sad');
CREATE TYPE app.pair AS (a int, b int);
CREATE FUNCTION app.next_code() RETURNS text LANGUAGE sql AS $$ SELECT 'c' $$;
CREATE FUNCTION app.positive(n int) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT n > 0 $$;
CREATE FUNCTION app.norm(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(t) $$;
CREATE TABLE app.item (
    id int PRIMARY KEY DEFAULT nextval('app.ticket_seq'),
    code text DEFAULT app.next_code(),
    note text DEFAULT 'app.other',
    label text DEFAULT 'app.norm(x)',
    mood app.mood DEFAULT 'ok',
    pair app.pair DEFAULT '(1,2)',
    qty int CHECK (app.positive(qty)),
    name text,
    lname text GENERATED ALWAYS AS (app.norm(name) || 'app.other') STORED,
    CONSTRAINT decoy CHECK (name <> 'app.other.id')
);
CREATE INDEX item_norm ON app.item (app.norm(name)) WHERE qty > 0;
CREATE INDEX item_decoy ON app.item (name) WHERE name <> 'app.positive';
ALTER TABLE app.item ENABLE ROW LEVEL SECURITY;
CREATE POLICY uses_other ON app.item USING (EXISTS (SELECT 1 FROM app.other o WHERE o.id = item.qty));
CREATE POLICY decoy ON app.item USING (name <> 'app.other');
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.code := 'app.other'; RETURN NEW; END $$;
CREATE TRIGGER touch BEFORE UPDATE ON app.item FOR EACH ROW
    WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION app.touch();
CREATE FUNCTION app.count_items() RETURNS bigint LANGUAGE sql
    BEGIN ATOMIC SELECT count(*) FROM app.item i WHERE i.note <> 'app.other'; END;
CREATE FUNCTION app.alias_decoy() RETURNS int LANGUAGE sql
    BEGIN ATOMIC SELECT app.other FROM (SELECT i.id AS other FROM app.item i) app; END;
CREATE FUNCTION app.add_item(n int, t text DEFAULT app.next_code()) RETURNS int LANGUAGE sql
    BEGIN ATOMIC
        INSERT INTO app.item (id, name, mood) VALUES (n, t, 'sad');
        INSERT INTO app.other VALUES (1), (n);
        UPDATE app.item SET qty = add_item.n WHERE name = $2 AND app.positive(qty);
        DELETE FROM app.other o USING app.item i WHERE o.id = i.qty AND i.id = n RETURNING o.id;
        SELECT count(*)::int FROM app.item WHERE note <> 'app.other';
    END;
CREATE FUNCTION app.upsert_item(n int, t text) RETURNS int LANGUAGE sql
    BEGIN ATOMIC
        INSERT INTO app.item AS i (id, name) VALUES (n, t)
            ON CONFLICT (id) DO UPDATE SET (qty, note) = (i.qty + 1, excluded.note) WHERE app.positive(i.qty);
        INSERT INTO app.other (id) VALUES (n) ON CONFLICT DO NOTHING;
        WITH o AS (SELECT id FROM app.other WHERE id > n) UPDATE app.item SET qty = o.id FROM o WHERE item.code = t;
        WITH gone AS (DELETE FROM app.other WHERE id = n RETURNING id) INSERT INTO app.other SELECT g.id + 1 FROM gone g;
        WITH moved AS (UPDATE app.item SET mood = 'ok' WHERE id = n RETURNING *) SELECT count(*)::int FROM moved;
    END;
CREATE FUNCTION app.greet(t text DEFAULT app.next_code(), m app.mood DEFAULT 'sad') RETURNS text
    LANGUAGE plpgsql AS $$ BEGIN RETURN t || m::text || 'app.other'; END $$;
CREATE FUNCTION app.greet_decoy(t text DEFAULT 'app.next_code()') RETURNS app.pair
    LANGUAGE sql AS $$ SELECT (1, 2)::app.pair $$;
CREATE FUNCTION app.same_mood(m app.mood) RETURNS app.mood LANGUAGE sql IMMUTABLE RETURN coalesce(m, 'ok');
CREATE PROCEDURE app.bump(k int) LANGUAGE sql
    BEGIN ATOMIC UPDATE app.item SET qty = qty + k WHERE id = k; END;
CREATE FUNCTION app.start_qty() RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT 1 $$;
CREATE DOMAIN app.qty AS int DEFAULT app.start_qty() CONSTRAINT qty_positive CHECK (app.positive(VALUE))
    CONSTRAINT qty_decoy CHECK (VALUE::text <> 'app.start_qty()');
CREATE DOMAIN app.moods AS app.mood[] DEFAULT '{ok}' CHECK (VALUE <> '{}');
CREATE TABLE app.stock (q app.qty, m app.moods);
ALTER TABLE app.item ADD CONSTRAINT item_excl EXCLUDE USING btree (app.norm(name) WITH =) INCLUDE (code)
    WHERE (app.positive(qty));
ALTER TABLE app.item ADD CONSTRAINT item_excl_decoy EXCLUDE USING btree (label WITH =) WHERE (label <> 'app.norm');
CREATE FUNCTION app.same_int(a int, b int) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT a = b $$;
CREATE OPERATOR app.=== (LEFTARG = int, RIGHTARG = int, FUNCTION = app.same_int, COMMUTATOR = OPERATOR(app.===));
CREATE OPERATOR CLASS app.int_same FOR TYPE int USING hash AS OPERATOR 1 app.===, FUNCTION 1 hashint4(int);
ALTER TABLE app.item ADD CONSTRAINT item_excl_op EXCLUDE USING hash (qty app.int_same WITH app.===);
CREATE TABLE app.shipment (id int PRIMARY KEY, weight int, label text);
CREATE TABLE app.parcel (id int PRIMARY KEY, weight int, label text);
CREATE PUBLICATION ship FOR TABLE app.shipment (id, label) WHERE (weight > 0 AND label <> 'app.other');
CREATE PUBLICATION ship_decoy FOR TABLE app.parcel WHERE (label <> 'weight' AND id > 0);
SET search_path = app, public;
ALTER TABLE item ADD CONSTRAINT item_excl_path EXCLUDE USING hash (id int_same WITH ===);
RESET search_path;
CREATE FUNCTION app.tally(s int, v int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT s + v $$;
CREATE FUNCTION app.tally_inv(s int, v int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT s - v $$;
CREATE FUNCTION app.tally_mood(s int) RETURNS app.mood LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE WHEN s > 0 THEN 'ok' ELSE 'sad' END::app.mood $$;
CREATE AGGREGATE app.total(int) (SFUNC = app.tally, STYPE = int, FINALFUNC = app.tally_mood,
    COMBINEFUNC = app.tally, MSFUNC = app.tally, MINVFUNC = app.tally_inv, MSTYPE = int,
    MFINALFUNC = app.tally_mood, INITCOND = '0');
CREATE FUNCTION app.pair_gt(a app.pair, b app.pair) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT (a).a > (b).a $$;
CREATE OPERATOR app.>>> (LEFTARG = app.pair, RIGHTARG = app.pair, FUNCTION = app.pair_gt);
CREATE FUNCTION app.pair_max(a app.pair, b app.pair) RETURNS app.pair LANGUAGE sql IMMUTABLE AS $$ SELECT b $$;
CREATE AGGREGATE app.biggest(app.pair) (SFUNC = app.pair_max, STYPE = app.pair, SORTOP = OPERATOR(app.>>>));
CREATE AGGREGATE app.agg_decoy(text) (SFUNC = textcat, STYPE = text, INITCOND = 'app.tally');
CREATE FUNCTION app.acc(s int, v int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT s + v $$;
CREATE AGGREGATE app.acc_sum(int) (SFUNC = app.acc, STYPE = int);
CREATE FUNCTION app.moods_of(n int) RETURNS TABLE (m app.mood, p app.pair[], k int) LANGUAGE sql
    AS $$ SELECT 'ok'::app.mood, NULL::app.pair[], n $$;
CREATE FUNCTION app.outs(n int, OUT m app.mood, OUT k int) LANGUAGE sql AS $$ SELECT 'ok'::app.mood, n $$;
"""

# The exclusion constraints of SCHEMA: pg_depend holds what they use on the constraint and on
# its index (the expressions and the predicate).
EXCLUSIONS = ("item_excl", "item_excl_decoy", "item_excl_op", "item_excl_path")

# Each dependent object as pg_describe_object names it, and its IR node's depends_on.
ORACLE = """
SELECT * FROM (
SELECT coalesce((SELECT 'constraint ' || c.conname || ' on domain ' || c.contypid::regtype::text
                 FROM pg_constraint c WHERE d.classid = 'pg_constraint'::regclass AND c.oid = d.objid
                   AND c.contypid <> 0),
                pg_describe_object(d.classid, d.objid, d.objsubid)) AS owner,
       a.type, a.object_names,
       CASE WHEN d.refclassid = 'pg_type'::regclass
            THEN (SELECT ARRAY[n.nspname::text, t.typname::text] FROM pg_type x
                  JOIN pg_type t ON t.oid = CASE WHEN x.typelem <> 0 AND x.typcategory = 'A'
                                                 THEN x.typelem ELSE x.oid END
                  JOIN pg_namespace n ON n.oid = t.typnamespace WHERE x.oid = d.refobjid) END AS type_name
FROM (SELECT classid, objid, objsubid, refclassid, refobjid, refobjsubid, deptype FROM pg_depend
      UNION ALL
      -- an exclusion constraint's operators: PostgreSQL records none in pg_depend (they
      -- belong to the operator class its index depends on), pg_constraint.conexclop has them
      SELECT 'pg_constraint'::regclass, c.oid, 0, 'pg_operator'::regclass, o, 0, 'n'
      FROM pg_constraint c, unnest(c.conexclop) o WHERE c.contype = 'x' AND o >= 16384) d,
     pg_identify_object_as_address(d.refclassid, d.refobjid, d.refobjsubid) a
WHERE d.deptype IN ('n', 'a')
  AND d.classid IN ('pg_attrdef'::regclass, 'pg_constraint'::regclass, 'pg_policy'::regclass,
                    'pg_trigger'::regclass, 'pg_proc'::regclass, 'pg_class'::regclass,
                    'pg_type'::regclass, 'pg_publication_rel'::regclass)
  AND d.refclassid IN ('pg_class'::regclass, 'pg_proc'::regclass, 'pg_type'::regclass,
                       'pg_operator'::regclass)
  AND (d.classid <> 'pg_constraint'::regclass
       OR EXISTS (SELECT 1 FROM pg_constraint c WHERE c.oid = d.objid AND c.contype IN ('c', 'x')))
) x
WHERE owner LIKE ANY (ARRAY[
      'default value for column % of table app.item', 'constraint % on table app.item',
      'index app.%', 'policy % on table app.item', 'trigger % on table app.item',
      'function app.count_items()', 'function app.alias_decoy()', 'function app.add_item(%)',
      'function app.same_mood(%)', 'function app.greet(%)', 'function app.greet_decoy(%)', 'function app.bump(%)', 'function app.upsert_item(%)',
      'function app.total(%)', 'function app.biggest(%)', 'function app.agg_decoy(%)',
      'function app.acc_sum(%)', 'function app.moods_of(%)', 'function app.outs(%)',
      'function app.tally%(%)', 'function app.pair_%(%)', 'function app.acc(%)',
      'type app.qty', 'type app.moods', 'constraint % on domain app.%',
      'publication of table % in publication %'])
"""


@pytest.fixture(scope="module")
def url(module_database: NewDatabase) -> str:
    return module_database("deps")


@pytest.fixture(scope="module")
def live(url: str) -> Catalog:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA)
    return introspect(url)


Dep = tuple[str, ...]


def _pg_depend(url: str) -> dict[str, set[Dep]]:
    out: dict[str, set[Dep]] = {}
    with psycopg.connect(url) as conn:
        for owner, kind, names, type_name in conn.execute(ORACLE).fetchall():
            if kind in ("table column", "view column"):
                dep: Dep = ("column", *names)
            elif kind in ("function", "procedure"):
                dep = ("function", *names)
            elif kind == "operator":
                dep = ("operator", *names)
            elif type_name is not None:
                dep = ("type", *type_name)
            else:
                dep = ("relation", *names)
            if owner.startswith("index app.") and owner.split(".")[1] in EXCLUSIONS:
                owner = f"constraint {owner.split('.')[1]} on table app.item"  # its index's
            found = out.setdefault(owner, set())
            # the owning table itself (and a default's own column, a check's own domain) is implied
            if (
                dep not in (("relation", "app", "item"),)
                and not (
                    owner.startswith("default value for column ")
                    and dep == ("column", "app", "item", owner.split()[4])
                )
                and not (owner.endswith(" on domain app." + dep[-1]) and dep[:2] == ("type", "app"))
                and not (owner.startswith(f"publication of table {'.'.join(dep[1:])} ") and dep[0] == "relation")
            ):
                found.add(dep)
    return out


def recorded_known(catalog: Catalog) -> dict[str, set[Dep]]:
    """recorded(), without what the catalog does not know (depends_on None)."""
    return recorded(catalog, known_only=True)


def recorded(catalog: Catalog, known_only: bool = False) -> dict[str, set[Dep]]:
    """Every depends_on of the dependent objects SCHEMA has, keyed as pg_describe_object
    names them."""

    def _as_tuples(deps: tuple[m.Dependency, ...] | None) -> set[Dep]:
        if deps is None:
            assert known_only, "depends_on not known"
            return {("unknown",)}
        return {tuple(x for x in (d.kind, d.schema, d.name, d.column) if x is not None) for d in deps}

    table = catalog.table("app", "item")
    assert table is not None
    out: dict[str, set[Dep]] = {}
    for c in table.columns:
        if c.default is not None or c.generated is not None:
            out[f"default value for column {c.name} of table app.item"] = _as_tuples(c.depends_on)
    for con in table.constraints:
        if isinstance(con, (m.CheckConstraint, m.ExclusionConstraint)):
            out[f"constraint {con.name} on table app.item"] = _as_tuples(con.depends_on)
    for domain in catalog.domains:
        out[f"type app.{domain.name}"] = _as_tuples(domain.depends_on)
        for check in domain.checks:
            out[f"constraint {check.name} on domain app.{domain.name}"] = _as_tuples(check.depends_on)
    for ix in catalog.indexes:
        out[f"index app.{ix.name}"] = _as_tuples(ix.depends_on)
    for p in catalog.policies:
        out[f"policy {p.name} on table app.item"] = _as_tuples(p.depends_on)
    for t in catalog.triggers:
        out[f"trigger {t.name} on table app.item"] = _as_tuples(t.depends_on)
    for pub in catalog.publications:
        for pt in pub.tables:
            out[f"publication of table {pt.schema}.{pt.table} in publication {pub.name}"] = _as_tuples(pt.depends_on)
    for f in catalog.functions:
        if f.body.startswith(("BEGIN ATOMIC", "RETURN ")) and (f.depends_on is not None or not known_only):
            args = ",".join(a.data_type for a in f.arguments if a.mode in ("IN", "INOUT", "VARIADIC"))
            out[f"function app.{f.name}({args})"] = _as_tuples(f.depends_on)  # procedures too
        elif f.kind == "aggregate" and (f.depends_on is not None or not known_only):
            # its functions, SORTOP, state and signature types
            args = ",".join(a.data_type for a in f.arguments if a.mode in ("IN", "INOUT", "VARIADIC"))
            out[f"function app.{f.name}({args})"] = _as_tuples(f.depends_on)
        elif f.kind != "aggregate" and (f.defaults_depends_on or not known_only):
            # any other language: its signature's types and what its argument defaults use
            args = ",".join(a.data_type for a in f.arguments if a.mode in ("IN", "INOUT", "VARIADIC"))
            out[f"function app.{f.name}({args})"] = _as_tuples(f.defaults_depends_on)
    return out


def test_live_dependencies_are_pg_depends(url: str, live: Catalog) -> None:
    got = recorded(live)
    want = _pg_depend(url)
    assert {k: v for k, v in got.items() if v} == {k: v for k, v in want.items() if v}
    # spot checks: what the schema means, and no decoy
    assert got["default value for column id of table app.item"] == {("relation", "app", "ticket_seq")}
    assert got["default value for column code of table app.item"] == {("function", "app", "next_code")}
    assert got["default value for column note of table app.item"] == set()
    assert got["default value for column label of table app.item"] == set()
    assert got["default value for column mood of table app.item"] == {("type", "app", "mood")}
    assert got["default value for column pair of table app.item"] == {("type", "app", "pair")}
    assert got["default value for column lname of table app.item"] == {
        ("function", "app", "norm"),
        ("column", "app", "item", "name"),
    }
    assert got["constraint decoy on table app.item"] == {("column", "app", "item", "name")}
    assert ("function", "app", "positive") in got["constraint item_qty_check on table app.item"]
    assert got["index app.item_decoy"] == {("column", "app", "item", "name")}
    assert ("function", "app", "norm") in got["index app.item_norm"]
    assert ("column", "app", "other", "id") in got["policy uses_other on table app.item"]
    assert got["policy decoy on table app.item"] == {("column", "app", "item", "name")}
    assert ("function", "app", "touch") in got["trigger touch on table app.item"]
    assert ("column", "app", "item", "note") in got["function app.count_items()"]
    assert not any(d[2] == "other" for d in got["function app.alias_decoy()"])
    # a body's INSERT/UPDATE target columns, what it reads, parameters (by name, by number,
    # qualified by the routine) use nothing; a constant coerced to an enum column uses it
    assert got["function app.add_item(integer,text)"] == {
        ("column", "app", "item", c) for c in ("id", "name", "mood", "qty", "note")
    } | {
        ("column", "app", "other", "id"),
        ("function", "app", "positive"),
        ("function", "app", "next_code"),
        ("type", "app", "mood"),
    }
    # ON CONFLICT DO UPDATE reads every column of its target (its EXCLUDED row); WITH
    # items, data-modifying ones too, are analysed with their statement
    item_columns = {("column", "app", "item", c.name) for c in live.table("app", "item").columns}  # type: ignore[union-attr]
    assert got["function app.upsert_item(integer,text)"] == item_columns | {
        ("column", "app", "other", "id"),
        ("function", "app", "positive"),
        ("type", "app", "mood"),
    }
    assert got["function app.same_mood(app.mood)"] == {("type", "app", "mood")}
    assert got["function app.bump(integer)"] == {("column", "app", "item", c) for c in ("id", "qty")}
    # domains: base type and default, checks; exclusion constraints: columns, expressions, predicate
    assert got["type app.qty"] == {("function", "app", "start_qty")}
    assert got["type app.moods"] == {("type", "app", "mood")}
    assert got["constraint qty_positive on domain app.qty"] == {("function", "app", "positive")}
    assert got["constraint qty_decoy on domain app.qty"] == set()
    assert got["constraint moods_check on domain app.moods"] == {("type", "app", "mood")}
    assert got["constraint item_excl on table app.item"] == {
        ("function", "app", "norm"),
        ("function", "app", "positive"),
        ("column", "app", "item", "name"),
        ("column", "app", "item", "qty"),
        ("column", "app", "item", "code"),
    }
    assert got["constraint item_excl_decoy on table app.item"] == {("column", "app", "item", "label")}
    # the operator an exclusion constraint compares WITH, named or found on the path
    for con, column in (("item_excl_op", "qty"), ("item_excl_path", "id")):
        assert got[f"constraint {con} on table app.item"] == {
            ("column", "app", "item", column),
            ("operator", "app", "==="),
        }
    table = live.table("app", "item")
    assert table is not None
    ops = {c.name: c.elements[0].operator for c in table.constraints if isinstance(c, m.ExclusionConstraint)}
    assert ops["item_excl_op"] == ops["item_excl_path"] == "app.===" and ops["item_excl"] == "="
    # a LANGUAGE sql body in a string: PostgreSQL records nothing, the IR says unknown
    norm = next(f for f in live.functions if f.name == "norm")
    assert norm.depends_on is None
    # argument defaults of routines in any language (and their signature's types); a
    # string literal naming a function is a decoy
    assert got["function app.greet(text,app.mood)"] == {("function", "app", "next_code"), ("type", "app", "mood")}
    assert got["function app.greet_decoy(text)"] == {("type", "app", "pair")}
    assert norm.defaults_depends_on == ()
    # an aggregate: its functions, SORTOP, state and signature types (its INITCOND naming a
    # function is a decoy)
    assert got["function app.total(integer)"] == {
        ("function", "app", "tally"),
        ("function", "app", "tally_inv"),
        ("function", "app", "tally_mood"),
        ("type", "app", "mood"),
    }
    assert got["function app.biggest(app.pair)"] == {
        ("function", "app", "pair_max"),
        ("operator", "app", ">>>"),
        ("type", "app", "pair"),
    }
    assert got["function app.agg_decoy(text)"] == set()
    # RETURNS TABLE and OUT columns' types (pg_depend records them on the routine)
    assert got["function app.moods_of(integer)"] == {
        ("type", "app", "mood"),
        ("type", "app", "pair"),
    }
    assert got["function app.outs(integer)"] == {("type", "app", "mood")}
    # a publication's row filter and column list (a string literal naming a column is a decoy)
    assert got["publication of table app.shipment in publication ship"] == {
        ("column", "app", "shipment", c) for c in ("id", "weight", "label")
    }
    assert got["publication of table app.parcel in publication ship_decoy"] == {
        ("column", "app", "parcel", c) for c in ("id", "label")
    }


def _applied(url: str, sql: str) -> None:
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.encode())
    except psycopg.Error as e:
        pytest.fail(f"{e}\n{sql}")


CHANGED = (
    SCHEMA.replace(
        "CREATE FUNCTION app.norm(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(t) $$;",
        "CREATE FUNCTION app.norm(t text) RETURNS varchar LANGUAGE sql IMMUTABLE AS $$ SELECT upper(t) $$;",
    )
    .replace(
        "CREATE FUNCTION app.positive(n int) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT n > 0 $$;",
        "CREATE FUNCTION app.positive(n bigint) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT n > 0 $$;",
    )
    .replace(
        "CREATE FUNCTION app.next_code() RETURNS text LANGUAGE sql AS $$ SELECT 'c' $$;",
        "CREATE FUNCTION app.next_code() RETURNS varchar LANGUAGE sql AS $$ SELECT 'c' $$;",
    )
    .replace("app.shipment (id int PRIMARY KEY, weight int,", "app.shipment (id int PRIMARY KEY, weight bigint,")
    .replace("app.parcel (id int PRIMARY KEY, weight int,", "app.parcel (id int PRIMARY KEY, weight bigint,")
    .replace(
        "CREATE FUNCTION app.start_qty() RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT 1 $$;",
        "CREATE FUNCTION app.start_qty() RETURNS smallint LANGUAGE sql IMMUTABLE AS $$ SELECT 1::smallint $$;",
    )
    # an aggregate's state type retyped with its SFUNC's signature; another's FINALFUNC
    # dropped and created again (a parameter renamed: CREATE OR REPLACE cannot)
    .replace(
        "CREATE FUNCTION app.acc(s int, v int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT s + v $$;",
        "CREATE FUNCTION app.acc(s bigint, v int) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$ SELECT s + v $$;",
    )
    .replace("(SFUNC = app.acc, STYPE = int)", "(SFUNC = app.acc, STYPE = bigint)")
    .replace("app.tally_mood(s int) RETURNS app.mood", "app.tally_mood(st int) RETURNS app.mood")
    .replace("WHEN s > 0 THEN 'ok'", "WHEN st > 0 THEN 'ok'")
)


@pytest.fixture(scope="module")
def changed(module_database: NewDatabase) -> tuple[str, Catalog]:
    url = module_database("deps")
    _applied(url, CHANGED)
    return url, introspect(url)


def _strip(catalog: Catalog) -> Any:
    from nself.ir import catalog_to_json

    return catalog_to_json(catalog)


def test_diff_rebuilds_what_uses_a_changed_function(
    url: str, live: Catalog, changed: tuple[str, Catalog]
) -> None:
    """Functions whose return or argument types change are dropped and created again: the
    defaults, checks, indexes, generated columns, domain defaults and checks, and exclusion
    constraints that use them go first and come back after (a domain stays: ALTER DOMAIN),
    in an order PostgreSQL accepts, both ways."""
    _, b = changed
    result = diff_catalogs(live, b)
    # what only names them in a string literal is left alone
    for decoy in (
        "INDEX app.item_decoy",
        "CONSTRAINT decoy",
        "POLICY decoy",
        "COLUMN note",
        "COLUMN label",
        "CONSTRAINT item_excl_decoy",
        "CONSTRAINT qty_decoy",
        "DROP DOMAIN",
        "greet_decoy",
        "ship_decoy",
    ):
        assert decoy not in result.up_sql
    assert "CONSTRAINT item_excl " in result.up_sql and "CONSTRAINT qty_positive" in result.up_sql
    assert "DROP FUNCTION app.greet(" in result.up_sql  # its argument default uses next_code
    assert "DROP PUBLICATION ship;" in result.up_sql  # its row filter uses a retyped column
    # aggregates go before the routines they use and come back after them
    up = result.up_sql
    assert up.index("DROP AGGREGATE app.total(") < up.index("DROP FUNCTION app.tally_mood(")
    assert up.index("CREATE FUNCTION app.tally_mood(") < up.index("CREATE AGGREGATE app.total(")
    assert up.index("DROP AGGREGATE app.acc_sum(") < up.index("DROP FUNCTION app.acc(")
    assert up.index("CREATE FUNCTION app.acc(") < up.index("CREATE AGGREGATE app.acc_sum(")
    assert "app.biggest" not in up and "agg_decoy" not in up
    _applied(url, result.up_sql)
    assert _strip(introspect(url)) == _strip(b)
    _applied(url, result.down_sql)
    assert _strip(introspect(url)) == _strip(live)


def test_sql_frontend_dependencies_are_the_live_ones(live: Catalog) -> None:
    """Every depends_on of the sql frontend (SQL-standard bodies included) equals the
    live one."""
    compiled = recorded(compile_sql(SCHEMA, strict=True))
    assert compiled == recorded(live)


RENAMED = (
    SCHEMA
    + """
ALTER TABLE app.item RENAME COLUMN name TO title;
ALTER FUNCTION app.norm(text) RENAME TO normalise;
ALTER TABLE app.other RENAME TO others;
ALTER SEQUENCE app.ticket_seq RENAME TO tickets;
ALTER FUNCTION app.positive(int) RENAME TO is_positive;
ALTER FUNCTION app.start_qty() RENAME TO first_qty;
ALTER TYPE app.mood RENAME TO feeling;
CREATE SCHEMA extra;
ALTER TYPE app.feeling SET SCHEMA extra;
ALTER DOMAIN app.moods RENAME TO feelings;
ALTER TYPE app.pair RENAME TO couple;
ALTER TABLE app.shipment RENAME COLUMN weight TO mass;
"""
)


def test_sql_frontend_dependencies_follow_renames(new_database: NewDatabase) -> None:
    url = new_database("deps")
    _applied(url, RENAMED)
    got_live = recorded(introspect(url))
    compiled = recorded_known(compile_sql(RENAMED, strict=True))
    assert compiled == {k: got_live[k] for k in compiled}


INHERITED = """
CREATE FUNCTION twice(n int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT n * 2 $$;
CREATE TABLE parted (k int, d int DEFAULT twice(1), g int GENERATED ALWAYS AS (twice(k)) STORED)
    PARTITION BY LIST (k);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES IN (1);
CREATE TABLE parent (k int, g int GENERATED ALWAYS AS (twice(k)) STORED, CHECK (twice(k) > 0));
CREATE TABLE child (extra text DEFAULT 'parent') INHERITS (parent);
"""


def test_copied_expressions_use_their_own_tables_columns(new_database: NewDatabase) -> None:
    """A partition's or inheritance child's copy of a default, generation expression or
    check uses the child's columns (pg_depend), in both frontends."""
    url = new_database("deps")
    _applied(url, INHERITED)
    live, compiled = introspect(url), compile_sql(INHERITED, strict=True)
    for t in live.tables:
        other = compiled.table(t.schema, t.name)
        assert other is not None
        for a, b in zip(t.columns, other.columns, strict=True):
            assert (t.name, a.name, a.depends_on) == (t.name, b.name, b.depends_on)
    child = live.table("public", "child")
    assert child is not None and child.column("g") is not None
    assert child.column("g").depends_on == (  # type: ignore[union-attr]
        m.Dependency("column", "public", "child", "k"),
        m.Dependency("function", "public", "twice"),
    )


def _unknown(catalog: Catalog) -> Catalog:
    """The catalog as an IR document written before depends_on holds it."""
    return dataclasses.replace(
        catalog,
        tables=tuple(
            dataclasses.replace(
                t,
                columns=tuple(dataclasses.replace(c, depends_on=None) for c in t.columns),
                constraints=tuple(
                    dataclasses.replace(c, depends_on=None)
                    if isinstance(c, (m.CheckConstraint, m.ExclusionConstraint))
                    else c
                    for c in t.constraints
                ),
            )
            for t in catalog.tables
        ),
        indexes=tuple(dataclasses.replace(i, depends_on=None) for i in catalog.indexes),
        policies=tuple(dataclasses.replace(p, depends_on=None) for p in catalog.policies),
        triggers=tuple(dataclasses.replace(t, depends_on=None) for t in catalog.triggers),
        functions=tuple(dataclasses.replace(f, depends_on=None) for f in catalog.functions),
        domains=tuple(
            dataclasses.replace(
                d, depends_on=None, checks=tuple(dataclasses.replace(c, depends_on=None) for c in d.checks)
            )
            for d in catalog.domains
        ),
    )


def test_diff_without_dependencies_reads_the_text(
    url: str, live: Catalog, changed: tuple[str, Catalog]
) -> None:
    """Without depends_on (older IR documents) the diff falls back to the names the texts
    hold, and is sound still."""
    _, b = changed
    result = diff_catalogs(_unknown(live), _unknown(b))
    _applied(url, result.up_sql)
    assert _strip(introspect(url)) == _strip(b)
    _applied(url, result.down_sql)
    assert _strip(introspect(url)) == _strip(live)


UNMODELLED = """CREATE TABLE t (a int, b text);
CREATE FUNCTION f() RETURNS void LANGUAGE sql
    BEGIN ATOMIC
        UPDATE t SET (a, b) = (SELECT 1, 'x');
    END;
CREATE FUNCTION g() RETURNS void LANGUAGE sql
    BEGIN ATOMIC INSERT INTO t AS x (a) VALUES (1) ON CONFLICT DO NOTHING RETURNING x.*; END;
"""


def test_unmodelled_body_is_a_warning_at_its_line() -> None:
    """A body statement the analyser does not model leaves depends_on unknown (the diff
    reads the names its text holds), and says so at the statement's file:line; strict,
    it is an error there. What it models gives no warning."""
    from nself.errors import SourceError
    from nself.frontends.sql import compile_sql_with_warnings

    result = compile_sql_with_warnings(UNMODELLED, "m.sql")
    functions = {f.name: f for f in result.catalog.functions}
    assert functions["f"].depends_on is None
    assert functions["g"].depends_on == (
        m.Dependency("column", "public", "t", "a"),
        m.Dependency("column", "public", "t", "b"),
    )
    assert [(w.file, w.line) for w in result.warnings] == [("m.sql", 2)]
    assert "what the body of f uses is not analysed" in str(result.warnings[0])
    assert str(result.warnings[0]).startswith("m.sql:2: ")
    with pytest.raises(SourceError, match=r"m\.sql:2:\d+: cannot analyse the body of f"):
        compile_sql_with_warnings(UNMODELLED, "m.sql", strict=True)


EXTENSION_OPERATOR = """
CREATE SCHEMA ext;
CREATE EXTENSION intarray SCHEMA ext;
CREATE TABLE tagged (tags int[], EXCLUDE USING gist (tags WITH OPERATOR(ext.&&)));
SET search_path = public, ext;
CREATE TABLE marked (tags int[], EXCLUDE USING gist (tags WITH &&));
"""


def test_extension_operator_of_an_exclusion_constraint(new_database: NewDatabase) -> None:
    """An exclusion constraint comparing WITH an extension's operator (intarray's && over
    integer[], found on the path before pg_catalog's anyarray one by its exact types) uses
    it in both frontends, as pg_constraint.conexclop has it; a diff from an empty database
    creates it after the extension."""
    url = new_database("deps")
    _applied(url, EXTENSION_OPERATOR)
    live, compiled = introspect(url), compile_sql(EXTENSION_OPERATOR, strict=True)
    for table in ("tagged", "marked"):
        got = [
            (t.constraints, [c.depends_on for c in t.constraints])
            for t in (live.table("public", table), compiled.table("public", table))
            if t is not None
        ]
        assert len(got) == 2 and got[0] == got[1]
        con = got[0][0][0]
        assert isinstance(con, m.ExclusionConstraint) and con.elements[0].operator == "ext.&&"
        assert m.Dependency("operator", "ext", "&&") in (con.depends_on or ())
    with psycopg.connect(url) as conn:
        names = conn.execute(
            "SELECT DISTINCT o.oprnamespace::regnamespace::text, o.oprname FROM pg_constraint c,"
            " unnest(c.conexclop) x JOIN pg_operator o ON o.oid = x WHERE c.contype = 'x'"
        ).fetchall()
    assert names == [("ext", "&&")]
    result = diff_catalogs(compile_sql(""), live)
    url = new_database("deps")  # an empty database
    _applied(url, result.up_sql)
    assert _strip(introspect(url)) == _strip(live)


# LANGUAGE sql routines with a string body: PostgreSQL records nothing in pg_depend, but
# with check_function_bodies on it checks the names the body uses when the routine is
# created. Each routine is named so that it sorts before what it uses (a routine before a
# table, a view, or another routine whose name comes later).
STRING_BODIES = """
CREATE SCHEMA lib;
CREATE TYPE lib.grade AS ENUM ('a', 'b');
CREATE TABLE lib.acct (id int PRIMARY KEY, code text, grade lib.grade);
CREATE VIEW lib.acct_codes AS SELECT id, code FROM lib.acct;
CREATE FUNCTION lib.code_of(i int) RETURNS text LANGUAGE sql STABLE
    AS $$ SELECT code FROM lib.acct WHERE id = i $$;
CREATE FUNCTION lib.a_twice(i int) RETURNS text LANGUAGE sql STABLE
    AS $$ SELECT lib.code_of(i) || lib.code_of($1) || 'lib.acct' $$;
CREATE FUNCTION lib.a_from_view(i int) RETURNS text LANGUAGE sql STABLE
    AS $body$ SELECT v.code FROM lib.acct_codes v WHERE v.id = $1 $body$;
CREATE FUNCTION lib.a_count_b() RETURNS int LANGUAGE sql STABLE
    AS $$ SELECT count(*)::int FROM lib.acct WHERE grade = 'b'::lib.grade; SELECT 1 $$;
CREATE FUNCTION lib.a_pathed(i int) RETURNS text LANGUAGE sql STABLE SET search_path = lib, pg_catalog
    AS $$ SELECT code FROM acct WHERE id = i $$;
CREATE FUNCTION lib.a_touch(i int) RETURNS void LANGUAGE sql
    AS $$ UPDATE lib.acct SET grade = 'a' WHERE id = i; CREATE TEMP TABLE scratch (x int) $$;
CREATE FUNCTION lib.a_any(x anyelement) RETURNS text LANGUAGE sql AS $$ SELECT code FROM lib.nosuch $$;
CREATE FUNCTION lib.a_plpgsql() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN (SELECT 1 FROM lib.nosuch); END $$;
CREATE VIEW lib.a_coded AS SELECT id, lib.code_of(id) AS c FROM lib.acct;
"""


def _body_uses(catalog: Catalog) -> dict[str, set[Dep] | None]:
    return {
        f.name: None
        if f.body_depends_on is None
        else {tuple(x for x in (d.kind, d.schema, d.name, d.column) if x is not None) for d in f.body_depends_on}
        for f in catalog.functions
    }


def _checked(sql: str) -> str:
    """A script as nself writes it, run with check_function_bodies on: PostgreSQL then
    checks each string body's names when its routine is created."""
    return "SET check_function_bodies = true;\n" + sql.replace("SET check_function_bodies = false;", "")


@pytest.fixture(scope="module")
def string_bodies(module_database: NewDatabase) -> tuple[str, Catalog]:
    url = module_database("deps")
    _applied(url, STRING_BODIES)
    return url, introspect(url)


def test_string_bodies_uses_in_both_frontends(string_bodies: tuple[str, Catalog]) -> None:
    """Both frontends record what a LANGUAGE sql string body uses (body_depends_on), the
    same; the routine's own SET search_path resolves its names; a routine with a
    polymorphic argument is not checked (PostgreSQL only parses it: nothing); a utility
    statement uses nothing; PL/pgSQL bodies are left alone; a string literal is a decoy."""
    _, live = string_bodies
    got = _body_uses(live)
    assert got == _body_uses(compile_sql(STRING_BODIES, strict=True))
    acct = {("column", "lib", "acct", c) for c in ("id", "code")}
    assert got["code_of"] == acct
    assert got["a_pathed"] == acct
    assert got["a_twice"] == {("function", "lib", "code_of")}
    assert got["a_from_view"] == {("column", "lib", "acct_codes", c) for c in ("id", "code")}
    assert got["a_count_b"] == {("column", "lib", "acct", "grade"), ("type", "lib", "grade")}
    assert got["a_touch"] == {("column", "lib", "acct", c) for c in ("id", "grade")} | {("type", "lib", "grade")}
    assert got["a_any"] == set()
    assert got["a_plpgsql"] is None
    code_of = next(f for f in live.functions if f.name == "code_of")
    assert code_of.depends_on is None  # pg_depend's: nothing of the body


def test_string_bodies_created_in_an_order_postgresql_checks(
    new_database: NewDatabase, string_bodies: tuple[str, Catalog]
) -> None:
    """The schema script and a diff from an empty database create each routine after what
    its string body uses, so they apply with check_function_bodies on, from either
    frontend's catalog."""
    _, live = string_bodies
    compiled = compile_sql(STRING_BODIES, strict=True)
    from nself.backends.sql import render_script

    for catalog in (live, compiled):
        for script in (render_script(catalog), diff_catalogs(compile_sql(""), catalog).up_sql):
            url = new_database("deps")
            _applied(url, _checked(script))
            assert _body_uses(introspect(url)) == _body_uses(live)


RETYPED_BEFORE = """
CREATE SCHEMA lib;
CREATE TABLE lib.acct (id int PRIMARY KEY, code text);
CREATE FUNCTION lib.a_code(i int) RETURNS text LANGUAGE sql STABLE AS $$ SELECT code FROM lib.acct WHERE id = i $$;
CREATE FUNCTION lib.a_first() RETURNS int LANGUAGE sql STABLE AS $$ SELECT min(id) FROM lib.acct $$;
INSERT INTO lib.acct VALUES (1, '10'), (2, '20');
"""
RETYPED_AFTER = RETYPED_BEFORE.replace("code text", "code int").replace(
    "a_code(i int) RETURNS text", "a_code(i int) RETURNS int"
)


def test_diff_retyping_a_column_a_string_body_uses(new_database: NewDatabase) -> None:
    """A column retyped under a LANGUAGE sql string body that returns it, with the routine's
    result type changed to match: the routine is created again after the column change
    (before it, PostgreSQL refuses the body), up and down, with check_function_bodies on,
    and the rows stay. A routine that uses another column of the table stays."""
    url = new_database("deps")
    _applied(url, RETYPED_BEFORE)
    before = introspect(url)
    after = compile_sql(RETYPED_AFTER)
    result = diff_catalogs(before, after)
    assert "a_first" not in result.up_sql
    _applied(url, _checked(result.up_sql))
    assert _strip(introspect(url)) == _strip(after)
    _applied(url, _checked(result.down_sql))
    assert _strip(introspect(url)) == _strip(before)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT lib.a_code(2)").fetchone() == ("20",)


UNANALYSED_BODY = """CREATE TABLE t (a int);
SET check_function_bodies = false;
CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT a FROM nosuch $$;
CREATE FUNCTION g() RETURNS int LANGUAGE sql AS $$ SELECT a FROM t $$;
CREATE PROCEDURE p() LANGUAGE sql AS $$ SELECT 1 $$;
RESET check_function_bodies;
CREATE FUNCTION h() RETURNS void LANGUAGE sql AS $$ CALL p() $$;
"""


def test_unanalysed_string_body_is_a_warning_at_its_line(new_database: NewDatabase) -> None:
    """A string body whose names do not resolve (check_function_bodies was off), or whose
    statements the analysis does not model, leaves body_depends_on unknown and says so at
    the routine's file:line (strict: an error there for a body PostgreSQL checked).
    PostgreSQL accepts this schema."""
    from nself.errors import SourceError
    from nself.frontends.sql import compile_sql_with_warnings

    result = compile_sql_with_warnings(UNANALYSED_BODY, "m.sql")
    functions = {f.name: f for f in result.catalog.functions}
    assert functions["f"].body_depends_on is None and functions["h"].body_depends_on is None
    assert functions["g"].body_depends_on == (m.Dependency("column", "public", "t", "a"),)
    assert [(w.file, w.line) for w in result.warnings] == [("m.sql", 3), ("m.sql", 7)]
    assert all("what the body of" in str(w) for w in result.warnings)
    with pytest.raises(SourceError, match=r"m\.sql:7:\d+: cannot analyse the body of h"):
        compile_sql_with_warnings(UNANALYSED_BODY, "m.sql", strict=True)
    _applied(new_database("deps"), UNANALYSED_BODY)


# CREATE OPERATOR: Operator objects of the IR, used by a check, an expression index, a view,
# a column default and (through an operator class, which the IR does not model) an
# exclusion constraint. An unqualified commutator or negator not found on the path is made
# (a shell) in the first schema of the path, as PostgreSQL does: `public.~~~` here.
OPERATORS_BASE = """
CREATE SCHEMA ops;
CREATE FUNCTION ops.near(a int, b int) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT abs(a - b) < 10 $$;
CREATE FUNCTION ops.far(a int, b int) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT abs(a - b) >= 10 $$;
CREATE FUNCTION ops.halve(a int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT a / 2 $$;
CREATE OPERATOR ops.~~~ (LEFTARG = int, RIGHTARG = int, FUNCTION = ops.near, COMMUTATOR = ~~~,
    NEGATOR = !~~~, RESTRICT = eqsel, JOIN = eqjoinsel);
CREATE OPERATOR ops.!~~~ (LEFTARG = int, RIGHTARG = int, PROCEDURE = ops.far, COMMUTATOR = OPERATOR(ops.!~~~),
    NEGATOR = OPERATOR(ops.~~~));
SET search_path = ops, public;
CREATE OPERATOR @/ (RIGHTARG = int, FUNCTION = halve);
RESET search_path;
COMMENT ON OPERATOR ops.~~~ (int, int) IS 'within ten';
CREATE TABLE ops.reading (id int PRIMARY KEY, a int, b int,
    half int DEFAULT OPERATOR(ops.@/) 10,
    CONSTRAINT close CHECK (a OPERATOR(ops.~~~) b));
CREATE INDEX reading_near ON ops.reading ((a OPERATOR(ops.~~~) b));
CREATE VIEW ops.close_readings AS SELECT id FROM ops.reading WHERE a OPERATOR(ops.!~~~) b;
INSERT INTO ops.reading VALUES (1, 1, 2), (2, 5, 9);
"""
OPERATORS = OPERATORS_BASE + """
CREATE FUNCTION ops.same(a int, b int) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT a = b $$;
CREATE OPERATOR ops.=== (LEFTARG = int, RIGHTARG = int, FUNCTION = ops.same, COMMUTATOR = OPERATOR(ops.===), HASHES);
CREATE OPERATOR CLASS ops.int_same FOR TYPE int USING hash AS OPERATOR 1 ops.===, FUNCTION 1 hashint4(int);
ALTER TABLE ops.reading ADD CONSTRAINT reading_excl EXCLUDE USING hash (id ops.int_same WITH OPERATOR(ops.===));
"""


def _operator_uses(catalog: Catalog, schema: str = "ops") -> dict[str, set[Dep]]:
    table = catalog.table(schema, "reading")
    view = catalog.view(schema, "close_readings")
    assert table is not None and view is not None

    def ops(deps: tuple[m.Dependency, ...] | None) -> set[Dep]:
        return {(d.schema, d.name) for d in deps or () if d.kind == "operator"}

    out = {f"constraint {c.name} on table ops.reading": ops(getattr(c, "depends_on", None)) for c in table.constraints}
    out["default value for column half of table ops.reading"] = ops(table.column("half").depends_on)  # type: ignore[union-attr]
    out.update({f"index ops.{i.name}": ops(i.depends_on) for i in catalog.indexes})
    out["rule _RETURN on view ops.close_readings"] = ops(view.depends_on)
    return {k: v for k, v in out.items() if v}


def test_operators_in_both_frontends_are_postgresqls(new_database: NewDatabase) -> None:
    """User operators (pg_operator) read by both frontends are the same, and what uses
    them in an expression (a check, an expression index, a view, a default) or compares
    WITH one (an exclusion constraint) records it, as pg_depend (and conexclop) do."""
    url = new_database("deps")
    _applied(url, OPERATORS)
    live, compiled = introspect(url), compile_sql(OPERATORS, strict=True)
    assert live.operators == compiled.operators
    assert [o.comment for o in live.operators if o.comment] == ["within ten"]
    assert _operator_uses(live) == _operator_uses(compiled)
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT n.nspname, o.oprname, format_type(o.oprleft, NULL), format_type(o.oprright, NULL),"
            " o.oprcode::regproc::text FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace"
            " WHERE n.nspname = 'ops' AND o.oprcode <> 0 ORDER BY 1, 2"
        ).fetchall()
        depend = conn.execute(
            "SELECT pg_describe_object(d.classid, d.objid, d.objsubid), n.nspname, o.oprname"
            " FROM pg_depend d JOIN pg_operator o ON d.refclassid = 'pg_operator'::regclass"
            " AND o.oid = d.refobjid JOIN pg_namespace n ON n.oid = o.oprnamespace"
            " WHERE d.deptype = 'n' AND d.classid <> 'pg_operator'::regclass"
            " AND d.classid <> 'pg_amop'::regclass"
        ).fetchall()
    assert [(o.schema, o.name, o.left_type, o.right_type, o.function) for o in live.operators] == [
        (s, n, None if left == "-" else left, right, f) for s, n, left, right, f in rows
    ]
    want: dict[str, set[Dep]] = {}
    for owner, schema, op in depend:
        want.setdefault(owner, set()).add((schema, op))
    want["constraint reading_excl on table ops.reading"] = {("ops", "===")}  # conexclop's
    assert _operator_uses(live) == want
    # renames: PostgreSQL holds oids, both frontends follow
    renamed = "ALTER FUNCTION ops.near(int, int) RENAME TO nearby; ALTER SCHEMA ops RENAME TO opx;"
    _applied(url, renamed)
    live, compiled = introspect(url), compile_sql(OPERATORS + renamed, strict=True)
    assert live.operators == compiled.operators
    assert "opx.nearby" in {o.function for o in live.operators}
    assert _operator_uses(live, "opx") == _operator_uses(compiled, "opx")


OPERATORS_CHANGED = OPERATORS_BASE.replace(
    "FUNCTION = ops.near, COMMUTATOR", "FUNCTION = ops.nearer, COMMUTATOR"
).replace(
    "CREATE FUNCTION ops.near(a int, b int) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT abs(a - b) < 10 $$;",
    "CREATE FUNCTION ops.nearer(a int, b int) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT abs(a - b) < 5 $$;",
)
OPERATORS_GONE = """
CREATE SCHEMA ops;
CREATE TABLE ops.reading (id int PRIMARY KEY, a int, b int, half int);
INSERT INTO ops.reading VALUES (1, 1, 2), (2, 5, 9);
"""


def test_diff_creates_changes_and_drops_operators(new_database: NewDatabase) -> None:
    """A diff creates operators after their functions and types and before what uses them,
    changes one's function (dropped and created again, with the check, index, view and
    default that use it), and drops them after what uses them: each applied up and down on
    PostgreSQL (check_function_bodies on), the rows kept."""
    steps = [compile_sql(""), compile_sql(OPERATORS_BASE), compile_sql(OPERATORS_CHANGED), compile_sql(OPERATORS_GONE)]
    url = new_database("deps")
    for before, after in itertools.pairwise(steps):
        result = diff_catalogs(before, after)
        _applied(url, _checked(result.up_sql))
        assert _strip(introspect(url)) == _strip(after)
        _applied(url, _checked(result.down_sql))
        assert _strip(introspect(url)) == _strip(before)
        _applied(url, _checked(result.up_sql))
        if after.table("ops", "reading") is not None and before.table("ops", "reading") is None:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("INSERT INTO ops.reading (id, a, b) VALUES (1, 1, 2), (2, 5, 9)")
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM ops.reading").fetchone() == (2,)
