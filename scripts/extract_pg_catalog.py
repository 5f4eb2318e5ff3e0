"""Extract the snapshot of PostgreSQL's built-in catalog that the SQL frontend's expression
canonicaliser reads (nself/data/pg15_catalog.json): types, casts, operators and functions
of pg_catalog, named by type name rather than OID so the file is readable and diffable.

Run once against a real PostgreSQL 15 server:

    python scripts/extract_pg_catalog.py postgresql://postgres@127.0.0.1:5432/postgres

It writes nself/data/pg15_catalog.json (or the path given with --out)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import psycopg

OUT = Path(__file__).resolve().parent.parent / "nself" / "data" / "pg15_catalog.json"

TYPES = """
SELECT t.typname, t.oid::int, format_type(t.oid, NULL), t.typtype, t.typcategory, t.typispreferred,
       e.typname, a.typname, t.typlen::int, b.typname, t.typdelim
FROM pg_type t
LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typsubscript = 'array_subscript_handler'::regproc
LEFT JOIN pg_type a ON a.oid = t.typarray
LEFT JOIN pg_type b ON b.oid = t.typbasetype
WHERE t.typnamespace = 'pg_catalog'::regnamespace
  AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
ORDER BY t.typname
"""

CASTS = """
SELECT s.typname, d.typname, c.castcontext, c.castmethod, coalesce(p.proname, '')
FROM pg_cast c
JOIN pg_type s ON s.oid = c.castsource
JOIN pg_type d ON d.oid = c.casttarget
LEFT JOIN pg_proc p ON p.oid = c.castfunc
ORDER BY 1, 2
"""

OPERATORS = """
SELECT o.oprname, l.typname, r.typname, res.typname, o.oprcode::regproc::text, o.oid::int,
       o.oprcanhash OR o.oprcanmerge
FROM pg_operator o
LEFT JOIN pg_type l ON l.oid = o.oprleft
LEFT JOIN pg_type r ON r.oid = o.oprright
JOIN pg_type res ON res.oid = o.oprresult
WHERE o.oprnamespace = 'pg_catalog'::regnamespace
ORDER BY o.oprname, l.typname NULLS FIRST, r.typname
"""

FUNCTIONS = """
SELECT p.proname,
       array(SELECT t.typname FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a(oid, n)
             JOIN pg_type t ON t.oid = a.oid ORDER BY a.n),
       r.typname, coalesce(v.typname, ''), p.proretset, p.prokind, p.pronargdefaults::int,
       p.oid::int,
       CASE WHEN p.proallargtypes IS NOT NULL THEN
         array(SELECT a.name || '|' || t.typname
               FROM unnest(p.proallargtypes, p.proargmodes, p.proargnames) WITH ORDINALITY AS a(oid, mode, name, i)
               JOIN pg_type t ON t.oid = a.oid
               WHERE a.mode IN ('o', 'b', 't') ORDER BY a.i)
       END
FROM pg_proc p
JOIN pg_type r ON r.oid = p.prorettype
LEFT JOIN pg_type v ON v.oid = p.provariadic
WHERE p.pronamespace = 'pg_catalog'::regnamespace
ORDER BY p.proname, p.oid
"""


# Contrib extensions whose objects the canonicaliser knows once a schema creates them.
EXTENSIONS = (
    "btree_gin", "btree_gist", "citext", "cube", "earthdistance", "fuzzystrmatch", "hstore",
    "intarray", "isn", "lo", "ltree", "pg_trgm", "pgcrypto", "seg", "tablefunc", "unaccent",
    "uuid-ossp", "pg_stat_statements", "dblink", "moddatetime", "tcn",
)
EXT_SCHEMA = "nself_ext"


def _ext_type(name: str | None, schema: str | None) -> str | None:
    """Types of the extension's schema are written `@/name`; built-in ones plainly."""
    if name is None:
        return None
    return f"@/{name}" if schema == EXT_SCHEMA else name


EXT_TYPES = """
SELECT t.typname, t.typtype, t.typcategory, t.typispreferred, e.typname, a.typname, t.typdelim
FROM pg_depend d JOIN pg_type t ON d.classid = 'pg_type'::regclass AND d.objid = t.oid
LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typsubscript = 'array_subscript_handler'::regproc
LEFT JOIN pg_type a ON a.oid = t.typarray
WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = %s AND d.deptype = 'e'
ORDER BY 1
"""

EXT_FUNCTIONS = """
SELECT p.proname,
       array(SELECT t.typname || '|' || n.nspname FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a(oid, i)
             JOIN pg_type t ON t.oid = a.oid JOIN pg_namespace n ON n.oid = t.typnamespace ORDER BY a.i),
       r.typname, rn.nspname, coalesce(v.typname, ''), p.proretset, p.prokind, p.pronargdefaults::int
FROM pg_depend d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
JOIN pg_type r ON r.oid = p.prorettype JOIN pg_namespace rn ON rn.oid = r.typnamespace
LEFT JOIN pg_type v ON v.oid = p.provariadic
WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = %s AND d.deptype = 'e'
ORDER BY 1, 2
"""

EXT_OPERATORS = """
SELECT o.oprname, l.typname, ln.nspname, r.typname, rn.nspname, res.typname, resn.nspname,
       o.oprcode::regproc::text
FROM pg_depend d JOIN pg_operator o ON d.classid = 'pg_operator'::regclass AND d.objid = o.oid
LEFT JOIN pg_type l ON l.oid = o.oprleft LEFT JOIN pg_namespace ln ON ln.oid = l.typnamespace
JOIN pg_type r ON r.oid = o.oprright JOIN pg_namespace rn ON rn.oid = r.typnamespace
JOIN pg_type res ON res.oid = o.oprresult JOIN pg_namespace resn ON resn.oid = res.typnamespace
WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = %s AND d.deptype = 'e'
ORDER BY 1, 2, 4
"""

EXT_CASTS = """
SELECT s.typname, sn.nspname, t.typname, tn.nspname, c.castcontext, c.castmethod, coalesce(p.proname, '')
FROM pg_depend d JOIN pg_cast c ON d.classid = 'pg_cast'::regclass AND d.objid = c.oid
JOIN pg_type s ON s.oid = c.castsource JOIN pg_namespace sn ON sn.oid = s.typnamespace
JOIN pg_type t ON t.oid = c.casttarget JOIN pg_namespace tn ON tn.oid = t.typnamespace
LEFT JOIN pg_proc p ON p.oid = c.castfunc
WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = %s AND d.deptype = 'e'
ORDER BY 1, 3
"""


def extract_extensions(url: str) -> dict[str, Any]:
    """Each extension created alone in a scratch database, its member objects listed."""
    out: dict[str, Any] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        available = {r[0] for r in conn.execute("SELECT name FROM pg_available_extensions")}
    for name in EXTENSIONS:
        if name not in available:
            continue
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS nself_extract WITH (FORCE)")
            conn.execute("CREATE DATABASE nself_extract")
        scratch = psycopg.conninfo.make_conninfo(url, dbname="nself_extract")
        with psycopg.connect(scratch, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {EXT_SCHEMA}")
            conn.execute(f'CREATE EXTENSION "{name}" SCHEMA {EXT_SCHEMA} CASCADE')  # type: ignore[arg-type]
            row = conn.execute("SELECT oid FROM pg_extension WHERE extname = %s", (name,)).fetchone()
            assert row is not None
            oid = row[0]

            def typed(pair: str) -> str:
                typname, _, schema = pair.rpartition("|")
                return _ext_type(typname, schema) or typname

            out[name] = {
                "types": {
                    r[0]: {
                        "kind": r[1], "category": r[2], "preferred": r[3],
                        "elem": _ext_type(r[4], EXT_SCHEMA) if r[4] else None,
                        "array": _ext_type(r[5], EXT_SCHEMA) if r[5] else None, "delim": r[6],
                    }
                    for r in conn.execute(EXT_TYPES, (oid,))
                },
                "functions": [
                    [r[0], [typed(a) for a in r[1]], _ext_type(r[2], r[3]), r[4] or "", r[5], r[6], r[7]]
                    for r in conn.execute(EXT_FUNCTIONS, (oid,))
                ],
                "operators": [
                    [r[0], _ext_type(r[1], r[2]), _ext_type(r[3], r[4]), _ext_type(r[5], r[6]), r[7]]
                    for r in conn.execute(EXT_OPERATORS, (oid,))
                ],
                "casts": [
                    [_ext_type(r[0], r[1]), _ext_type(r[2], r[3]), r[4], r[5], r[6]]
                    for r in conn.execute(EXT_CASTS, (oid,))
                ],
            }
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS nself_extract WITH (FORCE)")
    return out


def extract(url: str) -> dict[str, Any]:
    with psycopg.connect(url) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()
        assert version is not None
        types = {
            row[0]: {
                "oid": row[1],
                "format": row[2],
                "kind": row[3],
                "category": row[4],
                "preferred": row[5],
                "elem": row[6],
                "array": row[7],
                "len": row[8],
                "base": row[9],
                "delim": row[10],
            }
            for row in conn.execute(TYPES)
        }
        casts = [list(row) for row in conn.execute(CASTS)]
        operators = [list(row) for row in conn.execute(OPERATORS)]
        functions = [list(row) for row in conn.execute(FUNCTIONS)]
    return {
        "server_version_num": int(version[0]),
        "types": types,
        # [source, target, context (i/a/e), method (f/b/i), function]
        "casts": casts,
        # [name, left or null, right, result, function, oid, can hash/merge]
        "operators": operators,
        # [name, argument types, result, variadic type or "", returns set, kind, number of defaults, oid,
        #  output columns "name|type" of a function with OUT/TABLE parameters or null]
        "functions": functions,
        # per contrib extension, its member objects; `@/name` is a type of the extension's schema
        "extensions": extract_extensions(url),
    }


def dump(data: dict[str, Any]) -> str:
    """JSON with one catalog row a line, so a re-extraction diffs line by line."""

    def one(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), sort_keys=True)

    parts = [f'{{"server_version_num":{data["server_version_num"]},']
    parts.append('"types":{')
    parts.append(",\n".join(f"{one(k)}:{one(v)}" for k, v in data["types"].items()))
    parts.append("},")
    for key in ("casts", "operators", "functions"):
        parts.append(f'"{key}":[')
        parts.append(",\n".join(one(row) for row in data[key]))
        parts.append("],")
    parts.append('"extensions":{')
    parts.append(",\n".join(f"{one(k)}:{one(v)}" for k, v in data["extensions"].items()))
    parts.append("}}")
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="a PostgreSQL 15 server's URL")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    data = extract(args.url)
    text = dump(data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    print(f"wrote {args.out}: {len(data['types'])} types, {len(data['casts'])} casts, "
          f"{len(data['operators'])} operators, {len(data['functions'])} functions, "
          f"{len(data['extensions'])} extensions")


if __name__ == "__main__":
    main()
