"""Vocal-like layers from espeak-ng: spoken phrases, pitched syllable chops and one-word shouts.

espeak-ng speaks a phrase nearly monotone (SSML ``range="x-low"``) into a 22.05 kHz WAV on
stdout; the audio is resampled to 44.1 kHz, split into syllables at the minima of its envelope,
and each syllable is resampled from the phrase's measured pitch to a note of the track's melody
(the way producers chop and re-pitch an acapella). Speech is cached per process: espeak-ng is
deterministic, so the cache never changes what a track sounds like.
"""

from __future__ import annotations

import io
import logging
import subprocess
from functools import lru_cache

import numpy as np

from djstruct.synth.sampled.registry import MissingSoundError, source_path
from djstruct.synth.sampled.voices import SR, resample_pitch

logger = logging.getLogger(__name__)

PHRASES: tuple[str, ...] = (
    "feel the music", "take me higher", "all night long", "lose control", "hands up", "let me go",
    "we are one", "don't stop now", "into the light", "come with me", "can you feel it", "tonight",
    "oh oh oh", "yeah yeah", "hey", "one more time", "set me free", "move your body", "so deep", "falling",
)
SHOUTS: tuple[str, ...] = ("hey", "drop", "go", "yeah", "now", "ah")


@lru_cache(maxsize=256)
def speak(voice: str, text: str, speed: int = 150, pitch: int = 50) -> np.ndarray:
    """``text`` spoken by espeak-ng ``voice`` (``"en-gb+f3"``): ``(n,)`` float32 at 44.1 kHz, peak 1."""
    exe = source_path("espeak-ng")
    ssml = f'<speak><prosody range="x-low">{text}</prosody></speak>'
    try:
        res = subprocess.run([str(exe), "-v", voice, "-s", str(speed), "-p", str(pitch), "-m", "--stdout", ssml],
                             capture_output=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as e:
        raise MissingSoundError(exe, f"espeak-ng failed for voice {voice}: {e}") from e
    import soundfile as sf

    x, sr = sf.read(io.BytesIO(res.stdout), dtype="float32")
    if x.ndim > 1:
        x = x.mean(axis=1)
    import soxr

    x = soxr.resample(x, sr, SR).astype(np.float32)
    peak = float(np.max(np.abs(x))) + 1e-9
    x = x / peak
    x.setflags(write=False)
    return x


def f0_hz(x: np.ndarray) -> float:
    """Median pitch (Hz) of the voiced frames of ``x`` by frame autocorrelation (60-500 Hz)."""
    n = 2048
    hop = 1024
    if len(x) < n:
        return 150.0
    k = (len(x) - n) // hop + 1
    idx = np.arange(n)[None, :] + hop * np.arange(k)[:, None]
    fr = x[idx] * np.hanning(n)[None, :]
    energy = (fr ** 2).sum(axis=1)
    spec = np.abs(np.fft.rfft(fr, 2 * n, axis=1)) ** 2
    ac = np.fft.irfft(spec, axis=1)[:, :n]
    lo, hi = int(SR / 500), int(SR / 60)
    lags = lo + np.argmax(ac[:, lo:hi], axis=1)
    half = np.maximum(lags // 2, 1)
    rows = np.arange(k)
    lags = np.where((half >= lo) & (ac[rows, half] > 0.85 * ac[rows, lags]), half, lags)  # octave errors
    strength = ac[np.arange(k), lags] / (ac[:, 0] + 1e-12)
    voiced = (energy > 0.1 * energy.max()) & (strength > 0.4)
    if not voiced.any():
        return 150.0
    return float(np.median(SR / lags[voiced]))


def syllables(x: np.ndarray, max_n: int = 8) -> list[np.ndarray]:
    """Split speech ``x`` at envelope minima into at most ``max_n`` chunks (each >= 60 ms)."""
    hop = 441  # 10 ms
    k = len(x) // hop
    env = np.sqrt(np.square(x[: k * hop]).reshape(k, hop).mean(axis=1))
    env = np.convolve(env, np.ones(5) / 5, mode="same")
    thr = 0.15 * env.max()
    mins = [i for i in range(1, k - 1) if env[i] <= env[i - 1] and env[i] < env[i + 1] and env[i] < thr]
    cuts = [0]
    for m in mins:
        if m - cuts[-1] >= 6:
            cuts.append(m)
    cuts.append(k)
    parts = [x[a * hop: b * hop] for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    parts = [p for p in parts if np.sqrt(np.mean(p ** 2)) > 0.03] or [x]
    return parts[:max_n]


def _fade(x: np.ndarray, n_in: int = 64, n_out: int = 441) -> np.ndarray:
    y = np.array(x, dtype=np.float32)
    a, b = min(n_in, len(y)), min(n_out, len(y))
    y[:a] *= np.linspace(0.0, 1.0, a, dtype=np.float32)
    y[len(y) - b:] *= np.linspace(1.0, 0.0, b, dtype=np.float32)
    return y


def chop(voice: str, text: str, midis: list[int], lengths: list[int], speed: int = 150) -> list[np.ndarray]:
    """Syllables of ``text`` re-pitched to ``midis`` and cut to ``lengths`` samples, mono float32 each."""
    x = speak(voice, text, speed)
    base = f0_hz(x)
    parts = syllables(x)
    out = []
    for i, (m, n) in enumerate(zip(midis, lengths, strict=True)):
        p = parts[i % len(parts)]
        ratio = 440.0 * 2 ** ((m - 69) / 12) / base
        y = resample_pitch(p[None, :], float(np.clip(ratio, 0.35, 3.0)))[0]
        out.append(_fade(y[: max(64, n)]))
    return out


def phrase(voice: str, text: str, target_midi: int, speed: int = 150) -> np.ndarray:
    """The whole phrase moved (pitch and speed together) to sit near ``target_midi``, mono float32."""
    x = speak(voice, text, speed)
    ratio = 440.0 * 2 ** ((target_midi - 69) / 12) / f0_hz(x)
    return _fade(resample_pitch(x[None, :], float(np.clip(ratio, 0.6, 1.7)))[0])
