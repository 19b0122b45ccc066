"""Read a rekordbox 6/7 library database (``master.db``) into djstruct tracks, read-only.

``master.db`` is SQLCipher-encrypted with one key for all users; pyrekordbox ships it
(obfuscated) and we use it with ``sqlcipher3`` (package ``sqlcipher3-wheels``). A decrypted
copy (plain SQLite) opens too. pyrekordbox's :class:`~pyrekordbox.MasterDatabase` is not used
to open the file: it opens it read-write (a WAL-mode database then grows ``-wal``/``-shm``
files) and lazy-loads artists row by row. Instead:

* no ``-wal``/``-journal`` beside the file: it is opened with the SQLite URI
  ``?mode=ro&immutable=1`` -- no write, no lock, no side file, the mtime is untouched;
* a ``-wal`` or ``-journal`` exists (rekordbox is running, or crashed mid-write): the database
  and that file are copied to a temporary directory and the copy is read, so recent changes in
  the WAL are seen and a hot journal is rolled back on the copy, never on the user's file.

Reading while rekordbox runs is fine (we never write) but sees a snapshot; it is logged.
Tracks come from ``djmdContent`` (``Length`` s, ``BPM`` x100), cues from ``djmdCue``, beat grids
and phrases from the ANLZ files named by ``AnalysisDataPath`` under the share directory
(``<db dir>/share`` unless ``share_dir`` says otherwise). Rows flagged ``rb_local_deleted``
are ignored.
"""

from __future__ import annotations

import logging
import os
import platform
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from djstruct.errors import LibraryError
from djstruct.library.rekordbox.anlz import read_anlz, resolve_analysis_path
from djstruct.library.rekordbox.db_rows import palette_color
from djstruct.library.rekordbox.xml import streaming_kind
from djstruct.timing import track_from_app
from djstruct.types import Cue, Track

logger = logging.getLogger(__name__)

SOURCE = "rekordbox-db"
ID_PREFIX = "rbdb:"
SQLITE_MAGIC = b"SQLite format 3\x00"
# djmdCue.Kind: 0 memory cue; hot cues A-H are 1, 2, 3, 5, 6, 7, 8, 9 (4 is skipped, as several
# independent readers of real libraries note). A 4, if one ever appears, is read as D.
HOT_CUE_SLOTS: dict[int, int] = {1: 0, 2: 1, 3: 2, 4: 3, 5: 3, 6: 4, 7: 5, 8: 6, 9: 7}

_TRACKS_SQL = """
SELECT c.ID, c.FolderPath, c.Length, c.BPM, c.Title, a.Name, c.AnalysisDataPath
FROM djmdContent AS c LEFT JOIN djmdArtist AS a ON a.ID = c.ArtistID
WHERE COALESCE(c.rb_local_deleted, 0) = 0
ORDER BY CAST(c.ID AS INTEGER), c.ID
"""
_CUES_SQL = """
SELECT ContentID, InMsec, OutMsec, Kind, Comment, ColorTableIndex FROM djmdCue
WHERE COALESCE(rb_local_deleted, 0) = 0 ORDER BY ContentID, InMsec
"""


def default_db_path(*, system: str | None = None, home: Path | None = None,
                    environ: Mapping[str, str] | None = None) -> Path:
    """Where rekordbox 6/7 keeps ``master.db`` on this OS (the file may not exist).

    macOS ``~/Library/Pioneer/rekordbox/master.db``; Windows ``%APPDATA%\\Pioneer\\rekordbox\\
    master.db``. Rekordbox does not run on Linux, so there is no default there: a
    :class:`LibraryError` asks for an explicit path (a copy of the file from a Mac or PC, with
    its ``share`` folder beside it for beat grids and phrases). ``system``/``home``/``environ``
    override :func:`platform.system`, the home directory and ``os.environ`` (for tests).
    """
    system = system or platform.system()
    home = home if home is not None else Path.home()
    env = os.environ if environ is None else environ
    if system == "Darwin":
        return home / "Library" / "Pioneer" / "rekordbox" / "master.db"
    if system == "Windows":
        appdata = env.get("APPDATA")
        base = Path(appdata) if appdata else home / "AppData" / "Roaming"
        return base / "Pioneer" / "rekordbox" / "master.db"
    raise LibraryError(None, f"rekordbox does not run on {system}, so there is no default "
                             "master.db: pass the path of a master.db copied from macOS or "
                             "Windows (with its 'share' folder beside it)")


def read_db(path: Path | None = None, *, share_dir: Path | None = None, key: str | None = None,
            with_analysis: bool = True, include_streaming: bool = False) -> list[Track]:
    """All tracks of a rekordbox 6/7 ``master.db``, ids ``"rbdb:<djmdContent.ID>"``.

    ``path`` defaults to :func:`default_db_path`. ``share_dir`` is where ``AnalysisDataPath``
    (``/PIONEER/USBANLZ/...``) is resolved, default ``<db dir>/share``. ``key`` overrides
    pyrekordbox's built-in database key. With ``with_analysis`` the ANLZ files give ``grid``
    and ``phrases``; a missing or unreadable one is logged and leaves them ``None`` (recorded
    in ``extras["anlz_error"]``). ``extras`` also holds ``folder_path`` (as stored),
    ``content_id`` and ``analysis_data_path``. Raises :class:`LibraryError` for a missing,
    corrupt or undecryptable file. Never writes to the database or its directory.

    Streaming tracks (a ``FolderPath`` that names a service, ``soundcloud:tracks:123`` ...; the
    same rule as for XML ``Location``, a heuristic: no real library with one was available) are
    left out, counted in one log line, unless ``include_streaming``: then they carry
    ``extras["streaming"]`` (the service) and are never analysed or written.
    """
    db_path = Path(path) if path is not None else default_db_path()
    if db_path.is_dir() and (db_path / "master.db").is_file():  # the rekordbox folder itself
        db_path = db_path / "master.db"
    if not db_path.is_file():
        raise LibraryError(db_path, "rekordbox database not found")
    share = Path(share_dir) if share_dir is not None else db_path.parent / "share"
    _note_if_rekordbox_runs(db_path)
    if with_analysis and not share.is_dir():
        logger.warning("%s: no analysis folder %s, so no beat grids or phrases (pass share_dir)",
                       db_path, share)
        with_analysis = False
    with open_read_only(db_path, key) as conn:
        try:
            rows = conn.execute(_TRACKS_SQL).fetchall()
            cue_rows = conn.execute(_CUES_SQL).fetchall()
        except Exception as exc:  # sqlite3 / sqlcipher3 errors share no base class
            raise LibraryError(db_path, f"not a rekordbox 6/7 library ({exc})") from exc
    cues: dict[str, list[Cue]] = {}
    for content_id, in_ms, out_ms, kind, comment, color_index in cue_rows:
        cue = _cue(in_ms, out_ms, kind, comment, color_index)
        if cue is not None:
            cues.setdefault(str(content_id), []).append(cue)
    tracks = [_track(row, cues.get(str(row[0]), []), share, with_analysis) for row in rows]
    streaming = sum(1 for t in tracks if "streaming" in t.extras)
    if streaming:
        logger.info("%s: %d streaming tracks (no local file)%s", db_path, streaming,
                    "" if include_streaming else " left out")
        if not include_streaming:
            tracks = [t for t in tracks if "streaming" not in t.extras]
    logger.debug("%s: %d tracks, %d cues", db_path, len(tracks), sum(map(len, cues.values())))
    return tracks


def _note_if_rekordbox_runs(db_path: Path) -> None:
    try:
        from pyrekordbox.utils import get_rekordbox_pid

        pid = get_rekordbox_pid()
    except Exception:  # psutil can fail on locked-down systems; this is only a note
        return
    if pid:
        logger.info("rekordbox is running (pid %d): reading a read-only snapshot of %s; "
                    "changes it makes from now on are not seen", pid, db_path)


def _builtin_key() -> str:
    from pyrekordbox.masterdb.database import BLOB
    from pyrekordbox.utils import deobfuscate

    return deobfuscate(BLOB)


@contextmanager
def open_read_only(db_path: Path, key: str | None) -> Iterator[Any]:
    side = [db_path.with_name(db_path.name + s) for s in ("-wal", "-journal")]
    side = [p for p in side if p.exists()]
    with tempfile.TemporaryDirectory(prefix="djstruct-rbdb-") if side else _no_dir() as tmp:
        if tmp is None:
            uri = db_path.resolve().as_uri() + "?mode=ro&immutable=1"
        else:
            logger.info("%s: %s present (rekordbox running?); reading a private copy", db_path,
                        ", ".join(p.name for p in side))
            for src in [db_path, *side]:
                shutil.copyfile(src, Path(tmp) / src.name)
            uri = (Path(tmp) / db_path.name).as_uri()
        conn = _connect(db_path, uri, key)
        try:
            yield conn
        finally:
            conn.close()


@contextmanager
def _no_dir() -> Iterator[None]:
    yield None


def _connect(db_path: Path, uri: str, key: str | None) -> Any:
    try:
        with db_path.open("rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise LibraryError(db_path, f"cannot read database: {exc.strerror or exc}") from exc
    if head == SQLITE_MAGIC:  # a decrypted copy: plain SQLite
        module: Any = sqlite3
    else:
        try:
            from sqlcipher3 import dbapi2 as module
        except ImportError as exc:
            raise LibraryError(db_path, "encrypted rekordbox database: install the "
                                        "'sqlcipher3-wheels' package to read it") from exc
    conn = None
    try:
        conn = module.connect(uri, uri=True)
        if head != SQLITE_MAGIC:
            conn.execute("PRAGMA cipher_log_level = NONE")  # no "hmac check failed" on stderr
            secret = key if key is not None else _builtin_key()
            conn.execute("PRAGMA key = '{}'".format(secret.replace("'", "''")))
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except module.Error as exc:
        if conn is not None:
            conn.close()
        what = "unknown key or not a database" if head != SQLITE_MAGIC else "corrupt database"
        raise LibraryError(db_path, f"cannot open rekordbox database ({what}: {exc})") from exc
    return conn


def _cue(in_ms: Any, out_ms: Any, kind: Any, comment: Any, color_index: Any = None) -> Cue | None:
    if in_ms is None:
        return None
    start = float(in_ms) / 1000.0
    end = float(out_ms) / 1000.0 if out_ms is not None and float(out_ms) > float(in_ms) else None
    name = str(comment or "")
    kind = int(kind or 0)
    if kind == 0:
        return Cue("memory", start, None, end, name)
    if kind not in HOT_CUE_SLOTS:
        logger.warning("djmdCue.Kind %d is not a known hot cue; read as a memory cue", kind)
        return Cue("memory", start, None, end, name)
    return Cue("hot", start, HOT_CUE_SLOTS[kind], end, name, palette_color(color_index))


def _track(row: tuple[Any, ...], cues: list[Cue], share: Path, with_analysis: bool) -> Track:
    content_id, folder_path, length, bpm100, title, artist, anlz_path = row
    folder = str(folder_path or "")
    extras: dict[str, Any] = {"content_id": str(content_id), "folder_path": folder,
                              "analysis_data_path": anlz_path or ""}
    grid = phrases = None
    service = streaming_kind(folder)
    if service is not None:
        extras["streaming"] = service
    elif with_analysis and anlz_path:
        try:
            data = read_anlz(resolve_analysis_path(share, str(anlz_path)))
            grid, phrases = data.grid, data.phrases
            if data.mood:
                extras["phrase_mood"] = data.mood
        except LibraryError as exc:
            logger.warning("track %s: %s", content_id, exc)
            extras["anlz_error"] = str(exc)
    return track_from_app(Track(
        id=f"{ID_PREFIX}{content_id}",
        path=Path(folder.replace("\\", "/")) if folder[1:2] == ":" else Path(folder),
        source=SOURCE,
        duration_s=float(length) if length else None,
        bpm=float(bpm100) / 100.0 if bpm100 else None,
        grid=grid,
        cues=tuple(sorted(cues, key=lambda c: (c.start_s, c.kind, c.slot or 0))),
        phrases=phrases,
        title=str(title or ""),
        artist=str(artist or ""),
        extras=extras,
    ), "rekordbox")
