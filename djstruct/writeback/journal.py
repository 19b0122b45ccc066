"""The writeback journal: every write run, and for every file it touches the bytes needed to put
it back, recorded *before* the file changes.

Protocol: ``record`` (state ``pending``, committed) -> write the file -> ``mark_written`` (with
the sha256 of the result). A crash between the two leaves a ``pending`` entry whose backup is
still valid, so ``djstruct undo`` can restore everything written so far. Undo refuses a file
that changed since djstruct wrote it (the DJ edited it since), unless forced; for a pending entry
it compares with both the state before the write and the state the write was to leave (recorded
with :meth:`Journal.plan_after` where the writer knows it before the rename, or replayed).

Rows that cannot be read (a damaged or emptied backup) never stop a command: the entry carries
its ``problem`` and undo reports that file instead of restoring it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from djstruct.jsonout import dumps
from djstruct.store import Store
from djstruct.types import Cue


@dataclass(frozen=True)
class RunInfo:
    run_id: int
    started_at: float
    finished_at: float | None
    target: str
    policy: str
    layout: str
    source: str
    status: str  # running | done | failed | undone
    summary: dict[str, Any]


@dataclass(frozen=True)
class JournalEntry:
    id: int
    run_id: int
    path: str
    track_id: str | None
    kind: str  # "serato" (tag backup) or "file" (whole-file backup)
    backup: dict[str, Any]
    written: tuple[Cue, ...]
    after_sha256: str | None  # written: the file djstruct left; pending: the one it was about to leave
    state: str  # pending | written | undone
    problem: str = ""  # why the backup cannot be used ("" when it can)


class Journal:
    """Journal tables in the analysis store (schema v2)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def start_run(self, target: str, policy: str, layout: str, source: str) -> int:
        with self.store.transaction() as conn:
            cur = conn.execute("INSERT INTO runs (started_at, target, policy, layout, source, status) "
                               "VALUES (?, ?, ?, ?, ?, 'running')", (time.time(), target, policy, layout, source))
            return int(cur.lastrowid)

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None:
        with self.store.transaction() as conn:
            conn.execute("UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE run_id = ?",
                         (time.time(), status, dumps(summary), run_id))

    def record(self, run_id: int, path: str, track_id: str | None, kind: str, backup: dict[str, Any],
               written: tuple[Cue, ...]) -> int:
        with self.store.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO journal (run_id, path, track_id, kind, backup, written, state, at) "
                "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
                (run_id, path, track_id, kind, dumps(backup), dumps([c.to_dict() for c in written]),
                 time.time()))
            return int(cur.lastrowid)

    def mark_written(self, entry_id: int, after_sha256: str) -> None:
        with self.store.transaction() as conn:
            conn.execute("UPDATE journal SET state = 'written', after_sha256 = ? WHERE id = ?",
                         (after_sha256, entry_id))

    def plan_after(self, entry_id: int, after_sha256: str) -> None:
        """Record the sha256 of the file a pending write is about to leave (before its rename), so
        that undo after a crash can tell djstruct's result from a later edit."""
        with self.store.transaction() as conn:
            conn.execute("UPDATE journal SET after_sha256 = ? WHERE id = ? AND state = 'pending'",
                         (after_sha256, entry_id))

    def mark(self, entry_id: int, state: str) -> None:
        with self.store.transaction() as conn:
            conn.execute("UPDATE journal SET state = ? WHERE id = ?", (state, entry_id))

    def set_run_status(self, run_id: int, status: str) -> None:
        with self.store.transaction() as conn:
            conn.execute("UPDATE runs SET status = ? WHERE run_id = ?", (status, run_id))

    def runs(self) -> list[RunInfo]:
        rows = self.store.query("SELECT run_id, started_at, finished_at, target, policy, layout, source, status, "
                                 "summary FROM runs ORDER BY run_id")
        return [RunInfo(*r[:8], _object(r[8])) for r in rows]

    def run(self, run_id: int) -> RunInfo | None:
        return next((r for r in self.runs() if r.run_id == run_id), None)

    def latest_undoable(self) -> RunInfo | None:
        """The most recent run that wrote something (it has journal entries, or says it wrote files
        whose entries are gone: undo then says so rather than undoing an older run) and has not been
        undone."""
        for r in reversed(self.runs()):
            if r.status != "undone" and (self.entries(r.run_id) or _count(r.summary.get("written"))):
                return r
        return None

    def entries(self, run_id: int) -> list[JournalEntry]:
        rows = self.store.query("SELECT id, run_id, path, track_id, kind, backup, written, after_sha256, state "
                                 "FROM journal WHERE run_id = ? ORDER BY id", (run_id,))
        return [_entry(r) for r in rows]

    def owned(self, path: str) -> list[Cue]:
        """The cues djstruct wrote into ``path`` (djstruct timeline) in runs not undone."""
        rows = self.store.query("SELECT written FROM journal WHERE path = ? AND state = 'written'", (path,))
        return [c for (w,) in rows for c in _cues(w)[0]]


def _count(x: Any) -> int:
    return x if isinstance(x, int) and not isinstance(x, bool) else 0


def _object(text: Any) -> dict[str, Any]:
    """A JSON object from the store, {} when absent or unreadable."""
    try:
        value = json.loads(text) if text else {}
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _cues(text: Any) -> tuple[tuple[Cue, ...], str]:
    try:
        return tuple(Cue.from_dict(d) for d in json.loads(text)), ""
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        return (), f"its list of written cues is unreadable ({type(e).__name__})"


def backup_problem(kind: str, backup: Any) -> str:
    """Why ``backup`` cannot restore an entry of ``kind`` ("" when it can)."""
    if not isinstance(backup, dict):
        return "its backup in the journal is unreadable (damaged or emptied)"
    if kind == "serato":
        frame, tags = backup.get("frame"), backup.get("serato")
        if not (isinstance(frame, dict) and isinstance(frame.get("sha256"), str)) and not isinstance(tags, dict):
            return "its backup in the journal is incomplete (damaged or emptied)"
    elif kind == "file":
        existed = backup.get("existed")
        if not isinstance(existed, bool) or (existed and not isinstance(backup.get("content"), str)):
            return "its backup in the journal is incomplete (damaged or emptied)"
    return ""


def _entry(r: tuple[Any, ...]) -> JournalEntry:
    try:
        backup: Any = json.loads(r[5]) if r[5] else None
    except (TypeError, ValueError):
        backup = None
    written, cue_problem = _cues(r[6])
    problem = backup_problem(r[4], backup) if r[4] != "cues" else cue_problem
    return JournalEntry(int(r[0]), int(r[1]), r[2], r[3], r[4], backup if isinstance(backup, dict) else {},
                        written, r[7], r[8], problem)
