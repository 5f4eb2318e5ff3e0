"""The comparators, one module per object kind. Importing this package registers them, in
the order the diff runs them (nself.ir.diff.context.COMPARATORS): what others depend on
first, as PostgreSQL creates them."""

from __future__ import annotations

import importlib

KINDS = (
    "schemas",  # schemas, then extensions
    "collations",
    "types",
    "sequences",
    "tables",
    "indexes",
    "views",
    "functions",
    "operators",
    "triggers",
    "policies",
    "privileges",
    "publications",
)

for _kind in KINDS:
    importlib.import_module(f"{__name__}.{_kind}")
