"""Fitting a DJ's cue style (:class:`~djstruct.postprocess.cue_style.CueStyle`) from their own cues:
a class-balanced L2 logistic regression over per-downbeat features of the structure analysis, its
threshold tuned for the best F-measure (+-1 beat) on validation tracks. Inference lives in
:mod:`djstruct.postprocess.cue_style`; the label-issue classifier reuses :func:`fit_logreg`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from djstruct.evaluate import onset_f
from djstruct.postprocess.cue_style import FEATURE_VERSION, CueStyle, cue_probs, pick_cues, style_features
from djstruct.postprocess.peaks import pick_peaks
from djstruct.types import Analysis


def fit_logreg(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = 1e-2, iters: int = 30) -> np.ndarray:
    """Weighted L2 logistic regression by Newton's method; returns coefficients (d,)."""
    beta = np.zeros(x.shape[1])
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ beta, -30, 30)))
        g = x.T @ (w * (p - y)) + l2 * beta
        h = (x * (w * p * (1 - p))[:, None]).T @ x + l2 * np.eye(len(beta))
        step = np.linalg.solve(h, g)
        beta -= step
        if np.max(np.abs(step)) < 1e-6:
            break
    return beta


def balanced_weights(y: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """Sample weights that give both classes the same total (times ``w``)."""
    pos = max(float(y.mean()), 1e-3) if len(y) else 0.5
    cw = np.where(y == 1, 0.5 / pos, 0.5 / max(1.0 - pos, 1e-3))
    return cw * (1.0 if w is None else w)


def cue_labels(down: np.ndarray, cues: Sequence[float], beat_s: float) -> np.ndarray:
    """1 at the downbeat nearest each cue (within two beats), else 0."""
    y = np.zeros(len(down), dtype=np.int64)
    for t in cues:
        if len(down):
            i = int(np.argmin(np.abs(down - t)))
            if abs(down[i] - t) <= 2 * beat_s:
                y[i] = 1
    return y


@dataclass(frozen=True)
class StyleExample:
    analysis: Analysis
    cues: tuple[float, ...]  # the DJ's cue times, djstruct's timeline
    weight: float = 1.0


THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


RULE_GAIN = 10.0  # a rule style: logit -GAIN/2 + GAIN * (features firing), so p > 0.5 iff one fires
MAX_RULE_TERMS = 4


def _mean_f(exs: Sequence[StyleExample], picked: Sequence[Sequence[float]]) -> float:
    fs = [onset_f(ex.cues, est, 60.0 / ex.analysis.bpm if ex.analysis.bpm else 0.5) for ex, est in zip(exs, picked,
                                                                                                        strict=True)]
    w = np.array([ex.weight for ex in exs])
    return float(np.average(fs, weights=w)) if len(fs) and w.sum() > 0 else 0.0


def rule_style(columns: Sequence[int], n_features: int, min_gap_bars: int = 2,
               feature_version: int = FEATURE_VERSION) -> CueStyle:
    """The style "a cue wherever one of these binary features fires", as logistic coefficients
    (column 0 is the constant)."""
    coef = np.zeros(n_features)
    coef[0] = -RULE_GAIN / 2
    coef[list(columns)] = RULE_GAIN
    return CueStyle(tuple(float(c) for c in coef), 0.5, min_gap_bars, feature_version)


def fit_rule(exs: Sequence[StyleExample], *, min_gap_bars: int = 2, feature_version: int = FEATURE_VERSION,
             max_terms: int = MAX_RULE_TERMS) -> tuple[tuple[int, ...], float]:
    """Greedy forward search for the few binary features whose union best matches the DJ's cues
    (mean F at +-1 beat on ``exs``): many DJs follow a rule of one to three parts ("16 bars before
    every drop, and every drop"), which a regression over correlated features blurs when the
    analysis is imperfect. Returns the feature columns and their F."""
    feats = [style_features(ex.analysis, feature_version) for ex in exs]
    feats = [(d, x) for d, x in feats if len(d)]
    if not feats:
        raise ValueError("no downbeats to learn a cue style from")
    allx = np.concatenate([x for _, x in feats])
    binary = [j for j in range(1, allx.shape[1]) if np.all((allx[:, j] == 0) | (allx[:, j] == 1)) and allx[:, j].any()]
    kept = [ex for ex in exs if len(ex.analysis.downbeats)]

    def score(cols: list[int]) -> float:
        picked = []
        for down, x in feats:
            fire = x[:, cols].any(axis=1).astype(np.float64) if cols else np.zeros(len(down))
            picked.append([float(down[i]) for i in pick_peaks(fire, threshold=0.5, min_gap=min_gap_bars)])
        return _mean_f(kept, picked)

    cols: list[int] = []
    best = score(cols)
    while len(cols) < max_terms:
        cand = max(((score([*cols, j]), j) for j in binary if j not in cols), default=None)
        if cand is None or cand[0] <= best + 1e-9:
            break
        best, cols = cand[0], [*cols, cand[1]]
    return tuple(cols), best


def fit_style(train: Sequence[StyleExample], val: Sequence[StyleExample] = (), *, l2: float = 1e-1,
              min_gap_bars: int = 2, feature_version: int = FEATURE_VERSION,
              rules: bool = True) -> tuple[CueStyle, float]:
    """A style fitted on ``train`` (threshold tuned on ``val``, or on ``train`` without one) and its
    mean F at +-1 beat on the tuning tracks. The returned style is refitted on train + val.
    ``feature_version`` picks the feature set (an older one only to compare with). With
    ``rules``, a rule (:func:`fit_rule`) found on ``train`` competes with the regression on the
    tuning tracks; the better one (the rule on a tie) is returned."""
    def stack(exs: Sequence[StyleExample]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        xs, ys, ws = [], [], []
        for ex in exs:
            down, x = style_features(ex.analysis, feature_version)
            if not len(down):
                continue
            beat = 60.0 / ex.analysis.bpm if ex.analysis.bpm else 0.5
            y = cue_labels(down, ex.cues, beat)
            xs.append(x)
            ys.append(y)
            ws.append(np.full(len(y), ex.weight))
        if not xs:
            raise ValueError("no downbeats to learn a cue style from")
        y = np.concatenate(ys).astype(np.float64)
        return np.concatenate(xs), y, balanced_weights(y, np.concatenate(ws))

    x, y, w = stack(train)
    coef = fit_logreg(x, y, w, l2=l2)
    tune = val or train
    probs = [cue_probs(CueStyle(tuple(coef), feature_version=feature_version), ex.analysis)
             for ex in tune]  # features once per track
    scores = {}
    for t in THRESHOLDS:
        picked = [[float(down[i]) for i in pick_peaks(p, threshold=t, min_gap=min_gap_bars)] for down, p in probs]
        scores[t] = float(np.mean([onset_f(ex.cues, est, 60.0 / ex.analysis.bpm if ex.analysis.bpm else 0.5)
                                   for ex, est in zip(tune, picked, strict=True)]))
    best = max(THRESHOLDS, key=lambda t: (scores[t], -abs(t - 0.5)))
    if rules:
        cols, _ = fit_rule(train, min_gap_bars=min_gap_bars, feature_version=feature_version)
        rule = rule_style(cols, len(coef), min_gap_bars, feature_version)
        f_rule = _mean_f(tune, [pick_cues(rule, ex.analysis) for ex in tune]) if cols else -1.0
        if f_rule >= scores[best]:
            if val:
                cols, _ = fit_rule([*train, *val], min_gap_bars=min_gap_bars, feature_version=feature_version)
                rule = rule_style(cols, len(coef), min_gap_bars, feature_version)
            return rule, f_rule
    if val:
        x, y, w = stack([*train, *val])
        coef = fit_logreg(x, y, w, l2=l2)
    return CueStyle(tuple(float(c) for c in coef), best, min_gap_bars, feature_version), scores[best]
