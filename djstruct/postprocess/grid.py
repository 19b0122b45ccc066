"""Beat-grid fitting from a beat activation curve (pure numpy).

Dance music is played from a constant-tempo grid, and DJ software stores one. So instead of
tracking beats one by one, we fit a grid ``t_k = t0 + k * period`` to the whole track:

1. tempo from the autocorrelation of the activation, folded into a preferred BPM range;
2. phase from a comb filter over all phases;
3. a robust least-squares refinement on the activation peaks nearest to each predicted beat,
   which makes the period exact to ~1e-4 BPM over a whole track.

Used by both detectors: ``dsp`` feeds an onset-strength envelope, ``ml`` a beat probability.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Grid:
    """A constant-tempo grid. ``beats`` (n,) s; ``bpm``; ``fit_quality`` in [0, 1]."""

    bpm: float
    t0: float
    beats: np.ndarray
    fit_quality: float


def _acf(x: np.ndarray, max_lag: int) -> np.ndarray:
    x = x - x.mean()
    n = len(x)
    f = np.fft.rfft(x, 2 * n)
    ac = np.fft.irfft(f * np.conj(f))[: max_lag + 1]
    return ac / max(ac[0], 1e-12)


def _parabolic(y: np.ndarray, i: int) -> float:
    if 0 < i < len(y) - 1:
        a, b, c = y[i - 1], y[i], y[i + 1]
        den = a - 2 * b + c
        if abs(den) > 1e-12:
            return i + 0.5 * (a - c) / den
    return float(i)


def estimate_bpm(
    act: np.ndarray, fps: float, bpm_range: tuple[float, float] = (88.0, 186.0)
) -> float | None:
    """Dominant tempo of ``act`` (n,) at ``fps`` frames/s, folded by octaves into ``bpm_range``."""
    if len(act) < fps * 4 or not np.any(act > 0):
        return None
    max_lag = int(fps * 60.0 / 40.0)
    ac = _acf(act.astype(np.float64), min(max_lag, len(act) - 1))
    lags = np.arange(len(ac), dtype=np.float64)
    with np.errstate(divide="ignore"):
        bpms = 60.0 * fps / lags
    # Score each candidate period by its own peak plus its multiples (a harmonic comb), which
    # favours the beat period over sub-beat periodicities of hats.
    lo, hi = bpm_range
    best, best_score = None, -np.inf
    cand = np.where((bpms >= lo / 2.05) & (bpms <= hi * 2.05))[0]
    for lag in cand[(cand > 1) & (cand < len(ac) - 1)]:
        if not (ac[lag] >= ac[lag - 1] and ac[lag] >= ac[lag + 1]):
            continue
        lagf = _parabolic(ac, int(lag))
        bpm = 60.0 * fps / lagf
        score = 0.0
        for m in (1, 2, 3, 4):
            j = int(round(lagf * m))
            if j < len(ac):
                score += ac[max(j - 1, 0): j + 2].max() / m**0.5
        if score > best_score:
            best, best_score = bpm, score
    if best is None:
        return None
    # Refine on the 4th multiple of the period: its peak position is 4x more precise.
    lag1 = 60.0 * fps / best
    j = int(round(4 * lag1))
    if j + 2 < len(ac):
        k = j - 2 + int(np.argmax(ac[j - 2: j + 3]))
        best = 60.0 * fps / (_parabolic(ac, k) / 4.0)
    while best < lo:
        best *= 2.0
    while best >= hi:
        best /= 2.0
    return float(best)


def _peak_near(act: np.ndarray, centre: float, radius: float) -> tuple[float, float]:
    """Sub-frame position and height of the largest value of ``act`` within ``centre +- radius``."""
    a = max(int(np.floor(centre - radius)), 0)
    b = min(int(np.ceil(centre + radius)) + 1, len(act))
    if b - a < 3:
        return centre, 0.0
    i = a + int(np.argmax(act[a:b]))
    return _parabolic(act, i), float(act[i])


def _comb_sum(act: np.ndarray, t0: float, period: float, a: int, b: int) -> float:
    """Sum of the activation's local maxima (+-2 frames) at t0 + k * period within [a, b)."""
    k = np.arange(int(np.ceil((a - t0) / period)), int(np.floor((b - 1 - t0) / period)) + 1)
    idx = np.round(t0 + k * period).astype(int)
    win = np.clip(idx[:, None] + np.arange(-2, 3)[None, :], 0, len(act) - 1)
    return float(act[win].max(axis=1).sum())


def _refine(act: np.ndarray, t0: float, period: float, a: int, b: int) -> tuple[float, float, float]:
    """Robust least squares of the activation peaks near each predicted beat in frames [a, b).
    Returns (t0, period, inlier fraction); unchanged values when too few peaks are found."""
    k = np.arange(int(np.ceil((a - t0) / period)), int(np.floor((b - 1 - t0) / period)) + 1)
    if len(k) < 8:
        return t0, period, 0.0
    pred = t0 + k * period
    peaks = np.array([_peak_near(act, p, 0.2 * period) for p in pred])
    pos, height = peaks[:, 0], peaks[:, 1]
    use = height > max(float(np.percentile(height, 30)), 1e-9)
    coef = np.array([t0, period])
    for _ in range(3):
        if use.sum() < 8:
            return t0, period, 0.0
        A = np.stack([np.ones(int(use.sum())), k[use]], axis=1)
        coef, *_ = np.linalg.lstsq(A, pos[use], rcond=None)
        resid = pos - (coef[0] + coef[1] * k)
        mad = float(np.median(np.abs(resid[use]))) + 1e-3
        use = use & (np.abs(resid) < max(3.0 * mad, 0.5))
    return float(coef[0]), float(coef[1]), float(use.mean())


def _comb_search(
    act: np.ndarray, t0s: np.ndarray, periods: np.ndarray, a: int, b: int
) -> tuple[float, float]:
    """(t0, period) among the candidates whose comb over frames [a, b) collects the most of
    ``act`` (linearly interpolated). t0s are phases in frames, periods in frames."""
    best, best_val = (float(t0s[0]), float(periods[0])), -np.inf
    for period in periods:
        k = np.arange(int(np.ceil(a / period)), int((b - 1) / period))
        if len(k) == 0:
            continue
        idx = t0s[:, None] + (k * period)[None, :]
        idx = np.clip(idx, 0, len(act) - 1.001)
        lo = np.floor(idx).astype(int)
        frac = idx - lo
        vals = (act[lo] * (1.0 - frac) + act[lo + 1] * frac).sum(axis=1)
        j = int(np.argmax(vals))
        if vals[j] > best_val:
            best, best_val = (float(t0s[j]), float(period)), float(vals[j])
    return best


def fit_grid(
    act: np.ndarray,
    fps: float,
    bpm: float,
    *,
    active: tuple[float, float] | None = None,
    phase_act: np.ndarray | None = None,
) -> Grid:
    """Fit ``t_k = t0 + k*60/bpm`` to the peaks of ``act`` (n,) at ``fps``; beats are returned
    for the ``active`` span (start_s, end_s) of the track (default: all of it). ``phase_act``
    (n,), when given, decides between the grid and the one half a beat later (on- vs off-beat).

    A coarse-to-fine comb search over tempo (+-2 % of ``bpm``) and phase on the whole span
    finds the grid that collects the most activation; a robust least-squares fit on the peaks
    nearest to each grid beat then makes it exact."""
    n = len(act)
    span_a, span_b = (0, n) if active is None else (max(int(active[0] * fps), 0), min(int(active[1] * fps) + 1, n))
    if span_b - span_a < 4:
        span_a, span_b = 0, n
    smooth = np.convolve(act, np.array([0.25, 0.5, 0.25]), mode="same")
    p0 = fps * 60.0 / bpm
    t0, period = _comb_search(smooth, np.arange(0.0, p0, 0.5), p0 * (1.0 + np.linspace(-0.02, 0.02, 161)),
                              span_a, span_b)
    t0, period = _comb_search(smooth, t0 + np.linspace(-0.5, 0.5, 11),
                              period * (1.0 + np.linspace(-2.5e-4, 2.5e-4, 26)), span_a, span_b)
    t0, period, quality = _refine(act, t0, period, span_a, span_b)
    # The window fit can lock onto off-beats (a strong off-beat bass in a drop); over the whole
    # span the on-beat comb (kicks in intros and outros) wins, so compare the two half-phases.
    judge = act if phase_act is None else phase_act
    on = _comb_sum(judge, t0, period, span_a, span_b)
    off = _comb_sum(judge, t0 + period / 2.0, period, span_a, span_b)
    if off > (1.1 if phase_act is None else 1.0) * on:
        t0, period, quality = _refine(act, t0 + period / 2.0, period, span_a, span_b)
    t0 = t0 % period
    start_f, end_f = span_a, span_b
    k0 = int(np.ceil((start_f - t0) / period - 0.25))
    k1 = int(np.floor((end_f - t0) / period + 0.25))
    k = np.arange(max(k0, 0), max(k1, k0) + 1)
    k = np.concatenate([[k[0] - 1], k]) if len(k) else k  # a beat a hair before frame 0 still counts
    beats = (t0 + k * period) / fps
    beats = beats[(beats >= -0.05) & (beats <= n / fps)]
    return Grid(bpm=60.0 * fps / period, t0=t0 / fps, beats=beats, fit_quality=quality)


def end_on_bar_line(beats: np.ndarray, phase: int, period: float, active_end_s: float,
                    duration_s: float) -> tuple[np.ndarray, float]:
    """Music ends on a bar line: the first one at or after the end of the audible part (a sparse
    last bar, e.g. half-time drums, falls silent before its bar line). Returns the beats before
    that bar line and its time (s), ``beats[phase]`` being a downbeat."""
    bar = 4.0 * period
    first_down = beats[phase]
    end_s = first_down + np.ceil((active_end_s - 0.05 * bar - first_down) / bar) * bar
    end_s = float(min(end_s, duration_s))
    return beats[beats < end_s - 0.25 * period], end_s
