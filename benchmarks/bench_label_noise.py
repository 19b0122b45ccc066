"""Label-error detection on a synthetic DJ library with injected noise (run by hand).

``python benchmarks/bench_label_noise.py [--n 40] [--seed 5150]``: renders N synthetic tracks
(WAV), scans them, writes a Rekordbox XML whose cues sit on every section start, injects noise
(15 % of cues moved 40-300 ms off the grid, 5 % shifted by one bar, 5 % spurious cues on
non-boundary downbeats, 5 % missing), then runs ``check_library`` and prints how many of each
kind were caught (recall) and how many flags were right (precision).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def score(result, inj) -> None:  # type: ignore[no-untyped-def]
    issues = result.issues
    tol = 0.3

    def hit(path: str, t: float | None, kind: tuple[str, ...]) -> bool:
        return any(i.path == path and i.issue in kind and i.cue_time is not None and abs(i.cue_time - t) < tol
                   for i in issues)

    off = [(p, t) for p, ts in inj.off_grid.items() for t in ts]
    caught = sum(hit(p, t, ("off_grid",)) for p, t in off)
    print(f"off-grid cues caught by the heuristics: {caught}/{len(off)} = {caught / max(len(off), 1):.2f}")

    shifted = [(p, t, true) for p, ts in inj.shifted.items() for t, true in ts]
    spur = [(p, t) for p, ts in inj.spurious.items() for t in ts]
    found_shift = sum(hit(p, t, ("shifted", "spurious")) for p, t, _ in shifted)
    found_spur = sum(hit(p, t, ("spurious", "shifted")) for p, t in spur)
    right_fix = sum(any(i.path == p and i.issue == "shifted" and i.suggested_time is not None
                        and abs(i.suggested_time - true) < tol for i in issues) for p, _, true in shifted)
    flagged = [i for i in issues if i.issue in ("shifted", "spurious")]
    truth = {(p, round(t, 1)) for p, t, _ in shifted} | {(p, round(t, 1)) for p, t in spur}
    correct = sum(any(i.path == p and i.cue_time is not None and abs(i.cue_time - t) < tol for p, t in truth)
                  for i in flagged)
    recall = (found_shift + found_spur) / max(len(shifted) + len(spur), 1)
    precision = correct / max(len(flagged), 1)
    print(f"shifted cues found: {found_shift}/{len(shifted)} (correction to the true bar: {right_fix}); "
          f"spurious cues found: {found_spur}/{len(spur)}")
    print(f"shifted + spurious: precision {precision:.2f} ({correct}/{len(flagged)} flags), recall {recall:.2f}")
    miss = [(p, t) for p, ts in inj.missing.items() for t in ts]
    found_miss = sum(any(i.path == p and i.issue == "missing" and abs(i.suggested_time - t) < tol for i in issues)
                     for p, t in miss)
    print(f"missing cues found: {found_miss}/{len(miss)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--seed", type=int, default=5150)
    ap.add_argument("--keep", type=Path, default=None, help="Work in this folder and reuse it next time.")
    args = ap.parse_args()
    from djstruct.library import LibrarySource
    from djstruct.scan import ScanConfig, run_scan
    from djstruct.synth import render_corpus
    from djstruct.synth.library import Noise, write_dj_library
    from djstruct.train.check import check_library

    with tempfile.TemporaryDirectory() as d:
        tmp = args.keep or Path(d)
        t0 = time.perf_counter()
        store = tmp / "store.sqlite"
        if not store.exists():
            render_corpus(tmp / "corpus", args.n, args.seed, formats=["wav"], workers=2)
            # dsp, as when the README figures were measured (the default is now ml)
            run_scan(ScanConfig((LibrarySource("folder", tmp / "corpus"),), store, "dsp", workers=2))
        print(f"setup: {args.n} tracks rendered and scanned in {time.perf_counter() - t0:.0f} s")
        xml = tmp / "rekordbox.xml"
        inj = write_dj_library(tmp / "corpus", xml, noise=Noise(off_grid=0.15, shifted=0.05, spurious=0.05,
                                                                missing=0.05), seed=args.seed)
        t0 = time.perf_counter()
        result = check_library([LibrarySource("rekordbox-xml", xml)], store, reviewed=set())
        print(f"labels check: {len(result.checks)} tracks, {len(result.issues)} issues in "
              f"{time.perf_counter() - t0:.1f} s; tiers {result.tier_counts()}")
        score(result, inj)


if __name__ == "__main__":
    main()
