"""Build time and size of ``djstruct report`` over a synthetic library (run by hand, prints figures).

``python benchmarks/bench_report.py [--n 200] [--seconds 20] [--workers 2] [--keep DIR]``: renders
three short synthetic tracks, encodes a ``--seconds`` excerpt of each (MP3, FLAC, M4A), copies them
round-robin into a folder of ``--n`` files, scans the folder (not timed), then times the report
build through the command line (``djstruct report --out``, a fresh process, as a DJ runs it), then
a rebuild (waveforms from the cache), and prints the times, the report's size (without the cache)
and the size per track page. Target: < 60 s for 200 tracks on
a 2-core machine.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_library(lib: Path, tmp: Path, n: int, seconds: float) -> None:
    from djstruct.synth import SR, render_track
    from djstruct.synth.encode import FORMATS, encode

    masters = []
    for i, fmt in enumerate(("mp3", "flac", "m4a")):
        audio, _ = render_track(21, i, short=True)
        ext = FORMATS[fmt] if FORMATS[fmt].startswith(".") else "." + FORMATS[fmt]
        masters.append(encode(audio[: int(seconds * SR)], SR, tmp / f"clip{i}{ext}", fmt))
    lib.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        m = masters[i % len(masters)]
        shutil.copy(m, lib / f"track{i:04d}{m.suffix}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", type=Path, default=None, help="Build the report here and keep it.")
    args = ap.parse_args()

    from djstruct.library import LibrarySource
    from djstruct.scan import ScanConfig, run_scan

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        lib, store = tmp / "library", tmp / "store.sqlite"
        t0 = time.perf_counter()
        make_library(lib, tmp, args.n, args.seconds)
        # dsp, as when the README figures were measured (the default is now ml)
        r = run_scan(ScanConfig((LibrarySource("folder", lib),), store, "dsp", workers=2))
        print(f"setup: {args.n} x {args.seconds:.0f} s tracks (mp3/flac/m4a) scanned in "
              f"{time.perf_counter() - t0:.1f} s ({r.analysed} analysed, {len(r.failed)} failed)")

        out = args.keep if args.keep is not None else tmp / "report"
        cmd = [sys.executable, "-m", "djstruct.cli.main", "report", "--store", str(store), "--out", str(out),
               "--workers", str(args.workers)]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        dt = time.perf_counter() - t0
        if proc.returncode != 0:
            sys.exit(f"report failed ({proc.returncode}): {proc.stderr}")
        t1 = time.perf_counter()
        again = subprocess.run(cmd, capture_output=True, text=True, check=False)
        dt_again = time.perf_counter() - t1
        if again.returncode != 0:
            sys.exit(f"report rebuild failed ({again.returncode}): {again.stderr}")
        shutil.rmtree(out / ".cache", ignore_errors=True)  # not part of the report's size
        pages = sorted((out / "tracks").glob("*.html"))
        total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        per_page = sum(p.stat().st_size for p in pages) / max(len(pages), 1)
        print(proc.stdout.strip())
        print(f"report build: {dt:.1f} s for {len(pages)} track pages ({dt / max(len(pages), 1) * 1000:.0f} ms/track, "
              f"{args.workers} workers, target < 60 s for 200)")
        print(f"rebuild with unchanged files (waveforms from the cache): {dt_again:.1f} s")
        print(f"report size: {total / 1e6:.2f} MB in total, {per_page / 1e3:.1f} kB per track page "
              f"(~{per_page * 500 / 1e6:.0f} MB for 500 tracks)")


if __name__ == "__main__":
    main()
