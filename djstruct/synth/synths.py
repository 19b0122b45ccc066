"""Tonal instruments: band-limited wavetable oscillators with a low-pass 'filter' per note.

A note reads two single-cycle tables of the same pitch, one through a dark and one through a
bright low-pass response (applied to the harmonic amplitudes, so no IIR filter runs on the
audio), and cross-fades between them: statically, as a sweep (buildups) or with an LFO (dubstep
wobble). Detuned voices make supersaws. Notes are cached by their parameters, so a drop that
repeats a 4-bar progression renders each distinct note once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from djstruct.synth.instruments import SR

logger = logging.getLogger(__name__)

TABLE_N = 2048
_FRAC_BITS = 32 - 11  # TABLE_N == 2 ** 11
_FRAC_MASK = (1 << _FRAC_BITS) - 1
BRIGHT_STEPS = 24  # sweep positions are quantised to 1/24 so swept notes can be cached too


@dataclass(frozen=True)
class Patch:
    """A synth voice. Cut-offs in Hz, times in seconds, ``detune_cents`` is the total spread,
    ``width`` 0 (mono) to 1 (voices panned hard left/right), ``resonance`` is the filter Q."""

    name: str
    wave: str  # "saw" | "square"
    voices: int
    detune_cents: float
    width: float
    cutoff_lo_hz: float
    cutoff_hi_hz: float
    resonance: float
    attack_s: float
    decay_s: float
    sustain: float
    release_s: float
    gain: float
    phases: tuple[float, ...]  # start phase of each voice, 0-1


def make_patch(rng: np.random.Generator, name: str, genre: str) -> Patch:
    """Draw a patch for a role: ``bass``, ``lead``, ``chords`` or ``pad``."""
    u = rng.uniform
    if name == "bass":
        voices = 3 if genre == "dnb" else 1
        wave = "square" if rng.random() < 0.3 and genre != "dnb" else "saw"
        return Patch(name, wave, voices, u(15, 30) if voices > 1 else 0.0, 0.0, u(120, 220), u(900, 2200),
                     u(0.8, 2.5) if genre == "techno" else u(0.7, 1.2), 0.003, u(0.08, 0.3), u(0.5, 0.9),
                     0.02, 1.0, tuple(u(0, 1, voices)))
    if name == "lead":
        voices = int(rng.integers(5, 8)) if genre != "techno" else 1
        wave = "square" if genre == "dubstep" and rng.random() < 0.5 else "saw"
        res = u(1.5, 4.0) if genre == "techno" else u(0.7, 1.3)
        return Patch(name, wave, voices, u(15, 40), u(0.5, 0.9), u(300, 700), u(3000, 8000), res,
                     0.004, u(0.1, 0.4), u(0.4, 0.8), u(0.03, 0.12), 1.0, tuple(u(0, 1, voices)))
    if name == "chords":
        voices = int(rng.integers(3, 6))
        return Patch(name, "saw", voices, u(10, 30), u(0.4, 0.8), u(300, 600), u(2000, 5000), u(0.7, 1.2),
                     0.003, u(0.05, 0.2), u(0.2, 0.6), 0.04, 1.0, tuple(u(0, 1, voices)))
    voices = int(rng.integers(4, 7))  # pad
    return Patch(name, "saw", voices, u(10, 25), u(0.6, 1.0), u(250, 500), u(1500, 4000), 0.8,
                 u(0.2, 0.8), 1.0, 1.0, u(0.3, 0.8), 1.0, tuple(u(0, 1, voices)))


def midi_hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


def wavetable(wave: str, f0_hz: float, cutoff_hz: float, q: float) -> np.ndarray:
    """One cycle of a band-limited saw/square through a 2-pole low-pass of Q ``q``.

    Returns ``(TABLE_N + 1,)`` float32 (last sample repeats the first for interpolation); a
    full-bright saw peaks near 1.
    """
    kmax = max(1, min(TABLE_N // 2 - 1, int(0.45 * SR / f0_hz)))
    k = np.arange(1, kmax + 1)
    amp = 1.0 / k
    if wave == "square":
        amp = np.where(k % 2 == 1, amp, 0.0)
    x = k * f0_hz / cutoff_hz
    amp = amp / np.sqrt((1.0 - x * x) ** 2 + (x / q) ** 2)
    spec = np.zeros(TABLE_N // 2 + 1, dtype=np.complex128)
    spec[1: kmax + 1] = -0.5j * TABLE_N * amp
    table = np.fft.irfft(spec, TABLE_N) * (2.0 / np.pi)
    return np.append(table, table[0]).astype(np.float32)


class NoteRenderer:
    """Renders and caches notes of one patch. A note is ``(2, n + release)`` float32."""

    def __init__(self, patch: Patch) -> None:
        self.patch = patch
        self._tables: dict[tuple[int, int], np.ndarray] = {}
        self._notes: dict[tuple[int, int, int, int, float], np.ndarray] = {}
        v = patch.voices
        spread = np.linspace(-0.5, 0.5, v) if v > 1 else np.zeros(1)
        self._detune = 2.0 ** (spread * patch.detune_cents / 1200.0)
        pan = spread * 2 * patch.width if v > 1 else np.zeros(1)
        self._gl = np.sqrt(0.5 * (1 - pan)) * np.sqrt(2.0 / v)
        self._gr = np.sqrt(0.5 * (1 + pan)) * np.sqrt(2.0 / v)

    def _table(self, midi: int, q: int) -> np.ndarray:
        """Table of ``midi`` at brightness ``q / BRIGHT_STEPS`` (a mix of the dark and bright tables)."""
        key = (midi, q)
        if key not in self._tables:
            p = self.patch
            if q == 0:
                self._tables[key] = wavetable(p.wave, midi_hz(midi), p.cutoff_lo_hz, p.resonance)
            elif q == BRIGHT_STEPS:
                self._tables[key] = wavetable(p.wave, midi_hz(midi), p.cutoff_hi_hz, p.resonance)
            else:
                lo, hi = self._table(midi, 0), self._table(midi, BRIGHT_STEPS)
                self._tables[key] = lo + np.float32(q / BRIGHT_STEPS) * (hi - lo)
        return self._tables[key]

    def _envelope(self, n: int, n_rel: int) -> np.ndarray:
        p = self.patch
        t = np.arange(n + n_rel, dtype=np.float32) / np.float32(SR)
        env = p.sustain + (1.0 - p.sustain) * np.exp(t * np.float32(-1.0 / max(p.decay_s, 1e-3)))
        env *= np.minimum(np.float32(1.0), t * np.float32(1.0 / max(p.attack_s, 1e-4)))
        if n_rel:
            level = env[n - 1] if n > 0 else 0.0
            env[n:] = level * np.linspace(1.0, 0.0, n_rel, dtype=np.float32)
        return env

    def note(self, midi: int, n: int, bright0: float, bright1: float | None = None,
             lfo_samples: float = 0.0) -> np.ndarray:
        """Render (or fetch) a note of ``n`` gate samples plus the patch release.

        Brightness 0 = dark table, 1 = bright table; ``bright1`` sweeps linearly to it over the
        note; ``lfo_samples`` > 0 wobbles between ``bright0`` and ``bright1`` with that period.
        """
        q0 = int(round(bright0 * BRIGHT_STEPS))
        q1 = q0 if bright1 is None else int(round(bright1 * BRIGHT_STEPS))
        key = (midi, n, q0, q1, round(lfo_samples, 1))
        cached = self._notes.get(key)
        if cached is not None:
            return cached
        p = self.patch
        n_rel = int(p.release_s * SR)
        m = n + n_rel
        b0, b1 = q0 / BRIGHT_STEPS, q1 / BRIGHT_STEPS
        mix32: np.ndarray | None = None
        if lfo_samples > 0 or q1 != q0:
            t = np.arange(m, dtype=np.float32)
            if lfo_samples > 0:
                mix32 = b0 + (b1 - b0) * 0.5 * (1.0 - np.cos(t * np.float32(2 * np.pi / lfo_samples)))
            else:
                mix32 = b0 + (b1 - b0) * np.minimum(np.float32(1.0), t / np.float32(max(n, 1)))
            lo, hi = self._table(midi, 0), self._table(midi, BRIGHT_STEPS)
        else:  # static brightness: mixing the tables once is the same as mixing the outputs
            lo = hi = self._table(midi, q0)
        f0 = midi_hz(midi)
        out = np.zeros((2, m), dtype=np.float32)
        n32 = np.arange(m, dtype=np.uint32)
        for v in range(p.voices):
            # 32-bit fixed-point phase accumulator: wraps exactly, top 11 bits index the table
            inc = np.uint32(int(f0 * self._detune[v] / SR * 2.0**32) & 0xFFFFFFFF)
            ph = n32 * inc + np.uint32(int(p.phases[v] * 2.0**32) & 0xFFFFFFFF)
            i = ph >> np.uint32(_FRAC_BITS)
            fr = (ph & np.uint32(_FRAC_MASK)).astype(np.float32) * np.float32(2.0**-_FRAC_BITS)
            a = lo[i] + fr * (lo[i + 1] - lo[i])
            if mix32 is not None:
                b = hi[i] + fr * (hi[i + 1] - hi[i])
                a += mix32 * (b - a)
            out[0] += a * np.float32(self._gl[v])
            out[1] += a * np.float32(self._gr[v])
        out *= (self._envelope(n, n_rel) * p.gain).astype(np.float32)
        self._notes[key] = out
        return out
