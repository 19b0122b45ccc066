"""Find likely errors in the DJ's own cues (labels), to be fixed in the training labels only.

Candidates are the downbeats of each track's library grid; a downbeat is labelled 1 when a user
cue sits on it (the nearest downbeat within two beats); a downbeat under a load cue (the cue every
player sets at the very start) is left out, since whether the DJ would cue it is unknown. A small
classifier (logistic regression, numpy) over per-downbeat features from djstruct's analysis (a
section starts here, which section, bars to the next drop, phrase position, energy change) and
from the track's other cues (:func:`context_features`: whether this downbeat shares their phrase
grid) gives out-of-fold probabilities by k-fold cross-validation over tracks; confident learning
then flags the labels that disagree with confident predictions: cleanlab's ``find_label_issues``
when the optional ``cleanlab`` package is installed (AGPL-3.0: an optional extra), else the same
rule implemented here.

Issues: ``spurious`` (a cue where nothing happens, unless it lies on the phrase grid of most of
the track's other cues: then the detector more likely missed a boundary), ``missing`` (no cue where the DJ would put
one), ``shifted`` (a spurious cue next to a missing one, a bar or two away: the suggestion is the
missing position), ``off_grid`` (from the heuristics: more than the tolerance off the beat grid,
or on the beat next to a downbeat; the suggestion is the nearest downbeat).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from djstruct.postprocess.cue_style import downbeat_features
from djstruct.train.style_fit import balanced_weights, fit_logreg
from djstruct.train.tiers import TrackCheck
from djstruct.types import Analysis

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LabelIssue:
    path: str
    cue_time: float | None
    issue: str  # off_grid | shifted | spurious | missing
    suggested_time: float | None
    score: float

    def to_dict(self) -> dict[str, object]:
        r = lambda x: None if x is None else round(float(x), 4)  # noqa: E731
        return {"path": self.path, "cue_time": r(self.cue_time), "issue": self.issue,
                "suggested_time": r(self.suggested_time), "score": round(float(self.score), 4)}


@dataclass(frozen=True)
class Candidates:
    """Per-downbeat rows of one track: features (n, d), labels (n,), downbeat times, cue times and
    the share of the DJ's other cues a multiple of :data:`PHRASE_BARS` bars away (n,)."""

    check: TrackCheck
    x: np.ndarray
    y: np.ndarray
    times: np.ndarray
    cue_at: list[float | None]
    phrase: np.ndarray


def build_candidates(check: TrackCheck, analysis: Analysis) -> Candidates:
    item = check.item
    down = item.downbeats
    beat_s = 60.0 / item.bpm if item.bpm > 0 else 0.5
    y = np.zeros(len(down), dtype=np.int64)
    on_grid = np.zeros(len(down), dtype=np.int64)  # every cue of the DJ's, load cues included
    unknown = np.zeros(len(down), dtype=bool)  # under a load cue: whether the DJ cues it is unknown
    cue_at: list[float | None] = [None] * len(down)
    for c in check.cues:
        if "loop" in c.flags or len(down) == 0:
            continue
        i = int(np.argmin(np.abs(down - c.cue.start_s)))
        if abs(down[i] - c.cue.start_s) > 2 * beat_s:
            continue
        on_grid[i] = 1
        if "load_cue" in c.flags:
            unknown[i] = True
            continue
        y[i] = 1
        cue_at[i] = c.cue.start_s
    ctx = context_features(on_grid, down, analysis, beat_s)
    x = np.concatenate([downbeat_features(down, analysis, beat_s), ctx], axis=1)
    keep = ~unknown | (y == 1)
    return Candidates(check, x[keep], y[keep], down[keep], [c for c, k in zip(cue_at, keep, strict=True) if k],
                      ctx[keep, 1 + PHRASES.index(PHRASE_BARS)])


PHRASES = (4, 8, 16, 32)
PHRASE_BARS = 8  # a cue with at least ON_PHRASE of the others this many bars apart is not flagged
ON_PHRASE = 0.5


def context_features(y: np.ndarray, down: np.ndarray, analysis: Analysis, beat_s: float) -> np.ndarray:
    """(n, 7) features of each downbeat that do not lean on the detector's section starts, which
    miss or misplace some boundaries on real audio: the track's first downbeat; the share of the
    DJ's *other* cues in this track (the downbeat's own label left out) that lie a multiple of 4 /
    8 / 16 / 32 bars away (DJs cue phrase starts, so their cues share one phrase grid, and a cue
    shifted by a bar or put on a random downbeat falls off it); the energy change over one bar."""
    n = len(down)
    out = np.zeros((n, 2 + len(PHRASES)))
    if n == 0:
        return out
    out[0, 0] = 1.0
    cues = np.flatnonzero(y)
    idx = np.arange(n)
    for k_i, k in enumerate(PHRASES):
        on = (np.abs(idx[:, None] - cues[None, :]) % k == 0).astype(np.float64)  # (n, n_cues)
        own = (idx[:, None] == cues[None, :]).astype(np.float64)
        others = len(cues) - own.sum(axis=1)
        out[:, 1 + k_i] = np.where(others > 0, (on - own).sum(axis=1) / np.maximum(others, 1), 0.0)
    e = analysis.energy
    if e is not None and len(e.bass):
        energy = (np.asarray(e.bass) + np.asarray(e.mid) + np.asarray(e.high)) / 3.0
        w = max(int(4 * beat_s / e.hop_s), 1)
        for i, t in enumerate(down):
            k = int(t / e.hop_s)
            before, after = energy[max(k - w, 0):k], energy[k:k + w]
            out[i, -1] = (float(after.mean()) if len(after) else 0.0) - (float(before.mean()) if len(before) else 0.0)
    return out


def out_of_fold_probs(cands: Sequence[Candidates], k: int = 5, seed: int = 0) -> list[np.ndarray]:
    """P(cue) per downbeat of each track, each from a model that did not see that track."""
    order = np.random.default_rng(seed).permutation(len(cands))
    folds = [order[i::k] for i in range(min(k, len(cands)))]
    out: list[np.ndarray] = [np.zeros(0)] * len(cands)
    for fold in folds:
        held = set(fold.tolist())
        train = [c for i, c in enumerate(cands) if i not in held]
        if not train:
            train = list(cands)
        x = np.concatenate([c.x for c in train])
        y = np.concatenate([c.y for c in train]).astype(np.float64)
        tw = np.concatenate([np.full(len(c.y), c.check.weight) for c in train])
        beta = fit_logreg(x, y, balanced_weights(y, tw))
        for i in fold:
            out[i] = 1.0 / (1.0 + np.exp(-np.clip(cands[i].x @ beta, -30, 30)))
    return out


def confident_issues(labels: np.ndarray, p1: np.ndarray, *, missing_floor: float = 0.95) -> np.ndarray:
    """Indices whose given label disagrees with the out-of-fold prediction, most suspect first.

    Cues (label 1) are flagged where the prediction disagrees with the label (cleanlab's
    ``filter_by="predicted_neq_given"``; the classifier is class-balanced, so this is p < 0.5).
    Downbeats without a cue (label 0) are flagged only when confidently a cue: p above the
    confident-learning threshold of class 1 (the mean p of the cues) and above ``missing_floor``,
    since most downbeats carry no cue and a DJ needs few, sure "missing" hints."""
    probs = np.stack([1.0 - p1, p1], axis=1)
    try:
        from cleanlab.filter import find_label_issues as cl_find

        spurious = np.asarray(cl_find(labels, probs, filter_by="predicted_neq_given"), dtype=bool)
        spurious &= labels == 1
    except ImportError:
        spurious = (labels == 1) & (p1 < 0.5)
    t1 = float(p1[labels == 1].mean()) if np.any(labels == 1) else 1.0
    missing = (labels == 0) & (p1 >= max(t1, missing_floor))
    idx = np.where(spurious | missing)[0]
    return idx[np.argsort(probs[idx, labels[idx]])]


def find_label_issues(checks: Sequence[TrackCheck], analyses: dict[str, Analysis], *, k: int = 5,
                      tolerance_s: float = 0.05) -> list[LabelIssue]:
    """All suspected label errors, most confident first within each kind."""
    issues: list[LabelIssue] = []
    for ch in checks:
        for c in ch.cues:
            if ("off_grid" in c.flags or "off_downbeat" in c.flags) and "loop" not in c.flags:
                beat_s = 60.0 / ch.item.bpm if ch.item.bpm > 0 else 0.5
                near_down = abs(c.nearest_downbeat_s - c.cue.start_s) < 1.5 * beat_s
                issues.append(LabelIssue(str(ch.item.track.path), c.cue.start_s, "off_grid",
                                         c.nearest_downbeat_s if near_down else c.nearest_beat_s,
                                         min(max(abs(c.cue.start_s - c.nearest_beat_s) / tolerance_s / 10.0,
                                                 abs(c.cue.start_s - c.nearest_downbeat_s) / beat_s / 2.0), 1.0)))
    cands = [build_candidates(ch, analyses[str(ch.item.track.path)]) for ch in checks
             if str(ch.item.track.path) in analyses and len(ch.item.downbeats)]
    if len(cands) < 2:
        return issues
    probs = out_of_fold_probs(cands, k)
    labels = np.concatenate([c.y for c in cands])
    flat = np.concatenate(probs)
    flagged = set(confident_issues(labels, flat).tolist())
    base = 0
    for c, p in zip(cands, probs, strict=True):
        path = str(c.check.item.track.path)
        mine = sorted(i - base for i in flagged if base <= i < base + len(c.y))
        # the classifier leans on the detector's sections, which miss some boundaries (a drop that
        # follows a drop, an outro the detector starts early); a cue on the DJ's own phrase grid is
        # a boundary the detector missed far more often than a DJ's slip, which lands off the grid
        # (a cue shifted by a bar always, a cue on a random downbeat seven times in eight)
        spurious = [i for i in mine if c.y[i] == 1 and c.phrase[i] < ON_PHRASE]
        missing = [i for i in mine if c.y[i] == 0]
        for i in spurious:
            j = next((m for m in missing if 0 < abs(m - i) <= 2), None)
            if j is not None:
                missing.remove(j)
                issues.append(LabelIssue(path, c.cue_at[i], "shifted", float(c.times[j]),
                                         float((1 - p[i]) * p[j]) ** 0.5))
            else:
                issues.append(LabelIssue(path, c.cue_at[i], "spurious", None, float(1 - p[i])))
        for j in missing:
            issues.append(LabelIssue(path, None, "missing", float(c.times[j]), float(p[j])))
        base += len(c.y)
    return issues
