"""What the report shows for one track: its library-table row and the JSON its page is drawn from.

Cues are planned exactly as ``djstruct writeback`` plans them (same layout, the ``fill`` policy,
the target writeback would use for the library, existing cues moved into djstruct's timeline), so
the page shows what a writeback would add next to what the library already has.

Pure apart from :func:`cue_diff` (reads a file header for the timing offset).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from djstruct import timing
from djstruct.audio.fingerprint import audio_hash, quick_stat
from djstruct.cues.diff import CueDiff
from djstruct.cues.plan import Layout, snap_grid
from djstruct.errors import DjstructError
from djstruct.report.palette import section_color
from djstruct.store import FileRow
from djstruct.types import Analysis, Cue, Energy, Track
from djstruct.writeback import plan
from djstruct.writeback.plan import target_app

SLOT_LETTERS = "ABCDEFGH"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class TrackEntry:
    """One track of the report: its ``row`` for the library table and, when it has an analysis, the
    ``page`` JSON (without the waveform, added once decoded)."""

    track: Track
    page_id: str
    row: dict[str, Any]
    page: dict[str, Any] | None
    energy: Energy | None = None


def page_id(track_id: str, used: set[str]) -> str:
    """A file-name-safe, unique (within ``used``, which is updated) page name for a track id."""
    base = _UNSAFE.sub("_", track_id).strip("_")[:80] or "track"
    name, k = base, 2
    while name in used:
        name, k = f"{base}-{k}", k + 1
    used.add(name)
    return name


def cue_diff(track: Track, analysis: Analysis, layout: Layout, target: str,
             owned: list[Cue] | tuple[Cue, ...] = (), grid: str = "auto") -> tuple[CueDiff, float]:
    """The writeback diff under the ``fill`` policy (:func:`djstruct.writeback.plan.cue_diff`, against
    the cues the library reader saw) and the target app's timing offset (s), shown on the page."""
    offset = timing.offset_s(track.path, target_app(target)) if track.path.is_file() else 0.0
    return plan.cue_diff(track, analysis, track.cues, layout, target, owned=owned, grid=grid), offset


def cue_marks(diff: CueDiff) -> list[dict[str, Any]]:
    """Every cue of the diff for the page, by time: ``origin`` "existing" (kept library cues; ``who``
    "user" or "djstruct") or "planned" (``action`` "add"/"replace", or "skip" with the ``reason``)."""
    out = []
    for ch in diff.changes:
        c = ch.cue
        existing = ch.action in ("keep", "remove")
        letter = SLOT_LETTERS[c.slot] if c.kind == "hot" and c.slot is not None and 0 <= c.slot < 8 else ""
        out.append({
            "t": round(c.start_s, 3), "end": None if c.end_s is None else round(c.end_s, 3), "kind": c.kind,
            "slot": c.slot, "letter": letter or ("L" if c.is_loop else "M" if c.kind == "memory" else "?"),
            "name": c.name, "color": c.color, "origin": "existing" if existing else "planned",
            "action": ch.action, "bar": ch.bar,
            "who": ("djstruct" if ch.reason == "djstruct cue" else "user") if existing else "djstruct",
            "reason": ch.reason,
        })
    return sorted(out, key=lambda m: (m["t"], m["origin"] != "existing"))


def _grid_lines(analysis: Analysis, track: Track, grid: str = "auto") -> tuple[list[float], list[float], str]:
    """(beats, downbeats, source) of the grid cues snap to: the library's when it has one."""
    down, source = snap_grid(analysis, track.grid, grid)
    if source == "library" and track.grid is not None:
        beats = track.grid.beats(analysis.duration_s)[0]
        beats = beats[(beats >= -1e-6) & (beats <= analysis.duration_s)]
    else:
        beats = np.asarray(analysis.beats, dtype=np.float64)
    down = down[down <= analysis.duration_s]
    return np.round(beats, 3).tolist(), np.round(down, 3).tolist(), source


def _bars_of_existing(cues: list[dict[str, Any]], downbeats: list[float]) -> None:
    """Fill in the bar (1-based) of existing cues that sit within a quarter bar of a downbeat."""
    down = np.asarray(downbeats, dtype=np.float64)
    if len(down) < 2:
        return
    bar_s = float(np.median(np.diff(down)))
    for c in cues:
        if c["bar"] is None:
            i = int(np.argmin(np.abs(down - c["t"])))
            if abs(down[i] - c["t"]) <= bar_s / 4:
                c["bar"] = i + 1


def section_marks(analysis: Analysis, layout: Layout, downbeats: list[float]) -> list[dict[str, Any]]:
    """Sections with their cue-style names ("Drop 2"), colours and bar numbers (1-based)."""
    down = np.asarray(downbeats, dtype=np.float64)
    counts: dict[str, int] = {}
    out = []
    for s in analysis.sections:
        counts[s.label] = counts.get(s.label, 0) + 1
        bar = int(np.argmin(np.abs(down - s.start_s))) + 1 if len(down) else None
        out.append({"start": round(s.start_s, 3), "end": round(s.end_s, 3), "label": s.label,
                    "name": layout.section_name(s.label, counts[s.label]), "color": section_color(s.label),
                    "bar": bar})
    return out


def status_of(track: Track, analysis: Analysis | None, row: FileRow | None) -> tuple[str, str]:
    """(status, detail): ``failed`` (the store holds an error), ``missing`` (no file), ``pending`` (not
    analysed yet), ``stale`` (file changed since) or ``ok``."""
    if row is not None and row.error:
        return "failed", row.error
    if not track.path.is_file():
        return "missing", f"{track.path}: file not found (moved or deleted?)"
    if analysis is None:
        return "pending", "not analysed yet (run djstruct scan)"
    if row is not None and row.size is not None:
        try:  # new tags over the same audio (a writeback, an undo, the DJ app) are not a change
            if quick_stat(track.path) != (row.size, row.mtime_ns) and audio_hash(track.path) != row.audio_hash:
                return "stale", ("the audio changed since it was analysed: run djstruct scan to analyse it again "
                                 "(writeback skips it until then)")
        except DjstructError:
            pass
    return "ok", ""


def review_key(status: str, confidence: float | None) -> float:
    """Sort key of the "review first" order: failures, then lowest confidence first, unanalysed last."""
    if status == "failed":
        return -1.0
    if confidence is None:
        return 2.0
    return float(confidence)


def build_entry(track: Track, analysis: Analysis | None, row: FileRow | None, layout: Layout, target: str,
                owned: list[Cue], pid: str, grid: str = "auto") -> TrackEntry:
    """The row and page data of one track (no waveform yet)."""
    status, detail = status_of(track, analysis, row)
    title = track.title or track.path.stem
    page: dict[str, Any] | None = None
    planned = existing = skipped = 0
    warning = ""
    if analysis is not None:
        diff, offset = cue_diff(track, analysis, layout, target, owned, grid)
        warning = diff.warning
        cues = cue_marks(diff)
        existing = sum(1 for c in cues if c["origin"] == "existing")
        planned = sum(1 for c in cues if c["origin"] == "planned" and c["action"] != "skip")
        skipped = sum(1 for c in cues if c["action"] == "skip")
        beats, downbeats, grid_source = _grid_lines(analysis, track, grid)
        _bars_of_existing(cues, downbeats)
        page = {
            "id": track.id, "page_id": pid, "title": title, "artist": track.artist, "file": track.path.name,
            "path": str(track.path), "exists": track.path.is_file(),
            "audio_url": track.path.resolve().as_uri() if track.path.is_file() else None,
            "library": str(track.extras.get("library", "")), "status": status, "status_detail": detail,
            "duration_s": round(analysis.duration_s, 3),
            "bpm": None if analysis.bpm is None else round(analysis.bpm, 2),
            "detector": analysis.detector, "confidence": round(analysis.confidence, 3),
            "layout": layout.name, "target": target, "offset_s": round(offset, 4), "grid_source": grid_source,
            "sections": section_marks(analysis, layout, downbeats), "drops": [round(d, 3) for d in analysis.drops],
            "changes": [round(c, 3) for c in analysis.changes],
            "beats": beats, "downbeats": downbeats, "cues": cues, "wave": None, "energy": None,
            "grid_warning": warning,
        }
    confidence = None if analysis is None else round(analysis.confidence, 3)
    row_d = {
        "id": track.id, "page": f"tracks/{pid}.html" if page is not None else None, "title": title,
        "artist": track.artist, "file": track.path.name, "path": str(track.path),
        "library": str(track.extras.get("library", "")),
        "bpm": None if analysis is None or analysis.bpm is None else round(analysis.bpm, 2),
        "duration_s": None if analysis is None else round(analysis.duration_s, 1),
        "sections": 0 if analysis is None else len(analysis.sections),
        "drops": 0 if analysis is None else len(analysis.drops),
        "cues_existing": existing if analysis is not None else len(track.cues),
        "cues_planned": planned, "cues_skipped": skipped,
        "detector": "" if analysis is None else analysis.detector, "confidence": confidence,
        "status": status, "error": detail if status in ("failed", "missing") else "",
        "note": "; ".join(x for x in (detail, warning) if x) if status not in ("failed", "missing") else "",
        "grid_warning": warning,
        "review": review_key(status, confidence),
    }
    return TrackEntry(track, pid, row_d, page, None if analysis is None else analysis.energy)
