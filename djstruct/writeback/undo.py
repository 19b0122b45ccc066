"""``djstruct undo``: restore every file a writeback run changed, from the journal, byte for byte.

A file changed since djstruct wrote it (the DJ edited it since) is refused unless forced; after a
crash (a ``pending`` entry) "since djstruct wrote it" means: neither as it was before the write nor
as the write left it (recorded before the rename, or replayed on a copy). A file already as it was
is left alone (nothing is written, so a full disk does not matter). Serato files are rebuilt from
the saved bytes around their (unchanged) audio payload; where the payload itself changed since,
the Serato tag values are put back instead. Whole files (the XML) are rewritten from their saved
copy, or removed when djstruct created them. A file that is gone, or whose backup in the journal
is damaged, is reported and the others are still restored; the run stays open until every file
is back. djstruct's own temporary files left next to a file by a killed run are removed.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from djstruct import config as paths
from djstruct.errors import ConfigError, DjstructError, WritebackError
from djstruct.library.serato.tags import SeratoBackup
from djstruct.library.serato.write import restore, write_hot_cues
from djstruct.lock import RunLock
from djstruct.safe_write import atomic_write_bytes, file_sha256, remove_stale_temps
from djstruct.store import Store
from djstruct.types import Cue
from djstruct.writeback import frame_backup
from djstruct.writeback.journal import Journal, JournalEntry, RunInfo
from djstruct.writeback.undo_library import LIBRARY_KINDS, undo_library_entries

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UndoResult:
    run_id: int
    restored: list[str]
    refused: list[tuple[str, str]]


def undo_run(journal: Journal, run_id: int | None = None, *, force: bool = False) -> UndoResult:
    """Restore every file a run wrote (newest first). A file changed since djstruct wrote it is
    refused unless ``force``; a missing file or a damaged backup is refused even then."""
    run = journal.run(run_id) if run_id is not None else journal.latest_undoable()
    if run is None:
        raise WritebackError(None, "nothing to undo" if run_id is None else f"no writeback run {run_id}")
    if run.status == "undone":
        raise WritebackError(None, f"run {run.run_id} was already undone")
    entries = journal.entries(run.run_id)
    n_written = run.summary.get("written")
    if not entries and isinstance(n_written, int) and n_written > 0:
        raise WritebackError(None, f"run {run.run_id} wrote {n_written} file(s) but the journal holds no backup of "
                                   "them (its rows were deleted or the store is damaged): nothing restored, the run "
                                   "stays open")
    restored: list[str] = []
    refused: list[tuple[str, str]] = []
    handled: set[int] = set()
    for e in reversed(entries):
        if e.state == "undone" or e.id in handled:
            continue
        path = Path(e.path)
        if e.kind == "cues":
            journal.mark(e.id, "undone")
            continue
        if e.kind in LIBRARY_KINDS:  # undone element by element / row by row: the DJ's later edits stay
            if e.problem:
                refused.append((e.path, f"{e.path}: {e.problem}; not restored"))
                continue
            try:
                handled |= undo_library_entries(journal, e, entries, force, restored, refused)
            except (KeyError, TypeError, ValueError) as err:  # a damaged backup of a library change
                refused.append((e.path, f"{e.path}: its backup in the journal is damaged ({type(err).__name__}); "
                                        "not restored"))
                handled.add(e.id)
            continue
        try:
            why, unchanged = _check(e, path, force)
            if why:
                refused.append((e.path, f"{e.path}: {why}; not restored"))
                continue
            remove_stale_temps(path)
            if not unchanged:
                _restore(e, path)
            journal.store.refresh_retagged(path)  # the old tags are back, the audio never changed
            journal.mark(e.id, "undone")
            restored.append(e.path)
        except DjstructError as err:
            refused.append((e.path, str(err)))
        except OSError as err:
            refused.append((e.path, f"{e.path}: {err.strerror or err}; not restored"))
        except (ValueError, KeyError, TypeError) as err:  # a backup that passed the checks but does not decode
            refused.append((e.path, f"{e.path}: its backup in the journal is damaged ({type(err).__name__}); "
                                    "not restored"))
    if not refused:
        journal.set_run_status(run.run_id, "undone")
    return UndoResult(run.run_id, restored, refused)


def _restore(e: JournalEntry, path: Path) -> None:
    if e.kind == "serato":
        frame = e.backup.get("frame")
        if not (isinstance(frame, dict) and frame_backup.restore(path, frame)):
            restore(SeratoBackup.from_dict(e.backup["serato"]))
    elif e.kind == "file":
        _restore_file(path, e.backup)


def _sha_or_none(path: Path) -> str | None:
    return file_sha256(path) if path.is_file() else None


def _original_sha(e: JournalEntry) -> str | None:
    """sha256 of the file before the run wrote it (None: there was no file)."""
    if e.kind == "file":
        if not e.backup.get("existed"):
            return None
        return hashlib.sha256(base64.b64decode(e.backup["content"])).hexdigest()
    frame = e.backup.get("frame")
    return frame.get("sha256") if isinstance(frame, dict) else ""


def _check(e: JournalEntry, path: Path, force: bool) -> tuple[str, bool]:
    """``(why not restored, already as it was)`` for one entry; ``why`` is "" to go ahead."""
    if e.problem:
        return e.problem, False
    if e.kind != "file" and not path.is_file():
        return "file not found (moved or deleted since the writeback)", False
    current, original = _sha_or_none(path), _original_sha(e)
    if current == original:
        return "", True
    if force:
        return "", False
    if e.state == "written" and current != e.after_sha256:
        return "changed since djstruct wrote it (use --force)", False
    if e.state == "pending":
        expected = e.after_sha256 or (_replayed_sha(e, path) if e.kind == "serato" else None)
        if expected is None:
            return ("the writeback was interrupted here and djstruct cannot tell whether the file changed since "
                    "(use --force)"), False
        if current != expected:
            return ("changed since djstruct wrote it: the writeback was interrupted, and the file is neither as it "
                    "was nor as djstruct left it (use --force)"), False
    return "", False


def _replayed_sha(e: JournalEntry, path: Path) -> str | None:
    """sha256 of what the interrupted write would have made of the original file: the original is
    rebuilt on a copy and the journaled cues written into it again (None when that fails)."""
    planned = e.backup.get("planned")
    frame = e.backup.get("frame")
    if not isinstance(planned, list) or not isinstance(frame, dict):
        return None
    try:
        with tempfile.TemporaryDirectory(prefix="djstruct-undo-") as folder:
            copy = Path(folder) / ("replay" + path.suffix)
            shutil.copyfile(path, copy)
            if not frame_backup.restore(copy, frame):
                return None
            write_hot_cues(copy, [Cue.from_dict(c) for c in planned])
            return file_sha256(copy)
    except (DjstructError, OSError, ValueError, KeyError, TypeError) as err:
        log.debug("%s: cannot replay the interrupted write: %s", path, err)
        return None


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
    """Every writeback run the store's journal knows, oldest first (reads only: no lock, and the
    store is opened read-only, so this works on a read-only or full disk)."""
    path, _ = _open(store_path)
    with Store.open(path, readonly=True) as store:
        return Journal(store).runs()
