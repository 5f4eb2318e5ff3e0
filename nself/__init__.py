"""nself: a compiler for PostgreSQL schemas with a runtime beside it."""

__version__ = "0.1.0"
