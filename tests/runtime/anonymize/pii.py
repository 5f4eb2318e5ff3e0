"""The PII schema and the checks every anonymised copy of it must pass, asked of PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
SCHEMA_SQL = (HERE / "pii_schema.sql").read_text(encoding="utf-8")
DDL_SQL = SCHEMA_SQL.split("INSERT INTO roles")[0]  # the schema without its rows
CONFIG = HERE / "pii_anonymize.yaml"

# Columns whose every original value must be gone from the whole target, with the SQL that
# lists those values on the source. noise moves values within a range (a moved birth date may
# land on another person's): it is checked row by row instead.
ORIGINALS = {
    "people.email": "SELECT email FROM people",
    "people.first_name": "SELECT first_name FROM people",
    "people.last_name": "SELECT last_name FROM people",
    "people.phone": "SELECT phone FROM people",
    "people.ssn": "SELECT ssn FROM people",
    "people.signup_ip": "SELECT host(signup_ip) FROM people",
    "people.bio": "SELECT bio FROM people",
    "people.profile.nickname": "SELECT profile ->> 'nickname' FROM people",
    "people.profile.contact": "SELECT profile #>> '{contact,phone}' FROM people UNION ALL SELECT profile #>> '{contact,email}' FROM people",
    "people.profile.kids": "SELECT jsonb_path_query(profile, '$.kids[*].name') #>> '{}' FROM people",
    "addresses.street": "SELECT street FROM addresses",
    "addresses.city": "SELECT city FROM addresses",
    "addresses.postcode": "SELECT postcode FROM addresses",
    "orders.shipping_address": "SELECT shipping_address FROM orders",
    "orders.notes": "SELECT notes FROM orders",
    "orders.customer_email": "SELECT customer_email FROM orders",
    "payments.card_number": "SELECT card_number FROM payments",
    "payments.card_holder": "SELECT card_holder FROM payments",
    "payments.billing_address": "SELECT billing_address FROM payments",
    "messages.body": "SELECT body FROM messages",
}
# Columns nothing configures or follows: they must arrive byte-identical.
UNTOUCHED = {
    "roles": ["id", "name"],
    "people": ["id", "role_id", "manager_id", "home_address_id", "created_at"],
    "addresses": ["id", "person_id", "kind"],
    "orders": ["id", "order_no", "total", "placed_at"],
    "payments": ["id", "order_id", "amount"],
    "messages": ["id", "author_id", "sent_at"],
}
TABLES = list(UNTOUCHED)


def original_values(url: str) -> set[str]:
    found: set[str] = set()
    with psycopg.connect(url) as conn:
        for query in ORIGINALS.values():
            found.update(str(v) for (v,) in conn.execute(query).fetchall() if v is not None)
    return found


def every_value(url: str) -> list[tuple[str, str]]:
    """(table.column, value as text) of every column of every table, JSON documents included."""
    values: list[tuple[str, str]] = []
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' "
            "AND a.attnum > 0 AND NOT a.attisdropped"
        ).fetchall()
        for table, column in columns:
            rows = conn.execute(
                f'SELECT "{column}"::text FROM "{table}" WHERE "{column}" IS NOT NULL'
            ).fetchall()
            values.extend((f"{table}.{column}", str(v)) for (v,) in rows)
    return values


def leaks(source: str, target: str) -> list[str]:
    """Original values found anywhere in the target: as a whole value, or inside a longer one."""
    originals = original_values(source)
    long_ones = [o for o in originals if len(o) >= 8]
    found = []
    for where, value in every_value(target):
        if value in originals:
            found.append(f"{where} = {value!r}")
        else:
            found.extend(f"{where} contains {o!r}" for o in long_ones if o in value)
    return found


def checksums(url: str, columns: dict[str, list[str]] | None = None) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        sums = {}
        for table in TABLES:
            what = "t" if columns is None else "(" + ", ".join(f't."{c}"' for c in columns[table]) + ")"
            sums[table] = conn.execute(
                f"SELECT md5(coalesce(string_agg({what}::text, '' ORDER BY {what}::text), '')) FROM {table} t"
            ).fetchone()[0]  # type: ignore[index]
        return sums


def counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # type: ignore[index]


def revalidate(url: str) -> None:
    """Drop and re-add every constraint (PostgreSQL then checks every row against it), in a
    transaction that is rolled back: raises if any row breaks any constraint."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE connamespace = 'public'::regnamespace AND contype IN ('p', 'u', 'f', 'c') AND conrelid <> 0"
        ).fetchall()
        ordered = sorted(rows, key=lambda r: r[2] != "f")  # foreign keys go first and come back last
        for table, name, _, _ in ordered:
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for table, name, _, definition in reversed(ordered):
            conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')  # type: ignore[arg-type]
        conn.rollback()
