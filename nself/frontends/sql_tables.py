"""Handlers for tables, their columns and constraints, sequences and indexes."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from collections.abc import Sequence as Seq
from dataclasses import dataclass, field
from typing import Any

from pglast import ast
from pglast.enums import AlterTableType, ConstrType, DropBehavior, ObjectType, SortByDir, SortByNulls

from nself.frontends import sql_canon as canon
from nself.frontends import sql_naming
from nself.frontends.sql_expr.collations import ColumnTypes, column_collations, user_collation
from nself.frontends.sql_state import (
    ExprSource,
    Skip,
    State,
    column_types,
    expression_type,
    handles,
    names_of,
    regclass_text,
    replaced,
)
from nself.ir.model import (
    CheckConstraint,
    Column,
    CompositeAttribute,
    CompositeType,
    Constraint,
    Dependency,
    ExclusionConstraint,
    ExclusionElement,
    ForeignKey,
    Identity,
    Index,
    IndexKey,
    PartitionOf,
    Policy,
    PrimaryKey,
    Privilege,
    Sequence,
    Table,
    Trigger,
    UniqueConstraint,
    View,
)
from nself.ir.names import quote_ident
from nself.ir.types import collapse_array_dims

# The constraint kinds, read off ConstrType once: reading a member off an enum class is
# several times slower than reading a global, and these are compared for every constraint.
CONSTR_ATTR_DEFERRABLE = ConstrType.CONSTR_ATTR_DEFERRABLE
CONSTR_ATTR_DEFERRED = ConstrType.CONSTR_ATTR_DEFERRED
CONSTR_ATTR_ENFORCED = ConstrType.CONSTR_ATTR_ENFORCED
CONSTR_ATTR_IMMEDIATE = ConstrType.CONSTR_ATTR_IMMEDIATE
CONSTR_ATTR_NOT_DEFERRABLE = ConstrType.CONSTR_ATTR_NOT_DEFERRABLE
CONSTR_ATTR_NOT_ENFORCED = ConstrType.CONSTR_ATTR_NOT_ENFORCED
CONSTR_CHECK = ConstrType.CONSTR_CHECK
CONSTR_DEFAULT = ConstrType.CONSTR_DEFAULT
CONSTR_EXCLUSION = ConstrType.CONSTR_EXCLUSION
CONSTR_FOREIGN = ConstrType.CONSTR_FOREIGN
CONSTR_GENERATED = ConstrType.CONSTR_GENERATED
CONSTR_IDENTITY = ConstrType.CONSTR_IDENTITY
CONSTR_NOTNULL = ConstrType.CONSTR_NOTNULL
CONSTR_NULL = ConstrType.CONSTR_NULL
CONSTR_PRIMARY = ConstrType.CONSTR_PRIMARY
CONSTR_UNIQUE = ConstrType.CONSTR_UNIQUE

# --------------------------------------------------------------------------- sequences

TYPE_RANGES = {
    "smallint": (-32768, 32767),
    "integer": (-2147483648, 2147483647),
    "bigint": (-9223372036854775808, 9223372036854775807),
}

SERIAL_TYPES = {
    "serial": "integer",
    "serial4": "integer",
    "bigserial": "bigint",
    "serial8": "bigint",
    "smallserial": "smallint",
    "serial2": "smallint",
}


@dataclass
class SeqParams:
    data_type: str = "bigint"
    start: int = 1
    increment: int = 1
    min_value: int = 1
    max_value: int = 9223372036854775807
    cache: int = 1
    cycle: bool = False
    owned_by: list[str] | None = None  # the OWNED BY names; [] for OWNED BY NONE
    generation: str | None = None  # SET GENERATED of an identity
    sequence_name: list[str] | None = None


def _int(node: Any) -> int:
    if isinstance(node, ast.Integer):
        return int(node.ival or 0)
    if isinstance(node, ast.Float):
        return int(str(node.fval))
    if isinstance(node, ast.String):
        return int(str(node.sval))
    if isinstance(node, ast.A_Const):
        return _int(node.val)
    raise ValueError(f"not an integer: {node!r}")


def sequence_params(
    state: State,
    options: Any,
    current: SeqParams | None,
    type_of: Callable[[ast.TypeName], str],
) -> SeqParams:
    """init_params of commands/sequence.c: apply CREATE/ALTER SEQUENCE options to `current`
    (None for a new sequence), filling PostgreSQL's defaults per type and direction."""
    is_init = current is None
    p = dataclasses.replace(current) if current is not None else SeqParams()
    given: dict[str, Any] = {}
    for opt in options or ():
        given[opt.defname] = opt.arg
    old_type = p.data_type
    if "as" in given:
        p.data_type = type_of(given["as"])
        if p.data_type not in TYPE_RANGES:
            raise state.error("identity column or sequence type must be smallint, integer, or bigint")
    reset_max = reset_min = False
    if not is_init and p.data_type != old_type:
        lo, hi = TYPE_RANGES[old_type]
        reset_max = p.max_value == hi
        reset_min = p.min_value == lo
    if "increment" in given:
        p.increment = _int(given["increment"])
    if "cycle" in given:
        p.cycle = bool(given["cycle"].boolval) if given["cycle"] is not None else True
    lo, hi = TYPE_RANGES[p.data_type]
    if given.get("maxvalue") is not None:
        p.max_value = _int(given["maxvalue"])
    elif is_init or "maxvalue" in given or reset_max:
        p.max_value = hi if (p.increment > 0 or reset_max) else -1
    if given.get("minvalue") is not None:
        p.min_value = _int(given["minvalue"])
    elif is_init or "minvalue" in given or reset_min:
        p.min_value = 1 if (p.increment > 0 and not reset_min) else lo
        if reset_min and p.increment > 0:
            p.min_value = lo
    if given.get("start") is not None:
        p.start = _int(given["start"])
    elif is_init:
        p.start = p.min_value if p.increment > 0 else p.max_value
    if "cache" in given:
        p.cache = _int(given["cache"])
    if "owned_by" in given:
        p.owned_by = names_of(given["owned_by"])
    if "generated" in given:
        p.generation = "ALWAYS" if _int(given["generated"]) == ord("a") else "BY DEFAULT"
    if "sequence_name" in given:
        p.sequence_name = names_of(given["sequence_name"])
    return p


def params_of_sequence(seq: Sequence) -> SeqParams:
    return SeqParams(
        seq.data_type, seq.start, seq.increment, seq.min_value, seq.max_value, seq.cache, seq.cycle
    )


def params_of_identity(identity: Identity, data_type: str) -> SeqParams:
    return SeqParams(
        data_type,
        identity.start,
        identity.increment,
        identity.min_value,
        identity.max_value,
        identity.cache,
        identity.cycle,
    )


def identity_of_params(generation: str, p: SeqParams) -> Identity:
    return Identity(
        generation,  # type: ignore[arg-type]
        start=p.start,
        increment=p.increment,
        min_value=p.min_value,
        max_value=p.max_value,
        cache=p.cache,
        cycle=p.cycle,
    )


def _type_of(state: State) -> Callable[[ast.TypeName], str]:
    return lambda tn: canon.data_type(state, tn)


def _apply_owned_by(state: State, seq_schema: str, seq: Sequence, owned: list[str]) -> Sequence:
    if not owned or owned == ["none"]:
        return dataclasses.replace(seq, owned_by=None)
    if len(owned) < 2:
        raise state.error("invalid OWNED BY option")
    table = state.table(ast.RangeVar(schemaname=owned[-3] if len(owned) > 2 else None, relname=owned[-2]))
    assert table is not None
    if table.schema != seq_schema:
        raise state.error("sequence must be in same schema as table it is linked to")
    if table.column(owned[-1]) is None:
        raise state.error(f'column "{owned[-1]}" of relation "{table.name}" does not exist')
    return dataclasses.replace(seq, owned_by=(table.name, owned[-1]))


@handles(ast.CreateSeqStmt)
def create_sequence(state: State, stmt: Any) -> None:
    rv = stmt.sequence
    schema = state.creation_schema(rv.schemaname)
    name = sql_naming.truncate_identifier(rv.relname)
    if state.relation_taken(schema, name):
        if stmt.if_not_exists:
            return
        raise state.error(f'relation "{name}" already exists')
    p = sequence_params(state, stmt.options, None, _type_of(state))
    seq = Sequence(
        schema, name, p.data_type, p.start, p.increment, p.min_value, p.max_value, p.cache, p.cycle
    )
    if p.owned_by is not None:
        seq = _apply_owned_by(state, schema, seq, p.owned_by)
    state.builder.add(seq)
    state.created("SEQUENCE", schema, name)


@handles(ast.AlterSeqStmt)
def alter_sequence(state: State, stmt: Any) -> None:
    rv = stmt.sequence
    found = state.find_relation(rv.schemaname, rv.relname)
    if found is None or not isinstance(found[1], Sequence):
        if stmt.missing_ok:
            return
        raise state.missing_relation(rv.schemaname, rv.relname)
    seq: Sequence = found[1]
    p = sequence_params(state, stmt.options, params_of_sequence(seq), _type_of(state))
    new = dataclasses.replace(
        seq,
        data_type=p.data_type,
        start=p.start,
        increment=p.increment,
        min_value=p.min_value,
        max_value=p.max_value,
        cache=p.cache,
        cycle=p.cycle,
    )
    if p.owned_by is not None:
        new = _apply_owned_by(state, seq.schema, new, p.owned_by)
    state.builder.add(new)


# --------------------------------------------------------------------------- constraints


def _fk_action(code: str) -> str:
    return {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}.get(
        code, "NO ACTION"
    )


def _column_refs(node: Any) -> set[str]:
    """Names of the columns an expression mentions (pull_var_clause, roughly)."""
    found: set[str] = set()

    def walk(n: Any) -> None:
        if isinstance(n, ast.ColumnRef):
            names = names_of(n.fields)
            if names:
                found.add(names[-1])
            return
        if isinstance(n, ast.SubLink):
            return
        if isinstance(n, ast.Node):
            for attr in n:
                walk(getattr(n, attr))
        elif isinstance(n, tuple):
            for item in n:
                walk(item)

    walk(node)
    return found


@dataclass
class PendingConstraints:
    """Constraints of one CREATE TABLE / ALTER TABLE command, added in PostgreSQL's order:
    CHECKs, then the PRIMARY KEY, then UNIQUE/EXCLUDE, then FOREIGN KEYs."""

    checks: list[ast.Constraint] = field(default_factory=list)
    indexes: list[tuple[ast.Constraint, list[str]]] = field(default_factory=list)
    fks: list[tuple[ast.Constraint, list[str]]] = field(default_factory=list)

    def add(self, c: Any, column: str | None) -> None:
        if c.contype == CONSTR_CHECK:
            self.checks.append(c)
        elif c.contype in (CONSTR_PRIMARY, CONSTR_UNIQUE, CONSTR_EXCLUSION):
            cols = [column] if column is not None and not c.keys else names_of(c.keys)
            self.indexes.append((c, cols))
        elif c.contype == CONSTR_FOREIGN:
            cols = [column] if column is not None and not c.fk_attrs else names_of(c.fk_attrs)
            self.fks.append((c, cols))


def apply_constraints(
    state: State, table: Table, pending: PendingConstraints, creating: bool, dedup: bool = False
) -> Table:
    table = _add_checks(state, table, pending.checks, creating)
    ordered = sorted(pending.indexes, key=lambda item: item[0].contype != CONSTR_PRIMARY)
    seen: list[tuple[Any, ...]] = []
    for c, cols in ordered:
        if dedup and c.contype != CONSTR_EXCLUSION:
            signature = (
                tuple(cols),
                tuple(names_of(c.including)),
                c.nulls_not_distinct,
                c.deferrable,
                c.initdeferred,
            )
            if signature in seen:
                continue
            seen.append(signature)
        table = _add_index_constraint(state, table, c, cols)
    fks: list[Constraint] = []
    for c, cols in pending.fks:
        fks.append(_foreign_key(state, table, c, cols, creating, fks))
    # the table replaced once for all its new foreign keys
    return state.update_table(table, constraints=(*table.constraints, *fks)) if fks else table


def _add_checks(state: State, table: Table, checks: list[ast.Constraint], creating: bool) -> Table:
    if not checks:
        return table
    names: list[str] = []
    new: list[Constraint] = []
    columns = column_types(table)
    for c in checks:
        if c.conname:
            name = sql_naming.truncate_identifier(c.conname)
            if any(x.name == name for x in table.constraints):
                raise state.error(f'constraint "{name}" for relation "{table.name}" already exists')
        else:
            refs = _column_refs(c.raw_expr)
            colname = next(iter(refs)) if len(refs) == 1 else None
            name = state.choose_constraint_name(table.schema, table.name, colname, "check", names)
        names.append(name)
        with canon.collecting(state, (table.schema, table.name)) as used:
            expression = canon.check_expression(state, c.raw_expr, columns)
        state.column_defaults[(table.schema, table.name, "check:" + name)] = ExprSource(
            "check", c.raw_expr, state.search_path
        )
        validated = True if creating else not c.skip_validation
        new.append(
            CheckConstraint(
                name,
                expression,
                no_inherit=bool(c.is_no_inherit),
                validated=validated,
                depends_on=used.depends_on,
            )
        )
    return state.update_table(table, constraints=table.constraints + tuple(new))


def _set_not_null(table: Table, columns: Iterable[str]) -> tuple[Column, ...]:
    wanted = set(columns)
    return tuple(
        dataclasses.replace(col, not_null=True) if col.name in wanted and not col.not_null else col
        for col in table.columns
    )


def _add_index_constraint(state: State, table: Table, c: Any, cols: list[str]) -> Table:
    include = names_of(c.including)
    if c.indexname:  # ADD CONSTRAINT ... USING INDEX
        index = state.builder.get(Index, table.schema, c.indexname)
        if index is None:
            raise state.error(f'index "{c.indexname}" does not exist')
        state.builder.remove(index)
        cols = [k.column or "" for k in index.keys]
        include = list(index.include)
        name = sql_naming.truncate_identifier(c.conname) if c.conname else index.name
    elif c.conname:
        name = sql_naming.truncate_identifier(c.conname)
        if state.relation_taken(table.schema, name):
            raise state.error(f'relation "{name}" already exists')
    else:
        if c.contype == CONSTR_EXCLUSION:
            colnames = [sql_naming.index_colname(pair[0], False) for pair in c.exclusions or ()]
        else:
            colnames = list(cols)
        colnames = sql_naming.index_column_names(colnames + include)
        if c.contype == CONSTR_PRIMARY:
            name = state.choose_relation_name(table.schema, table.name, None, "pkey", True)
        else:
            label = "excl" if c.contype == CONSTR_EXCLUSION else "key"
            name = state.choose_relation_name(
                table.schema, table.name, sql_naming.name_addition(colnames), label, True
            )
    deferrable = bool(c.deferrable)
    deferred = bool(c.initdeferred)
    constraint: Constraint
    columns = table.columns
    if c.contype == CONSTR_PRIMARY:
        if table.primary_key is not None:
            raise state.error(f'multiple primary keys for table "{table.name}" are not allowed')
        constraint = PrimaryKey(name, tuple(cols), tuple(include), deferrable, deferred)
        columns = _set_not_null(table, cols)
    elif c.contype == CONSTR_UNIQUE:
        constraint = UniqueConstraint(
            name, tuple(cols), tuple(include), bool(c.nulls_not_distinct), deferrable, deferred
        )
    else:
        types = column_types(table)
        elements = []
        with canon.collecting(state, (table.schema, table.name)) as used:
            for elem, ops in c.exclusions or ():
                expression = (
                    elem.name if elem.name else f"({canon.index_expression(state, elem.expr, types)})"
                )
                key = _index_key(state, elem, types, c.access_method or "gist", record=True)
                operator = ".".join(names_of(ops))
                resolved = canon.exclusion_operator(state, names_of(ops), elem, types)
                if resolved is None:  # kept as written; what it uses is not known
                    state.warn(
                        f"operator {operator} of exclusion constraint {name} not resolved; "
                        "its dependencies are read from the names in its text"
                    )
                    used.known = False
                elif resolved[0] == "pg_catalog":
                    operator = resolved[1]
                else:  # as pg_constraint's conexclop names it, and used (pg_depend)
                    operator = f"{quote_ident(resolved[0])}.{resolved[1]}"
                    used.found.add(Dependency("operator", *resolved))
                elements.append(
                    ExclusionElement(expression, operator, key.opclass, key.descending, key.nulls_first)
                )
            predicate = (
                canon.predicate_expression(state, c.where_clause, types)
                if c.where_clause is not None
                else None
            )
        # the columns it is on (key and INCLUDE), and what its expressions use, as an index's
        used.found |= {
            Dependency("column", table.schema, table.name, e.name) for e, _ in c.exclusions or () if e.name
        }
        used.found |= {Dependency("column", table.schema, table.name, col) for col in include}
        constraint = ExclusionConstraint(
            name,
            c.access_method or "gist",
            tuple(elements),
            tuple(include),
            predicate,
            deferrable,
            deferred,
            depends_on=used.depends_on,
        )
    for col in cols + include:
        if table.column(col) is None:
            raise state.error(f'column "{col}" named in key does not exist')
    return state.update_table(table, columns=columns, constraints=(*table.constraints, constraint))


def _foreign_key(
    state: State, table: Table, c: Any, cols: list[str], creating: bool, added: list[Constraint]
) -> ForeignKey:
    """The foreign key `c` of `table`, which gains the constraints `added` with it."""
    ref = state.table(c.pktable)
    assert ref is not None
    if ref.schema == table.schema and ref.name == table.name:
        ref = table
    ref_cols = names_of(c.pk_attrs)
    if not ref_cols:
        pk = ref.primary_key
        if pk is None:
            raise state.error(f'there is no primary key for referenced table "{ref.name}"')
        ref_cols = list(pk.columns)
    if c.conname:
        name = sql_naming.truncate_identifier(c.conname)
        if any(x.name == name for x in (*table.constraints, *added)):
            raise state.error(f'constraint "{name}" for relation "{table.name}" already exists')
    else:
        name = state.choose_constraint_name(
            table.schema, table.name, sql_naming.name_addition(cols), "fkey", [x.name for x in added]
        )
    match = {"f": "FULL", "p": "PARTIAL"}.get(c.fk_matchtype, "SIMPLE")
    fk = ForeignKey(
        name,
        tuple(cols),
        ref.schema,
        ref.name,
        tuple(ref_cols),
        on_update=_fk_action(c.fk_upd_action),  # type: ignore[arg-type]
        on_delete=_fk_action(c.fk_del_action),  # type: ignore[arg-type]
        match=match,  # type: ignore[arg-type]
        deferrable=bool(c.deferrable),
        initially_deferred=bool(c.initdeferred),
        validated=True if creating else not c.skip_validation,
    )
    return fk


# --------------------------------------------------------------------------- columns


@dataclass
class ColumnResult:
    column: Column
    serial: str | None = None  # the sequence's data type when the column is serial sugar
    identity_params: SeqParams | None = None
    default_node: Any = None


def _is_serial(tn: Any) -> str | None:
    if getattr(tn.names[-1] if tn.names else None, "sval", None) not in SERIAL_TYPES:
        return None  # most types: told by their last name alone
    names = names_of(tn.names)
    if tn.arrayBounds or len(names) > 2 or (len(names) == 2 and names[0] != "pg_catalog"):
        return None
    return SERIAL_TYPES.get(names[-1])


def _collation(state: State, clause: Any) -> str | None:
    if clause is None:
        return None
    return state.collation_text(names_of(clause.collname))


def column_from_def(
    state: State,
    cd: Any,
    pending: PendingConstraints,
    columns: dict[str, str],
    owner: tuple[str, str] | None = None,
) -> ColumnResult:
    """A column of a CREATE TABLE or ADD COLUMN; `owner`: its table (schema, name), for
    what its default or generation expression uses (Column.depends_on)."""
    name = sql_naming.truncate_identifier(cd.colname)
    serial = _is_serial(cd.typeName)
    data_type = serial if serial else canon.declared_type(state, cd.typeName)
    collation = _collation(state, cd.collClause)
    columns = ColumnTypes(columns.items(), column_collations(columns)).with_column(
        name, expression_type(data_type), collation
    )
    not_null = bool(cd.is_not_null)
    default: str | None = None
    default_node: Any = None
    identity_params: SeqParams | None = None
    generated: str | None = None
    depends_on: tuple[Dependency, ...] | None = None
    last: ast.Constraint | None = None
    for c in cd.constraints or ():
        kind = c.contype
        if kind == CONSTR_NOTNULL:
            not_null = True
        elif kind == CONSTR_NULL:
            not_null = False
        elif kind == CONSTR_DEFAULT:
            default_node = c.raw_expr
            with canon.collecting(state, owner or ("", "")) as used:
                default = canon.default_expression(state, c.raw_expr, data_type, columns)
            depends_on = used.depends_on if owner is not None and default is not None else None
        elif kind == CONSTR_IDENTITY:
            if data_type not in TYPE_RANGES:
                raise state.error("identity column type must be smallint, integer, or bigint")
            identity_params = _fresh_params(state, c.options, data_type)
            identity_params.generation = "ALWAYS" if c.generated_when == "a" else "BY DEFAULT"
            not_null = True
        elif kind == CONSTR_GENERATED:
            with canon.collecting(state, owner or ("", "")) as used:
                generated = canon.generated_expression(state, c.raw_expr, data_type, columns)
            depends_on = used.depends_on if owner is not None else None
        elif kind == CONSTR_PRIMARY:
            not_null = True
            pending.add(c, name)
        elif kind in (
            CONSTR_ATTR_DEFERRABLE,
            CONSTR_ATTR_NOT_DEFERRABLE,
            CONSTR_ATTR_DEFERRED,
            CONSTR_ATTR_IMMEDIATE,
        ):
            if last is not None:
                if kind == CONSTR_ATTR_DEFERRABLE:
                    last.deferrable = True
                elif kind == CONSTR_ATTR_NOT_DEFERRABLE:
                    last.deferrable = False
                elif kind == CONSTR_ATTR_DEFERRED:
                    last.initdeferred = True
                    last.deferrable = True
                else:
                    last.initdeferred = False
            continue
        elif kind in (CONSTR_ATTR_ENFORCED, CONSTR_ATTR_NOT_ENFORCED):
            continue
        else:
            pending.add(c, name)
        last = c
    if serial:
        not_null = True
    column = Column(
        name,
        data_type,
        not_null=not_null,
        default=default,
        identity=identity_of_params(identity_params.generation or "BY DEFAULT", identity_params)
        if identity_params
        else None,
        generated=generated,
        collation=collation,
        depends_on=depends_on,
    )
    return ColumnResult(column, serial, identity_params, default_node)


def finish_columns(state: State, schema: str, table_name: str, results: list[ColumnResult]) -> list[Column]:
    """Create the sequences of serial columns and reserve identity sequences' names."""
    out: list[Column] = []
    for r in results:
        col = r.column
        if r.serial:
            seqname = state.choose_relation_name(schema, table_name, col.name, "seq", False)
            _lo, hi = TYPE_RANGES[r.serial]
            state.builder.add(
                Sequence(schema, seqname, r.serial, 1, 1, 1, hi, 1, False, (table_name, col.name))
            )
            state.created("SEQUENCE", schema, seqname)
            col = replaced(
                col,
                default=f"nextval({regclass_text(schema, seqname)})",
                depends_on=(Dependency("relation", schema, seqname),),
            )
        elif r.identity_params is not None:
            wanted = r.identity_params.sequence_name
            if wanted:
                seqname = wanted[-1]
            else:
                seqname = state.choose_relation_name(schema, table_name, col.name, "seq", False)
            state.add_identity_sequence(schema, seqname, (table_name, col.name))
        if r.default_node is not None and not r.serial:
            state.column_defaults[(schema, table_name, col.name)] = ExprSource(
                "default", r.default_node, state.search_path, col.data_type
            )
        out.append(col)
    return out


# --------------------------------------------------------------------------- CREATE TABLE


def _reloptions(options: Any) -> tuple[str, ...]:
    out = []
    for opt in options or ():
        if opt.defname == "oids":
            continue
        name = f"{opt.defnamespace}.{opt.defname}" if opt.defnamespace else opt.defname
        out.append(f"{name}={_option_value(opt.arg)}")
    return tuple(out)


def _option_value(arg: Any) -> str:
    if arg is None:
        return "true"
    if isinstance(arg, ast.Integer):
        return str(arg.ival)
    if isinstance(arg, ast.Float):
        return str(arg.fval)
    if isinstance(arg, ast.Boolean):
        return "true" if arg.boolval else "false"
    if isinstance(arg, ast.String):
        return str(arg.sval)
    if isinstance(arg, ast.TypeName):
        return ".".join(names_of(arg.names))
    return str(arg)


def _inherited_columns(
    parents: Seq[Table], mark: bool = True, child: tuple[str, str] | None = None
) -> list[Column]:
    """The columns a new child gets from its parents, merged by name; `mark`: flagged
    Column.inherited (classic inheritance; a partition's columns are not marked). The
    child's (schema, name) `child`: a copied default or generation expression uses its
    columns, not the parent's."""
    merged: dict[str, Column] = {}
    for parent in parents:
        for col in parent.columns:
            prior = merged.get(col.name)
            depends_on = col.depends_on
            if depends_on and child is not None:
                depends_on = tuple(
                    sorted(
                        dataclasses.replace(d, schema=child[0], name=child[1])
                        if d.kind == "column" and (d.schema, d.name) == (parent.schema, parent.name)
                        else d
                        for d in depends_on
                    )
                )
            # Copies carry no declared array dimensions (attndims 0).
            inherited = dataclasses.replace(
                col,
                data_type=collapse_array_dims(col.data_type),
                identity=None,
                comment=None,
                inherited=mark,
                depends_on=depends_on,
            )
            if prior is None:
                merged[col.name] = inherited
            else:
                merged[col.name] = dataclasses.replace(prior, not_null=prior.not_null or col.not_null)
    return list(merged.values())


@handles(ast.CreateStmt)
def create_table(state: State, stmt: Any) -> None:
    rv = stmt.relation
    if rv.relpersistence == "t":
        state.temporary.add(rv.relname)
        raise Skip("temporary tables are not part of a schema")
    if stmt.ofTypename is not None:
        raise Skip("typed tables (CREATE TABLE ... OF type) are not modelled")
    schema = state.creation_schema(rv.schemaname)
    name = sql_naming.truncate_identifier(rv.relname)
    if state.relation_taken(schema, name):
        if stmt.if_not_exists:
            return
        raise state.error(f'relation "{name}" already exists', rv.location)
    parents = [state.table(p) for p in stmt.inhRelations or ()]
    parent_tables: list[Table] = [p for p in parents if p is not None]
    inherited = _inherited_columns(parent_tables, mark=stmt.partbound is None, child=(schema, name))
    by_name = {c.name: i for i, c in enumerate(inherited)}
    results: list[ColumnResult] = [ColumnResult(c) for c in inherited]
    pending = PendingConstraints()
    column_map = ColumnTypes(
        ((c.name, expression_type(c.data_type)) for c in inherited),
        {c.name: c.collation for c in inherited if c.collation is not None},
    )
    for element in stmt.tableElts or ():
        if isinstance(element, ast.ColumnDef):
            if (
                element.typeName is None and element.colname in by_name
            ):  # PARTITION OF ... (col WITH OPTIONS ...)
                r = _column_options(
                    state, results[by_name[element.colname]].column, element, pending, column_map
                )
                results[by_name[element.colname]] = r
                continue
            r = column_from_def(state, element, pending, column_map, (schema, name))
            column_map = column_map.with_column(r.column.name, expression_type(r.column.data_type), r.column.collation)
            if r.column.name in by_name:
                i = by_name[r.column.name]
                prior = results[i].column
                merged = dataclasses.replace(
                    r.column,
                    data_type=collapse_array_dims(r.column.data_type),
                    not_null=r.column.not_null or prior.not_null,
                    default=r.column.default if r.column.default is not None else prior.default,
                )
                results[i] = dataclasses.replace(r, column=merged)
            else:
                by_name[r.column.name] = len(results)
                results.append(r)
        elif isinstance(element, ast.Constraint):
            pending.add(element, None)
        elif isinstance(element, ast.TableLikeClause):
            for r in _like_columns(state, element):
                by_name[r.column.name] = len(results)
                results.append(r)
                column_map = column_map.with_column(
                    r.column.name, expression_type(r.column.data_type), r.column.collation
                )
        else:
            raise Skip(f"table element {type(element).__name__} is not modelled")
    columns = finish_columns(state, schema, name, results)
    partition_of: PartitionOf | None = None
    inherits: tuple[tuple[str, str], ...] = ()
    if stmt.partbound is not None:
        parent = parent_tables[0]
        bound = canon.partition_bound(state, stmt.partbound, parent)
        partition_of = PartitionOf(parent.schema, parent.name, bound)
    else:
        inherits = tuple((p.schema, p.name) for p in parent_tables)
    table = Table(
        schema,
        name,
        columns=tuple(columns),
        partition_of=partition_of,
        inherits=inherits,
        unlogged=rv.relpersistence == "u",
        options=_reloptions(stmt.options),
    )
    if stmt.partspec is not None:
        with canon.collecting(state, (schema, name)) as used:
            spec = canon.partition_key(state, stmt.partspec, column_types(table))
        table = dataclasses.replace(table, partition_by=dataclasses.replace(spec, depends_on=used.depends_on))
    # CHECKs the child only inherits are not listed (nself/frontends/live.py)
    state.put_table(None, table)
    state.created("TABLE", schema, name)
    for element in stmt.tableElts or ():
        if isinstance(element, ast.TableLikeClause):
            table = like_objects(state, table, element)
    table = apply_constraints(state, table, pending, creating=True, dedup=True)
    if partition_of is not None:
        clone_partition_objects(state, parent_tables[0], table)


def _column_options(
    state: State, col: Column, cd: Any, pending: PendingConstraints, columns: dict[str, str]
) -> ColumnResult:
    temp = ast.ColumnDef(
        colname=cd.colname,
        typeName=ast.TypeName(names=(ast.String(sval="text"),)),
        constraints=cd.constraints,
    )
    r = column_from_def(state, temp, pending, columns)
    merged = dataclasses.replace(
        col,
        not_null=col.not_null or r.column.not_null,
        default=r.column.default if r.column.default is not None else col.default,
    )
    return ColumnResult(merged, None, None, r.default_node)


LIKE_CONSTRAINTS, LIKE_INDEXES = 1 << 2, 1 << 6


def like_objects(state: State, table: Table, like: Any) -> Table:
    """LIKE ... INCLUDING CONSTRAINTS copies the CHECKs (with their names); INCLUDING
    INDEXES the source's indexes and index-backed constraints, under names chosen for the
    new table."""
    source = state.table(like.relation)
    assert source is not None
    options = int(like.options or 0)
    own = (source.schema, source.name), (table.schema, table.name)
    if options & LIKE_CONSTRAINTS:
        checks = tuple(
            dataclasses.replace(c, depends_on=reowned(c.depends_on, *own))
            for c in source.constraints
            if isinstance(c, CheckConstraint)
        )
        table = state.update_table(table, constraints=table.constraints + checks)
        for check in checks:
            check_source = state.column_defaults.get((source.schema, source.name, "check:" + check.name))
            if check_source is not None:
                state.column_defaults[(table.schema, table.name, "check:" + check.name)] = check_source
    if options & LIKE_INDEXES:
        for c in source.constraints:
            if isinstance(c, PrimaryKey):
                name = state.choose_relation_name(table.schema, table.name, None, "pkey", True)
            elif isinstance(c, (UniqueConstraint, ExclusionConstraint)):
                if isinstance(c, UniqueConstraint):
                    cols = list(c.columns)
                else:
                    cols = [e.expression if table.column(e.expression) else "expr" for e in c.elements]
                colnames = sql_naming.index_column_names(cols + list(c.include))
                label = "key" if isinstance(c, UniqueConstraint) else "excl"
                name = state.choose_relation_name(
                    table.schema, table.name, sql_naming.name_addition(colnames), label, True
                )
            else:
                continue
            copy = dataclasses.replace(c, name=name, comment=None)
            if isinstance(copy, ExclusionConstraint):
                copy = dataclasses.replace(copy, depends_on=reowned(copy.depends_on, *own))
            table = state.update_table(table, constraints=(*table.constraints, copy))
        for index in list(state.builder.all(Index)):
            if (index.schema, index.table) != (source.schema, source.name):
                continue
            colnames = _cloned_index_colnames(state, index)
            name = state.choose_relation_name(
                table.schema, table.name, sql_naming.name_addition(colnames), "idx", False
            )
            state.builder.add(
                dataclasses.replace(
                    index,
                    schema=table.schema,
                    name=name,
                    table=table.name,
                    comment=None,
                    depends_on=reowned(index.depends_on, *own),
                )
            )
            if (index.schema, index.name) in state.index_sources:
                state.index_sources[(table.schema, name)] = state.index_sources[(index.schema, index.name)]
    return table


def reowned(
    deps: tuple[Dependency, ...] | None, old: tuple[str, str], new: tuple[str, str]
) -> tuple[Dependency, ...] | None:
    """`deps` of an expression copied from table `old` to table `new` (LIKE): its own
    table's columns are the new table's."""
    if not deps:
        return deps
    return tuple(
        sorted(
            dataclasses.replace(d, schema=new[0], name=new[1])
            if (d.schema, d.name) == old and d.kind == "column"
            else d
            for d in deps
        )
    )


def _cloned_index_colnames(state: State, index: Index) -> list[str]:
    """The column names PostgreSQL derives for a copy of `index` (an expression key is
    named as in CREATE INDEX: `lower`, `coalesce`, or `expr`)."""
    source = state.index_sources.get((index.schema, index.name))
    if source is not None:
        elems = list(source.node.indexParams or ()) + list(source.node.indexIncludingParams or ())
        return sql_naming.index_column_names([sql_naming.index_colname(e) for e in elems])
    return sql_naming.index_column_names([k.column or "expr" for k in index.keys] + list(index.include))


def _like_columns(state: State, like: Any) -> list[ColumnResult]:
    source = state.table(like.relation)
    assert source is not None
    options = int(like.options or 0)
    # CREATE_TABLE_LIKE_* bits of parsenodes.h
    comments, defaults, generated, identity = 1 << 0, 1 << 3, 1 << 4, 1 << 5
    out = []
    for col in source.columns:
        out.append(
            ColumnResult(
                dataclasses.replace(
                    col,
                    data_type=collapse_array_dims(col.data_type),
                    default=col.default if options & defaults else None,
                    generated=col.generated if options & generated else None,
                    identity=col.identity if options & identity else None,
                    comment=col.comment if options & comments else None,
                )
            )
        )
    return out


# --------------------------------------------------------------------------- partitions


def clone_partition_objects(state: State, parent: Table, part: Table) -> None:
    """What PostgreSQL does to a new or attached partition that the IR shows: its columns
    become NOT NULL where the parent's are. The constraints, indexes and triggers it clones
    onto the partition are not IR objects (nself/frontends/live.py), but their names are
    taken, so later names are chosen as the server chooses them."""
    parent_cols = {c.name: c for c in parent.columns}
    columns = tuple(
        dataclasses.replace(c, not_null=True)
        if parent_cols.get(c.name) and parent_cols[c.name].not_null
        else c
        for c in part.columns
    )
    state.update_table(part, columns=columns)
    for c in parent.constraints:
        if isinstance(c, PrimaryKey):
            name = state.choose_relation_name(part.schema, part.name, None, "pkey", True)
        elif isinstance(c, UniqueConstraint):
            colnames = sql_naming.index_column_names(list(c.columns) + list(c.include))
            name = state.choose_relation_name(
                part.schema, part.name, sql_naming.name_addition(colnames), "key", True
            )
        else:
            continue
        state.hidden_relations[(part.schema, name)] = part.name
    for index in list(state.builder.all(Index)):
        if index.schema == parent.schema and index.table == parent.name:
            _clone_index(state, index, part)


def _clone_index(state: State, index: Index, part: Table) -> None:
    colnames = _cloned_index_colnames(state, index)
    name = state.choose_relation_name(
        part.schema, part.name, sql_naming.name_addition(colnames), "idx", False
    )
    state.hidden_relations[(part.schema, name)] = part.name


# --------------------------------------------------------------------------- ALTER TABLE

AlterHandler = Callable[[State, Table, ast.AlterTableCmd], Table]
ALTER_TABLE: dict[AlterTableType, AlterHandler] = {}
# subcommands with no effect on the IR (storage, statistics, tablespace, ownership, ...)
IGNORED_ALTERS = {
    AlterTableType.AT_ChangeOwner,
    AlterTableType.AT_SetStatistics,
    AlterTableType.AT_SetStorage,
    AlterTableType.AT_SetCompression,
    AlterTableType.AT_SetOptions,
    AlterTableType.AT_ResetOptions,
    AlterTableType.AT_ClusterOn,
    AlterTableType.AT_DropCluster,
    AlterTableType.AT_SetTableSpace,
    AlterTableType.AT_SetAccessMethod,
    AlterTableType.AT_DropOids,
}


def alter(*kinds: AlterTableType) -> Callable[[AlterHandler], AlterHandler]:
    def register(fn: AlterHandler) -> AlterHandler:
        for kind in kinds:
            ALTER_TABLE[kind] = fn
        return fn

    return register


@handles(ast.AlterTableStmt)
def alter_table(state: State, stmt: Any) -> None:
    rv = stmt.relation
    if stmt.objtype == ObjectType.OBJECT_INDEX:
        alter_index(state, stmt)
        return
    found = state.find_relation(rv.schemaname, rv.relname)
    if found is None:
        if stmt.missing_ok:
            return
        if all(cmd.subtype in IGNORED_ALTERS for cmd in stmt.cmds):
            return
        raise state.missing_relation(rv.schemaname, rv.relname, rv.location)
    obj = found[1]
    if isinstance(obj, CompositeType):
        alter_composite(state, obj, stmt)
        return
    if not isinstance(obj, Table):
        for cmd in stmt.cmds:
            if cmd.subtype in IGNORED_ALTERS:
                continue
            if isinstance(obj, (Index, Sequence, View)) and cmd.subtype in (
                AlterTableType.AT_SetRelOptions,
                AlterTableType.AT_ResetRelOptions,
                AlterTableType.AT_AttachPartition,
            ):
                if isinstance(obj, View) and cmd.subtype != AlterTableType.AT_AttachPartition:
                    _view_options(state, obj, cmd)
                continue
            if isinstance(obj, Sequence) and cmd.subtype in (
                AlterTableType.AT_SetLogged,
                AlterTableType.AT_SetUnLogged,
            ):
                continue
            if isinstance(obj, View) and cmd.subtype == AlterTableType.AT_ColumnDefault:
                state.warn("column defaults of views are not modelled")
                continue
            raise Skip(
                f"ALTER {stmt.objtype.name.removeprefix('OBJECT_')} {cmd.subtype.name} on {type(obj).__name__.lower()} is not modelled"
            )
        return
    table: Table = obj
    state.alter_only = not rv.inh
    for cmd in stmt.cmds:
        if cmd.subtype in IGNORED_ALTERS:
            continue
        handler = ALTER_TABLE.get(cmd.subtype)
        if handler is None:
            state.warn(f"ALTER TABLE {cmd.subtype.name.removeprefix('AT_')} is not modelled")
            continue
        current = state.builder.get(Table, table.schema, table.name)
        assert current is not None
        table = handler(state, current, cmd)


def alter_composite(state: State, composite: CompositeType, stmt: Any) -> None:
    """ALTER TYPE ... ADD / DROP / ALTER ATTRIBUTE of a composite type."""
    attributes = list(composite.attributes)
    for cmd in stmt.cmds:
        if cmd.subtype == AlterTableType.AT_AddColumn:
            cd = cmd.def_
            attributes.append(
                CompositeAttribute(
                    cd.colname, canon.declared_type(state, cd.typeName), _collation(state, cd.collClause)
                )
            )
        elif cmd.subtype == AlterTableType.AT_DropColumn:
            if not any(a.name == cmd.name for a in attributes) and not cmd.missing_ok:
                raise state.error(f'column "{cmd.name}" of relation "{composite.name}" does not exist')
            attributes = [a for a in attributes if a.name != cmd.name]
        elif cmd.subtype == AlterTableType.AT_AlterColumnType:
            cd = cmd.def_
            data_type = canon.declared_type(state, cd.typeName)
            collation = _collation(state, cd.collClause)
            attributes = [
                dataclasses.replace(a, data_type=data_type, collation=collation) if a.name == cmd.name else a
                for a in attributes
            ]
        elif cmd.subtype not in IGNORED_ALTERS:
            state.warn(f"ALTER TYPE {cmd.subtype.name.removeprefix('AT_')} is not modelled")
    state.builder.add(dataclasses.replace(composite, attributes=tuple(attributes)))


def alter_index(state: State, stmt: Any) -> None:
    rv = stmt.relation
    found = state.find_relation(rv.schemaname, rv.relname)
    index = found[1] if found is not None and isinstance(found[1], Index) else None
    for cmd in stmt.cmds:
        if cmd.subtype == AlterTableType.AT_AttachPartition:
            attach_index_partition(state, rv.schemaname or (found[0] if found else ""), cmd)
        elif cmd.subtype in (AlterTableType.AT_SetRelOptions, AlterTableType.AT_ResetRelOptions) and index:
            options = dict(o.split("=", 1) for o in index.options)
            for opt in cmd.def_ or ():
                if cmd.subtype == AlterTableType.AT_SetRelOptions:
                    options[opt.defname] = _option_value(opt.arg)
                else:
                    options.pop(opt.defname, None)
            index = dataclasses.replace(index, options=tuple(f"{k}={v}" for k, v in options.items()))
            state.builder.add(index)
        elif cmd.subtype not in IGNORED_ALTERS:
            state.warn(f"ALTER INDEX {cmd.subtype.name.removeprefix('AT_')} is not modelled")


def _view_options(state: State, view: View, cmd: Any) -> None:
    options = dict(o.split("=", 1) for o in view.options)
    for opt in cmd.def_ or ():
        if cmd.subtype == AlterTableType.AT_SetRelOptions:
            options[opt.defname] = _option_value(opt.arg)
        else:
            options.pop(opt.defname, None)
    state.builder.add(dataclasses.replace(view, options=tuple(f"{k}={v}" for k, v in options.items())))


def _column(state: State, table: Table, name: str) -> Column:
    col = table.column(name)
    if col is None:
        raise state.error(f'column "{name}" of relation "{table.name}" does not exist')
    return col


def _replace_column(state: State, table: Table, old: Column, new: Column) -> Table:
    return state.update_table(table, columns=tuple(new if c.name == old.name else c for c in table.columns))


@alter(AlterTableType.AT_AddColumn)
def add_column(state: State, table: Table, cmd: Any) -> Table:
    cd = cmd.def_
    if table.column(sql_naming.truncate_identifier(cd.colname)) is not None:
        if cmd.missing_ok:
            return table
        raise state.error(f'column "{cd.colname}" of relation "{table.name}" already exists')
    pending = PendingConstraints()
    r = column_from_def(state, cd, pending, column_types(table), (table.schema, table.name))
    (col,) = finish_columns(state, table.schema, table.name, [r])
    table = state.update_table(table, columns=(*table.columns, col))
    table = apply_constraints(state, table, pending, creating=False)
    _add_to_children(state, table, col)
    return table


def _add_to_children(state: State, table: Table, col: Column) -> None:
    """ADD COLUMN recurses: a child that has no column of the name gets one it only
    inherits (a partition's is not marked); one that has it keeps its own."""
    for child in _children(state, table):
        if child.column(col.name) is None:
            added = dataclasses.replace(
                col, identity=None, comment=None, inherited=child.partition_of is None
            )
            child = state.update_table(child, columns=(*child.columns, added))
            _add_to_children(state, child, added)


def _children(state: State, table: Table) -> list[Table]:
    return state.children_of(table)


def _other_parents_have(state: State, child: Table, parent: Table, column: str) -> bool:
    """Whether a parent of `child` other than `parent` has `column` (it keeps it inherited)."""
    for schema, name in child.inherits:
        if (schema, name) == (parent.schema, parent.name):
            continue
        other = state.builder.get(Table, schema, name)
        if other is not None and other.column(column) is not None:
            return True
    return False


def localise_columns(state: State, child: Table, parents: Iterable[tuple[str, str]]) -> Table:
    """A child leaves parents (NO INHERIT, a parent dropped): a column no remaining parent
    has becomes local, as PostgreSQL sets attislocal when attinhcount reaches 0."""
    remaining = [state.builder.get(Table, s, n) for s, n in parents]
    names = {c.name for p in remaining if p is not None for c in p.columns}
    columns = tuple(
        dataclasses.replace(c, inherited=False) if c.inherited and c.name not in names else c
        for c in child.columns
    )
    return child if columns == child.columns else state.update_table(child, columns=columns)


_IDENT = r'(?<![\w"$.]){name}(?![\w"$])'


def mentions(text: str | None, column: str, qualified: bool = False) -> bool:
    """Whether a canonical expression mentions a column (plain or quoted; `qualified`:
    also as `rel.column`, as view definitions write it)."""
    if not text:
        return False
    quoted = quote_ident(column, always=True)
    pattern = _IDENT.replace("$.", "$") if qualified else _IDENT
    return bool(re.search(pattern.format(name=re.escape(column)), text) or quoted in text)


def _constraint_uses(c: Constraint, column: str) -> bool:
    if isinstance(c, (PrimaryKey, UniqueConstraint)):
        return column in c.columns or column in c.include
    if isinstance(c, ForeignKey):
        return column in c.columns
    if isinstance(c, CheckConstraint):
        return mentions(c.expression, column)
    return (
        any(e.expression == column or mentions(e.expression, column) for e in c.elements)
        or column in c.include
    )


def index_uses(index: Index, column: str) -> bool:
    return (
        any(k.column == column or mentions(k.expression, column) for k in index.keys)
        or column in index.include
        or mentions(index.predicate, column)
    )


@alter(AlterTableType.AT_DropColumn)
def drop_column(state: State, table: Table, cmd: Any) -> Table:
    col = table.column(cmd.name)
    if col is None:
        if cmd.missing_ok:
            return table
        raise state.error(f'column "{cmd.name}" of relation "{table.name}" does not exist')
    return remove_column(
        state, table, col.name, cmd.behavior == DropBehavior.DROP_CASCADE, only=state.alter_only
    )


def remove_column(state: State, table: Table, column: str, cascade: bool, only: bool = False) -> Table:
    """DROP COLUMN with what it takes along. On children: a partition's column goes; an
    inheritance child's goes when it only inherits it from this parent, otherwise it stays
    (with ONLY, it stays and becomes local)."""
    # views that use the column go with it (DROP COLUMN ... CASCADE; PostgreSQL refuses without)
    from nself.frontends.sql_objects import drop_view_obj

    used = Dependency("column", table.schema, table.name, column)
    for view_key, reads in list(state.view_dependencies.items()):
        view = state.builder.get(View, *view_key)
        if view is None or (table.schema, table.name) not in reads:
            continue
        # the columns the view's query reads, as pg_depend records them; the text only where
        # they are not known (`versions.id` is not version_downloads.id: crates.io)
        if used in view.depends_on if view.depends_on is not None else mentions(view.definition, column, True):
            drop_view_obj(state, view)
    dropped = [c for c in table.constraints if _constraint_uses(c, column)]
    table = state.update_table(
        table,
        columns=tuple(c for c in table.columns if c.name != column),
        constraints=tuple(c for c in table.constraints if c not in dropped),
    )
    for index in list(state.builder.all(Index)):
        if index.schema == table.schema and index.table == table.name and index_uses(index, column):
            state.builder.remove(index)
    for seq in list(state.builder.all(Sequence)):
        if seq.schema == table.schema and seq.owned_by == (table.name, column):
            state.builder.remove(seq)
    for key, owner in list(state.identity_sequences.items()):
        if key[0] == table.schema and owner == (table.name, column):
            state.forget_identity_sequence(key)
    state.column_defaults.pop((table.schema, table.name, column), None)
    for priv in list(state.builder.all(Privilege)):
        if priv.schema == table.schema and priv.object_name == table.name and priv.column == column:
            state.builder.remove(priv)
    for trigger in list(state.builder.all(Trigger)):
        if (
            trigger.schema == table.schema
            and trigger.table == table.name
            and column in trigger.update_columns
        ):
            state.builder.remove(trigger)
    # Foreign keys elsewhere that reference a dropped unique key go with it (CASCADE).
    for c in dropped:
        if isinstance(c, (PrimaryKey, UniqueConstraint)):
            drop_referencing_fks(state, table, c.columns)
    for child in _children(state, table):
        child_col = child.column(column)
        if child_col is None:
            continue
        if child.partition_of is not None:
            remove_column(state, child, column, cascade)
        elif only:
            _replace_column(state, child, child_col, dataclasses.replace(child_col, inherited=False))
        elif child_col.inherited and not _other_parents_have(state, child, table, column):
            remove_column(state, child, column, cascade)
    current = state.builder.get(Table, table.schema, table.name)
    assert current is not None
    return current


def drop_referencing_fks(state: State, table: Table, columns: tuple[str, ...]) -> None:
    for other in list(state.builder.all(Table)):
        fks = [
            c
            for c in other.constraints
            if isinstance(c, ForeignKey)
            and (c.ref_schema, c.ref_table) == (table.schema, table.name)
            and set(c.ref_columns) == set(columns)
        ]
        if fks:
            state.update_table(other, constraints=tuple(c for c in other.constraints if c not in fks))


@alter(AlterTableType.AT_ColumnDefault)
def column_default(state: State, table: Table, cmd: Any) -> Table:
    col = _column(state, table, cmd.name)
    key = (table.schema, table.name, col.name)
    if cmd.def_ is None:
        state.column_defaults.pop(key, None)
        depends_on = col.depends_on if col.generated is not None else None
        return _replace_column(
            state, table, col, dataclasses.replace(col, default=None, depends_on=depends_on)
        )
    with canon.collecting(state, (table.schema, table.name)) as used:
        default = canon.default_expression(state, cmd.def_, col.data_type, column_types(table))
    state.column_defaults[key] = ExprSource("default", cmd.def_, state.search_path, col.data_type)
    depends_on = used.depends_on if default is not None else None
    return _replace_column(
        state, table, col, dataclasses.replace(col, default=default, depends_on=depends_on)
    )


@alter(AlterTableType.AT_SetNotNull, AlterTableType.AT_DropNotNull)
def column_not_null(state: State, table: Table, cmd: Any) -> Table:
    col = _column(state, table, cmd.name)
    not_null = cmd.subtype == AlterTableType.AT_SetNotNull
    table = _replace_column(state, table, col, dataclasses.replace(col, not_null=not_null))
    if not_null:
        for child in _children(state, table):
            c = child.column(col.name)
            if c is not None and not c.not_null:
                _replace_column(state, child, c, dataclasses.replace(c, not_null=True))
    return table


@alter(AlterTableType.AT_AlterColumnType)
def alter_column_type(state: State, table: Table, cmd: Any) -> Table:
    col = _column(state, table, cmd.name)
    cd = cmd.def_
    data_type = canon.declared_type(state, cd.typeName)
    # The default keeps its text: PostgreSQL coerces the stored expression to the new type
    # with an implicit cast, which its deparser does not print.
    new = dataclasses.replace(col, data_type=data_type, collation=_collation(state, cd.collClause))
    table = _replace_column(state, table, col, new)
    table = _recook_checks(state, table)
    rederive_indexes(state, table, col.name)
    for child in _children(state, table):
        c = child.column(col.name)
        if c is not None:
            alter_column_type(state, child, cmd)
    current = state.builder.get(Table, table.schema, table.name)
    assert current is not None
    return current


def _recook_checks(state: State, table: Table) -> Table:
    types = column_types(table)
    changed = False
    constraints = []
    for c in table.constraints:
        source = state.column_defaults.get((table.schema, table.name, "check:" + c.name))
        if isinstance(c, CheckConstraint) and source is not None:
            saved = state.search_path
            state.search_path = source.search_path
            with canon.collecting(state, (table.schema, table.name)) as used:
                expression = canon.check_expression(state, source.node, types)
            state.search_path = saved
            if expression != c.expression or used.depends_on != c.depends_on:
                c = dataclasses.replace(c, expression=expression, depends_on=used.depends_on)
                changed = True
        constraints.append(c)
    return state.update_table(table, constraints=tuple(constraints)) if changed else table


@alter(AlterTableType.AT_AddIdentity)
def add_identity(state: State, table: Table, cmd: Any) -> Table:
    col = _column(state, table, cmd.name)
    c = cmd.def_
    if col.data_type not in TYPE_RANGES:
        raise state.error("identity column type must be smallint, integer, or bigint")
    if not col.not_null:
        raise state.error(
            f'column "{col.name}" of relation "{table.name}" must be declared NOT NULL before identity can be added'
        )
    p = _fresh_params(state, c.options, col.data_type)
    generation = "ALWAYS" if c.generated_when == "a" else "BY DEFAULT"
    seqname = state.choose_relation_name(table.schema, table.name, col.name, "seq", False)
    state.add_identity_sequence(table.schema, seqname, (table.name, col.name))
    return _replace_column(
        state, table, col, dataclasses.replace(col, identity=identity_of_params(generation, p), not_null=True)
    )


def _fresh_params(state: State, options: Any, data_type: str) -> SeqParams:
    return sequence_params(
        state,
        [ast.DefElem(defname="as", arg=ast.TypeName(names=(ast.String(sval="int8"),))), *list(options or ())],
        None,
        lambda tn: data_type,
    )


@alter(AlterTableType.AT_SetIdentity)
def set_identity(state: State, table: Table, cmd: Any) -> Table:
    col = _column(state, table, cmd.name)
    if col.identity is None:
        raise state.error(f'column "{col.name}" of relation "{table.name}" is not an identity column')
    options = [o for o in cmd.def_ or () if o.defname != "restart"]
    p = sequence_params(
        state, options, params_of_identity(col.identity, col.data_type), lambda tn: col.data_type
    )
    generation = p.generation or col.identity.generation
    return _replace_column(
        state, table, col, dataclasses.replace(col, identity=identity_of_params(generation, p))
    )


@alter(AlterTableType.AT_DropIdentity)
def drop_identity(state: State, table: Table, cmd: Any) -> Table:
    col = _column(state, table, cmd.name)
    if col.identity is None:
        if cmd.missing_ok:
            return table
        raise state.error(f'column "{col.name}" of relation "{table.name}" is not an identity column')
    for key, owner in list(state.identity_sequences.items()):
        if key[0] == table.schema and owner == (table.name, col.name):
            state.forget_identity_sequence(key)
    return _replace_column(state, table, col, dataclasses.replace(col, identity=None))


@alter(AlterTableType.AT_DropExpression)
def drop_expression(state: State, table: Table, cmd: Any) -> Table:
    col = _column(state, table, cmd.name)
    return _replace_column(state, table, col, dataclasses.replace(col, generated=None, depends_on=None))


@alter(AlterTableType.AT_SetExpression)
def set_expression(state: State, table: Table, cmd: Any) -> Table:
    col = _column(state, table, cmd.name)
    with canon.collecting(state, (table.schema, table.name)) as used:
        expression = canon.generated_expression(state, cmd.def_, col.data_type, column_types(table))
    return _replace_column(
        state, table, col, dataclasses.replace(col, generated=expression, depends_on=used.depends_on)
    )


@alter(AlterTableType.AT_AddConstraint, AlterTableType.AT_AddIndexConstraint)
def add_constraint(state: State, table: Table, cmd: Any) -> Table:
    c = cmd.def_
    if c.contype == CONSTR_NOTNULL:  # PostgreSQL 18 syntax: ADD CONSTRAINT ... NOT NULL col
        return state.update_table(table, columns=_set_not_null(table, names_of(c.keys)))
    pending = PendingConstraints()
    pending.add(c, None)
    table = apply_constraints(state, table, pending, creating=False)
    # Copies on children (inherited CHECKs, constraints cloned onto partitions) are not IR
    # objects; a PRIMARY KEY's NOT NULL does reach the partitions' columns.
    if c.contype == CONSTR_PRIMARY:
        for child in _children(state, table):
            if child.partition_of is not None:
                cols = table.primary_key.columns if table.primary_key else ()
                state.update_table(child, columns=_set_not_null(child, cols))
    return table


def find_constraint(table: Table, name: str) -> Constraint | None:
    return next((c for c in table.constraints if c.name == name), None)


@alter(AlterTableType.AT_DropConstraint)
def drop_constraint(state: State, table: Table, cmd: Any) -> Table:
    c = find_constraint(table, cmd.name)
    if c is None:
        if cmd.missing_ok:
            return table
        raise state.error(f'constraint "{cmd.name}" of relation "{table.name}" does not exist')
    table = state.update_table(table, constraints=tuple(x for x in table.constraints if x is not c))
    state.column_defaults.pop((table.schema, table.name, "check:" + c.name), None)
    if isinstance(c, (PrimaryKey, UniqueConstraint)):
        drop_referencing_fks(state, table, c.columns)
    for child in _children(state, table):
        inherited = find_constraint(child, c.name)
        if inherited is not None and isinstance(c, (CheckConstraint, ForeignKey)):
            state.update_table(child, constraints=tuple(x for x in child.constraints if x is not inherited))
        elif child.partition_of is not None and isinstance(c, (PrimaryKey, UniqueConstraint)):
            same = [
                x
                for x in child.constraints
                if type(x) is type(c) and getattr(x, "columns", None) == c.columns
            ]
            state.update_table(child, constraints=tuple(x for x in child.constraints if x not in same))
    current = state.builder.get(Table, table.schema, table.name)
    assert current is not None
    return current


@alter(AlterTableType.AT_AlterConstraint)
def alter_constraint(state: State, table: Table, cmd: Any) -> Table:
    spec = cmd.def_
    c = find_constraint(table, spec.conname)
    if c is None:
        raise state.error(f'constraint "{spec.conname}" of relation "{table.name}" does not exist')
    if not isinstance(c, ForeignKey):
        raise state.error(f'constraint "{c.name}" of relation "{table.name}" is not a foreign key constraint')
    changes: dict[str, Any] = {}
    if getattr(spec, "alterDeferrability", True):
        changes = {"deferrable": bool(spec.deferrable), "initially_deferred": bool(spec.initdeferred)}
    new = dataclasses.replace(c, **changes)
    return state.update_table(table, constraints=tuple(new if x is c else x for x in table.constraints))


@alter(AlterTableType.AT_ValidateConstraint)
def validate_constraint(state: State, table: Table, cmd: Any) -> Table:
    c = find_constraint(table, cmd.name)
    if c is None:
        raise state.error(f'constraint "{cmd.name}" of relation "{table.name}" does not exist')
    if isinstance(c, (ForeignKey, CheckConstraint)):
        new = dataclasses.replace(c, validated=True)
        return state.update_table(table, constraints=tuple(new if x is c else x for x in table.constraints))
    return table


@alter(AlterTableType.AT_EnableRowSecurity, AlterTableType.AT_DisableRowSecurity)
def row_security(state: State, table: Table, cmd: Any) -> Table:
    return state.update_table(table, rls_enabled=cmd.subtype == AlterTableType.AT_EnableRowSecurity)


@alter(AlterTableType.AT_ForceRowSecurity, AlterTableType.AT_NoForceRowSecurity)
def force_row_security(state: State, table: Table, cmd: Any) -> Table:
    return state.update_table(table, rls_forced=cmd.subtype == AlterTableType.AT_ForceRowSecurity)


@alter(AlterTableType.AT_SetLogged, AlterTableType.AT_SetUnLogged)
def set_logged(state: State, table: Table, cmd: Any) -> Table:
    return state.update_table(table, unlogged=cmd.subtype == AlterTableType.AT_SetUnLogged)


@alter(
    AlterTableType.AT_SetRelOptions, AlterTableType.AT_ResetRelOptions, AlterTableType.AT_ReplaceRelOptions
)
def rel_options(state: State, table: Table, cmd: Any) -> Table:
    options = dict(o.split("=", 1) for o in table.options)
    if cmd.subtype == AlterTableType.AT_ReplaceRelOptions:
        options = {}
    for opt in cmd.def_ or ():
        name = f"{opt.defnamespace}.{opt.defname}" if opt.defnamespace else opt.defname
        if cmd.subtype == AlterTableType.AT_ResetRelOptions:
            options.pop(name, None)
        else:
            options[name] = _option_value(opt.arg)
    return state.update_table(table, options=tuple(f"{k}={v}" for k, v in options.items()))


_TRIGGER_STATES = {
    AlterTableType.AT_EnableTrig: "O",
    AlterTableType.AT_EnableAlwaysTrig: "A",
    AlterTableType.AT_EnableReplicaTrig: "R",
    AlterTableType.AT_DisableTrig: "D",
    AlterTableType.AT_EnableTrigAll: "O",
    AlterTableType.AT_DisableTrigAll: "D",
    AlterTableType.AT_EnableTrigUser: "O",
    AlterTableType.AT_DisableTrigUser: "D",
}


@alter(*_TRIGGER_STATES)
def trigger_state(state: State, table: Table, cmd: Any) -> Table:
    enabled = _TRIGGER_STATES[cmd.subtype]
    for trigger in list(state.builder.all(Trigger)):
        if (
            trigger.schema == table.schema
            and trigger.table == table.name
            and (cmd.name is None or trigger.name == cmd.name)
        ):
            state.builder.add(dataclasses.replace(trigger, enabled=enabled))  # type: ignore[arg-type]
    return table


@alter(AlterTableType.AT_AttachPartition)
def attach_partition(state: State, table: Table, cmd: Any) -> Table:
    part_cmd = cmd.def_
    part = state.table(part_cmd.name)
    assert part is not None
    bound = canon.partition_bound(state, part_cmd.bound, table)
    part = state.update_table(part, partition_of=PartitionOf(table.schema, table.name, bound))
    clone_partition_objects(state, table, part)
    return table


@alter(AlterTableType.AT_DetachPartition)
def detach_partition(state: State, table: Table, cmd: Any) -> Table:
    part = state.table(cmd.def_.name)
    assert part is not None
    state.update_table(part, partition_of=None)
    return table


@alter(AlterTableType.AT_AddInherit)
def add_inherit(state: State, table: Table, cmd: Any) -> Table:
    parent = state.table(cmd.def_)
    assert parent is not None
    return state.update_table(table, inherits=(*table.inherits, (parent.schema, parent.name)))


@alter(AlterTableType.AT_DropInherit)
def drop_inherit(state: State, table: Table, cmd: Any) -> Table:
    parent = state.table(cmd.def_)
    assert parent is not None
    table = state.update_table(
        table, inherits=tuple(p for p in table.inherits if p != (parent.schema, parent.name))
    )
    return localise_columns(state, table, table.inherits)


# --------------------------------------------------------------------------- indexes


# Operator classes of PostgreSQL 15's contrib extensions that are not their type's default
# (a default one is not shown by pg_get_indexdef, so the IR leaves it out).
EXTENSION_OPCLASSES = {
    "gin_trgm_ops": "pg_trgm",
    "gist_trgm_ops": "pg_trgm",
    "gist__intbig_ops": "intarray",
    "gin__int_ops": "intarray",
    "gist__ltree_ops": "ltree",
    "gist_hstore_ops": "hstore",
}
_DEFAULT_OPCLASS = re.compile(
    r"(int2|int4|int8|float4|float8|numeric|text|bpchar|bytea|bool|char|name|oid|date|time|timetz"
    r"|timestamp|timestamptz|interval|uuid|inet|macaddr|macaddr8|money|bit|varbit|enum|jsonb"
    r"|array|record|range|multirange|tsvector|tsquery|pg_lsn|oidvector|xid8|citext|ltree"
    r"|gin_hstore|gist_ltree|gist_cube|gist__int)_ops"
)


def opclass_text(state: State, names: list[str], method: str = "btree") -> str | None:
    """An index key's operator class as the IR shows it: None when it is the default for
    the column's type, otherwise qualified unless it is PostgreSQL's own."""
    if not names:
        return None
    if len(names) > 1:
        return names[-1] if names[-2] == "pg_catalog" else f"{names[-2]}.{names[-1]}"
    name = names[-1]
    extension = EXTENSION_OPCLASSES.get(name)
    if extension is not None:
        from nself.ir.model import Extension

        ext = next((e for e in state.builder.all(Extension) if e.name == extension), None)
        return f"{ext.schema if ext else 'public'}.{name}"
    if name == "inet_ops" and method == "gist":  # gist's default for inet is btree_gist's
        return name
    if _DEFAULT_OPCLASS.fullmatch(name):
        return None
    return name


def _index_key(
    state: State, elem: Any, columns: dict[str, str] | Any, method: str = "btree", record: bool = False
) -> IndexKey:
    """One key of an index; `record`: what the key's collation is (indcollation) is
    recorded as pg_depend records it for the index (a user collation)."""
    descending = elem.ordering == SortByDir.SORTBY_DESC
    nulls_first: bool | None = None
    if elem.nulls_ordering == SortByNulls.SORTBY_NULLS_FIRST:
        nulls_first = True
    elif elem.nulls_ordering == SortByNulls.SORTBY_NULLS_LAST:
        nulls_first = False
    if nulls_first is not None and nulls_first == descending:
        nulls_first = None
    opclass = opclass_text(state, names_of(elem.opclass), method)
    collation = None
    if elem.collation:
        collation = _collation(state, ast.CollateClause(collname=elem.collation))
    if record and state.collecting is not None:
        used = collation
        if used is None and elem.name and elem.name in columns:
            used = column_collations(columns).get(elem.name) or canon.type_collation(state, columns[elem.name])
        dependency = user_collation(used)
        if dependency is not None:
            state.collecting.found.add(dependency)
    if elem.name:
        return IndexKey(
            column=elem.name,
            collation=collation,
            opclass=opclass,
            descending=descending,
            nulls_first=nulls_first,
        )
    expression = canon.index_expression(state, elem.expr, columns, key_collation=record and collation is None)
    return IndexKey(
        expression=expression,
        collation=collation,
        opclass=opclass,
        descending=descending,
        nulls_first=nulls_first,
    )


def index_expressions(
    state: State, stmt: Any, columns: dict[str, str], table: Table | None = None
) -> tuple[tuple[IndexKey, ...], str | None]:
    """The keys and predicate of CREATE INDEX. With the `table` known, a column key's
    collation equal to the column's own is left out, as pg_get_indexdef leaves it out."""
    method = stmt.accessMethod or "btree"
    keys = tuple(_index_key(state, e, columns, method, record=True) for e in stmt.indexParams or ())
    if table is not None:
        keys = tuple(_without_column_collation(k, table) for k in keys)
    predicate = None
    if stmt.whereClause is not None:
        predicate = canon.predicate_expression(state, stmt.whereClause, columns)
    return keys, predicate


def _without_column_collation(key: IndexKey, table: Table) -> IndexKey:
    column = table.column(key.column) if key.column is not None else None
    if column is not None and key.collation is not None and key.collation == column.collation:
        return dataclasses.replace(key, collation=None)
    return key


def rederive_indexes(state: State, table: Table, column: str) -> None:
    """ALTER COLUMN TYPE rebuilds the indexes on the column from their definitions, so
    their expressions are typed anew."""
    types = column_types(table)
    for index in list(state.builder.all(Index)):
        if (index.schema, index.table) != (table.schema, table.name) or not index_uses(index, column):
            continue
        source = state.index_sources.get((index.schema, index.name))
        if source is None:
            continue
        saved = state.search_path
        state.search_path = source.search_path
        try:
            keys, predicate = index_expressions(state, source.node, types, table)
        finally:
            state.search_path = saved
        state.builder.add(dataclasses.replace(index, keys=keys, predicate=predicate))


@handles(ast.IndexStmt)
def create_index(state: State, stmt: Any) -> None:
    rv = stmt.relation
    found = state.find_relation(rv.schemaname, rv.relname)
    if found is None or not isinstance(found[1], (Table, View)):
        raise state.missing_relation(rv.schemaname, rv.relname, rv.location)
    target = found[1]
    schema = found[0]
    columns: dict[str, str] = (
        column_types(target)
        if isinstance(target, Table)
        else ColumnTypes(
            ((c.name, c.data_type) for c in target.columns),
            {c.name: c.collation for c in target.columns if c.collation is not None},
        )
    )
    if stmt.idxname:
        name = sql_naming.truncate_identifier(stmt.idxname)
        if state.relation_taken(schema, name):
            if stmt.if_not_exists:
                return
            raise state.error(f'relation "{name}" already exists')
    else:
        colnames = sql_naming.index_column_names(
            [
                sql_naming.index_colname(e)
                for e in list(stmt.indexParams or ()) + list(stmt.indexIncludingParams or ())
            ]
        )
        name = state.choose_relation_name(
            schema, target.name, sql_naming.name_addition(colnames), "idx", False
        )
    with canon.collecting(state, (schema, target.name)) as used:
        keys, predicate = index_expressions(
            state, stmt, columns, target if isinstance(target, Table) else None
        )
    include = tuple(e.name for e in stmt.indexIncludingParams or ())
    # the columns it is on (key and INCLUDE), and what its expressions use
    used.found |= {Dependency("column", schema, target.name, c) for k in keys if (c := k.column)}
    used.found |= {Dependency("column", schema, target.name, c) for c in include}
    index = Index(
        schema,
        name,
        target.name,
        keys,
        unique=bool(stmt.unique),
        method=stmt.accessMethod or "btree",
        include=include,
        predicate=predicate,
        nulls_not_distinct=bool(stmt.nulls_not_distinct),
        options=_reloptions(stmt.options),
        depends_on=used.depends_on,
    )
    state.builder.add(index)
    state.index_sources[(schema, name)] = ExprSource("index", stmt, state.search_path)
    if isinstance(target, Table) and target.partition_by is not None and rv.inh:
        for child in _children(state, target):
            if child.partition_of is not None:
                _clone_index(state, index, child)


def attach_index_partition(state: State, schema: str, cmd: Any) -> None:
    """ALTER INDEX parent ATTACH PARTITION child: the child index (or the constraint it
    backs) becomes a clone of the parent's, which the IR does not list."""
    rv = cmd.def_.name
    found = state.find_relation(rv.schemaname or None, rv.relname)
    if found is not None and isinstance(found[1], Index):
        state.builder.remove(found[1])
        state.hidden_relations[(found[0], rv.relname)] = found[1].table
        return
    for s in [rv.schemaname] if rv.schemaname else state.path_schemas():
        owner = state.constraint_indexes.get((s, rv.relname))
        if owner is not None:
            table = state.builder.get(Table, s, owner)
            assert table is not None
            state.update_table(table, constraints=tuple(c for c in table.constraints if c.name != rv.relname))
            state.hidden_relations[(s, rv.relname)] = owner
            return
    raise state.error(f'index "{rv.relname}" does not exist')


# --------------------------------------------------------------------------- dropping tables


def drop_table(state: State, table: Table, cascade: bool) -> None:
    """DROP TABLE: the table goes with its indexes, triggers, policies, grants, owned
    sequences, partitions and the foreign keys that reference it."""
    for child in _children(state, table):
        if child.partition_of is not None or cascade:
            # partitions go with their table; inheritance children with DROP ... CASCADE
            # (PostgreSQL refuses the DROP without it)
            current = state.builder.get(Table, child.schema, child.name)
            if current is not None:
                drop_table(state, current, cascade)
        else:
            child = state.update_table(
                child, inherits=tuple(p for p in child.inherits if p != (table.schema, table.name))
            )
            localise_columns(state, child, child.inherits)
    state.put_table(table, None)
    key = (table.schema, table.name)
    for cls in (Index,):
        for index in list(state.builder.all(cls)):
            if (index.schema, index.table) == key:
                state.builder.remove(index)
    for trigger in list(state.builder.all(Trigger)):
        if (trigger.schema, trigger.table) == key:
            state.builder.remove(trigger)
    for policy in list(state.builder.all(Policy)):
        if (policy.schema, policy.table) == key:
            state.builder.remove(policy)
    for priv in list(state.builder.all(Privilege)):
        if priv.object_kind == "TABLE" and (priv.schema, priv.object_name) == key:
            state.builder.remove(priv)
    for seq in list(state.builder.all(Sequence)):
        if seq.schema == table.schema and seq.owned_by is not None and seq.owned_by[0] == table.name:
            state.builder.remove(seq)
    for k, owner in list(state.identity_sequences.items()):
        if k[0] == table.schema and owner[0] == table.name:
            state.forget_identity_sequence(k)
    state.forget_in_publications(table.schema, table.name)
    for source_key in [k for k in state.column_defaults if k[:2] == key]:
        del state.column_defaults[source_key]
    for other in list(state.builder.all(Table)):
        fks = [
            c for c in other.constraints if isinstance(c, ForeignKey) and (c.ref_schema, c.ref_table) == key
        ]
        if fks:
            state.update_table(other, constraints=tuple(c for c in other.constraints if c not in fks))
