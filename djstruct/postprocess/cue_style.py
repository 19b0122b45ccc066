"""A DJ's personal cue style: which downbeats of a track get a cue, learnt from the DJ's own cues.

Pure numpy. The structure analysis (sections, labels, drops, energy) says *what happens*; a DJ's
cues say *where they want to jump*, and many DJs cue relative to the structure ("16 bars before
every drop", "every drop but no breakdowns"). A :class:`CueStyle` is a class-balanced L2
logistic regression over per-downbeat features of the analysis (:func:`downbeat_features`: a
section starts here and which, the section we are in, bars to the next drop / buildup /
breakdown / outro, bars into the section, phrase position, energy change; since feature version 2
also: the first drop, bars since the last drop, and the phrase grid counted from the first drop,
so "8 bars after every drop", "every 32 bars from the first drop" and "only the first drop" are
each one feature, not a pattern the regression cannot draw). :func:`pick_cues`
keeps the downbeats whose probability is a local maximum above the style's threshold, at least
``min_gap_bars`` apart. :func:`djstruct.train.style_fit.fit_style` learns one from (analysis, the
DJ's cue times) pairs and tunes the threshold for the best F-measure (+-1 beat) on validation tracks;
a rule style ("a cue wherever one of these few features fires", found by a greedy search) is the
same coefficients with a large weight on those features, and wins where it validates as well.

The style lives in a fine-tuned checkpoint (``extra["cue_style"]``); the ``ml`` detector then
fills :attr:`Analysis.cue_points`, which the cue plan uses for memory cues.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from djstruct.postprocess.peaks import pick_peaks
from djstruct.types import SECTION_LABELS, Analysis

FEATURE_VERSION = 2
VERSIONS = (1, 2)  # styles this djstruct still reads (a version-1 style uses the first columns)
_TO_LABEL = ("buildup", "breakdown", "outro")
_TO_BARS = (4, 8, 16, 32)
_SINCE_DROP_BARS = (4, 8, 16)
_FROM_FIRST_DROP_GRID = (8, 16, 32)
N_FEATURES_V1 = 27 + len(_TO_LABEL) * len(_TO_BARS)


def downbeat_features(down: np.ndarray, analysis: Analysis, beat_s: float) -> np.ndarray:
    """(n, d) features of each downbeat (times in djstruct's timeline): the base set the
    label-issue classifier uses."""
    n = len(down)
    parts = analysis.parts  # section starts and the changes inside sections
    starts = np.array([s.start_s for s in parts]) if parts else np.zeros(0)
    labels = [s.label for s in parts]
    drops = np.asarray(analysis.drops) if analysis.drops else np.zeros(0)
    bar_s = 4.0 * beat_s
    feats = []
    energy = None
    if analysis.energy is not None and len(analysis.energy.bass):
        e = analysis.energy
        energy = (np.asarray(e.bass) + np.asarray(e.mid) + np.asarray(e.high)) / 3.0
    for i, t in enumerate(down):
        f = [1.0]
        j = int(np.argmin(np.abs(starts - t))) if len(starts) else -1
        at_start = j >= 0 and abs(starts[j] - t) < 0.6 * beat_s
        f.append(float(at_start))
        f += [float(at_start and labels[j] == lab) for lab in SECTION_LABELS]
        cur = int(np.searchsorted(starts, t + 0.6 * beat_s) - 1) if len(starts) else -1
        f += [float(cur >= 0 and labels[cur] == lab) for lab in SECTION_LABELS]
        nxt = drops[drops > t + 0.6 * beat_s]
        bars_to_drop = (nxt[0] - t) / bar_s if len(nxt) else 999.0
        f += [float(abs(bars_to_drop - k) < 0.3) for k in (1, 2, 4, 8, 16, 32)]
        since = (t - starts[cur]) / bar_s if cur >= 0 else 999.0
        f += [float(abs(since - k) < 0.3) for k in (4, 8, 16)]
        f += [float(i % k == 0) for k in (4, 8, 16, 32)]
        if energy is not None:
            k = int(t / analysis.energy.hop_s)  # type: ignore[union-attr]
            w = max(int(4 * bar_s / analysis.energy.hop_s), 1)  # type: ignore[union-attr]
            seg_before, seg_after = energy[max(k - w, 0):k], energy[k:k + w]  # empty past the energy's end
            before = float(seg_before.mean()) if len(seg_before) else 0.0
            after = float(seg_after.mean()) if len(seg_after) else 0.0
            f += [after - before, abs(after - before)]
        else:
            f += [0.0, 0.0]
        feats.append(f)
    return np.asarray(feats, dtype=np.float64).reshape(n, -1)


def drop_features(down: np.ndarray, drops: np.ndarray, beat_s: float) -> np.ndarray:
    """(n, 7) features of each downbeat relative to the drops: on the first drop; bars since the
    last drop is 4 / 8 / 16; on the 8 / 16 / 32-bar grid counted from the first drop (at or after
    it). All 0 without drops."""
    out = np.zeros((len(down), 1 + len(_SINCE_DROP_BARS) + len(_FROM_FIRST_DROP_GRID)))
    if not len(drops) or not len(down):
        return out
    bar_s = 4.0 * beat_s
    tol = 0.6 * beat_s
    d0 = float(drops[0])
    out[:, 0] = np.abs(down - d0) < tol
    for i, t in enumerate(down):
        before = drops[drops <= t + tol]
        if len(before):
            since = (t - before[-1]) / bar_s
            out[i, 1:1 + len(_SINCE_DROP_BARS)] = [abs(since - k) < 0.3 for k in _SINCE_DROP_BARS]
        bars = (t - d0) / bar_s
        if bars > -0.3 and abs(bars - round(bars)) < 0.3:
            b = int(round(bars))
            out[i, 1 + len(_SINCE_DROP_BARS):] = [b % k == 0 for k in _FROM_FIRST_DROP_GRID]
    return out


def style_features(analysis: Analysis, version: int = FEATURE_VERSION) -> tuple[np.ndarray, np.ndarray]:
    """Downbeat times of the analysis and their (n, d) style features: the base set plus bars to
    the next buildup / breakdown / outro start (version 1: d = :data:`N_FEATURES_V1`), plus
    :func:`drop_features` (version 2)."""
    down = np.asarray(analysis.downbeats, dtype=np.float64)
    beat_s = 60.0 / analysis.bpm if analysis.bpm else 0.5
    base = downbeat_features(down, analysis, beat_s)
    bar_s = 4.0 * beat_s
    extra = np.zeros((len(down), len(_TO_LABEL) * len(_TO_BARS)))
    for li, lab in enumerate(_TO_LABEL):
        starts = np.array([s.start_s for s in analysis.parts if s.label == lab])
        if not len(starts):
            continue
        for i, t in enumerate(down):
            nxt = starts[starts > t + 0.6 * beat_s]
            if len(nxt):
                bars = (nxt[0] - t) / bar_s
                for ki, k in enumerate(_TO_BARS):
                    extra[i, li * len(_TO_BARS) + ki] = float(abs(bars - k) < 0.3)
    parts = [base, extra]
    if version >= 2:
        parts.append(drop_features(down, np.sort(np.asarray(analysis.drops, dtype=np.float64)), beat_s))
    return down, np.concatenate(parts, axis=1)


@dataclass(frozen=True)
class CueStyle:
    """A learnt cue style: logistic-regression coefficients over :func:`style_features`."""

    coef: tuple[float, ...]
    threshold: float = 0.5
    min_gap_bars: int = 2
    feature_version: int = FEATURE_VERSION

    def to_dict(self) -> dict[str, object]:
        return {"coef": [float(c) for c in self.coef], "threshold": float(self.threshold),
                "min_gap_bars": int(self.min_gap_bars), "feature_version": int(self.feature_version)}

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> CueStyle:
        version = int(d.get("feature_version", 0))  # type: ignore[call-overload]
        if version not in VERSIONS:
            raise ValueError(f"cue style feature version {d.get('feature_version')} (this djstruct reads "
                             f"{', '.join(map(str, VERSIONS))}); train the model again")
        return cls(tuple(float(c) for c in d["coef"]), float(d["threshold"]),  # type: ignore[attr-defined,arg-type]
                   int(d.get("min_gap_bars", 2)), version)  # type: ignore[call-overload]


def cue_probs(style: CueStyle, analysis: Analysis) -> tuple[np.ndarray, np.ndarray]:
    """Downbeat times and P(the DJ puts a cue here) for each."""
    down, x = style_features(analysis, style.feature_version)
    if not len(down):
        return down, np.zeros(0)
    coef = np.asarray(style.coef)
    if x.shape[1] != len(coef):
        raise ValueError(f"cue style has {len(coef)} coefficients for {x.shape[1]} features")
    return down, 1.0 / (1.0 + np.exp(-np.clip(x @ coef, -30, 30)))


def pick_cues(style: CueStyle, analysis: Analysis) -> tuple[float, ...]:
    """The downbeats (s) where this style puts a cue."""
    down, p = cue_probs(style, analysis)
    return tuple(float(down[i]) for i in pick_peaks(p, threshold=style.threshold, min_gap=style.min_gap_bars))
