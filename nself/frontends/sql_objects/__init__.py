"""Handlers for schemas, extensions, types, views, routines, operators, collations, aggregates,
triggers, policies, grants, comments, drops, renames and moves between schemas.

Each module registers its handlers (`sql_state.handles`, `drops.dropper`,
`renames.renamer`) when it is imported; importing the package imports them all.
"""

from nself.frontends.sql_objects import (  # noqa: F401  (register handlers)
    aggregates,
    collations,
    comments,
    datatypes,
    define,
    operators,
    privileges,
    routines,
    schemas,
    session,
    set_schema,
    triggers,
    views,
)
from nself.frontends.sql_objects.drops import DROPS, drop_view_obj, dropper
from nself.frontends.sql_objects.renames import RENAMES, renamer

__all__ = ["DROPS", "RENAMES", "drop_view_obj", "dropper", "renamer"]
