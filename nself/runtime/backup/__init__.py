"""Backups of PostgreSQL clusters and databases: physical (base backup + WAL archive, for
point-in-time recovery), incremental and logical; verify and restore.

The repository layout (shared with nself/runtime/backup/transfer.py, which copies it to
object storage):

    <repo>/<id>/...                     the backup's files, each compressed (and encrypted)
    <repo>/<id>/backup.manifest.json    written LAST, atomically: the backup is complete
    <repo>/wal/<segment>.zst[.enc]      the WAL archive, one file per segment or history file
"""
