"""Seconds per 6-minute track for the trained detector, and model-only time for a MERT-95M-sized backbone.

Run by hand: ``python benchmarks/bench_model.py [--device cpu|cuda] [--threads N] [--repeat 3] [--skip-mert]
[--batches 1,8,32,128,512]``.

1. ``ml`` end to end: a synthetic track cut/looped to exactly 6 minutes is written as FLAC; the time is
   decode (``load_audio``) + model + post-processing (``analyze_file`` with ``MlDetector``), median of
   ``--repeat`` runs after a warm-up; the model alone is timed as well.
2. ``mert`` model only: a ``StructureModel`` with a randomly initialised 12-layer x 768 HuBERT backbone
   (MERT-v1-95M's shape; nothing is downloaded) on the same 6 minutes of audio, chunked as in use.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def six_minutes(seed: int = 11) -> np.ndarray:
    from djstruct.synth import SR, render_track

    audio, _ = render_track(seed, 0)
    n = 360 * SR
    return np.concatenate([audio] * int(np.ceil(n / len(audio))))[:n]


def timed(fn, repeat: int) -> float:
    fn()  # warm-up
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def gpu_utilisation(stop: threading.Event, samples: list[tuple[float, float]]) -> None:
    """Sample ``nvidia-smi`` (utilisation %, memory used MiB) every 0.2 s until ``stop``."""
    while not stop.is_set():
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,"
                                  "nounits", "--id=0"], capture_output=True, text=True, timeout=5).stdout
            util, mem = (float(x) for x in out.strip().split(","))
            samples.append((util, mem))
        except (OSError, ValueError, subprocess.SubprocessError):
            return
        stop.wait(0.2)


def sweep(det, wave: np.ndarray, batch: int, device: str) -> None:  # noqa: ANN001
    """The model alone on ``batch`` copies of ``wave`` at once; what it reached, and with which batch size."""
    import torch

    cuda = device.startswith("cuda")
    det.batch_size = batch
    waves = [wave] * batch
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    det.batch_activations(waves[: min(batch, 2)])  # warm-up
    stop, samples = threading.Event(), []
    watcher = threading.Thread(target=gpu_utilisation, args=(stop, samples), daemon=True)
    if cuda:
        watcher.start()
    t0 = time.perf_counter()
    det.batch_activations(waves)
    if cuda:
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    stop.set()
    extra = ""
    if cuda:
        extra = f", peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB"
        if samples:
            extra += (f", GPU utilisation {np.mean([u for u, _ in samples]):.0f}% mean / "
                      f"{max(u for u, _ in samples):.0f}% max ({len(samples)} samples)")
    print(f"batch {batch}: {batch / dt:.2f} tracks/s (model only, 6-minute tracks), {dt:.2f} s; ended with "
          f"batch size {det.batch_size}{extra}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--model", default="default")
    ap.add_argument("--skip-mert", action="store_true")
    ap.add_argument("--batches", default="", help="comma-separated batch sizes to sweep (model only)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    import soundfile as sf
    import torch

    from djstruct.audio import load_audio
    from djstruct.constants import MODEL_FPS
    from djstruct.detect.base import analyze_file
    from djstruct.detect.ml import MlDetector, finish
    from djstruct.signal import to_analysis_rate
    from djstruct.synth import SR

    if args.threads:
        torch.set_num_threads(args.threads)
    det = MlDetector(args.model, device=args.device, threads=args.threads)
    print(f"device {args.device}, torch threads {torch.get_num_threads()}, model {args.model} "
          f"({det.model.n_params:,} parameters, version {det.version})")
    audio = six_minutes()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "six-minutes.flac"
        sf.write(str(path), audio, SR)
        t_decode = timed(lambda: load_audio(path, det.sample_rate_hz), args.repeat)
        wave = to_analysis_rate(audio, SR)
        t_model = timed(lambda: det.activations([wave]), args.repeat)
        t_total = timed(lambda: analyze_file(path, det), args.repeat)
        act = det.activations([wave])[0]
        t_post = timed(lambda: finish(act, MODEL_FPS, len(audio) / SR, str(path), name=det.name, post=det.post,
                                      style=det.style), args.repeat)
    print(f"ml ({args.model}) per 6-minute track: decode {t_decode:.2f} s, model {t_model:.2f} s, "
          f"post-processing {t_post:.2f} s, end to end (decode + model + post-processing) {t_total:.2f} s")
    for b in [int(x) for x in args.batches.split(",") if x]:
        sweep(det, wave, b, args.device)

    if args.skip_mert:
        return
    from transformers import HubertConfig

    from djstruct.model.config import ModelConfig
    from djstruct.model.model import StructureModel

    hc = HubertConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)
    cfg = ModelConfig(backbone="mert", mert_config={k: v for k, v in hc.to_dict().items() if not k.startswith("_")
                                                    and k != "transformers_version"})
    model = StructureModel(cfg).eval().to(args.device)
    n_hub = sum(p.numel() for p in model.backbone.hubert.parameters())

    def run_mert(w: np.ndarray = wave) -> None:
        with torch.inference_mode():
            x, mask = model.prepare([w])
            x, mask = x.to(args.device), mask.to(args.device)
            if args.device.startswith("cuda"):
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    model(x, mask)
                torch.cuda.synchronize()
            else:
                model(x, mask)

    run_mert(wave[: 10 * 22050])  # warm-up on 10 s; the full run is long, so it is timed once
    t0 = time.perf_counter()
    run_mert()
    t_mert = time.perf_counter() - t0
    print(f"mert (random 12 x 768 HuBERT, {n_hub / 1e6:.0f}M parameters, {cfg.mert_chunk_s:.0f} s chunks) "
          f"model only per 6-minute track: {t_mert:.1f} s")


if __name__ == "__main__":
    main()
