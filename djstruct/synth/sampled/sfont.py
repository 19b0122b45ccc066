"""Soundfont notes through FluidSynth (pyfluidsynth + libfluidsynth3), rendered one note at a time
(:class:`~djstruct.synth.sampled.voices.VoiceBank` caches them per track, so a track's repeated
notes are synthesised once).

A note is rendered from a silent synth (every voice off) as float32 stereo at 44.1 kHz: ``hold``
samples with the key down (rounded up to FluidSynth's 64-sample block: events only take effect
on block boundaries), then the release until it falls 80 dB below its peak (at most about
``tail`` samples). FluidSynth's own reverb and chorus are off (the mixer has its own sends), and
samples load on demand, so opening the 84 MB MuseScore soundfont costs milliseconds and only the
presets a track uses are decoded. A note's first block depends on the state earlier notes left
the synth's voices in, so each track gets fresh instances (25-50 ms to create): a track then
renders the same samples in any process, whatever ran before.
"""

from __future__ import annotations

import ctypes
import logging
from pathlib import Path

import numpy as np

from djstruct.synth.sampled.registry import MissingSoundError

logger = logging.getLogger(__name__)

SR = 44100
BLOCK = 4096
QUANTUM = 64  # FluidSynth's internal block: events only take effect on its boundaries


class _Fluid:
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
