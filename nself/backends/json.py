"""The IR itself as deterministic JSON."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nself.ir import Catalog, catalog_to_json


def render(catalog: Catalog, options: Mapping[str, Any]) -> dict[str, str]:
    return {"schema.json": catalog_to_json(catalog)}
