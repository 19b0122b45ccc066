"""How the store keeps an analysis (zlib-compressed strict JSON) and how it reads a store without
writing to it."""

from __future__ import annotations

import json
import os
import sqlite3
import urllib.parse
import zlib
from pathlib import Path

from djstruct.jsonout import dumps
from djstruct.types import Analysis


def encode(analysis: Analysis) -> bytes:
    return zlib.compress(dumps(analysis.to_dict(), separators=(",", ":")).encode("utf-8"), 6)


def decode(blob: bytes) -> Analysis:
    """The Analysis of a stored blob; ValueError (or zlib.error, KeyError, TypeError) when damaged."""
    return Analysis.from_dict(json.loads(zlib.decompress(blob)))


def blob_ok(blob: bytes) -> bool:
    """Cheap check of a stored blob (zlib's checksum, JSON object brackets), without parsing it."""
    try:
        text = zlib.decompress(blob)
    except (zlib.error, TypeError):
        return False
    return text[:1] == b"{" and text[-1:] == b"}"


def readonly_connection(path: Path) -> sqlite3.Connection:
    """A connection that never writes: ``mode=ro``, or ``immutable=1`` where the file system is
    read-only and no write-ahead log is waiting (SQLite cannot make its -shm file there)."""
    uri = "file:" + urllib.parse.quote(os.path.abspath(path))
    conn = sqlite3.connect(uri + "?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn.close()
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise
    conn = sqlite3.connect(uri + "?immutable=1", uri=True, isolation_level=None, check_same_thread=False)
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return conn
