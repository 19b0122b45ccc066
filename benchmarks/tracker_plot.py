"""Spot-check drawing of one module's truth: 8 bars of onset strength with the derived grid, and the
onset strength folded over the bar (it should peak on the beats, highest on the one)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def plot_module(truth_json: Path, out_png: Path, n_bars: int = 8) -> None:
    import librosa
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from djstruct.audio import load_audio

    truth = json.loads(truth_json.read_text())
    sr, hop = 22050, 128
    y = load_audio(truth_json.parent / truth["file"], sr).samples
    S = np.abs(librosa.stft(y, n_fft=1024, hop_length=hop)) ** 2
    mel = librosa.power_to_db(librosa.feature.melspectrogram(S=S, sr=sr, n_mels=64))
    env = librosa.onset.onset_strength(S=mel, sr=sr, hop_length=hop, n_fft=1024)
    low = librosa.onset.onset_strength(S=mel[librosa.mel_frequencies(n_mels=64, fmax=sr / 2) < 200], sr=sr,
                                       hop_length=hop, n_fft=1024)
    fps = sr / hop
    t = np.arange(len(env)) / fps
    beats, downs = np.asarray(truth["beats"]), np.asarray(truth["downbeats"])
    mid = len(downs) // 2
    a, b = downs[mid], downs[min(mid + n_bars, len(downs) - 1)]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(12, 6), gridspec_kw={"height_ratios": [2, 1]})
    sel = (t >= a - 0.2) & (t <= b + 0.2)
    ax1.plot(t[sel], env[sel] / (env[sel].max() + 1e-9), lw=0.8, label="onset strength")
    ax1.plot(t[sel], -low[sel] / (low[sel].max() + 1e-9), lw=0.8, color="tab:green",
             label="low band (<200 Hz), inverted")
    for x in beats[(beats >= a - 0.2) & (beats <= b + 0.2)]:
        ax1.axvline(x, color="tab:orange", lw=0.8, alpha=0.7)
    for x in downs[(downs >= a - 0.2) & (downs <= b + 0.2)]:
        ax1.axvline(x, color="tab:red", lw=2.0)
    ax1.set_title(f"{truth_json.stem}: {truth['bpm']:.2f} BPM; orange beats, red downbeats (truth)")
    ax1.legend(loc="upper right", fontsize=8)
    ax1.set_xlabel("s")
    # fold over the bar: 4 beats x 24 bins, from every bar of the track
    bins = 96
    prof, prof_low = np.zeros(bins), np.zeros(bins)
    for d0, d1 in zip(downs[:-1], downs[1:], strict=False):
        idx = np.clip(np.round((d0 + (d1 - d0) * (np.arange(bins) + 0.5) / bins) * fps).astype(int), 0, len(env) - 1)
        prof += env[idx]
        prof_low += low[idx]
    x = np.arange(bins) / 24
    ax2.plot(x, prof / prof.max(), label="onset strength")
    ax2.plot(x, prof_low / prof_low.max(), label="low band")
    for k in range(4):
        ax2.axvline(k, color="tab:red" if k == 0 else "tab:orange", lw=1)
    ax2.set_xlabel("position in the bar (beats), mean over all bars")
    ax2.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out_png, dpi=80)
    plt.close(fig)
