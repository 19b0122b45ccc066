"""The one peak picker: greedy, strongest first, a minimum gap, optionally away from both ends."""

from __future__ import annotations

import numpy as np


def pick_peaks(score: np.ndarray, *, threshold: float, min_gap: int, margin: int = 0,
               end_margin: int | None = None) -> list[int]:
    """Indices (ascending) where ``score`` (n,) reaches ``threshold``, taken strongest first and
    each at least ``min_gap`` from those kept; indices closer than ``margin`` to index 0, or than
    ``end_margin`` (default ``margin``) to ``n``, are never taken."""
    n = len(score)
    end = margin if end_margin is None else end_margin
    kept: list[int] = []
    for i in np.argsort(-np.asarray(score), kind="stable"):
        if score[i] < threshold:
            break
        if i < margin or i > n - end:
            continue
        if all(abs(int(i) - k) >= min_gap for k in kept):
            kept.append(int(i))
    return sorted(kept)
