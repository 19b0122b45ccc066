"""Heuristic filters over harvested cues, and the track tiers used to weight training.

Cue flags: ``off_grid`` (more than ``tolerance_s`` from any beat of the library grid),
``off_downbeat`` (on the beat next to a downbeat), ``far_from_downbeat`` (mid-bar), ``duplicate`` (within
one beat of an earlier cue), ``load_cue`` (at the very start, before the music: the cue every
player sets on load), ``loop``. Track flags: ``too_few_cues`` (fewer than ``min_cues`` clean
cues), ``grid_disagrees`` (the library grid's tempo or phase does not match the audio analysis).

Tiers: T1 verified (the DJ marked the track as reviewed: a crate / playlist whose name contains
"verified" or "reviewed", or the review file written by ``djstruct labels review``), T2 clean after
filtering, T3 noisy. Training weights: T1 1.0, T2 0.7, T3 0.3.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from djstruct import config
from djstruct.errors import ConfigError
from djstruct.safe_write import atomic_write_text
from djstruct.train.harvest import HarvestedTrack
from djstruct.types import Analysis, Cue

TIER_WEIGHTS = {1: 1.0, 2: 0.7, 3: 0.3}


@dataclass(frozen=True)
class CueCheck:
    cue: Cue
    label: str | None
    flags: tuple[str, ...]
    nearest_beat_s: float
    nearest_downbeat_s: float

    @property
    def clean(self) -> bool:
        return not self.flags


@dataclass(frozen=True)
class TrackCheck:
    item: HarvestedTrack
    cues: tuple[CueCheck, ...]
    flags: tuple[str, ...]
    tier: int

    @property
    def weight(self) -> float:
        return TIER_WEIGHTS[self.tier]

    @property
    def clean_cues(self) -> list[CueCheck]:
        return [c for c in self.cues if c.clean]


def check_cues(item: HarvestedTrack, tolerance_s: float = 0.05) -> tuple[CueCheck, ...]:
    beats, down = item.beats, item.downbeats
    beat_s = 60.0 / item.bpm if item.bpm > 0 else 0.5
    first_music = float(down[0]) if len(down) else 0.0
    out: list[CueCheck] = []
    kept: list[float] = []
    for cue, label in sorted(zip(item.cues, item.cue_labels, strict=True), key=lambda x: x[0].start_s):
        nb = float(beats[np.argmin(np.abs(beats - cue.start_s))]) if len(beats) else cue.start_s
        nd = float(down[np.argmin(np.abs(down - cue.start_s))]) if len(down) else cue.start_s
        flags = []
        if cue.is_loop:
            flags.append("loop")
        if abs(cue.start_s - nb) > tolerance_s:
            flags.append("off_grid")
        elif abs(cue.start_s - nd) > 1.5 * beat_s:
            flags.append("far_from_downbeat")
        elif abs(cue.start_s - nd) > tolerance_s:
            flags.append("off_downbeat")  # on a beat next to the downbeat: nudged a beat off
        if cue.start_s < 0.5 or cue.start_s < first_music - tolerance_s:
            flags.append("load_cue")
        if any(abs(cue.start_s - k) < beat_s for k in kept):
            flags.append("duplicate")
        kept.append(cue.start_s)
        out.append(CueCheck(cue, label, tuple(flags), nb, nd))
    return tuple(out)


def grid_agrees(item: HarvestedTrack, analysis: Analysis | None, tolerance_s: float = 0.07) -> bool:
    """True when the library grid matches the analysis: tempo within 1 % (or an octave of it) and
    most of the analysed beats within ``tolerance_s`` of a grid beat."""
    if analysis is None or not analysis.bpm or item.bpm <= 0 or len(item.beats) == 0:
        return True  # nothing to compare with
    ratio = item.bpm / analysis.bpm
    if not any(abs(ratio - k) < 0.01 * k for k in (0.5, 1.0, 2.0)):
        return False
    ab = np.asarray(analysis.beats)
    if len(ab) == 0:
        return True
    grid = item.beats
    if len(grid) < 2:
        return True
    idx = np.clip(np.searchsorted(grid, ab), 1, len(grid) - 1)
    d = np.minimum(np.abs(ab - grid[idx - 1]), np.abs(ab - grid[idx]))
    return float(np.mean(d < tolerance_s)) >= 0.8


def tier_track(item: HarvestedTrack, analysis: Analysis | None, verified: set[str] | None = None,
               *, tolerance_s: float = 0.05, min_cues: int = 2) -> TrackCheck:
    cues = check_cues(item, tolerance_s)
    flags = []
    if sum(1 for c in cues if c.clean) < min_cues:
        flags.append("too_few_cues")
    if not grid_agrees(item, analysis):
        flags.append("grid_disagrees")
    if verified and (item.track.id in verified or str(item.track.path) in verified):
        tier = 1
    elif not flags and all(c.clean or c.flags == ("loop",) or "load_cue" in c.flags for c in cues):
        tier = 2
    else:
        tier = 3
    return TrackCheck(item, cues, tuple(flags), tier)


# -- review file (written by `djstruct labels review`) ---------------------------------------------
def load_reviewed(path: Path | None = None) -> set[str]:
    p = path or config.review_file()
    if not p.is_file():
        return set()
    try:
        return set(json.loads(p.read_text(encoding="utf-8")).get("tracks", []))
    except (OSError, ValueError):
        return set()


def save_reviewed(keys: set[str], path: Path | None = None) -> Path:
    p = path or config.review_file()
    p.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(p, json.dumps({"tracks": sorted(keys)}, indent=1), error=ConfigError)
    return p
