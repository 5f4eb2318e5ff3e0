"""Collations: created, found, and the text that names them."""

from __future__ import annotations

import dataclasses
from typing import Any

from pglast import ast

from nself.frontends import sql_naming
from nself.frontends.sql_state import State, names_of
from nself.ir.model import Collation, CompositeType, Domain, Index, Table, View
from nself.ir.names import quote_ident

# pg_catalog's collations that exist on every PostgreSQL 15 (libc, LC_COLLATE = LC_CTYPE).
_SYSTEM_LIBC_COLLATIONS = {"C": "C", "POSIX": "POSIX", "ucs_basic": "C"}


def _def_value(arg: Any) -> str:
    if isinstance(arg, ast.TypeName):
        return names_of(arg.names)[-1]
    if isinstance(arg, ast.String):
        return str(arg.sval)
    if isinstance(arg, ast.Boolean):
        return "true" if arg.boolval else "false"
    if isinstance(arg, (ast.Integer, ast.Float)):
        return str(arg.ival if isinstance(arg, ast.Integer) else arg.fval)
    return str(arg)


def find_collation(state: State, names: list[str]) -> Collation | None:
    """A collation made by CREATE COLLATION (pg_catalog's come first for a bare name)."""
    if len(names) > 1:
        return state.builder.get(Collation, names[-2], names[-1])
    for schema in state.path_schemas():
        found = state.builder.get(Collation, schema, names[-1])
        if found is not None:
            return found
    return None


def _system_collation(name: str) -> Collation | None:
    """What CREATE COLLATION ... FROM copies from one of pg_catalog's collations: the
    fixed libc ones, an ICU one (`en-x-icu`), or an operating-system locale (`en_US.utf8`)."""
    if name == "default":
        return None
    if name in _SYSTEM_LIBC_COLLATIONS:
        locale = _SYSTEM_LIBC_COLLATIONS[name]
        return Collation("pg_catalog", name, "libc", lc_collate=locale, lc_ctype=locale)
    if name.endswith("-x-icu"):
        return Collation("pg_catalog", name, "icu", locale=name.removesuffix("-x-icu"))
    if name == "unicode":
        return Collation("pg_catalog", name, "icu", locale="und")
    return Collation("pg_catalog", name, "libc", lc_collate=name, lc_ctype=name)


def create_collation(state: State, stmt: Any) -> None:
    """CREATE COLLATION name FROM other, or with provider/locale/lc_collate/lc_ctype/
    deterministic options; kept in the IR's canonical form (see Collation)."""
    names = names_of(stmt.defnames)
    schema = state.creation_schema(names[-2] if len(names) > 1 else None)
    name = sql_naming.truncate_identifier(names[-1])
    if state.builder.get(Collation, schema, name) is not None:
        if stmt.if_not_exists:
            return
        raise state.error(f'collation "{name}" already exists')
    options = {d.defname.lower(): d.arg for d in stmt.definition or ()}
    if "from" in options:
        source_names = [str(n.sval) for n in options["from"]]
        source = None
        if len(source_names) == 1 and source_names[0] in _SYSTEM_LIBC_COLLATIONS:
            source = _system_collation(source_names[0])
        if source is None:
            source = find_collation(state, source_names)
        if source is None and (len(source_names) == 1 or source_names[-2] == "pg_catalog"):
            source = _system_collation(source_names[-1])
        if source is None:
            raise state.error(f'collation "{".".join(source_names)}" for encoding "UTF8" does not exist')
        state.builder.add(dataclasses.replace(source, schema=schema, name=name, comment=None))
        return
    values = {key: _def_value(arg) for key, arg in options.items()}
    provider = values.get("provider", "libc").lower()
    if provider not in ("libc", "icu", "builtin"):
        raise state.error(f"unrecognized collation provider: {provider}")
    deterministic = values.get("deterministic", "true").lower() in ("true", "on", "1", "yes")
    locale = values.get("locale")
    if provider == "libc":
        lc_collate = values.get("lc_collate", locale)
        lc_ctype = values.get("lc_ctype", locale)
        if lc_collate is None:
            raise state.error('parameter "lc_collate" must be specified')
        if lc_ctype is None:
            raise state.error('parameter "lc_ctype" must be specified')
        collation = Collation(
            schema, name, "libc", lc_collate=lc_collate, lc_ctype=lc_ctype, deterministic=deterministic
        )
    else:
        if locale is None:
            raise state.error('parameter "locale" must be specified')
        collation = Collation(schema, name, provider, locale=locale, deterministic=deterministic)  # type: ignore[arg-type]
    state.builder.add(collation)


def collation_refs(state: State, old: str, new: str | None) -> None:
    """Columns, domains, composite attributes and index keys that name collation `old`
    (as collation_text prints it) name `new` instead (None: the type's default)."""
    b = state.builder

    def fix(node: Any) -> Any:
        return dataclasses.replace(node, collation=new) if node.collation == old else node

    for table in list(b.all(Table)):
        columns = tuple(fix(c) for c in table.columns)
        if columns != table.columns:
            state.update_table(table, columns=columns)
    for domain in list(b.all(Domain)):
        if domain.collation == old:
            state.put_domain(domain, fix(domain))
    for composite in list(b.all(CompositeType)):
        attributes = tuple(fix(a) for a in composite.attributes)
        if attributes != composite.attributes:
            b.add(dataclasses.replace(composite, attributes=attributes))
    for index in list(b.all(Index)):
        keys = tuple(fix(k) for k in index.keys)
        if keys != index.keys:
            b.add(dataclasses.replace(index, keys=keys))
    for view in list(b.all(View)):
        view_columns = tuple(fix(c) for c in view.columns)
        if view_columns != view.columns:
            b.add(dataclasses.replace(view, columns=view_columns))


def collation_sql(collation: Collation) -> str:
    return f"{quote_ident(collation.schema)}.{quote_ident(collation.name)}"
