"""Anonymised sync, in-place anonymisation and preview, against real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from nself.errors import SourceError
from nself.frontends.live import introspect
from nself.ir import model as m
from nself.runtime.anonymize.config import load_config, parse_config
from nself.runtime.anonymize.engine import anonymize_in_place, make_plan, preview, sync
from nself.runtime.anonymize.plan import AnonymizeError
from nself.runtime.cluster import LocalCluster
from tests.conftest import NewDatabase, run_sql
from tests.runtime.anonymize.pii import (
    CONFIG,
    DDL_SQL,
    SCHEMA_SQL,
    UNTOUCHED,
    checksums,
    counts,
    leaks,
    revalidate,
)

KEY = b"test key one"


@pytest.fixture
def source(new_database: NewDatabase) -> str:
    url = new_database("pii_src")
    run_sql(url, SCHEMA_SQL)
    return url


@pytest.fixture(scope="module")
def pii_catalog(pg_cluster: LocalCluster) -> Iterator[m.Catalog]:
    """The PII schema's catalog, read once for the tests that only bind configs to it."""
    name = f"pii_catalog_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        run_sql(pg_cluster.url(name), DDL_SQL)
        yield introspect(pg_cluster.url(name))
    finally:
        with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def empty_copy(new_database: NewDatabase) -> str:
    url = new_database("pii_dst")
    run_sql(url, DDL_SQL)
    return url


def anonymised_sync(source: str, target: str, key: bytes = KEY) -> None:
    catalog = introspect(source)
    sync(source, target, catalog=catalog, plan=make_plan(catalog, load_config(CONFIG), key))


def test_sync_anonymize_keeps_rows_and_constraints_and_leaves_no_original(
    source: str, new_database: NewDatabase
) -> None:
    target = empty_copy(new_database)
    anonymised_sync(source, target)
    assert counts(target) == counts(source)
    assert leaks(source, target) == []
    revalidate(target)  # every PK, unique, FK and CHECK holds on every row
    assert checksums(target, UNTOUCHED) == checksums(source, UNTOUCHED)
    with psycopg.connect(target) as conn:
        # The email used as a key still joins, and the cycle through the deferrable key holds.
        joined = conn.execute(
            "SELECT count(*) FROM orders o JOIN people p ON p.email = o.customer_email"
        ).fetchone()
        assert joined is not None and joined[0] == counts(source)["orders"]
        # The `where` rule kept NULL notes NULL; the others were rewritten.
        assert conn.execute("SELECT count(*) FROM orders WHERE notes IS NULL").fetchone() == (180,)
    with psycopg.connect(source) as s, psycopg.connect(target) as t:
        before = s.execute("SELECT id, birth_date, salary FROM people ORDER BY id").fetchall()
        after = t.execute("SELECT id, birth_date, salary FROM people ORDER BY id").fetchall()
    for (_, day, salary), (_, new_day, new_salary) in zip(before, after, strict=True):
        assert abs((new_day - day).days) <= 200
        assert abs(new_salary - salary) <= salary / 10 + 1
    assert sum(a != b for a, b in zip(before, after, strict=True)) > len(before) * 0.9


def test_two_runs_are_identical_and_another_key_differs(source: str, new_database: NewDatabase) -> None:
    first, second, other = (empty_copy(new_database) for _ in range(3))
    anonymised_sync(source, first)
    anonymised_sync(source, second)
    anonymised_sync(source, other, key=b"another key")
    assert checksums(first) == checksums(second)
    differ = {t for t, s in checksums(other).items() if s != checksums(first)[t]}
    assert differ == {"people", "addresses", "orders", "payments", "messages"}


def test_plain_sync_copies_everything_exactly(source: str, new_database: NewDatabase) -> None:
    target = empty_copy(new_database)
    run_sql(target, "INSERT INTO roles VALUES (9, 'stale')")  # replaced, not kept
    sync(source, target, catalog=introspect(source), plan=None)
    assert checksums(target) == checksums(source)
    with psycopg.connect(target) as conn:  # sequences moved past the copied keys
        conn.execute(
            "INSERT INTO people (email, first_name, last_name, created_at) VALUES ('n@x.test', 'a', 'b', now())"
        )


def test_in_place_then_preview(source: str, new_database: NewDatabase) -> None:
    reference = empty_copy(new_database)
    anonymised_sync(source, reference)
    keep = new_database("pii_copy")
    run_sql(keep, SCHEMA_SQL)
    catalog = introspect(source)
    plan = make_plan(catalog, load_config(CONFIG), KEY)
    anonymize_in_place(source, catalog=catalog, plan=plan)
    # In place gives exactly what the anonymised sync gave.
    assert checksums(source) == checksums(reference)
    assert leaks(keep, source) == []


def test_preview_shows_rows_and_broken_checks_and_writes_nothing(source: str) -> None:
    before = checksums(source)
    catalog = introspect(source)
    config = parse_config("tables:\n  people:\n    phone: mask\n    email: fake\n", "a.yaml")
    shown = preview(source, catalog=catalog, plan=make_plan(catalog, config, KEY), limit=3)
    people = next(t for t in shown if t.table == "public.people")
    assert people.columns == ("email", "phone")
    assert len(people.before) == len(people.after) == 3
    assert all(
        b[1] != a[1] and a[1].endswith(b[1][-4:]) for b, a in zip(people.before, people.after, strict=True)
    )
    # mask writes '*', which the CHECK on phone refuses: preview says so before anything runs.
    assert any("people_phone_check" in p for p in people.problems)
    orders = next(t for t in shown if t.table == "public.orders")
    assert orders.columns == ("customer_email",)  # follows people.email through the foreign key
    assert checksums(source) == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "tables:\n  people:\n    emial: fake\n",
            "t.yaml:3:5: tables.people.emial: no column 'emial' in public.people",
        ),
        ("tables:\n  peple:\n    email: fake\n", "t.yaml:2:3: tables: no table 'peple' in the database"),
        ("tables:\n  people:\n    email: null\n", "t.yaml:3:12: people.email: null on a NOT NULL column"),
        (
            "tables:\n  people:\n    email: mask\n",
            "t.yaml:3:12: people.email: mask gives many rows one value",
        ),
        (
            "tables:\n  people:\n    salary: fake:email\n",
            "t.yaml:3:13: people.salary: fake:email makes no numeric(10,2) values",
        ),
        (
            "tables:\n  people:\n    bio: noise\n",
            "t.yaml:3:10: people.bio: noise moves numbers and dates; text is neither",
        ),
        (
            "tables:\n  people:\n    email: fake\n  orders:\n    customer_email: hash\n",
            "t.yaml:5:5: orders.customer_email: its rule differs from people.email's (line 3)",
        ),
        (
            "tables:\n  orders:\n    customer_email: fake\n  skip: [people]\n",
            "t.yaml:4:10: skip: public.people cannot be kept",
        ),
        (
            "tables:\n  people:\n    email_domain: hash\n",
            "t.yaml:3:5: tables.people.email_domain: a generated column",
        ),
    ],
)
def test_config_errors_name_the_line(pii_catalog: m.Catalog, text: str, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        make_plan(pii_catalog, parse_config(text, "t.yaml"), KEY)
    assert str(caught.value).startswith(message), str(caught.value)


def test_bad_where_is_an_error_before_anything_is_written(source: str, new_database: NewDatabase) -> None:
    target = empty_copy(new_database)
    run_sql(target, "INSERT INTO roles VALUES (9, 'kept')")
    catalog = introspect(source)
    config = parse_config(
        "tables:\n  orders:\n    notes:\n      - {strategy: keep, where: nope > 1}\n      - fake\n", "w.yaml"
    )
    with pytest.raises(SourceError, match=r"^w\.yaml:4:9: where: column \"nope\" does not exist"):
        sync(source, target, catalog=catalog, plan=make_plan(catalog, config, KEY))
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT name FROM roles").fetchall() == [("kept",)]


def test_a_failed_copy_leaves_the_target_as_it_was(source: str, new_database: NewDatabase) -> None:
    target = empty_copy(new_database)
    run_sql(target, "INSERT INTO roles VALUES (9, 'kept'); INSERT INTO roles VALUES (8, 'also kept')")
    catalog = introspect(source)
    config = parse_config("tables:\n  people:\n    phone: mask\n", "m.yaml")
    with pytest.raises(AnonymizeError) as caught:
        sync(source, target, catalog=catalog, plan=make_plan(catalog, config, KEY))
    assert str(caught.value) == (
        'public.people: row 1: new row for relation "people" violates check constraint "people_phone_check"; nothing was written'
    )  # and no DETAIL: it would quote the row, personal data included
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT name FROM roles ORDER BY id").fetchall() == [("also kept",), ("kept",)]


def test_decoding_and_encoding_copy_text_is_exact(new_database: NewDatabase) -> None:
    """Values with tabs, newlines, backslashes, `\\N`, NUL-free control characters and
    non-ASCII pass through a rewritten column (`keep`) exactly."""
    ddl = "CREATE TABLE odd (id int PRIMARY KEY, t text, j jsonb, v varchar(5));"
    rows = (
        "INSERT INTO odd VALUES (1, E'a\\tb\\nc\\\\d\\re', '{\"k\": \"x\\ty\"}', 'é\\\\'), (2, '\\N', '[]', ''), "
        "(3, NULL, NULL, NULL), (4, E'\\x01\\x7f snow ☃ 𝄞', '{\"a\": {\"b\": [1, \"\\\\\"]}}', 'ß')"
    )
    source, target = new_database("odd_src"), new_database("odd_dst")
    run_sql(source, ddl + rows)
    run_sql(target, ddl)
    catalog = introspect(source)
    config = parse_config("tables:\n  odd:\n    t: keep\n    v: keep\n    j: {json: {'*': keep}}\n", "k.yaml")
    sync(source, target, catalog=catalog, plan=make_plan(catalog, config, KEY))
    query = "SELECT md5(string_agg(o::text, '|' ORDER BY id)) FROM odd o"
    with psycopg.connect(source) as s, psycopg.connect(target) as t:
        assert s.execute(query).fetchone() == t.execute(query).fetchone()


def test_unique_columns_stay_unique_beyond_the_word_lists(new_database: NewDatabase) -> None:
    """300 distinct first names on a UNIQUE column, from a list of 100: collisions are
    resolved (numbered variants), deterministically, and the copy keeps the constraint."""
    ddl = "CREATE TABLE u (id int PRIMARY KEY, nick varchar(12) NOT NULL UNIQUE);"
    rows = "INSERT INTO u SELECT g, 'nick' || g FROM generate_series(1, 300) g;"
    source, first, second = new_database("u_src"), new_database("u_a"), new_database("u_b")
    run_sql(source, ddl + rows)
    run_sql(first, ddl)
    run_sql(second, ddl)
    catalog = introspect(source)
    config = parse_config("tables:\n  u:\n    nick: fake:first_name\n", "u.yaml")
    for target in (first, second):
        sync(source, target, catalog=catalog, plan=make_plan(catalog, config, KEY))
    query = "SELECT md5(string_agg(u::text, '|' ORDER BY id)), count(DISTINCT nick) FROM u"
    with psycopg.connect(first) as a, psycopg.connect(second) as b:
        assert a.execute(query).fetchone() == b.execute(query).fetchone()
        assert a.execute(
            "SELECT count(DISTINCT nick), count(*) FILTER (WHERE nick LIKE 'nick%') FROM u"
        ).fetchone() == (300, 0)


def test_the_same_value_gets_the_same_fake_in_every_table(source: str, new_database: NewDatabase) -> None:
    target = empty_copy(new_database)
    anonymised_sync(source, target)
    with psycopg.connect(target) as conn:
        # billing_address (fake, guessed: address) and shipping_address (fake:address) held the
        # same text: they still do, so a join on them would still join.
        differ = conn.execute(
            "SELECT count(*) FROM payments p JOIN orders o ON o.id = p.order_id "
            "WHERE p.billing_address IS DISTINCT FROM o.shipping_address"
        ).fetchone()
        assert differ == (0,)


def test_partitions_inheritance_and_odd_names(new_database: NewDatabase) -> None:
    ddl = (
        "CREATE TABLE ev (id int, at date NOT NULL, email text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);"
        "CREATE TABLE ev_2023 PARTITION OF ev FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');"
        "CREATE TABLE ev_2024 PARTITION OF ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"
        "CREATE TABLE base (id int PRIMARY KEY, email text); CREATE TABLE child (extra int) INHERITS (base);"
        'CREATE TABLE "Odd ""Name""" ("e-mail" text UNIQUE, n int);'
    )
    rows = (
        "INSERT INTO ev VALUES (1, '2023-05-01', 'a@x.test'), (2, '2024-05-01', 'b@x.test');"
        "INSERT INTO base VALUES (1, 'c@x.test'); INSERT INTO child VALUES (2, 'd@x.test', 5);"
        'INSERT INTO "Odd ""Name""" VALUES (\'e@x.test\', 1);'
    )
    source, target = new_database("odd_src"), new_database("odd_dst")
    run_sql(source, ddl + rows)
    run_sql(target, ddl)
    catalog = introspect(source)
    config = parse_config(
        "tables:\n  ev:\n    email: fake\n  base:\n    email: fake\n  'Odd \"Name\"':\n    e-mail: fake\n",
        "o.yaml",
    )
    sync(source, target, catalog=catalog, plan=make_plan(catalog, config, KEY))
    with psycopg.connect(target) as conn:
        assert [
            r[0][-12:] in ("@example.com", "@example.net", "@example.org")
            for r in conn.execute("SELECT email FROM ev")
        ] == [True, True]
        assert conn.execute("SELECT count(*) FROM ONLY base WHERE email LIKE '%@example.%'").fetchone() == (
            1,
        )
        assert conn.execute(
            'SELECT count(*) FROM "Odd ""Name""" WHERE "e-mail" LIKE \'%@example.%\''
        ).fetchone() == (1,)
        # child is not configured: copied as it is.
        assert conn.execute("SELECT email, extra FROM child").fetchall() == [("d@x.test", 5)]
    # In place, only base configured: the inheritance child keeps its rows (TRUNCATE ONLY).
    anonymize_in_place(
        source,
        catalog=catalog,
        plan=make_plan(catalog, parse_config("tables:\n  base:\n    email: fake\n", "b.yaml"), KEY),
    )
    with psycopg.connect(source) as conn:
        assert conn.execute("SELECT email, extra FROM child").fetchall() == [("d@x.test", 5)]
        assert conn.execute("SELECT email LIKE '%@example.%' FROM ONLY base").fetchall() == [(True,)]


def test_a_german_copy_keeps_every_constraint_and_leaves_no_original(
    source: str, new_database: NewDatabase
) -> None:
    """`locale: de` for every fake rule, one column in French: the copy holds every constraint
    (varchar lengths with umlauts, the email domain CHECK), no original value is left, the
    names come from the German lists, and two runs agree."""
    from nself.runtime.anonymize import words

    text = "locale: de\n" + CONFIG.read_text(encoding="utf-8").replace(
        "    card_holder: fake:name", "    card_holder: {strategy: fake, kind: name, locale: fr}"
    )
    catalog = introspect(source)
    first, second = empty_copy(new_database), empty_copy(new_database)
    for target in (first, second):
        sync(source, target, catalog=catalog, plan=make_plan(catalog, parse_config(text, "de.yaml"), KEY))
    assert counts(first) == counts(source)
    assert leaks(source, first) == []
    revalidate(first)
    assert checksums(first) == checksums(second)
    with psycopg.connect(first) as conn:
        firsts = {row[0] for row in conn.execute("SELECT first_name FROM people")}
        holders = {
            row[0].split(" ")[0]
            for row in conn.execute("SELECT card_holder FROM payments WHERE card_holder IS NOT NULL")
        }
        emails = [row[0] for row in conn.execute("SELECT email FROM people")]
    # (unique columns past the lists get numbered variants: "Name 2")
    assert {f.split(" ")[0] for f in firsts} <= set(words.DE.first_names)
    assert holders <= set(words.FR.first_names)
    assert all(e.isascii() for e in emails)
