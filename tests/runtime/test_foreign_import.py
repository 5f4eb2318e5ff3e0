"""`data import` of files made elsewhere (nself.runtime.foreign_io), read by DuckDB, against
real PostgreSQL: the oracle is what the table holds afterwards, compared with what the
file says, and a file with a value the table cannot take leaves every table as it was."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb  # noqa: F401  # a test dependency (pyproject's test extra): missing is an error, not a skip
import psycopg
import pytest

from nself.runtime.data_io import DataFileError, export_data, import_data
from tests.conftest import run_sql

SCHEMA = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE people (
    id int PRIMARY KEY,
    name varchar(40) NOT NULL,
    born date,
    amount numeric(10,2),
    active boolean,
    seen timestamptz,
    feeling mood,
    code text
);
CREATE TABLE profiles (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id int REFERENCES people (id),
    data jsonb,
    tags text[],
    note text
);
INSERT INTO people (id, name) VALUES (100, 'kept');
"""


def rows(url: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return list(conn.execute(query).fetchall())  # type: ignore[arg-type]


def checksum(url: str) -> list[tuple[object, ...]]:
    return rows(
        url,
        "SELECT 'people', md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM people t "
        "UNION ALL SELECT 'profiles', md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM profiles t",
    )


@pytest.fixture
def url(database: str) -> str:
    run_sql(database, SCHEMA)
    return database


def test_a_semicolon_csv_with_quotes_and_iso_dates(tmp_path: Path, url: str) -> None:
    file = tmp_path / "people.csv"
    file.write_text(
        "id;name;born;amount;active;seen;feeling;code\n"
        '1;"Müller; Hans";1990-02-03;12.50;yes;2026-01-02 03:04:05+02;happy;"007"\n'
        '2;"say ""hi""";;;f;;;""\n'
        '3;"two\nlines";2001-12-31;0.1;true;2026-06-30T12:00:00Z;sad;\n',
        encoding="utf-8",
    )
    result = import_data(url, file, table="people")
    assert result.tables[0].rows == 3
    got = rows(
        url,
        "SELECT id, name, born, amount, active, seen, feeling::text, code FROM people WHERE id < 100 ORDER BY id",
    )
    utc = UTC
    assert got == [
        (
            1,
            "Müller; Hans",
            date(1990, 2, 3),
            Decimal("12.50"),
            True,
            datetime(2026, 1, 2, 1, 4, 5, tzinfo=utc),
            "happy",
            "007",
        ),
        (2, 'say "hi"', None, None, False, None, None, ""),  # "" is an empty string, an empty field NULL
        (
            3,
            "two\nlines",
            date(2001, 12, 31),
            Decimal("0.10"),
            True,
            datetime(2026, 6, 30, 12, tzinfo=utc),
            "sad",
            None,
        ),
    ]


def test_sniffed_date_formats_are_read_as_dates(tmp_path: Path, url: str) -> None:
    file = tmp_path / "people.csv"
    file.write_text("id|name|born\n1|Ann|31/12/1999\n2|Bob|01/02/2000\n", encoding="utf-8")
    import_data(url, file, table="people")
    assert rows(url, "SELECT id, born FROM people WHERE id < 100 ORDER BY id") == [
        (1, date(1999, 12, 31)),
        (2, date(2000, 2, 1)),
    ]


def test_json_lines_with_nested_objects_into_jsonb(tmp_path: Path, url: str) -> None:
    run_sql(url, "INSERT INTO people (id, name) VALUES (1, 'Ann'), (2, 'Bob')")
    lines = [
        {
            "person_id": 1,
            "data": {"address": {"city": "Zürich", "zip": "8001"}, "tags": [1, None]},
            "tags": ["a", 'q"x', None],
            "note": "é",
        },
        {"person_id": 2, "data": {"other": True}, "note": None},
        {"person_id": 2, "data": None, "tags": [], "note": "{not json}"},
    ]
    file = tmp_path / "public.profiles.jsonl"
    file.write_text(
        "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n", encoding="utf-8"
    )
    import_data(url, file)
    got = rows(url, "SELECT person_id, data, tags, note FROM profiles ORDER BY id")
    # Each object exactly as written: no key added or lost (DuckDB's struct would add them).
    assert got == [
        (1, lines[0]["data"], ["a", 'q"x', None], "é"),
        (2, {"other": True}, None, None),
        (2, None, [], "{not json}"),
    ]


def test_foreign_parquet_with_other_types(tmp_path: Path, url: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "id": pa.array([1, 2], pa.int64()),  # bigint into int
            "name": ["Ann", "Bob"],
            "born": pa.array([date(1990, 1, 1), None], pa.date32()),
            "amount": pa.array([1.25, 3.0], pa.float64()),  # float into numeric(10,2)
            "seen": pa.array([datetime(2026, 1, 1, 12), None], pa.timestamp("us", tz="UTC")),
            "code": pa.array([7, None], pa.int32()),  # an int into text
        }
    )
    pq.write_table(table, tmp_path / "people.parquet")
    import_data(url, tmp_path / "people.parquet", table="people")
    assert rows(url, "SELECT id, name, born, amount, seen, code FROM people WHERE id < 100 ORDER BY id") == [
        (1, "Ann", date(1990, 1, 1), Decimal("1.25"), datetime(2026, 1, 1, 12, tzinfo=UTC), "7"),
        (2, "Bob", None, Decimal("3.00"), None, None),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "id;name;born\n1;Ann;1990-01-01\nx2;Bob;\n",
            "column 'id': 1 value does not fit public.people.id (int4), the first in row 2: 'x2'",
        ),
        ("id;name;born\n1;Ann;1990-13-45\n", "column 'born': 1 value does not fit public.people.born (date)"),
        (
            "id;name;amount\n1;Ann;123456789012\n",
            "column 'amount': 1 value does not fit public.people.amount (numeric(10,2))",
        ),
        (
            "id;name;feeling\n1;Ann;angry\n",
            "column 'feeling': 1 value does not fit public.people.feeling (mood)",
        ),
        (
            "id;name\n1;" + "x" * 41 + "\n",
            "column 'name': 1 value does not fit public.people.name (varchar(40))",
        ),
        ("id;nom\n1;Ann\n", "column 'nom' is not in table public.people"),
    ],
)
def test_a_value_that_does_not_fit_is_one_error_and_nothing_is_written(
    tmp_path: Path, url: str, text: str, message: str
) -> None:
    good = tmp_path / "dir"
    good.mkdir()
    # A second file that would load fine: the whole import is refused, this one too.
    (good / "public.profiles.jsonl").write_text('{"person_id": 100, "data": {"a": 1}}\n')
    (good / "public.people.csv").write_text(text, encoding="utf-8")
    before = checksum(url)
    with pytest.raises(DataFileError) as caught:
        import_data(url, good)
    assert message in str(caught.value)
    assert str(good / "public.people.csv") in str(caught.value)
    assert "\n" not in str(caught.value)
    assert checksum(url) == before


def test_nself_own_exports_still_use_postgres_readers(tmp_path: Path, url: str) -> None:
    """A comma CSV whose header is the table's columns, a JSON array and nself's Parquet keep
    their exact round trip (the text '007', arrays, NULL against "")."""
    run_sql(url, "INSERT INTO people (id, name, code) VALUES (1, 'a,b', '007'), (2, '', NULL)")
    before = checksum(url)
    for fmt in ("csv", "json", "parquet"):
        out = tmp_path / fmt
        export_data(url, out, fmt=fmt)  # type: ignore[arg-type]
        import_data(url, out, truncate=True)
        assert checksum(url) == before, fmt
