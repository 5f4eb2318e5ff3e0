"""nself.ir.names against PostgreSQL 15 itself: quote_ident() for every keyword the server
knows and for names that are easy to get wrong, and both literal forms."""

from __future__ import annotations

import psycopg

from nself.ir.names import (
    PG15_QUOTED_KEYWORDS,
    qualified_name,
    quote_ident,
    quote_literal,
    quote_literal_escaped,
)

TRICKY = [
    "",
    "film",
    "Film",
    "FILM",
    "camelCase",
    "_x1",
    "_",
    "1abc",
    "a1",
    "a b",
    'a"b',
    '"',
    '""',
    "a$b",
    "$1",
    "a'b",
    "a\\b",
    "a.b",
    "é",
    "café",
    "ñame",
    "日本",
    "ǅ",
    "\t",
    "a-b",
    "json",  # a keyword in newer grammars (pglast's), not in 15
    "json_table",
    "merge_action",
    "system_user",
    "xmin",
    "oid",
    "ctid",
    "abort",
    "analyse",
    "int",
    "text",
    "x" * 63,
    "x" * 64,
]


def test_the_keyword_list_is_postgresql_15s(pg15_connection: psycopg.Connection[tuple[object, ...]]) -> None:
    rows = pg15_connection.execute("SELECT word FROM pg_get_keywords() WHERE catcode <> 'U'").fetchall()
    assert {str(r[0]) for r in rows} == PG15_QUOTED_KEYWORDS


def test_quote_ident_as_postgresql_15(pg15_connection: psycopg.Connection[tuple[object, ...]]) -> None:
    keywords = [str(r[0]) for r in pg15_connection.execute("SELECT word FROM pg_get_keywords()").fetchall()]
    names = [*keywords, *(k.upper() for k in keywords), *(k + "_" for k in keywords), *TRICKY]
    rows = pg15_connection.execute(
        "SELECT n, quote_ident(n), quote_ident(n) || '.' || quote_ident(n || 's') FROM unnest(%s::text[]) n",
        (names,),
    ).fetchall()
    assert len(rows) == len(names)
    wrong = [
        (name, expected, quote_ident(name))
        for name, expected, pair in rows
        if quote_ident(str(name)) != expected or qualified_name(str(name), str(name) + "s") != pair
    ]
    assert wrong == []


def test_quote_ident_always_quotes(pg15_connection: psycopg.Connection[tuple[object, ...]]) -> None:
    for name in TRICKY:
        quoted = quote_ident(name, always=True)
        assert quoted.startswith('"')
        if 0 < len(name.encode()) <= 63:  # empty is an error; longer ones are truncated
            row = pg15_connection.execute(f"SELECT 1 AS {quoted}").description
            assert row is not None and row[0].name == name
    assert qualified_name("public", "film", always=True) == '"public"."film"'


def test_literals_as_postgresql_writes_them(pg15_connection: psycopg.Connection[tuple[object, ...]]) -> None:
    texts = ["", "plain", "it's", "a\\b", "'\\'", "é\n\t", "$$", "\\x00"]
    rows = pg15_connection.execute(
        "SELECT t, quote_literal(t) FROM unnest(%s::text[]) t", (texts,)
    ).fetchall()
    assert [(t, quote_literal_escaped(str(t))) for t, _ in rows] == rows
    with pg15_connection.transaction():
        # pg_get_expr (what the IR holds) prints constants in the plain form
        columns = ", ".join(f"c{i} text DEFAULT {quote_literal(t)}" for i, t in enumerate(texts))
        pg15_connection.execute(f"CREATE TEMP TABLE literals ({columns})".encode())
        printed = pg15_connection.execute(
            "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef "
            "WHERE adrelid = 'pg_temp.literals'::regclass ORDER BY adnum"
        ).fetchall()
        assert [str(r[0]) for r in printed] == [quote_literal(t) + "::text" for t in texts]
        # and both forms read back as the text
        for t in texts:
            row = pg15_connection.execute(
                f"SELECT {quote_literal(t)}, {quote_literal_escaped(t)}".encode()
            ).fetchone()
            assert row == (t, t)
        pg15_connection.execute("DROP TABLE pg_temp.literals")
