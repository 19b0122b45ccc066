"""``djstruct train --synthetic N``: train a structure model on the synthetic corpus."""

from __future__ import annotations

from pathlib import Path

import click

from djstruct.cli.common import err, fail, out
from djstruct.errors import DjstructError


@click.command("train")
@click.option("--synthetic", "n_tracks", type=click.IntRange(2, 100000), required=True,
              help="Render (or reuse cached) N full-length synthetic tracks of corpus --seed and train on them.")
@click.option("--epochs", type=click.IntRange(1, 10000), default=10, show_default=True)
@click.option("--seed", type=int, default=2026, show_default=True,
              help="Corpus seed and training seed (the evaluation seeds 777, 4711, 90210, 1001, 1002 are refused).")
@click.option("--out", "out_path", type=click.Path(path_type=Path), default=None,
              help="Best checkpoint (default: <models dir>/synthetic-<seed>.pt; see `djstruct models list`).")
@click.option("--resume", is_flag=True, help="Continue from <out>.last.pt.")
@click.option("--cache", "cache_dir", type=click.Path(path_type=Path), default=None,
              help="Feature cache directory (default: the user cache dir, or $DJSTRUCT_CACHE_DIR).")
@click.option("--batch-size", type=click.IntRange(1, 256), default=1, show_default=True)
@click.option("--lr", type=float, default=1.5e-3, show_default=True)
@click.option("--threads", type=click.IntRange(0, 256), default=1, show_default=True,
              help="torch CPU threads (0: torch's default).")
@click.option("--max-minutes", type=float, default=None, help="Stop after the epoch that passes this budget.")
def train(n_tracks: int, epochs: int, seed: int, out_path: Path | None, resume: bool, cache_dir: Path | None,
          batch_size: int, lr: float, threads: int, max_minutes: float | None) -> None:
    """Train the structure model on N synthetic tracks (features cached, so a second run renders nothing)."""
    from djstruct.model.registry import models_dir
    from djstruct.train.loop import TrainConfig
    from djstruct.train.loop import train as run_training

    cfg = TrainConfig(n_tracks=n_tracks, seed=seed, epochs=epochs, batch_size=batch_size, lr=lr,
                      threads=threads, max_minutes=max_minutes)
    target = out_path or models_dir() / f"synthetic-{seed}.pt"
    try:
        res = run_training(cfg, target, cache_dir, resume=resume, console=err)
    except DjstructError as e:
        fail(str(e))
    m = res.best_metrics
    out.print(f"best model: {res.best_path} (epoch {m.get('epoch', '-')}, validation boundary F "
              f"{m.get('boundary_f05', float('nan')):.3f}); {res.epochs_run} epochs in {res.seconds / 60:.1f} min")
