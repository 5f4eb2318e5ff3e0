"""Executing a mock plan: values for every row, streamed into PostgreSQL with COPY.

All tables of a run are emptied and filled in one transaction, so a failure leaves the
database as it was. Foreign keys take their parents' key values, read back in a stable
order (text order under the C collation), so the rows are the same on every machine."""

from __future__ import annotations

import contextlib
import dataclasses
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from nself.backends.mock import PRESETS, ColumnPlan, ForeignKeyPlan, MockPlan, TablePlan, plan_mock
from nself.collector import collector_paused
from nself.connection import connect
from nself.errors import NselfError
from nself.ir import Catalog
from nself.runtime.mock.binary import HEADER, KINDS, TRAILER, BinaryValueError, Nulls, encode_rows
from nself.runtime.mock.values import (
    GENERATORS,
    JOINED_GENERATORS,
    TYPED_GENERATORS,
    Context,
    GeneratorError,
    Joined,
    Values,
    again,
    below,
    draws,
    stream_key,
)
from nself.runtime.sequences import by_sequence, sequence_uses

BLOCK_ROWS = 20_000

Rows = npt.NDArray[np.int64]
Draws = npt.NDArray[np.uint64]

Progress = Callable[[str, int, int], None]
# Asked, with the tables a run would empty besides the ones it fills, whether to go on.
Confirm = Callable[[list[str]], bool]


class MockError(NselfError):
    pass


@dataclass(frozen=True)
class TableResult:
    table: str
    rows: int
    seconds: float
    # Emptied, not filled: the table references a filled one (TRUNCATE ... CASCADE).
    cascaded: bool = False


# --------------------------------------------------------------------------- literals


_ARRAY_SPECIAL = re.compile(r'[\s,{}"\\]')
_ROW_SPECIAL = re.compile(r'[\s,()"\\]')


def _array_element(value: str | None) -> str:
    if value is None:
        return "NULL"
    if value == "" or value.upper() == "NULL" or _ARRAY_SPECIAL.search(value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def _row_field(value: str | None) -> str:
    if value is None:
        return ""
    if value == "" or _ROW_SPECIAL.search(value):
        return '"' + value.replace("\\", "\\\\").replace('"', '""') + '"'
    return value


def _copy_column(values: Values) -> list[str]:
    """A column's values in COPY text format. Most generators never produce a character
    that needs escaping: the column is searched once, and only the characters found are
    replaced, in the column's values joined by NUL (which no PostgreSQL text holds) and split
    again: three passes in C instead of a replace per value (multi-paragraph bodies all
    carry newlines)."""
    present = [v for v in values if v is not None]
    joined = "\x00".join(present)
    needed = [(char, escaped) for char, escaped in _COPY_ESCAPES if char in joined]
    if needed:
        for char, escaped in needed:
            joined = joined.replace(char, escaped)
        split = joined.split("\x00")
        if len(split) == len(present):
            present = split
        else:  # a value holding NUL (PostgreSQL refuses it anyway): value by value
            for char, escaped in needed:
                present = [v.replace(char, escaped) for v in present]
    if len(present) == len(values):
        return present
    filled = iter(present)
    return ["\\N" if v is None else next(filled) for v in values]


# Backslash first, so the escapes added after it are not doubled.
_COPY_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))


# --------------------------------------------------------------------------- columns


_SELF_UNIQUE = {
    "integer",
    "number",
    "sequence",
    "uuid",
    "email",
    "username",
    "slug",
    "pastDate",
    "futureDate",
    "disjointRange",
    "avatar",
    "constant",
    "null",
}


def column_values(column: ColumnPlan, rows: Rows, key: np.uint64, anchor: np.datetime64) -> Values:
    """The values of `column` for `rows`, as PostgreSQL input text (None is NULL)."""
    return values_from_draws(column, rows, draws(key, rows), anchor)


def values_from_draws(column: ColumnPlan, rows: Rows, u: Draws, anchor: np.datetime64) -> Values:
    if column.dims > 0:
        return _array_values(column, rows, u, anchor)
    if column.generator == "composite":
        if not column.attributes:
            raise MockError(f"column {column.name}: generator 'composite' is for columns of a composite type")
        values = _composite_values(column, rows, u, anchor)
    elif column.rules.choices is not None and column.generator not in ("constant", "null"):
        options = np.array(column.rules.choices, dtype=object)
        if column.unique:
            if len(rows) and int(rows.max()) >= len(options):
                raise MockError(
                    f"column {column.name}: only {len(options)} allowed values for a unique column; lower the count"
                )
            values = list(options[rows])
        else:
            values = list(options[below(u, len(options))])
    else:
        generator = GENERATORS.get(column.generator)
        if generator is None:
            raise MockError(
                f"column {column.name}: unknown generator {column.generator!r} (see docs/mock.md)"
            )
        partitions = column.params.get("partitions")
        if partitions:
            partitioned = _partition_values(column, rows, u, anchor, partitions)
            if partitioned is not None:
                return partitioned
        try:
            values = generator(Context(column, rows, u, anchor))
        except GeneratorError as exc:
            raise MockError(str(exc)) from None
        if column.unique and column.generator not in _SELF_UNIQUE:
            values = [None if v is None else f"{v} {r}" for v, r in zip(values, rows.tolist(), strict=True)]
    limit = column.rules.max_length
    if limit is not None:
        values = [_fit(v, limit, column.unique, r) for v, r in zip(values, rows.tolist(), strict=True)]
    probability = _null_probability(column)
    if probability > 0 and not column.not_null and not column.unique:
        nulls = (again(u, 77) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53)) < probability
        values = [None if n else v for v, n in zip(values, nulls.tolist(), strict=True)]
    return values


def _typed(column: ColumnPlan) -> bool:
    """Whether the column's values can come as numbers (`typed_values`): a generator with a
    typed form, and nothing that works on the text (lists of choices, lengths, arrays,
    composites, partition bounds, a suffix that makes values unique)."""
    return column.generator in TYPED_GENERATORS and _values_as_made(column)


def _values_as_made(column: ColumnPlan) -> bool:
    """Whether the generator's values go in as it makes them: nothing works on them as text
    (lists of choices, lengths, arrays, composites, partition bounds, a suffix that makes
    values unique)."""
    return (
        column.dims == 0
        and not column.attributes
        and column.rules.choices is None
        and column.rules.max_length is None
        and not column.params.get("partitions")
        and (not column.unique or column.generator in _SELF_UNIQUE)
    )


def _joined(column: ColumnPlan) -> bool:
    """Whether the column's values can come not yet joined (`joined_values`): a generator
    with a joined form, and nothing that works on the values (lists of choices, lengths,
    arrays, composites, partition bounds, a suffix that makes values unique, NULLs)."""
    return (
        column.generator in JOINED_GENERATORS
        and _values_as_made(column)
        and (column.not_null or column.unique or _null_probability(column) <= 0)
    )


def joined_values(column: ColumnPlan, rows: Rows, key: np.uint64, anchor: np.datetime64) -> Joined:
    """The values `column_values` gives a `_joined` column, not yet joined."""
    try:
        return JOINED_GENERATORS[column.generator](Context(column, rows, draws(key, rows), anchor))
    except GeneratorError as exc:
        raise MockError(str(exc)) from None


def typed_values(
    column: ColumnPlan, rows: Rows, key: np.uint64, anchor: np.datetime64
) -> tuple[npt.NDArray[Any], Nulls]:
    """The values `column_values` gives a `_typed` column, before formatting, and where
    its NULLs are (None: none)."""
    u = draws(key, rows)
    try:
        values = TYPED_GENERATORS[column.generator](Context(column, rows, u, anchor))
    except GeneratorError as exc:
        raise MockError(str(exc)) from None
    probability = _null_probability(column)
    if probability > 0 and not column.not_null and not column.unique:
        return values, (again(u, 77) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53)) < probability
    return values, None


def _null_probability(column: ColumnPlan) -> float:
    try:
        return float(column.params.get("nullProbability", 0) or 0)
    except (TypeError, ValueError):
        raise MockError(
            f"column {column.name}: nullProbability must be a number, not {column.params.get('nullProbability')!r}"
        ) from None


def _fit(value: str | None, limit: int, unique: bool, row: int) -> str | None:
    if value is None or len(value) <= limit:
        return value
    if unique:
        suffix = format(row, "x")
        return (value[: max(0, limit - len(suffix))] + suffix)[-limit:]
    return value[:limit]


def _array_values(
    column: ColumnPlan, rows: Rows, u: Draws, anchor: np.datetime64, *, inner: bool = False
) -> Values:
    """Array literals. A one-dimensional array holds 0 to 3 elements; a multi-dimensional
    one is rectangular (2 x 2 ...), as PostgreSQL requires of its sub-arrays."""
    rectangular = column.dims > 1 or inner
    width = 2 if rectangular else 3
    lengths = [width] * len(rows) if rectangular else below(u, width + 1).tolist()
    if column.dims > 1:
        element = dataclasses.replace(column, dims=column.dims - 1, not_null=True)
        parts = [_array_values(element, rows, again(u, 10 + i), anchor, inner=True) for i in range(width)]
    else:
        element = dataclasses.replace(column, dims=0, not_null=True)
        parts = [
            [_array_element(v) for v in values_from_draws(element, rows, again(u, 10 + i), anchor)]
            for i in range(width)
        ]
    return [
        "{" + ",".join(parts[i][index] or "" for i in range(length)) + "}"
        for index, length in enumerate(lengths)
    ]


def _composite_values(column: ColumnPlan, rows: Rows, u: Draws, anchor: np.datetime64) -> Values:
    fields = [
        values_from_draws(attr, rows, again(u, 20 + i), anchor) for i, attr in enumerate(column.attributes)
    ]
    return ["(" + ",".join(_row_field(f[i]) for f in fields) + ")" for i in range(len(rows))]


_RANGE_BOUND = re.compile(r"^FOR VALUES FROM \((.+)\) TO \((.+)\)$")
_LIST_BOUND = re.compile(r"^FOR VALUES IN \((.+)\)$")


def _literal(text: str) -> str | float | None:
    text = text.strip()
    if text in ("MINVALUE", "MAXVALUE"):
        return None
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    try:
        return float(text)
    except ValueError:
        return None


def _partition_values(
    column: ColumnPlan, rows: Rows, u: Draws, anchor: np.datetime64, bounds: Sequence[str]
) -> Values | None:
    """Values that fall inside the table's partitions (none needed with a DEFAULT one)."""
    if any(b == "DEFAULT" for b in bounds):
        return None
    ranges: list[tuple[Any, Any]] = []
    listed: list[str] = []
    for bound in bounds:
        if match := _RANGE_BOUND.match(bound):
            low, high = _literal(match.group(1)), _literal(match.group(2))
            if low is not None and high is not None:
                ranges.append((low, high))
        elif match := _LIST_BOUND.match(bound):
            listed.extend(str(_literal(v)) for v in match.group(1).split(", ") if _literal(v) is not None)
    if listed:
        options = np.array(listed, dtype=object)
        return list(options[below(u, len(options))])
    if not ranges:
        return None
    choice = below(again(u, 5), len(ranges)).tolist()
    out: Values = []
    for value, which in zip(u.tolist(), choice, strict=True):
        low, high = ranges[which]
        if isinstance(low, float) and isinstance(high, float):
            out.append(str(int(low) + int(value) % max(1, int(high - low))))
        else:
            start = np.datetime64(str(low).replace(" ", "T")[:19], "s")
            end = np.datetime64(str(high).replace(" ", "T")[:19], "s")
            span = max(1, int((end - start) / np.timedelta64(1, "s")))
            moment = np.datetime_as_string(start + np.timedelta64(int(value) % span, "s"), unit="s").replace(
                "T", " "
            )
            out.append(
                moment[:10]
                if column.base_type == "date"
                else moment + ("+00" if "with time zone" in column.base_type else "")
            )
    return out


# --------------------------------------------------------------------------- tables


def _ident(schema: str, name: str) -> sql.Composable:
    return sql.Identifier(schema, name)


@dataclass(frozen=True)
class ParentKeys:
    """The referenced key of a parent table, as text, one array per key column: children
    pick rows by index, so each value is formatted once, not once per child row."""

    columns: list[npt.NDArray[np.object_]]
    count: int
    _integers: dict[int, npt.NDArray[np.int64] | None] = dataclasses.field(
        default_factory=dict, compare=False, repr=False
    )

    def integers(self, index: int) -> npt.NDArray[np.int64] | None:
        """Key column `index` as 64-bit integers (None when a key is not one), for COPY's
        binary format."""
        if index not in self._integers:
            try:
                found: npt.NDArray[np.int64] | None = np.fromiter(
                    map(int, self.columns[index]), dtype=np.int64, count=self.count
                )
            except (TypeError, ValueError, OverflowError):
                found = None
            self._integers[index] = found
        return self._integers[index]


KeyCache = dict[tuple[str, str, tuple[str, ...]], ParentKeys]


def _parent_keys(conn: psycopg.Connection[Any], fk: ForeignKeyPlan, cache: KeyCache) -> ParentKeys:
    """A parent's keys, read once per run: a parent is complete before any child reads it."""
    cached = cache.get((fk.parent_schema, fk.parent_table, fk.parent_columns))
    if cached is not None:
        return cached
    table = _ident(fk.parent_schema, fk.parent_table)
    found = _single_keys_sorted_here(conn, fk, table)
    if found is None:
        columns = sql.SQL(", ").join(
            sql.SQL("({})::text").format(sql.Identifier(c)) for c in fk.parent_columns
        )
        keys = sql.SQL(", ").join(sql.Identifier(c) for c in fk.parent_columns)
        query = sql.SQL('SELECT {cols} FROM {table} ORDER BY (ROW({keys}))::text COLLATE "C"').format(
            cols=columns, keys=keys, table=table
        )
        rows = conn.execute(query).fetchall()
        found = ParentKeys(
            [np.array([r[i] for r in rows], dtype=object) for i in range(len(fk.parent_columns))], len(rows)
        )
    cache[(fk.parent_schema, fk.parent_table, fk.parent_columns)] = found
    return found


# A character that sorts at or before the ")" closing a row's text, or that makes record_out
# quote the value: a key without any sorts the same as its row text "(key)".
_ROW_TEXT_DIFFERS = re.compile(r'[\x00-\x29,\\"\s]')


def _single_keys_sorted_here(
    conn: psycopg.Connection[Any], fk: ForeignKeyPlan, table: sql.Composable
) -> ParentKeys | None:
    """A one-column key read unsorted and sorted here, in the order of the server's
    `ORDER BY (ROW(key))::text COLLATE "C"` (byte order of UTF-8, which is code point
    order, Python's): a sort on the server of each row's text costs ten times the read.
    Valid when every key's text sorts as its row text does (integers, most text keys);
    None when one does not (or is NULL), and the server sorts."""
    if len(fk.parent_columns) != 1:
        return None
    # Read as one value (a row at a time costs ten times more): a key holding a newline,
    # which would split wrongly, has whitespace and is sorted by the server anyway. Keys
    # past a text value's 1 GB are read a row at a time (in a savepoint: the failed
    # aggregate must not end the run's transaction).
    column = sql.Identifier(fk.parent_columns[0])
    query = sql.SQL("SELECT string_agg(({k})::text, E'\\n'), count(*), count({k}) FROM {t}")
    try:
        with conn.transaction():
            found = conn.execute(query.format(k=column, t=table)).fetchone()
    except (psycopg.errors.ProgramLimitExceeded, psycopg.errors.OutOfMemory):
        with conn.cursor(binary=False) as cur:
            rows = [r[0] for r in cur.execute(sql.SQL("SELECT ({})::text FROM {}").format(column, table))]
        found = (None if None in rows else "\n".join(rows), len(rows), len(rows) - rows.count(None))
    if found is None or found[1] != found[2]:
        return None  # a NULL key
    keys: list[str] = found[0].split("\n") if found[0] is not None else []
    if len(keys) != found[1] or "" in keys or _ROW_TEXT_DIFFERS.search("".join(keys)):
        return None
    keys.sort()
    return ParentKeys([np.array(keys, dtype=object)], len(keys))


def _bijection(rows: Rows, size: int, key: np.uint64) -> Rows:
    """A permutation of range(size) evaluated at `rows` (distinct rows give distinct
    results): r -> (r * a + b) mod size with a coprime to size."""
    a = int(key % np.uint64(max(size, 1))) | 1
    while np.gcd(a, size) != 1:
        a += 2
    b = int((key >> np.uint64(32)) % np.uint64(max(size, 1)))
    return ((rows.astype(object) * a + b) % size).astype(np.int64)  # object: no int64 overflow


def _foreign_values(
    plan: TablePlan,
    fk: ForeignKeyPlan,
    parents: ParentKeys,
    rows: Rows,
    seed: int,
    picks: Rows | None,
) -> list[Values]:
    """One list of values per foreign-key column."""
    chosen = _parent_rows(plan, fk, parents, rows, seed, picks)
    return [list(column[chosen]) for column in parents.columns]


def _parent_rows(
    plan: TablePlan, fk: ForeignKeyPlan, parents: ParentKeys, rows: Rows, seed: int, picks: Rows | None
) -> Rows:
    """Which parent row each of `rows` references (`picks` when combinations chose them)."""
    if picks is not None:
        return picks
    key = stream_key(seed, plan.qualified, "fk:" + ",".join(fk.columns))
    return _bijection(rows, parents.count, key) if fk.unique else below(draws(key, rows), parents.count)


def _combination_picks(
    plan: TablePlan, parents: dict[str, ParentKeys], rows: Rows, seed: int
) -> dict[str, Rows]:
    """Distinct combinations of parent rows for unique keys made of foreign keys
    (join tables such as film_actor): row r takes combination number perm(r)."""
    picks: dict[str, Rows] = {}
    for key_columns in plan.combination_keys:
        groups = [
            fk
            for fk in plan.foreign_keys
            if set(fk.columns) <= set(key_columns) and fk.name not in picks and fk.name in parents
        ]
        sizes = [parents[fk.name].count for fk in groups]
        total = int(np.prod(sizes, dtype=object)) if sizes else 0
        if total == 0:
            continue
        combination = _bijection(
            rows, total, stream_key(seed, plan.qualified, "combo:" + ",".join(key_columns))
        )
        remainder = combination.astype(object)
        for fk, size in zip(groups, sizes, strict=True):
            picks[fk.name] = (remainder % size).astype(np.int64)
            remainder = remainder // size
    return picks


def _row_limit(plan: TablePlan, parents: dict[str, ParentKeys]) -> int:
    """How many rows the keys allow: a one-to-one foreign key or a key of foreign keys
    cannot have more rows than parent rows or combinations."""
    limit = plan.count
    for fk in plan.foreign_keys:
        if fk.unique and fk.name in parents:
            limit = min(limit, parents[fk.name].count)
    for key_columns in plan.combination_keys:
        sizes = [
            parents[fk.name].count
            for fk in plan.foreign_keys
            if set(fk.columns) <= set(key_columns) and fk.name in parents
        ]
        if sizes:
            limit = min(limit, int(np.prod(sizes, dtype=object)))
    return limit


def _subsumed(fk: ForeignKeyPlan, plan: TablePlan) -> bool:
    """Whether filling another foreign key of the table fills `fk` too: its columns are
    some of the other's, to the same parent, each from the same parent column (a key on
    (post_id) beside one on (post_id, post_title) to posts (id, title)). One-to-one keys are
    not: the other would not keep their parents distinct."""
    for other in plan.foreign_keys:
        if (
            other is fk
            or other.deferred
            or fk.unique
            or (other.parent_schema, other.parent_table) != (fk.parent_schema, fk.parent_table)
            or not set(fk.columns) < set(other.columns)
        ):
            continue
        mapped = dict(zip(other.columns, other.parent_columns, strict=True))
        if all(mapped[c] == p for c, p in zip(fk.columns, fk.parent_columns, strict=True)):
            return True
    return False


def _fill_table(
    conn: psycopg.Connection[Any], plan: TablePlan, mock: MockPlan, progress: Progress | None, cache: KeyCache
) -> int:
    parents: dict[str, ParentKeys] = {}
    for fk in plan.foreign_keys:
        if fk.deferred or _subsumed(fk, plan):
            continue
        keys = _parent_keys(conn, fk, cache)
        if not keys.count and not fk.nullable:
            raise MockError(
                f"{plan.qualified}: column {', '.join(fk.columns)} needs rows in {fk.parent_schema}.{fk.parent_table} "
                f"(foreign key {fk.name}); generate that table too"
            )
        if keys.count:
            parents[fk.name] = keys
    count = _row_limit(plan, parents)
    fk_columns = [c for fk in plan.foreign_keys if fk.name in parents for c in fk.columns]
    shared = sorted({c for c in fk_columns if fk_columns.count(c) > 1})
    if shared:
        names = [fk.name for fk in plan.foreign_keys if fk.name in parents and shared[0] in fk.columns]
        raise MockError(
            f"{plan.qualified}: column {shared[0]} belongs to foreign keys {' and '.join(names)}, which mock "
            "cannot fill together (only when one's columns are part of the other's, to the same parent "
            "columns); list the table under tables.skip in nself/mock/mock.config.yaml"
        )
    names = [c.name for c in plan.columns] + fk_columns
    anchor = np.datetime64(mock.anchor, "s")
    if not names:
        if count:
            conn.execute(
                sql.SQL("INSERT INTO {} SELECT FROM generate_series(1, %s)").format(
                    _ident(plan.schema, plan.name)
                ),
                (count,),
            )
        return count
    kinds = _binary_kinds(conn, plan, parents)
    if kinds is not None:  # numbers first: fewer pieces per row
        names = sorted(names, key=lambda n: kinds[n] == "text")
    options = [
        o
        for o, wanted in (("FORMAT binary", kinds is not None), ("FREEZE", _plain_table(conn, plan)))
        if wanted
    ]
    copy = sql.SQL("COPY {} ({}) FROM STDIN{}").format(
        _ident(plan.schema, plan.name),
        sql.SQL(", ").join(sql.Identifier(n) for n in names),
        sql.SQL(f" ({', '.join(options)})" if options else ""),
    )
    column_keys = {c.name: stream_key(mock.seed, plan.qualified, c.name) for c in plan.columns}
    # A queued writer sends each block from a background thread, so the server ingests
    # one block while the next is generated.
    with conn.cursor() as cur, cur.copy(copy, writer=QueuedLibpqWriter(cur)) as copier:
        if kinds is not None:
            copier.write(HEADER)
        for start in range(0, count, BLOCK_ROWS):
            rows = np.arange(start, min(count, start + BLOCK_ROWS), dtype=np.int64)
            picks = _combination_picks(plan, parents, rows, mock.seed)
            if kinds is None:
                columns = [column_values(c, rows, column_keys[c.name], anchor) for c in plan.columns]
                for fk in plan.foreign_keys:
                    if fk.name in parents:
                        columns.extend(
                            _foreign_values(plan, fk, parents[fk.name], rows, mock.seed, picks.get(fk.name))
                        )
                copier.write(_copy_rows([_copy_column(values) for values in columns]).encode())
            else:
                copier.write(
                    _binary_block(plan, mock, parents, rows, picks, kinds, names, column_keys, anchor)
                )
            if progress:
                progress(plan.qualified, int(rows[-1]) + 1, count)
        if kinds is not None:
            copier.write(TRAILER)
    return count


# pg_catalog's types of a table's columns (others, domains and arrays among them, are not
# written in binary).
_COLUMN_TYPES = """
SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
  AND t.typnamespace = 'pg_catalog'::regnamespace
"""


def _binary_kinds(
    conn: psycopg.Connection[Any], plan: TablePlan, parents: dict[str, ParentKeys]
) -> dict[str, str] | None:
    """How each column the COPY names is written in COPY's binary format, or None when
    one cannot be (the table is then written in text): text types take any generator's
    text, the other kinds need a generator with a typed form or integer parent keys."""
    name = sql.Identifier(plan.schema, plan.name).as_string(conn)
    types = {str(r[0]): str(r[1]) for r in conn.execute(_COLUMN_TYPES, (name,)).fetchall()}
    kinds: dict[str, str] = {}
    for column in plan.columns:
        kind = KINDS.get(types.get(column.name, ""))
        if kind is None or (kind != "text" and not _typed(column)):
            return None
        kinds[column.name] = kind
    for fk in plan.foreign_keys:
        if fk.name not in parents:
            continue
        for index, column_name in enumerate(fk.columns):
            kind = KINDS.get(types.get(column_name, ""))
            if kind is None or kind not in ("text", "int2", "int4", "int8"):
                return None
            if kind != "text" and parents[fk.name].integers(index) is None:
                return None
            kinds[column_name] = kind
    return kinds


def _binary_block(
    plan: TablePlan,
    mock: MockPlan,
    parents: dict[str, ParentKeys],
    rows: Rows,
    picks: dict[str, Rows],
    kinds: dict[str, str],
    names: list[str],
    column_keys: dict[str, np.uint64],
    anchor: np.datetime64,
) -> bytes:
    values: dict[str, Any] = {}
    nulls: dict[str, Nulls] = {}
    for column in plan.columns:
        if kinds[column.name] == "text":
            if _joined(column):
                values[column.name] = joined_values(column, rows, column_keys[column.name], anchor)
            else:
                values[column.name] = column_values(column, rows, column_keys[column.name], anchor)
            nulls[column.name] = None
        else:
            values[column.name], nulls[column.name] = typed_values(
                column, rows, column_keys[column.name], anchor
            )
    for fk in plan.foreign_keys:
        parent = parents.get(fk.name)
        if parent is None:
            continue
        chosen = _parent_rows(plan, fk, parent, rows, mock.seed, picks.get(fk.name))
        for index, column_name in enumerate(fk.columns):
            numbers = parent.integers(index) if kinds[column_name] != "text" else None
            values[column_name] = (
                numbers[chosen] if numbers is not None else list(parent.columns[index][chosen])
            )
            nulls[column_name] = None
    try:
        return encode_rows([kinds[n] for n in names], [values[n] for n in names], [nulls[n] for n in names])
    except BinaryValueError as exc:
        raise MockError(f"{plan.qualified}: {exc}") from None


def _copy_rows(text: list[list[str]]) -> str:
    """Rows in COPY text format from the columns' texts: every value and separator laid out
    in one list by slice assignments, then one join (five times faster than joining each row)."""
    width, count = len(text), len(text[0])
    if any(len(column) != count for column in text):
        raise ValueError("columns of different lengths")
    parts: list[str] = [""] * (2 * width * count)
    for index, column in enumerate(text):
        parts[2 * index :: 2 * width] = column
    parts[1::2] = ["\t"] * (width * count)
    parts[2 * width - 1 :: 2 * width] = ["\n"] * count
    return "".join(parts)


def _plain_table(conn: psycopg.Connection[Any], plan: TablePlan) -> bool:
    """Whether the table is an ordinary one, which the run has truncated: its rows can be
    written frozen (COPY FREEZE, as pgbench -i writes them), so that neither the index
    builds and foreign-key checks at the end of the run nor the first reads after it check
    each row's visibility or set hint bits on every page. Partitioned tables cannot be."""
    row = conn.execute(
        "SELECT relkind FROM pg_class WHERE oid = %s::regclass",
        (sql.Identifier(plan.schema, plan.name).as_string(conn),),
    ).fetchone()
    return row is not None and row[0] == "r"


def _fill_deferred(conn: psycopg.Connection[Any], plan: TablePlan, mock: MockPlan, cache: KeyCache) -> None:
    """Foreign keys through cycles and self references, set once every table has rows."""
    deferred = [fk for fk in plan.foreign_keys if fk.deferred]
    if not deferred:
        return
    if not plan.key_columns:
        return  # without a key rows cannot be addressed; the columns stay NULL (they are nullable)
    key_list = sql.SQL(", ").join(sql.Identifier(c) for c in plan.key_columns)
    table = _ident(plan.schema, plan.name)
    own = [
        tuple(r)
        for r in conn.execute(
            sql.SQL('SELECT {k} FROM {t} ORDER BY (ROW({k}))::text COLLATE "C"').format(k=key_list, t=table)
        ).fetchall()
    ]
    rows = np.arange(len(own), dtype=np.int64)
    for fk in deferred:
        parents = _parent_keys(conn, fk, cache)
        if not parents.count or not own:
            continue
        values = _foreign_values(plan, fk, parents, rows, mock.seed, None)
        with conn.cursor() as cur:
            cur.execute("CREATE TEMP TABLE nself_mock_fill (k text[], v text[]) ON COMMIT DROP")
            with cur.copy("COPY nself_mock_fill (k, v) FROM STDIN") as copier:
                for index, key in enumerate(own):
                    k = "{" + ",".join(_array_element(None if x is None else str(x)) for x in key) + "}"
                    v = "{" + ",".join(_array_element(col[index]) for col in values) + "}"
                    copier.write_row((k, v))
            assignments = sql.SQL(", ").join(
                sql.SQL("{c} = (f.v[{i}])::{t}").format(
                    c=sql.Identifier(c), i=sql.Literal(i + 1), t=sql.SQL(_column_type(conn, plan, c))
                )
                for i, c in enumerate(fk.columns)
            )
            matches = sql.SQL(" AND ").join(
                sql.SQL("({c})::text = f.k[{i}]").format(c=sql.Identifier(c), i=sql.Literal(i + 1))
                for i, c in enumerate(plan.key_columns)
            )
            with _before_update_triggers_off(conn, plan):
                cur.execute(
                    sql.SQL("UPDATE {t} SET {a} FROM nself_mock_fill f WHERE {m}").format(
                        t=table, a=assignments, m=matches
                    )
                )
            cur.execute("DROP TABLE nself_mock_fill")


# The table's own BEFORE UPDATE row triggers, and its partitions': the rows' foreign keys
# are set by an UPDATE only because their parents did not exist yet, and a trigger that
# stamps the row (`updated_at := now()`) would make every run differ. tgtype bits: ROW 1,
# BEFORE 2, UPDATE 16. Internal triggers (foreign keys) are not among them.
_BEFORE_UPDATE_TRIGGERS = """
WITH tree(relid, level) AS (
    SELECT %(table)s::regclass::oid, 0
    UNION SELECT relid, level FROM pg_partition_tree(%(table)s::regclass)
)
SELECT t.tgrelid::regclass::text, t.tgname, t.tgenabled
FROM pg_trigger t JOIN tree ON tree.relid = t.tgrelid
WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND t.tgtype & 19 = 19
ORDER BY tree.level DESC, 1, 2
"""
_ENABLE = {"O": "ENABLE TRIGGER", "A": "ENABLE ALWAYS TRIGGER", "R": "ENABLE REPLICA TRIGGER"}


@contextlib.contextmanager
def _before_update_triggers_off(conn: psycopg.Connection[Any], plan: TablePlan) -> Iterator[None]:
    """Disable those triggers for the UPDATE, then put each back as it was (inside the
    run's transaction: a failure puts them back too)."""
    name = sql.Identifier(plan.schema, plan.name).as_string(conn)
    found = [(str(r[0]), str(r[1]), str(r[2])) for r in conn.execute(_BEFORE_UPDATE_TRIGGERS, {"table": name}).fetchall()]
    for relation, trigger, _state in found:
        conn.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER {}").format(sql.SQL(relation), sql.Identifier(trigger)))
    yield
    # Parents before partitions (found deepest first): enabling a parent's trigger may
    # reach its partitions' clones, which are then set as they were.
    for relation, trigger, state in reversed(found):
        conn.execute(
            sql.SQL("ALTER TABLE {} {} {}").format(sql.SQL(relation), sql.SQL(_ENABLE[state]), sql.Identifier(trigger))
        )


def _column_type(conn: psycopg.Connection[Any], plan: TablePlan, column: str) -> str:
    row = conn.execute(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s",
        (sql.Identifier(plan.schema, plan.name).as_string(conn), column),
    ).fetchone()
    return str(row[0]) if row else "text"


# The rows a table gets for its keys, foreign keys and indexes to be set aside during the
# load (`_set_aside_constraints`). Measured (users/posts/comments with an index per foreign
# key, client + server CPU and wall clock, load average 10): at 10 and 100 rows a table,
# dropping and adding them back costs 20-40 ms more than checking the few rows as they go
# in; at 1,000 rows setting aside is 25% faster, at 5,000 twice, at 20,000 2.4 times.
SET_ASIDE_FROM_ROWS = 1_000


def execute_plan(
    url: str,
    plan: MockPlan,
    *,
    progress: Progress | None = None,
    confirm: Confirm | None = None,
    set_aside_from: int = SET_ASIDE_FROM_ROWS,
) -> list[TableResult]:
    """Empty and fill the plan's tables in one transaction. Tables outside the plan that
    reference them are emptied too (TRUNCATE ... CASCADE) only when `confirm` says yes to
    their list; without `confirm` the run is refused with that list. A table of at least
    `set_aside_from` rows has its keys and indexes set aside during the load."""
    # Generation makes millions of short-lived strings and no reference cycles.
    with collector_paused():
        return _execute_plan(url, plan, progress, confirm, set_aside_from)


def _execute_plan(
    url: str, plan: MockPlan, progress: Progress | None, confirm: Confirm | None, set_aside_from: int
) -> list[TableResult]:
    results: list[TableResult] = []
    cache: KeyCache = {}
    with connect(url) as conn:
        try:
            with conn.transaction():
                cascaded: list[str] = []
                if plan.tables:
                    tables = [sql.Identifier(t.schema, t.name).as_string(conn) for t in plan.tables]
                    emptied, cascaded = _emptied(conn, tables)
                    if cascaded and (confirm is None or not confirm(cascaded)):
                        raise MockError(
                            f"generating {', '.join(t.qualified for t in plan.tables)} would also empty "
                            f"{', '.join(cascaded)}, which reference{'s' if len(cascaded) == 1 else ''} "
                            f"{'it' if len(plan.tables) == 1 else 'them'} through foreign keys: "
                            "generate those tables too, or pass --yes"
                        )
                    targets = sql.SQL(", ").join(_ident(t.schema, t.name) for t in plan.tables)
                    conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(targets))
                    _restart_sequences(conn, emptied)
                set_aside = _set_aside_constraints(conn, plan, set_aside_from)
                for table in plan.tables:
                    started = time.perf_counter()
                    try:
                        rows = _fill_table(conn, table, plan, progress, cache)
                    except psycopg.Error as exc:
                        raise MockError(_explain(exc, table.qualified)) from None
                    results.append(TableResult(table.qualified, rows, time.perf_counter() - started))
                for table in plan.tables:
                    try:
                        _fill_deferred(conn, table, plan, cache)
                    except psycopg.Error as exc:
                        raise MockError(_explain(exc, table.qualified)) from None
                _restore_constraints(conn, set_aside)
                results.extend(TableResult(name, 0, 0.0, cascaded=True) for name in cascaded)
        except psycopg.Error as exc:
            raise MockError(_explain(exc, "mock data")) from None
    return results


# Every relation TRUNCATE ... CASCADE of the given tables empties: their partitions and
# inheritance children, and the tables whose foreign keys reference any of those, again
# and again. Each comes with the table a user knows it by (a partition by its root).
_EMPTIED = """
WITH RECURSIVE hit(rel) AS (
    SELECT unnest(%(tables)s::regclass[])::oid
  UNION
    SELECT e.child FROM hit JOIN (
        SELECT inhparent AS parent, inhrelid AS child FROM pg_inherits
        UNION ALL
        SELECT confrelid, conrelid FROM pg_constraint WHERE contype = 'f'
    ) e ON e.parent = hit.rel
)
SELECT hit.rel, format('%%s.%%s', n.nspname, c.relname),
       coalesce(pg_partition_root(hit.rel), hit.rel) = ANY (%(tables)s::regclass[]::oid[])
FROM hit
JOIN pg_class c ON c.oid = coalesce(pg_partition_root(hit.rel), hit.rel)
JOIN pg_namespace n ON n.oid = c.relnamespace
"""


def _emptied(conn: psycopg.Connection[Any], tables: list[str]) -> tuple[list[int], list[str]]:
    """The oids of every relation the run empties, and the names of the tables among them
    that the plan does not fill and that hold rows (emptying an empty table loses nothing)."""
    rows = conn.execute(_EMPTIED, {"tables": tables}).fetchall()
    losing = {
        str(name)
        for oid, name, filled in rows
        if not filled and _has_rows(conn, int(oid))
    }
    return [int(r[0]) for r in rows], sorted(losing)


def _has_rows(conn: psycopg.Connection[Any], oid: int) -> bool:
    name = conn.execute("SELECT %s::oid::regclass::text", (oid,)).fetchone()
    if name is None:
        return False
    row = conn.execute(sql.SQL("SELECT EXISTS (SELECT FROM ONLY {})").format(sql.SQL(str(name[0])))).fetchone()
    return bool(row and row[0])


def _restart_sequences(conn: psycopg.Connection[Any], emptied: list[int]) -> None:
    """Start every sequence the emptied tables draw from again, so the same seed gives the
    same keys run after run: owned ones (TRUNCATE ... RESTART IDENTITY restarts only those)
    and ones a column default merely names, as a pg_dump restore leaves them. A sequence
    that also numbers a table the run leaves alone is not restarted: that table's next
    rows would collide with its own."""
    emptied_set = set(emptied)
    for (schema, name), uses in by_sequence(sequence_uses(conn)).items():
        if all(use.relation in emptied_set for use in uses):
            conn.execute(sql.SQL("ALTER SEQUENCE {} RESTART").format(sql.Identifier(schema, name)))


# What a constraint may not be set aside for: another object that depends on it or on its
# index in pg_depend (a view grouping by a primary key relies on its functional dependency,
# a foreign key of a table outside the run on the referenced key), or a comment that a
# re-created constraint would not carry.
_UNTOUCHED = """
  AND NOT EXISTS (SELECT FROM pg_depend d
                  WHERE d.deptype = 'n'
                    AND ((d.refclassid = 'pg_constraint'::regclass AND d.refobjid = c.oid)
                         OR (c.contype <> 'f' AND d.refclassid = 'pg_class'::regclass
                             AND d.refobjid = c.conindid)))
  AND obj_description(c.oid, 'pg_constraint') IS NULL
  AND (c.conindid = 0 OR c.contype = 'f' OR obj_description(c.conindid, 'pg_class') IS NULL)
"""

_FOREIGN_KEYS = (
    """
SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
FROM pg_constraint c
WHERE c.contype = 'f' AND c.conparentid = 0
  AND (c.conrelid = ANY (%(tables)s::regclass[]) OR c.conrelid IN (
        SELECT inhrelid FROM pg_inherits WHERE inhparent = ANY (%(tables)s::regclass[])))
"""
    + _UNTOUCHED
    + "ORDER BY 1, 2"
)

# Primary keys and unique constraints of the filled tables that nothing else needs (run
# after the foreign keys are set aside, so a foreign key that stays keeps its key), and
# that carry nothing an ADD CONSTRAINT would not give back (replica identity, CLUSTER).
_KEYS = (
    """
SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
FROM pg_constraint c
JOIN pg_index i ON i.indexrelid = c.conindid
WHERE c.contype IN ('p', 'u') AND c.conparentid = 0
  AND c.conrelid = ANY (%(tables)s::regclass[])
  AND NOT i.indisreplident AND NOT i.indisclustered
"""
    + _UNTOUCHED
    + "ORDER BY 1, 2"
)

# Indexes of the filled tables that no constraint owns, built again after the load (one
# sort each, instead of an insertion per row), when nothing in the catalog would differ:
# nothing depends on them (a foreign key that stays may use a unique one), no comment,
# security label, statistics target, tablespace, CLUSTER or replica identity that
# pg_get_indexdef would not give back, valid (a failed CREATE INDEX CONCURRENTLY left
# invalid must stay so), and not part of a partitioned index (a re-created parent index
# would name its partitions' indexes itself). Run after the keys are set aside.
_INDEXES = """
SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
WHERE i.indrelid = ANY (%(tables)s::regclass[])
  AND t.relkind = 'r' AND NOT c.relispartition AND c.relkind = 'i'
  AND i.indisvalid AND i.indisready AND i.indislive
  AND NOT i.indisclustered AND NOT i.indisreplident
  AND c.reltablespace = 0
  AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype <> 'f')
  AND NOT EXISTS (SELECT FROM pg_depend d
                  WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indexrelid)
  AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = i.indexrelid AND a.attstattarget >= 0)
  AND NOT EXISTS (SELECT FROM pg_seclabel l WHERE l.classoid = 'pg_class'::regclass AND l.objoid = i.indexrelid)
  AND obj_description(i.indexrelid, 'pg_class') IS NULL
ORDER BY 1, 2
"""

# (table, constraint or qualified index name, its definition, whether it is an index)
SetAside = list[tuple[str, str, str, bool]]


def _set_aside_constraints(conn: psycopg.Connection[Any], plan: MockPlan, from_rows: int) -> SetAside:
    """Drop the foreign keys, primary keys, unique constraints and other indexes of the
    tables being filled, to add them back once all rows are in: PostgreSQL then validates
    each foreign key in one pass and builds each index by sorting, instead of a check and an
    index insertion per row (what pg_restore does). It all happens in the run's
    transaction, so a violation found at the end, or any failure before it, undoes the
    whole run, and PostgreSQL's DDL being transactional, the dropped objects come back as
    they were. A constraint or index that other objects depend on (pg_depend) stays where
    it is: the rows are then checked as they go in. Only for tables of at least
    `from_rows` rows (SET_ASIDE_FROM_ROWS): on smaller ones it costs more than it saves."""
    tables = [sql.Identifier(t.schema, t.name).as_string(conn) for t in plan.tables if t.count >= from_rows]
    if not tables:
        return []
    dropped: SetAside = []
    for query, drop in (
        (_FOREIGN_KEYS, "ALTER TABLE {} DROP CONSTRAINT {}"),
        (_KEYS, "ALTER TABLE {} DROP CONSTRAINT {}"),
        (_INDEXES, "DROP INDEX {1}"),
    ):
        found = [
            (str(r[0]), str(r[1]), str(r[2])) for r in conn.execute(query, {"tables": tables}).fetchall()
        ]
        index = query is _INDEXES
        for table, name, _definition in found:
            target = sql.SQL(name) if index else sql.Identifier(name)
            conn.execute(sql.SQL(drop).format(sql.SQL(table), target))
        dropped.extend((table, name, definition, index) for table, name, definition in found)
    return dropped


def _restore_constraints(conn: psycopg.Connection[Any], dropped: SetAside) -> None:
    # Indexes, then keys, then the foreign keys that may reference them: the reverse of
    # the drop order.
    for table, name, definition, index in reversed(dropped):
        try:
            if index:
                conn.execute(sql.SQL(definition))  # pg_get_indexdef: a whole CREATE INDEX
            else:
                conn.execute(
                    sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                        sql.SQL(table), sql.Identifier(name), sql.SQL(definition)
                    )
                )
        except psycopg.Error as exc:
            raise MockError(_explain(exc, table)) from None


def _explain(exc: psycopg.Error, filling: str) -> str:
    diag = exc.diag
    where = ".".join(p for p in (diag.schema_name, diag.table_name) if p) or filling
    detail = diag.message_primary or str(exc).splitlines()[0]
    if diag.constraint_name:
        return (
            f"{where}: generated rows break constraint {diag.constraint_name}"
            f"{' on column ' + diag.column_name if diag.column_name else ''}: {detail}; "
            "set a generator for the column in nself/mock/mock.config.yaml"
        )
    if diag.column_name:
        return f"{where}: column {diag.column_name}: {detail}"
    return f"{where}: {detail}"


def generate_mock(
    url: str,
    catalog: Catalog,
    config: dict[str, Any],
    *,
    only: list[str] | None = None,
    seed: int | None = None,
    preset: str | None = None,
    progress: Progress | None = None,
    confirm: Confirm | None = None,
    set_aside_from: int = SET_ASIDE_FROM_ROWS,
) -> list[TableResult]:
    if preset is not None and preset not in PRESETS:
        raise MockError(f"--preset: {preset!r} is not one of {', '.join(PRESETS)}")
    if seed is not None:
        config = {**config, "seed": seed}
    try:
        plan = plan_mock(catalog, config, only=only, count=PRESETS[preset] if preset else None)
    except ValueError as exc:
        raise MockError(str(exc)) from None
    return execute_plan(url, plan, progress=progress, confirm=confirm, set_aside_from=set_aside_from)


def preview_rows(
    catalog: Catalog, config: dict[str, Any], table: str, rows: int
) -> tuple[list[str], list[list[str | None]]]:
    """Rows `table` would get (without foreign keys, which need the parents' rows)."""
    try:
        plan = plan_mock(catalog, config, only=[table], count=rows)
    except ValueError as exc:
        raise MockError(str(exc)) from None
    target = plan.tables[0]
    anchor = np.datetime64(plan.anchor, "s")
    indexes = np.arange(rows, dtype=np.int64)
    columns = [
        column_values(c, indexes, stream_key(plan.seed, target.qualified, c.name), anchor)
        for c in target.columns
    ]
    return [c.name for c in target.columns], [list(r) for r in zip(*columns, strict=True)]
