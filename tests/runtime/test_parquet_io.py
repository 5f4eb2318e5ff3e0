"""Parquet export and import against PostgreSQL: pyarrow reads back what PostgreSQL holds,
and export -> import gives the same rows (checksums of every table)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from nself.runtime.data_io import export_data, import_data
from tests.conftest import NewDatabase, run_sql

pq = pytest.importorskip("pyarrow.parquet")
pa = pytest.importorskip("pyarrow")

TYPES = Path(__file__).resolve().parent.parent / "backends" / "types"
DDL = (TYPES / "every_case.sql").read_text(encoding="utf-8")
ROWS = (TYPES / "every_case_rows.sql").read_text(encoding="utf-8")


def checksums(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            # Not another session's temporary tables (an import's, dropped when its backend
            # exits, which can be after the import returned: listed, then gone).
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND schemaname NOT LIKE 'pg\\_temp\\_%'"
        ).fetchall()
        return {
            t: conn.execute(
                f"SELECT md5(coalesce(string_agg(x::text, '' ORDER BY x::text), '')) FROM {t} x"
            ).fetchone()[0]  # type: ignore[index]
            for (t,) in tables
        }


def normal(row: tuple[object, ...]) -> tuple[object, ...]:
    """Timestamps with a zone compared in UTC (psycopg gives the session's zone object)."""
    return tuple(
        value.astimezone(UTC) if isinstance(value, datetime) and value.tzinfo is not None else value
        for value in row
    )


def test_every_type_round_trips_and_reads_back_as_postgresql_says(
    new_database: NewDatabase, tmp_path: Path
) -> None:
    source, target = new_database("pq_src"), new_database("pq_dst")
    run_sql(source, DDL + ROWS)
    run_sql(target, DDL)
    exported = export_data(source, tmp_path, fmt="parquet")
    assert {t.table for t in exported.tables} >= {"public.all_types", "public.array_elements"}
    import_data(target, tmp_path)
    assert checksums(target) == checksums(source)

    schema = pq.read_schema(tmp_path / "public.all_types.parquet")
    kinds = {name: str(schema.field(name).type) for name in schema.names}
    assert kinds["c_numeric_p"] == "decimal128(10, 2)"
    assert kinds["c_timestamptz"] == "timestamp[us, tz=UTC]"
    assert kinds["c_int_array"] == "list<element: int32>"
    assert kinds["c_mood"].startswith("dictionary<values=string")
    assert kinds["c_jsonb"] == "string"
    # Every value pyarrow reads equals PostgreSQL's: typed columns as psycopg reads them,
    # the others in PostgreSQL's text form.
    with psycopg.connect(source) as conn:
        for item in exported.tables:
            table = pq.read_table(item.path)
            if not table.num_columns:
                continue
            selects = []
            for field in table.schema:
                ident = '"' + field.name.replace('"', '""') + '"'
                if pa.types.is_string(field.type) or pa.types.is_dictionary(field.type):
                    selects.append(f"{ident}::text")
                elif pa.types.is_list(field.type) and pa.types.is_string(field.type.value_type):
                    selects.append(f"{ident}::text[]")
                else:
                    selects.append(ident)
            schema_name, _, name = item.table.partition(".")
            relation = '"' + schema_name + '"."' + name.replace('"', '""') + '"'
            key = conn.execute(
                "SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.i) FROM pg_index x "
                "CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY k(n, i) "
                "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n "
                "WHERE x.indrelid = %s::regclass AND x.indisprimary",
                (relation,),
            ).fetchone()[0]  # type: ignore[index]
            order = f" ORDER BY {key}" if key else ""
            expected = conn.execute(f"SELECT {', '.join(selects)} FROM {relation}{order}").fetchall()  # type: ignore[arg-type]
            got = [normal(tuple(row.values())) for row in table.to_pylist()]
            expected = [normal(row) for row in expected]
            if not key:
                expected, got = sorted(expected, key=repr), sorted(got, key=repr)
            assert got == expected, item.table


def test_chunks_and_the_retry_when_a_value_has_no_arrow_form(
    new_database: NewDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many small chunks (row groups) keep every row in order; a table whose rows hold
    infinity or NaN is exported again with those columns as text (the first attempt, made
    without scanning the table, fails in pyarrow's reader), and both round-trip."""
    from nself.runtime import parquet_io

    monkeypatch.setattr(parquet_io, "CHUNK_BYTES", 300)
    source, target = new_database("pq_chunks"), new_database("pq_chunks_dst")
    ddl = (
        "CREATE TABLE plain (id int PRIMARY KEY, at timestamptz, n numeric(10,2), s text);"
        "CREATE TABLE odd (id int PRIMARY KEY, at timestamptz, n numeric(10,2), s text);"
    )
    run_sql(source, ddl)
    run_sql(target, ddl)
    run_sql(
        source,
        "INSERT INTO plain SELECT g, timestamptz '2026-01-01 00:00+02' + g * interval '1 hour', g / 7.0, "
        "CASE WHEN g % 5 = 0 THEN NULL WHEN g % 7 = 0 THEN '' ELSE 'line ' || g || E'\\n\"q\"' END "
        "FROM generate_series(1, 500) g;"
        "INSERT INTO odd SELECT g, CASE WHEN g = 400 THEN 'infinity' ELSE timestamptz '2026-01-01' END, "
        "CASE WHEN g = 450 THEN 'NaN' ELSE 1.5 END, 'x' FROM generate_series(1, 500) g;",
    )
    export_data(source, tmp_path, fmt="parquet")
    plain = pq.ParquetFile(tmp_path / "public.plain.parquet")
    assert plain.metadata.num_row_groups > 10
    assert str(plain.schema_arrow.field("at").type) == "timestamp[us, tz=UTC]"
    with psycopg.connect(source) as conn:
        assert [normal(r) for r in conn.execute("SELECT * FROM plain ORDER BY id")] == [
            normal(tuple(r.values())) for r in plain.read().to_pylist()
        ]
    odd = pq.read_schema(tmp_path / "public.odd.parquet")
    assert (str(odd.field("at").type), str(odd.field("n").type)) == ("string", "string")
    import_data(target, tmp_path)
    assert checksums(target) == checksums(source)
