"""Which grid cues snap to, and whether the library's own grid agrees with djstruct's tempo.

A DJ's grid (Serato BeatGrid, Rekordbox TEMPO) is what cues must land on, so it is the snap target
-- but only when it tells the same tempo as djstruct, up to octaves (x2, x1/2). A grid at 106.6 BPM
on a track djstruct hears at 160 BPM (2:3) has bars that fall anywhere in the music: sections
snapped onto them come out 3-5 bars long. Such a track gets no cues unless the DJ chooses a grid
(``grid="library"``: snap onto it anyway; ``"own"``: djstruct's downbeats).

Pure numpy; times in djstruct's timeline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from djstruct.errors import ConfigError
from djstruct.types import Analysis, LibraryGrid

GRID_CHOICES = ("auto", "library", "own")
TEMPO_TOLERANCE = 0.02  # relative: 128.0 vs 127.0 BPM agree, 128 vs 124 do not
_OCTAVES = {1.0: "same tempo", 2.0: "double time", 0.5: "half time"}


@dataclass(frozen=True)
class GridCheck:
    """The library grid's tempo (``library_bpm``) against djstruct's (``own_bpm``); ``agrees`` when
    they are the same up to an octave (``relation``: "same tempo", "double time", "half time")."""

    library_bpm: float
    own_bpm: float
    agrees: bool
    relation: str = ""

    def message(self) -> str:
        if self.agrees:
            return (f"library grid {self.library_bpm:.1f} BPM agrees with djstruct's {self.own_bpm:.1f} BPM "
                    f"({self.relation})")
        return (f"the library's beat grid ({self.library_bpm:.1f} BPM) disagrees with djstruct's tempo "
                f"({self.own_bpm:.1f} BPM, ratio {self.library_bpm / self.own_bpm:.3f}, not an octave)")

    def to_dict(self) -> dict[str, object]:
        return {"library_bpm": round(self.library_bpm, 3), "own_bpm": round(self.own_bpm, 3), "agrees": self.agrees,
                "relation": self.relation}


def grid_bpm(grid: LibraryGrid, duration_s: float) -> float:
    """The grid's tempo: from its median beat interval (several markers), else its first marker."""
    beats, _ = grid.beats(max(duration_s, 1.0))
    if len(beats) > 2:
        return 60.0 / float(np.median(np.diff(beats)))
    return float(grid.bpm)


def own_bpm(analysis: Analysis) -> float | None:
    if analysis.bpm:
        return float(analysis.bpm)
    down = np.asarray(analysis.downbeats, dtype=np.float64)
    return 240.0 / float(np.median(np.diff(down))) if len(down) > 2 else None


def check_grid(analysis: Analysis, grid: LibraryGrid | None, tol: float = TEMPO_TOLERANCE) -> GridCheck | None:
    """How the library grid relates to the analysis; None when there is no library grid (or no
    tempo to compare with)."""
    if grid is None or not grid.markers:
        return None
    mine = own_bpm(analysis)
    if not mine:
        return None
    lib = grid_bpm(grid, analysis.duration_s)
    ratio = lib / mine
    for octave, relation in _OCTAVES.items():
        if abs(ratio / octave - 1.0) <= tol:
            return GridCheck(lib, mine, True, relation)
    return GridCheck(lib, mine, False)


def check_choice(grid: str) -> str:
    if grid not in GRID_CHOICES:
        raise ConfigError(None, f"unknown grid choice {grid!r}; choose one of {', '.join(GRID_CHOICES)}")
    return grid


def snap_grid(analysis: Analysis, library_grid: LibraryGrid | None, grid: str = "auto") -> tuple[np.ndarray, str]:
    """Downbeats (s, djstruct timeline) cues are snapped to and their source ("library" or
    "analysis"): the library's grid when it has one, unless ``grid == "own"``. Whether the library
    grid may be used at all is :func:`check_grid`'s business (see :func:`djstruct.cues.plan.plan_cues`)."""
    if grid != "own" and library_grid is not None and library_grid.markers:
        down = library_grid.downbeats(analysis.duration_s)
        down = down[down >= -1e-6]
        if len(down):
            return down, "library"
    return np.asarray(analysis.downbeats, dtype=np.float64), "analysis"
