"""The text summary against its golden file. After an intended change in the output,
regenerate with:  NSELF_UPDATE_GOLDEN=1 python -m pytest tests/backends/test_text_backend.py
and review the diff of tests/backends/golden/sample_schema.txt."""

from __future__ import annotations

import os
from pathlib import Path

from nself.backends import SCHEMA_FORMATS, load_renderer
from nself.backends.text import render
from nself.ir.model import Catalog
from tests.backends.sample_catalog import sample_catalog

GOLDEN = Path(__file__).parent / "golden" / "sample_schema.txt"


def test_text_summary_matches_golden_file() -> None:
    text = render(sample_catalog(), {})["schema.txt"]
    if os.environ.get("NSELF_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_text_is_plain_and_deterministic() -> None:
    text = render(sample_catalog(), {})["schema.txt"]
    assert text == render(sample_catalog(), {})["schema.txt"]
    assert "\x1b" not in text
    assert all(line == line.rstrip() for line in text.splitlines())


def test_empty_catalog() -> None:
    assert render(Catalog(), {}) == {"schema.txt": "\n"}


def test_registered_as_schema_format() -> None:
    assert load_renderer(SCHEMA_FORMATS["text"]) is render
