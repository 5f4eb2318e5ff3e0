"""nself.ir.pickling: the IR pickled by constructor loads back equal, with plain pickle."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from nself.frontends.sql import compile_sql
from nself.ir import catalog_to_json, model
from nself.ir.pickling import _DISPATCH, dumps
from tests.conftest import CORPUS

PAGILA = CORPUS / "schemas" / "pagila" / "pagila-schema.sql"


def test_every_ir_dataclass_is_pickled_by_constructor() -> None:
    classes = [c for c in vars(model).values() if dataclasses.is_dataclass(c) and isinstance(c, type)]
    assert classes and all(c in _DISPATCH for c in classes if c.__module__ == model.__name__)


def test_round_trip() -> None:
    if not PAGILA.is_file():
        pytest.skip(f"corpus not found: {PAGILA}")
    catalog = compile_sql(PAGILA.read_text(encoding="utf-8"))
    back = pickle.loads(dumps(catalog))
    assert back == catalog
    assert catalog_to_json(back) == catalog_to_json(catalog)
    assert pickle.loads(dumps((catalog, [catalog.tables[0]]))) == (catalog, [catalog.tables[0]])
