"""Frame-level features for the weight-free detector (numpy + scipy only, no numba).

All features share one frame rate: ``sample_rate_hz / hop`` (22050 / 256 = 86.13 Hz). The STFT is
computed in blocks and reduced at once, so memory grows with the number of frames times the
number of mel bands (64), never with the full spectrogram.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.fft

from djstruct.constants import BAND_EDGES_HZ, DSP_FMAX_HZ, DSP_HOP, DSP_N_FFT, DSP_N_MELS, KICK_BAND_HZ
from djstruct.signal import mel_filterbank
from djstruct.types import Audio

N_FFT, HOP, N_MELS = DSP_N_FFT, DSP_HOP, DSP_N_MELS
_BLOCK_FRAMES = 4096


@dataclass(frozen=True)
class Features:
    """Frame-wise features, frame rate ``fps`` (frame i is centred at i / fps seconds).

    mel: (n, 64) float32 log-power mel spectrogram (dB);
    bands: (n, 3) float32 power in bass/mid/high bands (dB);
    onset: (n,) float32 spectral-flux onset strength (all bands);
    onset_low: (n,) float32 flux below ~200 Hz (kick drum);
    rms_db: (n,) float32 frame loudness (dB).
    """

    fps: float
    mel: np.ndarray
    bands: np.ndarray
    onset: np.ndarray
    onset_low: np.ndarray
    rms_db: np.ndarray

    @cached_property
    def band_power(self) -> np.ndarray:
        """(n, 4) float64 linear power in bass, mid, high and all bands."""
        pw = 10.0 ** (self.bands.astype(np.float64) / 10.0)
        return np.concatenate([pw, pw.sum(axis=1, keepdims=True)], axis=1)

    @property
    def n_frames(self) -> int:
        return len(self.onset)

    @property
    def duration_s(self) -> float:
        return self.n_frames / self.fps


def compute_features(audio: Audio) -> Features:
    """Features of ``audio`` (any rate; 22050 Hz expected)."""
    sr = audio.sample_rate_hz
    x = np.asarray(audio.samples, dtype=np.float32)
    pad = N_FFT // 2
    x = np.pad(x, (pad, pad))
    n_frames = max(1 + (len(x) - N_FFT) // HOP, 1)
    if len(x) < N_FFT:
        x = np.pad(x, (0, N_FFT - len(x)))
    window = np.hanning(N_FFT + 1)[:-1].astype(np.float32)
    fb = mel_filterbank(sr, N_FFT, N_MELS, fmax=min(DSP_FMAX_HZ, sr / 2))
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / sr)
    k_bass, k_high, k_low = (int(np.searchsorted(freqs, hz)) for hz in (*BAND_EDGES_HZ, KICK_BAND_HZ))
    band_slices = [slice(0, k_bass), slice(k_bass, k_high), slice(k_high, None)]

    mel = np.empty((n_frames, N_MELS), dtype=np.float32)
    bands = np.empty((n_frames, 3), dtype=np.float32)
    rms = np.empty(n_frames, dtype=np.float32)
    low_log = np.empty((n_frames, k_low), dtype=np.float32)
    frames_view = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP]
    for a in range(0, n_frames, _BLOCK_FRAMES):
        b = min(a + _BLOCK_FRAMES, n_frames)
        spec = scipy.fft.rfft(frames_view[a:b] * window, axis=1)
        power = (spec.real**2 + spec.imag**2).astype(np.float32)
        mel[a:b] = 10.0 * np.log10(power @ fb.T + 1e-10)
        sums = np.stack([power[:, sl].sum(axis=1) for sl in band_slices], axis=1)
        bands[a:b] = 10.0 * np.log10(sums + 1e-10)
        rms[a:b] = 10.0 * np.log10(sums.sum(axis=1) / (N_FFT * window.sum()) + 1e-12)
        low_log[a:b] = 10.0 * np.log10(power[:, :k_low] + 1e-10)

    onset = _flux(mel)
    onset_low = _flux(low_log)
    return Features(sr / HOP, mel, bands, onset, onset_low, rms)


def _flux(logspec: np.ndarray) -> np.ndarray:
    """Half-wave rectified spectral flux of a (n, bins) dB spectrogram, floored at -80 dB below
    the maximum so that noise in silent parts adds nothing."""
    s = np.maximum(logspec, logspec.max() - 80.0)
    d = np.diff(s, axis=0, prepend=s[:1])
    f = np.maximum(d, 0.0).mean(axis=1)
    # Remove the slowly varying part (local mean over ~0.5 s) so swells don't count as onsets.
    k = 43
    local = np.convolve(f, np.ones(k) / k, mode="same")
    return np.maximum(f - local, 0.0).astype(np.float32)
