"""Score detectors on a sampled-engine corpus (the leave-sources-out ``heldout`` pool by default) and
count their failure modes against the exact truth.

    djstruct synth OUT --engine sampled --pool heldout --n 48 --seed S
    python benchmarks/bench_sampled_failures.py OUT [--detector ml --detector dsp]

Printed per detector: the overall metrics of ``djstruct eval``, metrics per genre, and counts of
early / late / missed / spurious drops, extra section starts (split where an element enters inside
a section, on an 8-bar phrase inside a section, other), missed section starts by label, tempo
errors (octave or other), bar-phase and beat-phase failures, and the frame-wise label confusions.
"""

from __future__ import annotations

import argparse
import collections
import logging
from pathlib import Path
from typing import Any

import numpy as np

from djstruct.detect.base import analyze_file, get_detector
from djstruct.evaluate import METRICS, load_truth, score_track, truth_files
from djstruct.types import Analysis

TOL = 0.5


def _near(t: float, times: list[float], tol: float = TOL) -> bool:
    return any(abs(t - x) <= tol for x in times)


def failures(truth: dict[str, Any], est: Analysis, c: collections.Counter[str],
             confusion: collections.Counter[tuple[str, str]]) -> None:
    bar = 240.0 / truth["bpm"]
    ref_drops, est_drops = list(truth["drops"]), list(est.drops)
    for d in ref_drops:
        if _near(d, est_drops):
            c["drop on time"] += 1
        elif any(d - 8 * bar - TOL <= e < d - TOL for e in est_drops):
            c["drop early (<= 8 bars before)"] += 1
        elif any(d + TOL < e <= d + 8 * bar + TOL for e in est_drops):
            c["drop late (<= 8 bars after)"] += 1
        else:
            c["drop missed"] += 1
    for e in est_drops:
        if not any(d - 8 * bar - TOL <= e <= d + 8 * bar + TOL for d in ref_drops):
            c["drop spurious (far from any drop)"] += 1
    starts = [s["start"] for s in truth["sections"]]
    events = [ev["time"] for ev in truth.get("events", [])]
    for s in est.sections[1:]:
        t = s.start_s
        if _near(t, starts):
            continue
        sec = next((x for x in truth["sections"] if x["start"] <= t < x["end"]), None)
        if _near(t, events, 1.0):
            c["extra start: element enters inside a section"] += 1
        elif sec is not None and abs(((t - sec["start"]) / bar) % 8) < 0.3:
            c[f"extra start: 8-bar phrase inside a {sec['label']}"] += 1
        else:
            c[f"extra start: other (in a {sec['label'] if sec else 'tail'})"] += 1
    for s in truth["sections"][1:]:
        if not _near(s["start"], [x.start_s for x in est.sections]):
            c[f"missed start of a {s['label']}"] += 1
    bpm, ref = est.bpm or 0.0, truth["bpm"]
    if abs(bpm - ref) > 0.02 * ref:
        octave = any(abs(bpm * k - ref) <= 0.02 * ref for k in (2.0, 0.5))
        c[f"tempo {'octave' if octave else 'other'} error ({truth['genre']})"] += 1
    m = score_track(truth, est)
    if m["beat_f"] < 0.5:
        c["beat phase wrong (beat F < 0.5)"] += 1
    elif m["downbeat_f"] < 0.5:
        c["bar phase wrong (beat F >= 0.5, downbeat F < 0.5)"] += 1
    t = np.arange(truth["sections"][0]["start"], truth["sections"][-1]["end"], 0.5)
    for x in t:
        ref_l = next((s["label"] for s in truth["sections"] if s["start"] <= x < s["end"]), "")
        est_l = next((s.label for s in est.sections if s.start_s <= x < s.end_s), "-")
        if ref_l != est_l:
            confusion[(ref_l, est_l)] += 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--detector", action="append", default=None, help="ml (default) and/or dsp")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    files = truth_files(args.corpus)
    for name in args.detector or ["ml", "dsp"]:
        det = get_detector(name)
        per: list[tuple[str, dict[str, float]]] = []
        c: collections.Counter[str] = collections.Counter()
        conf: collections.Counter[tuple[str, str]] = collections.Counter()
        for jf in files:
            truth = load_truth(jf)
            est = analyze_file(jf.parent / truth["file"], det)
            per.append((truth["genre"], score_track(truth, est)))
            failures(truth, est, c, conf)
        print(f"== detector {name}: {len(per)} tracks")
        print("overall  " + "  ".join(f"{k} {np.mean([m[k] for _, m in per]):.3f}" for k in METRICS))
        for g in sorted({g for g, _ in per}):
            ms = [m for gg, m in per if gg == g]
            print(f"  {g:15s} n={len(ms):2d}  " + "  ".join(
                f"{k} {np.mean([m[k] for m in ms]):.2f}" for k in ("boundary_f05", "drop_f", "downbeat_f",
                                                                      "label_acc", "bpm_acc1")))
        print("failure modes:")
        for k, v in sorted(c.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {v:4d}  {k}")
        total = sum(conf.values())
        print(f"label confusions (truth -> estimate, share of the {total} wrong half-second frames):")
        for (a, b), v in conf.most_common(8):
            print(f"  {a:9s} -> {b:9s} {v / max(total, 1):.2f}")


if __name__ == "__main__":
    main()
