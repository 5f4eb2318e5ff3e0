"""What CREATE EXTENSION needs to know offline: each PostgreSQL 15 contrib extension's default
version, comment, fixed schema (for non-relocatable ones) and requirements, as its control
file gives them (read once from /usr/share/postgresql/15/extension/*.control)."""

from __future__ import annotations

from typing import NamedTuple


class ExtensionInfo(NamedTuple):
    default_version: str | None
    comment: str | None
    schema: str | None
    requires: tuple[str, ...]


EXTENSIONS: dict[str, ExtensionInfo] = {
    "adminpack": ExtensionInfo("2.1", "administrative functions for PostgreSQL", "pg_catalog", ()),
    "amcheck": ExtensionInfo("1.3", "functions for verifying relation integrity", None, ()),
    "autoinc": ExtensionInfo("1.0", "functions for autoincrementing fields", None, ()),
    "bloom": ExtensionInfo("1.0", "bloom access method - signature file based index", None, ()),
    "btree_gin": ExtensionInfo("1.3", "support for indexing common datatypes in GIN", None, ()),
    "btree_gist": ExtensionInfo("1.7", "support for indexing common datatypes in GiST", None, ()),
    "citext": ExtensionInfo("1.6", "data type for case-insensitive character strings", None, ()),
    "cube": ExtensionInfo("1.5", "data type for multidimensional cubes", None, ()),
    "dblink": ExtensionInfo("1.2", "connect to other PostgreSQL databases from within a database", None, ()),
    "dict_int": ExtensionInfo("1.0", "text search dictionary template for integers", None, ()),
    "dict_xsyn": ExtensionInfo(
        "1.0", "text search dictionary template for extended synonym processing", None, ()
    ),
    "earthdistance": ExtensionInfo(
        "1.1", "calculate great-circle distances on the surface of the Earth", None, ("cube",)
    ),
    "file_fdw": ExtensionInfo("1.0", "foreign-data wrapper for flat file access", None, ()),
    "fuzzystrmatch": ExtensionInfo("1.1", "determine similarities and distance between strings", None, ()),
    "hstore": ExtensionInfo("1.8", "data type for storing sets of (key, value) pairs", None, ()),
    "insert_username": ExtensionInfo("1.0", "functions for tracking who changed a table", None, ()),
    "intagg": ExtensionInfo("1.1", "integer aggregator and enumerator (obsolete)", None, ()),
    "intarray": ExtensionInfo(
        "1.5", "functions, operators, and index support for 1-D arrays of integers", None, ()
    ),
    "isn": ExtensionInfo("1.2", "data types for international product numbering standards", None, ()),
    "lo": ExtensionInfo("1.1", "Large Object maintenance", None, ()),
    "ltree": ExtensionInfo("1.2", "data type for hierarchical tree-like structures", None, ()),
    "moddatetime": ExtensionInfo("1.0", "functions for tracking last modification time", None, ()),
    "old_snapshot": ExtensionInfo("1.0", "utilities in support of old_snapshot_threshold", None, ()),
    "pageinspect": ExtensionInfo("1.11", "inspect the contents of database pages at a low level", None, ()),
    "pg_buffercache": ExtensionInfo("1.3", "examine the shared buffer cache", None, ()),
    "pg_freespacemap": ExtensionInfo("1.2", "examine the free space map (FSM)", None, ()),
    "pg_prewarm": ExtensionInfo("1.2", "prewarm relation data", None, ()),
    "pg_stat_statements": ExtensionInfo(
        "1.10", "track planning and execution statistics of all SQL statements executed", None, ()
    ),
    "pg_surgery": ExtensionInfo("1.0", "extension to perform surgery on a damaged relation", None, ()),
    "pg_trgm": ExtensionInfo(
        "1.6", "text similarity measurement and index searching based on trigrams", None, ()
    ),
    "pg_visibility": ExtensionInfo(
        "1.2", "examine the visibility map (VM) and page-level visibility info", None, ()
    ),
    "pg_walinspect": ExtensionInfo(
        "1.0", "functions to inspect contents of PostgreSQL Write-Ahead Log", None, ()
    ),
    "pgcrypto": ExtensionInfo("1.3", "cryptographic functions", None, ()),
    "pgrowlocks": ExtensionInfo("1.2", "show row-level locking information", None, ()),
    "pgstattuple": ExtensionInfo("1.5", "show tuple-level statistics", None, ()),
    "pgtap": ExtensionInfo("1.2.0", "Unit testing for PostgreSQL", None, ("plpgsql",)),
    "plpgsql": ExtensionInfo("1.0", "PL/pgSQL procedural language", "pg_catalog", ()),
    "postgres_fdw": ExtensionInfo("1.1", "foreign-data wrapper for remote PostgreSQL servers", None, ()),
    "refint": ExtensionInfo("1.0", "functions for implementing referential integrity (obsolete)", None, ()),
    "seg": ExtensionInfo(
        "1.4", "data type for representing line segments or floating-point intervals", None, ()
    ),
    "sslinfo": ExtensionInfo("1.2", "information about SSL certificates", None, ()),
    "tablefunc": ExtensionInfo("1.0", "functions that manipulate whole tables, including crosstab", None, ()),
    "tcn": ExtensionInfo("1.0", "Triggered change notifications", None, ()),
    "tsm_system_rows": ExtensionInfo(
        "1.0", "TABLESAMPLE method which accepts number of rows as a limit", None, ()
    ),
    "tsm_system_time": ExtensionInfo(
        "1.0", "TABLESAMPLE method which accepts time in milliseconds as a limit", None, ()
    ),
    "unaccent": ExtensionInfo("1.1", "text search dictionary that removes accents", None, ()),
    "uuid-ossp": ExtensionInfo("1.1", "generate universally unique identifiers (UUIDs)", None, ()),
    "xml2": ExtensionInfo("1.1", "XPath querying and XSLT", None, ()),
}
