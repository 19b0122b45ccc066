"""Undo of the journal entries that edited a DJ application's library file (``traktor-nml``,
``rekordbox-db``; see :mod:`djstruct.writeback.direct`), through the format packages' own undo,
which keeps what the DJ did since:

* ``traktor-nml``: :func:`~djstruct.library.traktor.undo.undo_write` (element by element in place;
  a new file removed; an overwritten file's backup put back only if unchanged since). The entry is
  marked undone once that ran, even when some own cues could not be put back (a slot taken since):
  running it twice would put the others back twice;
* ``rekordbox-db``: every not yet undone entry of the run for the same database, in one
  :func:`~djstruct.library.rekordbox.db_undo.undo_db` (one open, one commit). A track with a row
  refused (changed in rekordbox since djstruct wrote it) keeps its entry for ``--force``; undoing
  such a record again is harmless (rows already back are recognised and left alone).
"""

from __future__ import annotations

from collections.abc import Sequence

from djstruct.errors import DjstructError
from djstruct.library.rekordbox.db_undo import undo_db
from djstruct.library.rekordbox.db_write import DbChangeRecord, DbRowChange, content_key
from djstruct.library.traktor.undo import undo_write
from djstruct.library.traktor.write import NmlWriteRecord
from djstruct.writeback.journal import Journal, JournalEntry

LIBRARY_KINDS = frozenset({"traktor-nml", "rekordbox-db"})
Refusals = list[tuple[str, str]]


def undo_library_entries(journal: Journal, entry: JournalEntry, entries: Sequence[JournalEntry], force: bool,
                         restored: list[str], refused: Refusals) -> set[int]:
    """Undo ``entry`` (and, for master.db, the run's other entries for the same database); appends
    to ``restored`` / ``refused``; returns the ids of the entries it dealt with."""
    if entry.kind == "traktor-nml":
        return _undo_nml(journal, entry, force, restored, refused)
    return _undo_db(journal, entry, entries, force, restored, refused)


def _undo_nml(journal: Journal, e: JournalEntry, force: bool, restored: list[str], refused: Refusals) -> set[int]:
    try:
        res = undo_write(NmlWriteRecord.from_dict(e.backup), force=force)
    except DjstructError as err:
        refused.append((e.path, str(err)))
        return {e.id}
    journal.mark(e.id, "undone")
    restored.append(e.path)
    refused += [(e.path, f"{e.path}: {why}") for why in res.refused]
    return {e.id}


def _undo_db(journal: Journal, e: JournalEntry, entries: Sequence[JournalEntry], force: bool,
             restored: list[str], refused: Refusals) -> set[int]:
    db = str(e.backup["db"])
    group = [x for x in entries if x.kind == "rekordbox-db" and x.state != "undone" and x.backup.get("db") == db]
    changes = tuple(DbRowChange.from_dict(c) for x in group for c in x.backup.get("changes", ()))
    backups = tuple(dict.fromkeys(b for x in group for b in x.backup.get("backups", ())))
    after = next((x.after_sha256 for x in reversed(group) if x.after_sha256), "") or ""
    record = DbChangeRecord(db, backups, changes, (), (), 0, 0, "", after, 0.0)
    try:
        res = undo_db(record, force=force)
    except DjstructError as err:
        refused.append((db, str(err)))
        return {x.id for x in group}
    kept = set(res.refused_content)
    for x in group:
        if x.track_id is None or content_key(x.track_id) not in kept:
            journal.mark(x.id, "undone")
            restored.append(x.path)
    refused += [(db, f"{db}: {why}") for why in res.refused]
    return {x.id for x in group}
