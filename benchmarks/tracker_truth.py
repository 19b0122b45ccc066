"""Exact beat and downbeat times of a tracker module, from the rows libopenmpt actually played.

A module is a list of patterns of rows; playback steps through rows at ``speed`` ticks per row,
``2.5 / tempo`` seconds per tick (classic tempo mode), with jumps, pattern breaks, loops and
pattern delays. :mod:`tracker_openmpt` records the output frame at which each played row began,
so every rule below works on real playback, whatever effects the module uses:

- a beat starts on every row whose number *within its pattern* is a multiple of ``rows_per_beat``
  and a bar on every multiple of ``rows_per_bar`` (the tracker convention: the row highlights
  trackers draw, every 4 and 16 rows by default; Impulse Tracker and OpenMPT files store their
  own highlights, which :func:`it_highlight` reads);
- ``rows_per_beat`` is then doubled or halved (with the bar) until the tempo lies in
  [``BPM_LO``, ``BPM_HI``): a module at speed 3 writes its beat every 8 rows;
- a bar whose played length is not ``rows_per_bar`` rows (a pattern that is not a whole number
  of bars, a break into the middle of a pattern) and a beat whose length differs from the median
  by more than ``STEADY_TOL`` (a speed change, a pattern delay) are counted, so that a module
  without a steady 4/4 grid can be excluded by the caller, which says why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tracker_openmpt import BLOCK_FRAMES, Rendering

BPM_LO, BPM_HI = 75.0, 180.0
STEADY_TOL = 0.015  # a beat is "steady" within 1.5 % of the median beat length
SILENCE_DB = -50.0  # below the loudest 50 ms frame: no audio, no beats counted there


@dataclass(frozen=True)
class Grid:
    """Beat and bar times (s) of one rendering, and how regular they are."""

    beats_s: np.ndarray
    downbeats_s: np.ndarray
    bpm: float
    rows_per_beat: int
    rows_per_bar: int
    steady_frac: float  # share of beat intervals within STEADY_TOL of the median
    irregular_bars: int  # bars whose played length is not rows_per_bar rows
    n_bars: int
    tempo_changes: int  # (speed, tempo) changes over the song
    bpm_min: float
    bpm_max: float


def it_highlight(data: bytes) -> tuple[int, int] | None:
    """Rows per beat and per measure stored in an IT/MPTM header (bytes 0x1E, 0x1F), if sensible."""
    if len(data) < 0x20 or data[:4] != b"IMPM":
        return None
    rpb, rpm = data[0x1E], data[0x1F]
    if 1 < rpb <= 32 and rpm > rpb and rpm % rpb == 0:
        return int(rpb), int(rpm)
    return None


def row_times_s(r: Rendering) -> np.ndarray:
    """Start of every played row: the middle of the render block that revealed it (+-0.18 ms at
    44.1 kHz); the first row starts at 0 exactly."""
    f = np.array([e.frame for e in r.rows], dtype=np.float64)
    t = (f + BLOCK_FRAMES / 2) / r.sample_rate_hz
    if len(t):
        t[0] = 0.0
    return t


def audible_span_s(audio: np.ndarray, sr: int, floor_db: float = SILENCE_DB) -> tuple[float, float]:
    """First and last 50 ms frame louder than ``floor_db`` below the loudest frame."""
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    hop = max(1, int(0.05 * sr))
    n = len(mono) // hop
    if n == 0:
        return 0.0, 0.0
    rms = np.sqrt(np.mean(mono[: n * hop].reshape(n, hop).astype(np.float64) ** 2, axis=1))
    ref = rms.max()
    if ref <= 0:
        return 0.0, 0.0
    on = np.flatnonzero(rms > ref * 10 ** (floor_db / 20))
    return float(on[0] * hop / sr), float((on[-1] + 1) * hop / sr)


def derive_grid(r: Rendering, rows_per_beat: int = 4, rows_per_bar: int = 16, adjust_octave: bool = True) -> Grid:
    """The beat grid of a rendering (see the module docstring for the rules)."""
    t = row_times_s(r)
    rownum = np.array([e.row for e in r.rows], dtype=np.int64)
    rpb, rpm = rows_per_beat, rows_per_bar
    for _ in range(4):
        beat_idx = np.flatnonzero(rownum % rpb == 0)
        bpm = 60.0 / float(np.median(np.diff(t[beat_idx]))) if len(beat_idx) > 2 else 0.0
        if not adjust_octave or bpm == 0.0:
            break
        if bpm >= BPM_HI:
            rpb, rpm = rpb * 2, rpm * 2
        elif bpm < BPM_LO and rpb % 2 == 0 and rpm % 2 == 0:
            rpb, rpm = rpb // 2, rpm // 2
        else:
            break
    beat_idx = np.flatnonzero(rownum % rpb == 0)
    bar_idx = np.flatnonzero(rownum % rpm == 0)
    end = len(r.audio) / r.sample_rate_hz
    lo, hi = audible_span_s(r.audio, r.sample_rate_hz)
    beats, downs = t[beat_idx], t[bar_idx]
    keep_b = (beats >= lo - 0.05) & (beats < min(hi, end))
    keep_d = (downs >= lo - 0.05) & (downs < min(hi, end))
    ibi = np.diff(beats[keep_b])
    med = float(np.median(ibi)) if len(ibi) else 0.0
    steady = float(np.mean(np.abs(ibi - med) <= STEADY_TOL * med)) if len(ibi) else 0.0
    # played rows between consecutive bar starts (only bars inside the audible span)
    bar_rows = np.diff(bar_idx)
    inside = keep_d[:-1] & keep_d[1:] if len(bar_idx) > 1 else np.zeros(0, dtype=bool)
    irregular = int(np.sum(bar_rows[inside] != rpm))
    st = [(e.speed, e.tempo) for e in r.rows]
    changes = sum(1 for a, b in zip(st, st[1:], strict=False) if a != b)
    inst = 60.0 / ibi if len(ibi) else np.zeros(1)
    return Grid(beats[keep_b], downs[keep_d], 60.0 / med if med else 0.0, rpb, rpm, steady, irregular,
                int(inside.sum()), changes, float(inst.min()), float(inst.max()))


@dataclass(frozen=True)
class PulseCheck:
    """The ear-proxy: onset strength (librosa, mel flux) at the derived grid.

    ``beat_ratio``: mean onset strength at beats / at the half-beat points between them (>1: the
    pulse is on the derived beats; busy 1/16 hi-hats bring it towards 1); ``low_beat_ratio``: the
    same in the low band (<200 Hz: kick and bass); ``down_ratio``: low-band onset strength at
    downbeats / at the other beats (>1 when kick and bass mark the bar); ``lag_ms``: shift of the
    beat comb that best matches the onset envelope (a click sits at +5..+15 ms with this
    envelope, so a grid that is right gives about that; a grid half a beat off would not);
    ``meter_corr``: autocorrelation of row-level onset strength at a 4-beat lag minus at a 3-beat
    lag (>0 for a four-beat bar); ``kick_share``: share of beats with a low-band onset at least
    40 % of the 90th percentile of those at beats (near 1 for a kick on every beat: a proxy for
    a four-on-the-floor, dance-like groove)."""

    beat_ratio: float
    low_beat_ratio: float
    down_ratio: float
    lag_ms: float
    meter_corr: float
    kick_share: float


def _peak_at(env: np.ndarray, times: np.ndarray, fps: float, lo_s: float = -0.012, hi_s: float = 0.035) -> np.ndarray:
    a = np.clip(np.round((times + lo_s) * fps).astype(int), 0, len(env) - 1)
    b = np.clip(np.round((times + hi_s) * fps).astype(int) + 1, 1, len(env))
    return np.array([env[i:j].max() if j > i else 0.0 for i, j in zip(a, b, strict=True)])


def pulse_check(mono22k: np.ndarray, grid: Grid, row_t: np.ndarray | None = None, rows_per_beat: int = 4) -> PulseCheck:
    """See :class:`PulseCheck`. ``mono22k``: mono float audio at 22.05 kHz."""
    import librosa

    sr, hop = 22050, 256
    fps = sr / hop
    S = np.abs(librosa.stft(mono22k, n_fft=2048, hop_length=hop)) ** 2
    mel = librosa.power_to_db(librosa.feature.melspectrogram(S=S, sr=sr, n_mels=64))
    env = librosa.onset.onset_strength(S=mel, sr=sr, hop_length=hop)
    low = librosa.mel_frequencies(n_mels=64, fmax=sr / 2) < 200
    kenv = librosa.onset.onset_strength(S=mel[low], sr=sr, hop_length=hop)
    b = grid.beats_s
    if len(b) < 4:
        return PulseCheck(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    mids = (b[:-1] + b[1:]) / 2
    beat_ratio = float(_peak_at(env, b, fps).mean() / max(_peak_at(env, mids, fps).mean(), 1e-9))
    kb = _peak_at(kenv, b, fps)
    low_ratio = float(kb.mean() / max(_peak_at(kenv, mids, fps).mean(), 1e-9))
    kick_share = float(np.mean(kb >= 0.4 * np.percentile(kb, 90))) if kb.max() > 0 else 0.0
    is_down = np.isin(b, grid.downbeats_s)
    down_ratio = float(kb[is_down].mean() / max(kb[~is_down].mean(), 1e-9)) if is_down.any() and (~is_down).any() \
        else 0.0
    # lag of the best-matching beat comb, at a finer hop
    hop2 = 64
    S2 = np.abs(librosa.stft(mono22k, n_fft=1024, hop_length=hop2)) ** 2
    env2 = librosa.onset.onset_strength(S=librosa.power_to_db(librosa.feature.melspectrogram(S=S2, sr=sr, n_mels=64)),
                                        sr=sr, hop_length=hop2, n_fft=1024)
    fps2 = sr / hop2
    lags = np.arange(-0.06, 0.0601, 1 / fps2)
    score = [env2[np.clip(np.round((b + lag) * fps2).astype(int), 0, len(env2) - 1)].mean() for lag in lags]
    lag_ms = float(lags[int(np.argmax(score))] * 1000)
    meter = 0.0
    if row_t is not None and len(row_t) > 64:
        o = _peak_at(env, row_t, fps, -0.008, 0.025)
        o = (o - o.mean()) / (o.std() + 1e-9)

        def ac(k: int) -> float:
            return float(np.mean(o[:-k] * o[k:]))

        k4, k3 = 4 * rows_per_beat, 3 * rows_per_beat
        if len(o) > 2 * k4:
            meter = ac(k4) - ac(k3)
    return PulseCheck(beat_ratio, low_ratio, down_ratio, lag_ms, meter, kick_share)
