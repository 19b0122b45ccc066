"""Undo a :func:`~djstruct.library.traktor.write.write_nml`, keeping what the DJ did since.

Works on the file as it is now, not on the backup: every cue djstruct added is looked up by exact
match (:func:`~djstruct.library.traktor.write.matches`) and cut out with the whitespace before it;
every own cue it removed (replace-own) is put back after the entry's last cue, unless its hot cue
slot has been taken since. A cue the DJ moved, renamed or deleted in the meantime is left alone
and reported. When nothing else changed, the result is the file before the write, byte for byte.
The whole-file backup is only restored with ``restore_backup=True`` and only when the file is
exactly what djstruct wrote (so there is nothing of the DJ's to lose).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from djstruct.errors import WritebackError
from djstruct.library.traktor.running import refuse_if_running
from djstruct.library.traktor.spans import parse_nml
from djstruct.library.traktor.write import (
    NmlWriteRecord,
    _apply,
    _cut,
    _entries_by_id,
    _separator,
    matches,
)
from djstruct.safe_write import atomic_write_bytes, file_sha256

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NmlUndoResult:
    out: Path
    removed: int  # djstruct cues taken out again
    restored: int  # own cues (removed by replace-own) put back
    missing: tuple[str, ...]  # added cues no longer in the file as written (the DJ changed or deleted them)
    refused: tuple[str, ...]  # removed cues not put back (slot taken since, entry gone)
    whole_file: bool = False


def undo_nml(record: NmlWriteRecord, *, restore_backup: bool = False, check_running: bool = True) -> NmlUndoResult:
    """Undo ``record`` on ``record.out``. Raises :class:`WritebackError` (one line) while Traktor
    runs, or for a ``restore_backup`` that would lose changes made since."""
    out = Path(record.out)
    if check_running:
        refuse_if_running(out)
    if not out.exists():
        raise WritebackError(out, "the collection djstruct wrote is gone; nothing to undo")
    if restore_backup:
        if record.backup is None or not Path(record.backup).exists():
            raise WritebackError(out, "no backup to restore")
        if file_sha256(out) != record.after_sha256:
            raise WritebackError(out, "changed since djstruct wrote it; restoring the backup would lose "
                                      "those changes (undo without restore_backup keeps them)")
        atomic_write_bytes(out, Path(record.backup).read_bytes())
        return NmlUndoResult(out, len(record.added), len(record.removed), (), (), True)
    doc = parse_nml(out)
    by_id = _entries_by_id(doc)
    edits: list[tuple[int, int, bytes]] = []
    missing: list[str] = []
    refused: list[str] = []
    removed = restored = 0
    cut: set[tuple[int, int]] = set()
    for cue in record.added:
        want = dict(cue.attrs)
        hit = None
        for entry in by_id.get(cue.track_id, []):
            i = next((i for i, c in enumerate(entry.children)
                      if (entry.start, i) not in cut and matches(c, want)), None)
            if i is not None:
                hit = (entry, i)
                break
        if hit is None:
            missing.append(f"{cue.track_id}: {want.get('NAME')} at {float(want.get('START', 0)) / 1000:.3f} s")
            continue
        entry, i = hit
        cut.add((entry.start, i))
        a, b = _cut(doc, entry, i)
        edits.append((a, b, b""))
        removed += 1
    for cue in record.removed:
        entries = by_id.get(cue.track_id, [])
        if not entries:
            refused.append(f"{cue.track_id}: entry no longer in the collection")
            continue
        entry = entries[0]
        if any(matches(c, dict(cue.attrs)) for i, c in enumerate(entry.children) if (entry.start, i) not in cut):
            continue  # still there: never removed (the write did not happen) or already put back
        slot = dict(cue.attrs).get("HOTCUE", "-1")
        busy = {c.attrs.get("HOTCUE") for i, c in enumerate(entry.children)
                if c.tag == "CUE_V2" and (entry.start, i) not in cut}
        if slot != "-1" and slot in busy:
            refused.append(f"{cue.track_id}: hot cue slot {int(slot) + 1} is used again; "
                           f"{dict(cue.attrs).get('NAME')} not put back")
            continue
        kids = [c for i, c in enumerate(entry.children) if c.tag == "CUE_V2"] or entry.children
        anchor = kids[-1].end if kids else entry.tag_end
        edits.append((anchor, anchor, (_separator(doc, entry) + cue.text).encode("utf-8")))
        restored += 1
    data = _apply(doc.data, edits)
    if data != doc.data:
        if file_sha256(out) != _digest(doc.data):
            raise WritebackError(out, "the collection changed while undo was running; nothing was written")
        atomic_write_bytes(out, data)
    logger.info("%s: undo removed %d, restored %d, %d missing, %d refused", out, removed, restored, len(missing),
                len(refused))
    return NmlUndoResult(out, removed, restored, tuple(missing), tuple(refused))


def _digest(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def undo_write(record: NmlWriteRecord, *, force: bool = False, check_running: bool = True) -> NmlUndoResult:
    """Undo what one writeback wrote, the way that keeps the most of the DJ's work:

    * in place (``out`` is the collection): :func:`undo_nml`, element by element;
    * a new file djstruct created: removed, if it is still what djstruct wrote (or ``force``);
    * a file that existed before and was overwritten: its backup is put back, if the file is still
      what djstruct wrote (else refused: there is nothing to merge with).
    """
    out = Path(record.out)
    if Path(record.src).resolve() == out.resolve():
        return undo_nml(record, check_running=check_running)
    if check_running:
        refuse_if_running(out)
    if record.before_sha256 is None:
        if out.exists():
            if not force and file_sha256(out) != record.after_sha256:
                raise WritebackError(out, "changed since djstruct wrote it; not removed (use --force)")
            out.unlink()
        return NmlUndoResult(out, len(record.added), len(record.removed), (), (), True)
    return undo_nml(record, restore_backup=True, check_running=False)
