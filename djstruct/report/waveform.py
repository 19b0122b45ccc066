"""Compact per-column summaries of a track for drawing: a peak/RMS waveform envelope and the band
energy, both on the same ``n`` columns spanning the track (pure numpy, except :func:`file_envelope`,
which decodes).

Quantised to small integers so that a page's JSON stays small: waveform 0-255 (relative to the
track's loudest column, as DJ software scales its overviews), energy 0-100.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from djstruct.audio import load_audio
from djstruct.audio.chatter import decoder_messages
from djstruct.errors import DjstructError
from djstruct.report.palette import ENERGY_SMOOTH_S
from djstruct.types import Energy

log = logging.getLogger(__name__)

DEFAULT_POINTS = 1500
DECODE_RATE_HZ = 4000


@dataclass(frozen=True)
class Envelope:
    """``peak`` and ``rms``: (n,) uint8 in 0-255, one per column of ``col_s`` seconds; ``source`` is
    ``"audio"`` (decoded), ``"energy"`` (drawn from the stored energy: file missing or unreadable) or
    ``"none"``."""

    peak: np.ndarray
    rms: np.ndarray
    col_s: float
    source: str
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"n": int(len(self.peak)), "col_s": round(self.col_s, 6), "source": self.source, "note": self.note,
                "peak": self.peak.astype(int).tolist(), "rms": self.rms.astype(int).tolist()}


def n_columns(duration_s: float, points: int = DEFAULT_POINTS) -> int:
    """Columns for a track: ``points``, fewer for very short tracks (at least 20 ms per column)."""
    return int(max(1, min(points, np.ceil(max(duration_s, 0.0) / 0.02))))


def envelope(samples: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Peak (max |x|) and RMS of ``samples`` (m,) over ``n`` equal columns, both (n,) float32 in the
    samples' scale; columns past the end of a short signal are 0."""
    x = np.abs(np.asarray(samples, dtype=np.float32).ravel())
    if n <= 0:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    edges = np.linspace(0, len(x), n + 1).astype(np.int64)
    peak = np.zeros(n, np.float32)
    rms = np.zeros(n, np.float32)
    nonempty = edges[1:] > edges[:-1]
    if len(x) and nonempty.any():
        starts = edges[:-1][nonempty]
        peak[nonempty] = np.maximum.reduceat(x, starts)
        sq = np.add.reduceat(x.astype(np.float64) ** 2, starts)
        counts = (edges[1:] - edges[:-1])[nonempty]
        rms[nonempty] = np.sqrt(sq / counts).astype(np.float32)
    return peak, rms


def quantise(peak: np.ndarray, rms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both scaled so the loudest peak is 255, as uint8."""
    top = float(np.max(peak)) if len(peak) else 0.0
    scale = 255.0 / top if top > 1e-9 else 0.0
    q = lambda a: np.clip(np.round(np.asarray(a, np.float64) * scale), 0, 255).astype(np.uint8)  # noqa: E731
    return q(peak), q(rms)


def smooth(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average over ``width`` samples (edges averaged over what is there)."""
    if width <= 1 or len(x) == 0:
        return np.asarray(x, dtype=np.float64)
    k = np.ones(int(width))
    return np.convolve(x, k, mode="same") / np.convolve(np.ones(len(x)), k, mode="same")


def energy_columns(energy: Energy | None, duration_s: float, n: int,
                   smooth_s: float = ENERGY_SMOOTH_S) -> dict[str, list[int]] | None:
    """The band energies averaged over ``n`` columns spanning ``duration_s`` then smoothed over
    ``smooth_s`` seconds: ``{"bass", "mid", "high"}`` -> n ints 0-100 (columns between frames are
    interpolated); None without energy."""
    if energy is None or len(energy.bass) == 0 or n <= 0 or duration_s <= 0:
        return None
    nf = len(energy.bass)
    centres = (np.arange(nf) + 0.5) * energy.hop_s
    col = np.clip((centres / duration_s * n).astype(np.int64), 0, n - 1)
    counts = np.bincount(col, minlength=n).astype(np.float64)
    col_centres = (np.arange(n) + 0.5) * duration_s / n
    out: dict[str, list[int]] = {}
    for band in ("bass", "mid", "high"):
        v = np.asarray(getattr(energy, band), dtype=np.float64)[:nf]
        sums = np.bincount(col, weights=v, minlength=n)
        vals = np.interp(col_centres, centres, v)  # for columns with no frame in them
        have = counts > 0
        vals[have] = sums[have] / counts[have]
        vals = smooth(vals, int(round(smooth_s * n / duration_s)))
        out[band] = np.clip(np.round(vals * 100.0), 0, 100).astype(int).tolist()
    return out


def from_energy(energy: Energy | None, duration_s: float, n: int, note: str) -> Envelope:
    """A stand-in waveform when the audio cannot be read: the loudest band as the peak, the mean of
    the bands as the RMS; flat zero without energy."""
    cols = energy_columns(energy, duration_s, n)
    col_s = duration_s / n if n else 0.0
    if cols is None:
        z = np.zeros(n, np.uint8)
        return Envelope(z, z.copy(), col_s, "none", note)
    b, m, h = (np.asarray(cols[k], np.float64) / 100.0 for k in ("bass", "mid", "high"))
    peak, rms = quantise(np.maximum(np.maximum(b, m), h), (b + m + h) / 3.0)
    return Envelope(peak, rms, col_s, "energy", note)


def file_envelope(path: Path, duration_s: float, n: int, rate_hz: int = DECODE_RATE_HZ) -> Envelope:
    """Decode ``path`` at ``rate_hz`` (mono) and summarise it over ``n`` columns spanning
    ``duration_s`` (the analysed duration, so columns line up with the analysis). Raises
    DjstructError when the file cannot be decoded."""

    audio = load_audio(path, rate_hz, max_duration_s=None)
    want = int(round(duration_s * rate_hz))
    x = audio.samples[:want] if want > 0 else audio.samples
    if 0 < len(x) < want:
        x = np.concatenate([x, np.zeros(want - len(x), np.float32)])
    peak, rms = envelope(x, n)
    qp, qr = quantise(peak, rms)
    return Envelope(qp, qr, duration_s / n if n else 0.0, "audio")


def envelope_job(path: str, duration_s: float, n: int,
                 rate_hz: int) -> tuple[str, dict[str, Any] | str, tuple[str, ...]]:
    """Worker-pool entry point: ``(path, Envelope.to_dict() or an error line, what the native
    decoder printed)``."""
    notes: list[str] = []
    try:
        with decoder_messages() as notes:
            env: dict[str, Any] | str = file_envelope(Path(path), duration_s, n, rate_hz).to_dict()
    except DjstructError as e:
        env = str(e)
    except Exception as e:  # a batch never dies on one track
        log.debug("envelope of %s failed", path, exc_info=True)
        env = f"{path}: cannot decode for the waveform: {e}"
    return path, env, tuple(notes)
