"""Section labels (pure numpy).

Two ways in: rules over per-section audio statistics (the weight-free ``dsp`` detector) and
frame-wise label probabilities (the trained model). Both end in :func:`sections_from_bounds`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from djstruct.types import SECTION_LABELS, Section


@dataclass(frozen=True)
class SectionStats:
    """Per-section statistics, each (n_sections,): ``kick`` beat-synchronous low-band onset
    strength (0-1, relative to the track), ``bass_db`` / ``loud_db`` / ``high_db`` mean levels,
    ``high_slope_db`` rise of the high band from the first to the last quarter, ``bars``."""

    kick: np.ndarray
    bass_db: np.ndarray
    loud_db: np.ndarray
    high_db: np.ndarray
    high_slope_db: np.ndarray
    bars: np.ndarray


def label_by_rules(st: SectionStats) -> list[str]:
    """EDM section labels from statistics.

    Drops are the sections with a kick, full bass and near-peak loudness. Before the first drop:
    intro, then a buildup (the section right before the drop, when there are two or more);
    between drops: breakdown, then a buildup right before the next drop; after the last drop:
    outro. A track with no drop gets intro / breakdown / outro by position.
    """
    n = len(st.kick)
    if n == 0:
        return []
    if n == 1:
        return ["intro"]
    energy = st.loud_db + 0.5 * st.bass_db
    is_drop = (st.kick > 0.45) & (energy >= energy.max() - 4.5) & (st.bass_db >= st.bass_db.max() - 6.0)
    drops = np.where(is_drop)[0]
    labels = ["breakdown"] * n
    if len(drops) == 0:
        labels[0], labels[-1] = "intro", "outro"
        return labels
    first, last = int(drops[0]), int(drops[-1])
    for i in range(n):
        if is_drop[i]:
            labels[i] = "drop"
        elif i < first:
            labels[i] = "intro"
        elif i > last:
            labels[i] = "outro"
    # The non-drop section right before each drop (after the first section) builds up to it.
    for d in drops:
        j = int(d) - 1
        if j >= 1 and not is_drop[j]:
            labels[j] = "buildup"
        elif j == 0 and not is_drop[0] and st.kick[0] < 0.45 and st.high_slope_db[0] > 3.0:
            labels[0] = "buildup"
    return labels


def labels_from_probs(probs: np.ndarray, fps: float, bounds_s: np.ndarray) -> list[str]:
    """Label each section [bounds_s[i], bounds_s[i+1]) by the mean of ``probs`` (n, 5), columns in
    ``SECTION_LABELS`` order, over its frames."""
    out = []
    for a, b in zip(bounds_s[:-1], bounds_s[1:], strict=True):
        i, j = int(a * fps), max(int(b * fps), int(a * fps) + 1)
        seg = probs[i:j] if i < len(probs) else probs[-1:]
        out.append(SECTION_LABELS[int(np.argmax(seg.mean(axis=0)))])
    return out


def sections_from_bounds(bounds_s: np.ndarray, labels: list[str], *, merge_same: bool = False) -> list[Section]:
    """Sections from ascending boundary times (n+1,) and n labels; optionally merge neighbours
    that carry the same label."""
    secs: list[Section] = []
    for a, b, lab in zip(bounds_s[:-1], bounds_s[1:], labels, strict=True):
        if merge_same and secs and secs[-1].label == lab:
            secs[-1] = Section(secs[-1].start, float(b), lab)
        else:
            secs.append(Section(float(a), float(b), lab))
    return secs
