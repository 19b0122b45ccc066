"""Seconds per 6-minute track for decoding and for detection, and peak memory.

Run by hand: ``python benchmarks/bench_analyze.py [--detector dsp] [--format mp3]``. Renders a
synthetic track, cuts or loops it to exactly 6 minutes, encodes it, then times ``load_audio``
and ``Detector.analyze`` separately and end to end (median of --repeat runs) in a fresh child
process, whose peak resident memory (VmHWM) is reported too.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = r"""
import json, statistics, sys, time
from pathlib import Path
from djstruct.audio import load_audio
from djstruct.detect.base import get_detector
path, name, repeat = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
det = get_detector(name)
load_audio(path, det.sample_rate_hz); det.analyze(load_audio(path, det.sample_rate_hz))  # warm-up
dec, detect, total = [], [], []
for _ in range(repeat):
    t0 = time.perf_counter(); audio = load_audio(path, det.sample_rate_hz); t1 = time.perf_counter()
    det.analyze(audio); t2 = time.perf_counter()
    dec.append(t1 - t0); detect.append(t2 - t1); total.append(t2 - t0)
hwm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')) / 1024
print(json.dumps({"decode_s": statistics.median(dec), "detect_s": statistics.median(detect),
                  "total_s": statistics.median(total), "peak_rss_mib": hwm}))
"""


def six_minute_master(seed: int = 11) -> np.ndarray:
    from djstruct.synth import SR, render_track

    audio, _ = render_track(seed, 0)
    n = 360 * SR
    reps = int(np.ceil(n / len(audio)))
    return np.concatenate([audio] * reps)[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--detector", default="dsp")
    ap.add_argument("--format", default="mp3")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from djstruct.synth import SR
    from djstruct.synth.encode import FORMATS, encode

    with tempfile.TemporaryDirectory() as tmp:
        ext = FORMATS[args.format]
        path = Path(tmp) / ("six-minutes" + (ext if ext.startswith(".") else "." + ext))
        t0 = time.perf_counter()
        encode(six_minute_master(), SR, path, args.format)
        print(f"rendered and encoded a 6:00 {args.format} in {time.perf_counter() - t0:.1f} s")
        out = subprocess.run([sys.executable, "-c", CHILD, str(path), args.detector, str(args.repeat)],
                             check=True, capture_output=True, text=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"detector {args.detector}, 6-minute {args.format}, median of {args.repeat}:")
    print(f"  decode        {r['decode_s']:.2f} s")
    print(f"  detect        {r['detect_s']:.2f} s")
    print(f"  end to end    {r['total_s']:.2f} s")
    print(f"  peak RSS      {r['peak_rss_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
