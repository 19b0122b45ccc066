"""A small player for Gravis UltraSound patches (``.pat``, the format of Debian's ``freepats``).

A patch holds one or more samples, each covering a key range with its root frequency, loop
points and mode bits. :func:`load_patch` parses one file; :func:`render_patch_note` plays a note
by resampling the sample (linear interpolation, vectorised) and running through its sustain loop
while the key is held, then a release. The patches' own envelope rates are not emulated: held
notes sustain at the loop level and release exponentially, which is what a producer's sampler
does with such a sample anyway.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from djstruct.errors import DjstructError

logger = logging.getLogger(__name__)

SR = 44100
HEADER = b"GF1PATCH110\x00"
MODE_16BIT, MODE_UNSIGNED, MODE_LOOP, MODE_PINGPONG, MODE_REVERSE = 1, 2, 4, 8, 16


@dataclass(frozen=True)
class GusSample:
    """One sample of a patch: mono float32 ``data`` at ``rate_hz``, played unshifted at ``root_hz``
    for keys between ``lo_hz`` and ``hi_hz``; loop ``[loop_start, loop_end)`` in samples."""

    data: np.ndarray
    rate_hz: int
    root_hz: float
    lo_hz: float
    hi_hz: float
    loop_start: int
    loop_end: int
    looping: bool
    pan: float  # -1 (left) .. 1 (right)


@lru_cache(maxsize=256)
def load_patch(path: Path) -> tuple[GusSample, ...]:
    """Parse a GUS ``.pat`` file; :class:`DjstructError` if it is not one."""
    d = Path(path).read_bytes()
    if not d.startswith(HEADER) or len(d) < 239:
        raise DjstructError(path, "not a GF1PATCH110 patch")
    n_samples = d[198]
    off = 239
    out = []
    for _ in range(n_samples):
        h = d[off: off + 96]
        if len(h) < 96:
            raise DjstructError(path, "truncated patch header")
        length, ls, le = struct.unpack("<III", h[8:20])
        (rate,) = struct.unpack("<H", h[20:22])
        lo, hi, root = struct.unpack("<III", h[22:34])
        balance, modes = h[36], h[55]
        raw = d[off + 96: off + 96 + length]
        off += 96 + length
        if modes & MODE_16BIT:
            x = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<u2" if modes & MODE_UNSIGNED else "<i2")
            x = x.astype(np.float32)
            if modes & MODE_UNSIGNED:
                x -= 32768.0
            x /= 32768.0
            ls, le = ls // 2, le // 2
        else:
            x = np.frombuffer(raw, dtype=np.uint8 if modes & MODE_UNSIGNED else np.int8).astype(np.float32)
            if modes & MODE_UNSIGNED:
                x -= 128.0
            x /= 128.0
        if modes & MODE_REVERSE:
            x = x[::-1]
        looping = bool(modes & MODE_LOOP) and 0 <= ls < le <= len(x) and le - ls > 16
        out.append(GusSample(np.ascontiguousarray(x), int(rate), root / 1000.0, lo / 1000.0, hi / 1000.0,
                             int(ls), int(le), looping, (balance - 7.5) / 7.5))
    if not out:
        raise DjstructError(path, "patch has no samples")
    return tuple(out)


def _pick(samples: tuple[GusSample, ...], freq: float) -> GusSample:
    for s in samples:
        if s.lo_hz <= freq <= s.hi_hz:
            return s
    return min(samples, key=lambda s: abs(np.log(max(s.root_hz, 1.0) / freq)))


def midi_hz(midi: float) -> float:
    return float(440.0 * 2.0 ** ((midi - 69.0) / 12.0))


def render_patch_note(path: Path, midi: float | None, hold: int, release_s: float = 0.25,
                      max_len: int = 4 * SR) -> np.ndarray:
    """``(2, m)`` float32: one note of the patch at ``path`` (``midi=None``: the sample's own pitch,
    as for a drum). ``hold`` samples with the key down, then the release."""
    samples = load_patch(Path(path))
    freq = samples[0].root_hz if midi is None else midi_hz(midi)
    s = _pick(samples, freq)
    step = (freq / s.root_hz if midi is not None and s.root_hz > 0 else 1.0) * s.rate_hz / SR
    rel = int(release_s * SR)
    if s.looping:
        n = min(max_len, hold + rel)
    else:
        n = min(max_len, int((len(s.data) - 1) / step), hold + rel if midi is not None else max_len)
    n = max(n, 16)
    pos = np.arange(n, dtype=np.float64) * step
    if s.looping:
        span = s.loop_end - s.loop_start
        past = pos >= s.loop_start
        pos[past] = s.loop_start + np.mod(pos[past] - s.loop_start, span)
    pos = np.minimum(pos, len(s.data) - 1.001)
    i0 = pos.astype(np.int64)
    frac = (pos - i0).astype(np.float32)
    y = s.data[i0] * (1.0 - frac) + s.data[i0 + 1] * frac
    env = np.ones(n, dtype=np.float32)
    if midi is not None and n > hold:
        t = np.arange(n - hold, dtype=np.float32) / SR
        env[hold:] = np.exp(-t / max(release_s / 5.0, 1e-3))
    nf = min(n, 64)
    env[-nf:] *= np.linspace(1.0, 0.0, nf, dtype=np.float32)
    y = y * env
    gl, gr = np.sqrt(0.5 * (1 - 0.6 * s.pan)), np.sqrt(0.5 * (1 + 0.6 * s.pan))
    return np.stack([y * gl, y * gr]).astype(np.float32) * np.float32(np.sqrt(2.0))
