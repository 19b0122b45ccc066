"""What the extra section starts on a rendered evaluation set are: the truth's section starts are
what ``djstruct eval`` scores; the renderers also record *events* inside sections (``drums_enter``,
``bass_enters``, ``drums_out``, ``kick_back``, ``fake_drop`` ...), changes a DJ may well cue that the
truth does not count as a new section.

    python benchmarks/bench_boundary_errors.py DIR [--model default] [--window 0.5]

``DIR`` is a folder written by ``djstruct synth`` (audio beside its truth JSON). Prints the section
starts matched, missed and extra at +-``window`` s, the boundary F, and the extra starts by kind:
a same-label split (the label before it is the same) or a new label, and the truth event within the
window, if any.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np


def main() -> None:
    import mir_eval

    from djstruct.detect.base import analyze_file, get_detector

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--model", default="default")
    ap.add_argument("--window", type=float, default=0.5)
    args = ap.parse_args()
    det = get_detector("ml", model=args.model)
    kinds: Counter[tuple[str, str]] = Counter()
    tp = fp = fn = 0
    for tj in sorted(args.folder.glob("*.json")):
        truth = json.loads(tj.read_text())
        a = analyze_file(args.folder / truth["file"], det)
        ref = np.array([s["start"] for s in truth["sections"][1:]])
        est = np.array([s.start_s for s in a.sections[1:]])
        matched = mir_eval.util.match_events(ref, est, args.window) if len(ref) and len(est) else []
        hit = {j for _, j in matched}
        tp, fp, fn = tp + len(matched), fp + len(est) - len(matched), fn + len(ref) - len(matched)
        for k, s in enumerate(a.sections[1:]):
            if k in hit:
                continue
            near = [e["what"] for e in truth.get("events", []) if abs(e["time"] - s.start_s) <= args.window]
            kind = f"same-label {s.label}" if a.sections[k].label == s.label else f"new label {s.label}"
            kinds[(kind, near[0] if near else "no event")] += 1
    p, r = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    print(f"{args.folder}: {tp} section starts found, {fn} missed, {fp} extra at +-{args.window} s "
          f"(pooled F {2 * p * r / max(p + r, 1e-9):.3f}, precision {p:.3f}, recall {r:.3f})")
    on_event = sum(n for (_, ev), n in kinds.items() if ev != "no event")
    print(f"extra starts on a truth event: {on_event} of {fp}")
    for (kind, ev), n in kinds.most_common():
        print(f"  {n:4d}  {kind:24s} {ev}")


if __name__ == "__main__":
    main()
