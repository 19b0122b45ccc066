"""The ``--from-library`` half of ``djstruct train``: harvest, tier, fine-tune, report."""

from __future__ import annotations

from pathlib import Path

from djstruct.cli.common import EXIT_USAGE, call, err, fail, make_sources, out


def run_library_training(folders, rekordbox_xml, rekordbox_db, crate, traktor_nml,  # type: ignore[no-untyped-def]
                         name: str, base: str, from_scratch: bool, epochs: int, seed: int, resume: bool,
                         cache_dir: Path | None, batch_size: int, threads: int, max_minutes: float | None) -> None:
    from djstruct.train.check import check_library
    from djstruct.train.finetune import FinetuneConfig, finetune

    sources = make_sources(folders, rekordbox_xml, rekordbox_db, crate, traktor_nml)
    lib = call(check_library, sources, None, find_issues=False)
    usable = [c for c in lib.checks if c.clean_cues]
    reasons: dict[str, int] = {}
    for s in lib.skipped:
        reasons[s.reason] = reasons.get(s.reason, 0) + 1
    for reason, n in sorted(reasons.items(), key=lambda x: -x[1]):
        err.print(f"skipped {n} tracks: {reason}", markup=False, highlight=False)
    if len(usable) < 2:
        fail(f"found {len(usable)} tracks with clean cues and a beat grid; need at least 2 to train", EXIT_USAGE)
    tiers = lib.tier_counts()
    out.print(f"training on {len(usable)} tracks (T1 {tiers[1]}, T2 {tiers[2]}, T3 {tiers[3]}), "
              f"starting from {'random weights' if from_scratch else base}")

    def on_epoch(r: dict) -> None:  # type: ignore[type-arg]
        what = "cue style on the starting model" if r["epoch"] == 0 else f"loss {r['loss']:.3f}"
        err.print(f"epoch {r['epoch']}: {what}, validation agreement with your cues "
                  f"F(1 beat) {r['f_beat']:.3f}, F(0.5 s) {r['f_05']:.3f} ({r['minutes']:.1f} min)",
                  markup=False, highlight=False)

    cfg = FinetuneConfig(name=name, base=base, from_scratch=from_scratch, epochs=epochs,
                         batch_size=min(batch_size, 2), threads=max(threads, 1), seed=seed, max_minutes=max_minutes)
    res = call(finetune, usable, cfg, cache_dir=cache_dir, resume=resume, on_epoch=on_epoch)
    out.print(f"model [bold]{name}[/] written to {res.path} ({res.n_train} training / {res.n_val} validation "
              f"tracks, {res.epochs_run} epochs, {res.seconds / 60:.1f} min); best validation agreement "
              f"F(1 beat) {res.metrics.get('f_beat', 0):.3f}. Use it with: djstruct scan ... --model {name}")
