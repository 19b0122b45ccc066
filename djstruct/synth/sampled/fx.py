"""Production effects, vectorised: filter sweeps (a crossfaded filter bank), side-chain envelopes,
reverb (a decaying stereo noise impulse response, convolved at 11.025 kHz), tempo-synced
ping-pong delay, noise risers and downlifters, reversed crashes.

All buffers are channel-first ``(2, n)`` float32 at 44.1 kHz unless a docstring says otherwise.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import numpy as np
from scipy import signal

logger = logging.getLogger(__name__)

SR = 44100
DECIM = 4  # the reverb/delay bus runs at SR / DECIM
PREROLL = 4096  # samples an IIR runs before the part of it that is used


@lru_cache(maxsize=1024)
def _sos(kind: str, cutoff_hz: float, order: int) -> np.ndarray:
    f = float(np.clip(cutoff_hz, 15.0, 0.45 * SR))
    out = signal.butter(order, f, btype="lowpass" if kind == "lp" else "highpass", fs=SR, output="sos")
    return out.astype(np.float32)


def sos(kind: str, cutoff_hz: float, order: int = 2) -> np.ndarray:
    """Butterworth low/high-pass sections (float32, cached by cutoff rounded to 0.1 %)."""
    q = float(np.exp(np.round(np.log(max(cutoff_hz, 1.0)) * 1000) / 1000))
    return _sos(kind, q, order)


def filt(x: np.ndarray, kind: str, cutoff_hz: float, order: int = 2) -> np.ndarray:
    """Static Butterworth low/high-pass of ``x`` along its last axis."""
    return signal.sosfilt(sos(kind, cutoff_hz, order), x, axis=-1).astype(np.float32, copy=False)


def band(x: np.ndarray, hp_hz: float | None, lp_hz: float | None) -> np.ndarray:
    """High-pass and/or low-pass ``x`` in one pass (2nd-order Butterworth each)."""
    parts = ([sos("hp", hp_hz)] if hp_hz else []) + ([sos("lp", lp_hz)] if lp_hz else [])
    if not parts:
        return x
    return signal.sosfilt(np.concatenate(parts), x, axis=-1).astype(np.float32, copy=False)


def sweep(buf: np.ndarray, s0: int, s1: int, kind: str, f0: float, f1: float, steps: int = 8) -> None:
    """Filter ``buf[:, s0:s1]`` in place with a cutoff moving from ``f0`` to ``f1`` Hz (log ramp):
    ``steps`` static 4th-order filters, each run only where it is heard (plus a pre-roll), with
    linear crossfades between neighbours."""
    n = buf.shape[1]
    s0, s1 = max(0, s0), min(n, s1)
    if s1 - s0 < 64:
        return
    cut = np.geomspace(max(f0, 15.0), max(f1, 15.0), steps)
    edges = np.linspace(s0, s1, steps).astype(np.int64)  # filter k is pure at edges[k]
    src = buf[:, max(0, s0 - PREROLL): s1].copy()
    base = max(0, s0 - PREROLL)
    ys = []
    for k in range(steps):
        a = edges[max(0, k - 1)]
        b = edges[min(steps - 1, k + 1)]
        lo = max(base, a - PREROLL)
        y = signal.sosfilt(sos(kind, float(cut[k]), 4), src[:, lo - base: b - base], axis=-1)
        ys.append((lo, y))
    for k in range(steps - 1):
        a, b = edges[k], edges[k + 1]
        if b <= a:
            continue
        w = np.linspace(0.0, 1.0, b - a, endpoint=False, dtype=np.float32)[None, :]
        (lo0, y0), (lo1, y1) = ys[k], ys[k + 1]
        buf[:, a:b] = y0[:, a - lo0: b - lo0] * (1.0 - w) + y1[:, a - lo1: b - lo1] * w


def gain_ramp(buf: np.ndarray, s0: int, s1: int, db0: float, db1: float) -> None:
    """Multiply ``buf[:, s0:s1]`` by a ramp from ``db0`` to ``db1`` dB (linear in dB); silence after
    ``s1`` when the ramp ends at -40 dB or below (a fade-out)."""
    n = buf.shape[1]
    a, b = max(0, s0), min(n, s1)
    if b > a:
        db = np.linspace(db0, db1, s1 - s0, dtype=np.float32)[a - s0: b - s0]
        buf[:, a:b] *= np.power(np.float32(10.0), db / np.float32(20.0))[None, :]
    if db1 <= -40.0 and s1 < n:
        buf[:, max(0, s1):] = 0.0


def duck_shape(beat_s: float, depth: float, release_beats: float) -> np.ndarray:
    """Side-chain gain after one kick, ``(m,)`` float32: 2 ms down to ``1 - depth``, back over the release."""
    m = int(release_beats * beat_s * SR)
    t = np.arange(m, dtype=np.float32) / max(m, 1)
    att = np.minimum(1.0, np.arange(m, dtype=np.float32) / (0.002 * SR))
    return (1.0 - depth * att * (1.0 - t) ** 2).astype(np.float32)


def impulse_response(rng: np.random.Generator, rt60_s: float, predelay_s: float, damp_hz: float) -> np.ndarray:
    """A stereo reverb impulse response at ``SR / DECIM``, ``(2, m)`` float32, unit energy."""
    sr = SR // DECIM
    m = int((rt60_s + predelay_s) * sr)
    t = np.arange(m) / sr
    env = np.exp(-6.91 * np.maximum(t - predelay_s, 0.0) / rt60_s) * (t >= predelay_s)
    ir = rng.standard_normal((2, m)) * env[None, :]
    b, a = signal.butter(1, min(damp_hz, 0.45 * sr), fs=sr)
    ir = signal.lfilter(b, a, ir, axis=-1)
    ir /= np.sqrt(np.sum(ir ** 2) / 2) + 1e-12
    return ir.astype(np.float32)


def decimate(x: np.ndarray) -> np.ndarray:
    """``(2, n)`` at SR -> ``(2, n // DECIM)`` at SR / DECIM (box average; fine for a reverb send)."""
    m = x.shape[1] // DECIM
    y = x[:, 0: m * DECIM: DECIM].astype(np.float32, copy=True)
    for k in range(1, DECIM):
        y += x[:, k: m * DECIM: DECIM]
    return y * np.float32(1.0 / DECIM)


def interpolate(x: np.ndarray, n: int) -> np.ndarray:
    """``(2, m)`` at SR / DECIM -> ``(2, n)`` at SR (linear, written phase by phase)."""
    out = np.zeros((2, n), dtype=np.float32)
    m = min(x.shape[1], -(-n // DECIM))
    nxt = np.concatenate([x[:, 1:m], x[:, m - 1: m]], axis=1)
    for k in range(DECIM):
        cnt = len(range(k, n, DECIM))
        c = min(cnt, m)
        w = np.float32(k / DECIM)
        out[:, k: k + DECIM * c: DECIM] = x[:, :c] * (1 - w) + nxt[:, :c] * w
    return out


def reverb_delay(send_rev: np.ndarray, send_dly: np.ndarray, ir: np.ndarray, delay_s: float, feedback: float,
                 n: int) -> np.ndarray:
    """Wet return ``(2, n)`` at SR from sends at SR / DECIM: the reverb send convolved with ``ir`` plus a
    ping-pong feedback delay of the delay send (taps every ``delay_s``, alternating sides, darker each time)."""
    r = send_rev
    wet = np.stack([signal.oaconvolve(r[c], ir[c])[: r.shape[1]] for c in range(2)]).astype(np.float32)
    d = send_dly.mean(axis=0)
    step = int(delay_s * SR / DECIM)
    if np.any(d) and step > 0:
        tap = d
        for k in range(1, 7):  # ping-pong: odd taps left, even taps right, each darker and quieter
            off = step * k
            if off >= len(d):
                break
            tap = filt_dec(tap, 3500.0) * np.float32(feedback)
            side = k % 2
            wet[side, off:] += tap[: len(d) - off]
            wet[1 - side, off:] += np.float32(0.3) * tap[: len(d) - off]
    return interpolate(wet, n)


def filt_dec(x: np.ndarray, cutoff_hz: float) -> np.ndarray:
    b, a = signal.butter(1, cutoff_hz, fs=SR // DECIM)
    return signal.lfilter(b, a, x, axis=-1).astype(np.float32)


def noise_riser(rng: np.random.Generator, n: int, up: bool = True) -> np.ndarray:
    """A noise sweep of ``n`` samples, ``(2, n)`` float32 peaking near 1: a band of noise whose edges
    sweep up while it swells (a riser), or, with ``up=False``, the same played backwards (a downlifter)."""
    x = rng.standard_normal((2, n), dtype=np.float32)
    lo0, hi0 = float(rng.uniform(150, 500)), float(rng.uniform(1500, 3000))
    sweep(x, 0, n, "hp", lo0, lo0 * float(rng.uniform(6, 14)), steps=6)
    sweep(x, 0, n, "lp", hi0, float(rng.uniform(9000, 16000)), steps=6)
    t = np.linspace(0.0, 1.0, n, dtype=np.float32)
    x *= (0.03 + 0.97 * t ** 2)[None, :]
    x /= float(np.max(np.abs(x[:, -min(n, SR):]))) + 1e-9
    return x if up else np.ascontiguousarray(x[:, ::-1])


def reverse(x: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` samples of ``x`` played backwards (a reverse crash ends on its attack)."""
    y = np.array(x[:, :n][:, ::-1], dtype=np.float32)
    k = min(y.shape[1], 256)
    y[:, :k] *= np.linspace(0.0, 1.0, k, dtype=np.float32)[None, :]
    return y
