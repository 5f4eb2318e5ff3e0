"""The canonical schema IR. Imports nothing of nself outside this package."""

from nself.ir.builder import CatalogBuilder, normalise
from nself.ir.identity import display_name, identity_of
from nself.ir.model import *  # noqa: F403
from nself.ir.model import IR_VERSION, Catalog
from nself.ir.serialize import IRFormatError, catalog_from_json, catalog_to_json, from_data, to_data

__all__ = [
    "IR_VERSION",
    "Catalog",
    "CatalogBuilder",
    "IRFormatError",
    "catalog_from_json",
    "catalog_to_json",
    "display_name",
    "from_data",
    "identity_of",
    "normalise",
    "to_data",
]
