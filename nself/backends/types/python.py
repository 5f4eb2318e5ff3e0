"""Python types: one `models.py` with a class per table (Row, Insert, Update), view,
composite type and enum.

Options: `pydantic` (bool). With it, pydantic v2 models: a field whose Python name differs
from the column name carries `Field(alias=...)`, so `Model.model_validate(row)` reads a
psycopg dict_row and `model_dump(by_alias=True)` writes the database names back. Without
it, standard-library dataclasses (frozen, keyword-only), the column name kept in
`field(metadata={"db_name": ...})`.

Types follow what psycopg 3 returns (docs/types.md): int for every integer, Decimal for
numeric, datetime/date/time/timedelta, UUID, bytes, ipaddress objects for inet/cidr,
enums as `str` enums whose values are the labels. In Insert and Update models an
optional field defaults to None: dump with `exclude_unset=True` so an omitted field
falls back to the column's default rather than NULL."""

from __future__ import annotations

import keyword
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nself.backends.types.common import (
    PgType,
    TypeResolver,
    as_is,
    callable_functions,
    column_nullable,
    function_names,
    insert_presence,
    make_identifier,
    member_names,
    named_type_objects,
    pascal_case,
    render_template,
    screaming_snake_case,
    snake_case,
    type_names,
    update_presence,
)
from nself.ir.model import Catalog, Table, View

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
        "Enum",
        "Model",
        "NotRequired",
        "TypedDict",
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
PYDANTIC_ATTRIBUTES = frozenset(
    {
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
    "numeric": "_decimal.Decimal",
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


@dataclass(slots=True)
class Attribute:
    name: str  # the Python identifier
    db_name: str
    type: str
    optional: bool = False  # has a default (None) in the class

    @property
    def renamed(self) -> bool:
        return self.name != self.db_name


@dataclass(slots=True)
class ClassModel:
    name: str
    doc: str
    attributes: list[Attribute]


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
    enums: list[EnumModel] = field(default_factory=list)
    classes: list[ClassModel] = field(default_factory=list)
    functions: list[FunctionModel] = field(default_factory=list)


def python_literal(text: str) -> str:
    return repr(text)


def doc_text(text: str) -> str:
    """Text safe inside a triple-quoted docstring."""
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


class _Renderer:
    def __init__(self, catalog: Catalog, options: Mapping[str, Any]) -> None:
        self.catalog = catalog
        self.pydantic = bool(options.get("pydantic", False))
        self.resolver = TypeResolver(catalog)
        self.names = type_names(
            named_type_objects(catalog), reserved=RESERVED_TYPE_NAMES, suffixes=TYPE_SUFFIXES
        )
        self.keywords = FIELD_KEYWORDS | (PYDANTIC_ATTRIBUTES if self.pydantic else frozenset())

    def value_type(self, pg: PgType) -> str:
        element = pg.element()
        if element.kind in ("enum", "composite"):
            text = self.names.get(element.key, "Any")
        else:
            text = FAMILY_TYPES.get(element.family, "Any")
        for _ in range(pg.dims):
            text = f"list[{text}]"
        return text

    def annotation(self, data_type: str, nullable: bool) -> str:
        text = self.value_type(self.resolver.resolve(data_type))
        return f"{text} | None" if nullable and text not in ("Any", "None") else text

    def field_names(self, db_names: list[str]) -> list[str]:
        # Leading underscores would make pydantic treat a field as private: snake_case drops
        # them; a leading digit gets "n_".
        return member_names(db_names, snake_case, keywords=self.keywords, escape="{}_", digit_prefix="n_")

    def table_classes(self, table: Table) -> list[ClassModel]:
        name = self.names[(table.schema, table.name)]
        python_names = self.field_names([c.name for c in table.columns])
        row: list[Attribute] = []
        insert: list[Attribute] = []
        update: list[Attribute] = []
        for python_name, column in zip(python_names, table.columns, strict=True):
            text = self.annotation(column.data_type, column_nullable(column, self.resolver))
            row.append(Attribute(python_name, column.name, text))
            presence = insert_presence(column, self.resolver)
            if presence != "absent":
                insert.append(
                    Attribute(
                        python_name,
                        column.name,
                        self.optional(text, presence == "optional"),
                        presence == "optional",
                    )
                )
            if update_presence(column) != "absent":
                update.append(Attribute(python_name, column.name, self.optional(text, True), True))
        where = f"{table.schema}.{table.name}"
        summary = f": {table.comment}" if table.comment else ""
        return [
            ClassModel(name, doc_text(f"A row of table {where}{summary}"), row),
            ClassModel(f"{name}Insert", doc_text(f"Values for INSERT INTO {where}."), insert),
            ClassModel(
                f"{name}Update", doc_text(f"Values for UPDATE {where} (every field optional)."), update
            ),
        ]

    @staticmethod
    def optional(text: str, optional: bool) -> str:
        if not optional or text.endswith("| None") or text in ("Any", "None"):
            return text
        return f"{text} | None"

    def view_class(self, view: View) -> ClassModel:
        names = self.field_names([c.name for c in view.columns])
        attributes = [
            Attribute(n, c.name, self.annotation(c.data_type, not c.not_null))
            for n, c in zip(names, view.columns, strict=True)
        ]
        kind = "materialized view" if view.materialized else "view"
        summary = f": {view.comment}" if view.comment else ""
        return ClassModel(
            self.names[(view.schema, view.name)],
            doc_text(f"A row of {kind} {view.schema}.{view.name}{summary}"),
            attributes,
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
            for name, argument in shape.inputs:
                text = self.value_type(self.resolver.resolve(argument.data_type))
                args.append(
                    (python_literal(name), f"NotRequired[{text}]" if argument.default is not None else text)
                )
            if shape.return_columns:
                names = self.field_names([n for n, _ in shape.return_columns])
                attributes = [
                    Attribute(n, db, self.annotation(t, True))
                    for n, (db, t) in zip(names, shape.return_columns, strict=True)
                ]
                module.classes.append(
                    ClassModel(
                        result_name, doc_text(f"A row returned by {shape.schema}.{shape.name}."), attributes
                    )
                )
                element = result_name
                returns = f"list[{element}]" if shape.returns_set else f"{element} | None"
            else:
                pg = self.resolver.resolve(shape.return_type or "void")
                element = self.value_type(pg)
                if shape.returns_set:
                    returns = f"list[{element}]"
                elif element in ("None", "Any"):
                    returns = element
                else:
                    returns = f"{element} | None"
            signature = f"{shape.schema}.{shape.name}({shape.function.identity_arguments})"
            module.functions.append(
                FunctionModel(doc_text(f"The function {signature}"), args_name, args, returns_name, returns)
            )

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
                    [
                        Attribute(n, a.name, self.annotation(a.data_type, True), True)
                        for n, a in zip(names, composite.attributes, strict=True)
                    ],
                )
            )
        for table in self.catalog.tables:
            module.classes.extend(self.table_classes(table))
        for view in self.catalog.views:
            module.classes.append(self.view_class(view))
        self.functions(module)
        return render_template("types/python/models.py.jinja2", module=module, literal=python_literal)


def render_python(catalog: Catalog, options: Mapping[str, Any]) -> str:
    return _Renderer(catalog, options).render()


def render(catalog: Catalog, options: Mapping[str, Any]) -> dict[str, str]:
    return {"models.py": render_python(catalog, options)}
