"""Scan benchmarks (run by hand, prints figures):

- ``rescan``: re-scan of an unchanged 2,000-track library (a folder of small WAV files and a
  Rekordbox XML that lists them), after a first scan has stored an analysis for each file. What
  is timed is the real ``run_scan``: reading the library, stat + store look-up per track.
- ``workers``: throughput of a scan with 1 and with 2 workers on the same tracks (``--force``).
- ``memory``: peak memory (parent process and the largest worker) for 50 vs 500 tracks.

``python benchmarks/bench_scan.py rescan|workers|memory|all [--detector ml|dsp]`` (default: the
default detector, ``ml``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = r"""
import json, os, resource, sys, threading, time
from pathlib import Path
from djstruct.library import LibrarySource
from djstruct.scan import ScanConfig, run_scan
folder, store, workers, force = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
watch_memory = sys.argv[5] == "1"
detector = sys.argv[6] or None
peak = {"worker": 0}
stop = threading.Event()

def watch():  # peak RSS of the pool's processes (forkserver children are not our children)
    me = os.getpid()
    while not stop.is_set():
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == me:
                continue
            try:
                cmd = open(f"/proc/{pid}/cmdline", "rb").read()
                if b"multiprocessing" not in cmd:
                    continue
                rss = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS"))
                peak["worker"] = max(peak["worker"], rss)
            except (OSError, StopIteration):
                pass
        time.sleep(0.25)

if watch_memory:
    threading.Thread(target=watch, daemon=True).start()
t0 = time.perf_counter()
r = run_scan(ScanConfig((LibrarySource("folder", folder),), store, detector, workers=workers, force=force))
dt = time.perf_counter() - t0
stop.set()
hwm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')) / 1024
cpu = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": dt, "analysed": r.analysed, "failed": len(r.failed), "parent_mib": hwm,
                  "worker_mib": peak["worker"] / 1024, "parent_cpu_s": cpu.ru_utime + cpu.ru_stime}))
"""


DETECTOR = ""  # set from --detector ("" = the default)


def scan_child(folder: Path, store: Path, workers: int, force: bool, memory: bool = False) -> dict:
    args = [str(folder), str(store), str(workers), "1" if force else "0", "1" if memory else "0", DETECTOR]
    out = subprocess.run([sys.executable, "-c", CHILD, *args],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def make_clips(folder: Path, n: int, seconds: float, seed: int = 0) -> list[Path]:
    """``n`` WAV files of ``seconds`` of a synthetic track (different excerpts)."""
    import soundfile as sf

    from djstruct.synth import SR, render_track

    audio, _ = render_track(seed, 0)
    length = int(seconds * SR)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        start = (i * 7919 * SR // 10) % max(len(audio) - length, 1)
        p = folder / f"clip{i:05d}.wav"
        sf.write(p, audio[start:start + length], SR, subtype="PCM_16")
        paths.append(p)
    return paths


def bench_rescan(tmp: Path, n: int = 2000) -> None:
    from djstruct.library import LibrarySource
    from djstruct.library.rekordbox.locations import path_to_location
    from djstruct.scan import ScanConfig, run_scan
    from djstruct.store import Store

    folder = tmp / "rescan"
    paths = make_clips(folder, n, 0.5)
    store = tmp / "rescan.sqlite"
    t0 = time.perf_counter()
    first = run_scan(ScanConfig((LibrarySource("folder", folder),), store, DETECTOR or None, workers=2))
    print(f"rescan: first scan of {n} half-second WAVs: {time.perf_counter() - t0:.1f} s "
          f"({first.analysed} analysed, {len(first.failed)} failed)")
    for _ in range(2):
        t0 = time.perf_counter()
        r = run_scan(ScanConfig((LibrarySource("folder", folder),), store, DETECTOR or None, workers=2))
        print(f"rescan: unchanged folder of {n} tracks: {time.perf_counter() - t0:.2f} s "
              f"({r.analysed} analysed, {r.up_to_date} up to date)")
    xml = tmp / "rekordbox.xml"
    rows = "".join(f'<TRACK TrackID="{i}" Name="c{i}" Location="{path_to_location(p)}" TotalTime="1" '
                   f'AverageBpm="128.00"><TEMPO Inizio="0.000" Bpm="128.00" Metro="4/4" Battito="1"/>'
                   f'<POSITION_MARK Name="" Type="0" Start="0.000" Num="-1"/></TRACK>' for i, p in enumerate(paths))
    xml.write_text(f'<?xml version="1.0" encoding="UTF-8"?><DJ_PLAYLISTS Version="1.0.0"><PRODUCT Name="rekordbox"/>'
                   f'<COLLECTION Entries="{n}">{rows}</COLLECTION></DJ_PLAYLISTS>', encoding="utf-8")
    for _ in range(2):
        t0 = time.perf_counter()
        r = run_scan(ScanConfig((LibrarySource("rekordbox-xml", xml),), store, DETECTOR or None,
                                    workers=2))
        print(f"rescan: unchanged Rekordbox XML of {n} tracks: {time.perf_counter() - t0:.2f} s "
              f"({r.analysed} analysed, {r.up_to_date} up to date)")
    with Store.open(store) as st:
        print(f"rescan: store holds {st.status().total.tracks} tracks")


def bench_workers(tmp: Path, n: int = 24, seconds: float = 300.0) -> None:
    folder = tmp / "workers"
    make_clips(folder, n, seconds, seed=3)
    store = tmp / "workers.sqlite"
    scan_child(folder, store, 1, True)  # warm the page cache and the store
    r1 = scan_child(folder, store, 1, True)
    r2 = scan_child(folder, store, 2, True)
    t1, t2 = n / r1["seconds"], n / r2["seconds"]
    print(f"workers: {n} x {seconds:.0f} s WAV tracks: 1 worker {r1['seconds']:.1f} s ({t1:.2f} tracks/s), "
          f"2 workers {r2['seconds']:.1f} s ({t2:.2f} tracks/s): speed-up {t2 / t1:.2f}x; "
          f"parent CPU {r1['parent_cpu_s']:.1f} s / {r2['parent_cpu_s']:.1f} s")


def bench_memory(tmp: Path) -> None:
    for n in (50, 500):
        folder = tmp / f"mem{n}"
        make_clips(folder, n, 30.0, seed=5)
        r = scan_child(folder, tmp / f"mem{n}.sqlite", 2, False, memory=True)
        print(f"memory: {n} tracks: {r['seconds']:.1f} s, parent peak {r['parent_mib']:.0f} MiB, "
              f"largest worker peak {r['worker_mib']:.0f} MiB ({r['analysed']} analysed)")
        shutil.rmtree(folder)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["rescan", "workers", "memory", "all"], nargs="?", default="all")
    ap.add_argument("--detector", default="", help="ml or dsp (default: the default detector)")
    args = ap.parse_args()
    global DETECTOR
    DETECTOR = args.detector
    from djstruct.detect.base import default_detector_name

    print(f"detector: {DETECTOR or default_detector_name()}")
    np.seterr(all="ignore")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.what in ("rescan", "all"):
            bench_rescan(tmp)
        if args.what in ("workers", "all"):
            bench_workers(tmp)
        if args.what in ("memory", "all"):
            bench_memory(tmp)


if __name__ == "__main__":
    main()
