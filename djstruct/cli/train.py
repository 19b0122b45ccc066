"""``djstruct train --synthetic N`` (the default model, from the synthetic corpus) and
``djstruct train --from-library SOURCE --name NAME`` (fine-tune it to the DJ's own cues)."""

from __future__ import annotations

from pathlib import Path

import click

from djstruct.cli.common import call, err, fail, out


@click.command("train")
@click.argument("folders", nargs=-1, type=click.Path(path_type=Path))
@click.option("--from-library", "from_library", is_flag=True,
              help="Fine-tune on the cues in a library (FOLDER..., --rekordbox-xml, --rekordbox-db, --traktor-nml).")
@click.option("--rekordbox-xml", "rekordbox_xml", type=click.Path(path_type=Path), default=None)
@click.option("--rekordbox-db", "rekordbox_db", is_flag=False, flag_value="", default=None, metavar="[PATH]")
@click.option("--traktor-nml", "traktor_nml", type=click.Path(path_type=Path), default=None)
@click.option("--crate", default=None, help="Only this Serato crate / Rekordbox or Traktor playlist.")
@click.option("--name", default=None, help="--from-library: name of the new model (default: personal).")
@click.option("--base", default="default", show_default=True, help="--from-library: the model to start from.")
@click.option("--from-scratch", is_flag=True, help="--from-library: start from random weights, not --base.")
@click.option("--synthetic", "n_tracks", type=click.IntRange(2, 100000), default=None,
              help="Render (or reuse cached) N full-length synthetic tracks of corpus --seed and train on them.")
@click.option("--epochs", type=click.IntRange(0, 10000), default=10, show_default=True,
              help="Training epochs (--from-library: 0 learns only your cue style on top of --base).")
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
@click.option("--init", "init_model", default=None,
              help="--synthetic: start from this model's weights (a name from `djstruct models list` or a .pt file).")
@click.option("--variety", type=click.FloatRange(0.0, 1.0), default=0.0, show_default=True,
              help="--synthetic: share of tracks whose sections vary their sound (see `djstruct synth`).")
@click.option("--engine", type=click.Choice(["synth", "sampled", "mixed"]), default="synth", show_default=True,
              help="--synthetic: renderer of the corpus (mixed: --synth-share from synth, the rest sampled).")
@click.option("--pool", type=click.Choice(["train", "heldout"]), default="train", show_default=True,
              help="--synthetic: sound pool of the sampled engine (heldout is refused: it is for validation).")
@click.option("--synth-share", type=click.FloatRange(0.0, 1.0), default=0.5, show_default=True,
              help="--engine mixed: share of tracks rendered by the synth engine.")
@click.option("--short", is_flag=True, help="--synthetic: compact tracks with 8-bar sections (smoke tests).")
@click.option("--val-heldout", type=click.IntRange(0, 100000), default=0, show_default=True,
              help="--synthetic: validate on N sampled heldout-pool tracks (corpus seed + 1) instead of a split.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="--synthetic: processes that render and cache the corpus.")
def train(folders: tuple[Path, ...], from_library: bool, rekordbox_xml: Path | None, rekordbox_db: str | None,
          traktor_nml: Path | None, crate: str | None, name: str | None, base: str, from_scratch: bool,
          n_tracks: int | None, epochs: int, seed: int, out_path: Path | None, resume: bool, cache_dir: Path | None,
          batch_size: int, lr: float,
          threads: int, max_minutes: float | None, init_model: str | None, variety: float, engine: str, pool: str,
          synth_share: float, short: bool, val_heldout: int, workers: int) -> None:
    """Train the structure model on N synthetic tracks (features cached, so a second run renders
    nothing), or with --from-library fine-tune it to the cues the DJ placed. Never writes to the
    library."""
    if from_library:
        from djstruct.cli.train_library import run_library_training

        if init_model is not None or variety or engine != "synth" or val_heldout or short:
            fail("--init, --variety, --engine, --short and --val-heldout are for --synthetic; with --from-library, "
                 "--base picks the start", 2)
            return
        run_library_training(folders, rekordbox_xml, rekordbox_db, crate, traktor_nml, name or "personal", base,
                             from_scratch, epochs, seed, resume, cache_dir, batch_size, threads, max_minutes)
        return
    if n_tracks is None:
        fail("give --synthetic N (train the default model) or --from-library SOURCE (fine-tune it)", 2)
        return
    if epochs < 1:
        fail("--synthetic needs --epochs 1 or more", 2)
        return
    from djstruct.config import models_dir
    from djstruct.train.loop import TrainConfig
    from djstruct.train.loop import train as run_training

    cfg = TrainConfig(n_tracks=n_tracks, seed=seed, epochs=epochs, batch_size=batch_size, lr=lr,
                      threads=threads, max_minutes=max_minutes, variety=variety, init=init_model, engine=engine,
                      pool=pool, synth_share=synth_share, val_heldout=val_heldout, short=short,
                      workers=workers)
    target = out_path or models_dir() / f"synthetic-{seed}.pt"
    res = call(run_training, cfg, target, cache_dir, resume=resume, console=err)
    m = res.best_metrics
    out.print(f"best model: {res.best_path} (epoch {m.get('epoch', '-')}, validation score "
              f"{m.get('val_score', float('nan')):.3f}, boundary F {m.get('boundary_f05', float('nan')):.3f}); "
              f"{res.epochs_run} epochs in {res.seconds / 60:.1f} min")
