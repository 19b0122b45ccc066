"""Section boundaries on the bar grid (pure numpy).

Boundaries live on downbeats. A per-bar boundary score (from audio novelty in ``dsp``, from the
boundary head and the cosine novelty of the model's embeddings in ``ml``) is weighted by the bar's
position in the phrase (8/16/32-bar phrases are where EDM changes), peaks are picked with a minimum
section length, and the result is a list of bar indices.
"""

from __future__ import annotations

import numpy as np

from djstruct.postprocess.peaks import pick_peaks


def aggregate(frames: np.ndarray, fps: float, edges_s: np.ndarray) -> np.ndarray:
    """Mean of ``frames`` (n, d) over each interval [edges_s[i], edges_s[i+1]); (len-1, d)."""
    n = len(frames)
    idx = np.clip(np.round(np.asarray(edges_s) * fps).astype(int), 0, n)
    if len(idx) < 2:
        return np.zeros((0, frames.shape[1]), dtype=np.float64)
    csum = np.concatenate([np.zeros((1, frames.shape[1])), np.cumsum(frames, axis=0, dtype=np.float64)])
    b = np.minimum(np.maximum(idx[1:], idx[:-1] + 1), n)
    a = np.where(b > 0, np.minimum(idx[:-1], b - 1), 0)
    return (csum[b] - csum[a]) / np.maximum(b - a, 1)[:, None]


def block_novelty(feats: np.ndarray, width: int) -> np.ndarray:
    """Novelty (n,) of a (n, d) sequence: distance between the means of the ``width`` items
    before and after each index (index i starts the new block). Edges use shorter blocks."""
    x = np.asarray(feats, dtype=np.float64)
    n = len(x)
    nov = np.zeros(n, dtype=np.float64)
    if n < 2:
        return nov
    csum = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
    i = np.arange(1, n)
    lo, hi = np.maximum(i - width, 0), np.minimum(i + width, n)
    before = (csum[i] - csum[lo]) / (i - lo)[:, None]
    after = (csum[hi] - csum[i]) / (hi - i)[:, None]
    nov[1:] = np.linalg.norm(before - after, axis=1)
    return nov


LEVEL_WEIGHTS = (1.5, 1.0, 0.4, 1.0)  # bass, mid, high, all: kick and bass count most, hats least


def bar_levels_db(power: np.ndarray, fps: float, edges_s: np.ndarray, floor_db: float = -40.0) -> np.ndarray:
    """(len(edges_s) - 1, k) mean of each column of ``power`` ((n_frames, k) linear band power) over
    each interval, in dB relative to the column's 99th percentile of frames, floored at ``floor_db``."""
    ref = np.percentile(power, 99, axis=0) + 1e-20
    agg = aggregate(power, fps, edges_s)
    return np.maximum(10.0 * np.log10(agg / ref + 1e-20), floor_db)


def weighted_levels(levels_db: np.ndarray) -> np.ndarray:
    """Bass/mid/high/all levels (dB) as novelty features: ~1 per 6 dB, weighted by :data:`LEVEL_WEIGHTS`."""
    return np.asarray(levels_db) * np.asarray(LEVEL_WEIGHTS) / 6.0


def two_scale_novelty(feats: np.ndarray) -> np.ndarray:
    """:func:`block_novelty` over 2 bars (half weight) plus over 4 bars: a change that holds for a
    phrase scores more than a one-bar fill."""
    return 0.5 * block_novelty(feats, 2) + block_novelty(feats, 4)


def scale_inner(nov: np.ndarray, min_bars: int, percentile: float = 100.0) -> np.ndarray:
    """``nov`` divided by its ``percentile`` over the bars a section may start at (``min_bars``
    from either end) and clipped to 1: the track's strongest changes score 1, and the noisier
    short-window ends do not set the scale."""
    inner = nov[min_bars: len(nov) - min_bars + 1]
    top = float(np.percentile(inner, percentile)) if len(inner) else 0.0
    return np.minimum(nov / top, 1.0) if top > 1e-6 else np.zeros_like(nov)


def cosine_novelty(feats: np.ndarray, width: int) -> np.ndarray:
    """Novelty (n,) of a (n, d) sequence of embeddings: cosine distance (0-2) between the mean unit
    vector of the ``width`` items before index i and of the ``width`` items from i on (i starts
    the new block; edges use shorter blocks, index 0 scores 0)."""
    x = np.asarray(feats, dtype=np.float64)
    n = len(x)
    nov = np.zeros(n, dtype=np.float64)
    if n < 2:
        return nov
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)
    csum = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(unit, axis=0)])
    i = np.arange(1, n)
    before = csum[i] - csum[np.maximum(i - width, 0)]
    after = csum[np.minimum(i + width, n)] - csum[i]
    na, nb = np.linalg.norm(before, axis=1), np.linalg.norm(after, axis=1)
    cos = np.einsum("ij,ij->i", before, after) / np.maximum(na * nb, 1e-12)
    nov[1:] = np.where((na > 1e-9) & (nb > 1e-9), 1.0 - cos, 0.0)
    return nov


def phrase_weight(n_bars: int, phrase_offset: int, weights: tuple[float, float, float] = (0.45, 0.8, 1.0)):
    """Per-bar prior (n_bars,): ``weights`` for bars off the 4-bar grid, on the 4-bar grid, and
    on the 8-bar phrase grid counted from ``phrase_offset``."""
    rel = np.arange(n_bars) - phrase_offset
    w = np.full(n_bars, weights[0])
    w[rel % 4 == 0] = weights[1]
    w[rel % 8 == 0] = weights[2]
    return w


def best_phrase_offset(score: np.ndarray, period: int = 8) -> int:
    """Bar offset (0..period-1) of the phrase grid that collects the most boundary score."""
    if len(score) == 0:
        return 0
    sums = [score[p::period].sum() for p in range(period)]
    return int(np.argmax(sums))


def pick_boundaries(score: np.ndarray, *, threshold: float, min_bars: int = 4,
                    end_bars: int | None = None) -> list[int]:
    """Bar indices (ascending, excluding 0) where ``score`` (n_bars,) peaks above ``threshold``,
    greedily keeping the strongest peaks at least ``min_bars`` apart and from the start, and at
    least ``end_bars`` (default ``min_bars``) bars before the end: a track does not end on a
    section shorter than that (a short tail over a fade belongs to the section before it)."""
    end = min_bars if end_bars is None else max(end_bars, 1)
    return pick_peaks(score, threshold=threshold, min_gap=min_bars, margin=min_bars, end_margin=end)
