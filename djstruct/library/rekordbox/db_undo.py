"""Undo a :func:`~djstruct.library.rekordbox.db_write.write_db_cues` row by row.

For each change in the record, newest first:

* a row djstruct inserted is deleted if it is still as djstruct wrote it (the DJ-visible columns
  compared, sync bookkeeping ignored); one the DJ edited since is refused unless ``force``; one
  already gone (or flagged deleted by rekordbox) needs nothing;
* a row djstruct deleted (replace-own) is inserted again with all its old values, unless a row
  with its ID exists or its hot cue slot has been taken since;
* a row djstruct updated (``contentCue``) gets its old value back if it still holds djstruct's,
  else it is refused unless ``force``.

Everything else the DJ did since stays. The USN counters are never turned back (pyrekordbox's
commit counts the undo as new changes). Restoring the whole-file backup is the last resort: only
with ``restore_backup=True``, or when the row-level undo fails on a database error, and only when
``master.db`` (and its ``-wal``) are byte for byte what djstruct left, so nothing of the DJ's can
be lost.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from djstruct.errors import LibraryError, WritebackError
from djstruct.library.rekordbox.db_files import SIDE_FILES, files_sha256, refuse_if_rekordbox_runs
from djstruct.library.rekordbox.db_rows import row_slot
from djstruct.library.rekordbox.db_write import (
    DbChangeRecord,
    DbRowChange,
    _live_rows,
    _models,
    open_master,
    raw_row,
    raw_rows,
)
from djstruct.safe_write import atomic_write_bytes

logger = logging.getLogger(__name__)

_CHUNK = 500  # row ids per query (well under SQLite's limit on bound variables)
IGNORED_COLUMNS = frozenset({"usn", "rb_local_usn", "rb_local_synced", "rb_data_status", "rb_local_data_status",
                             "updated_at", "InPointSeekInfo", "OutPointSeekInfo"})


@dataclass(frozen=True)
class DbUndoResult:
    db: Path
    deleted: int  # djstruct rows removed again
    restored: int  # rows put back (deleted by replace-own, or contentCue values)
    gone: tuple[str, ...]  # djstruct rows the DJ had already deleted
    refused: tuple[str, ...]  # rows changed since (not forced) or slots taken
    whole_file: bool = False
    refused_content: tuple[str, ...] = ()  # content ids of the tracks with a refused row


def _same(current: dict[str, Any], recorded: dict[str, Any]) -> bool:
    return all(current.get(k) == v for k, v in recorded.items() if k not in IGNORED_COLUMNS)


def undo_db(record: DbChangeRecord, *, force: bool = False, restore_backup: bool = False, key: str | None = None,
            check_running: bool = True) -> DbUndoResult:
    """Undo ``record`` (see the module doc). Raises :class:`WritebackError` while rekordbox runs
    or for a whole-file restore that could lose later changes."""
    db = Path(record.db)
    if check_running:
        refuse_if_rekordbox_runs(db)
    if restore_backup:
        return _restore_files(record)
    try:
        return _undo_rows(db, record, force, key)
    except LibraryError:
        raise
    except Exception as exc:  # a database error: the file restore is the last resort, if it loses nothing
        if record.backups and files_sha256(db) == record.files_sha256_after:
            logger.warning("%s: row-level undo failed (%s); restoring the backup (nothing changed since)", db, exc)
            return _restore_files(record)
        raise WritebackError(db, f"undo failed ({exc}); the database changed since djstruct wrote it, so the "
                                 "backup was not restored") from exc


def _restore_files(record: DbChangeRecord) -> DbUndoResult:
    db = Path(record.db)
    if not record.backups:
        raise WritebackError(db, "no backup was taken for this write")
    if files_sha256(db) != record.files_sha256_after:
        raise WritebackError(db, "changed since djstruct wrote it; restoring the backup would lose those changes "
                                 "(undo row by row instead)")
    backups = {Path(b).name.split(".djstruct-")[0]: Path(b) for b in record.backups}
    if db.name not in backups or not backups[db.name].exists():
        raise WritebackError(db, "the backup of master.db is missing")
    for suffix in SIDE_FILES:  # side files that were not there at backup time must go
        side = db.with_name(db.name + suffix)
        if side.name not in backups and side.exists():
            os.remove(side)
    for name, src in backups.items():
        atomic_write_bytes(db.with_name(name), src.read_bytes())
    n = sum(1 for c in record.changes if c.action == "insert")
    return DbUndoResult(db, n, len(record.changes) - n, (), (), True)


def _undo_rows(db: Path, record: DbChangeRecord, force: bool, key: str | None) -> DbUndoResult:
    m = _models()
    deleted = restored = 0
    gone: list[str] = []
    refused: list[str] = []
    refused_ids: list[str] = []
    with open_master(db, key) as master:
        rows, objects = _prefetch(master, record.changes)
        for ch in reversed(record.changes):
            label = f"{ch.table} {ch.row_id} (track {ch.content_id})"
            current = rows[ch.table][ch.row_id] if ch.row_id in rows.get(ch.table, {}) else \
                raw_row(master, ch.table, ch.row_id)
            if ch.action == "insert":
                if current is None or int(current.get("rb_local_deleted") or 0):
                    gone.append(label)
                elif not force and not _same(current, ch.after or {}):
                    refused.append(f"{label}: changed in rekordbox since djstruct wrote it (use force)")
                else:
                    master.delete(objects.get(ch.row_id) or master.query(m.DjmdCue).filter_by(ID=ch.row_id).one())
                    deleted += 1
            elif ch.action == "delete":
                before = ch.before or {}
                taken = {row_slot(r) for r in _live_rows(master, ch.content_id)} - {None}
                if current is not None and _same(current, before):
                    gone.append(label)  # never deleted (its commit did not happen): nothing to put back
                elif current is not None:
                    refused.append(f"{label}: a row with this ID exists again; not restored")
                elif row_slot(before) is not None and row_slot(before) in taken:
                    refused.append(f"{label}: its hot cue slot is used again; not restored")
                else:
                    master.add(m.DjmdCue.create(**_orm_values(m.DjmdCue, before)))
                    restored += 1
            elif ch.action == "update" and ch.table == "contentCue":
                if current is None or current.get("Cues") == (ch.before or {}).get("Cues"):
                    gone.append(label)  # gone, or already as before (its commit did not happen)
                elif not force and current.get("Cues") != (ch.after or {}).get("Cues"):
                    refused.append(f"{label}: changed since djstruct wrote it (use force)")
                else:
                    row = master.query(m.ContentCue).filter_by(ID=ch.row_id).one()
                    row.Cues = (ch.before or {}).get("Cues")
                    restored += 1
            if len(refused) > len(refused_ids):
                refused_ids.append(ch.content_id)
        if deleted or restored:
            master.commit()
    logger.info("%s: undo deleted %d rows, restored %d, %d gone, %d refused", db, deleted, restored, len(gone),
                len(refused))
    return DbUndoResult(db, deleted, restored, tuple(gone), tuple(refused), False, tuple(dict.fromkeys(refused_ids)))


def _prefetch(master: Any, changes: Sequence[DbRowChange]
              ) -> tuple[dict[str, dict[str, dict[str, Any] | None]], dict[str, Any]]:
    """The current rows of every change (None when gone) and the ``DjmdCue`` objects of the
    inserted rows, a few queries in all instead of two per row. A row named by more than one change
    is left out (looked up when its turn comes)."""
    m = _models()
    count = Counter((ch.table, ch.row_id) for ch in changes)
    rows: dict[str, dict[str, dict[str, Any] | None]] = {}
    for table in {ch.table for ch in changes}:
        ids = [ch.row_id for ch in changes if ch.table == table and count[(table, ch.row_id)] == 1]
        got: dict[str, dict[str, Any]] = {}
        for i in range(0, len(ids), _CHUNK):
            got.update(raw_rows(master, table, ids[i:i + _CHUNK]))
        rows[table] = {rid: got.get(rid) for rid in ids}
    inserted = [ch.row_id for ch in changes if ch.action == "insert" and ch.table == "djmdCue"]
    objects: dict[str, Any] = {}
    for i in range(0, len(inserted), _CHUNK):
        objects.update({str(o.ID): o for o in master.query(m.DjmdCue).filter(m.DjmdCue.ID.in_(inserted[i:i + _CHUNK]))})
    return rows, objects


def _orm_values(model: Any, raw: dict[str, Any]) -> dict[str, Any]:
    """Raw SQLite values -> model attribute values (dates parsed the way pyrekordbox stores them)."""
    from pyrekordbox.masterdb.models import string_to_datetime

    out = dict(raw)
    for k in ("created_at", "updated_at"):
        if isinstance(out.get(k), str):
            out[k] = string_to_datetime(out[k])
    return {k: v for k, v in out.items() if k in model.columns()}
