"""Direct cue writes into rekordbox 6/7's ``master.db``: deliberately NOT implemented.

:func:`write_db_cues` always raises :class:`~djstruct.errors.WritebackError` and sends the user to
the XML route (:func:`djstruct.library.rekordbox.xml_write.write_xml`, imported through rekordbox's
"rekordbox xml" view). Adding the rows is easy; making rekordbox show them reliably without
risking the library is not, as far as we can find out with pyrekordbox 0.5.0:

1. **Cues live in three places.** ``djmdCue`` holds one row per cue; ``contentCue`` holds a
   second, per-track copy (a serialized ``Cues`` text plus ``rb_cue_count``) whose format is not
   documented and not modelled by pyrekordbox beyond the column; and the track's ANLZ files
   under ``share/PIONEER/USBANLZ`` carry ``PCOB`` (DAT, EXT) and ``PCO2`` (EXT) cue tags too
   (the rekordbox 6 fixture's local ANLZ files have them, empty). pyrekordbox 0.5.0 can rebuild
   the beat grid (``PQTZ``) but has no writer for ``PCOB``/``PCO2`` entries. Writing only
   ``djmdCue`` leaves the other two stale, and it is unknown which copy rekordbox trusts when
   they disagree. CueGen, the best-known tool that writes ``djmdCue`` + ``contentCue``, has open
   reports of rekordbox not showing the written cues (mganss/CueGen issues 4, 13, 16, 25).
2. **USN bookkeeping is only partly known.** rekordbox tracks changes through
   ``agentRegistry.localUpdateCount`` and each row's ``rb_local_usn`` (plus ``usn`` and
   ``rb_local_synced`` for cloud sync). pyrekordbox's ``commit()`` bumps them, but on a copy of
   the rekordbox 6 fixture adding a single ``DjmdCue`` raised ``localUpdateCount`` from 249 to
   261: it counts every attribute assignment of the new object as a change. Whether rekordbox
   (and Cloud Library Sync, whose copy could overwrite ours) accepts such numbers is unknown.
3. **Nothing here can check the result.** rekordbox does not run on Linux and the fixtures have
   no cues at all, so a round trip through rekordbox itself - the only test that matters - is
   impossible; reading our own rows back with :func:`~djstruct.library.rekordbox_db.read_db`
   would only prove that SQLite works.

A writer that passes its own tests but leaves rekordbox showing stale cues, or that a later sync
silently reverts, is worse than none. The XML route is supported by rekordbox, touches nothing
until the DJ imports, and is verified by reading the file back.

What a future implementation would need (kept here so nobody has to rediscover it): work on a
copy of ``master.db`` plus ``-wal``/``-shm``; refuse while rekordbox runs
(``pyrekordbox.utils.get_rekordbox_pid``; ``MasterDatabase.commit`` refuses too); rows with
``ID`` (decimal string, unused), ``UUID``, ``ContentID``/``ContentUUID``, ``InMsec``/``OutMsec``
(ms, ``-1`` for no end), ``InFrame``/``OutFrame`` (1/150 s units), ``Kind`` (0 memory; hot cues
A-H 1, 2, 3, 5, 6, 7, 8, 9), ``Color``/``ColorTableIndex``, ``Comment``, ``created_at``/
``updated_at``; matching ``contentCue`` text and ANLZ ``PCOB``/``PCO2`` tags; then swap the copy
in atomically, keep the original as a backup, and test against a real rekordbox.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from djstruct.errors import WritebackError
from djstruct.types import Cue

logger = logging.getLogger(__name__)

REASON = (
    "writing cues straight into rekordbox's master.db is not supported: rekordbox keeps cues in "
    "djmdCue, in contentCue and in the ANLZ files (PCOB/PCO2), pyrekordbox cannot write the ANLZ "
    "cue tags, and its change counters (USN) for new rows are not known to be what rekordbox "
    "expects, so rekordbox could show stale cues or a cloud sync could undo them. Write a "
    "rekordbox XML file instead, choose it in rekordbox under Preferences > Advanced > Database > "
    "rekordbox xml, and import the tracks from the 'rekordbox xml' tree of the browser"
)


@dataclass(frozen=True)
class DbWriteReport:
    """What a master.db write changed (kept for API stability; nothing returns it yet)."""

    db: Path
    backup: Path | None
    tracks_written: int
    cues_written: int


def write_db_cues(db: Path, content_id_to_cues: Mapping[str, Sequence[Cue]], *,
                  share_dir: Path | None = None) -> DbWriteReport:
    """Refuse, always: see the module docstring. Raises :class:`WritebackError` naming ``db``.

    ``content_id_to_cues`` would map ``djmdContent.ID`` to cues, ``share_dir`` locate the ANLZ
    files. Nothing is read or written.
    """
    logger.info("%s: direct master.db write refused (%d tracks requested)", db, len(content_id_to_cues))
    raise WritebackError(db, REASON)
