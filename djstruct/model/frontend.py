"""Log-mel frontend, computed in torch.

Input: mono audio at ``SAMPLE_RATE_HZ`` (22050 Hz), float32 in [-1, 1].
Output: ``(n_frames, N_MELS)`` float32 log-power mel spectrogram in dB (10 * log10(power + 1e-10)),
frame rate ``FPS`` = 22050 / 512 = 43.07 Hz; frame ``i`` is centred at ``i / FPS`` seconds
(centred STFT, Hann window of ``N_FFT`` = 1024 samples = 46 ms), ``n_frames = 1 + n_samples // HOP``.

The same constants define the feature cache of :mod:`djstruct.train.dataset`; changing any of them
changes :func:`frontend_id` and so invalidates cached features.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np
import torch

from djstruct.constants import (
    ANALYSIS_RATE_HZ,
    MODEL_FMAX_HZ,
    MODEL_FMIN_HZ,
    MODEL_FPS,
    MODEL_HOP,
    MODEL_N_FFT,
    MODEL_N_MELS,
)
from djstruct.signal import band_level_to_unit, band_power_from_mel, mel_filterbank, model_mel_band_index

SAMPLE_RATE_HZ, N_FFT, HOP, N_MELS = ANALYSIS_RATE_HZ, MODEL_N_FFT, MODEL_HOP, MODEL_N_MELS
FMIN_HZ, FMAX_HZ, FPS = MODEL_FMIN_HZ, MODEL_FMAX_HZ, MODEL_FPS


def frontend_id() -> str:
    """Short hash of the frontend parameters (part of feature-cache file names)."""
    s = f"{SAMPLE_RATE_HZ}-{N_FFT}-{HOP}-{N_MELS}-{FMIN_HZ}-{FMAX_HZ}-v1"
    return hashlib.sha1(s.encode()).hexdigest()[:8]


def n_frames_for(n_samples: int) -> int:
    """Number of frames the frontend yields for ``n_samples`` samples."""
    return 1 + int(n_samples) // HOP


@lru_cache(maxsize=1)
def _filterbank() -> torch.Tensor:
    return torch.from_numpy(mel_filterbank(SAMPLE_RATE_HZ, N_FFT, N_MELS, fmin=FMIN_HZ, fmax=FMAX_HZ))


@lru_cache(maxsize=1)
def _window() -> torch.Tensor:
    return torch.hann_window(N_FFT)


def log_mel(wave: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Log-mel of ``wave`` (n,) or (B, n) at 22050 Hz -> (n_frames, N_MELS) or (B, n_frames, N_MELS)
    float32 dB. The whole STFT is held at once: about 12 bytes x 513 bins per frame, ~100 MB for a
    6-minute track, ~0.5 GB for a 30-minute mix."""
    x = torch.as_tensor(wave, dtype=torch.float32)
    single = x.ndim == 1
    if single:
        x = x[None]
    n = x.shape[-1]
    if n < N_FFT // 2 + 1:  # reflect padding needs at least half a window
        x = torch.nn.functional.pad(x, (0, N_FFT // 2 + 1 - n))
    spec = torch.stft(x, N_FFT, HOP, window=_window(), center=True, pad_mode="constant", return_complex=True)
    power = spec.real.square() + spec.imag.square()  # (B, bins, frames)
    mel = torch.matmul(_filterbank(), power)  # (B, n_mels, frames)
    out = 10.0 * torch.log10(mel + 1e-10)
    out = out.transpose(1, 2)[:, : n_frames_for(n)].contiguous()
    return out[0] if single else out


def band_energy_from_mel(mel_db: np.ndarray) -> np.ndarray:
    """(n_frames, 3) float32 in [0, 1]: bass/mid/high power from a (n_frames, N_MELS) dB log-mel,
    mapped by :func:`djstruct.signal.band_level_to_unit` like the ``dsp`` detector's energy."""
    sums = band_power_from_mel(mel_db, model_mel_band_index())[:, :3]
    return band_level_to_unit(10.0 * np.log10(sums + 1e-10))


def loudness_db(mel_db: np.ndarray) -> np.ndarray:
    """(n_frames,) total mel power per frame in dB, scaled like the ``rms_db`` of
    :mod:`djstruct.detect.features` (power / (N_FFT * window sum)), for ``active_span``."""
    p = (10.0 ** (mel_db.astype(np.float64) / 10.0)).sum(axis=1) / (N_FFT * N_FFT / 2.0)
    return (10.0 * np.log10(p + 1e-12)).astype(np.float32)
