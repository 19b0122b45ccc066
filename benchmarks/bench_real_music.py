"""Plausibility of the detectors on real (non-synthetic) music, which has no ground truth here.

``python benchmarks/bench_real_music.py DIR [DIR ...] [--model default]``: runs ``dsp`` and ``ml``
over every audio file under the folders (Debian's game-soundtrack packages hold real electronic
music: ``apt-get download xmoto-data extremetuxracer-data warzone2100-music`` and ``dpkg -x``),
plus librosa's tempo estimate as an independent third opinion, and prints per track and in total:

- whether ``ml``'s tempo agrees with ``dsp``'s, or with librosa's, up to octaves (x2, x1/2) within 4 %;
- the share of ``ml`` section starts that sit on one of its own downbeats (must be 1.0);
- the number of sections each detector found, and how well ``ml``'s section starts agree with
  ``dsp``'s (F at +-1 bar over the tracks where either finds a boundary; two independent methods
  agreeing hints at real structure);
- any error (a crash is a failure).

``--annotations benchmarks/data/real_music_sections.json`` adds a check against section starts
marked by hand (by eye, on spectrograms and loudness curves, before any detector output was
looked at; a start is where a DJ would put a cue, drums or bass in/out included): F-measure of
each detector's cue-worthy starts (``Analysis.parts``: the section starts and the changes inside
sections; ``ml-sec``: ``ml``'s section starts alone) at +-3 s and +-0.5 s (the usual
structure-evaluation windows), summed over the tracks, in total and per annotation set (the file's
``_tracks`` names each track's set, Debian package, version and path in the package). Set 1: 13 short
tracks of ``xmoto-data`` and ``extremetuxracer-data`` (``apt-get download`` + ``dpkg -x``). Set 2: 25
tracks of 12 other packages, as laid out by ``shared/realmusic/fetch_corpus.sh TARGET`` (two of them
are its openmpt123 renders of tracker modules): pass ``TARGET`` as one of the folders. Files are
matched by name; symlinks to a file already found (the corpus's ``tracks/`` folder) are skipped, and
annotated tracks that were not found are listed. ``--only-annotated`` skips the other tracks.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np

from djstruct.audio import SUPPORTED_EXTENSIONS


def same_tempo(a: float | None, b: float | None, tol: float = 0.04) -> bool:
    if not a or not b:
        return False
    return any(abs(a * k - b) / b < tol for k in (0.5, 1.0, 2.0))


def librosa_bpm(path: Path) -> float | None:
    import librosa

    from djstruct.audio import load_audio

    y = load_audio(path, 22050).samples
    env = librosa.onset.onset_strength(y=y, sr=22050)
    return float(librosa.feature.tempo(onset_envelope=env, sr=22050)[0])


def unique_files(dirs: list[Path]) -> list[Path]:
    """Audio files under the folders, sorted; a symlink (or second path) to a file already found is skipped."""
    seen: set[Path] = set()
    out = []
    for p in sorted(p for d in dirs for p in d.rglob("*") if p.suffix.lower() in SUPPORTED_EXTENSIONS):
        real = p.resolve()
        if real in seen or not real.is_file():
            continue
        seen.add(real)
        out.append(p)
    return out


def short_ending(a) -> bool:  # type: ignore[no-untyped-def]
    """The last of several sections is under 8 bars (7.5 allows a last bar cut by the end of the file)."""
    if len(a.sections) < 2 or not a.bpm:
        return False
    last = a.sections[-1]
    return (last.end_s - last.start_s) / (240.0 / a.bpm) < 7.5


def bad_order(labels: list[str]) -> bool:
    """An "intro" after the first drop, or an "outro" before the last drop."""
    drops = [i for i, lab in enumerate(labels) if lab == "drop"]
    if not drops:
        return False
    return any(lab == "intro" and i > drops[0] or lab == "outro" and i < drops[-1] for i, lab in enumerate(labels))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--model", default="default")
    ap.add_argument("--annotations", type=Path, default=None, help="JSON: file name -> hand-marked section starts")
    ap.add_argument("--only-annotated", action="store_true")
    args = ap.parse_args()
    marks: dict[str, list[float]] = {}
    sources: dict[str, dict] = {}
    if args.annotations:
        ann = json.loads(args.annotations.read_text())
        marks = {k: v for k, v in ann.items() if not k.startswith("_")}
        sources = ann.get("_tracks", {})
    set_of = {name: str(sources.get(name, {}).get("set", "-")) for name in marks}

    import mir_eval

    from djstruct.detect.base import analyze_file, get_detector
    from djstruct.evaluate import onset_f

    files = unique_files(args.dirs)
    if args.only_annotated:
        files = [f for f in files if f.name in marks]
    found = {f.name for f in files}
    for name in (n for n in marks if n not in found):
        src = sources.get(name, {})
        print(f"annotated but not found: {name} ({src.get('package', '?')} {src.get('version', '')}: "
              f"{src.get('path', '?')})")
    groups = ["all", *sorted({set_of[f.name] for f in files if f.name in marks})]
    # (group, detector, window) -> [matched, n_est, n_ref]
    dets = ("dsp", "ml", "ml-sec")  # ml: its cue points (sections and the changes inside); ml-sec: sections only
    hits = {(g, det, w): [0, 0, 0] for g in groups for det in dets for w in (3.0, 0.5)}
    dsp, ml = get_detector("dsp"), get_detector("ml", model=args.model)
    rows, errors, secs = [], 0, {"dsp": 0.0, "ml": 0.0}
    print(f"{'track':28s} {'dsp':>7s} {'ml':>7s} {'librosa':>7s}  ml=dsp ml=lib dsp=lib  on-down  n_sec dsp/ml  "
          "bounds F")
    for f in files:
        try:
            t0 = time.perf_counter()
            a = analyze_file(f, dsp)
            secs["dsp"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            m = analyze_file(f, ml)
            secs["ml"] += time.perf_counter() - t0
        except Exception as e:  # noqa: BLE001 - a crash is what this benchmark looks for
            errors += 1
            print(f"{f.name[:28]:28s} ERROR {type(e).__name__}: {e}")
            if f.name in marks:  # a crash finds none of the track's marked starts
                for (g, _det, _w), h in hits.items():
                    if g in ("all", set_of[f.name]):
                        h[2] += len(marks[f.name])
            continue
        try:
            lb = librosa_bpm(f)
        except Exception as e:  # noqa: BLE001 - the third opinion failing is not a detector error
            print(f"{f.name[:28]:28s} (librosa failed: {type(e).__name__}: {e})")
            lb = None
        down = np.asarray(m.downbeats)
        starts = [s.start_s for s in m.sections[1:]]
        on = [bool(len(down) and np.min(np.abs(down - s)) < 0.01) for s in starts]
        bar = 240.0 / (a.bpm or 120.0)
        ref, est = np.array([s.start_s for s in a.sections[1:]]), np.array(starts)
        agree = None if not (len(ref) or len(est)) else onset_f(ref, est, bar)  # None: one section each
        r = {"dsp_ml": same_tempo(m.bpm, a.bpm), "bound": agree, "ml_lib": same_tempo(m.bpm, lb),
             "short_end": short_ending(m), "bad_order": bad_order([s.label for s in m.sections]),
             "dsp_lib": same_tempo(a.bpm, lb),
             "on_down": float(np.mean(on)) if on else 1.0, "n_dsp": len(a.sections), "n_ml": len(m.sections),
             "labels": [s.label for s in m.sections]}
        rows.append(r)
        if f.name in marks:
            ref_marks = np.asarray(marks[f.name], dtype=float)
            for det, secs_of in (("dsp", a.parts), ("ml", m.parts), ("ml-sec", m.sections)):
                est_s = np.array([s.start_s for s in secs_of[1:]])
                for w in (3.0, 0.5):
                    k = len(mir_eval.util.match_events(ref_marks, est_s, w)) if len(est_s) else 0
                    for g in ("all", set_of[f.name]):
                        h = hits[(g, det, w)]
                        h[0] += k
                        h[1] += len(est_s)
                        h[2] += len(ref_marks)
        yn = lambda b: "yes" if b else "no"  # noqa: E731
        print(f"{f.name[:28]:28s} {a.bpm or 0:7.2f} {m.bpm or 0:7.2f} {lb or 0:7.2f}  {yn(r['dsp_ml']):>6s} "
              f"{yn(r['ml_lib']):>6s} {yn(r['dsp_lib']):>7s}  {r['on_down']:7.2f}  {r['n_dsp']:3d}/{r['n_ml']:<3d}  "
              f"{'-' if r['bound'] is None else format(r['bound'], '.2f')}")
    n = len(rows)
    if not n:
        print("no tracks analysed")
        return
    tot = {k: sum(r[k] for r in rows) for k in ("dsp_ml", "ml_lib", "dsp_lib")}
    bounds = [r["bound"] for r in rows if r["bound"] is not None]
    print(f"\n{n} tracks, {errors} errors. Tempo agreement (octaves allowed, 4 %): ml~dsp {tot['dsp_ml']}/{n}, "
          f"ml~librosa {tot['ml_lib']}/{n}, dsp~librosa {tot['dsp_lib']}/{n}. ml section starts on its downbeats: "
          f"{np.mean([r['on_down'] for r in rows]):.3f}. Mean sections dsp {np.mean([r['n_dsp'] for r in rows]):.1f}, "
          f"ml {np.mean([r['n_ml'] for r in rows]):.1f}; ml~dsp section starts F(1 bar) "
          f"{np.mean(bounds) if bounds else float('nan'):.3f} over the {len(bounds)} tracks where either found one. "
          f"Time: dsp {secs['dsp']:.0f} s, ml {secs['ml']:.0f} s.")
    print(f"ml: tracks ending on a section under 8 bars: {sum(r['short_end'] for r in rows)}/{n}; with an intro "
          f"after the first drop or an outro before the last: {sum(r['bad_order'] for r in rows)}/{n}; labels in "
          "total: " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(x for r in rows for x in r["labels"]).items())))
    for g in groups if len(groups) > 2 else groups[:1]:
        if not hits[(g, "dsp", 3.0)][2]:
            continue
        n_ann = sum(1 for f in files if f.name in marks and g in ("all", set_of[f.name]))
        what = "all sets" if g == "all" else f"set {g}"
        print(f"Hand-marked section starts, {what} ({n_ann} tracks, {hits[(g, 'dsp', 3.0)][2]} starts):")
        for det in dets:
            for w in (3.0, 0.5):
                k, n_est, n_ref = hits[(g, det, w)]
                p, rc = k / max(n_est, 1), k / max(n_ref, 1)
                f1 = 2 * p * rc / (p + rc) if p + rc else 0.0
                print(f"  {det:3s} +-{w:.1f} s: F {f1:.3f} (precision {p:.3f}, recall {rc:.3f}; {n_est} found)")


if __name__ == "__main__":
    main()
