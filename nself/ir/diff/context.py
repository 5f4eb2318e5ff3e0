"""One comparison of two catalogs: its state, what each node requires, how operations are
emitted, the comparator registry (one comparator per object kind, run in registration order),
and the rebuilding that follows the comparators (tables for column order, dependants of what
is rebuilt or altered in place)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from nself.ir.diff.deps import (
    DepKey,
    Deps,
    _col_key,
    _con_key,
    _constraint_keys,
    _func_key,
    _names,
    _rel_key,
    _schema_key,
    node_key,
)
from nself.ir.diff.operations import (
    AddColumn,
    AddConstraint,
    AddEnumValue,
    AlterColumnType,
    AlterDomain,
    AlterTableStorage,
    ColumnOrderNote,
    CommentKind,
    CreateDomain,
    CreateFunction,
    CreateIndex,
    CreateOperator,
    CreatePolicy,
    CreateTable,
    CreateTrigger,
    CreateView,
    DropCollation,
    DropColumn,
    DropCompositeType,
    DropConstraint,
    DropDomain,
    DropEnum,
    DropFunction,
    DropIndex,
    DropOperator,
    DropPolicy,
    DropRangeType,
    DropTable,
    DropTrigger,
    DropView,
    Grant,
    Operation,
    PartitionKeyNote,
    RebuildCollation,
    RebuildDomain,
    RebuildEnum,
    RebuildTable,
    ReplaceFunction,
    Revoke,
    SetColumnDefault,
    SetComment,
    SetGenerated,
    SetIdentity,
    SetNotNull,
    SetRowLevelSecurity,
    SetSequenceOwner,
)
from nself.ir.diff.ordering import order_operations
from nself.ir.diff.references import _References, _words
from nself.ir.identity import identity_of
from nself.ir.model import (
    Catalog,
    CheckConstraint,
    Column,
    CompositeType,
    Constraint,
    Dependency,
    Domain,
    Extension,
    ForeignKey,
    Function,
    Index,
    Operator,
    Policy,
    PrimaryKey,
    Privilege,
    Publication,
    RangeType,
    Sequence,
    Table,
    Trigger,
    UniqueConstraint,
    View,
)
from nself.ir.names import unquote_ident


class UnsafeDiff(ValueError):
    """A change the diff refuses to write, in one line: one that PostgreSQL could carry out
    only by dropping a table with its rows (a routine or type a partition key uses)."""


class _Diff:
    """One comparison of `a` (from) with `b` (to)."""

    def __init__(self, a: Catalog, b: Catalog, *, reorder_columns: bool = False) -> None:
        self.a, self.b = a, b
        self.reorder_columns = reorder_columns
        self.refs = _References(a, b)
        self.ops: list[Operation] = []
        self.tables_a = {(t.schema, t.name): t for t in a.tables}
        self.tables_b = {(t.schema, t.name): t for t in b.tables}
        self.indexes_by_table: tuple[dict[tuple[str, str], list[Index]], ...] = ({}, {})
        for catalog, into in zip((a, b), self.indexes_by_table, strict=True):
            for ix in catalog.indexes:
                into.setdefault((ix.schema, ix.table), []).append(ix)
        self._requires: dict[int, frozenset[DepKey]] = {}
        self._unique_by_table: dict[tuple[str, str], dict[frozenset[str | None], set[DepKey]]] = {}
        # Objects that are dropped and created again, or altered so that whatever depends
        # on them must be rebuilt (see _rebuild_dependants).
        self.rebuilt: set[DepKey] = set()
        self.altered: set[DepKey] = set()
        # Columns whose type changes in place through an enum rebuild.
        self.enum_columns: set[tuple[str, str, str]] = set()
        # Columns of rebuilt tables whose expressions are taken off first (see
        # _strip_rebuilt_tables).
        self._stripped: set[tuple[str, str, str]] = set()

    # ------------------------------------------------------------------ requirements

    def requires(self, node: Any) -> frozenset[DepKey]:
        """Dependency keys that `node` needs to exist."""
        r = self.refs
        out: set[DepKey] = set()
        schema = getattr(node, "schema", None)
        if isinstance(schema, str) and not isinstance(node, Privilege):
            out.add(_schema_key(schema))
        if isinstance(node, Domain):
            out |= (
                r.in_type(node.data_type) | r.in_text(node.collation) | self.domain_expressions_require(node)
            )
        elif isinstance(node, CompositeType):
            for a in node.attributes:
                out |= r.in_type(a.data_type) | r.in_text(a.collation)
        elif isinstance(node, RangeType):
            out |= r.in_type(node.subtype)
        elif isinstance(node, Table):
            for c in node.columns:
                out |= self.column_requires(c)
            for con in node.constraints:
                if not isinstance(con, ForeignKey):
                    out |= self.constraint_requires(node.schema, node.name, con) - {
                        _rel_key(node.schema, node.name)
                    }
            if node.partition_of is not None:
                out.add(_rel_key(node.partition_of.parent_schema, node.partition_of.parent))
            # what its partition key uses (its own columns are the table's)
            out |= {
                k
                for k in self.partition_key_requires(node)
                if not (k[0] == "col" and k[1:3] == (node.schema, node.name))
            }
            for ps, pn in node.inherits:
                out.add(_rel_key(ps, pn))
            out.discard(_rel_key(node.schema, node.name))
        elif isinstance(node, View):
            if node.depends_on is None:  # not known: the names its definition holds
                out |= r.in_text(node.definition)
            else:
                out |= self.view_requires(node)
            for vc in node.columns:
                out |= r.in_type(vc.data_type)
            out.discard(_rel_key(node.schema, node.name))
        elif isinstance(node, Index):
            out.add(_rel_key(node.schema, node.table))
            for k in node.keys:
                out |= r.in_text(k.opclass) | r.in_text(k.collation)
                if k.column is not None:
                    out.add(_col_key(node.schema, node.table, k.column))
                elif node.depends_on is None:  # not known: the names the text holds
                    out |= r.in_text(k.expression) | self._columns_named(
                        node.schema, node.table, k.expression
                    )
            if node.depends_on is None:
                out |= r.in_text(node.predicate) | self._columns_named(
                    node.schema, node.table, node.predicate
                )
            else:
                out |= self.depends_requires(node.depends_on)
        elif isinstance(node, Function):
            for arg in node.arguments:
                out |= r.in_type(arg.data_type)
                # what the defaults use: defaults_depends_on, or a SQL-standard body's
                # depends_on (it holds them); not known: the names their texts hold
                if node.defaults_depends_on is None and node.depends_on is None:
                    out |= r.in_text(arg.default)
            if node.defaults_depends_on is not None:
                out |= self.depends_requires(node.defaults_depends_on)
            if node.returns:
                out |= r.in_text(node.returns)
            # SQL bodies name what they use; an aggregate's body is its option list
            # (SFUNC = public.f, ...). A BEGIN ATOMIC body's uses are known (depends_on), and
            # an aggregate's (its functions, SORTOP, state and signature types), and those of
            # an analysed LANGUAGE sql string body (body_depends_on: what PostgreSQL checks at
            # creation, with check_function_bodies on).
            if node.depends_on is not None:
                out |= self.depends_requires(node.depends_on)
            elif node.body_depends_on is not None:
                out |= self.depends_requires(node.body_depends_on)
            elif (
                node.body.lstrip().upper().startswith("BEGIN ATOMIC")
                or node.language == "sql"
                or node.kind == "aggregate"
            ):
                out |= r.in_text(node.body)
            out.discard(_func_key(node))
        elif isinstance(node, Trigger):
            out.add(_rel_key(node.schema, node.table))
            out |= {k for k in r.names.get((node.function_schema, node.function), ()) if k[0] == "func"}
            if node.depends_on is None:
                out |= r.in_text(node.when)
            else:
                out |= self.depends_requires(node.depends_on)
        elif isinstance(node, Policy):
            out.add(_rel_key(node.schema, node.table))
            for text in (node.using, node.with_check):
                if node.depends_on is None:
                    out |= r.in_text(text) | self._columns_named(node.schema, node.table, text)
            if node.depends_on is not None:
                out |= self.depends_requires(node.depends_on)
        elif isinstance(node, Privilege):
            out |= self.privilege_target(node)
        elif isinstance(node, Publication):
            out |= {_schema_key(s) for s in node.schemas}
            for t in node.tables:
                out.add(_rel_key(t.schema, t.table))
                out |= {_col_key(t.schema, t.table, c) for c in t.columns}
                if t.depends_on is None:  # not known: the names the filter's text holds
                    out |= self.refs.in_text(t.where) | self._columns_named(t.schema, t.table, t.where)
                else:
                    out |= self.depends_requires(t.depends_on)
        elif isinstance(node, Operator):
            # its function and estimators (regproc texts), its argument types; not its
            # commutator and negator (PostgreSQL makes a shell for one not made yet)
            for text in (node.function, node.restrict, node.join):
                out |= {k for k in r.in_text(text) if k[0] in ("func", "ext")}
            for arg_type in (node.left_type, node.right_type):
                if arg_type is not None:
                    out |= r.in_type(arg_type)
        elif isinstance(node, Extension):
            pass
        elif isinstance(node, Sequence):
            out |= r.in_type(node.data_type)
        return frozenset(out)

    def partition_key_requires(self, table: Table) -> set[DepKey]:
        """The keys of what a partitioned table's key uses (PartitionSpec.depends_on: the
        functions and types of its expressions, its columns), or, not known, the names its
        text holds."""
        spec = table.partition_by
        if spec is None:
            return set()
        if spec.depends_on is None:
            return set(self.refs.in_text(spec.key)) | self._columns_named(table.schema, table.name, spec.key)
        return self.depends_requires(spec.depends_on)

    def domain_expressions_require(self, domain: Domain) -> set[DepKey]:
        """The keys of what a domain's default and checks use: their depends_on, or (not
        known: an IR document written before it) the names their texts hold."""
        r = self.refs
        out: set[DepKey] = set()
        if domain.depends_on is None:
            out |= r.in_text(domain.default)
        else:
            out |= self.depends_requires(domain.depends_on)
        for check in domain.checks:
            if check.depends_on is None:
                out |= r.in_text(check.expression)
            else:
                out |= self.depends_requires(check.depends_on)
        out.discard(node_key(domain))
        return out

    def view_requires(self, view: View) -> set[DepKey]:
        """The keys of what a view's query uses (View.depends_on: relations, columns,
        functions, types, collations, as pg_depend records them)."""
        return self.depends_requires(view.depends_on or ())

    def depends_requires(self, depends_on: tuple[Dependency, ...]) -> set[DepKey]:
        """The keys of what an object uses, from its Dependency records (pg_depend's)."""
        r = self.refs
        out: set[DepKey] = set()
        for d in depends_on:
            keys = r.names.get((d.schema, d.name), set())
            if d.kind == "function":
                keys = {k for k in keys if k[0] == "func"}
            elif d.kind == "type":
                keys = {k for k in keys if k[0] in ("type", "rel")}  # a table's row type too
            elif d.kind == "collation":
                keys = {k for k in keys if k[0] == "collation"}
            elif d.kind == "operator":
                # one CREATE OPERATOR made (any overload of it), else an extension's (its
                # schema's extension)
                keys = {k for k in keys if k[0] == "op"}
            else:
                keys = {k for k in keys if k[0] in ("rel", "seq")}
                if d.column is not None and _rel_key(d.schema, d.name) in keys:
                    out.add(_col_key(d.schema, d.name, d.column))
            # what the IR does not list is an extension's
            out |= keys or r.extension_schemas.get(d.schema, set())
        return out

    def _rebuild_expression(self, old: _ColumnExpression, new: _ColumnExpression) -> None:
        """Take a column's default (or generation expression) away before what it uses is
        dropped, and give it back once that is created again."""
        s, t, co, cn = new.schema, new.table, old.column, new.column
        if co.generated is None and cn.generated is None:
            if co.default is not None:
                self.emit(
                    SetColumnDefault(s, t, co.name, co.default, None),
                    Deps(before=frozenset(self.default_requires(co))),
                )
            if cn.default is not None:
                self.emit(
                    SetColumnDefault(s, t, cn.name, None, cn.default),
                    Deps(after=frozenset(self.default_requires(cn))),
                )
            return
        # a generation expression: DROP EXPRESSION (the column keeps its values), then
        # the column is dropped and added again with the new one (see SetGenerated)
        key, rel = _col_key(s, t, cn.name), _rel_key(s, t)
        plain = dataclasses.replace(co, generated=None, depends_on=None)
        if co.generated is not None:
            # DROP EXPRESSION keeps the column, but its reverse (in a down migration) drops
            # and adds it again: what uses the column goes before and comes back after
            self.emit(
                SetGenerated(s, t, co, plain),
                Deps(
                    adds=frozenset({key, rel}),
                    removes=frozenset({key, rel}),
                    before=frozenset(self.column_requires(co)),
                ),
            )
        if cn.generated is not None:
            self.emit(
                SetGenerated(s, t, plain, cn),
                Deps(
                    adds=frozenset({key, rel}),
                    removes=frozenset({key, rel}),
                    after=frozenset(self.column_requires(cn)),
                ),
            )

    def _rebuild_domain_expressions(self, old: Domain, new: Domain) -> None:
        """A domain whose default or checks use what is dropped (and created again): see
        alter_domain. An AlterDomain of the comparator's for it is replaced."""
        key = node_key(new)
        self.ops = [op for op in self.ops if not (isinstance(op, AlterDomain) and op.key == key)]
        broken = self.rebuilt | {k for k in self.altered if k[0] in ("type", "func", "collation")}
        self.alter_domain(old, new, broken)

    def alter_domain(self, old: Domain, new: Domain, broken: Iterable[DepKey] = ()) -> None:
        """ALTER DOMAIN (the domain stays: its columns keep it) in two steps: the default and
        the checks that change, or that use something in `broken` (dropped and created
        again), go before what they use is dropped; the new ones come after what they use
        is created."""
        lost = set(broken)

        def goes(check: CheckConstraint | None) -> bool:
            if check is None:  # the default (and the base type, which stays)
                if old.default is None:
                    return False
                if old.default != new.default:
                    return True
                probe = dataclasses.replace(old, checks=())
            else:
                if check != next((c for c in new.checks if c.name == check.name), None):
                    return True
                probe = dataclasses.replace(old, default=None, depends_on=(), checks=(check,))
            return bool(self.domain_expressions_require(probe) & lost)

        bare = dataclasses.replace(
            old,
            default=None if goes(None) else old.default,
            checks=tuple(c for c in old.checks if not goes(c)),
        )
        key = node_key(new)
        if bare != old:
            self.emit(
                AlterDomain(old, bare),
                Deps(removes=frozenset({key}), before=frozenset(self.domain_expressions_require(old))),
            )
        self.emit(
            AlterDomain(bare, new),
            Deps(adds=frozenset({key}), after=frozenset(self.domain_expressions_require(new) | {key})),
        )

    def _rebuild_requires(self, node: Any) -> frozenset[DepKey]:
        """What `node` must be rebuilt for when it changes: what it requires, less what only
        a LANGUAGE sql string body uses (PostgreSQL records none of it, so it lets those
        objects change or go under the routine; the routine is created again only when it
        changes itself, then after them)."""
        if isinstance(node, Function) and node.body_depends_on:
            return self.requires(dataclasses.replace(node, body_depends_on=()))
        if isinstance(node, Operator):
            # its commutator and negator too: dropping one of them unlinks it (PostgreSQL
            # clears the link), so it is created again with them
            linked: set[DepKey] = set()
            for text in (node.commutator, node.negator):
                if text is not None and text.startswith("OPERATOR(") and "." in text:
                    schema, _, name = text[len("OPERATOR(") : -1].partition(".")
                    found = self.refs.names.get((unquote_ident(schema), name), set())
                    linked |= {k for k in found if k[0] == "op"}
            return self._cached_requires(node) | (linked - {node_key(node)})
        return self._cached_requires(node)

    def _cached_requires(self, node: Any) -> frozenset[DepKey]:
        if isinstance(node, Domain):
            return frozenset(self.domain_expressions_require(node))
        if isinstance(node, _ColumnExpression):
            return frozenset(self.column_requires(node.column))
        if isinstance(node, tuple):  # a constraint: (schema, table, constraint)
            return self.constraint_requires(*node)
        found = self._requires.get(id(node))
        if found is None:
            found = self._requires[id(node)] = self.requires(node)
        return found

    def default_requires(self, column: Column) -> set[DepKey]:
        """The keys of what a column's default uses."""
        if column.depends_on is None:  # not known: the names the text holds
            return set(self.refs.in_text(column.default))
        return self.depends_requires(column.depends_on)

    def column_requires(self, column: Column) -> set[DepKey]:
        r = self.refs
        if column.depends_on is not None:  # what its default or generation expression uses
            return set(r.in_type(column.data_type) | r.in_text(column.collation)) | self.depends_requires(
                column.depends_on
            )
        return set(
            r.in_type(column.data_type)
            | r.in_text(column.default)
            | r.in_text(column.generated)
            | r.in_text(column.collation)
        )

    def _unique_keys(self, schema: str, table: str) -> dict[frozenset[str | None], set[DepKey]]:
        """The keys of a table's primary key, unique constraints and unique indexes, on either
        side, by the set of their columns (what a foreign key's reference rests on). Worked out
        once per table: every foreign key to it asks."""
        found = self._unique_by_table.get((schema, table))
        if found is not None:
            return found
        found = self._unique_by_table[(schema, table)] = {}
        for tables, indexes in zip((self.tables_a, self.tables_b), self.indexes_by_table, strict=True):
            ref = tables.get((schema, table))
            if ref is not None:
                for c in ref.constraints:
                    if isinstance(c, (PrimaryKey, UniqueConstraint)):
                        found.setdefault(frozenset(c.columns), set()).add(_con_key(schema, table, c.name))
            for ix in indexes.get((schema, table), ()):
                if ix.unique:
                    found.setdefault(frozenset(k.column for k in ix.keys), set()).add(node_key(ix))
        return found

    def constraint_requires(self, schema: str, table: str, con: Constraint) -> frozenset[DepKey]:
        out: set[DepKey] = {_rel_key(schema, table)}
        if isinstance(con, (PrimaryKey, UniqueConstraint)):
            out |= {_col_key(schema, table, c) for c in (*con.columns, *con.include)}
        elif isinstance(con, CheckConstraint):
            if con.depends_on is None:  # not known: the names the text holds
                out |= self.refs.in_text(con.expression) | self._columns_named(schema, table, con.expression)
            else:
                out |= self.depends_requires(con.depends_on)
        elif isinstance(con, ForeignKey):
            out |= {_col_key(schema, table, c) for c in con.columns}
            out.add(_rel_key(con.ref_schema, con.ref_table))
            out |= {_col_key(con.ref_schema, con.ref_table, c) for c in con.ref_columns}
            # The unique constraint or index the reference rests on, on either side.
            out |= self._unique_keys(con.ref_schema, con.ref_table).get(frozenset(con.ref_columns), set())
        elif con.depends_on is not None:  # exclusion: what its columns and expressions use
            out |= self.depends_requires(con.depends_on)
            out |= {_col_key(schema, table, c) for c in con.include}
            for e in con.elements:
                out |= self.refs.in_text(e.opclass)
        else:  # exclusion, not known: the names the texts hold
            for e in con.elements:
                out |= self.refs.in_text(e.expression) | self._columns_named(schema, table, e.expression)
            out |= self.refs.in_text(con.predicate)
        return frozenset(out)

    def _columns_named(self, schema: str, table: str, text: str | None) -> set[DepKey]:
        if not text:
            return set()
        words = _words(text)
        columns: set[str] = set()
        for t in (self.tables_a.get((schema, table)), self.tables_b.get((schema, table))):
            if t is not None:
                columns |= {c.name for c in t.columns}
        return {_col_key(schema, table, c) for c in words & columns}

    def privilege_target(self, p: Privilege) -> frozenset[DepKey]:
        if p.object_kind == "SCHEMA":
            return frozenset({_schema_key(p.object_name)})
        if p.object_kind == "FUNCTION":
            name, _, args = p.object_name.partition("(")
            return frozenset({("func", p.schema, name, args.rstrip(")"))})
        keys = self.refs.names.get((p.schema, p.object_name), set())
        out = set(keys) or {_rel_key(p.schema, p.object_name)}
        if p.column:
            out.add(_col_key(p.schema, p.object_name, p.column))
        return frozenset(out)

    # ------------------------------------------------------------------ emitting

    def create(self, op: Operation, node: Any, *, adds: Iterable[DepKey] = ()) -> None:
        self.ops.append(
            dataclasses.replace(
                op,
                deps=Deps(adds=frozenset({node_key(node), *_names(node), *adds}), after=self.requires(node)),
            )
        )

    def drop(self, op: Operation, node: Any, *, removes: Iterable[DepKey] = ()) -> None:
        self.ops.append(
            dataclasses.replace(
                op,
                deps=Deps(
                    removes=frozenset({node_key(node), *_names(node), *removes}), before=self.requires(node)
                ),
            )
        )

    def emit(self, op: Operation, deps: Deps) -> None:
        self.ops.append(dataclasses.replace(op, deps=deps))

    # ------------------------------------------------------------------ running

    def run(self) -> list[Operation]:
        for comparator in COMPARATORS.values():
            comparator(self)
        if self.reorder_columns:
            self._rebuild_for_column_order()
        self._rebuild_dependants()
        if self.reorder_columns:
            moved = self._reordered_by_dependants()
            if moved:
                self._rebuild_for_column_order(moved)
                self._rebuild_dependants()
        self._guard_partition_keys()
        return order_operations(self.ops)

    def _reordered_by_dependants(self) -> list[tuple[str, str]]:
        """Tables whose column order the rebuilt dependants change: a generated column
        dropped and added again (what its expression uses is rebuilt) comes back last,
        which only a RebuildTable puts right."""
        rebuilt = {(op.new.schema, op.new.name) for op in self.ops if isinstance(op, RebuildTable)}
        out: list[tuple[str, str]] = []
        for op in self.ops:
            if not isinstance(op, SetGenerated) or op.in_place or (op.schema, op.table) in rebuilt:
                continue
            target = self.tables_b.get((op.schema, op.table))
            if target is not None and target.columns and target.columns[-1].name != op.new.name:
                out.append((op.schema, op.table))
        return sorted(set(out))

    # ------------------------------------------------------------------ partition keys

    def _guard_partition_keys(self) -> None:
        """PostgreSQL cannot drop a routine or a type that a partition key uses, nor change
        or drop a column in one, without dropping the partitioned table and every partition
        with their rows. A diff that would have to (a routine whose signature or result
        changes, or that goes; a type rebuilt or dropped; a key column retyped) is refused
        (UnsafeDiff) for a table that stays: the rows must be moved by hand. A routine the
        key uses that is replaced in place gets a PartitionKeyNote. Run on the way down
        too (reverse_operations)."""
        drops = (DropFunction, DropEnum, DropDomain, DropCompositeType, DropRangeType, DropCollation)
        created = {k for op in self.ops if not isinstance(op, drops) for k in op.deps.adds}
        for table in self.a.tables:
            spec = table.partition_by
            # a table the target no longer has goes with its rows by the user's own word;
            # one whose key changes too would be dropped and created again: refused alike
            if spec is None or (table.schema, table.name) not in self.tables_b:
                continue
            uses = self.partition_key_requires(table) - {_rel_key(table.schema, table.name)}
            if not uses:
                continue
            shown = f"{spec.strategy} ({spec.key})"
            for op in self.ops:
                lost = _lost_by(op, drops) & uses
                if not lost:
                    continue
                what = sorted(lost)[0]
                if what[0] == "col":
                    why = f"column {what[3]}, whose type this change alters"
                elif isinstance(op, drops):
                    again = " and creates again" if what in created else ""
                    why = f"{_describe(what)}, which this change drops{again}"
                else:
                    why = f"{_describe(what)}, which this change rebuilds (created anew, its columns moved across)"
                raise UnsafeDiff(
                    f"refused: the partition key {shown} of {table.schema}.{table.name} uses {why}; "
                    "PostgreSQL cannot do that without dropping the table and every partition with their "
                    "rows. Rebuild the table by hand with its rows (create a new partitioned table, move "
                    "the rows, swap the names), then diff again"
                )
            for op in list(self.ops):
                if isinstance(op, ReplaceFunction) and op.key in uses:
                    self.emit(
                        PartitionKeyNote(table.schema, table.name, shown, op.new.signature),
                        Deps(after=frozenset({op.key})),
                    )

    # ------------------------------------------------------------------ column order

    def _rebuildable(self, old: Table, new: Table) -> bool:
        """Tables a RebuildTable can handle: neither partitioned nor a partition, with the
        same parents on both sides; an inheritance parent when each child it has on both
        sides can be rebuilt too (with it) and no child joins or leaves it."""
        if old.partition_of or new.partition_of or old.partition_by or new.partition_by:
            return False
        if old.inherits != new.inherits:
            return False
        key = (new.schema, new.name)
        for k, ta in self.tables_a.items():
            if key in ta.inherits:
                tb = self.tables_b.get(k)
                if tb is not None and (tb.inherits != ta.inherits or not self._rebuildable(ta, tb)):
                    return False
        for k, child in self.tables_b.items():
            if key in child.inherits:
                was = self.tables_a.get(k)
                if was is not None and was.inherits != child.inherits:
                    return False
        return True

    def _children(self, key: tuple[str, str]) -> list[tuple[str, str]]:
        """The inheritance children of `key` on both sides."""
        return [k for k, t in self.tables_b.items() if key in t.inherits and k in self.tables_a]

    def _rebuild_for_column_order(self, forced: Iterable[tuple[str, str]] = ()) -> None:
        """Replace the column operations of each table whose column order ALTER TABLE
        cannot reach (its ColumnOrderNote), and of each table in `forced`, with one
        RebuildTable."""
        notes = {(op.schema, op.table): op for op in self.ops if isinstance(op, ColumnOrderNote)}
        done = {(op.new.schema, op.new.name) for op in self.ops if isinstance(op, RebuildTable)}
        by_note = [k for k in notes if k not in done] if self.reorder_columns else []
        wanted = list(dict.fromkeys([*forced, *by_note]))
        # An inheritance child also when a parent gains a column (PostgreSQL appends it
        # to the child) or a column's local/inherited-only standing changes (ALTER TABLE
        # cannot make a local column inherited-only).
        gaining = {(op.schema, op.table) for op in self.ops if isinstance(op, AddColumn)}
        for key, child in self.tables_b.items():
            was = self.tables_a.get(key)
            if not self.reorder_columns or was is None or not child.inherits or key in done or key in wanted:
                continue
            standing_old = {c.name: _inherited_only(c) for c in was.columns}
            standing_new = {c.name: _inherited_only(c) for c in child.columns}
            changed = any(standing_old.get(name, flag) != flag for name, flag in standing_new.items())
            if changed or any(p in gaining for p in child.inherits):
                wanted.append(key)
        # An inheritance parent is rebuilt with its children: they are detached from the
        # old parent (keeping every column, now local) and rebuilt under the new one.
        chosen: list[tuple[str, str]] = []
        for key in wanted:
            old, new = self.tables_a.get(key), self.tables_b.get(key)
            if old is None or new is None or key in chosen or not self._rebuildable(old, new):
                continue
            chosen.append(key)
            wanted.extend(k for k in self._children(key) if k not in done)
        for key in chosen:
            old, new = self.tables_a[key], self.tables_b[key]
            note = notes.get(key)
            self.ops = [op for op in self.ops if op is not note and not _rebuild_replaces(op, key)]
            s, n = key
            rel = _rel_key(s, n)
            before: set[DepKey] = set()
            after: set[DepKey] = set()
            for c in old.columns:
                before |= self.column_requires(c)
            for c in new.columns:
                after |= self.column_requires(c)
            # once the parents have their new columns (CREATE TABLE ... INHERITS takes them)
            after |= {_rel_key(*p) for p in new.inherits} | {_schema_key(s)}
            old_parents = tuple(p for p in (self.tables_a.get(x) for x in old.inherits) if p is not None)
            new_parents = tuple(p for p in (self.tables_b.get(x) for x in new.inherits) if p is not None)
            detached = any(p in chosen for p in new.inherits)  # its columns all stay
            old_gone = tuple(
                c.name
                for c in old.columns
                if not detached and _inherited_only(c) and not any(p.column(c.name) for p in new_parents)
            )
            new_gone = tuple(
                c.name
                for c in new.columns
                if _inherited_only(c) and not any(p.column(c.name) for p in old_parents)
            )
            self.emit(
                RebuildTable(
                    old, new, old_parents, new_parents, old_gone, new_gone, tuple(self._children(key))
                ),
                Deps(
                    adds=frozenset({rel, *(_col_key(s, n, c.name) for c in new.columns)}),
                    removes=frozenset({rel, *(_col_key(s, n, c.name) for c in old.columns)}),
                    # a type changed in place (an enum rebuilt, a domain altered) is
                    # needed after, not before: the table is copied once it is done
                    before=frozenset(before - after),
                    after=frozenset(after),
                ),
            )
            # DROP TABLE would take the sequences the table owns along: release them
            # first and claim them again (ownership that changes has its own operations)
            owned_b = {(q.schema, q.name): q.owned_by for q in self.b.sequences}
            handled = {(op.schema, op.name) for op in self.ops if isinstance(op, SetSequenceOwner)}
            for q in self.a.sequences:
                if q.schema != s or q.owned_by is None or q.owned_by[0] != n:
                    continue
                if (q.schema, q.name) in handled:
                    continue
                if owned_b.get((q.schema, q.name)) != q.owned_by:
                    continue
                owner = frozenset({node_key(q), _col_key(s, *q.owned_by)})
                self.emit(SetSequenceOwner(q.schema, q.name, q.owned_by, None), Deps(before=owner))
                self.emit(SetSequenceOwner(q.schema, q.name, None, q.owned_by), Deps(after=owner))

    # ------------------------------------------------------------------ rebuilding dependants

    def _rebuild_dependants(self) -> None:
        """Drop and recreate whatever depends on something rebuilt or altered in place and
        is not already dropped or created by an operation of its own."""
        self._recreate_bodies_using_dropped()
        touched: set[DepKey] = set()
        for op in self.ops:
            if isinstance(
                op,
                (
                    DropView,
                    DropFunction,
                    DropOperator,
                    DropIndex,
                    DropTrigger,
                    DropPolicy,
                    Revoke,
                    DropConstraint,
                    DropTable,
                ),
            ):
                touched |= op.deps.removes
            if isinstance(
                op, (CreateView, CreateFunction, CreateOperator, CreateIndex, CreateTrigger, CreatePolicy, Grant)
            ):
                touched |= op.deps.adds
            if isinstance(op, (AddConstraint,)):
                touched.add(op.key)
            if isinstance(op, (ReplaceFunction, RebuildDomain, CreateDomain, DropDomain)):
                touched.add(op.key)
            touched |= _columns_changed(op)
        for op in self.ops:
            self.altered |= _breaks(op)
            if isinstance(op, RebuildTable):
                self.rebuilt.add(op.key)
        # Pure drops of objects that are created again count as rebuilt.
        adds = {k for op in self.ops for k in op.deps.adds}
        for op in self.ops:
            rebuildable = (
                DropTable,
                DropView,
                DropFunction,
                DropOperator,
                DropEnum,
                DropDomain,
                DropCompositeType,
                DropCollation,
            )
            if isinstance(op, rebuildable) and op.key in adds:
                self.rebuilt.add(op.key)
        strong_kinds = ("type", "func", "collation")
        dependants = list(self._dependants())
        # each dependant's requirements, worked out once for all the passes below
        requirements: dict[DepKey, frozenset[DepKey]] = {}
        changed = bool(self.rebuilt or self.altered)
        while changed:
            changed = False
            broken = self.rebuilt | self.altered
            strong = self.rebuilt | {k for k in self.altered if k[0] in strong_kinds}
            for kind, nodes_a, nodes_b in dependants:
                against = broken if kind in ("view", "function", "policy") else strong
                if not against:  # nothing of this kind can be hit: its requirements are not needed
                    continue
                for key, node in nodes_a.items():
                    if key in touched or key not in nodes_b:
                        continue
                    needs = requirements.get(key)
                    if needs is None:
                        needs = requirements[key] = self._rebuild_requires(node)
                    hit = needs & against
                    if not hit:
                        continue
                    emitted = len(self.ops)
                    self._rebuild(node, nodes_b[key])
                    # what the rebuild itself breaks (a generated column dropped and
                    # added again) breaks its own dependants in the next pass
                    for op in self.ops[emitted:]:
                        self.altered |= _breaks(op)
                    touched.add(key)
                    if kind != "domain":  # its default and checks only: the domain stays
                        self.rebuilt.add(key)
                    changed = True
        self._strip_rebuilt_tables(self.rebuilt | {k for k in self.altered if k[0] in strong_kinds})

    def _strip_rebuilt_tables(self, strong: set[DepKey]) -> None:
        """A table rebuilt (RebuildTable: copied into a new one) keeps its old columns'
        defaults and generation expressions until it is dropped, after what they use is
        rebuilt: a collation, routine or type dropped and created again would still be in
        use. Take those expressions off the old table first (DROP DEFAULT, DROP
        EXPRESSION: its rows stay for the copy); the new table has its own."""
        for op in list(self.ops):
            if not isinstance(op, RebuildTable):
                continue
            s, t = op.old.schema, op.old.name
            rel = _rel_key(s, t)
            for c in op.old.columns:
                text = c.generated or c.default
                if text is None or c.inherited or (s, t, c.name) in self._stripped:
                    continue
                needs = self.default_requires(dataclasses.replace(c, default=text))
                if not {k for k in needs & strong if k != rel and k[:3] != ("col", s, t)}:
                    continue
                plain = dataclasses.replace(c, default=None, generated=None, depends_on=None)
                stripped: Operation = (
                    SetGenerated(s, t, c, plain)
                    if c.generated is not None
                    else SetColumnDefault(s, t, c.name, c.default, None)
                )
                self.emit(stripped, Deps(before=frozenset(needs | {rel})))
                self._stripped.add((s, t, c.name))

    def _recreate_bodies_using_dropped(self) -> None:
        """CREATE OR REPLACE of a routine whose SQL-standard body uses a routine that is
        dropped (another overload taking its place: a new identity) cannot be ordered: the
        old body holds the dropped one until replaced, the new body needs its successor.
        The same for a body that uses a table rebuilt (RebuildTable: dropped, its copy
        renamed in). Such a routine is dropped before and created after, as a view is."""
        dropped = {k for op in self.ops if isinstance(op, (DropFunction, RebuildTable)) for k in op.deps.removes}
        if not dropped:
            return
        for op in list(self.ops):
            if isinstance(op, ReplaceFunction) and _sql_standard(op.old) and self.requires(op.old) & dropped:
                self.ops.remove(op)
                self.drop(DropFunction(op.old), op.old)
                self.create(CreateFunction(op.new), op.new)

    def _dependants(self) -> Iterator[tuple[str, dict[DepKey, Any], dict[DepKey, Any]]]:
        def keyed(nodes: Iterable[Any]) -> dict[DepKey, Any]:
            return {node_key(n): n for n in nodes}

        yield "view", keyed(self.a.views), keyed(self.b.views)
        yield "function", keyed(self.a.functions), keyed(self.b.functions)
        yield "operator", keyed(self.a.operators), keyed(self.b.operators)
        yield "policy", keyed(self.a.policies), keyed(self.b.policies)
        yield "trigger", keyed(self.a.triggers), keyed(self.b.triggers)
        yield "index", keyed(self.a.indexes), keyed(self.b.indexes)
        yield "privilege", keyed(self.a.privileges), keyed(self.b.privileges)
        cons_a: dict[DepKey, Any] = {}
        cons_b: dict[DepKey, Any] = {}
        for catalog, into in ((self.a, cons_a), (self.b, cons_b)):
            for t in catalog.tables:
                for c in t.constraints:
                    into[_con_key(t.schema, t.name, c.name)] = (t.schema, t.name, c)
        yield "constraint", cons_a, cons_b
        # column defaults and generation expressions (what uses a function dropped and
        # created again must go first and come back after)
        exprs_a: dict[DepKey, Any] = {}
        exprs_b: dict[DepKey, Any] = {}
        for catalog, into in ((self.a, exprs_a), (self.b, exprs_b)):
            for t in catalog.tables:
                for col in t.columns:
                    if col.default is not None or col.generated is not None:
                        into[_expr_key(t.schema, t.name, col.name)] = _ColumnExpression(t.schema, t.name, col)
        yield "default", exprs_a, exprs_b
        # domains' defaults and checks (a domain itself is never dropped for them: its
        # columns keep it; see _rebuild_domain_expressions)
        yield "domain", keyed(self.a.domains), keyed(self.b.domains)

    def _rebuild(self, old: Any, new: Any) -> None:
        if isinstance(old, _ColumnExpression):
            self._rebuild_expression(old, new)
            return
        if isinstance(old, Domain):
            self._rebuild_domain_expressions(old, new)
            return
        if isinstance(old, tuple):  # a constraint: (schema, table, constraint)
            schema, table, con_old = old
            con_new = new[2]
            self.emit(
                DropConstraint(schema, table, con_old),
                Deps(
                    removes=frozenset(_constraint_keys(schema, table, con_old)),
                    before=self.constraint_requires(schema, table, con_old),
                ),
            )
            self.emit(
                AddConstraint(schema, table, con_new),
                Deps(
                    adds=frozenset(_constraint_keys(schema, table, con_new)),
                    after=self.constraint_requires(schema, table, con_new),
                ),
            )
            return
        drop_op, create_op = _DROP_CREATE[type(old)]
        self.drop(drop_op(old), old)
        self.create(create_op(new), new)


@dataclasses.dataclass(frozen=True, slots=True)
class _ColumnExpression:
    """A column's default or generation expression, as a dependant (see _dependants)."""

    schema: str
    table: str
    column: Column


def _expr_key(schema: str, table: str, column: str) -> DepKey:
    return ("default", schema, table, column)


def _columns_changed(op: Operation) -> set[DepKey]:
    """The keys (_expr_key) of the column expressions an operation already changes: a
    column added, dropped, altered or converted to a rebuilt type, or every column of a
    table created, dropped or rebuilt."""
    if isinstance(op, SetColumnDefault):
        return {_expr_key(op.schema, op.table, op.column)}
    if isinstance(op, (AddEnumValue, RebuildEnum, RebuildDomain, RebuildCollation)):
        # the columns it converts, with their defaults
        return {_expr_key(u.schema, u.table, u.column) for u in op.usages}
    if isinstance(op, (SetGenerated, AlterColumnType)):
        return {_expr_key(op.schema, op.table, op.new.name)}
    if isinstance(op, (AddColumn, DropColumn)):
        return {_expr_key(op.schema, op.table, op.column.name)}
    tables: list[Table] = []
    if isinstance(op, (CreateTable, DropTable)):
        tables = [op.table]
    elif isinstance(op, RebuildTable):
        tables = [op.old, op.new]
    return {_expr_key(t.schema, t.name, c.name) for t in tables for c in t.columns}


def _sql_standard(f: Function) -> bool:
    """A routine whose body is SQL-standard (BEGIN ATOMIC ... END, RETURN ...): PostgreSQL
    records what it uses."""
    if f.kind == "aggregate":  # its depends_on holds its functions and types: no body
        return False
    return f.depends_on is not None or f.body.lstrip().upper().startswith(("BEGIN ATOMIC", "RETURN "))


def _breaks(op: Operation) -> set[DepKey]:
    """Keys that an in-place change invalidates for dependants (PostgreSQL refuses to
    change a column's type under a view or a policy, or to drop a type still in use)."""
    if isinstance(op, (RebuildEnum, RebuildDomain, RebuildCollation)):
        out = {node_key(op.new)}
        for u in op.usages:
            out |= {_rel_key(u.schema, u.table), _col_key(u.schema, u.table, u.column)}
        return out
    if isinstance(op, AlterColumnType):
        return {_rel_key(op.schema, op.table), _col_key(op.schema, op.table, op.new.name)}
    if isinstance(op, (DropColumn, SetGenerated)):
        return {_col_key(op.schema, op.table, op.column.name if isinstance(op, DropColumn) else op.new.name)}
    return set()


def _lost_by(op: Operation, drops: tuple[type, ...]) -> set[DepKey]:
    """What a partition key may use that `op` takes away: a routine, type or collation it
    drops, a type it rebuilds, a column whose type it changes (or that it drops)."""
    if isinstance(op, drops):
        return {k for k in op.deps.removes if k[0] in ("func", "type", "collation", "rel")}
    return _breaks(op)


def _describe(key: DepKey) -> str:
    """A dependency key as the object it stands for: `function app.f(integer)`."""
    if key[0] == "func":
        return f"function {key[1]}.{key[2]}({key[3]})"
    if key[0] == "col":
        return f"column {key[3]}"
    kind = {"type": "type", "collation": "collation", "rel": "the row type of"}.get(key[0], key[0])
    return f"{kind} {'.'.join(key[1:])}"


def _inherited_only(column: Column) -> bool:
    """The column comes only from the table's parents (pg_attribute.attislocal false)."""
    return column.inherited


def _rebuild_replaces(op: Operation, table: tuple[str, str]) -> bool:
    """An operation on `table` that a RebuildTable of it makes redundant: column changes,
    storage and row-level security (the new table is created with the target's)."""
    column_ops = (
        AddColumn,
        DropColumn,
        AlterColumnType,
        SetGenerated,
        SetColumnDefault,
        SetNotNull,
        SetIdentity,
        AlterTableStorage,
        SetRowLevelSecurity,
    )
    return isinstance(op, column_ops) and (op.schema, op.table) == table


_DROP_CREATE: dict[type, tuple[Callable[[Any], Operation], Callable[[Any], Operation]]] = {
    View: (DropView, CreateView),
    Function: (DropFunction, CreateFunction),
    Operator: (DropOperator, CreateOperator),
    Policy: (DropPolicy, CreatePolicy),
    Trigger: (DropTrigger, CreateTrigger),
    Index: (DropIndex, CreateIndex),
    Privilege: (Revoke, Grant),
}


Comparator = Callable[[_Diff], None]


COMPARATORS: dict[str, Comparator] = {}


def comparator(kind: str) -> Callable[[Comparator], Comparator]:
    """Register the comparator for one object kind (run in registration order)."""

    def register(fn: Comparator) -> Comparator:
        COMPARATORS[kind] = fn
        return fn

    return register


def _pairs(a: Iterable[Any], b: Iterable[Any]) -> tuple[list[Any], list[Any], list[tuple[Any, Any]]]:
    """(only in a, only in b, in both) by identity."""
    ia = {identity_of(n): n for n in a}
    ib = {identity_of(n): n for n in b}
    return (
        [n for k, n in ia.items() if k not in ib],
        [n for k, n in ib.items() if k not in ia],
        [(n, ib[k]) for k, n in ia.items() if k in ib],
    )


def _comment(
    d: _Diff,
    kind: CommentKind,
    schema: str | None,
    name: str,
    old: str | None,
    new: str | None,
    *,
    sub: str | None = None,
    arguments: str | None = None,
    after: Iterable[DepKey] = (),
) -> None:
    if old != new:
        d.emit(SetComment(kind, schema, name, old, new, sub, arguments), Deps(after=frozenset(after)))


def _inherited(d: _Diff, table: Table, column: str) -> bool:
    parents = [d.tables_a.get(p) for p in table.inherits]
    if table.partition_of is not None:
        parents.append(d.tables_a.get((table.partition_of.parent_schema, table.partition_of.parent)))
    return any(p is not None and p.column(column) is not None for p in parents)
