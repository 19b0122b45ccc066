"""Choose post-processing parameters of the ``ml`` detector on the VALIDATION corpus only.

``DJSTRUCT_CACHE_DIR=... python benchmarks/tune_postprocess.py --model M --seed 2028 --n 48``
reads the cached log-mel of the sampled heldout-pool validation tracks of corpus ``--seed`` (the
ones ``djstruct train --val-heldout`` validated on; never an evaluation seed), runs the model once
per track, then the numpy post-processing with each combination of the parameters below, and prints
the mean metrics and the selection score (mean of boundary F +-0.5 s, drop F1, downbeat F, label
accuracy) per combination, best first. Evaluation sets are never read here.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import time
from typing import Any

import numpy as np

from djstruct import config
from djstruct.evaluate import METRICS, score_track
from djstruct.model import frontend as fe
from djstruct.model.heads import mel_activations
from djstruct.model.registry import load_model
from djstruct.postprocess.activations import PostConfig, postprocess
from djstruct.train import dataset as ds
from djstruct.train.loop import EVAL_SEEDS, selection_score
from djstruct.types import SECTION_LABELS

GRID = {
    "boundary_threshold": (0.2, 0.3),
    "min_section_bars": (4, 8),
    "min_end_bars": (4, 8),
    "label_grammar": (False, True),
    "split_same": (SECTION_LABELS, ("drop",)),
    "phase_spec": (0.0, 0.5),
}


def validation_activations(ck: Any, seed: int, n: int, *, render: bool = True) -> list[tuple[Any, ...]]:
    """(activations, loudness, duration, truth) of the sampled heldout-pool validation tracks of
    corpus ``seed`` from the feature cache (rendered first when ``render``)."""
    if seed in EVAL_SEEDS:
        raise SystemExit(f"seed {seed} is an evaluation seed: tune on validation tracks only")
    cache = config.feature_cache_dir()
    if render:
        ds.build_corpus(n, seed, cache, engine="sampled", pool="heldout")
    paths = [ds.track_cache_path(cache, seed, i, "sampled", "heldout") for i in range(n)]
    tracks = [ds.load_track(p) for p in paths if p.is_file()]
    t0 = time.perf_counter()
    acts = [(mel_activations(ck.model, tr.mel), fe.loudness_db(tr.mel),
             float(tr.truth.get("duration_s", tr.n_frames / fe.FPS)), tr.truth) for tr in tracks]
    print(f"activations of {len(acts)} validation tracks in {time.perf_counter() - t0:.0f} s")
    return acts


def validation_metrics(acts: list[tuple[Any, ...]], cfg: PostConfig) -> dict[str, float]:
    """Mean :data:`METRICS` of the post-processing ``cfg`` over the validation tracks."""
    scores = [score_track(truth, postprocess(a, fe.FPS, dur, loud, cfg=cfg)) for a, loud, dur, truth in acts]
    return {k: float(np.mean([s[k] for s in scores if k in s])) for k in METRICS}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="default")
    ap.add_argument("--seed", type=int, default=2028)
    ap.add_argument("--n", type=int, default=48)
    args = ap.parse_args()
    ck = load_model(args.model)
    base = PostConfig.from_dict(ck.extra.get("postprocess", {}))
    acts = validation_activations(ck, args.seed, args.n, render=False)
    print(f"{len(acts)} validation tracks of seed {args.seed}; model {args.model} ({ck.sha256[:12]})")
    rows = []
    for combo in itertools.product(*GRID.values()):
        cfg = dataclasses.replace(base, **dict(zip(GRID, combo, strict=True)))
        m = validation_metrics(acts, cfg)
        rows.append((selection_score(m), combo, m))
    rows.sort(key=lambda r: -r[0])
    keys = ("boundary_f05", "boundary_f3", "drop_f", "downbeat_f", "label_acc")
    print("score  " + "  ".join(GRID) + "  " + "  ".join(keys))
    for score, combo, m in rows:
        print(f"{score:.3f}  " + "  ".join(f"{k}={v}" for k, v in zip(GRID, combo, strict=True)) + "  "
              + "  ".join(f"{m.get(k, float('nan')):.3f}" for k in keys))


if __name__ == "__main__":
    main()
