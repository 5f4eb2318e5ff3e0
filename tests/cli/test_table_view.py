"""The terminal table of `db query`: batches laid out on their own, cells padded to the
widest value in terminal cells, NULL told apart from an empty string, values of many lines."""

from __future__ import annotations

import io
from collections.abc import Iterator

from nself.cli import table_view


def render(names: list[str], rows: list[tuple[str | None, ...]], **kwargs: object) -> str:
    out = io.StringIO()
    total = table_view.write_tables(out, names, rows, **kwargs)  # type: ignore[arg-type]
    assert total == len(rows)
    return out.getvalue()


def test_a_table_is_rich_heavy_head_layout_padded_to_the_widest_cell() -> None:
    assert render(["id", "name", "id"], [("1", "ab", None), ("22", "", "3")]) == (
        "┏━━━━┳━━━━━━┳━━━━━━┓\n"
        "┃ id ┃ name ┃ id   ┃\n"
        "┡━━━━╇━━━━━━╇━━━━━━┩\n"
        "│ 1  │ ab   │ NULL │\n"
        "│ 22 │      │ 3    │\n"
        "└────┴──────┴──────┘\n"
    )


def test_wide_characters_and_lines_and_tabs() -> None:
    text = render(["w", "m"], [("日本", "x\ny"), ("a\tb", None)], box=table_view.ASCII)
    assert text.splitlines() == [
        "+-----------+------+",
        "| w         | m    |",
        "+-----------+------+",
        "| 日本      | x    |",
        "|           | y    |",
        "| a       b | NULL |",
        "+-----------+------+",
    ]


def test_no_rows_is_one_empty_table_and_many_rows_are_batches() -> None:
    assert render(["a"], []).count("┏") == 1
    rows = [(str(n),) for n in range(table_view.TABLE_BATCH * 2 + 1)]
    text = render(["a"], rows)
    assert text.count("┏") == 3 and text.count("\n") == 3 * 4 + len(rows)


def test_each_batch_is_written_before_the_next_rows_are_read() -> None:
    """The table streams: a batch is on the terminal before the rows after it arrive (the
    whole table is never built first)."""
    events: list[str] = []

    def rows() -> Iterator[tuple[str | None, ...]]:
        for n in range(table_view.TABLE_BATCH * 2):
            if n % table_view.TABLE_BATCH == 0:
                events.append(f"row {n}")
            yield (str(n),)

    class Terminal(io.StringIO):
        def write(self, text: str) -> int:
            events.append("table")
            return super().write(text)

    assert table_view.write_tables(Terminal(), ["a"], rows()) == table_view.TABLE_BATCH * 2
    assert events == ["row 0", "table", f"row {table_view.TABLE_BATCH}", "table"]


def test_colour_marks_the_header_and_null_only() -> None:
    text = render(["a"], [(None,), ("NULL",)], style=table_view.COLOUR)
    assert "\x1b[1ma\x1b[0m" in text and text.count("\x1b[2mNULL\x1b[0m") == 1 and "│ NULL │" in text


def test_the_plain_batch_shortcut_lays_out_as_the_general_way() -> None:
    names, rows = ["id", "note"], [("1", None), ("22", 'x,y "q"'), (None, "")]
    for style in (table_view.Style(), table_view.COLOUR):
        for box in (table_view.HEAVY_HEAD, table_view.ASCII):
            assert table_view._plain_table(names, rows, box, style) == table_view._any_table(
                names, rows, box, style
            )
