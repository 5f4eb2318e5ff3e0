"""Python types: one `models.py` with a class per table (Row, Insert, Update), view,
composite type and enum.

Options: `pydantic` (bool); `arrays`: "any" (default: an array is `PgArray[T]`, one to six
dimensions or the empty list, unless a CHECK fixes `array_ndims`) or "declared" (`list[...]`
nested per declared dimension). With it, pydantic v2 models: a field whose Python name differs
from the column name carries `Field(alias=...)`, so `Model.model_validate(row)` reads a
psycopg dict_row and `model_dump(by_alias=True)` writes the database names back. Without
it, standard-library dataclasses (frozen, keyword-only), the column name kept in
`field(metadata={"db_name": ...})`.

Types follow what psycopg 3 returns (docs/types.md): int for every integer, Decimal for
numeric, datetime/date/time/timedelta, UUID, bytes, ipaddress objects for inet/cidr,
enums as `str` enums whose values are the labels. Array elements are `| None` unless
PostgreSQL keeps NULL out of them (common.PgType.element_nullable).

Insert and Update values tell three things apart: a column left out (INSERT gives it its
default, UPDATE leaves it as it is), NULL, a value. pydantic: an optional field defaults to
None and `model_dump(by_alias=True, exclude_unset=True)` keeps only the fields that were
given (None among them: NULL). Dataclasses: an optional field defaults to the generated
sentinel `UNSET` (None only where the column takes NULL), and the generated
`column_values(values)` returns the fields that are not UNSET, keyed by column name."""

from __future__ import annotations

import keyword
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple, cast

from nself.backends.types.common import (
    ArrayMode,
    ColumnRules,
    Effects,
    Fragments,
    PgType,
    Token,
    TypeResolver,
    array_mode,
    as_is,
    callable_functions,
    escape_reserved,
    function_names,
    list_depth,
    make_identifier,
    member_names,
    named_type_objects,
    pascal_case,
    result_nullable,
    screaming_snake_case,
    shared_names,
    snake_case,
    table_column_rules,
    type_names,
)
from nself.ir.model import Catalog, Column, Table, View
from nself.templating import render_template

# Module-level names the generated file defines or imports: no class may take them.
RESERVED_TYPE_NAMES = frozenset(
    {
        "Any",
        "BaseModel",
        "ConfigDict",
        "Field",
        "Json",
        "Inet",
        "Cidr",
        "TypeAlias",
        "TypeVar",
        "PgArray",
        "Enum",
        "Model",
        "NotRequired",
        "TypedDict",
        # dataclasses only, reserved in both flavours so that class names do not depend on it
        "ClassVar",
        "Final",
        "Protocol",
        "Unset",
        # pydantic only: numeric with NaN and the infinities (Numeric) and LEFT_OUT
        "Annotated",
        "Numeric",
    }
)

# Field names that would break a model: keywords, names used in annotations inside the
# class body (a field `str` would shadow the type), and BaseModel's own attributes.
FIELD_KEYWORDS = frozenset(keyword.kwlist) | {
    "int",
    "str",
    "float",
    "bool",
    "bytes",
    "list",
    "dict",
    "object",
    "field",
    "dataclass",
}
# BaseModel's attributes and its metaclass's (ABCMeta: `register`; type: `mro`): a field of
# one of these names shadows it (pydantic warns, and model_dump or model_post_init break).
# Any other `model_*` name is renamed too: pydantic keeps that prefix for its own.
PYDANTIC_ATTRIBUTES = frozenset(
    {
        "register",
        "mro",
        "model_config",
        "model_fields",
        "model_computed_fields",
        "model_extra",
        "model_fields_set",
        "model_construct",
        "model_copy",
        "model_dump",
        "model_dump_json",
        "model_json_schema",
        "model_parametrized_name",
        "model_post_init",
        "model_rebuild",
        "model_validate",
        "model_validate_json",
        "model_validate_strings",
        "dict",
        "json",
        "parse_obj",
        "parse_raw",
        "parse_file",
        "from_orm",
        "construct",
        "copy",
        "schema",
        "schema_json",
        "validate",
        "update_forward_refs",
    }
)

TYPE_SUFFIXES = ("", "Insert", "Update")

# Family -> Python type of one value, as psycopg 3 loads it (docs/types.md, Python).
FAMILY_TYPES: dict[str, str] = {
    "int2": "int",
    "int4": "int",
    "int8": "int",
    "float4": "float",
    "float8": "float",
    "numeric": "Numeric",
    "money": "str",
    "bool": "bool",
    "text": "str",
    "bytea": "bytes",
    "json": "Json",
    "jsonb": "Json",
    "uuid": "_uuid.UUID",
    "date": "_dt.date",
    "timestamp": "_dt.datetime",
    "timestamptz": "_dt.datetime",
    "time": "_dt.time",
    "timetz": "_dt.time",
    "interval": "_dt.timedelta",
    "inet": "Inet",
    "cidr": "Cidr",
    "macaddr": "str",
    "bit": "str",
    "tsvector": "str",
    "tsquery": "str",
    "xml": "str",
    "geometric": "str",
    # psycopg's Range / Multirange objects: the generated file does not import psycopg.
    "range": "Any",
    "multirange": "Any",
    "hstore": "dict[str, str | None]",
    "record": "Any",
    "void": "None",
    "any": "Any",
    "unknown": "Any",
}


# The indentation of a class body. Field declarations are whole lines made here, and a
# class's lines reach the template as one block (`body`): a template loop or filter call
# per field or per class cost more than the rest of the render on a thousand tables.
INDENT = "    "


class ClassModel(NamedTuple):
    """A class: its name, docstring and body (its field declarations, one indented line
    each; empty for a class without fields)."""

    name: str
    doc: str
    body: str


# (Python name, column name, data type, the rules' decisions, comment): columns with equal keys
# get equal fields
ColumnKey = tuple[str, str, str, ColumnRules, str | None]


class ColumnFields(NamedTuple):
    """A column's field declaration in Row, Insert and Update (None: not there)."""

    row: str
    insert: str | None
    update: str | None


@dataclass(slots=True)
class EnumModel:
    name: str
    doc: str
    members: list[tuple[str, str]]  # (member, label as a Python literal)


@dataclass(slots=True)
class FunctionModel:
    """A callable function: its arguments as a TypedDict keyed by the argument names (the
    names psycopg's %(name)s parameters use) and its result as a type alias."""

    doc: str
    args_name: str
    args: list[tuple[str, str]]  # (argument name as a literal, annotation)
    returns_name: str
    returns: str


@dataclass(slots=True)
class Module:
    pydantic: bool
    pg_array: bool = False  # a PgArray[T] was spelled: the file declares it
    enums: list[EnumModel] = field(default_factory=list)
    classes: list[ClassModel] = field(default_factory=list)
    functions: list[FunctionModel] = field(default_factory=list)


def python_literal(text: str) -> str:
    return repr(text)


def doc_text(text: str) -> str:
    """Text safe inside a triple-quoted docstring (also at its end, where a quote would
    run into the closing quotes)."""
    stripped = text.rstrip('"')
    quotes = len(text) - len(stripped)
    return stripped.replace("\\", "\\\\").replace('"""', '\\"\\"\\"') + '\\"' * quotes


def with_none(text: str, nullable: bool) -> str:
    """`text | None` when `nullable`, unless the type already holds None (Any, None, an
    annotation ending in `| None`)."""
    if not nullable or text in ("Any", "None") or text.endswith("| None"):
        return text
    return f"{text} | None"


# A table's or view's piece (Fragments): its classes and tokens (("flag", "uses_pg_array")).
Piece = tuple[list[ClassModel], frozenset[Token]]


class _Renderer:
    def __init__(
        self, catalog: Catalog, options: Mapping[str, Any], fragments: Fragments | None = None
    ) -> None:
        self.catalog = catalog
        self.pydantic = bool(options.get("pydantic", False))
        self.arrays: ArrayMode = array_mode(options, "python")
        self.uses_pg_array = False
        self.resolver = TypeResolver(catalog)
        self.fragments = fragments
        # With fragments, the memos below keep the tokens their entries gave.
        self.effects = Effects(self.apply, fragments is not None)
        self.names = shared_names(
            fragments,
            lambda: type_names(
                named_type_objects(catalog), reserved=RESERVED_TYPE_NAMES, suffixes=TYPE_SUFFIXES
            ),
        )
        self.keywords = FIELD_KEYWORDS | (PYDANTIC_ATTRIBUTES if self.pydantic else frozenset())
        # (pydantic) names of the model_ prefix pydantic keeps for itself
        self.prefixes = ("model_",) if self.pydantic else ()
        # Memos: a schema has few distinct types and kinds of column, and the same column
        # names recur from table to table.
        self._value_types: dict[tuple[str, bool, int | None], str] = {}
        self._field_names: dict[str, str] = {}
        self._column_fields: dict[ColumnKey, ColumnFields] = {}

    def apply(self, token: Token) -> None:
        setattr(self, token[1], True)

    def value_type(self, pg: PgType, element_nullable: bool, ndims: int | None = None) -> str:
        """The Python type of a value of `pg`, NULL aside: `PgArray[...]` for an array of any
        number of dimensions, list[...] per dimension where they are fixed
        (common.list_depth; `ndims`: what a table's CHECK fixes); the innermost elements
        `| None` when they may be NULL (a sub-array never is)."""
        element = pg.element()
        if element.kind in ("enum", "composite"):
            text = self.names.get(element.key, "Any")
        else:
            text = FAMILY_TYPES.get(element.family, "Any")
        if pg.dims:
            text = with_none(text, element_nullable)
            depth = list_depth(pg, self.arrays, ndims)
            if depth is None:
                self.effects.emit(("flag", "uses_pg_array"))
                return f"PgArray[{text}]"
            for _ in range(depth):
                text = f"list[{text}]"
        return text

    def spelled(self, data_type: str, element_nullable: bool | None = None, ndims: int | None = None) -> str:
        """value_type of a data type; element nullability as the resolver sees it unless
        given (a table's CHECKs may also keep NULL out of a column's elements, or fix its
        dimensions: `ndims`)."""
        pg = self.resolver.resolve(data_type)
        elements = pg.element_nullable if element_nullable is None else element_nullable
        key = (data_type, elements, ndims)
        text = self._value_types.get(key)
        if text is None:
            if self.fragments is not None:
                text = self.effects.tracked("type", key, partial(self.value_type, pg, elements, ndims))
            else:
                text = self.value_type(pg, elements, ndims)
            self._value_types[key] = text
        elif self.fragments is not None:
            self.effects.reused("type", key)
        return text

    def annotation(
        self, data_type: str, nullable: bool, element_nullable: bool | None = None, ndims: int | None = None
    ) -> str:
        return with_none(self.spelled(data_type, element_nullable, ndims), nullable)

    def field_names(self, db_names: list[str]) -> list[str]:
        # Leading underscores would make pydantic treat a field as private: snake_case drops
        # them; a leading digit gets "n_".
        names = [self._field_names.get(n) or self._field_name(n) for n in db_names]
        if len(set(names)) == len(names):
            return names  # what member_names gives when no two names collide
        return member_names(
            db_names, self._escaped_style, keywords=self.keywords, escape="{}_", digit_prefix="n_"
        )

    def _escaped_style(self, db_name: str) -> str:
        """snake_case, with pydantic's own `model_` prefix moved out of the way
        ('model_name' -> 'model_name_')."""
        name = snake_case(db_name)
        return name + "_" if name.startswith(self.prefixes) and self.prefixes else name

    def _field_name(self, db_name: str) -> str:
        # member_names for a single name
        name = escape_reserved(
            make_identifier(db_name, self._escaped_style, digit_prefix="n_"), self.keywords, "{}_"
        )
        self._field_names[db_name] = name
        return name

    def declaration(
        self, name: str, db_name: str, annotation: str, default: str | None, comment: str | None = None
    ) -> str:
        """One field: `name: annotation`, with its default and, when the Python name is not
        the column name, the column name (pydantic alias, dataclass metadata); pydantic: the
        column's comment as its description (in the JSON schema)."""
        described = self.pydantic and bool(comment)
        if name == db_name and not described:
            if default is None:
                return f"{INDENT}{name}: {annotation}"
            return f"{INDENT}{name}: {annotation} = {default}"
        given = "" if default is None else f"default={default}, "
        if self.pydantic:
            alias = "" if name == db_name else f"alias={python_literal(db_name)}"
            description = f"description={python_literal(comment)}" if comment else ""
            arguments = ", ".join(a for a in (alias, description) if a)
            return f"{INDENT}{name}: {annotation} = Field({given}{arguments})"
        return (
            f'{INDENT}{name}: {annotation} = field({given}metadata={{"db_name": {python_literal(db_name)}}})'
        )

    def column_fields(self, python_name: str, column: Column, rules: ColumnRules) -> ColumnFields:
        """A column's field in Row, Insert and Update, by the rules' decisions."""
        db_name = column.name
        row_type = self.annotation(column.data_type, rules.nullable, rules.element_nullable, rules.ndims)
        # An optional Insert / Update field can be left out. pydantic: it defaults to None
        # where the column takes NULL, else to LEFT_OUT (None typed Any: pydantic does not
        # validate a default), so the model refuses None for a NOT NULL column and
        # model_dump(exclude_unset=True) leaves the field out; a dataclass gives it the
        # default UNSET, and None only where the column takes NULL.
        comment = column.comment
        if self.pydantic:
            written_type = row_type
            left_out = "None" if rules.nullable or row_type == "Any" else "LEFT_OUT"
        elif row_type == "Any":
            written_type, left_out = row_type, "UNSET"
        else:
            written_type, left_out = f"{row_type} | Unset", "UNSET"
        row = self.declaration(python_name, db_name, row_type, None, comment)
        written = self.declaration(python_name, db_name, written_type, left_out, comment)
        insert = {"required": row, "optional": written, "absent": None}[rules.insert]
        update = written if rules.update != "absent" else None
        return ColumnFields(row, insert, update)

    def table_classes(self, table: Table) -> list[ClassModel]:
        """Row, Insert and Update of a table, with the fields of common.table_field_sets: a
        column's fields are spelled once per distinct (name, type, rules), as columns such
        as `id integer` or `created_at timestamptz NOT NULL DEFAULT now()` recur from
        table to table."""
        name = self.names[(table.schema, table.name)]
        columns = table.columns
        # One Python name per column, shared by Row, Insert and Update.
        python_names = self.field_names([c.name for c in columns])
        known = self._column_fields
        row: list[str] = []
        insert: list[str] = []
        update: list[str] = []
        rules = table_column_rules(table, self.resolver)
        for python_name, column, column_rules in zip(python_names, columns, rules, strict=True):
            key = (python_name, column.name, column.data_type, column_rules, column.comment)
            fields = known.get(key)
            if fields is None:
                if self.fragments is not None:
                    fields = self.effects.tracked(
                        "fields", key, partial(self.column_fields, python_name, column, column_rules)
                    )
                else:
                    fields = self.column_fields(python_name, column, column_rules)
                known[key] = fields
            elif self.fragments is not None:
                self.effects.reused("fields", key)
            declared, inserted, updated = fields
            row.append(declared)
            if inserted is not None:
                insert.append(inserted)
            if updated is not None:
                update.append(updated)
        # The fixed words hold no backslash nor quote: escaping the names alone is enough.
        where = doc_text(f"{table.schema}.{table.name}")
        summary = doc_text(f": {table.comment}") if table.comment else ""
        return [
            ClassModel(name, f"A row of table {where}{summary}", "\n".join(row)),
            ClassModel(f"{name}Insert", f"Values for INSERT INTO {where}.", "\n".join(insert)),
            ClassModel(
                f"{name}Update", f"Values for UPDATE {where} (every field optional).", "\n".join(update)
            ),
        ]

    def view_class(self, view: View) -> ClassModel:
        names = self.field_names([c.name for c in view.columns])
        fields = [
            self.declaration(n, c.name, self.annotation(c.data_type, not c.not_null), None, c.comment)
            for n, c in zip(names, view.columns, strict=True)
        ]
        kind = "materialized view" if view.materialized else "view"
        summary = f": {view.comment}" if view.comment else ""
        return ClassModel(
            self.names[(view.schema, view.name)],
            doc_text(f"A row of {kind} {view.schema}.{view.name}{summary}"),
            "\n".join(fields),
        )

    def functions(self, module: Module) -> None:
        shapes = callable_functions(self.catalog, self.resolver)
        taken = set(RESERVED_TYPE_NAMES) | {c.name for c in module.classes} | {e.name for e in module.enums}
        bases = function_names(shapes, pascal_case, taken=taken)
        for index, shape in enumerate(shapes):
            base = make_identifier(bases[index], as_is, digit_prefix="F")
            args_name, returns_name, result_name = member_names(
                [base + "Args", base + "Returns", base + "Result"], as_is, taken=taken
            )
            taken.update((args_name, returns_name, result_name))
            args = []
            # Named arguments only: PostgreSQL takes no `arg1 => ...` for an unnamed one.
            for name, argument in shape.named_inputs:
                text = self.spelled(argument.data_type)
                args.append(
                    (python_literal(name), f"NotRequired[{text}]" if argument.default is not None else text)
                )
            nullable = result_nullable(shape, self.resolver)
            if shape.return_columns:
                names = self.field_names([n for n, _ in shape.return_columns])
                fields = [
                    self.declaration(n, db, self.annotation(t, True), None)
                    for n, (db, t) in zip(names, shape.return_columns, strict=True)
                ]
                module.classes.append(
                    ClassModel(
                        result_name,
                        doc_text(f"A row returned by {shape.schema}.{shape.name}."),
                        "\n".join(fields),
                    )
                )
                element = result_name
                returns = f"list[{element}]" if shape.returns_set else f"{element} | None"
            else:
                # A SETOF's rows, or the one value, are NULL where PostgreSQL allows it.
                element = with_none(self.spelled(shape.return_type or "void"), nullable)
                returns = f"list[{element}]" if shape.returns_set else element
            signature = f"{shape.schema}.{shape.name}({shape.function.identity_arguments})"
            module.functions.append(
                FunctionModel(doc_text(f"The function {signature}"), args_name, args, returns_name, returns)
            )

    def relation_classes(self, node: Table | View) -> list[ClassModel]:
        """A table's classes or a view's: from `fragments` when an earlier run rendered the
        same piece, else rendered (and kept there with the flags it set)."""
        if self.fragments is None:
            return self.table_classes(node) if isinstance(node, Table) else [self.view_class(node)]
        key = self.fragments.key(node)
        piece = self.fragments.get(key)
        if piece is not None:
            classes, tokens = cast(Piece, piece)
            self.effects.replay(tokens)
            return classes
        classes, tokens = self.effects.recording(
            partial(self.table_classes, node) if isinstance(node, Table) else lambda: [self.view_class(node)]
        )
        self.fragments.put(key, (classes, tokens))
        return classes

    def render(self) -> str:
        module = Module(self.pydantic)
        for enum in self.catalog.enums:
            members = member_names(enum.labels, screaming_snake_case, digit_prefix="_", empty="EMPTY")
            module.enums.append(
                EnumModel(
                    self.names[(enum.schema, enum.name)],
                    doc_text(
                        f"Enum {enum.schema}.{enum.name}" + (f": {enum.comment}" if enum.comment else "")
                    ),
                    [(m, python_literal(label)) for m, label in zip(members, enum.labels, strict=True)],
                )
            )
        for composite in self.catalog.composite_types:
            names = self.field_names([a.name for a in composite.attributes])
            module.classes.append(
                ClassModel(
                    self.names[(composite.schema, composite.name)],
                    doc_text(f"Composite type {composite.schema}.{composite.name}"),
                    "\n".join(
                        self.declaration(n, a.name, self.annotation(a.data_type, True), "None")
                        for n, a in zip(names, composite.attributes, strict=True)
                    ),
                )
            )
        for table in self.catalog.tables:
            module.classes.extend(self.relation_classes(table))
        for view in self.catalog.views:
            module.classes.extend(self.relation_classes(view))
        self.functions(module)
        module.pg_array = self.uses_pg_array
        return render_template("types/python/models.py.jinja2", module=module)


def render_python(catalog: Catalog, options: Mapping[str, Any], fragments: Fragments | None = None) -> str:
    return _Renderer(catalog, options, fragments).render()


def render(
    catalog: Catalog, options: Mapping[str, Any], fragments: Fragments | None = None
) -> dict[str, str]:
    """`fragments`: the pieces of an earlier run to reuse, filled with this run's."""
    return {"models.py": render_python(catalog, options, fragments)}
