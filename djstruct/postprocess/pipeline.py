"""The skeleton both detectors share, from frame curves to an :class:`~djstruct.types.Analysis`
(pure numpy). Each detector brings its own evidence; the steps are the same:

1. :func:`beat_grid`: a beat activation -> tempo (:func:`~.grid.estimate_bpm` over the active
   span) -> a constant-tempo grid (:func:`~.grid.fit_grid`) -> the beats inside the track;
2. the detector picks the bar phase; :func:`bars` ends the grid on a bar line and gives the
   downbeats and bar starts (a pickup before the first downbeat is a bar of its own); the ``ml``
   detector then leaves out the last bars that only ring out the final hit (:func:`ring_out_bars`);
3. :func:`boundaries`: a per-bar boundary score x the 8/16/32-bar phrase prior -> the bars where
   sections start (:func:`~.sections.pick_boundaries`, at least ``min_bars`` apart);
4. the detector labels the sections; :func:`drops_of` puts a drop where a drop section begins;
5. :func:`trivial` is the answer when there is too little to go on (one "intro", confidence 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from djstruct.postprocess import grid as gridmod
from djstruct.postprocess import sections as secmod
from djstruct.types import Analysis, Energy, Section

MIN_BEATS = 8  # fewer beats than this: no grid worth snapping cues to


def trivial(path: str, duration_s: float, energy: Energy | None, detector: str, bpm: float | None = None,
            beats: Sequence[float] = ()) -> Analysis:
    """One "intro" over the whole track, no downbeats, confidence 0."""
    secs = (Section(0.0, duration_s, "intro"),) if duration_s > 0 else ()
    return Analysis(path, duration_s, bpm, tuple(float(b) for b in beats), (), secs, (), energy, detector,
                    confidence=0.0)


@dataclass(frozen=True)
class BeatGrid:
    """A fitted constant-tempo grid: ``beats`` (s) inside the track, ``bpm``, ``fit_quality`` in [0, 1]."""

    beats: np.ndarray
    bpm: float
    fit_quality: float

    @property
    def period_s(self) -> float:
        return 60.0 / self.bpm


def max_around(act: np.ndarray, times_s: np.ndarray, fps: float, radius_frames: int) -> np.ndarray:
    """The largest value of the activation ``act`` (n,) within ``radius_frames`` of each time (s)."""
    idx = np.round(np.asarray(times_s, dtype=np.float64) * fps).astype(np.int64)
    win = np.clip(idx[:, None] + np.arange(-radius_frames, radius_frames + 1)[None, :], 0, len(act) - 1)
    return np.asarray(act, dtype=np.float64)[win].max(axis=1)


def beat_support(beat_act: np.ndarray, fps: float, beats_s: np.ndarray) -> float:
    """Mean of the beat activation (0-1, its largest value within 2 frames) at the grid's beats:
    near 1 where every beat of the grid is heard, near 0 on noise or where the tempo drifts away
    from a constant grid."""
    if len(beats_s) == 0:
        return 0.0
    return float(max_around(beat_act, beats_s, fps, 2).mean())


def crop(x: np.ndarray, fps: float, span: tuple[float, float]) -> np.ndarray:
    """The frames of ``x`` inside ``span`` (s)."""
    return x[int(span[0] * fps): int(span[1] * fps) + 1]


def beat_grid(beat_act: np.ndarray, fps: float, span: tuple[float, float], duration_s: float,
              bpm_range: tuple[float, float], *, phase_act: np.ndarray | None = None,
              lag_s: float = 0.0) -> BeatGrid | None:
    """Tempo and beats from a beat activation (n,) at ``fps``; None when no tempo is found. Beats
    are shifted by ``lag_s`` and kept from just before the active ``span`` to the end of the track."""
    bpm = gridmod.estimate_bpm(crop(beat_act, fps, span), fps, bpm_range)
    if bpm is None:
        return None
    g = gridmod.fit_grid(beat_act, fps, bpm, active=(span[0] - 0.02, span[1]), phase_act=phase_act)
    beats = g.beats + lag_s if lag_s else g.beats
    beats = beats[(beats >= 0) & (beats >= span[0] - 0.3 * 60.0 / g.bpm) & (beats < duration_s)]
    return BeatGrid(beats, g.bpm, g.fit_quality)


@dataclass(frozen=True)
class Bars:
    """The bar structure of a grid: ``beats`` (ending on a bar line), ``downbeats``, bar ``starts``
    (with a pickup bar first when the music starts before the first downbeat) and ``end_s``."""

    beats: np.ndarray
    downbeats: np.ndarray
    starts: np.ndarray
    end_s: float
    bar_s: float

    @property
    def edges(self) -> np.ndarray:
        """Bar starts and the end of the last bar (n_bars + 1,)."""
        return np.append(self.starts, self.downbeats[-1] + self.bar_s)

    @property
    def whole(self) -> bool:
        """At least one whole bar (else there are beats but no downbeats)."""
        return len(self.downbeats) > 0

    def cut(self, n: int) -> Bars:
        """The bars without the last ``n`` (the music ends on the bar line where they start); the
        beats and downbeats stay, a ring-out's downbeat is still a downbeat."""
        if n <= 0:
            return self
        return replace(self, starts=self.starts[:-n], end_s=float(self.starts[-n]))


def bars(beats: np.ndarray, phase: int, period_s: float, music_end_s: float, duration_s: float) -> Bars:
    """Bars of ``beats`` whose downbeats are every 4th beat from index ``phase`` (no downbeats when
    there is less than one whole bar)."""
    beats, end_s = gridmod.end_on_bar_line(beats, phase, period_s, music_end_s, duration_s)
    if len(beats) <= phase + 4:
        empty = np.zeros(0)
        return Bars(beats, empty, empty, end_s, 4.0 * period_s)
    downbeats = beats[phase::4]
    bar_s = 4.0 * period_s
    edges = np.append(downbeats, downbeats[-1] + bar_s)
    if downbeats[0] - beats[0] > 0.5 * period_s:  # a pickup before the first downbeat
        edges = np.insert(edges, 0, beats[0])
    return Bars(beats, downbeats, edges[:-1], end_s, bar_s)


def ring_out_bars(level_db: np.ndarray, beat_act: np.ndarray, fps: float, bars: Bars, beat_s: float, *,
                  max_bars: int = 2, decay_db: float = 15.0, beat_rel: float = 0.3) -> int:
    """How many of the last bars (at most ``max_bars``; never the first) only ring out the final
    hit: the music stopped on the bar line before them (``bars.starts[-n]``). In such a bar the
    level (the loudest frame of each beat, from ``level_db`` (T,) at ``fps``; a beat past the bar's
    end, where the file stops mid-bar, counts as silent) falls from beat to beat (by 1 dB or more,
    unless already 40 dB down), by ``decay_db`` or more from the first beat to the last; its beats
    2-4 are ``decay_db`` / 1.5 or more below those of the bar before (it is not the groove going
    on: an outro of one hit per bar is music); and no beat after its first is heard (``beat_act``
    below ``beat_rel`` x its median at the grid's beats). A fade-out keeps its beats and falls a few
    dB per bar; a sparse groove (kick on 1 and 3) rises again within the bar."""
    edges = np.append(bars.starts, bars.end_s)
    n_bars = len(bars.starts)
    if max_bars <= 0 or n_bars < 2 or len(level_db) == 0 or len(bars.beats) == 0 or len(beat_act) == 0:
        return 0
    def beat_levels(a_s: float, b_s: float) -> list[float]:
        """The loudest level of each of the 4 beats from ``a_s``, up to the bar's end ``b_s``."""
        out = []
        for j in range(4):
            t0, t1 = a_s + j * beat_s, min(a_s + (j + 1) * beat_s, b_s)
            a, b = max(int(t0 * fps), 0), max(int(t1 * fps), 0)
            seg = level_db[a:b] if t1 > t0 else level_db[:0]
            out.append(float(seg.max()) if len(seg) else -np.inf)
        return out

    typical = float(np.median(max_around(beat_act, bars.beats, fps, 2)))
    if typical <= 0:
        return 0
    n = 0
    while n < min(max_bars, n_bars - 1):
        i = n_bars - 1 - n  # the bar looked at; i - 1 >= 0 is the bar before it
        lv, before = beat_levels(edges[i], edges[i + 1]), beat_levels(edges[i - 1], edges[i])
        falls = (all(lv[j + 1] <= lv[j] - 1.0 or lv[j + 1] <= lv[0] - 40.0 for j in range(3))
                 and lv[0] - lv[3] >= decay_db)
        new = float(np.mean(before[1:])) - float(np.mean(lv[1:])) >= decay_db / 1.5
        quiet = max_around(beat_act, edges[i] + beat_s * np.arange(1, 4), fps, 2).max() < beat_rel * typical
        if not (falls and new and quiet):
            break
        n += 1
    return n


def boundaries(bar_score: np.ndarray, *, threshold: float, min_bars: int,
               end_bars: int | None = None) -> tuple[list[int], np.ndarray, np.ndarray]:
    """(bar indices where sections start, the phrase-weighted score, the phrase weights) from a
    per-bar boundary score; the last section is at least ``end_bars`` (default ``min_bars``) long."""
    weight = secmod.phrase_weight(len(bar_score), secmod.best_phrase_offset(bar_score))
    score = bar_score * weight
    return secmod.pick_boundaries(score, threshold=threshold, min_bars=min_bars, end_bars=end_bars), score, weight


def drops_of(sections: Sequence[Section]) -> tuple[float, ...]:
    """Where a drop section begins (a drop that follows a drop is the same drop going on)."""
    return tuple(s.start_s for k, s in enumerate(sections)
                 if s.label == "drop" and (k == 0 or sections[k - 1].label != "drop"))
