"""Playable sounds: recorded one-shots (Sonic Pi FLACs), soundfont presets (FluidSynth) and GUS
patches (freepats), behind one interface, ``Voice.play(midi, hold, velocity) -> (2, m) float32``.

Every voice renders at 44.1 kHz stereo. Pitched one-shots are resampled from their root (read
from the file name, octave measured from the audio); unpitched ones play as recorded. A
:class:`VoiceBank` is created per track and caches each distinct note it renders, and its
FluidSynth instances are private to the track, so a track's audio never depends on what the
process rendered before.

Soundfont notes (:class:`Fluid`, pyfluidsynth + libfluidsynth3) are rendered one at a time as
float32 stereo: ``hold`` samples with the key down (rounded up to FluidSynth's 64-sample block:
events only take effect on block boundaries), then the release until it falls 80 dB below its
peak. FluidSynth's own reverb and chorus are off (the mixer has its own sends), and samples load
on demand, so opening the 84 MB MuseScore soundfont costs milliseconds and only the presets a
track uses are decoded. A note's first block depends on the state earlier notes left the synth's
voices in, which is why every track gets fresh instances (25-50 ms to create).
"""

from __future__ import annotations

import ctypes
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from djstruct.synth.sampled import gus
from djstruct.synth.sampled.registry import MissingSoundError

logger = logging.getLogger(__name__)

SR = 44100
BLOCK = 4096
QUANTUM = 64  # FluidSynth's internal block: events only take effect on its boundaries


class Fluid:
    """One FluidSynth instance with one soundfont loaded."""

    def __init__(self, path: Path) -> None:
        try:
            import fluidsynth
        except (ImportError, OSError) as e:  # pyfluidsynth absent, or libfluidsynth3 absent
            raise MissingSoundError(None, f"soundfont playback needs pyfluidsynth and libfluidsynth3: {e}") from e
        self._fs = fluidsynth
        self.synth = fluidsynth.Synth(gain=0.8, samplerate=float(SR))
        for key, val in (("synth.reverb.active", 0), ("synth.chorus.active", 0),
                         ("synth.dynamic-sample-loading", 1), ("synth.polyphony", 256)):
            self.synth.setting(key, val)
        self.sfid = self.synth.sfload(str(path))
        if self.sfid < 0:
            raise MissingSoundError(path, "FluidSynth could not load this soundfont")
        self.path = path
        write = fluidsynth._fl.fluid_synth_write_float
        write.restype = ctypes.c_int
        write.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                          ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
        self._write = write
        self._selected: dict[int, tuple[int, int]] = {}

    def has_preset(self, bank: int, preset: int) -> bool:
        return bool(self.synth.sfpreset_name(self.sfid, bank, preset))

    def _render(self, n: int) -> np.ndarray:
        out = np.zeros((2, n), dtype=np.float32)
        left, right = out[0], out[1]
        self._write(self.synth.synth, n, left.ctypes.data, 0, 1, right.ctypes.data, 0, 1)
        return out

    def note(self, bank: int, preset: int, midi: int, velocity: int, hold: int, tail: int,
             drum: bool = False) -> np.ndarray:
        """``(2, m)`` float32: one note from silence (see the module docstring)."""
        chan = 9 if drum else 0
        if self._selected.get(chan) != (bank, preset):
            self.synth.program_select(chan, self.sfid, bank, preset)
            self._selected[chan] = (bank, preset)
        self.synth.noteon(chan, int(midi), int(velocity))
        on = self._render(-(-max(1, hold) // QUANTUM) * QUANTUM)
        self.synth.noteoff(chan, int(midi))
        parts = [on]
        peak = float(np.max(np.abs(on))) + 1e-9
        done = 0
        while done < tail:
            blk = self._render(BLOCK)
            parts.append(blk)
            done += blk.shape[1]
            if float(np.max(np.abs(blk))) < peak * 1e-4:
                break
        self.synth.all_sounds_off(chan)
        self._render(256)  # flush the voices that were just killed
        return np.concatenate(parts, axis=1)


PITCH_CLASS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}


@lru_cache(maxsize=512)
def load_sample(path: Path) -> np.ndarray:
    """A recorded sample as ``(2, n)`` float32 at 44.1 kHz, leading silence trimmed, peak 1."""
    import soundfile as sf

    try:
        x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (OSError, RuntimeError) as e:  # soundfile raises LibsndfileError (a RuntimeError)
        raise MissingSoundError(path, f"cannot read sample: {e}") from e
    x = x.T
    if x.shape[0] == 1:
        x = np.repeat(x, 2, axis=0)
    x = x[:2]
    if sr != SR:
        import soxr

        x = soxr.resample(x.T, sr, SR).T
    a = np.abs(x).max(axis=0)
    peak = float(a.max()) + 1e-12
    start = int(np.argmax(a > 0.02 * peak))
    x = np.ascontiguousarray(x[:, start:] / peak, dtype=np.float32)
    x.setflags(write=False)
    return x


def estimate_midi(x: np.ndarray, pitch_class: int) -> int:
    """MIDI note of pitch class ``pitch_class`` nearest the measured f0 of ``x`` ``(2, n)``."""
    m = x.mean(axis=0)
    seg = m[int(0.03 * SR): int(0.03 * SR) + 8192]
    if len(seg) < 2048:
        seg = m[:8192]
    seg = seg - seg.mean()
    ac = np.fft.irfft(np.abs(np.fft.rfft(seg, 2 * len(seg))) ** 2)[: len(seg)]
    lo, hi = int(SR / 1000), int(SR / 30)
    lag = lo + int(np.argmax(ac[lo:hi]))
    f0_midi = 69 + 12 * np.log2(SR / lag / 440.0)
    cands = np.arange(pitch_class, 128, 12)
    return int(cands[np.argmin(np.abs(cands - f0_midi))])


def resample_pitch(x: np.ndarray, ratio: float) -> np.ndarray:
    """Play ``x`` ``(2, n)`` ``ratio`` times faster (pitch up by ``12 log2 ratio`` semitones)."""
    if abs(ratio - 1.0) < 1e-4:
        return x
    n = int(x.shape[1] / ratio)
    pos = np.arange(n, dtype=np.float64) * ratio
    i0 = np.minimum(pos.astype(np.int64), x.shape[1] - 2)
    f = (pos - i0).astype(np.float32)
    return x[:, i0] * (1.0 - f) + x[:, i0 + 1] * f


def release(x: np.ndarray, hold: int, release_s: float) -> np.ndarray:
    """Cut ``x`` after ``hold`` samples with an exponential release of ``release_s``."""
    r = int(release_s * SR)
    n = min(x.shape[1], hold + r)
    y = np.array(x[:, :n], dtype=np.float32)
    if n > hold:
        y[:, hold:] *= np.exp(-np.arange(n - hold, dtype=np.float32) / max(1.0, r / 5.0))[None, :]
    nf = min(n, 32)
    y[:, n - nf:] *= np.linspace(1.0, 0.0, nf, dtype=np.float32)[None, :]
    return y


@dataclass(frozen=True)
class Voice:
    """One playable sound. ``kind``: ``"sample"`` (``path`` a FLAC, ``root`` its MIDI pitch or None),
    ``"sf"`` (``path`` a soundfont, ``bank``/``preset``; ``note`` fixed for a drum), ``"gus"``
    (``path`` a patch; ``note`` None for a drum). ``source`` names the registry source."""

    kind: str
    path: Path
    source: str
    bank: int = 0
    preset: int = 0
    note: int | None = None
    root: int | None = None
    release_s: float = 0.2
    gain: float = 1.0

    @property
    def ident(self) -> str:
        if self.kind == "sf":
            tail = f":{self.bank}:{self.preset}" + (f":{self.note}" if self.note is not None else "")
        else:
            tail = ""
        return f"{self.source}:{self.path.stem}{tail}"


@dataclass
class VoiceBank:
    """Renders and caches notes of voices for one track (see the module docstring)."""

    cache: dict[tuple[Any, ...], np.ndarray] = field(default_factory=dict)
    _fluid: dict[str, Any] = field(default_factory=dict)

    def _synth(self, path: Path) -> Any:
        key = str(path)
        if key not in self._fluid:
            self._fluid[key] = Fluid(path)
        return self._fluid[key]

    def close(self) -> None:
        for f in self._fluid.values():
            f.synth.delete()
        self._fluid.clear()
        self.cache.clear()

    def play(self, v: Voice, midi: int | None = None, hold: int = 0, velocity: float = 1.0) -> np.ndarray:
        """``(2, m)`` float32 of ``v`` at ``midi`` held ``hold`` samples, scaled by ``velocity`` (0-1).

        Drums (``midi=None``) ignore ``hold``. The result is cached: do not modify it."""
        vq = int(np.clip(round(velocity * 127), 1, 127))
        key = (v, midi, int(hold) if midi is not None else 0, vq)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        x = self._render(v, midi, hold, vq)
        x = (x * np.float32(v.gain * (vq / 127.0 if v.kind != "sf" else 1.0))).astype(np.float32)
        x.setflags(write=False)
        self.cache[key] = x
        return x

    def _render(self, v: Voice, midi: int | None, hold: int, vq: int) -> np.ndarray:
        if v.kind == "sample":
            x = load_sample(v.path)
            if midi is not None and v.root is not None:
                x = resample_pitch(x, 2.0 ** ((midi - v.root) / 12.0))
                return release(x, max(hold, 256), v.release_s)
            return x
        if v.kind == "gus":
            if v.note is None and midi is None:
                return gus.render_patch_note(v.path, None, 0)
            return gus.render_patch_note(v.path, midi, max(hold, 256), v.release_s)
        synth = self._synth(v.path)
        if v.note is not None:  # a drum of a GM kit
            return synth.note(128, v.preset, v.note, vq, int(0.05 * SR), 3 * SR, True)
        return synth.note(v.bank, v.preset, int(midi if midi is not None else 60), vq, max(hold, 64),
                          int(max(v.release_s, 0.05) * SR * 4), False)
