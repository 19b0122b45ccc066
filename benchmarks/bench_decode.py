"""Decode speed and memory of djstruct.audio.load_audio, per format.

Run by hand: ``python benchmarks/bench_decode.py [--minutes 6] [--rate 22050] [--mix-minutes 120]``.

Renders a synthetic stereo master (44.1 kHz), encodes it to every format of
djstruct.synth.encode (timing each encode), then decodes each file with ``load_audio`` in a fresh
child process (median of 3 runs) so that the child's peak RSS (``resource.getrusage``) belongs to
decoding alone; a child that only imports the modules gives the baseline. ``--mix-minutes`` also
builds a long MP3 (frames of the no-Xing file repeated) and a long FLAC, checks that the default
1800 s limit refuses them from the header, and measures a full decode with no limit.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SR = 44100


def render_master(minutes: float, seed: int = 0) -> np.ndarray:
    """(n, 2) float32: noise floor, a kick-like burst every 0.5 s (120 bpm), a drifting tone."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 60 * SR)
    x = rng.standard_normal((n, 2)).astype(np.float32) * 0.01
    hit = (np.sin(2 * np.pi * 60 * np.arange(4000) / SR) * np.exp(-np.arange(4000) / 800)).astype(np.float32)
    for i in range(0, n - len(hit), SR // 2):
        x[i : i + len(hit)] += 0.6 * hit[:, None]
    t = np.arange(n, dtype=np.float64) / SR
    x += (0.1 * np.sin(2 * np.pi * (440 + 0.5 * t) * t)).astype(np.float32)[:, None]
    return x


def peak_rss_mib() -> float:
    """Peak RSS of this process in MiB. On Linux ``getrusage``'s ru_maxrss survives ``exec``, so a
    child would inherit the parent's peak: read VmHWM (peak of this process image) instead."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def child(args: argparse.Namespace) -> None:
    """Runs in a subprocess: decode ``args.decode`` ``args.repeat`` times, print JSON."""
    from djstruct.audio import load_audio

    times: list[float] = []
    cpu: list[float] = []
    n = 0
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        audio = load_audio(args.decode, args.rate, max_duration_s=None)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        n = len(audio.samples)
        del audio
    print(json.dumps({"median_s": statistics.median(times), "cpu_s": statistics.median(cpu),
                      "samples": n, "rss_mib": peak_rss_mib()}))


def run_child(path: Path | None, rate: int, repeat: int) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--rate", str(rate), "--repeat", str(repeat)]
    if path is not None:
        cmd += ["--decode", str(path)]
    else:
        cmd += ["--baseline"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def long_files(folder: Path, mp3_noxing: Path, minutes: float) -> list[Path]:
    """A long no-Xing MP3 (the 6-min file's frames repeated) and a long FLAC written in blocks."""
    import soundfile as sf

    data = mp3_noxing.read_bytes()
    if data[:3] == b"ID3":
        size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
        data = data[10 + size :]
    mp3 = folder / "mix.mp3"
    with open(mp3, "wb") as f:
        reps = int(np.ceil(minutes * 60 / (len(data) * 8 / 192000)))
        for _ in range(reps):
            f.write(data)
    flac = folder / "mix.flac"
    block = render_master(1.0, seed=3)
    with sf.SoundFile(flac, "w", SR, 2, "PCM_16", format="FLAC") as f:
        for _ in range(int(minutes)):
            f.write(block)
    return [mp3, flac]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=6.0)
    ap.add_argument("--rate", type=int, default=22050)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--mix-minutes", type=float, default=0.0, help="also test a long mix (e.g. 120)")
    ap.add_argument("--decode", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.decode is not None:
        return child(args)
    if args.baseline:
        import av  # noqa: F401
        import soundfile  # noqa: F401
        import soxr  # noqa: F401

        import djstruct.audio  # noqa: F401

        print(json.dumps({"median_s": 0.0, "cpu_s": 0.0, "samples": 0, "rss_mib": peak_rss_mib()}))
        return

    from djstruct.audio import TooLongError, load_audio
    from djstruct.synth.encode import FORMATS, encode

    t0 = time.perf_counter()
    master = render_master(args.minutes)
    print(f"master: {args.minutes:g} min stereo 44.1 kHz, rendered in {time.perf_counter() - t0:.1f} s")
    base = run_child(None, args.rate, 1)["rss_mib"]
    print(f"baseline child RSS (imports only): {base:.0f} MiB; output at {args.rate} Hz = "
          f"{args.minutes * 60 * args.rate * 4 / 2**20:.0f} MiB\n")
    print(f"{'format':11s} {'encode s':>9s} {'enc cpu s':>9s} {'size MiB':>9s} {'decode s':>9s} "
          f"{'dec cpu s':>9s} {'x realtime':>10s} {'peak RSS MiB':>12s} {'- baseline':>10s}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths: dict[str, Path] = {}
        for fmt, ext in FORMATS.items():
            t0, c0 = time.perf_counter(), time.process_time()
            paths[fmt] = encode(master, SR, folder / f"bench_{fmt.replace('-', '_')}{ext}", fmt)
            enc_s, enc_cpu = time.perf_counter() - t0, time.process_time() - c0
            r = run_child(paths[fmt], args.rate, args.repeat)
            print(f"{fmt:11s} {enc_s:9.2f} {enc_cpu:9.2f} {paths[fmt].stat().st_size / 2**20:9.1f} "
                  f"{r['median_s']:9.3f} {r['cpu_s']:9.3f} {args.minutes * 60 / r['median_s']:10.0f} "
                  f"{r['rss_mib']:12.0f} {r['rss_mib'] - base:10.0f}")
        print(f"\nparent peak RSS (master + encoders): {peak_rss_mib():.0f} MiB; wall times suffer "
              "when other processes share the CPU, cpu times much less")
        if args.mix_minutes > 0:
            print(f"\nlong mix, {args.mix_minutes:g} min:")
            for p in long_files(folder, paths["mp3-noxing"], args.mix_minutes):
                t0 = time.perf_counter()
                try:
                    load_audio(p, args.rate)
                    print(f"  {p.name}: NOT refused")
                except TooLongError as err:
                    print(f"  {p.name}: refused in {(time.perf_counter() - t0) * 1000:.1f} ms: {err.reason}")
                r = run_child(p, args.rate, 1)
                out_mib = r["samples"] * 4 / 2**20
                print(f"  {p.name}: full decode {r['median_s']:.1f} s ({r['cpu_s']:.1f} s cpu), "
                      f"{r['samples'] / args.rate / 60:.1f} min, "
                      f"output {out_mib:.0f} MiB, peak RSS {r['rss_mib']:.0f} MiB "
                      f"(baseline + {r['rss_mib'] - base:.0f} MiB)")


if __name__ == "__main__":
    main()
