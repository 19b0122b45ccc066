"""Benchmark the synthetic corpus: render + encode N tracks (default 24) with W workers (default 2)
into a temporary folder, then print the total time and the time per track.

    python benchmarks/bench_synth.py [--n 24] [--workers 2] [--seed 0] [--detail 0] [--keep DIR]

``--detail K`` first renders and encodes K tracks in this process, one at a time, and prints the
render and encode times of each separately (one core, no pool).
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

from djstruct.synth import render_corpus, render_track, track_name
from djstruct.synth.corpus import _encoders, _write_audio

logger = logging.getLogger(__name__)


def detail(out_dir: Path, k: int, seed: int) -> None:
    """Render and encode ``k`` tracks in-process, timing each stage."""
    known, _ = _encoders()
    fmts = list(known)
    for i in range(k):
        fmt = fmts[i % len(fmts)]
        t0 = time.perf_counter()
        audio, truth = render_track(seed, i)
        t1 = time.perf_counter()
        _write_audio(audio, out_dir / f"{track_name(seed, i)}.{known[fmt].lstrip('.')}", fmt)
        t2 = time.perf_counter()
        print(f"  {track_name(seed, i):28s} {truth['duration_s'] / 60:4.2f} min  {truth['bpm']:7.2f} BPM  "
              f"render {t1 - t0:5.2f} s  encode {fmt:10s} {t2 - t1:5.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--detail", type=int, default=0, help="time render/encode of K tracks in-process first")
    ap.add_argument("--keep", type=Path, default=None, help="write into DIR and keep it")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory(prefix="bench-synth-") as tmp:
        out = args.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        if args.detail:
            print(f"in-process, one core ({args.detail} tracks):")
            detail(out, args.detail, args.seed)

        t0 = time.perf_counter()
        stamps: list[float] = []

        def progress(done: int, total: int, path: Path) -> None:
            stamps.append(time.perf_counter() - t0)
            print(f"  [{done:3d}/{total}] {stamps[-1]:6.1f} s  {path.name}", flush=True)

        paths = render_corpus(out, args.n, args.seed, workers=args.workers, progress=progress)
        total = time.perf_counter() - t0
        minutes = sum(json.loads(p.read_text())["duration_s"] for p in paths) / 60
        fmts = sorted({Path(json.loads(p.read_text())["file"]).suffix for p in paths})
        print(f"{len(paths)} tracks ({minutes:.1f} min of audio, {minutes / max(1, len(paths)):.2f} min avg, "
              f"formats {' '.join(fmts)}) with {args.workers} workers")
        print(f"total {total:.1f} s; per track {total / max(1, len(paths)):.2f} s wall, "
              f"{total * args.workers / max(1, len(paths)):.2f} s of worker time")


if __name__ == "__main__":
    main()
