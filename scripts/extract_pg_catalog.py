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
       p.oid::int
FROM pg_proc p
JOIN pg_type r ON r.oid = p.prorettype
LEFT JOIN pg_type v ON v.oid = p.provariadic
WHERE p.pronamespace = 'pg_catalog'::regnamespace
ORDER BY p.proname, p.oid
"""


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
        # [name, argument types, result, variadic type or "", returns set, kind, number of defaults, oid]
        "functions": functions,
    }


def dump(data: dict[str, Any]) -> str:
    """JSON with one catalog row a line, so a re-extraction diffs line by line."""

    def one(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), sort_keys=True)

    parts = [f'{{"server_version_num":{data["server_version_num"]},']
    parts.append('"types":{')
    parts.append(",\n".join(f"{one(k)}:{one(v)}" for k, v in data["types"].items()))
    parts.append("},")
    for i, key in enumerate(("casts", "operators", "functions")):
        parts.append(f'"{key}":[')
        parts.append(",\n".join(one(row) for row in data[key]))
        parts.append("]" + ("," if i < 2 else "}"))
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
          f"{len(data['operators'])} operators, {len(data['functions'])} functions")


if __name__ == "__main__":
    main()
