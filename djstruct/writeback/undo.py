"""``djstruct undo``: restore every file a writeback run changed, from the journal, byte for byte.

A file changed since djstruct wrote it (the DJ edited it since) is refused unless forced. Serato
files are rebuilt from the saved bytes around their (unchanged) audio payload; where the payload
itself changed since, the Serato tag values are put back instead. Whole files (the XML) are
rewritten from their saved copy, or removed when djstruct created them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from djstruct import config as paths
from djstruct.errors import ConfigError, DjstructError, WritebackError
from djstruct.library.serato.tags import SeratoBackup
from djstruct.library.serato.write import restore
from djstruct.lock import RunLock
from djstruct.safe_write import atomic_write_bytes, file_sha256
from djstruct.store import Store
from djstruct.writeback import frame_backup
from djstruct.writeback.journal import Journal, RunInfo
from djstruct.writeback.undo_library import LIBRARY_KINDS, undo_library_entries


@dataclass(frozen=True)
class UndoResult:
    run_id: int
    restored: list[str]
    refused: list[tuple[str, str]]


def undo_run(journal: Journal, run_id: int | None = None, *, force: bool = False) -> UndoResult:
    """Restore every file a run wrote (newest first). A file changed since djstruct wrote it is
    refused unless ``force``."""
    run = journal.run(run_id) if run_id is not None else journal.latest_undoable()
    if run is None:
        raise WritebackError(None, "nothing to undo" if run_id is None else f"no writeback run {run_id}")
    if run.status == "undone":
        raise WritebackError(None, f"run {run.run_id} was already undone")
    restored: list[str] = []
    refused: list[tuple[str, str]] = []
    entries = journal.entries(run.run_id)
    handled: set[int] = set()
    for e in reversed(entries):
        if e.state == "undone" or e.id in handled:
            continue
        path = Path(e.path)
        if e.kind == "cues":
            journal.mark(e.id, "undone")
            continue
        if e.kind in LIBRARY_KINDS:  # undone element by element / row by row: the DJ's later edits stay
            handled |= undo_library_entries(journal, e, entries, force, restored, refused)
            continue
        if e.state == "written" and not force and path.exists() and file_sha256(path) != e.after_sha256:
            refused.append((e.path, f"{e.path}: changed since djstruct wrote it; not restored (use --force)"))
            continue
        try:
            if e.kind == "serato":
                if not frame_backup.restore(path, e.backup["frame"]):
                    restore(SeratoBackup.from_dict(e.backup["serato"]))
            elif e.kind == "file":
                _restore_file(path, e.backup)
            journal.store.refresh_retagged(path)  # the old tags are back, the audio never changed
            journal.mark(e.id, "undone")
            restored.append(e.path)
        except DjstructError as err:
            refused.append((e.path, str(err)))
    if not refused:
        journal.set_run_status(run.run_id, "undone")
    return UndoResult(run.run_id, restored, refused)


def _restore_file(path: Path, backup: dict[str, Any]) -> None:
    if not backup.get("existed"):
        path.unlink(missing_ok=True)
        return
    atomic_write_bytes(path, base64.b64decode(backup["content"]))


def _open(store_path: Path | None) -> tuple[Path, RunLock]:
    path = store_path or paths.store_path()
    if not path.exists():
        raise ConfigError(path, "no analysis store (nothing was ever written)")
    return path, RunLock.for_store(path)


def undo(store_path: Path | None = None, run_id: int | None = None, *, force: bool = False) -> UndoResult:
    """Undo writeback run ``run_id`` (default: the latest undoable one) of the store at ``store_path``,
    holding the store's run lock."""
    path, lock = _open(store_path)
    with lock, Store.open(path) as store:
        return undo_run(Journal(store), run_id, force=force)


def list_runs(store_path: Path | None = None) -> list[RunInfo]:
    """Every writeback run the store's journal knows, oldest first."""
    path, lock = _open(store_path)
    with lock, Store.open(path) as store:
        return Journal(store).runs()
