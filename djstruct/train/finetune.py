"""``djstruct train --from-library``: fine-tune the structure model to the DJ's own cues.

Training examples are the harvested, tiered tracks (:mod:`djstruct.train.tiers`): features from the
track's audio (cached, so a second run does not decode again), beat and downbeat targets from the
library's grid, section-label targets where a cue names its section (unknown spans are ignored by
the label loss) and energy targets from the audio; boundary and drop losses are masked (a DJ's cues
are not every section start). Tracks are drawn in proportion to their tier weight.

On top of the network sits the DJ's cue style (:mod:`djstruct.postprocess.cue_style`): a small
classifier over the model's structure analysis that learns which downbeats this DJ cues ("16 bars
before every drop, no breakdowns"). It is refitted after every epoch (and at epoch 0, on the
starting model alone) on the training tracks, its threshold tuned on the validation tracks; the
validation agreement of its cue points with the DJ's cues (F at +-1 beat) picks the best epoch
and stops training early. Track-level train/validation split, resumable; the result is a named
model in the user's model directory that ``scan`` / ``analyze`` use with ``--model NAME``, with its
metrics in ``NAME.json`` beside it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from djstruct import config
from djstruct.audio import load_audio
from djstruct.audio.fingerprint import audio_hash
from djstruct.errors import ConfigError, DjstructError, ModelError
from djstruct.evaluate import onset_f
from djstruct.model.registry import load_model
from djstruct.postprocess.activations import POST_REVISION, PostConfig, postprocess
from djstruct.postprocess.cue_style import CueStyle, pick_cues
from djstruct.safe_write import atomic_write
from djstruct.train.style_fit import StyleExample, fit_style
from djstruct.train.tiers import TrackCheck

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FinetuneConfig:
    name: str
    base: str = "default"
    from_scratch: bool = False
    epochs: int = 12
    lr: float = 5e-4
    batch_size: int = 2
    val_fraction: float = 0.2
    patience: int = 3
    threads: int = 1
    seed: int = 0
    max_minutes: float | None = None


@dataclass(frozen=True)
class FinetuneResult:
    path: Path
    metrics: dict[str, float]
    epochs_run: int
    seconds: float
    n_train: int
    n_val: int


def library_truth(check: TrackCheck, duration_s: float) -> dict[str, Any]:
    """A truth dict (the synthetic corpus' format) from the DJ's library: grid beats, sections that
    start at the DJ's clean cues, labels from cue names (None when the name says nothing). The
    boundary and drop heads are marked unknown: a DJ's cues are where they like to jump, not every
    section start (that is what the cue style learns), so network fine-tuning adapts the beat,
    downbeat, energy and (named) label heads to the DJ's audio and grid."""
    item = check.item
    beats = item.beats[(item.beats >= 0) & (item.beats < duration_s)]
    down = item.downbeats[(item.downbeats >= 0) & (item.downbeats < duration_s)]
    beat_s = 60.0 / item.bpm if item.bpm > 0 else 0.5
    cues = sorted((c.cue.start_s, c.label) for c in check.clean_cues if 0 <= c.cue.start_s < duration_s)
    starts: list[tuple[float, str | None]] = []
    first = float(down[0]) if len(down) else 0.0
    if not cues or cues[0][0] > first + beat_s:
        starts.append((first, None))
    for t, lab in cues:
        if not starts or t - starts[-1][0] > beat_s:
            starts.append((t, lab))
    end = float(beats[-1] + beat_s) if len(beats) else duration_s
    sections = []
    for (a, lab), (b, _) in zip(starts, [*starts[1:], (end, None)], strict=True):
        if b <= a:
            continue
        if lab is not None and b > a + 8 * 4 * beat_s:  # a named cue vouches for 8 bars, not for the span
            sections += [{"start": a, "end": a + 32 * beat_s, "label": lab},
                         {"start": a + 32 * beat_s, "end": b, "label": None}]
        else:
            sections.append({"start": a, "end": b, "label": lab})
    drops = [t for t, lab in cues if lab == "drop"]
    return {"bpm": item.bpm, "beats": beats.tolist(), "downbeats": down.tolist(), "sections": sections,
            "drops": drops, "duration_s": duration_s, "dj_cues": [t for t, _ in cues],
            "unknown": ["boundary", "drop"]}


def cached_library_track(check: TrackCheck, cache_dir: Path) -> Any:
    """Features of a library track (cached by path + audio hash) with its library truth."""
    from djstruct.model import frontend as fe
    from djstruct.train.dataset import CachedTrack

    path = check.item.track.path
    key = hashlib.sha1(f"{path}|{audio_hash(path)}".encode()).hexdigest()[:20]
    npz = cache_dir / "library" / f"{key}-{fe.frontend_id()}.npz"
    if npz.is_file():
        with np.load(npz) as z:
            mel, energy, dur = z["mel"], z["energy"], float(z["duration_s"])
    else:
        audio = load_audio(path, fe.SAMPLE_RATE_HZ)
        mel = fe.log_mel(audio.samples).numpy().astype(np.float16)
        energy = fe.band_energy_from_mel(mel.astype(np.float32)).astype(np.float16)
        dur = audio.duration_s
        npz.parent.mkdir(parents=True, exist_ok=True)

        def fill(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                np.savez(fh, mel=mel, energy=energy, duration_s=np.array(dur))

        atomic_write(npz, fill, error=DjstructError)
    return CachedTrack(str(path), mel, energy, library_truth(check, dur))


def track_analyses(model: Any, tracks: Sequence[Any], post: Any) -> list[Any]:
    """The model's analysis of each cached track (activations -> shared post-processing)."""
    from djstruct.model import frontend as fe
    from djstruct.model.heads import mel_activations

    return [postprocess(mel_activations(model, tr.mel), fe.FPS, tr.truth["duration_s"], fe.loudness_db(tr.mel),
                        path=tr.name, cfg=post) for tr in tracks]


def style_agreement(model: Any, train: Sequence[Any], val: Sequence[Any], train_w: Sequence[float],
                    post: Any) -> tuple[CueStyle, dict[str, float]]:
    """Fit the DJ's cue style on the model's analyses of ``train`` (threshold tuned on ``val``) and
    measure its agreement with the DJ's cues on ``val``: F at +-1 beat and +-0.5 s."""
    exs = [StyleExample(a, tuple(tr.truth["dj_cues"]), float(w))
           for a, tr, w in zip(track_analyses(model, [*train, *val], post), [*train, *val],
                               [*train_w, *([1.0] * len(val))], strict=True)]
    style, f_val = fit_style(exs[: len(train)], exs[len(train):])
    f05 = [onset_f(ex.cues, pick_cues(style, ex.analysis), 0.5) for ex in exs[len(train):]]
    return style, {"f_beat": f_val, "f_05": float(np.mean(f05)) if f05 else 0.0, "threshold": style.threshold}


def finetune(checks: Sequence[TrackCheck], cfg: FinetuneConfig, *, cache_dir: Path | None = None,
             models_dir: Path | None = None, resume: bool = False,
             on_epoch: Callable[[dict[str, Any]], None] | None = None) -> FinetuneResult:
    """Fine-tune (or train from scratch) on the DJ's tracks; writes ``<models_dir>/<name>.pt``."""
    import torch

    from djstruct.model.checkpoint import load_checkpoint, save_checkpoint
    from djstruct.model.losses import total_loss
    from djstruct.model.model import StructureModel
    from djstruct.train import dataset as ds

    if len(checks) < 2:
        raise ConfigError(None, f"need at least 2 tracks with cues and a beat grid, found {len(checks)}")
    out_dir = Path(models_dir or config.models_dir())
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise ModelError(out_dir, f"cannot write models here ({e.strerror or e}); set DJSTRUCT_MODEL_DIR") from e
    out = out_dir / f"{cfg.name}.pt"
    last = out_dir / f"{cfg.name}.last.pt"
    torch.set_num_threads(max(1, cfg.threads))
    t0 = time.perf_counter()
    cache = Path(cache_dir) if cache_dir else config.feature_cache_dir()
    tracks = [cached_library_track(c, cache) for c in checks]
    weights = np.array([c.weight for c in checks])
    rng = np.random.default_rng(cfg.seed)
    order = rng.permutation(len(tracks))
    n_val = max(1, int(round(cfg.val_fraction * len(tracks))))
    val_idx, tr_idx = order[:n_val], order[n_val:]
    base = load_model(cfg.base)
    model = StructureModel(base.config) if cfg.from_scratch else base.model
    post = PostConfig.from_dict(base.extra.get("postprocess") or {})
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr, weight_decay=0.01)
    steps = max(1, math.ceil(len(tr_idx) / cfg.batch_size))
    start, best, stale, history = 0, -1.0, 0, []
    if resume and last.is_file():
        ck = load_checkpoint(last)
        model.load_state_dict(ck.model.state_dict())
        st = ck.extra["finetune_state"]
        opt.load_state_dict(st["optimizer"])
        start, best, stale, history = int(st["epoch"]), float(st["best"]), int(st["stale"]), list(st["history"])
    train, val = [tracks[i] for i in tr_idx], [tracks[i] for i in val_idx]
    p = weights[tr_idx] / weights[tr_idx].sum()

    def evaluate(epoch: int, loss: float | None) -> None:
        nonlocal best, stale
        try:
            style, metrics = style_agreement(model, train, val, weights[tr_idx].tolist(), post)
        except ValueError as e:  # e.g. a model from scratch that finds no downbeats yet
            log.info("epoch %d: no cue style (%s)", epoch, e)
            style, metrics = None, {"f_beat": 0.0, "f_05": 0.0, "threshold": 0.0}
        row = {"epoch": epoch, "loss": loss, **metrics, "minutes": (time.perf_counter() - t0) / 60.0}
        history.append(row)
        if style is not None and metrics["f_beat"] > best:
            best, stale = metrics["f_beat"], 0
            save_checkpoint(out, model, model.config, metrics, extra={
                "postprocess": asdict(post), "cue_style": style.to_dict(), "post_revision": POST_REVISION,
                "finetune": {**asdict(cfg), "epoch": epoch, "n_train": len(tr_idx), "n_val": len(val_idx)}})
        elif epoch > 0:
            stale += 1
        top = max(history, key=lambda r: r["f_beat"])
        (out_dir / f"{cfg.name}.json").write_text(json.dumps({"metrics": top, "epoch": top["epoch"],
                                                              "config": asdict(cfg), "history": history},
                                                             indent=1), encoding="utf-8")
        if on_epoch is not None:
            on_epoch(row)

    if start == 0:  # epoch 0: the starting model with the DJ's cue style learnt on top
        evaluate(0, None)
    epoch = start
    for epoch in range(start + 1, cfg.epochs + 1):
        if stale >= cfg.patience or (cfg.max_minutes is not None and history
                                     and history[-1]["minutes"] >= cfg.max_minutes):
            epoch -= 1
            break
        erng = np.random.default_rng([cfg.seed, epoch])
        losses = []
        for _ in range(steps):
            pick = erng.choice(tr_idx, size=min(cfg.batch_size, len(tr_idx)), replace=False, p=p)
            batch = ds.collate([ds.augment(tracks[i], erng, ds.AugmentConfig()) for i in pick])
            loss, _ = total_loss(model(batch["mel"], batch["mask"]), batch, weights=model.config.loss_weights,
                                 tolerances=model.config.tolerances, pos_weights=model.config.pos_weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            losses.append(float(loss.detach()))
        evaluate(epoch, float(np.mean(losses)))
        save_checkpoint(last, model, model.config, history[-1], extra={"finetune_state": {
            "optimizer": opt.state_dict(), "epoch": epoch, "best": best, "stale": stale, "history": history}})
    if best < 0:
        raise ModelError(out, "no epoch gave a model that finds downbeats in your tracks, so no cue style "
                              "could be learnt; train longer (--epochs) or start from a trained --base")
    best_row = max(history, key=lambda r: r["f_beat"]) if history else {}
    return FinetuneResult(out, {k: float(v) for k, v in best_row.items() if v is not None}, epoch,
                          time.perf_counter() - t0, len(tr_idx), len(val_idx))
