"""The canonical schema model: one frozen dataclass per object kind.

Nodes hold names, never references; a `Catalog` looks objects up. Every field is an
immutable value (str, int, bool, None, tuple or another node), so equality, hashing and
JSON serialisation all follow from the fields alone (see `nself.ir.serialize`).

Canonical text forms, shared by every frontend:
- data types are what `format_type()` prints with `search_path = pg_catalog`: built-in
  types unqualified (`character varying(255)`, `timestamp with time zone`, `integer[]`),
  user types schema-qualified (`public.mood`, `public.mood[]`); a table or composite
  column declared with several array dimensions repeats the brackets (`integer[][]`, from
  pg_attribute.attndims; copies such as partitions, LIKE and inherited columns have none);
- expressions (defaults, checks, predicates, generated columns, policies, view bodies,
  partition bounds) are what PostgreSQL's deparsers print (`pg_get_expr`,
  `pg_get_constraintdef`, `pg_get_viewdef`, ...) with `search_path = pg_catalog` and
  `TimeZone = UTC`;
- identifiers are stored unquoted, exactly as the catalog spells them.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from dataclasses import field
from typing import Literal

from nself.ir.record import record

IR_VERSION = 1

ForeignKeyAction = Literal["NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT"]
ReplicaIdentity = Literal["DEFAULT", "FULL", "NOTHING", "INDEX"]
ForeignKeyMatch = Literal["SIMPLE", "FULL", "PARTIAL"]


# --------------------------------------------------------------------------- namespaces


@record
class Schema:
    name: str
    comment: str | None = None


@record
class Extension:
    """An extension. `version` None means unknown: an offline frontend knows the version
    and comment only of the extensions in its catalog snapshot (nself/data), so for any
    other extension both are unknown, and the diff never reads that as a change.
    `tables`: the tables the extension owns (its configuration tables, pg_depend deptype
    'e'), qualified as PostgreSQL writes them; a live database reports them, offline they
    are unknown (empty). Dropping the extension drops them and their rows."""

    name: str
    schema: str
    version: str | None = None
    comment: str | None = None
    tables: tuple[str, ...] = ()

    @property
    def known(self) -> bool:
        """Whether the version and comment are known (see the class docstring)."""
        return self.version is not None


@record
class Collation:
    """A collation made by CREATE COLLATION (pg_collation in a user schema).

    Canonical form: provider `libc` holds `lc_collate` and `lc_ctype` (both always set,
    `locale` None); providers `icu` and `builtin` hold `locale` (`lc_collate`/`lc_ctype`
    None). The collation's version is left out: it differs between machines."""

    schema: str
    name: str
    provider: Literal["libc", "icu", "builtin"] = "libc"
    locale: str | None = None
    lc_collate: str | None = None
    lc_ctype: str | None = None
    deterministic: bool = True
    comment: str | None = None


# --------------------------------------------------------------------------- types


@record
class Enum:
    schema: str
    name: str
    labels: tuple[str, ...]
    comment: str | None = None


@record
class CheckConstraint:
    """A CHECK on a table or a domain; `expression` is pg_get_expr(conbin) with its one
    pair of outer parentheses (e.g. `(price > (0)::numeric)`); NOT VALID and NO INHERIT
    are the fields below, not part of the text."""

    name: str
    expression: str
    no_inherit: bool = False
    validated: bool = True
    comment: str | None = None
    # What its expressions use (sorted; see Dependency), from pg_depend (live) or the analysed
    # expressions (sql frontend); None when not known (the diff then reads the text). Not
    # compared: it follows from the expressions.
    depends_on: tuple[Dependency, ...] | None = field(default=None, compare=False)


@record
class Domain:
    schema: str
    name: str
    data_type: str
    not_null: bool = False
    default: str | None = None
    collation: str | None = None
    checks: tuple[CheckConstraint, ...] = ()
    comment: str | None = None
    # What its base type and default use (sorted; see Dependency: pg_depend of the domain's
    # pg_type row), from the catalog (live) or the analysed default (sql frontend); its
    # checks hold their own. None when not known (the diff then reads the text). Not
    # compared: it follows from the base type and the default.
    depends_on: tuple[Dependency, ...] | None = field(default=None, compare=False)


@record
class CompositeAttribute:
    name: str
    data_type: str
    collation: str | None = None


@record
class CompositeType:
    schema: str
    name: str
    attributes: tuple[CompositeAttribute, ...]
    comment: str | None = None


@record
class RangeType:
    schema: str
    name: str
    subtype: str
    comment: str | None = None


@record
class Sequence:
    schema: str
    name: str
    data_type: str = "bigint"
    start: int = 1
    increment: int = 1
    min_value: int = 1
    max_value: int = 9223372036854775807
    cache: int = 1
    cycle: bool = False
    # (table, column) of an OWNED BY; the table is in the sequence's schema.
    owned_by: tuple[str, str] | None = None
    comment: str | None = None


# --------------------------------------------------------------------------- tables


@record
class Identity:
    generation: Literal["ALWAYS", "BY DEFAULT"]
    start: int = 1
    increment: int = 1
    min_value: int = 1
    max_value: int = 9223372036854775807
    cache: int = 1
    cycle: bool = False


@record
class Column:
    name: str
    data_type: str
    not_null: bool = False
    default: str | None = None
    identity: Identity | None = None
    # STORED generated column: the expression as pg_get_expr prints it.
    generated: str | None = None
    collation: str | None = None
    comment: str | None = None
    # True when the column comes only from the parents of classic inheritance
    # (pg_attribute.attislocal = false): a child declaring a column of a parent's name
    # merges it and keeps it local (False). Always False on ordinary tables and on
    # partitions (whose columns all come from the parent: implied by `partition_of`).
    inherited: bool = False
    # What its expressions use (sorted; see Dependency), from pg_depend (live) or the analysed
    # expressions (sql frontend); None when not known (the diff then reads the text). Not
    # compared: it follows from the expressions.
    depends_on: tuple[Dependency, ...] | None = field(default=None, compare=False)


@record
class PrimaryKey:
    name: str
    columns: tuple[str, ...]
    include: tuple[str, ...] = ()
    deferrable: bool = False
    initially_deferred: bool = False
    comment: str | None = None


@record
class UniqueConstraint:
    name: str
    columns: tuple[str, ...]
    include: tuple[str, ...] = ()
    nulls_not_distinct: bool = False
    deferrable: bool = False
    initially_deferred: bool = False
    comment: str | None = None


@record
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]
    on_update: ForeignKeyAction = "NO ACTION"
    on_delete: ForeignKeyAction = "NO ACTION"
    match: ForeignKeyMatch = "SIMPLE"
    deferrable: bool = False
    initially_deferred: bool = False
    validated: bool = True
    comment: str | None = None


@record
class ExclusionElement:
    expression: str  # a column name (unquoted) or an expression in parentheses
    operator: str  # e.g. "=" or "&&"
    opclass: str | None = None
    descending: bool = False
    nulls_first: bool | None = None


@record
class ExclusionConstraint:
    name: str
    method: str
    elements: tuple[ExclusionElement, ...]
    include: tuple[str, ...] = ()
    predicate: str | None = None
    deferrable: bool = False
    initially_deferred: bool = False
    comment: str | None = None
    # What its columns, expressions and predicate use (sorted; see Dependency: pg_depend of
    # the constraint and of its index), as a CheckConstraint's; None when not known. Not
    # compared.
    depends_on: tuple[Dependency, ...] | None = field(default=None, compare=False)


Constraint = PrimaryKey | UniqueConstraint | ForeignKey | CheckConstraint | ExclusionConstraint


@record
class PartitionSpec:
    """PARTITION BY of a partitioned table, as pg_get_partkeydef prints it
    (`RANGE (payment_date)`)."""

    strategy: Literal["RANGE", "LIST", "HASH"]
    key: str
    # What the key uses, as pg_depend records it for the partitioned table: the functions and
    # types of its expressions (the table's own rows, deptype 'n') and the table's columns
    # in the key (plain or inside an expression: pg_depend records each column as
    # internally dependent on the table). None when not known (the diff then reads the
    # key's text). Not compared: it follows from the key.
    depends_on: tuple[Dependency, ...] | None = field(default=None, compare=False)


@record
class PartitionOf:
    """This table is a partition of `parent` (in schema `parent_schema`), with `bound`
    as pg_get_expr(relpartbound) prints it (`FOR VALUES FROM (...) TO (...)`, `DEFAULT`)."""

    parent_schema: str
    parent: str
    bound: str


@record
class Table:
    schema: str
    name: str
    columns: tuple[Column, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    partition_by: PartitionSpec | None = None
    partition_of: PartitionOf | None = None
    # Parents of classic inheritance, as (schema, table), in inheritance order.
    inherits: tuple[tuple[str, str], ...] = ()
    unlogged: bool = False
    rls_enabled: bool = False
    rls_forced: bool = False
    # Storage parameters (`WITH (fillfactor=70)`), as "key=value" in catalog order.
    options: tuple[str, ...] = ()
    comment: str | None = None
    # What logical replication sends of an updated or deleted row (pg_class.relreplident):
    # the primary key (DEFAULT), the whole row (FULL), nothing, or the columns of the
    # unique index `replica_identity_index` (INDEX).
    replica_identity: ReplicaIdentity = "DEFAULT"
    replica_identity_index: str | None = None

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    @property
    def primary_key(self) -> PrimaryKey | None:
        return next((c for c in self.constraints if isinstance(c, PrimaryKey)), None)

    @property
    def foreign_keys(self) -> tuple[ForeignKey, ...]:
        return tuple(c for c in self.constraints if isinstance(c, ForeignKey))


# --------------------------------------------------------------------------- indexes


@record
class IndexKey:
    """One key of an index: a plain column (`column`) or an expression (`expression`,
    as pg_get_indexdef(oid, k, false) prints it, without the surrounding parentheses:
    `lower((name)::text)`). Collation and operator class only when not the default."""

    column: str | None = None
    expression: str | None = None
    collation: str | None = None
    opclass: str | None = None
    descending: bool = False
    nulls_first: bool | None = None  # None: the default for the direction


@record
class Index:
    """An index that does not back a constraint (those live on the constraint)."""

    schema: str
    name: str
    table: str  # a table or materialized view in `schema`
    keys: tuple[IndexKey, ...]
    unique: bool = False
    method: str = "btree"
    include: tuple[str, ...] = ()
    predicate: str | None = None
    nulls_not_distinct: bool = False
    options: tuple[str, ...] = ()
    comment: str | None = None
    # What its expressions use (sorted; see Dependency), from pg_depend (live) or the analysed
    # expressions (sql frontend); None when not known (the diff then reads the text). Not
    # compared: it follows from the expressions.
    depends_on: tuple[Dependency, ...] | None = field(default=None, compare=False)


# --------------------------------------------------------------------------- views


@record
class ViewColumn:
    name: str
    data_type: str
    # True only when PostgreSQL could know it (a column taken straight from a NOT NULL
    # table column); computed expressions are nullable.
    not_null: bool = False
    comment: str | None = None
    # Its collation when not its type's (attcollation as `regcollation` prints it with
    # search_path = pg_catalog: `public.de`, `"C"`); not compared (it follows from the query).
    collation: str | None = field(default=None, compare=False)


@record(order=True)
class Dependency:
    """One object that another object's expressions or query use, as PostgreSQL records it
    in pg_depend (for a view's rule, a column default or generation expression, a CHECK
    constraint, an index's expressions and predicate, a policy, a trigger, a BEGIN ATOMIC
    body): a relation (table, view, sequence: `column` None) when none of its columns is
    listed, a column of one, a function (`name` without arguments: any overload of it), or
    a type (of a constant or a cast's result; an array type by its element type), or an
    operator (`name` its symbol, any overload of it: those an exclusion constraint's
    elements compare WITH, an aggregate's SORTOP), or a collation (kind `collation`: one made
    by CREATE COLLATION, as pg_depend records it: a COLLATE clause, the collation of a
    binary-coercible cast's result (`word::varchar`, a domain value used as its base type),
    of a parameter of a collated domain type, of an index key, a partition key or a view
    column, a domain's own). Objects of pg_catalog are not listed, nor the owning table
    itself (its columns are)."""

    kind: Literal["relation", "column", "function", "type", "operator", "collation"]
    schema: str
    name: str
    column: str | None = None


# The name the first users (views) had; the same record.
ViewDependency = Dependency


@record
class View:
    schema: str
    name: str
    definition: str  # pg_get_viewdef(oid, true)
    columns: tuple[ViewColumn, ...] = ()
    materialized: bool = False
    # View options as "key=value" (check_option=local, security_barrier=true, ...).
    options: tuple[str, ...] = ()
    comment: str | None = None
    # What the query uses (sorted), from the catalog (live) or the analysed query (sql
    # frontend); None when the frontend does not know (the diff then reads the definition).
    depends_on: tuple[Dependency, ...] | None = None


# --------------------------------------------------------------------------- routines


@record
class FunctionArgument:
    name: str | None
    data_type: str
    mode: Literal["IN", "OUT", "INOUT", "VARIADIC", "TABLE"] = "IN"
    default: str | None = None


@record
class Function:
    schema: str
    name: str
    arguments: tuple[FunctionArgument, ...] = ()
    kind: Literal["function", "procedure", "aggregate", "window"] = "function"
    returns: str | None = None  # pg_get_function_result; None for procedures
    language: str = "sql"
    body: str = ""  # prosrc, or pg_get_function_sqlbody for BEGIN ATOMIC bodies
    volatility: Literal["IMMUTABLE", "STABLE", "VOLATILE"] = "VOLATILE"
    strict: bool = False
    security_definer: bool = False
    leakproof: bool = False
    parallel: Literal["SAFE", "RESTRICTED", "UNSAFE"] = "UNSAFE"
    cost: float | None = None
    rows: float | None = None
    # SET clauses ("search_path=public") in catalog order.
    config: tuple[str, ...] = ()
    comment: str | None = None
    # What its BEGIN ATOMIC body (and signature) uses (sorted; see Dependency), from pg_depend (live) or the analysed
    # expressions (sql frontend); for an aggregate, what pg_depend records for it (SFUNC,
    # FINALFUNC, COMBINEFUNC, SERIALFUNC, DESERIALFUNC, MSFUNC, MINVFUNC, MFINALFUNC, SORTOP,
    # the user types of STYPE, MSTYPE and its signature). None when not known (the diff then
    # reads the text: an aggregate's option list). Not compared: it follows from the text.
    depends_on: tuple[Dependency, ...] | None = field(default=None, compare=False)
    # What its argument defaults use, with the user types of its signature (pg_depend records
    # both on the routine and does not tell them apart), for a routine of any language whose
    # body is not SQL-standard (such a body's depends_on holds its defaults' uses) and that
    # is not an aggregate; None when not known (the diff then reads the defaults' text).
    defaults_depends_on: tuple[Dependency, ...] | None = field(default=None, compare=False)
    # What a LANGUAGE sql body written as a string (AS $$ ... $$) uses (sorted; see
    # Dependency), as both frontends analyse it: PostgreSQL records none of it in pg_depend,
    # but with check_function_bodies on it checks these names when the routine is created,
    # so they must exist first. () when PostgreSQL checks nothing (a polymorphic argument);
    # None when not analysed (another language, a body the analysis does not model: the
    # diff then reads the text). Not compared: it follows from the body.
    body_depends_on: tuple[Dependency, ...] | None = field(default=None, compare=False)

    @property
    def identity_arguments(self) -> str:
        """The argument types that identify the routine, as pg_get_function_identity_arguments
        would list them without names: `integer, text`."""
        return ", ".join(a.data_type for a in self.arguments if a.mode in ("IN", "INOUT", "VARIADIC"))

    @property
    def signature(self) -> str:
        return f"{self.schema}.{self.name}({self.identity_arguments})"


# --------------------------------------------------------------------------- operators


@record
class Operator:
    """An operator made by CREATE OPERATOR (pg_operator in a user schema, not an extension's).
    `left_type` None for a prefix operator; types as format_type prints them (user types
    qualified). `function`, `restrict` and `join` are regproc texts with
    search_path = pg_catalog (`app.same_int`, `eqsel`); `commutator` and `negator` name an
    operator as `OPERATOR(schema.name)` (pg_catalog's too), its argument types being this
    one's (swapped for a commutator)."""

    schema: str
    name: str
    left_type: str | None
    right_type: str
    function: str
    commutator: str | None = None
    negator: str | None = None
    restrict: str | None = None
    join: str | None = None
    hashes: bool = False
    merges: bool = False
    comment: str | None = None

    @property
    def signature(self) -> str:
        """`app.===(integer, integer)` (`NONE` for a prefix operator's left type), as DROP
        OPERATOR and COMMENT ON OPERATOR name it."""
        return f"{self.schema}.{self.name}({self.left_type or 'NONE'}, {self.right_type})"


# --------------------------------------------------------------------------- table-scoped


@record
class Trigger:
    schema: str
    table: str
    name: str
    timing: Literal["BEFORE", "AFTER", "INSTEAD OF"]
    events: tuple[str, ...]  # INSERT, UPDATE, DELETE, TRUNCATE in that order
    function_schema: str
    function: str
    for_each_row: bool = True
    arguments: tuple[str, ...] = ()
    update_columns: tuple[str, ...] = ()  # UPDATE OF
    when: str | None = None
    constraint: bool = False
    deferrable: bool = False
    initially_deferred: bool = False
    # O origin/local (default), D disabled, R replica, A always
    enabled: Literal["O", "D", "R", "A"] = "O"
    old_table: str | None = None  # REFERENCING OLD TABLE AS
    new_table: str | None = None
    comment: str | None = None
    # What its expressions use (sorted; see Dependency), from pg_depend (live) or the analysed
    # expressions (sql frontend); None when not known (the diff then reads the text). Not
    # compared: it follows from the expressions.
    depends_on: tuple[Dependency, ...] | None = field(default=None, compare=False)


@record
class Policy:
    schema: str
    table: str
    name: str
    permissive: bool = True
    command: Literal["ALL", "SELECT", "INSERT", "UPDATE", "DELETE"] = "ALL"
    roles: tuple[str, ...] = ("public",)
    using: str | None = None
    with_check: str | None = None
    comment: str | None = None
    # What its expressions use (sorted; see Dependency), from pg_depend (live) or the analysed
    # expressions (sql frontend); None when not known (the diff then reads the text). Not
    # compared: it follows from the expressions.
    depends_on: tuple[Dependency, ...] | None = field(default=None, compare=False)


@record
class Privilege:
    """One granted privilege. Owners' implicit privileges are not recorded.

    `object_kind` is TABLE (also views and sequences' tables-like ACLs), SEQUENCE, SCHEMA,
    FUNCTION or TYPE; `object_name` is the unqualified name (a function's signature
    `name(integer, text)`); `column` is set for column privileges."""

    object_kind: Literal["TABLE", "SEQUENCE", "SCHEMA", "FUNCTION", "TYPE"]
    schema: str
    object_name: str
    grantee: str  # role name, or "PUBLIC"
    privilege: str  # SELECT, INSERT, USAGE, EXECUTE, ...
    column: str | None = None
    grantable: bool = False


# --------------------------------------------------------------------------- publications


@record
class PublicationTable:
    """A table a publication publishes (pg_publication_rel): with the columns it sends
    (empty: all of them) and its row filter (pg_get_expr of prqual), if any."""

    schema: str
    table: str
    columns: tuple[str, ...] = ()
    where: str | None = None
    # The columns its row filter and its column list use, as pg_depend records them on the
    # pg_publication_rel row (a row filter may use no user-defined function, operator or
    # type); None when not known (the diff then reads the filter's text). Not compared.
    depends_on: tuple[Dependency, ...] | None = field(default=None, compare=False)


@record
class Publication:
    """A logical replication publication (CREATE PUBLICATION): every table, or the tables
    listed (sorted by schema and name) and those of the schemas listed; which changes it
    publishes, in PostgreSQL's order (insert, update, delete, truncate)."""

    name: str
    all_tables: bool = False
    tables: tuple[PublicationTable, ...] = ()
    schemas: tuple[str, ...] = ()
    publish: tuple[str, ...] = ("insert", "update", "delete", "truncate")
    via_partition_root: bool = False
    comment: str | None = None


# --------------------------------------------------------------------------- catalog


@record(weakref_slot=True)
class Catalog:
    """A whole database schema. Collections are tuples sorted by identity (see
    `nself.ir.identity`); build one with `CatalogBuilder` or `Catalog.normalised(...)`."""

    schemas: tuple[Schema, ...] = ()
    extensions: tuple[Extension, ...] = ()
    collations: tuple[Collation, ...] = ()
    enums: tuple[Enum, ...] = ()
    domains: tuple[Domain, ...] = ()
    composite_types: tuple[CompositeType, ...] = ()
    range_types: tuple[RangeType, ...] = ()
    sequences: tuple[Sequence, ...] = ()
    tables: tuple[Table, ...] = ()
    indexes: tuple[Index, ...] = ()
    views: tuple[View, ...] = ()
    functions: tuple[Function, ...] = ()
    operators: tuple[Operator, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    policies: tuple[Policy, ...] = ()
    privileges: tuple[Privilege, ...] = ()
    publications: tuple[Publication, ...] = ()
    ir_version: int = field(default=IR_VERSION)

    def table(self, schema: str, name: str) -> Table | None:
        return next((t for t in self.tables if t.schema == schema and t.name == name), None)

    def schema_names(self) -> list[str]:
        """Every schema of the catalog, sorted: the declared ones and any that a type,
        sequence, table, view or function lives in."""
        names = {s.name for s in self.schemas}
        for collection in (
            self.enums,
            self.domains,
            self.composite_types,
            self.range_types,
            self.sequences,
            self.tables,
            self.views,
            self.functions,
            self.operators,
        ):
            names.update(node.schema for node in collection)
        return sorted(names)

    def view(self, schema: str, name: str) -> View | None:
        return next((v for v in self.views if v.schema == schema and v.name == name), None)

    def enum(self, schema: str, name: str) -> Enum | None:
        return next((e for e in self.enums if e.schema == schema and e.name == name), None)

    def indexes_of(self, schema: str, table: str) -> tuple[Index, ...]:
        return tuple(self.table_objects().indexes.get((schema, table), ()))

    def triggers_of(self, schema: str, table: str) -> tuple[Trigger, ...]:
        return tuple(self.table_objects().triggers.get((schema, table), ()))

    def table_objects(self) -> TableObjects:
        """Indexes, triggers and policies by table: grouped on first use and kept for as
        long as this catalog lives, so a pass that asks for each table's is linear."""
        found = _TABLE_OBJECTS.get(id(self))
        if found is None:
            found = _TABLE_OBJECTS[id(self)] = TableObjects(self)
            weakref.finalize(self, _TABLE_OBJECTS.pop, id(self), None)
        return found

    def policies_of(self, schema: str, table: str) -> tuple[Policy, ...]:
        return tuple(p for p in self.policies if p.schema == schema and p.table == table)


# Every top-level collection of a Catalog, with the node class it holds. One table that
# the builder, the serialiser and the diff all read, so a new kind is added in one place.
COLLECTIONS: dict[str, type] = {
    "schemas": Schema,
    "extensions": Extension,
    "collations": Collation,
    "enums": Enum,
    "domains": Domain,
    "composite_types": CompositeType,
    "range_types": RangeType,
    "sequences": Sequence,
    "tables": Table,
    "indexes": Index,
    "views": View,
    "functions": Function,
    "operators": Operator,
    "triggers": Trigger,
    "policies": Policy,
    "privileges": Privilege,
    "publications": Publication,
}


class TableObjects:
    """The indexes, triggers and policies of a catalog grouped by (schema, table), in
    catalog order (Catalog.table_objects). A table without any gets an empty list."""

    def __init__(self, catalog: Catalog) -> None:
        self.indexes: defaultdict[tuple[str, str], list[Index]] = defaultdict(list)
        self.triggers: defaultdict[tuple[str, str], list[Trigger]] = defaultdict(list)
        self.policies: defaultdict[tuple[str, str], list[Policy]] = defaultdict(list)
        for i in catalog.indexes:
            self.indexes[(i.schema, i.table)].append(i)
        for t in catalog.triggers:
            self.triggers[(t.schema, t.table)].append(t)
        for p in catalog.policies:
            self.policies[(p.schema, p.table)].append(p)


# Catalog.table_objects of each live catalog, by id (a catalog is frozen, so its grouping
# never goes stale; the entry goes with the catalog)
_TABLE_OBJECTS: dict[int, TableObjects] = {}
