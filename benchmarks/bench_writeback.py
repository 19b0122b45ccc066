"""Dry-run, write and undo of a synthetic library (run by hand, prints figures).

``python benchmarks/bench_writeback.py [--n 500] [--seconds 30] [--format mp3]``: renders one
synthetic track, encodes a ``--seconds`` excerpt, copies it ``--n`` times into a folder, scans the
folder (not timed), then times ``writeback --dry-run``, ``writeback`` (Serato tags) and ``undo``
through the library API, and checks that undo gave every file back byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--format", default="mp3")
    args = ap.parse_args()

    from djstruct.library import LibrarySource
    from djstruct.scan import ScanConfig, run_scan
    from djstruct.store import Store
    from djstruct.synth import SR, render_track
    from djstruct.synth.encode import FORMATS, encode
    from djstruct.writeback.apply import WritebackConfig, run_writeback
    from djstruct.writeback.journal import Journal
    from djstruct.writeback.undo import undo_run

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        lib = tmp / "library"
        lib.mkdir()
        audio, _ = render_track(21, 0)
        ext = FORMATS[args.format]
        ext = ext if ext.startswith(".") else "." + ext
        master = encode(audio[int(20 * SR): int((20 + args.seconds) * SR)], SR, tmp / f"clip{ext}", args.format)
        for i in range(args.n):
            shutil.copy(master, lib / f"track{i:04d}{ext}")
        store = tmp / "store.sqlite"
        t0 = time.perf_counter()
        # dsp, as when the README figures were measured (the default is now ml)
        run_scan(ScanConfig((LibrarySource("folder", lib),), store, "dsp", workers=2))
        took = time.perf_counter() - t0
        print(f"setup: {args.n} x {args.seconds:.0f} s {args.format} tracks scanned in {took:.1f} s")
        before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in lib.iterdir()}

        src = (LibrarySource("folder", lib),)
        t0 = time.perf_counter()
        r = run_writeback(WritebackConfig(src, dry_run=True, store_path=store))
        t_dry = time.perf_counter() - t0
        n_add = sum(p.diff.count("add") for p in r.plans if p.diff)
        print(f"writeback --dry-run: {t_dry:.1f} s ({len(r.plans)} tracks, {n_add} cues planned)")

        t0 = time.perf_counter()
        r = run_writeback(WritebackConfig(src, dry_run=False, store_path=store))
        t_write = time.perf_counter() - t0
        print(f"writeback (Serato tags): {t_write:.1f} s ({r.written} files written, {len(r.failed)} failed)")

        t0 = time.perf_counter()
        with Store.open(store) as st:
            u = undo_run(Journal(st))
        t_undo = time.perf_counter() - t0
        after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in lib.iterdir()}
        same = sum(before[k] == after[k] for k in before)
        print(f"undo: {t_undo:.1f} s ({len(u.restored)} restored, {len(u.refused)} refused); "
              f"{same}/{len(before)} files byte-identical to the originals")
        print(f"total dry-run + write + undo: {t_dry + t_write + t_undo:.1f} s")


if __name__ == "__main__":
    main()
