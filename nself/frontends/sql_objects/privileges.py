"""GRANT, REVOKE and ALTER DEFAULT PRIVILEGES."""

from __future__ import annotations

import dataclasses
from typing import Any

from pglast import ast
from pglast.enums import GrantTargetType, ObjectType

from nself.frontends.sql_objects.routines import find_function
from nself.frontends.sql_objects.triggers import role_names
from nself.frontends.sql_state import PUBLIC_DEFAULTS, Skip, State, handles, names_of
from nself.ir.model import Function, Privilege, Sequence, Table, View

_ALL_PRIVILEGES = {
    "TABLE": ("INSERT", "SELECT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"),
    "SEQUENCE": ("USAGE", "SELECT", "UPDATE"),
    "SCHEMA": ("USAGE", "CREATE"),
    "FUNCTION": ("EXECUTE",),
    "TYPE": ("USAGE",),
}
_GRANT_KINDS = {
    ObjectType.OBJECT_TABLE: "TABLE",
    ObjectType.OBJECT_SEQUENCE: "SEQUENCE",
    ObjectType.OBJECT_SCHEMA: "SCHEMA",
    ObjectType.OBJECT_FUNCTION: "FUNCTION",
    ObjectType.OBJECT_PROCEDURE: "FUNCTION",
    ObjectType.OBJECT_ROUTINE: "FUNCTION",
    ObjectType.OBJECT_TYPE: "TYPE",
    ObjectType.OBJECT_DOMAIN: "TYPE",
}


def _grant_targets(state: State, stmt: Any, kind: str) -> list[tuple[str, str, str]]:
    """(object_kind, schema, object_name) of each object a GRANT names."""
    out: list[tuple[str, str, str]] = []
    if stmt.targtype == GrantTargetType.ACL_TARGET_ALL_IN_SCHEMA:
        for s in stmt.objects:
            schema = s.sval
            if kind == "TABLE":
                out += [("TABLE", schema, t.name) for t in state.builder.all(Table) if t.schema == schema]
                out += [("TABLE", schema, v.name) for v in state.builder.all(View) if v.schema == schema]
            elif kind == "SEQUENCE":
                out += [
                    ("SEQUENCE", schema, q.name) for q in state.builder.all(Sequence) if q.schema == schema
                ]
            elif kind == "FUNCTION":
                out += [
                    ("FUNCTION", schema, f"{f.name}({f.identity_arguments})")
                    for f in state.builder.all(Function)
                    if f.schema == schema
                ]
        return out
    for obj in stmt.objects or ():
        if kind in ("TABLE", "SEQUENCE"):
            found = state.find_relation(obj.schemaname, obj.relname)
            if found is None:
                raise state.missing_relation(obj.schemaname, obj.relname)
            actual = "SEQUENCE" if isinstance(found[1], Sequence) else "TABLE"
            out.append((actual, found[0], obj.relname))
        elif kind == "SCHEMA":
            out.append(("SCHEMA", obj.sval, obj.sval))
        elif kind == "FUNCTION":
            f = find_function(state, obj)
            assert f is not None
            out.append(("FUNCTION", f.schema, f"{f.name}({f.identity_arguments})"))
        elif kind == "TYPE":
            names = names_of(obj.names) if isinstance(obj, ast.TypeName) else names_of(obj)
            found_type = state.find_type(names[-2] if len(names) > 1 else None, names[-1])
            if found_type is None:
                raise state.error(f'type "{".".join(names)}" does not exist')
            out.append(("TYPE", found_type[0], names[-1]))
    return out


@handles(ast.GrantStmt)
def grant(state: State, stmt: Any) -> None:
    if stmt.targtype == GrantTargetType.ACL_TARGET_DEFAULTS:
        raise Skip("default privileges are not modelled")
    kind = _GRANT_KINDS.get(stmt.objtype)
    if kind is None:
        raise Skip(f"privileges on {stmt.objtype.name.removeprefix('OBJECT_').lower()} are not modelled")
    grantees = ["PUBLIC" if r == "public" else r for r in role_names(stmt.grantees)]
    for object_kind, schema, object_name in _grant_targets(state, stmt, kind):
        privs: list[tuple[str, str | None]] = []
        if stmt.privileges is None:
            privs = [(p, None) for p in _ALL_PRIVILEGES[object_kind]]
        else:
            for ap in stmt.privileges:
                name = (ap.priv_name or "").upper()
                names = list(_ALL_PRIVILEGES[object_kind]) if name == "ALL" else [name]
                cols = names_of(ap.cols)
                for n in names:
                    if cols:
                        privs += [(n, c) for c in cols]
                    else:
                        privs.append((n, None))
        for grantee in grantees:
            if grantee == state.owner:
                continue  # the owner's own privileges are implicit
            for privilege, column in privs:
                if grantee == "PUBLIC" and (object_kind, privilege) in PUBLIC_DEFAULTS:
                    continue  # PostgreSQL's defaults (EXECUTE on functions, USAGE on types)
                p = Privilege(
                    object_kind,  # type: ignore[arg-type]
                    schema,
                    object_name,
                    grantee,
                    privilege,
                    column,
                    bool(stmt.grant_option),
                )
                if stmt.is_grant:
                    existing = state.builder.get(Privilege, *p_key(p))
                    if existing is not None and existing.grantable and not p.grantable:
                        continue
                    state.builder.add(p)
                else:
                    existing = state.builder.get(Privilege, *p_key(p))
                    if existing is not None and stmt.grant_option:
                        state.builder.add(dataclasses.replace(existing, grantable=False))
                    elif existing is not None:
                        state.builder.remove(existing)
                    if column is None and object_kind == "TABLE" and not stmt.grant_option:
                        # a table-level REVOKE takes the column privileges too
                        for other in list(state.builder.all(Privilege)):
                            same = (other.schema, other.object_name, other.grantee, other.privilege)
                            if other.column and same == (schema, object_name, grantee, privilege):
                                state.builder.remove(other)


def p_key(p: Privilege) -> tuple[str, ...]:
    return (p.object_kind, p.schema, p.object_name, p.column or "", p.grantee, p.privilege)


_DEFAULT_ACL_KINDS = {
    ObjectType.OBJECT_TABLE: "TABLE",
    ObjectType.OBJECT_SEQUENCE: "SEQUENCE",
    ObjectType.OBJECT_FUNCTION: "FUNCTION",
    ObjectType.OBJECT_ROUTINE: "FUNCTION",
    ObjectType.OBJECT_PROCEDURE: "FUNCTION",
    ObjectType.OBJECT_TYPE: "TYPE",
    ObjectType.OBJECT_SCHEMA: "SCHEMA",
}


@handles(ast.AlterDefaultPrivilegesStmt)
def default_privileges(state: State, stmt: Any) -> None:
    """ALTER DEFAULT PRIVILEGES [IN SCHEMA ...] GRANT/REVOKE ...: recorded, and applied to
    the objects created afterwards (by the role running the migrations)."""
    options = {o.defname: o.arg for o in stmt.options or ()}
    roles = role_names(options.get("roles"))
    if roles and state.owner not in roles:
        raise Skip("default privileges of another role do not apply to what the migrations create")
    action = stmt.action
    kind = _DEFAULT_ACL_KINDS.get(action.objtype)
    if kind is None:
        raise Skip(
            f"default privileges on {action.objtype.name.removeprefix('OBJECT_').lower()} are not modelled"
        )
    schemas = names_of(options.get("schemas")) or [""]
    if action.privileges is None:
        privileges = list(_ALL_PRIVILEGES[kind])
    else:
        privileges = [
            p
            for ap in action.privileges
            for p in (
                _ALL_PRIVILEGES[kind]
                if (ap.priv_name or "").upper() == "ALL"
                else [(ap.priv_name or "").upper()]
            )
        ]
    grantees = ["PUBLIC" if r == "public" else r for r in role_names(action.grantees)]
    for schema in schemas:
        for grantee in grantees:
            for privilege in privileges:
                key = (schema, kind, grantee, privilege)
                if action.is_grant:
                    state.default_acl[key] = state.default_acl.get(key, False) or bool(action.grant_option)
                elif action.grant_option and key in state.default_acl:
                    state.default_acl[key] = False
                else:
                    state.default_acl.pop(key, None)
