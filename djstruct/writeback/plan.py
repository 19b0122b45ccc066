"""Plan one track: its analysis and the library's own cues -> the cue diff a writeback applies.

:func:`cue_diff` is the pure core (the report calls it too, so its pages show exactly what a
writeback would do); :func:`plan_track` adds the checks against the store and the file (not found,
not analysed, audio changed since the scan) and, for Serato, reads the file's tags once (the same
read the writer then reuses). Every time here is in djstruct's timeline (see :mod:`djstruct.timing`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from djstruct import timing
from djstruct.audio.fingerprint import fingerprint
from djstruct.cues.diff import CueDiff, diff_cues
from djstruct.cues.plan import Layout, plan_cues
from djstruct.errors import ConfigError, DjstructError
from djstruct.library.rekordbox.db_rows import stored_color as db_stored_color
from djstruct.library.serato.write import read_state
from djstruct.store import Store
from djstruct.types import Analysis, Cue, Track

TARGETS = ("serato", "rekordbox-xml", "rekordbox-db", "traktor-nml")
_DEFAULT_TARGET = {"folder": "serato", "rekordbox-xml": "rekordbox-xml", "rekordbox-db": "rekordbox-xml",
                   "traktor-nml": "traktor-nml"}


def default_target(source_kind: str) -> str:
    """The target writeback picks for a library of this kind (Rekordbox libraries get an XML)."""
    return _DEFAULT_TARGET.get(source_kind, "rekordbox-xml")


def target_app(target: str) -> str:
    """The DJ application whose timeline a target's cues are on."""
    return {"serato": "serato", "traktor-nml": "traktor"}.get(target, "rekordbox")


def check_target(target: str, direct: bool) -> str:
    if target not in TARGETS:
        raise ConfigError(None, f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    if target == "rekordbox-db" and not direct:
        raise ConfigError(None, "writing master.db directly needs --direct (the safe route is --target rekordbox-xml)")
    return target


@dataclass(frozen=True)
class TrackPlan:
    """One track: its diff, or why it is skipped / failed. ``state`` is what the target's writer
    read while planning (Serato: the file's tags), reused by the write."""

    track: Track
    diff: CueDiff | None = None
    error: str | None = None
    skipped: str | None = None
    state: Any = field(default=None, compare=False, repr=False)
    bpm: float | None = None  # djstruct's tempo of the track
    sections: int = 0  # sections djstruct found

    @property
    def warning(self) -> str:
        """The plan's one line for the DJ (a library grid that disagrees), or empty."""
        return self.diff.warning if self.diff is not None else ""

    def to_dict(self, target: str) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.track.id, "path": str(self.track.path), "target": target,
                             "error": self.error, "skipped": self.skipped, "bpm": self.bpm, "sections": self.sections,
                             "warning": self.warning or None}
        if self.diff is not None:
            d["changes"] = [ch.to_dict() for ch in self.diff.changes]
        return d


def cue_diff(track: Track, analysis: Analysis, existing: Sequence[Cue], layout: Layout, target: str, *,
             policy: str = "fill", owned: Sequence[Cue] = (), grid: str = "auto") -> CueDiff:
    """The changes that add ``layout``'s cues for ``analysis`` to ``existing`` (pure). ``grid``:
    see :func:`djstruct.cues.plan.plan_cues` (by default a library grid that disagrees with
    djstruct's tempo gets no cues, and the diff's ``warning`` says why)."""
    plan = plan_cues(analysis, layout, track.grid, grid)
    if target in ("traktor-nml", "rekordbox-db"):  # plan the colours the target keeps, so a re-run changes nothing
        plan = replace(plan, cues=tuple(replace(p, cue=replace(p.cue, color=stored_color(target, p.cue)))
                                        for p in plan.cues))
    bpm = (track.grid.bpm if track.grid and plan.grid_source == "library" else None) or analysis.bpm or 120.0
    return diff_cues(existing, plan, policy=policy, owned=owned, beat_s=60.0 / bpm,
                     memory_supported=target != "serato")


def stored_color(target: str, cue: Cue) -> str | None:
    """The colour ``cue`` keeps in ``target``: Traktor stores none, master.db its palette's."""
    return db_stored_color(cue) if target == "rekordbox-db" else None if target == "traktor-nml" else cue.color


def plan_track(track: Track, store: Store, owned: Sequence[Cue], layout: Layout, target: str,
               policy: str, grid: str = "auto") -> TrackPlan:
    """Plan and diff one track: reads the store and, for Serato, the file's current tags."""
    path = track.path
    if not path.is_file():
        return TrackPlan(track, error=f"{path}: file not found (moved or deleted?)")
    analysis = store.get_analysis(path)
    row = store.get_row(path)
    if analysis is None or row is None:
        return TrackPlan(track, skipped="not analysed yet (run djstruct scan)")
    try:
        fp = fingerprint(path)
    except DjstructError as e:
        return TrackPlan(track, error=str(e))
    if row.audio_hash and fp.audio_hash and fp.audio_hash != row.audio_hash:
        return TrackPlan(track, error=f"{path}: the audio changed since the scan (stale analysis); run djstruct "
                                      "scan again first, then writeback")
    existing: tuple[Cue, ...] = track.cues
    state = None
    if target == "serato":
        try:
            state = read_state(path)  # what is in the file now, not what the scan saw
        except DjstructError as e:
            return TrackPlan(track, error=f"{path}: cannot read Serato tags, not writing: {e.reason}")
        off = timing.offset_s(path, "serato")
        existing = tuple(timing.cue_from_app(c, off) for c in state.tags.cues)
    diff = cue_diff(track, analysis, existing, layout, target, policy=policy, owned=owned, grid=grid)
    return TrackPlan(track, diff, state=state, bpm=analysis.bpm, sections=len(analysis.sections))
