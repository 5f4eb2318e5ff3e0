"""Deterministic mock data: generators (values.py), word lists (words.py), the executor
that streams rows into PostgreSQL (executor.py) and the project files (project.py)."""
