"""A synthetic DJ with a personal style, and whether fine-tuning learns it (run by hand).

``python benchmarks/bench_finetune_style.py [--train 40] [--test 20] [--seed 8080] [--epochs 10]
[--engine synth|sampled] [--style pre-drop-16] [--threads 2] [--workers 2] [--verbose]``: renders
train + test tracks, writes two Rekordbox XML libraries whose cues follow the DJ style ``--style``
(:data:`djstruct.synth.library.STYLES`; default "a cue 16 bars before every drop and on every
drop, none at breakdowns"), fine-tunes the shipped model on the training library (``train
--from-library``), then, on the held-out library, compares the cue plan (default layout, section
starts) of the shipped and of the fine-tuned model with the DJ's cues: F-measure at +-1 beat.

``--engine synth`` (the default) renders both sets with the numpy synthesiser from one corpus;
``--engine sampled`` renders the training tracks from the sampled engine's ``train`` sound pool
and the test tracks from its ``heldout`` pool (``--train-pool`` / ``--test-pool``; corpus seed
``--test-seed``, default ``--seed``), so the style is tested on sounds and templates it was never
learnt from. Two more figures tell the style
representation from the detector: the style fitted on the *true* structure of the training
tracks and applied to the true structure of the test tracks (what the style can express at all),
and the style fitted on the shipped model's analyses without network fine-tuning.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def truth_analysis(truth: dict, path: str):  # type: ignore[no-untyped-def,type-arg]
    from djstruct.types import Analysis, Section

    secs = tuple(Section(float(s["start"]), float(s["end"]), s["label"]) for s in truth["sections"])
    return Analysis(path, float(truth["duration_s"]), float(truth["bpm"]), tuple(truth["beats"]),
                    tuple(truth["downbeats"]), secs, tuple(float(d) for d in truth["drops"]), None, "truth")


def tracks(corpus: Path) -> list[tuple[dict, Path]]:  # type: ignore[type-arg]
    out = []
    for jf in sorted(corpus.glob("*.json")):
        truth = json.loads(jf.read_text())
        out.append((truth, corpus / truth["file"]))
    return out


def analyses(model: str, corpus: Path, cache: Path | None = None) -> list:  # type: ignore[type-arg]
    """The ``ml`` detector's analysis of every track of ``corpus`` (one thread), cached in ``cache``."""
    from djstruct.detect.base import analyze_file, get_detector
    from djstruct.types import Analysis

    if cache is not None and cache.is_file():
        return [Analysis.from_dict(d) for d in json.loads(cache.read_text())]
    det = get_detector("ml", model=model, threads=1)
    out = [analyze_file(audio, det) for _, audio in tracks(corpus)]
    if cache is not None:
        cache.write_text(json.dumps([a.to_dict() for a in out]))
    return out


def plan_f(found: list, corpus: Path, style: str, verbose: bool = False) -> float:  # type: ignore[type-arg]
    """Mean F at +-1 beat of the cue plan's memory cues against the DJ's style cues."""
    from djstruct.cues.plan import load_layout, plan_cues
    from djstruct.evaluate import onset_f
    from djstruct.synth.library import style_cues

    layout = load_layout("default")
    fs = []
    for (truth, audio), a in zip(tracks(corpus), found, strict=True):
        ref = [t for t, _ in style_cues(truth, style)]
        est = [c.cue.start_s for c in plan_cues(a, layout).memory]
        fs.append(onset_f(ref, est, 60.0 / truth["bpm"]))
        if verbose:
            bar = 240.0 / truth["bpm"]
            r = lambda ts, o=truth["offset_s"], b=bar: [round((t - o) / b, 1) for t in ts]  # noqa: E731
            print(f"    {audio.stem}: F {fs[-1]:.2f}  DJ bars {r(ref)}  planned bars {r(sorted(est))}  "
                  f"drops true {r(truth['drops'])} found {r(a.drops)}")
    return float(np.mean(fs))


def style_only_f(train_a: list, train_c: Path, test_a: list, test_c: Path, style: str) -> float:  # type: ignore[type-arg]
    """Fit the cue style (no network training) on ``train_a`` and score it on ``test_a``."""
    from dataclasses import replace

    from djstruct.postprocess.cue_style import pick_cues
    from djstruct.synth.library import style_cues
    from djstruct.train.style_fit import StyleExample, fit_style

    exs = [StyleExample(a, tuple(t for t, _ in style_cues(truth, style))) for (truth, _), a
           in zip(tracks(train_c), train_a, strict=True)]
    n_val = max(1, round(0.2 * len(exs)))
    learnt, _ = fit_style(exs[n_val:], exs[:n_val])
    return plan_f([replace(a, cue_points=pick_cues(learnt, a)) for a in test_a], test_c, style)


def test_dir(args: argparse.Namespace) -> str:
    if args.engine != "sampled" or args.test_seed is None or args.test_seed == args.seed:
        return "test"
    return f"test-{args.test_seed}"


def render(tmp: Path, args: argparse.Namespace) -> None:
    from djstruct.synth import render_corpus

    if args.engine == "sampled":
        test_seed = args.seed if args.test_seed is None else args.test_seed
        for sub, n, pool, seed in (("train", args.train, args.train_pool, args.seed),
                                   (test_dir(args), args.test, args.test_pool, test_seed)):
            if len(list((tmp / sub).glob("*.json"))) < n:
                render_corpus(tmp / sub, n, seed, formats=["wav"], workers=args.workers, engine="sampled", pool=pool)
        return
    if (tmp / "test").is_dir():
        return
    render_corpus(tmp / "all", args.train + args.test, args.seed, formats=["wav"], workers=args.workers)
    rendered = sorted((tmp / "all").glob("*.json"))
    for sub, lo, hi in (("train", 0, args.train), ("test", args.train, args.train + args.test)):
        (tmp / sub).mkdir()
        for jf in rendered[lo:hi]:
            truth = json.loads(jf.read_text())
            shutil.move(jf, tmp / sub / jf.name)
            shutil.move(tmp / "all" / truth["file"], tmp / sub / truth["file"])


def main() -> None:
    from djstruct.synth.library import STYLES

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--train", type=int, default=40)
    ap.add_argument("--test", type=int, default=20)
    ap.add_argument("--seed", type=int, default=8080)
    ap.add_argument("--test-seed", type=int, default=None, help="corpus seed of the test tracks (sampled; "
                    "default --seed)")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--engine", choices=["synth", "sampled"], default="synth")
    ap.add_argument("--train-pool", choices=["train", "heldout"], default="train")
    ap.add_argument("--test-pool", choices=["train", "heldout"], default="heldout")
    ap.add_argument("--style", choices=STYLES, default="pre-drop-16")
    ap.add_argument("--threads", type=int, default=2, help="torch threads for fine-tuning")
    ap.add_argument("--workers", type=int, default=2, help="render workers")
    ap.add_argument("--verbose", action="store_true", help="per test track: the DJ's cues vs the plan")
    ap.add_argument("--keep", type=Path, default=None)
    args = ap.parse_args()

    from djstruct.library import LibrarySource
    from djstruct.synth.library import write_dj_library
    from djstruct.train.check import check_library
    from djstruct.train.finetune import FinetuneConfig, finetune

    style = args.style
    with tempfile.TemporaryDirectory() as d:
        tmp = args.keep or Path(d)
        tmp.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        render(tmp, args)
        test = tmp / test_dir(args)
        print(f"setup: {args.train} + {args.test} {args.engine} tracks (seed {args.seed}, test seed "
              f"{args.test_seed if args.test_seed is not None else args.seed}) in "
              f"{time.perf_counter() - t0:.0f} s; style {style}")
        truth_tr = [truth_analysis(t, str(a)) for t, a in tracks(tmp / "train")]
        truth_te = [truth_analysis(t, str(a)) for t, a in tracks(test)]
        f_oracle = style_only_f(truth_tr, tmp / "train", truth_te, test, style)
        print(f"the style fitted on the true structure, applied to the true structure: F {f_oracle:.3f}")
        base_tr = analyses("default", tmp / "train", tmp / "shipped-train.json")
        base_te = analyses("default", test, tmp / f"shipped-{test.name}.json")
        f_style0 = style_only_f(base_tr, tmp / "train", base_te, test, style)
        print(f"the style fitted on the shipped model's analyses (no network fine-tuning): F {f_style0:.3f}")
        xml = tmp / f"train-{style}.xml"
        write_dj_library(tmp / "train", xml, style=style, seed=args.seed)
        res = check_library([LibrarySource("rekordbox-xml", xml)], tmp / "none.sqlite", reviewed=set(),
                            find_issues=False)
        t0 = time.perf_counter()
        ft = finetune(res.checks, FinetuneConfig(name=f"style-bench-{style}", epochs=args.epochs,
                                                 threads=args.threads),
                      cache_dir=tmp / "cache", models_dir=tmp / "models",
                      on_epoch=lambda r: print(f"  epoch {r['epoch']}: loss {r['loss'] or float('nan'):.3f} "
                                               f"val F(1 beat) {r['f_beat']:.3f} ({r['minutes']:.1f} min)"))
        print(f"fine-tuning on {ft.n_train} tracks (+{ft.n_val} validation): {ft.seconds / 60:.1f} min "
              f"(decoding and caching the features, the epoch-0 style and the network epochs), "
              f"{ft.epochs_run} epochs; best validation agreement {ft.metrics}")
        f_base = plan_f(base_te, test, style)
        f_tuned = plan_f(analyses(str(ft.path), test), test, style, args.verbose)
        print(f"held-out {args.test} tracks, cue plan vs the DJ's style, F at +-1 beat: "
              f"shipped model {f_base:.3f}, fine-tuned {f_tuned:.3f}")


if __name__ == "__main__":
    main()
