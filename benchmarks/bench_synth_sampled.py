"""Benchmark the sampled engine: seconds per full-length track (render only, in this process, one
core), the loudness it reaches (its own BS.1770 figure, a full re-measurement, and pyloudnorm's
when installed), and what a corpus of 1,000 tracks would cost with W workers.

    python benchmarks/bench_synth_sampled.py [--n 12] [--pool train|heldout|both] [--seed 0] [--workers 2]

With ``--workers`` > 1 the same tracks are rendered again in a spawn-based pool (no encoding), to
measure the throughput that two cores really give (the pool workers share the machine's cores).
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from djstruct.synth.sampled import render_track
from djstruct.synth.sampled.master import integrated_lufs


def _render(args: tuple[int, int, str]) -> float:
    seed, index, pool = args
    t0 = time.perf_counter()
    render_track(seed, index, pool)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=12, help="tracks per pool")
    ap.add_argument("--pool", default="both", choices=["train", "heldout", "both"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    try:
        import pyloudnorm

        meter = pyloudnorm.Meter(44100)
    except ImportError:
        meter = None
    pools = ["train", "heldout"] if args.pool == "both" else [args.pool]
    render_track(args.seed, 0, pools[0], short=True)  # warm imports and caches once
    jobs = [(args.seed, i, p) for p in pools for i in range(args.n)]
    secs, per_min, lufs_own, lufs_full, lufs_pyln = [], [], [], [], []
    print(f"in-process, one core, {len(jobs)} full-length tracks:")
    for seed, i, pool in jobs:
        t0 = time.perf_counter()
        audio, truth = render_track(seed, i, pool)
        dt = time.perf_counter() - t0
        full = integrated_lufs(audio)
        ext = meter.integrated_loudness(audio.astype(np.float64)) if meter else float("nan")
        secs.append(dt)
        per_min.append(dt / (truth["duration_s"] / 60))
        lufs_own.append(truth["loudness_lufs"])
        lufs_full.append(full)
        lufs_pyln.append(ext)
        print(f"  {pool:7s} {i:3d} {truth['genre']:15s} {truth['bpm']:6.2f} BPM {truth['template']:12s} "
              f"{truth['duration_s'] / 60:4.2f} min  render {dt:5.2f} s  LUFS {truth['loudness_lufs']:6.2f} "
              f"(full {full:6.2f}, pyloudnorm {ext:6.2f})  peak {20 * np.log10(np.max(np.abs(audio))):5.2f} dBFS")
    print(f"seconds per track: mean {statistics.mean(secs):.2f}, median {statistics.median(secs):.2f}, "
          f"max {max(secs):.2f}; per minute of audio {statistics.mean(per_min):.2f}")
    print(f"integrated loudness: {min(lufs_own):.2f} .. {max(lufs_own):.2f} LUFS "
          f"(mean {statistics.mean(lufs_own):.2f});"
          f" |own - full| max {max(abs(a - b) for a, b in zip(lufs_own, lufs_full, strict=True)):.3f} LU"
          + (f"; |full - pyloudnorm| max {max(abs(a - b) for a, b in zip(lufs_full, lufs_pyln, strict=True)):.3f} LU"
             if meter else ""))
    if args.workers > 1:
        ctx = multiprocessing.get_context("spawn")
        t0 = time.perf_counter()
        with ProcessPoolExecutor(max_workers=args.workers, mp_context=ctx) as pool:
            list(pool.map(_render, jobs))
        wall = time.perf_counter() - t0
        print(f"{args.workers} workers: {len(jobs)} tracks in {wall:.1f} s = {wall / len(jobs):.2f} s per track "
              f"(worker start-up included); 1,000 tracks: {1000 * wall / len(jobs) / 60:.1f} min")


if __name__ == "__main__":
    main()
