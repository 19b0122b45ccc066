"""``djstruct synth OUT``: render a synthetic EDM corpus with exact ground truth."""

from __future__ import annotations

from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from djstruct.cli.common import call, err, fail, out


@click.command("synth")
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.option("--n", "n", type=click.IntRange(1, 100000), default=24, show_default=True, help="Number of tracks.")
@click.option("--seed", type=int, default=0, show_default=True, help="Corpus seed (same seed, same audio).")
@click.option("--formats", default=None,
              help="Comma-separated formats to cycle through (default: all: "
                   "wav,flac,aiff,mp3,mp3-noxing,ogg,opus,m4a,m4a-alac).")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True)
@click.option("--variety", type=click.FloatRange(0.0, 1.0), default=0.0, show_default=True,
              help="Share of tracks whose sections vary their sound (layers lost or gained, chords moved).")
@click.option("--engine", type=click.Choice(["synth", "sampled"]), default="synth", show_default=True,
              help="synth: the numpy synthesiser; sampled: recorded sounds from Debian packages, mixed and "
                   "mastered (needs sonic-pi-samples, musescore-general-soundfont, timgm6mb-soundfont, freepats, "
                   "espeak-ng, libfluidsynth3 and pyfluidsynth).")
@click.option("--pool", type=click.Choice(["train", "heldout"]), default="train", show_default=True,
              help="--engine sampled: sound pool (heldout: sounds and templates never in the training pool).")
@click.option("--short", is_flag=True, help="Compact tracks with 8-bar sections (tests, demos).")
def synth(out_dir: Path, n: int, seed: int, formats: str | None, workers: int, variety: float, engine: str,
          pool: str, short: bool) -> None:
    """Render N synthetic EDM tracks into OUT_DIR, each beside its NAME.json ground truth."""
    from djstruct.synth import render_corpus
    from djstruct.synth.encode import FORMATS

    fmts = None
    if formats:
        fmts = [f.strip() for f in formats.split(",") if f.strip()]
        unknown = [f for f in fmts if f not in FORMATS]
        if unknown:
            fail(f"unknown format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    with Progress(TextColumn("rendering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task("render", total=n)
        paths = call(render_corpus, out_dir, n, seed, formats=fmts, workers=workers, variety=variety, engine=engine,
                     pool=pool, short=short, progress=lambda *_: bar.advance(task))
    out.print(f"wrote {len(paths)} tracks with ground truth to {out_dir}")
