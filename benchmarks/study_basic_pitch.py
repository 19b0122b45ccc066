"""Does basic-pitch (Spotify's note transcriber, Apache-2.0, ONNX weights inside its wheel) find the
bar phase better than the evidence djstruct already has? Measured on tracker modules (exact grid).

    pip install onnxruntime && pip install --no-deps basic-pitch==0.4.0   # only the ONNX file is used
    DJSTRUCT_BENCH_CACHE=... python benchmarks/bench_tracker.py prepare  # renders the modules + truth
    DJSTRUCT_BENCH_CACHE=... python benchmarks/study_basic_pitch.py [--model default]

For every module the truth's beats are given (so only the bar phase is asked), and the phase is the
argmax over the 4 beats of the bar of the per-phase mean of one kind of evidence:

- ``head``: the model's downbeat activation; ``djstruct``: what ships (:func:`phase.choose_phase`:
  the head, plus spectral change and bass level where the head is unsure);
- ``bp-chroma``: harmonic change: 1 - cosine between the pitch-class profiles (basic-pitch's note
  activation folded to 12 classes) of each beat and the beat before (chords change on the one);
- ``bp-bass``: basic-pitch's note onsets in the bass register (A0-E3) at each beat;
- ``djstruct+bp``: the shipped choice with the two basic-pitch z-scores added where the head is unsure.

Printed: phase accuracy per evidence on the modules of the packages the bar-phase weights were tuned
on (see the model card) and on the others, and the seconds basic-pitch takes per minute of audio.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from bench_tracker import default_cache, load_manifest

from djstruct.audio import load_audio
from djstruct.constants import MODEL_FPS
from djstruct.detect.ml import MlDetector
from djstruct.postprocess import phase as phasemod
from djstruct.postprocess import sections as secmod
from djstruct.signal import to_analysis_rate

TUNED_PACKAGES = {"ballz-data", "bomberclone-data", "monsterz-data", "open-invaders-data", "penguin-command",
                  "powermanga-data", "ri-li-data", "tecnoballz-data", "tuxmath-data"}
SR, HOP, WIN, OVERLAP = 22050, 256, 43844, 30  # basic-pitch's window: 2 s less one hop, 30 frames overlap
BP_FPS = SR / HOP


def basic_pitch(session, wave: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """(notes, onsets), each (n_frames, 88) at 86 fps, as basic-pitch's own ``run_inference``."""
    olap = OVERLAP * HOP
    hop = WIN - olap
    x = np.concatenate([np.zeros(olap // 2, np.float32), wave.astype(np.float32)])
    wins = [np.pad(x[i: i + WIN], (0, max(0, WIN - len(x[i: i + WIN])))) for i in range(0, len(x), hop)]
    outs: dict[str, list[np.ndarray]] = {}
    for k in range(0, len(wins), 16):
        batch = np.stack(wins[k: k + 16])[..., None]
        for o, v in zip(session.get_outputs(), session.run(None, {session.get_inputs()[0].name: batch}), strict=True):
            outs.setdefault(o.name, []).append(v)
    n = int(len(wave) / HOP)
    res = {}
    for name, parts in outs.items():
        v = np.concatenate(parts)[:, OVERLAP // 2: -OVERLAP // 2]
        res[name] = v.reshape(-1, v.shape[-1])[:n]
    notes, onsets = (res[k] for k in sorted(k for k in res if res[k].shape[1] == 88)[::-1])
    return notes, onsets  # output :1 is the note activation, :2 the onsets (checked: onsets are sparser)


def bp_evidence(notes: np.ndarray, onsets: np.ndarray, beats: np.ndarray) -> dict[str, np.ndarray]:
    edges = np.append(beats, beats[-1] + (beats[-1] - beats[-2]))
    per_beat = secmod.aggregate(notes.astype(np.float64), BP_FPS, edges)
    chroma = np.stack([per_beat[:, p::12].sum(axis=1) for p in range(12)], axis=1)
    unit = chroma / (np.linalg.norm(chroma, axis=1, keepdims=True) + 1e-9)
    change = np.r_[0.0, 1.0 - (unit[1:] * unit[:-1]).sum(axis=1)]
    bass = secmod.aggregate(onsets[:, :32].max(axis=1, keepdims=True).astype(np.float64), BP_FPS, edges)[:, 0]
    by = lambda x: np.array([x[p::4].mean() for p in range(4)])  # noqa: E731
    return {"bp-chroma": phasemod.zscore(by(change)), "bp-bass": phasemod.zscore(by(bass))}


def main() -> None:
    import importlib.resources

    import onnxruntime as ort

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="default")
    ap.add_argument("--cache", type=Path, default=None)
    args = ap.parse_args()
    onnx = importlib.resources.files("basic_pitch") / "saved_models" / "icassp_2022" / "nmp.onnx"
    session = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    det = MlDetector(args.model)
    set_dir = (args.cache or default_cache()) / "set"
    w = phasemod.PhaseWeights(det.post.phase_spec, det.post.phase_low, det.post.phase_gate)
    kinds = ("head", "djstruct", "bp-chroma", "bp-bass", "djstruct+bp")
    right: dict[tuple[str, bool], list[bool]] = {(k, t): [] for k in kinds for t in (True, False)}
    bp_s = audio_min = 0.0
    for m in load_manifest()["modules"]:
        tj = set_dir / f"{m['name']}.json"
        if not tj.is_file():
            continue
        truth = json.loads(tj.read_text())
        beats, downs = np.asarray(truth["beats"]), np.asarray(truth["downbeats"])
        if len(beats) < 16 or len(downs) < 2:
            continue
        true_phase = int(np.flatnonzero(np.isin(beats, downs))[0]) % 4
        a = load_audio(set_dir / truth["file"], SR)
        wave = to_analysis_rate(a.samples, a.sample_rate_hz)
        act = det.activations([wave])[0]
        ev = phasemod.phase_evidence(act["downbeat"].astype(np.float64), act["mel"], MODEL_FPS, beats)
        t0 = time.perf_counter()
        notes, onsets = basic_pitch(session, wave)
        bp_s += time.perf_counter() - t0
        audio_min += a.duration_s / 60.0
        ev.update(bp_evidence(notes, onsets, beats))
        unsure = phasemod.head_margin(ev["head"]) < w.gate
        both = phasemod.zscore(ev["head"]) + w.spec * ev["spec"] + w.low * ev["low"] + ev["bp-chroma"] + ev["bp-bass"]
        pick = {"head": int(np.argmax(ev["head"])), "djstruct": phasemod.choose_phase(ev, w),
                "bp-chroma": int(np.argmax(ev["bp-chroma"])), "bp-bass": int(np.argmax(ev["bp-bass"])),
                "djstruct+bp": int(np.argmax(both)) if unsure else int(np.argmax(ev["head"]))}
        tuned = m["package"] in TUNED_PACKAGES
        for k in kinds:
            right[(k, tuned)].append(pick[k] == true_phase)
        print(f"{m['name'][:44]:44s} {'tuned' if tuned else 'held ':5s} truth {true_phase} "
              + " ".join(f"{k} {pick[k]}" for k in kinds), flush=True)
    for tuned in (True, False):
        n = len(right[("head", tuned)])
        print(f"\n{'tuning' if tuned else 'held-out'} modules ({n}): bar phase right: "
              + ", ".join(f"{k} {sum(right[(k, tuned)])}/{n}" for k in kinds))
    print(f"basic-pitch: {bp_s / max(audio_min, 1e-9):.2f} s per minute of audio on this CPU")


if __name__ == "__main__":
    main()
