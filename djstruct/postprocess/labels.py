"""Section labels (pure numpy).

Two ways in: rules over per-section audio statistics (the weight-free ``dsp`` detector) and
frame-wise label probabilities (the trained model). Both end in :func:`sections_from_bounds`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from djstruct.types import SECTION_LABELS, Section


@dataclass(frozen=True)
class SectionStats:
    """Per-section statistics, each (n_sections,): mean power in the ``low`` (<150 Hz), ``mid``,
    ``high`` (>2.5 kHz) bands and ``loud`` overall, in dB relative to the track's loud level;
    ``high_slope`` the rise of the high band from the first to the last quarter (dB);
    ``bars`` the length in bars."""

    low: np.ndarray
    mid: np.ndarray
    high: np.ndarray
    loud: np.ndarray
    high_slope: np.ndarray
    bars: np.ndarray


def label_by_rules(st: SectionStats) -> list[str]:
    """EDM section labels from statistics.

    A drop is a section with full bass and mids at (near) the track's peak loudness. The
    non-drop section right before a drop is a buildup; sections before the first drop are the
    intro, after the last drop the outro; in between, breakdowns (no bass) and buildups (a rising
    high band). A track without a drop gets intro / breakdown / outro by position.
    """
    n = len(st.low)
    if n == 0:
        return []
    if n == 1:
        return ["intro"]
    is_drop = (
        (st.loud >= st.loud.max() - 2.5)
        & (st.mid >= st.mid.max() - 4.0)
        & (st.low >= st.low.max() - 6.0)
        & (st.high_slope < 12.0)
        & (st.low > -15.0)
    )
    if is_drop[0] and not is_drop.all():  # a track opens on a drop only if nothing else qualifies
        is_drop[0] = False
    drops = np.where(is_drop)[0]
    if len(drops) == 0:
        return ["intro"] + ["breakdown"] * (n - 2) + ["outro"]
    first, last = int(drops[0]), int(drops[-1])
    labels = []
    for i in range(n):
        no_bass = st.low[i] < -25.0
        if is_drop[i]:
            labels.append("drop")
        elif i < first:
            labels.append("breakdown" if no_bass and i > 0 else "intro")
        elif i > last:
            labels.append("breakdown" if no_bass and i < n - 1 else "outro")
        else:
            labels.append("buildup" if st.high_slope[i] >= 10.0 and st.low[i] > -30.0 else "breakdown")
    for d in drops:
        j = int(d) - 1
        if j >= 1 and not is_drop[j] and labels[j] != "buildup":
            labels[j] = "buildup"
    return labels


def section_probs(probs: np.ndarray, fps: float, bounds_s: np.ndarray) -> np.ndarray:
    """Mean of the frame-wise label probabilities ``probs`` (n_frames, 5), columns in
    ``SECTION_LABELS`` order, over each section [bounds_s[i], bounds_s[i+1]): (n_sections, 5)."""
    out = []
    for a, b in zip(bounds_s[:-1], bounds_s[1:], strict=True):
        i, j = int(a * fps), max(int(b * fps), int(a * fps) + 1)
        seg = probs[i:j] if i < len(probs) else probs[-1:]
        out.append(seg.mean(axis=0))
    return np.asarray(out, dtype=np.float64).reshape(-1, len(SECTION_LABELS))


def labels_from_probs(probs: np.ndarray, fps: float, bounds_s: np.ndarray, *, grammar: bool = False,
                      ends: bool = True) -> list[str]:
    """Label each section [bounds_s[i], bounds_s[i+1]) by the mean of ``probs`` (n, 5) over its
    frames: the most probable label each, or with ``grammar`` the most probable sequence that a
    DJ track can have (:func:`grammar_labels`)."""
    p = section_probs(probs, fps, bounds_s)
    if grammar:
        return grammar_labels(p, ends=ends)
    return [SECTION_LABELS[int(k)] for k in np.argmax(p, axis=1)]


_INTRO, _OUTRO = SECTION_LABELS.index("intro"), SECTION_LABELS.index("outro")
_BUILDUP, _DROP = SECTION_LABELS.index("buildup"), SECTION_LABELS.index("drop")


def grammar_labels(p: np.ndarray, *, ends: bool = True) -> list[str]:
    """The label sequence maximising the sum of log section probabilities ``p`` (n_sections, 5)
    under the grammar of a DJ track: intros only at the start (an intro follows only an intro),
    outros only at the end (an outro is followed only by an outro), and a buildup leads into a drop
    (it is followed only by more buildup or a drop, and never ends the track). With ``ends`` and at
    least three sections, the track opens on its intro and ends on its outro. Viterbi over the
    sections; an "outro" mid-track followed by drops, or an "intro" after the first drop, cannot
    come out."""
    n, k = p.shape
    if n == 0:
        return []
    logp = np.log(np.clip(p, 1e-9, None))
    allowed = np.ones((k, k), dtype=bool)  # allowed[prev, cur]
    allowed[:, _INTRO] = False
    allowed[_INTRO, _INTRO] = True
    allowed[_OUTRO, :] = False
    allowed[_OUTRO, _OUTRO] = True
    allowed[_BUILDUP, :] = False
    allowed[_BUILDUP, [_BUILDUP, _DROP]] = True
    trans = np.where(allowed, 0.0, -np.inf)
    first, last = np.zeros(k), np.zeros(k)
    last[_BUILDUP] = -np.inf
    if ends and n >= 3:
        first[:] = -np.inf
        first[_INTRO] = 0.0
        last[:] = -np.inf
        last[_OUTRO] = 0.0
    score = logp[0] + first
    back = np.zeros((n, k), dtype=np.int64)
    for i in range(1, n):
        cand = score[:, None] + trans  # (prev, cur)
        back[i] = np.argmax(cand, axis=0)
        score = cand[back[i], np.arange(k)] + logp[i]
    score = score + last
    if not np.isfinite(score).any():  # a one-section track that can only be a buildup
        score = score - last
    path = [int(np.argmax(score))]
    for i in range(n - 1, 0, -1):
        path.append(int(back[i][path[-1]]))
    return [SECTION_LABELS[j] for j in reversed(path)]


def sections_from_bounds(bounds_s: np.ndarray, labels: list[str], *, merge_same: bool = False,
                         keep: Sequence[bool] | None = None) -> list[Section]:
    """Sections from ascending boundary times (n+1,) and n labels; optionally merge neighbours
    that carry the same label, except at the inner boundaries ``bounds_s[i + 1]`` whose ``keep[i]``
    is true (a strong change inside, say, one long drop)."""
    secs: list[Section] = []
    for i, (a, b, lab) in enumerate(zip(bounds_s[:-1], bounds_s[1:], labels, strict=True)):
        kept = keep is not None and i > 0 and bool(keep[i - 1])
        if merge_same and secs and secs[-1].label == lab and not kept:
            secs[-1] = Section(secs[-1].start_s, float(b), lab)
        else:
            secs.append(Section(float(a), float(b), lab))
    return secs


def inner_changes(bounds_s: np.ndarray, labels: list[str], keep: Sequence[bool]) -> tuple[float, ...]:
    """The inner boundaries ``bounds_s[i + 1]`` between two sections of the same label whose
    ``keep[i]`` is true: where a new part starts inside what stays one section."""
    return tuple(float(bounds_s[i + 1]) for i, k in enumerate(keep)
                 if k and i + 1 < len(labels) and labels[i] == labels[i + 1])
