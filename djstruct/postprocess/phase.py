"""The bar: how long it is (:func:`half_time`) and which of the first four beats is a downbeat
(pure numpy).

The model's downbeat head is the first witness. Where it is unsure (its best phase barely beats the
second), two witnesses from the audio itself are heard as well, as the ``dsp`` detector does:
spectral change from one beat to the next (chords and bass notes change on the bar) and the level
of the low band (in half-time, breakbeat and sparse-kick grooves the kick or bass marks beat 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from djstruct.postprocess import pipeline
from djstruct.postprocess import sections as secmod

BEATS_PER_BAR = 4
LOW_BINS = 4  # the mel bins below 150 Hz (the bass band) of the model's 80-band front end


@dataclass(frozen=True)
class PhaseWeights:
    """How much the audio witnesses count beside the head (z-scores over the four phases):
    ``spec`` spectral change, ``low`` low-band level; they are heard only when the head's
    relative margin (best - second) / best is below ``gate`` (1.0: always)."""

    spec: float = 0.0
    low: float = 0.0
    gate: float = 0.0


def _by_phase(per_beat: np.ndarray, period: int = BEATS_PER_BAR) -> np.ndarray:
    return np.array([per_beat[p::period].mean() if len(per_beat[p::period]) else 0.0 for p in range(period)])


def _head_per_beat(downbeat_act: np.ndarray, fps: float, beats_s: np.ndarray) -> np.ndarray:
    idx = np.round(np.asarray(beats_s, dtype=np.float64) * fps).astype(np.int64)
    win = np.clip(idx[:, None] + np.arange(-1, 2)[None, :], 0, len(downbeat_act) - 1)
    return np.asarray(downbeat_act, dtype=np.float64)[win].max(axis=1)


def half_time(g: pipeline.BeatGrid, beat_act: np.ndarray, downbeat_act: np.ndarray, fps: float, *,
              ratio: float, alternation: float, bpm_range: tuple[float, float]) -> pipeline.BeatGrid:
    """The grid at half its tempo when both heads say it counts double: the downbeat head fires on
    every 8th beat at least ``ratio`` times as strongly as on the beats four later (on a right grid
    both are downbeats), the beat head hears every other beat at least ``alternation`` times as
    strongly as the beats between, and half the tempo lies in ``bpm_range`` (trap and downtempo at
    70-90 BPM whose hats made the beat tracker count double). Else ``g`` itself."""
    lo, hi = bpm_range
    if ratio <= 0 or not lo <= g.bpm / 2.0 < hi or len(g.beats) < 4 * 2 * BEATS_PER_BAR:
        return g
    m8 = _by_phase(_head_per_beat(downbeat_act, fps, g.beats), 2 * BEATS_PER_BAR)
    p = int(np.argmax(m8))
    if m8[p] < ratio * max(m8[(p + BEATS_PER_BAR) % 8], 1e-3):
        return g
    on, off = _by_phase(_head_per_beat(beat_act, fps, g.beats), 2)[[p % 2, 1 - p % 2]]
    if on < alternation * max(off, 1e-3):
        return g
    return pipeline.BeatGrid(g.beats[p % 2::2], g.bpm / 2.0, g.fit_quality)


def zscore(x: np.ndarray) -> np.ndarray:
    """``x`` less its mean, over its standard deviation (0 where ``x`` is flat)."""
    return (x - x.mean()) / (x.std() + 1e-9)


def phase_evidence(downbeat_act: np.ndarray, mel_db: np.ndarray | None, fps: float,
                   beats_s: np.ndarray) -> dict[str, np.ndarray]:
    """Per-phase evidence (4,) each: ``head`` mean downbeat activation (max within a frame of each
    beat), and with a log-mel ``mel_db`` (n_frames, n_mels) ``spec`` and ``low`` as z-scores."""
    beats_s = np.asarray(beats_s, dtype=np.float64)
    out = {"head": _by_phase(_head_per_beat(downbeat_act, fps, beats_s))}
    if mel_db is None or len(beats_s) < 2 * BEATS_PER_BAR:
        return out
    mel = np.asarray(mel_db, dtype=np.float64)
    edges = np.append(beats_s, beats_s[-1] + (beats_s[-1] - beats_s[-2]))
    per_beat = secmod.aggregate(mel, fps, edges)
    std = (per_beat - per_beat.mean(axis=0)) / (per_beat.std(axis=0) + 1e-6)
    out["spec"] = zscore(_by_phase(secmod.block_novelty(std, 1)))
    power = secmod.aggregate(10.0 ** (mel[:, :LOW_BINS] / 10.0), fps, edges).mean(axis=1)
    out["low"] = zscore(_by_phase(10.0 * np.log10(power + 1e-10)))
    return out


def head_margin(head: np.ndarray) -> float:
    """(best - second) / best of the head's per-phase means: 0 = no preference, 1 = one phase only."""
    s = np.sort(np.asarray(head, dtype=np.float64))[::-1]
    return float((s[0] - s[1]) / s[0]) if s[0] > 1e-9 else 0.0


def choose_phase(ev: dict[str, np.ndarray], w: PhaseWeights) -> int:
    """The bar phase (0-3) from :func:`phase_evidence` under weights ``w``."""
    head = ev["head"]
    if "spec" not in ev or (w.spec == 0 and w.low == 0) or head_margin(head) >= w.gate:
        return int(np.argmax(head))
    score = zscore(head) + w.spec * ev["spec"] + w.low * ev["low"]
    return int(np.argmax(score))
