"""Choose the ``ml`` detector's section parameters on validation tracks and hand-marked real music,
and measure the choice on real music it was not chosen on (leave one Debian package out).

``DJSTRUCT_CACHE_DIR=... python benchmarks/tune_sections_real.py DIR [DIR ...] [--model default]
[--starts parts|sections]``

- Validation: the sampled heldout-pool tracks of corpus ``--seed`` (2028, the ones training
  validated on; rendered into the feature cache when missing; never an evaluation seed).
- Real music: the tracks of ``benchmarks/data/real_music_sections.json`` found under the folders
  (as for ``bench_real_music.py``), each with the Debian package it comes from.
- For every combination of :data:`GRID`: the validation metrics and, per real track, how many of
  its hand-marked section starts are found within +-3 s and +-0.5 s by the detector's cue-worthy
  starts (``Analysis.parts``: section starts and the changes inside sections, as the hand marks
  count drums or bass in/out); ``--starts sections`` scores the section starts alone instead.
- The rule (fixed before the leave-one-package-out figure was first computed): among the combinations whose validation
  selection score (mean of boundary F +-0.5 s, drop F1, downbeat F, label accuracy) is at least
  ``--min-val``, take the one with the best pooled F +-3 s on the real tracks (ties: validation).
- Leave one package out: for each package, the rule is applied to the tracks of the *other*
  packages and the pick is scored on that package's tracks; the counts summed over the packages
  give an F-measure of the rule on tracks it never saw. The pick on all tracks is what ships.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from bench_real_music import unique_files
from tune_postprocess import validation_activations, validation_metrics

from djstruct.model.registry import load_model
from djstruct.postprocess.activations import PostConfig
from djstruct.train.loop import selection_score

GRID: dict[str, tuple[Any, ...]] = {
    "boundary_threshold": (0.25, 0.3, 0.35),
    "band_novelty_weight": (0.0, 0.5, 1.0),
    "band_novelty_percentile": (90.0, 95.0),
    "split_same": (("drop",), ("intro", "drop", "breakdown"), ("intro", "drop", "breakdown", "outro"),
                   ("intro", "buildup", "drop", "breakdown", "outro")),
    "keep_same_label": (0.5, 0.7),
}
ANNOTATIONS = Path(__file__).resolve().parent / "data" / "real_music_sections.json"


def real_activations(dirs: list[Path], model: str) -> dict[str, tuple[dict[str, np.ndarray], float, np.ndarray, str]]:
    """name -> (activations, duration, hand marks, package) of the annotated tracks under ``dirs``."""
    from djstruct.audio import load_audio
    from djstruct.detect.ml import MlDetector
    from djstruct.signal import to_analysis_rate

    ann = json.loads(ANNOTATIONS.read_text())
    marks = {k: np.asarray(v, dtype=float) for k, v in ann.items() if not k.startswith("_")}
    det = MlDetector(model)
    out = {}
    t0 = time.perf_counter()
    for f in unique_files(dirs):
        if f.name not in marks or f.name in out:
            continue
        a = load_audio(f, det.sample_rate_hz)
        act = det.activations([to_analysis_rate(a.samples, a.sample_rate_hz)])[0]
        out[f.name] = (act, a.duration_s, marks[f.name], ann["_tracks"][f.name]["package"])
    print(f"activations of {len(out)} of {len(marks)} hand-marked tracks in {time.perf_counter() - t0:.0f} s"
          + "".join(f"\n  not found: {n}" for n in marks if n not in out))
    return out


def hits(real: dict[str, Any], cfg: PostConfig, starts: str = "parts") -> dict[str, tuple[int, int, int, int]]:
    """name -> (found within 3 s, found within 0.5 s, starts detected, starts marked); ``starts``:
    "parts" (section starts and the changes inside sections) or "sections" (section starts alone)."""
    import mir_eval

    from djstruct.constants import MODEL_FPS
    from djstruct.detect.ml import finish

    out = {}
    for name, (act, dur, ref, _pkg) in real.items():
        a = finish(act, MODEL_FPS, dur, name, name="ml", post=cfg, style=None)
        secs = a.parts if starts == "parts" else a.sections  # parts: cue-worthy starts, as the hand marks are
        est = np.array([s.start_s for s in secs[1:]])
        k = [len(mir_eval.util.match_events(ref, est, w)) if len(est) else 0 for w in (3.0, 0.5)]
        out[name] = (k[0], k[1], len(est), len(ref))
    return out


def pooled_f(counts: dict[str, tuple[int, int, int, int]], names: list[str], window: int = 0) -> float:
    k = sum(counts[n][window] for n in names)
    total = sum(counts[n][2] + counts[n][3] for n in names)
    return 2.0 * k / total if total else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--model", default="default")
    ap.add_argument("--seed", type=int, default=2028)
    ap.add_argument("--n", type=int, default=48)
    ap.add_argument("--min-val", type=float, default=0.96, help="least validation selection score")
    ap.add_argument("--starts", choices=("parts", "sections"), default="parts",
                    help="score the parts (what djstruct cues, the default) or the section starts alone")
    args = ap.parse_args()
    ck = load_model(args.model)
    base = PostConfig.from_dict(ck.extra.get("postprocess", {}))
    val = validation_activations(ck, args.seed, args.n)
    real = real_activations(args.dirs, args.model)
    rows = []
    t0 = time.perf_counter()
    for combo in itertools.product(*GRID.values()):
        cfg = dataclasses.replace(base, **dict(zip(GRID, combo, strict=True)))
        m = validation_metrics(val, cfg)
        rows.append((combo, selection_score(m), m, hits(real, cfg, args.starts)))
    print(f"{len(rows)} combinations in {time.perf_counter() - t0:.0f} s")
    names = list(real)

    def pick(train: list[str]) -> tuple[Any, ...]:
        ok = [r for r in rows if r[1] >= args.min_val] or rows
        return max(ok, key=lambda r: (pooled_f(r[3], train), r[1]))

    packages = sorted({real[n][3] for n in names})
    k3 = k05 = total = 0
    picks: Counter[tuple[Any, ...]] = Counter()
    for pkg in packages:
        r = pick([n for n in names if real[n][3] != pkg])
        picks[r[0]] += 1
        for n in (n for n in names if real[n][3] == pkg):
            k3, k05, total = k3 + r[3][n][0], k05 + r[3][n][1], total + r[3][n][2] + r[3][n][3]
    print(f"\nleave one package out ({len(packages)} packages, {len(names)} tracks, rule: validation score >= "
          f"{args.min_val}, best real F +-3 s): F +-3 s {2 * k3 / total:.3f}, F +-0.5 s {2 * k05 / total:.3f}")
    for combo, n in picks.most_common():
        print(f"  picked for {n} package(s): " + ", ".join(f"{k}={v}" for k, v in zip(GRID, combo, strict=True)))
    best = pick(names)
    print("\npick on all tracks (what ships): " + ", ".join(f"{k}={v}" for k, v in zip(GRID, best[0], strict=True)))
    print(f"  (in-sample) real F +-3 s {pooled_f(best[3], names):.3f}, +-0.5 s {pooled_f(best[3], names, 1):.3f}; "
          f"validation score {best[1]:.4f}, boundary F +-0.5 s {best[2]['boundary_f05']:.3f}, "
          f"drop F1 {best[2]['drop_f']:.3f}, label accuracy {best[2]['label_acc']:.3f}")
    print("\nbest 10 by real F +-3 s (in-sample):  val score  bF+-0.5  real F+-3  F+-0.5")
    for combo, sc, m, c in sorted(rows, key=lambda r: -pooled_f(r[3], names))[:10]:
        print("  " + ", ".join(f"{v}" for v in combo) + f":  {sc:.4f}  {m['boundary_f05']:.3f}  "
              f"{pooled_f(c, names):.3f}  {pooled_f(c, names, 1):.3f}")


if __name__ == "__main__":
    main()
