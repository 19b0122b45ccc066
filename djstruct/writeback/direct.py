"""The two writeback targets that edit a DJ application's own library file: a Traktor collection
(``traktor-nml``: a new NML, or the collection itself with ``--direct``) and rekordbox 6/7's
``master.db`` (``rekordbox-db``, only with ``--direct``).

Both take the planned diffs of the changed tracks, cross to the application's timeline
(:mod:`djstruct.timing`) and hand the format package only cues to *add* and djstruct's own earlier
cues to *remove* (replace-own): the DJ's cues are never passed, so never touched. Every change is
journaled before it happens:

* ``traktor-nml``: one entry (kind ``traktor-nml``, the :class:`NmlWriteRecord`) recorded after the
  checks and the backup, just before the file is renamed into place; plus one ``cues`` entry per
  track (what djstruct owns, for replace-own);
* ``rekordbox-db``: one entry per track (kind ``rekordbox-db``, path = the audio file, so the
  journal knows the cues djstruct owns there), holding the planned row changes, recorded before
  that track's commit; the last one also gets the hash of the database files after the run (the
  whole-file restore, a last resort, is allowed only while nothing else changed).

:func:`dry_run_failures` runs the same planners without writing, so a dry run names the tracks the
writer would refuse (a hot cue slot taken since the scan, a track no longer in the library).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from djstruct import timing
from djstruct.errors import ConfigError
from djstruct.library import LibrarySource
from djstruct.library.rekordbox.db_files import files_sha256
from djstruct.library.rekordbox.db_write import DbRowChange, content_key, plan_db_cues, write_db_cues
from djstruct.library.traktor.write import NmlWriteRecord, plan_nml, write_nml
from djstruct.types import Cue
from djstruct.writeback.journal import Journal
from djstruct.writeback.plan import TrackPlan

EmitFn = Callable[[str, str], None]
Failures = list[tuple[str, str]]
APP = {"traktor-nml": "traktor", "rekordbox-db": "rekordbox"}
SOURCE_KIND = {"traktor-nml": "traktor-nml", "rekordbox-db": "rekordbox-db"}
FLAG = {"traktor-nml": "--traktor-nml FILE", "rekordbox-db": "--rekordbox-db [PATH]"}


def library_file(sources: Sequence[LibrarySource], target: str, policy: str) -> Path:
    """The library file a direct target writes: the one source of the target's own kind."""
    if policy == "replace-all":
        raise ConfigError(None, f"--policy replace-all is not offered for {target}: djstruct only ever removes the "
                                "cues it wrote itself there (use replace-own)")
    mine = [s for s in sources if s.kind == SOURCE_KIND[target]]
    if len(mine) != 1 or len(sources) != 1 or mine[0].path is None:
        raise ConfigError(None, f"--target {target} writes the library it reads: give exactly one {FLAG[target]} "
                                "and no other library")
    return mine[0].path


def nml_out(src: Path, out: Path | None, direct: bool) -> Path:
    """Where a traktor-nml writeback goes: ``out``, or with ``--direct`` the collection itself, else a
    new ``<name>-djstruct.nml`` beside it. Writing the collection itself needs ``--direct``."""
    target = out if out is not None else (src if direct else src.with_name(src.stem + "-djstruct.nml"))
    if target.resolve() == src.resolve() and not direct:
        raise ConfigError(target, "writing the Traktor collection in place needs --direct (or name a new NML "
                                  "with --out)")
    return target


def cue_maps(todo: Sequence[TrackPlan], app: str) -> tuple[dict[str, list[Cue]], dict[str, list[Cue]]]:
    """Per track id: the cues to add and djstruct's own cues to remove, on ``app``'s timeline."""
    add: dict[str, list[Cue]] = {}
    remove: dict[str, list[Cue]] = {}
    for p in todo:
        assert p.diff is not None
        off = timing.offset_s(p.track.path, app)
        for ch in p.diff.changes:
            if ch.action in ("add", "replace"):
                add.setdefault(p.track.id, []).append(timing.cue_to_app(ch.cue, off, app))
            elif ch.action == "remove":
                remove.setdefault(p.track.id, []).append(timing.cue_to_app(ch.cue, off, app))
    return add, remove


def dry_run_failures(target: str, path: Path, todo: Sequence[TrackPlan]) -> Failures:
    """The tracks the writer would refuse, from its own planner (nothing is written)."""
    add, remove = cue_maps(todo, APP[target])
    if target == "traktor-nml":
        failed: Sequence[tuple[str, str]] = plan_nml(path, add, remove).failed
    else:
        failed = plan_db_cues(path, add, remove).failed
    return _named(todo, failed)


def _named(todo: Sequence[TrackPlan], failed: Sequence[tuple[str, str]]) -> Failures:
    paths = {p.track.id: str(p.track.path) for p in todo}
    paths.update({content_key(p.track.id): str(p.track.path) for p in todo})
    out = []
    for track_id, reason in failed:
        path = paths.get(track_id, paths.get(content_key(track_id), track_id))
        out.append((path, f"{path}: {reason}"))
    return out


def write_traktor(journal: Journal, start_run: Callable[[], int], src: Path, out: Path,
                  todo: Sequence[TrackPlan], emit: EmitFn) -> tuple[int, Failures]:
    """Write the changed tracks' cues into ``out`` (see the module doc); (tracks written, failures)."""
    add, remove = cue_maps(todo, "traktor")
    entries: dict[str, Any] = {}

    def on_ready(record: NmlWriteRecord) -> None:
        run_id = start_run()
        refused = {tid for tid, _ in record.failed}
        entries["file"] = journal.record(run_id, str(record.out), None, "traktor-nml", record.to_dict(), ())
        entries["cues"] = [journal.record(run_id, str(p.track.path), p.track.id, "cues", {}, p.diff.written)
                           for p in todo if p.diff is not None and p.track.id not in refused]

    record = write_nml(src, add, remove, out=out, on_ready=on_ready)
    failed = _named(todo, record.failed)
    if "file" in entries:
        journal.mark_written(entries["file"], record.after_sha256)
        for eid in entries["cues"]:
            journal.mark_written(eid, "")
        emit("written", str(out))
    for _, msg in failed:
        emit("failed", msg)
    return len(entries.get("cues", ())), failed


class _DbJournal:
    """The :class:`~djstruct.library.rekordbox.db_write.CommitHook` that journals each track."""

    def __init__(self, journal: Journal, start_run: Callable[[], int], db: Path, todo: Sequence[TrackPlan]) -> None:
        self.journal, self.start_run, self.db = journal, start_run, db
        self.plans = {content_key(p.track.id): p for p in todo}
        self.pending: dict[str, int] = {}
        self.written: list[int] = []

    def before(self, content_id: str, changes: Sequence[DbRowChange], backups: Sequence[str]) -> None:
        p = self.plans[content_id]
        assert p.diff is not None
        backup = {"db": str(self.db), "backups": list(backups), "changes": [c.to_dict() for c in changes]}
        self.pending[content_id] = self.journal.record(self.start_run(), str(p.track.path), p.track.id,
                                                       "rekordbox-db", backup, p.diff.written)

    def after(self, content_id: str) -> None:
        eid = self.pending.pop(content_id)
        self.journal.mark_written(eid, "")
        self.written.append(eid)

    def rolled_back(self, content_id: str) -> None:
        eid = self.pending.pop(content_id, None)
        if eid is not None:
            self.journal.mark(eid, "undone")  # nothing of this track was committed


def write_rekordbox_db(journal: Journal, start_run: Callable[[], int], db: Path, todo: Sequence[TrackPlan],
                       emit: EmitFn) -> tuple[int, Failures]:
    """Write the changed tracks' cues into ``master.db`` (see the module doc); (tracks written, failures)."""
    add, remove = cue_maps(todo, "rekordbox")
    hook = _DbJournal(journal, start_run, db, todo)
    try:
        record = write_db_cues(db, add, remove, hook=hook)
    finally:
        if hook.written:  # the state after the run, for the last-resort whole-file restore
            journal.mark_written(hook.written[-1], files_sha256(db))
    failed = _named(todo, record.failed)
    for _, msg in failed:
        emit("failed", msg)
    for note in record.notes:
        emit("note", note)
    if record.backups:
        emit("backup", ", ".join(record.backups))
    if hook.written:
        emit("written", str(db))
    return len(hook.written), failed

