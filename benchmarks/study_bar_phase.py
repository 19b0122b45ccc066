"""Which evidence picks the bar phase: the model's downbeat head alone, or with harmonic and bass change?

``python benchmarks/study_bar_phase.py --val-seed 2028 [--tracker DIR --packages a,b]``

For each track it runs the model once (activations from the log-mel), fits the beat grid as the
``ml`` post-processing does, and gathers per bar-phase evidence (the four beats a bar can start on):

- ``head``: the mean downbeat activation at the beats of that phase (today's rule: its argmax);
- ``spec``: spectral change from the beat before (chords and bass notes change on the bar), z-scored;
- ``low``: low-band level at the beats (in half-time and breakbeat patterns the kick marks beat 1).

The truth's phase is the phase whose beats sit on the truth's downbeats; tracks whose fitted grid is
not on the truth's beats are left out (the phase is meaningless there). It prints how often each rule
finds the phase. Rules are chosen on the VALIDATION seed and on tracker modules of the packages named
by ``--packages`` only (the tuning half); the other packages are where the result is reported
(``bench_tracker.py``). Evaluation seeds are refused.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from djstruct import config  # noqa: E402
from djstruct.model import frontend as fe  # noqa: E402
from djstruct.model.heads import mel_activations  # noqa: E402
from djstruct.model.registry import load_model  # noqa: E402
from djstruct.postprocess import phase as phasemod  # noqa: E402
from djstruct.postprocess import pipeline  # noqa: E402
from djstruct.postprocess.activations import PostConfig  # noqa: E402
from djstruct.signal import active_span  # noqa: E402
from djstruct.train import dataset as ds  # noqa: E402
from djstruct.train.loop import EVAL_SEEDS  # noqa: E402


def truth_phase(beats: np.ndarray, downbeats: np.ndarray, tol: float = 0.07) -> int | None:
    """The phase (0-3) of ``beats`` whose members sit on the truth ``downbeats``; None when the
    grid's beats are not on the truth's downbeats."""
    if len(downbeats) == 0 or len(beats) < 8:
        return None
    hits = []
    for p in range(4):
        b = beats[p::4]
        d = np.abs(b[:, None] - downbeats[None, :]).min(axis=1)
        hits.append(float(np.mean(d < tol)))
    best = int(np.argmax(hits))
    return best if hits[best] >= 0.5 else None


def evidence(model, mel: np.ndarray, cfg: PostConfig) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
    act = mel_activations(model, mel)
    loud = fe.loudness_db(mel)
    span = active_span(loud, fe.FPS)
    if span is None:
        return None
    dur = len(mel) / fe.FPS
    g = pipeline.beat_grid(act["beat"].astype(np.float64), fe.FPS, span, dur, cfg.bpm_range)
    if g is None or len(g.beats) < 16:
        return None
    return g.beats, phasemod.phase_evidence(act["downbeat"].astype(np.float64), mel, fe.FPS, g.beats)


def load_val(seed: int, n: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    cache = config.feature_cache_dir()
    out = []
    for i in range(n):
        p = ds.track_cache_path(cache, seed, i, "sampled", "heldout")
        if p.is_file():
            tr = ds.load_track(p)
            out.append((f"val{seed}-{i}", tr.mel, np.asarray(tr.truth["downbeats"], dtype=np.float64)))
    return out


def load_tracker(folder: Path, packages: set[str]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    import torch

    from djstruct.audio import load_audio

    out = []
    for js in sorted(folder.glob("*.json")):
        if js.stem.split("__")[0] not in packages:
            continue
        truth = json.loads(js.read_text())
        y = load_audio(folder / truth["file"], fe.SAMPLE_RATE_HZ).samples
        mel = fe.log_mel(torch.from_numpy(np.asarray(y, dtype=np.float32))[None])[0].numpy()
        out.append((js.stem, mel, np.asarray(truth["downbeats"], dtype=np.float64)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="default")
    ap.add_argument("--val-seed", type=int, default=2028)
    ap.add_argument("--n", type=int, default=48)
    ap.add_argument("--tracker", type=Path, default=None, help="bench_tracker's set folder (flac + json)")
    ap.add_argument("--packages", default="", help="tracker packages of the tuning half, comma-separated")
    args = ap.parse_args()
    if args.val_seed in EVAL_SEEDS:
        raise SystemExit(f"seed {args.val_seed} is an evaluation seed")
    ck = load_model(args.model)
    cfg = PostConfig.from_dict(ck.extra.get("postprocess", {}))
    sets = {"val": load_val(args.val_seed, args.n)}
    if args.tracker is not None:
        sets["tracker"] = load_tracker(args.tracker, set(filter(None, args.packages.split(","))))
    rules = {"head": phasemod.PhaseWeights(0.0, 0.0, 0.0)}
    for s in (0.25, 0.5, 1.0):
        for lw in (0.0, 0.5):
            for gate in (0.3, 0.6, 1.0):
                rules[f"spec{s}+low{lw} gate{gate}"] = phasemod.PhaseWeights(s, lw, gate)
    for sname, tracks in sets.items():
        rows = []
        for name, mel, downs in tracks:
            ev = evidence(ck.model, mel, cfg)
            if ev is None:
                continue
            beats, e = ev
            tp = truth_phase(beats, downs)
            if tp is None:
                continue
            rows.append((name, tp, {r: phasemod.choose_phase(e, w) for r, w in rules.items()}))
        print(f"\n{sname}: {len(rows)} tracks with the grid on the truth's beats (of {len(tracks)})")
        for r in rules:
            ok = [row[2][r] == row[1] for row in rows]
            wrong = [row[0] for row in rows if row[2][r] != row[1]]
            print(f"  {r:26s} bar phase right {np.mean(ok) if ok else float('nan'):.3f}  wrong: {len(wrong)}"
                  + (f"  ({', '.join(w[:24] for w in wrong[:6])})" if r == "head" else ""))


if __name__ == "__main__":
    main()
