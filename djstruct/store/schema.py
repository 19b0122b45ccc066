"""The store's schema and its migrations. Migration ``i`` (0-based) takes a store from version
``i`` to ``i + 1``; to change the schema, append a function, never edit one that has shipped.

Tables: ``meta`` (schema version), ``files`` (one row per audio file: fingerprint, detector,
analysis or last error), ``library_tracks`` (what each library listed), and the writeback journal's
``runs`` and ``journal`` (see :mod:`djstruct.writeback.journal`, which reads and writes them through
:meth:`Store.transaction` / :meth:`Store.query`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

SQLITE_MAGIC = b"SQLite format 3\x00"


def _migrate_v1(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE files (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, audio_hash TEXT, detector TEXT, "
        "detector_version TEXT, analysis BLOB, analyzed_at REAL, error TEXT, error_at REAL)")
    conn.execute(
        "CREATE TABLE library_tracks (library TEXT NOT NULL, track_id TEXT NOT NULL, path TEXT NOT NULL, "
        "source TEXT NOT NULL, track_json TEXT NOT NULL, last_seen REAL NOT NULL, PRIMARY KEY (library, track_id))")
    conn.execute("CREATE INDEX library_tracks_path ON library_tracks(path)")


def _migrate_v2(conn: sqlite3.Connection) -> None:
    """The writeback journal (see djstruct.writeback.journal)."""
    conn.execute(
        "CREATE TABLE runs (run_id INTEGER PRIMARY KEY AUTOINCREMENT, started_at REAL NOT NULL, finished_at REAL, "
        "target TEXT NOT NULL, policy TEXT NOT NULL, layout TEXT NOT NULL, source TEXT NOT NULL, "
        "status TEXT NOT NULL, summary TEXT)")
    conn.execute(
        "CREATE TABLE journal (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL REFERENCES runs(run_id), "
        "path TEXT NOT NULL, track_id TEXT, kind TEXT NOT NULL, backup TEXT NOT NULL, written TEXT NOT NULL, "
        "after_sha256 TEXT, state TEXT NOT NULL, at REAL NOT NULL)")
    conn.execute("CREATE INDEX journal_run ON journal(run_id)")
    conn.execute("CREATE INDEX journal_path ON journal(path)")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_migrate_v1, _migrate_v2]
