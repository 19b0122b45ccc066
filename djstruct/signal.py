"""The signal floor shared by the ``dsp`` detector, the model frontend and training (numpy only).

- :func:`to_analysis_rate`: downmix to mono and resample to :data:`~djstruct.constants.ANALYSIS_RATE_HZ`;
- :func:`mel_filterbank`: the triangular mel filterbank both front ends use;
- :func:`band_level_to_unit`: band levels (dB) -> energy in [0, 1], the one mapping of every detector;
- :func:`active_span`: where a track is not silent.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from djstruct.constants import (
    ANALYSIS_RATE_HZ,
    BAND_EDGES_HZ,
    MODEL_FMAX_HZ,
    MODEL_FMIN_HZ,
    MODEL_N_FFT,
    MODEL_N_MELS,
)

ENERGY_RANGE_DB = 50.0  # energy 0 is this far below a band's loud level (its 99th percentile), 1 at it


def to_analysis_rate(audio: np.ndarray, sample_rate_hz: int, target_hz: int = ANALYSIS_RATE_HZ) -> np.ndarray:
    """Downmix (n, channels) or (n,) audio to mono and resample it to ``target_hz`` (soxr HQ); (m,) float32."""
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if sample_rate_hz != target_hz:
        import soxr

        x = soxr.resample(x, sample_rate_hz, target_hz, quality="HQ")
    return np.ascontiguousarray(x, dtype=np.float32)


def mel_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float = 30.0, fmax: float | None = None) -> np.ndarray:
    """Slaney-style triangular mel filterbank, (n_mels, n_fft // 2 + 1) float32."""
    fmax = fmax or sr / 2.0

    def hz2mel(f: np.ndarray | float) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def mel2hz(m: np.ndarray) -> np.ndarray:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    pts = mel2hz(np.linspace(hz2mel(fmin), hz2mel(fmax), n_mels + 2))
    fb = np.zeros((n_mels, len(freqs)), dtype=np.float32)
    for i in range(n_mels):
        lo, c, hi = pts[i], pts[i + 1], pts[i + 2]
        up = (freqs - lo) / max(c - lo, 1e-9)
        down = (hi - freqs) / max(hi - c, 1e-9)
        fb[i] = np.maximum(0.0, np.minimum(up, down)) * (2.0 / (hi - lo))
    return fb


def mel_band_index(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """(n_mels,) int: the energy band (0 bass, 1 mid, 2 high; edges ``BAND_EDGES_HZ``) of the centre
    frequency of each bin of :func:`mel_filterbank`."""
    fb = mel_filterbank(sr, n_fft, n_mels, fmin=fmin, fmax=fmax).astype(np.float64)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    centre = (fb * freqs[None, :]).sum(axis=1) / (fb.sum(axis=1) + 1e-12)
    return np.searchsorted(np.asarray(BAND_EDGES_HZ), centre).astype(np.int64)


@lru_cache(maxsize=1)
def model_mel_band_index() -> np.ndarray:
    """:func:`mel_band_index` of the model front end's 80-band log-mel (``MODEL_*`` constants)."""
    return mel_band_index(ANALYSIS_RATE_HZ, MODEL_N_FFT, MODEL_N_MELS, MODEL_FMIN_HZ, MODEL_FMAX_HZ)


def band_power_from_mel(mel_db: np.ndarray, band_index: np.ndarray) -> np.ndarray:
    """(n_frames, 4) float64 linear power in the bass, mid, high and all bands of a (n_frames,
    n_mels) dB log-mel, ``band_index`` giving each bin's band (:func:`mel_band_index`)."""
    mel_db = np.asarray(mel_db)
    onehot = (np.asarray(band_index)[:, None] == np.arange(3)[None, :]).astype(np.float64)
    onehot = np.concatenate([onehot, np.ones((len(band_index), 1))], axis=1)  # (n_mels, 4)
    out = np.empty((len(mel_db), 4), dtype=np.float64)
    for i in range(0, len(mel_db), 1 << 15):  # in blocks: a 2-hour mix never holds a float64 copy of its mel
        out[i: i + (1 << 15)] = (10.0 ** (mel_db[i: i + (1 << 15)].astype(np.float64) / 10.0)) @ onehot
    return out


def band_level_to_unit(db: np.ndarray) -> np.ndarray:
    """(n, bands) levels in dB -> (n, bands) float32 energy in [0, 1]: linear from
    :data:`ENERGY_RANGE_DB` below each band's loud level (its 99th percentile over the track) up to it."""
    db = np.asarray(db)  # keep the caller's precision: results are compared to 3 decimals
    if len(db) == 0:
        return np.zeros(db.shape, dtype=np.float32)
    ref = np.percentile(db, 99, axis=0)
    return np.clip((db - (ref - ENERGY_RANGE_DB)) / ENERGY_RANGE_DB, 0.0, 1.0).astype(np.float32)


def active_span(rms_db: np.ndarray, fps: float, floor_db: float = 45.0) -> tuple[float, float] | None:
    """(start_s, end_s) of the part of the track louder than ``max - floor_db``; None if silent."""
    if len(rms_db) == 0:
        return None
    peak = float(np.percentile(rms_db, 99.5))
    if peak < -70.0:
        return None
    on = np.where(rms_db > peak - floor_db)[0]
    if len(on) == 0:
        return None
    return on[0] / fps, (on[-1] + 1) / fps
