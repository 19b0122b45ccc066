"""The analysis store: one embedded SQLite file (WAL mode) that makes scans incremental.

``files`` holds one row per audio file: its fingerprint, the detector (name + version) that analysed
it, the analysis (zlib-compressed JSON of :meth:`Analysis.to_dict`) or the last error.
``library_tracks`` remembers which tracks each library (``"folder:/abs/dir"``,
``"rekordbox-xml:/abs/file.xml"``, ``"rekordbox-db:/abs/master.db"``) listed.

Every write is its own short transaction, so a run killed at any moment (SIGKILL, power cut) leaves a
usable store holding every track that finished. Paths are keys as given, made absolute.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from djstruct import config
from djstruct.audio.fingerprint import Fingerprint, audio_hash, quick_stat
from djstruct.errors import DjstructError, StoreError
from djstruct.jsonout import dumps
from djstruct.store.blobs import blob_ok, decode, encode, readonly_connection
from djstruct.store.diagnose import KEEP, problem
from djstruct.store.schema import MIGRATIONS, SQLITE_MAGIC
from djstruct.store.status import LibraryStatus, StoreStatus, status_of_rows
from djstruct.types import Analysis, Track

__all__ = ["FileRow", "LibraryStatus", "Store", "StoreStatus"]

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class FileRow:
    """One row of ``files``. ``size`` in bytes, ``mtime_ns`` in ns since the epoch, ``*_at`` in seconds
    since the epoch; ``error`` is set when the last attempt failed."""

    path: str
    size: int | None
    mtime_ns: int | None
    audio_hash: str | None
    detector: str | None
    detector_version: str | None
    has_analysis: bool
    analyzed_at: float | None
    error: str | None
    error_at: float | None


_ROW_COLS = ("path, size, mtime_ns, audio_hash, detector, detector_version, analysis IS NOT NULL, analyzed_at, "
             "error, error_at")


def _key(path: Path | str) -> str:
    return os.path.abspath(os.fspath(path))


class Store:
    """The analysis store. Use as a context manager, or call :meth:`close`.

    One connection, guarded by a lock, so the store may be shared between threads of one process;
    other processes may read (and write, waiting up to ``BUSY_TIMEOUT_MS``) at the same time.
    ``readonly`` opens an existing store without writing anything (so it works on a read-only or
    full disk); an older schema is then upgraded through a normal open first.
    """

    def __init__(self, path: Path | None = None, *, readonly: bool = False) -> None:
        self.path = Path(path) if path is not None else config.store_path()
        self.readonly = readonly
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        try:
            self._check_header()
            if readonly:
                if not self.path.is_file():
                    raise StoreError(self.path, "no analysis store yet (run `djstruct scan` first)")
                self._conn = readonly_connection(self.path)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000,
                                             check_same_thread=False)
                self._configure()
            self._migrate()
        except (sqlite3.Error, OSError) as e:
            self.close()
            raise StoreError(self.path, f"cannot open the analysis store: {problem(self.path, e)}") from e
        except DjstructError:
            self.close()
            raise

    @classmethod
    def open(cls, path: Path | None = None, *, readonly: bool = False) -> Store:
        """Open (creating if needed, unless ``readonly``) the store at ``path`` (default:
        :func:`djstruct.config.store_path`)."""
        if readonly:
            store = cls(path, readonly=True)
            if store.schema_version >= len(MIGRATIONS):
                return store
            store.close()  # an older schema: upgrade it once, then read
            cls(path).close()
            return cls(path, readonly=True)
        return cls(path)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.execute("PRAGMA optimize")
                except sqlite3.Error:
                    pass
                self._conn.close()
                self._conn = None

    # ----------------------------------------------------------------- opening

    def _check_header(self) -> None:
        try:
            with open(self.path, "rb") as f:
                head = f.read(16)
        except FileNotFoundError:
            return
        if head and head != SQLITE_MAGIC:
            raise StoreError(self.path, "not an analysis store (not an SQLite database); if it was one, it is "
                                        f"damaged: {KEEP}")

    def _configure(self) -> None:
        conn = self._db
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            log.warning("%s: WAL journal not available (got %s); concurrent readers will wait", self.path, mode)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

    def _version(self, row: tuple[Any, ...] | None) -> int:
        raw = "0" if row is None else row[0]
        if not (isinstance(raw, str | int) and str(raw).isdigit()):
            raise StoreError(self.path, f"the store's schema version {raw!r} is not a version number: its meta "
                                        f"table is damaged; {KEEP}")
        return int(raw)

    def _migrate(self) -> None:
        target = len(MIGRATIONS)
        if self.readonly:
            tables = {r[0] for r in self.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "meta" not in tables:
                raise StoreError(self.path, "this SQLite database is not an analysis store (no meta table)")
            version = self.schema_version
            if version > target:
                raise StoreError(self.path, f"store schema version {version} is newer than this djstruct supports "
                                            f"({target}); upgrade djstruct or use another store")
            return
        with self.transaction() as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "meta" not in tables:
                if tables:
                    raise StoreError(self.path, "this SQLite database is not an analysis store (no meta table)")
                conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            version = self._version(conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone())
            if version > target:
                raise StoreError(self.path, f"store schema version {version} is newer than this djstruct supports "
                                            f"({target}); upgrade djstruct or use another store")
            for i in range(version, target):
                log.info("%s: migrating store schema v%d -> v%d", self.path, i, i + 1)
                MIGRATIONS[i](conn)
            if version != target:
                conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", (str(target),))
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('created_at', ?)", (repr(time.time()),))

    @property
    def schema_version(self) -> int:
        rows = self.query("SELECT value FROM meta WHERE key = 'schema_version'")
        return self._version(rows[0] if rows else None)

    # ----------------------------------------------------------------- plumbing

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(self.path, "the analysis store is closed")
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction (BEGIN IMMEDIATE ... COMMIT); sqlite errors become StoreError."""
        with self._lock:
            conn = self._db
            if self.readonly:
                raise StoreError(self.path, "the analysis store was opened read-only")
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    try:
                        conn.execute("ROLLBACK")
                    except sqlite3.Error:  # already rolled back by SQLite (disk full, I/O error)
                        pass
                    raise
                conn.execute("COMMIT")
            except sqlite3.Error as e:
                raise StoreError(self.path, f"analysis store write failed: {problem(self.path, e)}") from e

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as e:
                raise StoreError(self.path, f"analysis store read failed: {problem(self.path, e)}") from e

    # ----------------------------------------------------------------- files

    def needs_analysis(self, path: Path, detector: str, detector_version: str, *, force: bool = False,
                       stat: tuple[int, int] | None = None) -> bool:
        """Whether ``path`` must be (re-)analysed by ``detector`` at ``detector_version``.

        False when the stored analysis comes from the same detector and version and the file's
        (size, mtime_ns) are unchanged, or changed while the audio hash is not (a re-tag: size and mtime
        are then updated in place). True for new, replaced or missing files, another detector or version,
        a previous error, or ``force``. ``stat`` is the caller's ``quick_stat(path)`` if it has one.
        """
        if force:
            return True
        key = _key(path)
        rows = self.query(
            "SELECT size, mtime_ns, audio_hash, detector, detector_version, analysis, error "
            "FROM files WHERE path = ?", (key,))
        if not rows:
            return True
        size, mtime_ns, old_hash, det, ver, blob, error = rows[0]
        if blob is None or error is not None or det != detector or ver != detector_version:
            return True
        if not blob_ok(blob):
            log.warning("%s: the stored analysis is unreadable; analysing it again", key)
            return True
        try:
            now = stat if stat is not None else quick_stat(Path(key))
        except DjstructError:
            return True
        if now == (size, mtime_ns):
            return False
        return not self.refresh_retagged(Path(key))  # a re-tag keeps the analysis

    def put_analysis(self, path: Path, analysis: Analysis, detector: str, detector_version: str,
                     fp: Fingerprint) -> None:
        """Store ``analysis`` for ``path`` as analysed from the file state ``fp``; clears any error."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO files (path, size, mtime_ns, audio_hash, detector, detector_version, analysis, "
                "analyzed_at, error, error_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL) "
                "ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, "
                "audio_hash = excluded.audio_hash, detector = excluded.detector, "
                "detector_version = excluded.detector_version, analysis = excluded.analysis, "
                "analyzed_at = excluded.analyzed_at, error = NULL, error_at = NULL",
                (_key(path), fp.size, fp.mtime_ns, fp.audio_hash, detector, detector_version,
                 encode(analysis), time.time()))

    def put_error(self, path: Path, error: str, fp: Fingerprint | None) -> None:
        """Record that analysing ``path`` failed with ``error`` (one line). A previous analysis is kept
        unless ``fp`` shows different audio (its hash differs from the stored one)."""
        key = _key(path)
        error = " ".join(str(error).split())
        with self.transaction() as conn:
            row = conn.execute("SELECT audio_hash FROM files WHERE path = ?", (key,)).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO files (path, size, mtime_ns, audio_hash, error, error_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (key, None if fp is None else fp.size, None if fp is None else fp.mtime_ns,
                     None if fp is None else fp.audio_hash, error, time.time()))
            elif fp is None:
                conn.execute("UPDATE files SET error = ?, error_at = ? WHERE path = ?", (error, time.time(), key))
            else:
                same_audio = fp.audio_hash is not None and fp.audio_hash == row[0]
                conn.execute(
                    "UPDATE files SET error = ?, error_at = ?, size = ?, mtime_ns = ?, audio_hash = ?"
                    + ("" if same_audio else ", analysis = NULL, analyzed_at = NULL, detector = NULL, "
                       "detector_version = NULL")
                    + " WHERE path = ?",
                    (error, time.time(), fp.size, fp.mtime_ns, fp.audio_hash, key))

    def refresh_retagged(self, path: Path) -> bool:
        """Whether the analysis of ``path`` is current after a re-tag (audio hash unchanged: new size+mtime kept)."""
        key = _key(path)
        rows = self.query("SELECT audio_hash FROM files WHERE path = ? AND analysis IS NOT NULL", (key,))
        try:
            if not rows or rows[0][0] is None or audio_hash(Path(key)) != rows[0][0]:
                return False
            now = quick_stat(Path(key))
        except DjstructError:
            return False
        try:
            with self.transaction() as conn:
                conn.execute("UPDATE files SET size = ?, mtime_ns = ? WHERE path = ?", (now[0], now[1], key))
        except (DjstructError, sqlite3.Error) as e:  # a read-only store: current all the same, not recorded
            log.debug("%s: re-tag not recorded (%s)", key, e)
        return True

    def get_analysis(self, path: Path) -> Analysis | None:
        """The stored analysis of ``path``, or None. A damaged one counts as missing: it is logged,
        and dropped from the store (unless read-only) so that the next scan analyses the file again."""
        key = _key(path)
        rows = self.query("SELECT analysis FROM files WHERE path = ?", (key,))
        if not rows or rows[0][0] is None:
            return None
        try:
            return decode(rows[0][0])
        except (zlib.error, ValueError, KeyError, TypeError) as e:
            log.warning("%s: the stored analysis is unreadable (%s); treated as not analysed: djstruct scan "
                        "analyses it again", key, " ".join(str(e).split())[:120])
            if not self.readonly:
                with self.transaction() as conn:
                    conn.execute("UPDATE files SET analysis = NULL, analyzed_at = NULL WHERE path = ? "
                                 "AND analysis = ?", (key, rows[0][0]))
            return None

    def get_row(self, path: Path) -> FileRow | None:
        """The ``files`` row of ``path`` (without the analysis itself), or None."""
        rows = self.query(f"SELECT {_ROW_COLS} FROM files WHERE path = ?", (_key(path),))
        return _file_row(rows[0]) if rows else None

    # ----------------------------------------------------------------- libraries

    def upsert_tracks(self, library: str, tracks: Iterable[Track], *, replace: bool = False) -> int:
        """Remember ``tracks`` as listed by ``library`` (one transaction); returns how many. With
        ``replace``, tracks of that library missing from ``tracks`` are forgotten."""
        now = time.time()
        rows = []
        for t in tracks:
            d = t.to_dict()
            d.pop("exists", None)
            d.update(source=t.source, title=t.title, artist=t.artist)
            rows.append((library, t.id, _key(t.path), t.source, dumps(d, separators=(",", ":")), now))
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO library_tracks (library, track_id, path, source, track_json, last_seen) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(library, track_id) DO UPDATE SET path = excluded.path, "
                "source = excluded.source, track_json = excluded.track_json, last_seen = excluded.last_seen",
                rows)
            if replace:
                conn.execute("DELETE FROM library_tracks WHERE library = ? AND last_seen < ?", (library, now))
        return len(rows)

    def tracks(self, library: str | None = None) -> list[dict[str, Any]]:
        """Stored tracks (the ``Track.to_dict()`` JSON plus ``library`` and ``last_seen``), ordered by
        library then path; all libraries when ``library`` is None."""
        sql = "SELECT library, track_json, last_seen FROM library_tracks"
        params: tuple[Any, ...] = ()
        if library is not None:
            sql += " WHERE library = ?"
            params = (library,)
        out = []
        for lib, js, seen in self.query(sql + " ORDER BY library, path, track_id", params):
            d = json.loads(js)
            d.update(library=lib, last_seen=seen)
            out.append(d)
        return out

    def libraries(self) -> list[str]:
        """Names of the libraries with stored tracks, sorted."""
        return [r[0] for r in self.query("SELECT DISTINCT library FROM library_tracks ORDER BY library")]

    def status(self, detector: str | None = None, detector_version: str | None = None) -> StoreStatus:
        """Per-library counts (see :class:`StoreStatus`). Stats every track's file (a re-tag is not stale: see
        :meth:`refresh_retagged`); analyses by another ``detector`` or ``detector_version`` count as stale."""
        rows = self.query(
            "SELECT t.library, t.path, f.size, f.mtime_ns, f.detector, f.detector_version, "
            "f.analysis IS NOT NULL, f.error IS NOT NULL FROM library_tracks t LEFT JOIN files f ON f.path = t.path "
            "ORDER BY t.library")
        return status_of_rows(rows, detector, detector_version, self.refresh_retagged)


def _file_row(r: tuple[Any, ...]) -> FileRow:
    return FileRow(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7], r[8], r[9])
