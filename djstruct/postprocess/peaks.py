"""The one peak picker: greedy, strongest first, a minimum gap, optionally away from both ends."""

from __future__ import annotations

import numpy as np


def pick_peaks(score: np.ndarray, *, threshold: float, min_gap: int, margin: int = 0) -> list[int]:
    """Indices (ascending) where ``score`` (n,) reaches ``threshold``, taken strongest first and
    each at least ``min_gap`` from those kept; indices closer than ``margin`` to either end (index
    0 and ``n``) are never taken."""
    n = len(score)
    kept: list[int] = []
    for i in np.argsort(-np.asarray(score), kind="stable"):
        if score[i] < threshold:
            break
        if i < margin or i > n - margin:
            continue
        if all(abs(int(i) - k) >= min_gap for k in kept):
            kept.append(int(i))
    return sorted(kept)
