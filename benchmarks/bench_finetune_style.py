"""A synthetic DJ with a personal style, and whether fine-tuning learns it (run by hand).

``python benchmarks/bench_finetune_style.py [--train 40] [--test 20] [--seed 8080] [--epochs 10]``:
renders train + test synthetic tracks, writes two Rekordbox XML libraries whose cues follow the
style "a cue 16 bars before every drop and on every drop, none at breakdowns", fine-tunes the
shipped model on the training library (``train --from-library``), then, on the held-out library,
compares the cue plan (default layout, section starts) of the shipped and of the fine-tuned model
with the DJ's cues: F-measure at +-1 beat. Prints the figures and the fine-tuning time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def plan_f(model: str, corpus: Path, style: str) -> float:
    from djstruct.cues.plan import load_layout, plan_cues
    from djstruct.detect.base import analyze_file, get_detector
    from djstruct.evaluate import onset_f
    from djstruct.synth.library import style_cues

    det = get_detector("ml", model=model)
    layout = load_layout("default")
    fs = []
    for jf in sorted(corpus.glob("*.json")):
        truth = json.loads(jf.read_text())
        a = analyze_file(corpus / truth["file"], det)
        est = [c.cue.start_s for c in plan_cues(a, layout).memory]
        fs.append(onset_f([t for t, _ in style_cues(truth, style)], est, 60.0 / truth["bpm"]))
    return float(np.mean(fs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--train", type=int, default=40)
    ap.add_argument("--test", type=int, default=20)
    ap.add_argument("--seed", type=int, default=8080)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--keep", type=Path, default=None)
    args = ap.parse_args()

    from djstruct.library import LibrarySource
    from djstruct.synth import render_corpus
    from djstruct.synth.library import write_dj_library
    from djstruct.train.check import check_library
    from djstruct.train.finetune import FinetuneConfig, finetune

    style = "pre-drop-16"
    with tempfile.TemporaryDirectory() as d:
        tmp = args.keep or Path(d)
        t0 = time.perf_counter()
        if not (tmp / "test").is_dir():
            render_corpus(tmp / "all", args.train + args.test, args.seed, formats=["wav"], workers=2)
            rendered = sorted((tmp / "all").glob("*.json"))
            for sub, lo, hi in (("train", 0, args.train), ("test", args.train, args.train + args.test)):
                (tmp / sub).mkdir()
                for jf in rendered[lo:hi]:
                    truth = json.loads(jf.read_text())
                    shutil.move(jf, tmp / sub / jf.name)
                    shutil.move(tmp / "all" / truth["file"], tmp / sub / truth["file"])
        print(f"setup: {args.train} + {args.test} tracks in {time.perf_counter() - t0:.0f} s")
        xml = tmp / "train.xml"
        write_dj_library(tmp / "train", xml, style=style, seed=args.seed)
        res = check_library([LibrarySource("rekordbox-xml", xml)], tmp / "none.sqlite", reviewed=set(),
                            find_issues=False)
        t0 = time.perf_counter()
        ft = finetune(res.checks, FinetuneConfig(name="style-bench", epochs=args.epochs, threads=2),
                      cache_dir=tmp / "cache", models_dir=tmp / "models",
                      on_epoch=lambda r: print(f"  epoch {r['epoch']}: loss {r['loss'] or float('nan'):.3f} "
                                               f"val F(1 beat) {r['f_beat']:.3f} ({r['minutes']:.1f} min)"))
        print(f"fine-tuning on {ft.n_train} tracks (+{ft.n_val} validation): {ft.seconds / 60:.1f} min "
              f"(decoding and caching the features, the epoch-0 style and the network epochs), "
              f"{ft.epochs_run} epochs; best validation agreement {ft.metrics}")
        f_base = plan_f("default", tmp / "test", style)
        f_tuned = plan_f(str(ft.path), tmp / "test", style)
        print(f"held-out {args.test} tracks, cue plan vs the DJ's style, F at +-1 beat: "
              f"shipped model {f_base:.3f}, fine-tuned {f_tuned:.3f}")


if __name__ == "__main__":
    main()
