"""Drum and noise instruments: one-shots rendered once per track, plus noise risers.

Every one-shot is a stereo ``(2, n)`` float32 array at :data:`SR` with a peak near 1; the score
places copies of it. Timbres are drawn from the track's sound generator, so kits differ between
tracks (kick pitch and decay, snare tone, hat brightness, ...).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy import signal

logger = logging.getLogger(__name__)

SR = 44100


@dataclass(frozen=True)
class DrumKit:
    """One-shots of one track, each ``(2, n)`` float32 at 44.1 kHz, peak about 1.

    ``toms`` holds three pitches (low to high) for fills; ``boom`` is a sub drop for drop starts.
    """

    kick: np.ndarray
    snare: np.ndarray
    clap: np.ndarray
    hat: np.ndarray
    ohat: np.ndarray
    perc: np.ndarray
    crash: np.ndarray
    toms: tuple[np.ndarray, ...]
    boom: np.ndarray


def _t(dur_s: float) -> np.ndarray:
    return np.arange(int(dur_s * SR)) / SR


def _filt(x: np.ndarray, kind: str, freq: float | tuple[float, float], order: int = 2) -> np.ndarray:
    sos = signal.butter(order, freq, btype=kind, fs=SR, output="sos")
    return signal.sosfilt(sos, x, axis=-1)


def _finish(x: np.ndarray, pan: float = 0.0, fade_s: float = 0.005) -> np.ndarray:
    """Normalise to peak 1, fade the end, pan a mono shot (``pan`` -1..1) or keep stereo."""
    x = np.asarray(x, dtype=np.float64)
    nf = min(int(fade_s * SR), x.shape[-1])
    if nf:
        x[..., -nf:] *= np.linspace(1.0, 0.0, nf)
    x = x / (np.max(np.abs(x)) + 1e-12)
    if x.ndim == 1:
        gl, gr = np.sqrt(0.5 * (1 - pan)), np.sqrt(0.5 * (1 + pan))
        x = np.stack([x * gl, x * gr]) * np.sqrt(2.0)
    return x.astype(np.float32)


def kick(rng: np.random.Generator, genre: str) -> np.ndarray:
    """Pitch-swept sine kick with a click: 150-260 Hz sweeping down to 42-58 Hz."""
    dur = rng.uniform(0.22, 0.3) if genre == "dnb" else rng.uniform(0.3, 0.48)
    t = _t(dur)
    f_end, f_start = rng.uniform(42, 58), rng.uniform(150, 260)
    f = f_end + (f_start - f_end) * np.exp(-t / rng.uniform(0.018, 0.045))
    body = np.sin(2 * np.pi * np.cumsum(f) / SR) * np.exp(-t / (dur * rng.uniform(0.25, 0.4)))
    click = _filt(rng.standard_normal(t.size), "highpass", 2000.0) * np.exp(-t / 0.002)
    x = np.tanh(rng.uniform(1.0, 2.5) * body) + rng.uniform(0.1, 0.35) * click
    return _finish(x)


def snare(rng: np.random.Generator, pitch: float = 1.0) -> np.ndarray:
    """Snare: a decaying tone (~160-240 Hz) plus band-passed noise; ``pitch`` scales the tone."""
    t = _t(rng.uniform(0.18, 0.28))
    f0 = rng.uniform(160, 240) * pitch
    tone = np.sin(2 * np.pi * f0 * t * (1 + 0.3 * np.exp(-t / 0.01))) * np.exp(-t / 0.045)
    noise = _filt(rng.standard_normal(t.size), "bandpass", (1200.0, 9000.0)) * np.exp(-t / rng.uniform(0.05, 0.1))
    return _finish(rng.uniform(0.5, 1.0) * tone + 1.6 * noise)


def clap(rng: np.random.Generator) -> np.ndarray:
    """Clap: three noise bursts 8-12 ms apart and a tail, band-passed around 1-3 kHz, slightly wide."""
    t = _t(0.3)
    gap = rng.uniform(0.008, 0.012)
    env = sum(np.where(t >= k * gap, np.exp(-(t - k * gap) / 0.004), 0.0) for k in range(3))
    env = env + 0.6 * np.where(t >= 3 * gap, np.exp(-(t - 3 * gap) / rng.uniform(0.06, 0.12)), 0.0)
    lo = rng.uniform(800, 1300)
    noise = _filt(rng.standard_normal((2, t.size)), "bandpass", (lo, lo * 3), order=2)
    return _finish(noise * env)


def hat(rng: np.random.Generator, open_: bool) -> np.ndarray:
    """Closed (25-45 ms decay) or open (150-300 ms) hat: high-passed noise with metallic partials."""
    decay = rng.uniform(0.15, 0.3) if open_ else rng.uniform(0.025, 0.045)
    t = _t(decay * 5)
    cut = rng.uniform(6500, 9500)
    noise = _filt(rng.standard_normal(t.size), "highpass", cut, order=4)
    metal = sum(np.sign(np.sin(2 * np.pi * f * t)) for f in rng.uniform(3000, 8000, 4))
    metal = _filt(metal, "highpass", cut, order=2)
    x = (noise + 0.15 * metal) * np.exp(-t / decay)
    return _finish(x, pan=float(rng.uniform(-0.3, 0.3)))


def perc(rng: np.random.Generator) -> np.ndarray:
    """Short rim/shaker: band-passed noise with a pitched blip, panned off centre."""
    t = _t(0.12)
    f = rng.uniform(600, 1500)
    x = np.sin(2 * np.pi * f * t) * np.exp(-t / 0.012)
    x = x + _filt(rng.standard_normal(t.size), "bandpass", (f * 2, min(f * 6, 18000.0))) * np.exp(-t / 0.02)
    return _finish(x, pan=float(rng.choice([-0.5, 0.5])))


def crash(rng: np.random.Generator) -> np.ndarray:
    """Crash cymbal: wide high-passed noise with inharmonic partials, 0.7-1.2 s decay, 3 s long."""
    t = _t(3.0)
    decay = rng.uniform(0.7, 1.2)
    noise = _filt(rng.standard_normal((2, t.size)), "highpass", rng.uniform(3000, 4500), order=2)
    ring = sum(np.sin(2 * np.pi * f * t + p) for f, p in zip(rng.uniform(3500, 9000, 6),
                                                            rng.uniform(0, 6.28, 6), strict=True))
    attack = np.minimum(1.0, t / 0.002)
    x = (noise + 0.08 * ring) * np.exp(-t / decay) * attack
    return _finish(x, fade_s=0.2)


def tom(rng: np.random.Generator, f0: float) -> np.ndarray:
    """Tom for fills: a sine dropping from 1.5 x ``f0`` to ``f0`` with a noise attack."""
    t = _t(0.3)
    f = f0 * (1 + 0.5 * np.exp(-t / 0.03))
    x = np.sin(2 * np.pi * np.cumsum(f) / SR) * np.exp(-t / 0.09)
    x = x + 0.2 * _filt(rng.standard_normal(t.size), "bandpass", (800.0, 5000.0)) * np.exp(-t / 0.01)
    return _finish(x)


def boom(rng: np.random.Generator) -> np.ndarray:
    """Sub drop for a drop start: a sine falling from ~90 Hz to ~35 Hz over 1.5 s."""
    t = _t(1.6)
    f = 35 + rng.uniform(45, 60) * np.exp(-t / 0.4)
    x = np.sin(2 * np.pi * np.cumsum(f) / SR) * np.exp(-t / 0.6) * np.minimum(1.0, t / 0.003)
    return _finish(x, fade_s=0.1)


def make_kit(rng: np.random.Generator, genre: str) -> DrumKit:
    """Render every one-shot of one track's drum kit."""
    base = rng.uniform(90, 140)
    return DrumKit(
        kick=kick(rng, genre), snare=snare(rng), clap=clap(rng), hat=hat(rng, False), ohat=hat(rng, True),
        perc=perc(rng), crash=crash(rng), toms=tuple(tom(rng, base * r) for r in (1.0, 1.33, 1.78)),
        boom=boom(rng),
    )


def riser(rng: np.random.Generator, n: int, f_lo: float = 300.0, f_hi: float = 9000.0) -> np.ndarray:
    """Noise riser, ``(2, n)`` float32: a noise band sweeping up from ``f_lo`` to ``f_hi`` Hz while
    fading in (peak about 1 at the end). Spectral synthesis with 50 % overlap-add, no IIR filter."""
    nfft, hop = 2048, 1024
    n_frames = n // hop + 2
    prog = np.clip(np.arange(n_frames) / max(1, n_frames - 2), 0.0, 1.0)
    centre = f_lo * (f_hi / f_lo) ** (prog ** 1.5)
    freqs = np.fft.rfftfreq(nfft, 1.0 / SR)
    logf = np.log(np.maximum(freqs, 20.0))
    mag = np.exp(-0.5 * ((logf[None, :] - np.log(centre)[:, None]) / 0.55) ** 2)
    mag *= (prog ** 2 * 0.95 + 0.05)[:, None]
    win = np.hanning(nfft + 1)[:nfft]
    out = np.zeros((2, (n_frames + 1) * hop))
    for ch in range(2):
        spec = mag * (rng.standard_normal(mag.shape) + 1j * rng.standard_normal(mag.shape))
        frames = np.fft.irfft(spec, nfft, axis=1) * win
        out[ch, : n_frames * hop] += frames[:, :hop].ravel()
        out[ch, hop: (n_frames + 1) * hop] += frames[:, hop:].ravel()
    out = out[:, hop: hop + n]  # drop the half-window ramp at the start
    return (out / (np.max(np.abs(out)) + 1e-12)).astype(np.float32)
