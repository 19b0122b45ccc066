"""Scan benchmarks (run by hand, prints figures):

- ``rescan``: re-scan of an unchanged 2,000-track library (a folder of small WAV files and a
  Rekordbox XML that lists them), after a first scan has stored an analysis for each file. What
  is timed is the real ``run_scan``: reading the library, stat + store look-up per track.
- ``workers``: throughput of a scan with 1 and with 2 workers on the same tracks (``--force``).
- ``memory``: peak memory (parent process and the largest worker) for 50 vs 500 tracks; with
  ``--engine ray``: the driver's peak for ``--sizes`` (default 1,000 and 10,000) listed half-second
  tracks, all new, then again with 500 new ones beside the analysed rest.
- ``engines``: the local pool against ``--engine ray`` (a local Ray runtime of 2 CPUs) on the same
  ``--tracks`` (24) 5-minute tracks, interleaved (local, ray, local, ray, ...; ``--rounds``), each
  run in a fresh store, with ``uptime``'s load before each; the ratio of the medians.
- ``kill``: a Ray scan of 8 short tracks whose driver is SIGKILLed after ``--kill-at`` finished
  tracks, then run again: tracks done before the kill, analysed again, rows at the end.

``python benchmarks/bench_scan.py rescan|workers|memory|engines|kill|all [--detector ml|dsp]
[--engine local|ray] [--device cpu|cuda]`` (default: the default detector, ``ml``; ``auto`` device).
On a GPU machine, ``engines --device cuda`` runs the model on the GPU in both engines.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

CHILD = r"""
import json, os, resource, sys, threading, time
from pathlib import Path
from djstruct.library import LibrarySource
from djstruct.scan import ScanConfig, run_scan
folder, store, workers, force = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
detector = sys.argv[6] or None
engine, device, kill_at, address = sys.argv[7], sys.argv[8], int(sys.argv[9]), sys.argv[10] or None
options = {} if device == "auto" else {"device": device}
peak = {"worker": 0}
t_planned = [0.0]
done = [0]

def on_event(e):
    if e.kind == "planned":
        t_planned[0] = time.perf_counter()
    elif e.kind in ("done", "failed"):
        done[0] += 1
        if done[0] == kill_at:
            os.kill(os.getpid(), 9)  # the driver dies here, as under kill -9
stop = threading.Event()

ticks = {}  # pid -> CPU ticks last seen, for every process below this one (pool or Ray workers, raylet, ...)

def watch():  # peak RSS of the worker processes and CPU of all descendants (this machine is shared)
    me = os.getpid()
    while not stop.is_set():
        parent = {}
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
                    parent[int(pid)] = (int(f[1]), int(f[11]) + int(f[12]))
                except (OSError, IndexError, ValueError):
                    pass
        for pid, (ppid, cpu) in parent.items():
            p = ppid
            while p not in (me, 0, 1) and p in parent:
                p = parent[p][0]
            if p != me or pid == me:
                continue
            ticks[pid] = cpu
            try:
                cmd = open(f"/proc/{pid}/cmdline", "rb").read()
                if b"multiprocessing" not in cmd and not cmd.startswith(b"ray::"):
                    continue
                rss = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS"))
                peak["worker"] = max(peak["worker"], rss)
            except (OSError, StopIteration):
                pass
        time.sleep(0.25)

threading.Thread(target=watch, daemon=True).start()
t0 = time.perf_counter()
cfg = ScanConfig((LibrarySource("folder", folder),), store, detector, options, workers=workers, force=force)
if engine == "ray":
    from djstruct.scan_ray import RayOptions, run_scan_ray
    r = run_scan_ray(cfg, RayOptions(address=address, output=store.with_name(store.name + ".parquet"),
                                     part_rows=1 if kill_at else 512), on_event)
else:
    r = run_scan(cfg, on_event)
t_end = time.perf_counter()
dt = t_end - t0
stop.set()
hwm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')) / 1024
cpu = resource.getrusage(resource.RUSAGE_SELF)
cpu_all = cpu.ru_utime + cpu.ru_stime + sum(ticks.values()) / os.sysconf("SC_CLK_TCK")
after_planning = t_end - t_planned[0] if t_planned[0] else dt
print(json.dumps({"cpu_s": cpu_all, "seconds": dt, "after_planning_s": after_planning,
                  "analysed": r.analysed, "up_to_date": r.up_to_date, "failed": len(r.failed), "parent_mib": hwm,
                  "worker_mib": peak["worker"] / 1024, "parent_cpu_s": cpu.ru_utime + cpu.ru_stime}))
"""


DETECTOR = ""  # set from --detector ("" = the default)
DEVICE = "auto"  # set from --device


def scan_child(folder: Path, store: Path, workers: int, force: bool, memory: bool = False, engine: str = "local",
               kill_at: int = 0, address: str = "") -> dict:
    args = [str(folder), str(store), str(workers), "1" if force else "0", "1" if memory else "0", DETECTOR, engine,
            DEVICE, str(kill_at), address]
    out = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True)
    if out.returncode and not kill_at:
        raise RuntimeError(f"the scan failed (exit {out.returncode}): {out.stderr[-3000:]}")
    if kill_at:
        if out.returncode != -9:
            raise RuntimeError(f"the driver was not killed (exit {out.returncode}): {out.stderr[-2000:]}")
        return {}
    return json.loads(out.stdout.strip().splitlines()[-1])


def load() -> str:
    """The 1-minute load average (this machine is shared)."""
    return Path("/proc/loadavg").read_text().split()[0]


def make_clips(folder: Path, n: int, seconds: float, seed: int = 0, first: int = 0) -> list[Path]:
    """``n`` WAV files of ``seconds`` of a synthetic track (different excerpts)."""
    import soundfile as sf

    from djstruct.synth import SR, render_track

    audio, _ = render_track(seed, 0)
    length = int(seconds * SR)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(first, first + n):
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


def bench_memory(tmp: Path, engine: str = "local", sizes: tuple[int, ...] = (50, 500)) -> None:
    if engine == "ray":
        return bench_memory_ray(tmp, sizes)
    for n in sizes:
        folder = tmp / f"mem{n}"
        make_clips(folder, n, 30.0, seed=5)
        r = scan_child(folder, tmp / f"mem{n}.sqlite", 2, False, memory=True)
        print(f"memory: {n} tracks: {r['seconds']:.1f} s, parent peak {r['parent_mib']:.0f} MiB, "
              f"largest worker peak {r['worker_mib']:.0f} MiB ({r['analysed']} analysed)")
        shutil.rmtree(folder)


def bench_memory_ray(tmp: Path, sizes: tuple[int, ...], new: int = 500) -> None:
    for n in sizes:
        folder, store = tmp / f"raymem{n}", tmp / f"raymem{n}.sqlite"
        make_clips(folder, n, 0.5, seed=5)
        print(f"memory (ray): load {load()} before the scan of {n} new half-second tracks", flush=True)
        r = scan_child(folder, store, 2, False, memory=True, engine="ray")
        print(f"memory (ray): {n} listed, {r['analysed']} analysed, {r['failed']} failed: {r['seconds']:.1f} s, "
              f"driver peak {r['parent_mib']:.0f} MiB, largest worker peak {r['worker_mib']:.0f} MiB", flush=True)
        make_clips(folder, new, 0.5, seed=5, first=n)
        r = scan_child(folder, store, 2, False, memory=True, engine="ray")
        print(f"memory (ray): {n + new} listed, {r['up_to_date']} up to date, {r['analysed']} analysed: "
              f"{r['seconds']:.1f} s, driver peak {r['parent_mib']:.0f} MiB", flush=True)
        shutil.rmtree(folder)


@contextlib.contextmanager
def ray_head(cpus: int = 2) -> Iterator[str]:
    """A standing local Ray head (``ray start --head --block``) for the block; yields its address.
    Stopped by ending that command (never ``ray stop``, which ends every Ray on the machine)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ray = Path(sys.executable).with_name("ray")
    # Ray >= 2.5x: drivers and the head must agree on token authentication (~/.ray/auth_token)
    os.environ.setdefault("RAY_AUTH_MODE", "token")
    proc = subprocess.Popen([str(ray), "start", "--head", "--block", f"--port={port}", f"--num-cpus={cpus}",
                             "--include-dashboard=false", "--disable-usage-stats"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        address = f"127.0.0.1:{port}"
        import ray as ray_mod

        time.sleep(5)
        ray_mod.init(address=address, logging_level="ERROR", log_to_driver=False)  # fails if the head is not up
        ray_mod.shutdown()
        yield address
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        with contextlib.suppress(OSError):  # what `ray start` leaves: a later ray.init() would look for it
            Path("/tmp/ray/ray_current_cluster").unlink()


def bench_engines(tmp: Path, n: int = 24, seconds: float = 300.0, rounds: int = 2) -> None:
    """local, ray (a Ray runtime started and stopped by each scan), ray --address (a standing head)."""
    import statistics

    folder = tmp / "engines"
    make_clips(folder, n, seconds, seed=3)
    scan_child(folder, tmp / "warm.sqlite", 2, False)  # warm the page cache
    modes = ("local", "ray", "ray --address")
    times: dict[str, list[float]] = {m: [] for m in modes}
    with ray_head() as address:
        for i in range(rounds):
            for mode in modes:
                before = load()
                r = scan_child(folder, tmp / f"{mode.replace(' ', '')}{i}.sqlite", 2, False, engine=mode.split()[0],
                               address=address if "address" in mode else "")
                times[mode].append(r["seconds"])
                print(f"engines: {mode} run {i + 1}: load {before} before, {r['seconds']:.1f} s end to end "
                      f"({r['after_planning_s']:.1f} s after planning), {n / r['seconds']:.2f} tracks/s, "
                      f"CPU {r['cpu_s']:.1f} s (its processes), {r['analysed']} analysed, {r['failed']} failed, "
                      f"driver peak {r['parent_mib']:.0f} MiB", flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"engines: {n} x {seconds:.0f} s WAV tracks, medians: " + ", ".join(
        f"{m} {med[m]:.1f} s ({n / med[m]:.2f} tracks/s, {med['local'] / med[m]:.2f}x local)" for m in modes))


def bench_kill(tmp: Path, n: int = 8, kill_at: int = 3) -> None:
    from collections import Counter

    import pyarrow.dataset as pads

    folder, store = tmp / "kill", tmp / "kill.sqlite"
    make_clips(folder, n, 40.0, seed=7)
    out = store.with_name(store.name + ".parquet")
    scan_child(folder, store, 2, False, engine="ray", kill_at=kill_at)
    before = pads.dataset(out).to_table(columns=["path"]).column("path").to_pylist()
    r = scan_child(folder, store, 2, False, engine="ray")
    paths = pads.dataset(out).to_table(columns=["path"]).column("path").to_pylist()
    again = [p for p, k in Counter(paths).items() if k > 1]
    print(f"kill: {n} x 40 s tracks, driver SIGKILLed after {kill_at} finished: {len(before)} rows written before "
          f"the kill; the rerun analysed {r['analysed']}, took {r['up_to_date']} as up to date, failed "
          f"{r['failed']}; tracks analysed twice {len(again)}; rows now {len(paths)} for {len(set(paths))} tracks "
          f"(of {n})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["rescan", "workers", "memory", "engines", "kill", "all"], nargs="?",
                    default="all")
    ap.add_argument("--detector", default="", help="ml or dsp (default: the default detector)")
    ap.add_argument("--engine", choices=["local", "ray"], default="local", help="memory: whose driver is measured")
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda: where the model runs")
    ap.add_argument("--sizes", default="", help="memory: listed tracks, comma-separated (default 50,500 local; "
                                                "1000,10000 ray)")
    ap.add_argument("--tracks", type=int, default=24, help="engines: how many 5-minute tracks")
    ap.add_argument("--rounds", type=int, default=2, help="engines: runs of each engine")
    ap.add_argument("--kill-at", type=int, default=3, help="kill: finished tracks before the driver is killed")
    args = ap.parse_args()
    global DETECTOR, DEVICE
    DETECTOR, DEVICE = args.detector, args.device
    from djstruct.detect.base import default_detector_name

    print(f"detector: {DETECTOR or default_detector_name()}, device {DEVICE}")
    default_sizes = "1000,10000" if args.engine == "ray" else "50,500"
    sizes = tuple(int(x) for x in (args.sizes or default_sizes).split(","))
    np.seterr(all="ignore")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.what in ("rescan", "all"):
            bench_rescan(tmp)
        if args.what in ("workers", "all"):
            bench_workers(tmp)
        if args.what in ("memory", "all"):
            bench_memory(tmp, args.engine, sizes)
        if args.what == "engines":
            bench_engines(tmp, args.tracks, rounds=args.rounds)
        if args.what == "kill":
            bench_kill(tmp, kill_at=args.kill_at)


if __name__ == "__main__":
    main()
