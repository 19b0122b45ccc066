"""Training loop: AdamW + warm-up/cosine LR over cached synthetic tracks, validation with the real
post-processing and :func:`djstruct.evaluate.score_track`, best-checkpoint selection and early stopping
on validation boundary F (+-0.5 s), ``resume`` from the last checkpoint.

Two files are written: ``out`` (the best model so far: config, weights, validation metrics, tuned
boundary threshold, training settings; no optimizer state) and ``out`` with suffix ``.last.pt`` (the
latest epoch plus optimizer/scheduler state, for ``resume``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from djstruct import config
from djstruct.errors import ConfigError
from djstruct.evaluate import METRICS, score_track
from djstruct.model import frontend as fe
from djstruct.model.checkpoint import load_checkpoint, save_checkpoint
from djstruct.model.config import ModelConfig
from djstruct.model.losses import total_loss
from djstruct.model.model import StructureModel
from djstruct.model.registry import load_model
from djstruct.postprocess.activations import PostConfig, postprocess
from djstruct.train import dataset as ds

log = logging.getLogger(__name__)

# held out for evaluation: never train or tune on them (9001, 9002: sampled heldout-pool sets)
EVAL_SEEDS = frozenset({777, 4711, 90210, 1001, 1002, 9001, 9002})
THRESHOLDS = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)


@dataclass(frozen=True)
class TrainConfig:
    n_tracks: int = 200
    seed: int = 2026  # corpus seed (tracks render_track(seed, 0..n-1)) and torch/numpy seed
    epochs: int = 10
    batch_size: int = 1
    lr: float = 1.5e-3
    weight_decay: float = 0.01
    warmup_steps: int = 60
    grad_clip: float = 1.0
    val_fraction: float = 0.1
    val_every: int = 2  # epochs
    patience: int = 4  # validations without a better selection_score before stopping
    threads: int = 1
    max_minutes: float | None = None  # stop (after the current epoch) when exceeded
    short: bool = False  # compact tracks (tests)
    variety: float = 0.0  # share of corpus tracks whose sections vary their sound (synth.plan_arrangement)
    init: str | None = None  # start from this model's weights and config (registry name or .pt path)
    engine: str = "synth"  # "synth", "sampled" or "mixed" (dataset.engine_for)
    pool: str = "train"  # sound pool of the sampled engine; "heldout" is for validation only
    synth_share: float = 0.5  # engine="mixed": share of tracks from the synth engine
    val_heldout: int = 0  # > 0: validate on this many sampled heldout-pool tracks (corpus seed + 1)
    workers: int = 1  # processes that render and cache the corpus (training itself uses `threads`)
    augment: ds.AugmentConfig = field(default_factory=ds.AugmentConfig)
    model: ModelConfig = field(default_factory=ModelConfig)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["model"] = self.model.to_dict()
        d["augment"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in d["augment"].items()}
        return d


@dataclass
class TrainResult:
    best_path: Path
    best_metrics: dict[str, float]
    epochs_run: int
    seconds: float
    history: list[dict[str, Any]]


def validate(model: StructureModel, tracks: list[ds.CachedTrack]) -> tuple[dict[str, float], float]:
    """Mean validation metrics at the best boundary threshold, and that threshold."""
    from djstruct.model.heads import mel_activations

    per_thr: dict[float, list[dict[str, float]]] = {t: [] for t in THRESHOLDS}
    for tr in tracks:
        act = mel_activations(model, tr.mel)
        loud = fe.loudness_db(tr.mel)
        dur = float(tr.truth.get("duration_s", tr.n_frames / fe.FPS))
        for t in THRESHOLDS:
            est = postprocess(act, fe.FPS, dur, loud, cfg=PostConfig(boundary_threshold=t))
            per_thr[t].append(score_track(tr.truth, est))
    means = {t: {k: float(np.mean([m[k] for m in ms if k in m])) for k in METRICS} for t, ms in per_thr.items() if ms}
    for m in means.values():
        m["val_score"] = selection_score(m)
    best = max(means, key=lambda t: (means[t]["val_score"], means[t]["boundary_f05"]))
    return means[best], best


SELECTION_METRICS = ("boundary_f05", "drop_f", "downbeat_f", "label_acc")


def selection_score(metrics: dict[str, float]) -> float:
    """What picks the epoch and the boundary threshold: the mean of boundary F (+-0.5 s), drop F1,
    downbeat F and label accuracy on the validation tracks (a DJ's cues need all four)."""
    return float(np.mean([metrics[k] for k in SELECTION_METRICS]))


def _lr_factor(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))


def train(cfg: TrainConfig, out: Path, cache_dir: Path | None = None, *, resume: bool = False,
          console: Any = None, on_epoch: Callable[[dict[str, Any]], None] | None = None) -> TrainResult:
    """Train a model on ``cfg.n_tracks`` synthetic tracks of corpus ``cfg.seed``; see the module doc."""
    if cfg.seed in EVAL_SEEDS:
        raise ConfigError(None, f"seed {cfg.seed} is an evaluation seed ({sorted(EVAL_SEEDS)}); pick another")
    if cfg.val_heldout > 0 and cfg.seed + 1 in EVAL_SEEDS:
        raise ConfigError(None, f"seed {cfg.seed}: its heldout validation corpus (seed {cfg.seed + 1}) is an "
                                f"evaluation seed ({sorted(EVAL_SEEDS)}); pick another")
    if cfg.n_tracks < 2:
        raise ConfigError(None, "need at least 2 synthetic tracks (one for validation)")
    if cfg.engine not in ds.ENGINES:
        raise ConfigError(None, f"unknown engine {cfg.engine!r}; choose from {', '.join(ds.ENGINES)}")
    if cfg.pool != "train":
        raise ConfigError(None, f"pool {cfg.pool!r} is the leave-sources-out validation pool: never train on it "
                                "(use --val-heldout N to validate on it)")
    if not 0.0 <= cfg.synth_share <= 1.0:
        raise ConfigError(None, f"synth share must be in [0, 1], got {cfg.synth_share}")
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    t_start = time.perf_counter()
    out = Path(out)
    last = out.with_suffix(".last.pt")
    cache_dir = Path(cache_dir) if cache_dir else config.feature_cache_dir()
    resume_ck = load_checkpoint(last) if resume and last.is_file() else None
    init_state = None
    if resume_ck is not None:  # the run being resumed fixed the architecture (it may come from --init)
        cfg = dataclasses.replace(cfg, model=resume_ck.config)
    elif cfg.init:  # before rendering: a wrong name fails at once

        init_ck = load_model(cfg.init)
        cfg = dataclasses.replace(cfg, model=init_ck.config)
        init_state = init_ck.model.state_dict()
        log.info("starting from the weights of %s (%s)", cfg.init, init_ck.sha256[:12])

    progress = _progress(console)
    with progress:
        task = progress.add_task("features", total=cfg.n_tracks)
        paths = ds.build_corpus(cfg.n_tracks, cfg.seed, cache_dir, short=cfg.short, variety=cfg.variety,
                                progress=lambda i, n: progress.update(task, completed=i), engine=cfg.engine,
                                pool=cfg.pool, synth_share=cfg.synth_share, workers=cfg.workers)
        tracks = [ds.load_track(p) for p in paths]
        if cfg.val_heldout > 0:  # validation from sounds and templates the training data never had
            progress.update(task, description="heldout features", completed=0, total=cfg.val_heldout)
            val_paths = ds.build_corpus(cfg.val_heldout, cfg.seed + 1, cache_dir, short=cfg.short, engine="sampled",
                                        pool="heldout", progress=lambda i, n: progress.update(task, completed=i),
                                        workers=cfg.workers)
            train_set, val_set = tracks, [ds.load_track(p) for p in val_paths]
        else:
            tr_idx, va_idx = ds.split_indices(len(tracks), cfg.val_fraction)
            train_set, val_set = [tracks[i] for i in tr_idx], [tracks[i] for i in va_idx]

        torch.manual_seed(cfg.seed)
        model = StructureModel(cfg.model)
        if init_state is not None:
            model.load_state_dict(init_state)
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr,
                                weight_decay=cfg.weight_decay)
        steps_per_epoch = math.ceil(len(train_set) / cfg.batch_size)
        total_steps = steps_per_epoch * cfg.epochs
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: _lr_factor(s, total_steps, cfg.warmup_steps))
        start_epoch, best_f, best_metrics, stale, history = 0, -1.0, {}, 0, []
        if resume_ck is not None:
            model.load_state_dict(resume_ck.model.state_dict())
            st = resume_ck.extra["train_state"]
            opt.load_state_dict(st["optimizer"])
            sched.load_state_dict(st["scheduler"])
            start_epoch, best_f, stale = int(st["epoch"]), float(st["best_f"]), int(st["stale"])
            best_metrics, history = dict(st["best_metrics"]), list(st["history"])
            log.info("resuming from %s after epoch %d", last, start_epoch)
        elif resume:
            log.warning("nothing to resume at %s: starting a new run", last)

        model.train()
        epoch = start_epoch
        progress.update(task, description="epoch", completed=0, total=steps_per_epoch)
        for epoch in range(start_epoch + 1, cfg.epochs + 1):
            rng = np.random.default_rng([cfg.seed, epoch])
            order = rng.permutation(len(train_set))
            progress.update(task, description=f"epoch {epoch}/{cfg.epochs}", completed=0)
            losses: list[float] = []
            for s in range(steps_per_epoch):
                idx = order[s * cfg.batch_size: (s + 1) * cfg.batch_size]
                batch = ds.collate([ds.augment(train_set[i], rng, cfg.augment) for i in idx])
                logits = model(batch["mel"], batch["mask"])
                loss, _parts = total_loss(logits, batch, weights=cfg.model.loss_weights,
                                          tolerances=cfg.model.tolerances, pos_weights=cfg.model.pos_weights)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                opt.step()
                sched.step()
                losses.append(float(loss.detach()))
                progress.update(task, completed=s + 1)
            row: dict[str, Any] = {"epoch": epoch, "train_loss": float(np.mean(losses)),
                                   "minutes": (time.perf_counter() - t_start) / 60.0}
            out_of_time = cfg.max_minutes is not None and row["minutes"] >= cfg.max_minutes
            if val_set and (epoch % cfg.val_every == 0 or epoch == cfg.epochs or out_of_time):
                metrics, thr = validate(model, val_set)
                row.update(val=metrics, threshold=thr)
                if metrics["val_score"] > best_f:
                    best_f, best_metrics, stale = metrics["val_score"], dict(metrics, epoch=epoch), 0
                    save_checkpoint(out, model, cfg.model, metrics,
                                    extra={"postprocess": {"boundary_threshold": thr},
                                           "training": {**cfg.to_dict(), "epoch": epoch,
                                                        "n_train": len(train_set), "n_val": len(val_set)}})
                else:
                    stale += 1
            elif not val_set and epoch == cfg.epochs:
                save_checkpoint(out, model, cfg.model, {}, extra={"training": cfg.to_dict()})
            history.append(row)
            _report(console, row)
            if on_epoch is not None:
                on_epoch(row)
            save_checkpoint(last, model, cfg.model, row.get("val", {}), extra={"train_state": {
                "optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "epoch": epoch, "best_f": best_f,
                "stale": stale, "best_metrics": best_metrics, "history": history}})
            if stale >= cfg.patience:
                log.info("early stop after epoch %d: no validation gain in %d validations", epoch, stale)
                break
            if out_of_time:
                log.info("time budget of %.0f min used after epoch %d", cfg.max_minutes, epoch)
                break
    return TrainResult(out, best_metrics, epoch, time.perf_counter() - t_start, history)


def _progress(console: Any) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True, disable=console is None)


def _report(console: Any, row: dict[str, Any]) -> None:
    msg = f"epoch {row['epoch']:3d}  loss {row['train_loss']:.4f}  {row['minutes']:.1f} min"
    if "val" in row:
        v = row["val"]
        msg += (f"  val: bound F {v['boundary_f05']:.3f}  beat F {v['beat_f']:.3f}  down F {v['downbeat_f']:.3f}"
                f"  BPM {v['bpm_acc1']:.3f}  label {v['label_acc']:.3f}  drop F {v['drop_f']:.3f}"
                f"  (thr {row['threshold']})")
    log.info("%s", msg)
    if console is not None:
        console.print(msg)
