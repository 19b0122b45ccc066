"""Apply planned cue diffs to a target, journaled; and undo a run from the journal."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from djstruct.errors import DjstructError, WritebackError
from djstruct.journal import Journal
from djstruct.safe_write import atomic_write_bytes, file_sha256
from djstruct.writers import frame_backup

if TYPE_CHECKING:
    from djstruct.writeback import TrackPlan, WritebackConfig, WritebackResult

log = logging.getLogger(__name__)


def apply_plans(config: WritebackConfig, target: str, layout_name: str, plans: list[TrackPlan], journal: Journal,
                emit: Callable[[str, str], None]) -> WritebackResult:
    from djstruct.writeback import WritebackResult

    todo = [p for p in plans if p.diff is not None and p.diff.changed]
    if not todo:
        return WritebackResult(target, False, plans)
    src = ", ".join(s.key for s in config.sources)
    run_id = journal.start_run(target, config.policy, layout_name, src)
    failed: list[tuple[str, str]] = []
    written = 0
    out: Path | None = None
    try:
        if target == "serato":
            written, failed = _apply_serato(run_id, todo, journal, emit)
        elif target == "rekordbox-xml":
            out = _xml_out(config)
            written = _apply_xml(run_id, todo, config, out, journal)
            emit("written", str(out))
        else:
            from djstruct.writers.rekordbox_db import write_db_cues

            db = config.sources[0].path
            write_db_cues(db, {p.track.id: p.diff.result for p in todo if p.diff})  # refuses, with the reason
    except BaseException:
        journal.finish_run(run_id, "failed", {"written": written, "failed": len(failed)})
        raise
    journal.finish_run(run_id, "done" if not failed else "partial", {"written": written, "failed": len(failed)})
    return WritebackResult(target, False, plans, run_id, written, out, failed)


def _apply_serato(run_id: int, todo: list[TrackPlan], journal: Journal,
                  emit: Callable[[str, str], None]) -> tuple[int, list[tuple[str, str]]]:
    from djstruct.writeback import _to_app
    from djstruct.writers.serato import read_backup, write_hot_cues

    written = 0
    failed: list[tuple[str, str]] = []
    for p in todo:
        assert p.diff is not None
        path = p.track.path
        hot = [_to_app(c, p.offset_s, "serato") for c in p.diff.result if c.kind == "hot" and not c.is_loop]
        try:
            backup = {"serato": read_backup(path).to_dict(), "frame": frame_backup.take(path)}
            entry = journal.record(run_id, str(path), p.track.id, "serato", backup, p.diff.written)
            write_hot_cues(path, hot)
            journal.mark_written(entry, file_sha256(path))
            written += 1
            emit("written", str(path))
        except DjstructError as e:
            failed.append((str(path), str(e)))
            emit("failed", str(e))
    return written, failed


def _xml_out(config: WritebackConfig) -> Path:
    if config.out is not None:
        return config.out
    src = config.sources[0]
    if src.kind == "rekordbox-xml" and src.path is not None:
        return src.path.with_name(src.path.stem + "-djstruct.xml")
    raise WritebackError(None, "name the XML to write with --out FILE")


def _apply_xml(run_id: int, todo: list[TrackPlan], config: WritebackConfig, out: Path, journal: Journal) -> int:
    from djstruct.writeback import _to_app
    from djstruct.writers.rekordbox_xml import write_xml

    src = config.sources[0]
    base = src.path if src.kind == "rekordbox-xml" else None
    mapping = {p.track.id: [_to_app(c, p.offset_s, "rekordbox") for c in p.diff.result] for p in todo if p.diff}
    tracks = None if base is not None else [p.track for p in todo]
    before = {"existed": out.exists(), "content": base64.b64encode(out.read_bytes()).decode() if out.exists() else None}
    entry = journal.record(run_id, str(out), None, "file", before, ())
    owners = [(journal.record(run_id, str(p.track.path), p.track.id, "cues", {}, p.diff.written), p)
              for p in todo if p.diff]
    write_xml(out, mapping, base_xml=base, tracks=tracks)
    journal.mark_written(entry, file_sha256(out))
    for eid, _ in owners:
        journal.mark_written(eid, "")
    return len(mapping)


@dataclass(frozen=True)
class UndoResult:
    run_id: int
    restored: list[str]
    refused: list[tuple[str, str]]


def undo_run(journal: Journal, run_id: int | None = None, *, force: bool = False) -> UndoResult:
    """Restore every file a run wrote (newest first). A file changed since djstruct wrote it is
    refused unless ``force``."""
    from djstruct.writers.serato import SeratoBackup, restore

    run = journal.run(run_id) if run_id is not None else journal.latest_undoable()
    if run is None:
        raise WritebackError(None, "nothing to undo" if run_id is None else f"no writeback run {run_id}")
    if run.status == "undone":
        raise WritebackError(None, f"run {run.run_id} was already undone")
    restored: list[str] = []
    refused: list[tuple[str, str]] = []
    for e in reversed(journal.entries(run.run_id)):
        if e.state == "undone":
            continue
        path = Path(e.path)
        if e.kind == "cues":
            journal.mark(e.id, "undone")
            continue
        if e.state == "written" and not force and path.exists() and file_sha256(path) != e.after_sha256:
            refused.append((e.path, f"{e.path}: changed since djstruct wrote it; not restored (use --force)"))
            continue
        try:
            if e.kind == "serato":
                # byte-exact when the audio payload is untouched (always, unless the DJ replaced the
                # file since); otherwise put the Serato tag values back
                if not frame_backup.restore(path, e.backup["frame"]):
                    restore(SeratoBackup.from_dict(e.backup["serato"]))
            elif e.kind == "file":
                _restore_file(path, e.backup)
            journal.mark(e.id, "undone")
            restored.append(e.path)
        except DjstructError as err:
            refused.append((e.path, str(err)))
    if not refused:
        journal.set_run_status(run.run_id, "undone")
    return UndoResult(run.run_id, restored, refused)


def _restore_file(path: Path, backup: dict) -> None:  # type: ignore[type-arg]
    if not backup.get("existed"):
        path.unlink(missing_ok=True)
        return
    atomic_write_bytes(path, base64.b64decode(backup["content"]))
