"""CREATE SCHEMA and extensions."""

from __future__ import annotations

import dataclasses
from typing import Any

from pglast import ast

from nself.frontends.sql_extensions import EXTENSIONS
from nself.frontends.sql_state import State, handles
from nself.ir.model import Extension, Schema


@handles(ast.CreateSchemaStmt)
def create_schema(state: State, stmt: Any) -> None:
    from nself.frontends.sql_state import HANDLERS

    name = stmt.schemaname or (stmt.authrole.rolename if stmt.authrole is not None else None)
    if name is None:
        raise state.error("CREATE SCHEMA needs a name")
    if state.builder.get(Schema, name) is not None:
        if stmt.if_not_exists:
            return
        raise state.error(f'schema "{name}" already exists')
    state.builder.add(Schema(name))
    state.created("SCHEMA", name, name)
    if stmt.schemaElts:
        saved = state.search_path
        state.search_path = (name,)
        try:
            for element in stmt.schemaElts:
                HANDLERS[type(element)](state, element)
        finally:
            state.search_path = saved


def find_extension(state: State, name: str) -> Extension | None:
    return next((e for e in state.builder.all(Extension) if e.name == name), None)


@handles(ast.CreateExtensionStmt)
def create_extension(state: State, stmt: Any) -> None:
    name = stmt.extname
    platform = state.platform
    stand_in = platform.stand_in(name) if platform is not None else None
    if platform is not None and stand_in is not None and find_extension(state, name) is None:
        # The server lacks it: the platform's base defines what projects use from it, and
        # the managed cluster skips this statement (nself.runtime.migrate) alike.
        state.warn(stand_in.extension_skipped(platform.name))
        return
    if find_extension(state, name) is not None:
        if stmt.if_not_exists:
            return
        raise state.error(f'extension "{name}" already exists')
    options = {o.defname: o.arg for o in stmt.options or ()}
    info = EXTENSIONS.get(name)
    schema = None
    if options.get("schema") is not None:
        schema = options["schema"].sval
    elif info is not None and info.schema:
        schema = info.schema
    schema = state.creation_schema(schema)
    version = (
        options["new_version"].sval
        if options.get("new_version") is not None
        else (info.default_version if info else None)
    )
    if info is not None and options.get("cascade") is not None:
        for required in info.requires:
            if required != "plpgsql" and find_extension(state, required) is None:
                create_extension(
                    state, ast.CreateExtensionStmt(extname=required, if_not_exists=True, options=())
                )
    if name == "plpgsql":
        return
    state.builder.add(Extension(name, schema, version, info.comment if info else None))


@handles(ast.AlterExtensionStmt)
def alter_extension(state: State, stmt: Any) -> None:
    ext = find_extension(state, stmt.extname)
    if ext is None:
        raise state.error(f'extension "{stmt.extname}" does not exist')
    for opt in stmt.options or ():
        if opt.defname == "new_version":
            state.builder.add(dataclasses.replace(ext, version=opt.arg.sval))
