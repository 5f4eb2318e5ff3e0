"""The interpreter's state: a CatalogBuilder plus what PostgreSQL knows that the IR does not
hold (search_path, names taken by constraint indexes and identity sequences, the source
trees of expressions so they can be re-derived after a rename or a type change).

Handlers for statement nodes register here with `@handles(NodeClass)`; sql.py walks the
statements of each file and dispatches on the node's class."""

from __future__ import annotations

import dataclasses
import operator
import pickle
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pglast import ast

from nself.errors import SourceError, position_of
from nself.frontends import sql_naming
from nself.frontends.sql_expr.collations import ColumnTypes
from nself.ir import CatalogBuilder
from nself.ir.model import (
    Catalog,
    CheckConstraint,
    Collation,
    CompositeType,
    Domain,
    Enum,
    ExclusionConstraint,
    Function,
    Index,
    PrimaryKey,
    Privilege,
    Publication,
    RangeType,
    Schema,
    Sequence,
    Table,
    UniqueConstraint,
    View,
)
from nself.ir.names import DEFAULT_SEARCH_PATH, qualified_name, quote_ident, quote_literal
from nself.ir.types import collapse_array_dims
from nself.pg15 import Positions
from nself.platforms import Platform

NodeT = TypeVar("NodeT", bound=ast.Node)
Handler = Callable[["State", Any], None]
HANDLERS: dict[type[ast.Node], Handler] = {}


def handles(
    *node_classes: type[NodeT],
) -> Callable[[Callable[[State, NodeT], None]], Callable[[State, NodeT], None]]:
    """Register a handler for one or more pglast statement node classes."""

    def register(fn: Callable[[State, NodeT], None]) -> Callable[[State, NodeT], None]:
        for cls in node_classes:
            HANDLERS[cls] = fn
        return fn

    return register


# Statements that never change a schema: skipped with a warning saying what they are.
DATA_STATEMENTS: dict[type[ast.Node], str] = {
    ast.InsertStmt: "INSERT",
    ast.UpdateStmt: "UPDATE",
    ast.DeleteStmt: "DELETE",
    ast.MergeStmt: "MERGE",
    ast.CopyStmt: "COPY",
    ast.TruncateStmt: "TRUNCATE",
    ast.VacuumStmt: "VACUUM/ANALYZE",
    ast.CallStmt: "CALL",
}


def statement_words(stmt: object) -> str:
    """`CreateRoleStmt` -> `CREATE ROLE`: a statement's kind in SQL words for messages."""
    name = type(stmt).__name__.removesuffix("Stmt")
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).upper()


def interpret_statement(state: State, stmt: ast.Node | None) -> None:
    """Apply one parsed statement to `state` through its handler; what no handler models is a
    warning naming the statement, and the interpreter goes on."""
    handler = HANDLERS.get(type(stmt)) if stmt is not None else None
    if handler is None:
        what = DATA_STATEMENTS.get(type(stmt)) if stmt is not None else None
        if what is not None:
            state.warn(f"{what} skipped: it does not change the schema", data=True)
        else:
            state.warn(f"{statement_words(stmt)} is not modelled; statement skipped")
            if isinstance(stmt, ast.CallStmt):
                state.skipped_code()
        return
    try:
        handler(state, stmt)
    except Skip as skip:
        state.warn(f"{skip}; statement skipped")
    except SourceError as exc:
        if not state.keep_going:
            raise
        state.warn(f"ERROR {exc.message}; statement skipped")
    except (AssertionError, KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:
        raise state.error(f"cannot interpret statement: {type(exc).__name__}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class CompileWarning:
    """A statement the frontend did not model (DML, DO blocks, ...), or an expression it
    did not canonicalise. `data`: a statement that only changes rows (INSERT, ...), which a
    migration is expected to hold (commands do not print these)."""

    file: str
    line: int
    message: str
    data: bool = False

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class Skip(Exception):
    """Raised by a handler to skip the statement with a warning."""


# What PUBLIC may do by default: the IR lists only privileges beyond the defaults.
PUBLIC_DEFAULTS = {("FUNCTION", "EXECUTE"), ("TYPE", "USAGE")}
Key = tuple[str, ...]


@dataclass
class ExprSource:
    """Where an expression in the IR came from, so it can be derived again.

    Pickled with its tree as a pickle of its own, unpickled when first read: a State
    resumed from the compile cache (sql_cache) holds one per column default, CHECK and
    index of every table (some 80,000 trees at 10,000 tables), and a replayed file reads
    only the few of the tables it alters."""

    kind: str  # default, check, generated, index, predicate
    node: Any
    search_path: tuple[str, ...]
    target_type: str | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        if "node" in self.__dict__:  # made here, read, or set since unpickled
            node = pickle.dumps(self.node, protocol=pickle.HIGHEST_PROTOCOL)
        else:  # neither read nor set since unpickled: the same bytes
            node = self.__dict__["_pickled"]
        return _lazy_expr_source, (self.kind, node, self.search_path, self.target_type)

    def __getattr__(self, name: str) -> Any:
        # only for `node` of an unpickled source not yet read (set in its __dict__ then)
        if name != "node" or "_pickled" not in self.__dict__:
            raise AttributeError(name)
        from nself.pg15 import unvalidated_nodes  # the tree was valid when pickled

        with unvalidated_nodes():
            node = self.__dict__["node"] = pickle.loads(self.__dict__.pop("_pickled"))
        return node


def _lazy_expr_source(kind: str, node: bytes, search_path: tuple[str, ...], target_type: str | None) -> ExprSource:
    source = ExprSource.__new__(ExprSource)
    source.__dict__.update(kind=kind, _pickled=node, search_path=search_path, target_type=target_type)
    return source


@dataclass(frozen=True, slots=True)
class BodySource:
    """Where a LANGUAGE sql routine with a string body was created (for the warning naming
    it when its body is analysed: sql_bodies), and the search_path its body is analysed
    with when the routine sets none: the session's when check_function_bodies was on (the
    path PostgreSQL checked it with), else the database's default (the path it runs with)."""

    file: str
    line: int
    search_path: tuple[str, ...]
    checked: bool = True  # check_function_bodies was on: PostgreSQL checked the body then
    quiet: bool = False  # a platform's base: its warnings are not the project's


@dataclass
class State:
    builder: CatalogBuilder = field(default_factory=CatalogBuilder)
    search_path: tuple[str, ...] = DEFAULT_SEARCH_PATH
    # what each session (each migration file) starts with: the database's setting
    default_search_path: tuple[str, ...] = DEFAULT_SEARCH_PATH
    warnings: list[CompileWarning] = field(default_factory=list)
    # position of the statement being interpreted
    file: str = "<input>"
    text: str = ""
    line_offset: int = 0
    stmt_location: int = 0  # in the text as parsed, like every node's location
    pg15: Positions = field(default_factory=Positions)  # the parsed text's offsets in `text`
    # names PostgreSQL keeps outside the IR
    constraint_names: Counter[tuple[str, str]] = field(default_factory=Counter)
    constraint_indexes: dict[tuple[str, str], str] = field(default_factory=dict)
    identity_sequences: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    # (schema, table, column) -> default's source; (schema, table, constraint) -> check's
    column_defaults: dict[Key, ExprSource] = field(default_factory=dict)
    # (schema, table) -> its inheritance children and partitions
    children: dict[tuple[str, str], set[tuple[str, str]]] = field(default_factory=dict)
    # relation names taken by objects the IR leaves out (indexes cloned onto partitions)
    hidden_relations: dict[tuple[str, str], str] = field(default_factory=dict)
    # temporary tables and views (not part of the schema, but later statements name them)
    temporary: set[str] = field(default_factory=set)
    # ALTER DEFAULT PRIVILEGES: (schema or "", object kind, grantee, privilege) -> grantable
    default_acl: dict[tuple[str, str, str, str], bool] = field(default_factory=dict)
    # functions kept while interpreting but left out of the IR (ordered-set aggregates)
    hidden_functions: set[tuple[str, str, str]] = field(default_factory=set)
    # the ALTER TABLE being interpreted names its table with ONLY (no recursion to children)
    alter_only: bool = False
    # the role that runs the migrations: it owns what they create, and its own privileges
    # are not listed
    owner: str = "postgres"
    # report errors in statements as warnings and go on (for diagnosing a whole history)
    keep_going: bool = False
    # (file:line, its first characters) of each statement not run that may create objects
    # (a DO block, a call of a routine): named when a later statement uses a relation nself
    # never saw made
    not_run: list[tuple[str, str]] = field(default_factory=list)
    # a construct the expression canonicaliser does not model is an error, not a warning
    # (with pglast's text of it in the IR)
    strict: bool = False
    # (schema, index) -> the CREATE INDEX it came from
    index_sources: dict[tuple[str, str], ExprSource] = field(default_factory=dict)
    # (schema, view) -> its query, edited by renames and derived again
    view_sources: dict[Key, ExprSource] = field(default_factory=dict)
    # (schema, view) -> relations the view reads, for DROP ... CASCADE
    view_dependencies: dict[Key, frozenset[Key]] = field(default_factory=dict)
    # schema -> the names of the operators CREATE OPERATOR made there (the IR's Operators),
    # for an exclusion constraint's WITH to name the operator it resolves to
    operators: dict[str, set[str]] = field(default_factory=dict)
    # (schema, name, identity arguments) of each LANGUAGE sql routine with a string body ->
    # where it was created (its body is analysed once the files are interpreted: sql_bodies)
    body_sources: dict[tuple[str, str, str], BodySource] = field(default_factory=dict)
    # the session's check_function_bodies (SET check_function_bodies = false, as pg_dump does)
    check_function_bodies: bool = True
    # while set (sql_canon.collecting), what the expressions canonicalised use
    collecting: Any = None
    # the platform whose base the files run on (its stand-ins for extensions the server lacks)
    platform: Platform | None = None

    def __post_init__(self) -> None:
        if self.builder.get(Schema, "public") is None:
            # what an empty PostgreSQL 15 database holds: public, usable by everyone
            self.builder.add(Schema("public", "standard public schema"))
            self.builder.add(Privilege("SCHEMA", "public", "public", "PUBLIC", "USAGE"))

    def new_session(self) -> None:
        """A new session (each migration file): its settings go back to their defaults."""
        self.search_path = self.default_search_path
        self.check_function_bodies = True

    def catalog(self) -> Catalog:
        """The IR of what has been interpreted. Ordered-set aggregates were kept only so
        views calling them could be typed: the IR does not list them."""
        for key in self.hidden_functions:
            found = self.builder.get(Function, *key)
            if found is not None:
                self.builder.remove(found)
        return self.builder.freeze()

    # ----------------------------------------------------------------- diagnostics

    def position(self, location: int | None = None) -> tuple[int, int]:
        offset = self.stmt_location if location is None or location < 0 else location
        line, col = position_of(self.text, self.pg15.source_offset(offset))
        return line + self.line_offset, col

    def error(self, message: str, location: int | None = None) -> SourceError:
        line, col = self.position(location)
        return SourceError(self.file, line, col, message)

    def skipped_code(self) -> None:
        """The current statement runs code nself does not (a DO block, a routine's call)."""
        line, _ = self.position()
        start = self.pg15.source_offset(self.stmt_location)
        # up to its first semicolon: enough to see the names a call is given
        self.not_run.append((f"{self.file}:{line}", self.text[start : start + 500].split(";", 1)[0]))

    def warn(self, message: str, *, data: bool = False) -> None:
        line, _ = self.position()
        self.warnings.append(CompileWarning(self.file, line, message, data))

    # ----------------------------------------------------------------- name resolution

    def path_schemas(self) -> list[str]:
        """The schemas of search_path that exist, in order."""
        return [s for s in self.search_path if self.builder.get(Schema, s) is not None]

    def creation_schema(self, schema: str | None) -> str:
        if schema:
            if self.builder.get(Schema, schema) is None and schema not in ("pg_catalog",):
                raise self.error(f'schema "{schema}" does not exist')
            return schema
        schemas = self.path_schemas()
        if not schemas:
            raise self.error("no schema has been selected to create in")
        return schemas[0]

    def relation_in(self, schema: str, name: str) -> Any:
        """The relation (table, view, sequence, index, composite type) named so, if any."""
        b = self.builder
        for cls in (Table, View, Sequence, Index, CompositeType):
            node = b.get(cls, schema, name)
            if node is not None:
                return node
        return None

    def find_relation(self, schema: str | None, name: str) -> tuple[str, Any] | None:
        if schema:
            node = self.relation_in(schema, name)
            return (schema, node) if node is not None else None
        for s in self.path_schemas():
            node = self.relation_in(s, name)
            if node is not None:
                return s, node
        return None

    def relation_taken(self, schema: str, name: str) -> bool:
        return (
            self.relation_in(schema, name) is not None
            or (schema, name) in self.constraint_indexes
            or (schema, name) in self.identity_sequences
            or (schema, name) in self.hidden_relations
        )

    def constraint_taken(self, schema: str, name: str) -> bool:
        return self.constraint_names[(schema, name)] > 0

    def missing_relation(self, schema: str | None, name: str, location: int | None = None) -> Exception:
        """The error for a relation that is not there, or Skip if it is a temporary one."""
        if schema in (None, "pg_temp") and name in self.temporary:
            return Skip(f'"{name}" is a temporary relation')
        return self.error(f'relation "{qualified(schema, name)}" does not exist{self._maker_of(name)}', location)

    def _maker_of(self, name: str) -> str:
        """Where the relation `name` may have been made by code nself did not run: the last
        such statement that names it or its stem (`v1_payload_wal` for `v1_payload_wal_0`),
        else the last one."""
        if not self.not_run:
            return ""
        stem = re.sub(r"_[^_]*$", "", name)
        naming = [where for where, text in self.not_run if name in text or (stem and stem in text)]
        where = naming[-1] if naming else self.not_run[-1][0]
        return f" (it may come from {where}, which nself did not run)"

    def table(self, rv: Any, missing_ok: bool = False) -> Table | None:
        """The table a RangeVar names (following search_path)."""
        found = self.find_relation(rv.schemaname, rv.relname)
        if found is None or not isinstance(found[1], Table):
            if missing_ok:
                return None
            raise self.missing_relation(rv.schemaname, rv.relname)
        table: Table = found[1]
        return table

    def find_type(self, schema: str | None, name: str) -> tuple[str, Any] | None:
        b = self.builder
        schemas = [schema] if schema else self.path_schemas()
        for s in schemas:
            for cls in (Enum, Domain, CompositeType, RangeType):
                node = b.get(cls, s, name)
                if node is not None:
                    return s, node
        return None

    def collation_text(self, names: list[str]) -> str | None:
        """A collation as `attcollation::regcollation` prints it with search_path =
        pg_catalog (`"C"`, `public.posix`); None for the type's default."""
        if names == ["default"] or names == ["pg_catalog", "default"]:
            return None
        if len(names) > 1:
            schema: str | None = names[-2]
        else:
            schema = next(
                (s for s in self.path_schemas() if self.builder.get(Collation, s, names[-1]) is not None),
                None,
            )
        if schema is None or schema == "pg_catalog":
            return quote_ident(names[-1])
        return f"{quote_ident(schema)}.{quote_ident(names[-1])}"

    # ----------------------------------------------------------------- name choosing

    def choose_relation_name(
        self, schema: str, name1: str, name2: str | None, label: str, isconstraint: bool
    ) -> str:
        def taken(name: str) -> bool:
            return self.relation_taken(schema, name) or (isconstraint and self.constraint_taken(schema, name))

        return sql_naming.choose_name(name1, name2, label, taken)

    def choose_constraint_name(
        self, schema: str, name1: str, name2: str | None, label: str, others: Iterable[str] = ()
    ) -> str:
        others = set(others)
        return sql_naming.choose_name(
            name1,
            name2,
            label,
            lambda name: name in others or self.constraint_taken(schema, name),
        )

    # ----------------------------------------------------------------- mutation

    def put_table(self, old: Table | None, new: Table | None) -> None:
        """Replace `old` by `new` (either may be None), keeping the namespace-wide names of
        constraints and of the indexes behind them in step."""
        if (
            old is not None
            and new is not None
            and (old.schema, old.name) == (new.schema, new.name)
            and new.constraints[: len(old.constraints)] == old.constraints
            and _parents(old) == _parents(new)
        ):
            # the same table with constraints added (or none changed), as most ALTERs and
            # COMMENTs leave it: only the added constraints' names need recording
            self.builder.add(new)
            self._record_constraints(new, new.constraints[len(old.constraints) :])
            return
        if old is not None:
            self.builder.remove(old)
            for c in old.constraints:
                self._forget_constraint(old.schema, c)
            for parent in _parents(old):
                self.children.get(parent, set()).discard((old.schema, old.name))
        if new is not None:
            self.builder.add(new)
            self._record_constraints(new, new.constraints)
            for parent in _parents(new):
                self.children.setdefault(parent, set()).add((new.schema, new.name))

    def _record_constraints(self, table: Table, constraints: Iterable[Any]) -> None:
        for c in constraints:
            self.constraint_names[(table.schema, c.name)] += 1
            if isinstance(c, (PrimaryKey, UniqueConstraint, ExclusionConstraint)):
                self.constraint_indexes[(table.schema, c.name)] = table.name

    def children_of(self, table: Table) -> list[Table]:
        """Tables inheriting from `table` and its partitions."""
        found = (
            self.builder.get(Table, *key) for key in sorted(self.children.get((table.schema, table.name), ()))
        )
        return [t for t in found if t is not None]

    def _forget_constraint(self, schema: str, c: Any) -> None:
        key = (schema, c.name)
        self.constraint_names[key] -= 1
        if self.constraint_names[key] <= 0:
            del self.constraint_names[key]
        if isinstance(c, (PrimaryKey, UniqueConstraint, ExclusionConstraint)):
            self.constraint_indexes.pop(key, None)

    def put_domain(self, old: Domain | None, new: Domain | None) -> None:
        if old is not None:
            self.builder.remove(old)
            for c in old.checks:
                self._forget_constraint(old.schema, c)
        if new is not None:
            self.builder.add(new)
            for c in new.checks:
                self.constraint_names[(new.schema, c.name)] += 1

    def rewrite_expressions(self, old: str, new: str) -> None:
        """Replace a name in every stored default and CHECK (after a RENAME of a sequence,
        a type or an enum label, which those expressions hold by OID)."""
        pattern = re.compile(re.escape(old) + r'(?![\w$"])')

        def sub(text: str) -> str:
            return pattern.sub(lambda _: new, text)

        for table in list(self.builder.all(Table)):
            columns = tuple(
                dataclasses.replace(c, default=sub(c.default)) if c.default and old in c.default else c
                for c in table.columns
            )
            constraints = tuple(
                dataclasses.replace(c, expression=sub(c.expression))
                if isinstance(c, CheckConstraint) and old in c.expression
                else c
                for c in table.constraints
            )
            if columns != table.columns or constraints != table.constraints:
                self.update_table(table, columns=columns, constraints=constraints)

    def created(self, kind: str, schema: str, object_name: str) -> None:
        """A new object gets the privileges ALTER DEFAULT PRIVILEGES set for its kind
        (TABLE also for views, TYPE also for domains) in its schema or everywhere."""
        for (in_schema, acl_kind, grantee, privilege), grantable in self.default_acl.items():
            if acl_kind != kind or in_schema not in ("", schema) or grantee == self.owner:
                continue
            if grantee == "PUBLIC" and (kind, privilege) in PUBLIC_DEFAULTS:
                continue
            self.builder.add(Privilege(kind, schema, object_name, grantee, privilege, None, grantable))  # type: ignore[arg-type]

    def add_identity_sequence(self, schema: str, name: str, owner: tuple[str, str]) -> None:
        """The sequence behind an identity column (kept out of the IR), with the privileges
        ALTER DEFAULT PRIVILEGES gives sequences, which PostgreSQL grants on it too."""
        self.identity_sequences[(schema, name)] = owner
        self.created("SEQUENCE", schema, name)

    def forget_identity_sequence(self, key: tuple[str, str]) -> None:
        del self.identity_sequences[key]
        for priv in list(self.builder.all(Privilege)):
            if priv.object_kind == "SEQUENCE" and (priv.schema, priv.object_name) == key:
                self.builder.remove(priv)

    def forget_in_publications(self, schema: str, table: str | None = None) -> None:
        """A dropped table (or, with no `table`, a dropped schema) leaves the publications
        that listed it."""
        for publication in list(self.builder.all(Publication)):
            tables = tuple(
                t for t in publication.tables if t.schema != schema or (table is not None and t.table != table)
            )
            schemas = publication.schemas if table is not None else tuple(s for s in publication.schemas if s != schema)
            if (tables, schemas) != (publication.tables, publication.schemas):
                self.builder.add(replaced(publication, tables=tables, schemas=schemas))

    def rename_in_publications(self, schema: str, old: str, new: str) -> None:
        for publication in list(self.builder.all(Publication)):
            if any((t.schema, t.table) == (schema, old) for t in publication.tables):
                tables = sorted(
                    (replaced(t, table=new) if (t.schema, t.table) == (schema, old) else t for t in publication.tables),
                    key=lambda t: (t.schema, t.table),
                )
                self.builder.add(replaced(publication, tables=tuple(tables)))

    def update_table(self, table: Table, **changes: Any) -> Table:
        new = replaced(table, **changes)
        self.put_table(table, new)
        return new


N = TypeVar("N")
# IR class -> (attrgetter of its fields, field name -> position), for `replaced`
_FIELDS: dict[type, tuple[Callable[[Any], tuple[Any, ...]], dict[str, int]]] = {}


def replaced(node: N, **changes: Any) -> N:
    """dataclasses.replace(node, **changes) for the IR's frozen dataclasses (all of whose
    fields are init fields), at a third of its cost: the fields are read in one go and
    passed by position. A large schema replaces its tables thousands of times."""
    cls = type(node)
    fields = _FIELDS.get(cls)
    if fields is None:
        names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        fields = _FIELDS[cls] = (operator.attrgetter(*names), {name: i for i, name in enumerate(names)})
    read, position = fields
    values = list(read(node)) if len(position) > 1 else [read(node)]  # one name: no tuple
    for name, value in changes.items():
        values[position[name]] = value
    return cls(*values)


def _parents(table: Table) -> list[tuple[str, str]]:
    parents = list(table.inherits)
    if table.partition_of is not None:
        parents.append((table.partition_of.parent_schema, table.partition_of.parent))
    return parents


def qualified(schema: str | None, name: str) -> str:
    return f"{schema}.{name}" if schema else name


def regclass_text(schema: str, name: str) -> str:
    """How `'schema.name'::regclass` prints with search_path = pg_catalog."""
    return quote_literal(qualified_name(schema, name)) + "::regclass"


def names_of(nodes: Iterable[Any] | None) -> list[str]:
    """The strings of a list of pglast String nodes."""
    return [str(n.sval) for n in nodes or () if isinstance(n, ast.String)]


def column_types(table: Table) -> ColumnTypes:
    """Column name -> type as expressions see it (declared array dimensions collapsed),
    with the columns' collations (`.collations`)."""
    # expression_type, spelled out: this runs for every column of a table at each index
    # and CHECK
    return ColumnTypes(
        ((c.name, collapse_array_dims(c.data_type) if c.data_type.endswith("]") else c.data_type) for c in table.columns),
        {c.name: c.collation for c in table.columns if c.collation is not None},
    )


def expression_type(data_type: str) -> str:
    """A column's type as expressions see it: declared array dimensions collapsed
    (`integer[][]` -> `integer[]`). Only an array type (text ending in `]`) can change."""
    return collapse_array_dims(data_type) if data_type.endswith("]") else data_type
