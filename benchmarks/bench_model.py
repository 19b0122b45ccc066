"""Seconds per 6-minute track for the trained detector, and model-only time for a MERT-95M-sized backbone.

Run by hand: ``python benchmarks/bench_model.py [--device cpu|cuda] [--threads N] [--repeat 3] [--skip-mert]``.

1. ``ml`` end to end: a synthetic track cut/looped to exactly 6 minutes is written as FLAC; the time is
   decode (``load_audio``) + model + post-processing (``analyze_file`` with ``MlDetector``), median of
   ``--repeat`` runs after a warm-up; the model alone is timed as well.
2. ``mert`` model only: a ``StructureModel`` with a randomly initialised 12-layer x 768 HuBERT backbone
   (MERT-v1-95M's shape; nothing is downloaded) on the same 6 minutes of audio, chunked as in use.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--model", default="default")
    ap.add_argument("--skip-mert", action="store_true")
    args = ap.parse_args()

    import soundfile as sf
    import torch

    from djstruct.audio import load_audio
    from djstruct.detect.base import analyze_file
    from djstruct.detect.ml import MlDetector
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
    print(f"ml ({args.model}) per 6-minute track: decode {t_decode:.2f} s, model {t_model:.2f} s, "
          f"end to end (decode + model + post-processing) {t_total:.2f} s")

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
