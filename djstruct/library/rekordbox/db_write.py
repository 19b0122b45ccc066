"""Write cues straight into rekordbox 6/7's ``master.db`` (opt-in), recording every row it changes.

What it does, in order, for ``write_db_cues(db, add, remove)`` (``add``/``remove``: content id ->
cues on rekordbox's timeline, seconds; ``remove`` = djstruct's own earlier cues for replace-own):

1. refuses while rekordbox runs (``pyrekordbox.utils.get_rekordbox_pid``, the check pyrekordbox's
   own ``commit`` makes), in one line;
2. plans every track from its live ``djmdCue`` rows (:mod:`~djstruct.library.rekordbox.db_rows`):
   hot cues only into free slots, never a row djstruct did not write removed; a track that cannot
   take its cues is reported and left alone;
3. before the first change, copies ``master.db`` and any ``-wal``/``-shm`` to timestamped backups;
4. per track, one pyrekordbox session commit: own rows deleted, new rows created with
   ``DjmdCue.create`` + ``add`` (so the USN bookkeeping counts one change per row), and the
   track's ``contentCue`` row, when rekordbox keeps one, refreshed as CueGen does (its ``Cues``
   JSON list gets the new rows and loses the deleted ones; a ``Cues`` value that is not such a list
   is left alone and reported). ANLZ files are not written: rekordbox rebuilds their cue tags
   when it exports (CueGen and djcues rely on that too);
5. returns a :class:`DbChangeRecord`: every inserted row with all its column values as stored,
   every deleted row, every changed row before/after, the USN before/after and hashes of the files,
   which :func:`~djstruct.library.rekordbox.db_undo.undo_db` uses to undo row by row.

USN ("+12 per insert", an old note) re-checked against pyrekordbox 0.5.0: ``commit()`` adds one to
``localUpdateCount`` per entry of its change buffer; every attribute set on a model object is one
(``Base.__setattr__``), so ``DjmdCue(...)`` + add counts one per column (+12), while
``DjmdCue.create(...)`` (tracking off while constructing) is one entry. Measured in the tests: +1 per
inserted row, +1 per deleted row, +1 per changed column.

Verified against the file format only (the real rekordbox 6 fixture, read back through pyrekordbox
and djstruct's reader, ``PRAGMA integrity_check``), not against rekordbox itself, which does not
run here: whether rekordbox shows the rows without re-analysis, and what Cloud Library Sync does
with rows it did not write, is unverified.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from djstruct.errors import DjstructError, LibraryError, WritebackError
from djstruct.library.rekordbox.db import open_read_only
from djstruct.library.rekordbox.db_files import backup_files, files_sha256, refuse_if_rekordbox_runs
from djstruct.library.rekordbox.db_rows import TrackPlan, cue_values, plan_track
from djstruct.types import Cue

logger = logging.getLogger(__name__)

ID_PREFIX = "rbdb:"
SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class DbRowChange:
    """One row djstruct changed: ``action`` insert (``after`` = the row as stored), delete
    (``before``) or update (both); values exactly as SQLite holds them (dates as text)."""

    table: str
    row_id: str
    action: str
    content_id: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "row_id": self.row_id, "action": self.action, "content_id": self.content_id,
                "before": self.before, "after": self.after}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DbRowChange:
        return cls(str(d["table"]), str(d["row_id"]), str(d["action"]), str(d["content_id"]), d.get("before"),
                   d.get("after"))


@dataclass(frozen=True)
class DbChangeRecord:
    """Everything one :func:`write_db_cues` changed (JSON-able for the journal)."""

    db: str
    backups: tuple[str, ...]
    changes: tuple[DbRowChange, ...]
    failed: tuple[tuple[str, str], ...]
    not_found: tuple[tuple[str, str], ...]
    usn_before: int
    usn_after: int
    files_sha256_before: str
    files_sha256_after: str
    written_at: float
    notes: tuple[str, ...] = ()

    @property
    def cues_written(self) -> int:
        return sum(1 for c in self.changes if c.table == "djmdCue" and c.action == "insert")

    @property
    def tracks_written(self) -> int:
        return len({c.content_id for c in self.changes})

    def to_dict(self) -> dict[str, Any]:
        return {"db": self.db, "backups": list(self.backups), "changes": [c.to_dict() for c in self.changes],
                "failed": [list(f) for f in self.failed], "not_found": [list(f) for f in self.not_found],
                "usn_before": self.usn_before, "usn_after": self.usn_after,
                "files_sha256_before": self.files_sha256_before, "files_sha256_after": self.files_sha256_after,
                "written_at": self.written_at, "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DbChangeRecord:
        return cls(str(d["db"]), tuple(d["backups"]), tuple(DbRowChange.from_dict(c) for c in d["changes"]),
                   tuple((str(a), str(b)) for a, b in d["failed"]), tuple((str(a), str(b)) for a, b in d["not_found"]),
                   int(d["usn_before"]), int(d["usn_after"]), str(d["files_sha256_before"]),
                   str(d["files_sha256_after"]), float(d["written_at"]), tuple(d.get("notes", ())))


@dataclass(frozen=True)
class DbPlan:
    """A dry run: per track what would be inserted and deleted, and the tracks refused."""

    db: Path
    tracks: tuple[TrackPlan, ...]
    failed: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def cues_to_insert(self) -> int:
        return sum(len(t.insert) for t in self.tracks)


def content_key(track_id: str) -> str:
    """``"rbdb:123"`` or ``"123"`` -> ``"123"``."""
    return track_id[len(ID_PREFIX):] if track_id.startswith(ID_PREFIX) else track_id


@contextmanager
def open_master(db: Path, key: str | None = None) -> Iterator[Any]:
    """pyrekordbox's ``MasterDatabase`` on ``db`` (encrypted or a decrypted copy), closed after."""
    from pyrekordbox import MasterDatabase

    try:
        with open(db, "rb") as f:
            plain = f.read(16) == SQLITE_MAGIC
    except OSError as exc:
        raise LibraryError(db, f"cannot read database: {exc.strerror or exc}") from exc
    noisy = logging.getLogger("pyrekordbox")
    level = noisy.level
    noisy.setLevel(logging.ERROR)  # "OS linux not supported", "No masterPlaylists6.xml": paths are explicit here
    try:
        master = MasterDatabase(path=db, key=key or "", unlock=not plain)
        master.query(_models().DjmdContent.ID).first()
    except Exception as exc:  # sqlcipher / sqlalchemy / pyrekordbox errors share no base class
        raise LibraryError(db, f"cannot open rekordbox database ({type(exc).__name__}: {exc})") from exc
    finally:
        noisy.setLevel(level)
    try:
        yield master
    finally:
        master.close()
        master.engine.dispose()


def _models() -> Any:
    from pyrekordbox.masterdb import models

    return models


def raw_row(master: Any, table: str, row_id: str) -> dict[str, Any] | None:
    """A row exactly as SQLite stores it (dates as text), or None."""
    from sqlalchemy import text

    res = master.session.execute(text(f'SELECT * FROM "{table}" WHERE ID = :id'), {"id": row_id})
    row = res.mappings().first()
    return None if row is None else dict(row)


def raw_rows(master: Any, table: str, row_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Rows by ID exactly as SQLite stores them, in one query."""
    from sqlalchemy import text

    if not row_ids:
        return {}
    params = {f"i{k}": v for k, v in enumerate(row_ids)}
    res = master.session.execute(text(f'SELECT * FROM "{table}" WHERE ID IN ({", ".join(":" + k for k in params)})'),
                                 params)
    return {str(r["ID"]): dict(r) for r in res.mappings()}


def _live_rows(master: Any, content_id: str) -> list[dict[str, Any]]:
    m = _models()
    rows = master.query(m.DjmdCue).filter_by(ContentID=content_id).all()
    return [{"ID": r.ID, "Kind": r.Kind, "InMsec": r.InMsec, "UUID": r.UUID, "rb_local_deleted": r.rb_local_deleted}
            for r in rows]


def plan_db_cues(db: Path, add: Mapping[str, Sequence[Cue]], remove: Mapping[str, Sequence[Cue]] | None = None,
                 *, key: str | None = None) -> DbPlan:
    """What :func:`write_db_cues` would do, writing nothing (reads a private copy when side files
    exist, like :func:`djstruct.library.rekordbox.db.read_db`)."""
    db = Path(db)
    remove = remove or {}
    ids = list(dict.fromkeys(content_key(k) for k in [*add, *remove]))
    plans: list[TrackPlan] = []
    failed: list[tuple[str, str]] = []
    with open_read_only(db, key) as conn:
        for cid in ids:
            if conn.execute("SELECT 1 FROM djmdContent WHERE ID = ? AND COALESCE(rb_local_deleted, 0) = 0",
                            (cid,)).fetchone() is None:
                failed.append((ID_PREFIX + cid, "not in the rekordbox collection"))
                continue
            cur = conn.execute("SELECT ID, Kind, InMsec, UUID, rb_local_deleted FROM djmdCue WHERE ContentID = ?",
                               (cid,))
            rows = [dict(zip(("ID", "Kind", "InMsec", "UUID", "rb_local_deleted"), r, strict=True)) for r in cur]
            plan = plan_track(cid, rows, _get(add, cid), _get(remove, cid))
            (failed.append((ID_PREFIX + cid, plan.error)) if plan.error else plans.append(plan))
    return DbPlan(db, tuple(plans), tuple(failed))


def _get(mapping: Mapping[str, Sequence[Cue]], cid: str) -> Sequence[Cue]:
    return mapping.get(ID_PREFIX + cid, mapping.get(cid, ()))


class CommitHook(Protocol):
    """Told about each track's commit (the writeback journals through it): ``before`` gets the
    planned row changes (inserted rows with the values djstruct sets, deleted rows as they are,
    the ``contentCue`` update) and the backups, before anything of that track is committed;
    ``after`` follows the commit, ``rolled_back`` a commit that failed (the track is unchanged)."""

    def before(self, content_id: str, changes: Sequence[DbRowChange], backups: Sequence[str]) -> None: ...

    def after(self, content_id: str) -> None: ...

    def rolled_back(self, content_id: str) -> None: ...


def write_db_cues(db: Path, add: Mapping[str, Sequence[Cue]], remove: Mapping[str, Sequence[Cue]] | None = None,
                  *, key: str | None = None, backup: bool = True, check_running: bool = True,
                  hook: CommitHook | None = None) -> DbChangeRecord:
    """Add cues (and delete djstruct's own ``remove`` cues) in ``master.db``; see the module doc.

    Keys are ``djmdContent.ID`` (``"123"`` or ``"rbdb:123"``). Raises :class:`WritebackError`
    while rekordbox runs or when the backup fails, :class:`LibraryError` for a database that
    cannot be opened; per-track problems are in the record's ``failed`` (those tracks unchanged).
    ``hook`` (see :class:`CommitHook`) hears about every track's commit; an error it raises in
    ``before`` stops the run with that track uncommitted.
    """
    db = Path(db)
    if check_running:
        refuse_if_rekordbox_runs(db)
    remove = remove or {}
    sha_before = files_sha256(db)
    dry = plan_db_cues(db, add, remove, key=key)  # read-only: nothing to do -> the file is never opened for writing
    ids = [t.content_id for t in dry.tracks if t.insert or t.delete]
    changes: list[DbRowChange] = []
    failed: list[tuple[str, str]] = list(dry.failed)
    not_found: list[tuple[str, str]] = [(ID_PREFIX + t.content_id, x) for t in dry.tracks for x in t.not_found]
    notes: list[str] = []
    if not ids:
        return DbChangeRecord(str(db), (), (), tuple(failed), tuple(not_found), 0, 0, sha_before, sha_before,
                              time.time())
    backups = backup_files(db) if backup else ()  # before the database is opened for writing
    not_found = [(ID_PREFIX + t.content_id, x) for t in dry.tracks if t.content_id not in ids for x in t.not_found]
    m = _models()
    with open_master(db, key) as master:
        usn_before = int(master.get_local_usn() or 0)
        for cid in ids:
            content = master.query(m.DjmdContent).filter_by(ID=cid).one_or_none()
            if content is None or int(content.rb_local_deleted or 0):
                failed.append((ID_PREFIX + cid, "not in the rekordbox collection"))
                continue
            plan = plan_track(cid, _live_rows(master, cid), _get(add, cid), _get(remove, cid))
            not_found += [(ID_PREFIX + cid, x) for x in plan.not_found]
            if plan.error:
                failed.append((ID_PREFIX + cid, plan.error))
                continue
            if not plan.insert and not plan.delete:
                continue
            started: list[str] = []
            try:
                changes += _apply_track(master, content, plan, notes, hook, backups, started)
            except Exception as exc:  # one track's database error must not stop the batch
                master.session.rollback()
                master.registry.clear_buffer()
                if hook is not None and started:
                    hook.rolled_back(cid)
                if isinstance(exc, DjstructError):
                    raise
                if "rekordbox is running" in str(exc).lower():
                    raise WritebackError(db, "rekordbox started while writing; quit it and run again") from exc
                failed.append((ID_PREFIX + cid, f"database error, track left unchanged: {exc}"))
        usn_after = int(master.get_local_usn() or 0)
    record = DbChangeRecord(str(db), backups, tuple(changes), tuple(failed), tuple(not_found), usn_before, usn_after,
                            sha_before, files_sha256(db), time.time(), tuple(notes))
    logger.info("%s: %d cues written to %d tracks, %d tracks refused (USN %d -> %d)", db, record.cues_written,
                record.tracks_written, len(failed), usn_before, usn_after)
    return record


def _apply_track(master: Any, content: Any, plan: TrackPlan, notes: list[str], hook: CommitHook | None = None,
                 backups: Sequence[str] = (), started: list[str] | None = None) -> list[DbRowChange]:
    m = _models()
    cid = str(content.ID)
    changes = [DbRowChange("djmdCue", rid, "delete", cid, before=raw_row(master, "djmdCue", rid))
               for rid in plan.delete]
    for rid in plan.delete:
        master.delete(master.query(m.DjmdCue).filter_by(ID=rid).one())
    new_ids: list[str] = []
    new_values: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    for cue, rid in zip(plan.insert, unused_cue_ids(master, len(plan.insert)), strict=True):
        values = cue_values(cue, cid, content.UUID, rid)
        master.add(m.DjmdCue.create(**values, created_at=now, updated_at=now))
        new_ids.append(rid)
        new_values.append(values)
    cc_change = _refresh_content_cue(master, cid, plan.delete, new_values, now, notes)
    if hook is not None:
        planned = [*changes, *(DbRowChange("djmdCue", v["ID"], "insert", cid, after=v) for v in new_values)]
        if cc_change is not None:
            planned.append(DbRowChange("contentCue", cc_change[0], "update", cid, cc_change[1], cc_change[2]))
        hook.before(cid, tuple(planned), backups)
        if started is not None:
            started.append(cid)
    master.commit()
    if hook is not None:
        hook.after(cid)
    stored = raw_rows(master, "djmdCue", new_ids)
    changes += [DbRowChange("djmdCue", rid, "insert", cid, after=stored.get(rid)) for rid in new_ids]
    if cc_change is not None:
        row_id, before, _ = cc_change
        changes.append(DbRowChange("contentCue", row_id, "update", cid, before=before,
                                   after=raw_row(master, "contentCue", row_id)))
    return changes


def unused_cue_ids(master: Any, n: int) -> list[str]:
    """``n`` new ``djmdCue`` IDs drawn as pyrekordbox's ``generate_unused_id`` draws them (random
    28-bit, >= 100), checked against the table in one query instead of one query each."""
    from sqlalchemy import text

    out: list[str] = []
    while len(out) < n:
        want = {str(x) for x in (secrets.randbits(28) for _ in range(n - len(out))) if x >= 100} - set(out)
        if not want:
            continue
        params = {f"i{k}": v for k, v in enumerate(want)}
        used = {str(r[0]) for r in master.session.execute(
            text(f"SELECT ID FROM djmdCue WHERE ID IN ({', '.join(':' + k for k in params)})"), params)}
        out += sorted(want - used)
    return out


def _refresh_content_cue(master: Any, cid: str, deleted: Sequence[str], added: Sequence[dict[str, Any]],
                         now: datetime, notes: list[str]
                         ) -> tuple[str, dict[str, Any] | None, dict[str, Any]] | None:
    m = _models()
    cc = master.query(m.ContentCue).filter_by(ContentID=cid).first()
    if cc is None:
        return None
    try:
        items = json.loads(cc.Cues or "[]")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ValueError("not a JSON list of objects")
    except ValueError as exc:
        notes.append(f"{ID_PREFIX}{cid}: contentCue.Cues left as it is ({exc})")
        return None
    before = raw_row(master, "contentCue", str(cc.ID))
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+00:00"
    items = [i for i in items if str(i.get("ID")) not in set(deleted)]
    for values in added:  # CueGen's serialisation: column names, null and 0 left out
        item = {k: v for k, v in values.items() if v not in (None, 0)}
        item.update(created_at=stamp, updated_at=stamp)
        items.append(item)
    cc.Cues = json.dumps(items, separators=(",", ":"))
    return str(cc.ID), before, {"Cues": cc.Cues}
