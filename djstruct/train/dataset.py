"""Training data: synthetic tracks -> cached log-mel features + frame targets, augmented on the fly.

Each track ``(seed, index)`` is rendered once with :func:`djstruct.synth.render_track` (full length),
downmixed, resampled to 22050 Hz (soxr) and turned into the model frontend's log-mel; the result is
cached as ``synth-{seed}-{index:03d}-{frontend_id}.npz`` under the cache dir (default
``platformdirs.user_cache_dir("djstruct")/features``, overridable with ``DJSTRUCT_CACHE_DIR`` or
``--cache``). A second run loads the npz and renders nothing. ``engine="sampled"`` renders with
:mod:`djstruct.synth.sampled` from sound pool ``pool`` and caches as
``sampled-{pool}-{seed}-{index:03d}-{frontend_id}.npz``, so the engines' (and pools') caches never
mix; ``engine="mixed"`` takes a share ``synth_share`` of the corpus from the synth engine and the
rest from the sampled one (:func:`engine_for`).

npz contents: ``mel`` (T, 80) float16 dB at 43.07 fps; ``energy`` (T, 3) float16 in [0, 1];
``truth`` the ground-truth JSON (str). Frame targets are built from the truth at load time, after the
time-stretch augmentation, so they always line up with the (augmented) features.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from djstruct.errors import DjstructError
from djstruct.model import frontend as fe
from djstruct.safe_write import atomic_write
from djstruct.signal import to_analysis_rate
from djstruct.types import SECTION_LABELS
from djstruct.workers import process_pool

log = logging.getLogger(__name__)

IGNORE = -100  # label target outside any section


@dataclass(frozen=True)
class CachedTrack:
    """One cached track: ``mel`` (T, 80) float16 dB, ``energy`` (T, 3) float16, ``truth`` dict."""

    name: str
    mel: np.ndarray
    energy: np.ndarray
    truth: dict[str, Any]

    @property
    def n_frames(self) -> int:
        return int(self.mel.shape[0])


ENGINES: tuple[str, ...] = ("synth", "sampled", "mixed")


def cache_path(cache_dir: Path, seed: int, index: int, engine: str = "synth", pool: str = "train") -> Path:
    """Feature cache file of one track; the synth engine keeps its historical names."""
    if engine == "synth":
        return Path(cache_dir) / f"synth-{seed}-{index:03d}-{fe.frontend_id()}.npz"
    if engine != "sampled":
        raise ValueError(f"cache_path needs a concrete engine, not {engine!r}")
    return Path(cache_dir) / f"sampled-{pool}-{seed}-{index:03d}-{fe.frontend_id()}.npz"


def track_cache_path(cache_dir: Path, seed: int, index: int, engine: str, pool: str, *, short: bool = False,
                     variety: float = 0.0) -> Path:
    """:func:`cache_path` with the suffixes of compact (``short``) and varied synth tracks."""
    path = cache_path(cache_dir, seed, index, engine, pool)
    if short:
        path = path.with_name(path.stem + "-short.npz")
    if variety > 0 and engine == "synth":
        path = path.with_name(path.stem + f"-v{variety:g}.npz")
    return path


def engine_for(engine: str, index: int, synth_share: float = 0.5) -> str:
    """The engine that renders track ``index``: ``engine`` itself, or for ``"mixed"`` the synth engine
    for an evenly spread share ``synth_share`` of the indices and the sampled engine for the rest."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    if engine != "mixed":
        return engine
    return "synth" if int((index + 1) * synth_share) > int(index * synth_share) else "sampled"


def prepare_track(seed: int, index: int, cache_dir: Path, *, short: bool = False, variety: float = 0.0,
                  engine: str = "synth", pool: str = "train") -> Path:
    """Render, featurise and cache track ``(seed, index)`` unless cached; returns the npz path.

    ``variety`` applies to the synth engine; ``pool`` to the sampled engine (``engine`` must be
    ``"synth"`` or ``"sampled"`` here: :func:`build_corpus` resolves ``"mixed"``)."""
    path = track_cache_path(cache_dir, seed, index, engine, pool, short=short, variety=variety)
    if path.is_file():
        return path
    if engine == "sampled":
        from djstruct.synth.sampled import render_track as render_sampled
        from djstruct.synth.sampled import track_name as sampled_name
        from djstruct.synth.sampled.render import SR

        audio, truth = render_sampled(seed, index, pool, short=short)
        truth = {"name": sampled_name(seed, index, pool), **truth}
    else:
        from djstruct.synth import SR, render_track, track_name

        audio, truth = render_track(seed, index, short=short, variety=variety)
        truth = {"name": track_name(seed, index), **truth}
    mono = to_analysis_rate(audio, SR)
    mel = fe.log_mel(mono).numpy()
    energy = fe.band_energy_from_mel(mel)
    path.parent.mkdir(parents=True, exist_ok=True)

    def fill(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, mel=mel.astype(np.float16), energy=energy.astype(np.float16),
                     truth=np.array(json.dumps(truth)))

    atomic_write(path, fill, error=DjstructError)
    return path


def load_track(path: Path) -> CachedTrack:
    with np.load(path) as z:
        truth = json.loads(str(z["truth"]))
        return CachedTrack(truth.get("name", Path(path).stem), z["mel"], z["energy"], truth)


def _prepare_job(args: tuple[Any, ...]) -> str:
    seed, index, cache_dir, short, variety, engine, pool = args
    return str(prepare_track(seed, index, Path(cache_dir), short=short, variety=variety, engine=engine, pool=pool))


def build_corpus(n: int, seed: int, cache_dir: Path, *, short: bool = False, variety: float = 0.0,
                 progress: Callable[[int, int], Any] | None = None, engine: str = "synth", pool: str = "train",
                 synth_share: float = 0.5, workers: int = 1) -> list[Path]:
    """Cache tracks ``0..n-1`` of corpus ``seed`` (``engine`` synth, sampled or mixed, see
    :func:`engine_for`) in ``workers`` processes; returns their npz paths in index order."""
    jobs = [(seed, i, str(cache_dir), short, variety, engine_for(engine, i, synth_share), pool) for i in range(n)]
    todo = [j for j in jobs if not _cached(j)]
    if workers > 1 and len(todo) > 1:
        from concurrent.futures import as_completed

        with process_pool(min(workers, len(todo)), preload=("djstruct.train.dataset",)) as pool_:
            futures = [pool_.submit(_prepare_job, j) for j in todo]
            for k, fut in enumerate(as_completed(futures), 1):
                fut.result()
                if progress is not None:
                    progress(n - len(todo) + k, n)
    paths = []
    for i, job in enumerate(jobs):
        paths.append(Path(_prepare_job(job)))
        if progress is not None and (workers <= 1 or len(todo) <= 1):
            progress(i + 1, n)
    return paths


def _cached(job: tuple[Any, ...]) -> bool:
    seed, index, cache_dir, short, variety, engine, pool = job
    return track_cache_path(Path(cache_dir), seed, index, engine, pool, short=short, variety=variety).is_file()


def split_indices(n: int, val_fraction: float = 0.1) -> tuple[list[int], list[int]]:
    """Track-level split: every ``round(1 / val_fraction)``-th track (index % k == k - 1) is validation."""
    if val_fraction <= 0 or n < 2:
        return list(range(n)), []
    k = max(2, int(round(1.0 / val_fraction)))
    val = [i for i in range(n) if i % k == k - 1] or [n - 1]
    return [i for i in range(n) if i not in val], val


# -- targets --------------------------------------------------------------------------------------
KNOWABLE = ("boundary", "drop")  # heads a truth may mark as "unknown" (masked in the loss)


def frame_targets(truth: dict[str, Any], n_frames: int, fps: float, time_scale: float = 1.0) -> dict[str, np.ndarray]:
    """Frame targets for ``n_frames`` frames at ``fps`` from ground truth whose times are multiplied
    by ``time_scale`` (the time-stretch of the features). Returns float32 (T,) ``beat``,
    ``downbeat``, ``boundary`` (section starts after the first), ``drop``; int64 (T,) ``label``
    (index into SECTION_LABELS, IGNORE outside every section); float32 (T,) ``boundary_known`` /
    ``drop_known``: 0 where the truth lists the head in ``unknown`` (a DJ library's cues are not
    every section start or drop), so the loss ignores that head on that track."""

    def events(times: Sequence[float]) -> np.ndarray:
        y = np.zeros(n_frames, dtype=np.float32)
        idx = np.round(np.asarray(times, dtype=np.float64) * time_scale * fps).astype(np.int64)
        y[idx[(idx >= 0) & (idx < n_frames)]] = 1.0
        return y

    secs = truth.get("sections", [])
    label = np.full(n_frames, IGNORE, dtype=np.int64)
    for s in secs:
        if s["label"] not in SECTION_LABELS:  # unknown (a library cue that names no section): ignored
            continue
        a = int(round(s["start"] * time_scale * fps))
        b = int(round(s["end"] * time_scale * fps))
        label[max(a, 0): max(min(b, n_frames), 0)] = SECTION_LABELS.index(s["label"])
    unknown = set(truth.get("unknown", ()))  # heads whose targets this truth does not know
    return {
        "beat": events(truth["beats"]),
        "downbeat": events(truth["downbeats"]),
        "boundary": events([s["start"] for s in secs[1:]]),
        "drop": events(truth.get("drops", [])),
        "label": label,
        **{f"{k}_known": np.full(n_frames, k not in unknown, dtype=np.float32) for k in KNOWABLE},
    }


# -- augmentation ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the on-the-fly augmentations (all applied to the dB log-mel)."""

    tempo: float = 0.2  # time-stretch factor in [1 - tempo, 1 + tempo]
    pitch_bins: float = 1.5  # frequency shift in mel bins, +-
    gain_db: float = 8.0
    tilt_db: float = 6.0  # EQ tilt across the mel axis, +-
    noise_prob: float = 0.5
    noise_below_db: tuple[float, float] = (30.0, 70.0)  # noise floor below the track's loud level
    comp_prob: float = 0.5
    timbre_prob: float = 0.8  # a smooth random EQ curve over the mel axis (timbre), +- timbre_db
    timbre_db: float = 9.0
    freq_mask_prob: float = 0.5  # SpecAugment-style: up to two bands of <= freq_mask_bins set to the floor
    freq_mask_bins: int = 10
    min_crop_s: float = 150.0  # crops keep at least 2.5 minutes of context
    max_crop_s: float = 300.0


def _resample_rows(a: np.ndarray, rate: float) -> np.ndarray:
    """Linear interpolation of rows: output row j = input row j * rate. (T, d) -> (round(T / rate), d)."""
    n = len(a)
    m = max(int(round(n / rate)), 1)
    pos = np.minimum(np.arange(m) * rate, n - 1.0)
    i0 = np.floor(pos).astype(np.int64)
    i1 = np.minimum(i0 + 1, n - 1)
    f = (pos - i0)[:, None].astype(np.float32)
    return a[i0] * (1.0 - f) + a[i1] * f


def _shift_bins(mel: np.ndarray, shift: float) -> np.ndarray:
    """Shift the mel axis by ``shift`` bins (positive = up), edges repeated."""
    d = mel.shape[1]
    pos = np.clip(np.arange(d) - shift, 0, d - 1)
    i0 = np.floor(pos).astype(np.int64)
    i1 = np.minimum(i0 + 1, d - 1)
    f = (pos - i0)[None, :].astype(np.float32)
    return mel[:, i0] * (1.0 - f) + mel[:, i1] * f


def augment(track: CachedTrack, rng: np.random.Generator, cfg: AugmentConfig | None,
            fps: float = fe.FPS) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """One training example: ``(mel (T, 80) float32 dB, energy (T, 3) float32, targets)``; with
    ``cfg=None`` the track as it is (validation)."""
    mel = track.mel.astype(np.float32)
    energy = track.energy.astype(np.float32)
    if cfg is None:
        return mel, energy, frame_targets(track.truth, len(mel), fps)
    rate = float(rng.uniform(1.0 - cfg.tempo, 1.0 + cfg.tempo))  # > 1: faster, shorter
    mel = _resample_rows(mel, rate)
    energy = _resample_rows(energy, rate)
    targets = frame_targets(track.truth, len(mel), fps, time_scale=1.0 / rate)
    # Random crop of a long window: the structure branch still sees minutes.
    n = len(mel)
    crop = int(rng.uniform(cfg.min_crop_s, cfg.max_crop_s) * fps)
    if n > crop:
        a = int(rng.integers(0, n - crop + 1))
        mel, energy = mel[a: a + crop], energy[a: a + crop]
        targets = {k: v[a: a + crop] for k, v in targets.items()}
    if cfg.pitch_bins > 0:
        mel = _shift_bins(mel, float(rng.uniform(-cfg.pitch_bins, cfg.pitch_bins)))
    d = mel.shape[1]
    mel = mel + float(rng.uniform(-cfg.gain_db, cfg.gain_db))
    mel = mel + float(rng.uniform(-cfg.tilt_db, cfg.tilt_db)) * (np.arange(d, dtype=np.float32) / (d - 1) - 0.5)
    loud = float(np.percentile(mel, 99))
    if rng.random() < cfg.comp_prob:  # a crude compressor on frame loudness
        frame = mel.max(axis=1, keepdims=True)
        thr = loud - float(rng.uniform(5.0, 20.0))
        ratio = float(rng.uniform(1.5, 4.0))
        mel = mel - (1.0 - 1.0 / ratio) * np.maximum(frame - thr, 0.0)
    if cfg.timbre_prob > 0 and rng.random() < cfg.timbre_prob:  # other instruments, other mixes
        x = np.arange(d, dtype=np.float32) / (d - 1)
        curve = sum(float(rng.uniform(-1, 1)) * np.cos(np.pi * k * x + float(rng.uniform(0, np.pi)))
                    for k in (1, 2, 3, 5))
        mel = mel + (cfg.timbre_db / 2.0) * curve[None, :].astype(np.float32)
    if cfg.freq_mask_prob > 0 and rng.random() < cfg.freq_mask_prob:
        floor = float(np.percentile(mel, 1))
        for _ in range(int(rng.integers(1, 3))):
            w = int(rng.integers(1, cfg.freq_mask_bins + 1))
            f0 = int(rng.integers(0, d - w + 1))
            mel[:, f0:f0 + w] = floor
    if rng.random() < cfg.noise_prob:  # coloured noise added in the power domain
        floor = loud - float(rng.uniform(*cfg.noise_below_db))
        shape = floor + rng.normal(0.0, 3.0, size=(1, d)).astype(np.float32)
        noise = shape + rng.normal(0.0, 1.5, size=mel.shape).astype(np.float32)
        mel = np.logaddexp(mel * (np.log(10) / 10), noise * (np.log(10) / 10)) * (10 / np.log(10))
    return mel.astype(np.float32), energy, targets


def collate(examples: Sequence[tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]]) -> dict[str, Any]:
    """Pad a list of examples to the longest: ``mel`` (B, T, 80), ``energy`` (B, T, 3), targets (B, T),
    ``mask`` (B, T) bool (True = real frame); all torch tensors."""
    import torch

    t = max(len(e[0]) for e in examples)
    b = len(examples)
    d = examples[0][0].shape[1]
    mel = np.full((b, t, d), -100.0, dtype=np.float32)
    energy = np.zeros((b, t, 3), dtype=np.float32)
    mask = np.zeros((b, t), dtype=bool)
    keys = examples[0][2].keys()
    tg = {k: np.full((b, t), IGNORE if k == "label" else 0, dtype=examples[0][2][k].dtype) for k in keys}
    for i, (m, e, targ) in enumerate(examples):
        n = len(m)
        mel[i, :n], energy[i, :n], mask[i, :n] = m, e, True
        for k in keys:
            tg[k][i, :n] = targ[k]
    out: dict[str, Any] = {"mel": torch.from_numpy(mel), "energy": torch.from_numpy(energy),
                           "mask": torch.from_numpy(mask)}
    out.update({k: torch.from_numpy(v) for k, v in tg.items()})
    return out
