"""Names in SQL text (nself.ir.names): quoting as PostgreSQL does, and the scan for
`schema.name` pairs the diff and the SQL backend order objects by."""

from __future__ import annotations

import pytest

from nself.ir.names import qualified_name, qualified_names_in, quote_ident, words_in


@pytest.mark.parametrize(
    ("name", "quoted"),
    [
        ("film", "film"),
        ("order", '"order"'),  # reserved
        ("user", '"user"'),
        ("name", "name"),  # unreserved: bare
        ("a$b", '"a$b"'),  # PostgreSQL's quote_ident quotes `$`
        ("Film", '"Film"'),
        ('say "hi"', '"say ""hi"""'),
        ("1st", '"1st"'),
    ],
)
def test_quote_ident_as_postgresql(name: str, quoted: str) -> None:
    assert quote_ident(name) == quoted


def test_qualified_name() -> None:
    assert qualified_name("s$1", "order") == '"s$1"."order"'
    assert qualified_name(None, "t") == "t"


@pytest.mark.parametrize(
    ("text", "pairs"),
    [
        ("public.film", [("public", "film")]),
        ("'a'::public.\"order\"", [("public", "order")]),
        ('"My S"."T ""q"""', [("My S", 'T "q"')]),
        ("nextval('s$1.\"t$_id_seq\"'::regclass)", [("s$1", "t$_id_seq")]),
        ("a . b", [("a", "b")]),
        ("a.b.c", [("a", "b")]),  # pairs do not overlap
        ("1.5 + x", []),
        ("a.1b", []),
        ('"unclosed.x', [("unclosed", "x")]),
        ("", []),
    ],
)
def test_qualified_names_in(text: str, pairs: list[tuple[str, str]]) -> None:
    assert list(qualified_names_in(text)) == pairs


def test_bare_names_fold_when_asked() -> None:
    assert list(qualified_names_in('Public."Film"', fold=True)) == [("public", "Film")]
    assert set(words_in('lower(Name) || "X"')) == {"lower", "name", "X"}
