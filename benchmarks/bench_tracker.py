"""Beat, downbeat and tempo of real music with EXACT truth: tracker modules from Debian packages.

A tracker module (MOD/XM/IT/S3M/STM) is a composition whose row grid is its beat grid: libopenmpt
renders it and reports, row by row, what it plays, so every beat and bar start is known to the
sample (``tracker_openmpt.py``, ``tracker_truth.py``). Real music by real composers (game
soundtracks, mostly 1990s-2000s electronic, chiptune and "tracker" styles).

Usage (needs Debian's ``libopenmpt0`` and ``apt-get``/``dpkg-deb``; nothing is written to the repo
except by ``select``):

    python benchmarks/bench_tracker.py select      # survey the candidate packages, judge every module,
                                                   # write benchmarks/data/tracker_modules.json
    python benchmarks/bench_tracker.py prepare     # fetch + render the selected modules, write the truth;
                                                   # prints the folder: `djstruct eval FOLDER` scores it too
    python benchmarks/bench_tracker.py run         # prepare, then score ml, dsp and librosa (default)
        [--detectors ml,dsp,librosa] [--model default] [--only SUBSTR] [--plot DIR] [--json FILE]
    common: [--cache DIR]   (default: $DJSTRUCT_BENCH_CACHE/tracker, else ~/.cache/djstruct/bench_tracker)

Per track and overall: beat F and downbeat F (mir_eval, +-70 ms, as ``djstruct eval``), BPM accuracy
within 4 % (and separately with x2 / x0.5 octave errors allowed), and the bar phase: the beat of
the bar on which most detected downbeats sit (1 = right; "off" = the detected downbeats are not
on the truth's beats at all). librosa's beat tracker is a third opinion on beats and tempo.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tracker_build import MIN_DOWN, MIN_PULSE, MIN_STEADY, ModuleRecord, build, judge  # noqa: E402
from tracker_corpus import CANDIDATE_PACKAGES, CorpusError, default_cache, fetch_package, sha256_file  # noqa: E402
from tracker_openmpt import OpenMptError, library_version  # noqa: E402

MANIFEST = Path(__file__).resolve().parent / "data" / "tracker_modules.json"
DANCE_KICK_SHARE = 0.6  # a low-band onset on >= 60 % of the beats (breaks and intros included): the "dance-like" subset


def same_tempo(est: float | None, ref: float, octaves: bool, tol: float = 0.04) -> bool:
    if not est:
        return False
    ks = (0.5, 1.0, 2.0) if octaves else (1.0,)
    return any(abs(est * k - ref) <= tol * ref for k in ks)


def bar_phase(beats: np.ndarray, downs: np.ndarray, est_downs: np.ndarray, window: float = 0.07) -> str:
    """'1'..'4': the beat of the truth's bar on which most detected downbeats sit ('1' is right);
    'off' when fewer than half of them sit on a truth beat; '-' when none were detected."""
    est = np.asarray(est_downs, dtype=np.float64)
    if len(est) == 0 or len(beats) == 0:
        return "-"
    di = np.flatnonzero(np.isin(beats, downs))  # truth downbeats are truth beats (same rows)
    if len(di) == 0:
        return "-"
    k = np.arange(len(beats))
    last = np.searchsorted(di, k, side="right") - 1
    in_bar = np.where(last >= 0, k - di[np.clip(last, 0, None)], (k - di[0]) % 4)
    i = np.clip(np.searchsorted(beats, est), 1, len(beats) - 1)
    j = np.where(np.abs(beats[i - 1] - est) < np.abs(beats[i] - est), i - 1, i)
    hit = np.abs(beats[j] - est) <= window
    if hit.mean() < 0.5:
        return "off"
    vals, counts = np.unique(in_bar[j[hit]] % 4, return_counts=True)
    return str(int(vals[np.argmax(counts)]) + 1)


def score(truth: dict[str, Any], bpm: float | None, beats: np.ndarray, downs: np.ndarray | None) -> dict[str, Any]:
    import mir_eval

    ref_b, ref_d = np.asarray(truth["beats"]), np.asarray(truth["downbeats"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m: dict[str, Any] = {"beat_f": float(mir_eval.beat.f_measure(ref_b, np.asarray(beats), 0.07))}
        if downs is not None:
            m["downbeat_f"] = float(mir_eval.beat.f_measure(ref_d, np.asarray(downs), 0.07))
            m["phase"] = bar_phase(ref_b, ref_d, downs)
    m["bpm"] = bpm or 0.0
    m["bpm_ok"] = same_tempo(bpm, truth["bpm"], False)
    m["bpm_ok2"] = same_tempo(bpm, truth["bpm"], True)
    return m


def _summarise(rs: list[dict[str, Any]], downbeats: bool, seconds: float | None) -> dict[str, Any]:
    s: dict[str, Any] = {"tracks": len(rs), "errors": sum(1 for r in rs if "error" in r),
                         "beat_f": float(np.mean([r["beat_f"] for r in rs])),
                         "bpm_acc_4pct": float(np.mean([r["bpm_ok"] for r in rs])),
                         "bpm_acc_4pct_octaves": float(np.mean([r["bpm_ok2"] for r in rs]))}
    if downbeats:
        s["downbeat_f"] = float(np.mean([r["downbeat_f"] for r in rs]))
        s["bar_phase_error_rate"] = float(np.mean([r["phase"] != "1" for r in rs]))
        s["bar_phase_off_grid"] = float(np.mean([r["phase"] in ("off", "-") for r in rs]))
    if seconds is not None:
        s["seconds"] = round(seconds, 1)
    return s


def load_manifest() -> dict[str, Any]:
    if not MANIFEST.exists():
        sys.exit(f"{MANIFEST} missing: run `python {Path(__file__).name} select` first")
    return json.loads(MANIFEST.read_text())


def cmd_select(cache: Path) -> None:
    recs: list[tuple[ModuleRecord, str | None]] = []
    kept: list[ModuleRecord] = []
    print(f"libopenmpt {library_version()}; cache {cache}")
    print(f"{'module':44s} {'bpm':>7s} rpb {'steady':>6s} {'beat/off':>8s} {'low':>5s} {'down':>5s} {'kick':>4s}"
          f" {'lag':>5s} {'meter':>6s}  verdict")
    for name in CANDIDATE_PACKAGES:
        pkg = fetch_package(name, None, cache)
        for mp in pkg.modules():
            try:
                rec = build(pkg, mp, cache / "survey")
            except OpenMptError as e:
                print(f"{name}: {mp.name}: {e}")
                continue
            why = judge(rec, kept)
            if why is None:
                kept.append(rec)
            recs.append((rec, why))
            print(f"{rec.name[:44]:44s} {rec.bpm:7.2f} {rec.rows_per_beat:3d} {rec.steady_frac:6.3f} "
                  f"{rec.beat_ratio:8.2f} {rec.low_beat_ratio:5.2f} {rec.down_ratio:5.2f} {rec.kick_share:4.2f} "
                  f"{rec.lag_ms:5.1f} "
                  f"{rec.meter_corr:6.3f}  {why or 'KEEP'}", flush=True)
    manifest = {
        "_about": "Tracker modules for benchmarks/bench_tracker.py, chosen by `bench_tracker.py select` "
                  f"(libopenmpt {library_version()}): modules with a steady 4/4 grid (>= {MIN_STEADY:.0%} steady "
                  f"beats, regular bars, pulse ratio >= {MIN_PULSE}, downbeat ratio >= {MIN_DOWN}). Licences are "
                  "read from each package's Debian copyright file. Audio is never stored here.",
        "libopenmpt": library_version(),
        "modules": [r.to_dict() for r, why in recs if why is None],
        "excluded": [{"name": r.name, "package": r.package, "version": r.version, "path": r.path,
                      "bpm": round(r.bpm, 2), "reason": why} for r, why in recs if why is not None],
    }
    MANIFEST.parent.mkdir(parents=True, exist_ok=True)
    MANIFEST.write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"\n{len(manifest['modules'])} modules kept, {len(manifest['excluded'])} excluded -> {MANIFEST}")


def cmd_prepare(cache: Path, only: str | None = None) -> tuple[Path, list[ModuleRecord]]:
    man = load_manifest()
    set_dir = cache / "set"
    out: list[ModuleRecord] = []
    for m in man["modules"]:
        if only and only not in m["name"]:
            continue
        pkg = fetch_package(m["package"], m["version"], cache)
        if pkg.version != m["version"]:
            print(f"WARNING: {m['package']} {m['version']} is no longer available; got {pkg.version}")
        mp = pkg.root / m["path"]
        if not mp.is_file():
            print(f"SKIP {m['name']}: {m['path']} not in {m['package']} {pkg.version}")
            continue
        if sha256_file(mp) != m["sha256"]:
            print(f"SKIP {m['name']}: the module changed in {m['package']} {pkg.version} (sha256 differs)")
            continue
        _reuse_survey(cache, set_dir, m["name"])
        rec = build(pkg, mp, set_dir)
        if abs(rec.bpm - m["bpm"]) > 1e-3 or rec.n_beats != m["n_beats"]:
            print(f"WARNING {m['name']}: truth differs from the manifest (bpm {rec.bpm:.3f} vs {m['bpm']}, "
                  f"beats {rec.n_beats} vs {m['n_beats']}): another libopenmpt?")
        out.append(rec)
    for stale in set_dir.glob("*.json"):
        if stale.stem not in {m["name"] for m in man["modules"]}:  # keep `djstruct eval` to the manifest
            stale.unlink()
            (set_dir / f"{stale.stem}.flac").unlink(missing_ok=True)
    return set_dir, out


def _reuse_survey(cache: Path, set_dir: Path, name: str) -> None:
    """Link a render that ``select`` made into the set (``build`` still checks its hash and version)."""
    src = cache / "survey"
    if (set_dir / f"{name}.json").exists() or not (src / f"{name}.json").exists():
        return
    set_dir.mkdir(parents=True, exist_ok=True)
    for ext in ("flac", "json"):
        try:
            os.link(src / f"{name}.{ext}", set_dir / f"{name}.{ext}")
        except OSError:
            shutil.copy2(src / f"{name}.{ext}", set_dir / f"{name}.{ext}")


def _librosa(path: Path) -> tuple[float, np.ndarray]:
    import librosa

    from djstruct.audio import load_audio

    y = load_audio(path, 22050).samples
    tempo, beats = librosa.beat.beat_track(y=y, sr=22050, units="time")
    return float(np.atleast_1d(tempo)[0]), np.asarray(beats)


def cmd_run(cache: Path, detectors: list[str], model: str, only: str | None, plot: Path | None,
            json_out: Path | None) -> None:
    set_dir, recs = cmd_prepare(cache, only)
    from djstruct.detect.base import analyze_file, get_detector

    dets = {d: get_detector(d, **({"model": model} if d == "ml" else {})) for d in detectors if d != "librosa"}
    results: dict[str, dict[str, dict[str, Any]]] = {d: {} for d in detectors}
    secs = dict.fromkeys(detectors, 0.0)
    print(f"\n{len(recs)} modules, truth in {set_dir} (libopenmpt {library_version()})\n")
    hdr = f"{'module':40s} {'bpm':>7s} {'b/off':>5s} {'low':>5s} {'down':>5s} {'kick':>4s} {'lag':>4s} |"
    for d in detectors:
        hdr += f" {d:>7s}: {'bpm':>6s} {'beatF':>5s} {'downF':>5s} ph |" if d != "librosa" else \
            f" {d:>7s}: {'bpm':>6s} {'beatF':>5s} |"
    print(hdr)
    for rec in recs:
        truth = json.loads((set_dir / f"{rec.name}.json").read_text())
        audio = set_dir / truth["file"]
        line = (f"{rec.name[:40]:40s} {truth['bpm']:7.2f} {rec.beat_ratio:5.2f} {rec.low_beat_ratio:5.2f} "
                f"{rec.down_ratio:5.2f} {rec.kick_share:4.2f} {rec.lag_ms:4.0f} |")
        for d in detectors:
            t0 = time.perf_counter()
            try:
                if d == "librosa":
                    bpm, beats = _librosa(audio)
                    r = score(truth, bpm, beats, None)
                else:
                    a = analyze_file(audio, dets[d])
                    r = score(truth, a.bpm, np.asarray(a.beats), np.asarray(a.downbeats))
            except Exception as e:  # noqa: BLE001 - a crash is a result here
                r = {"error": f"{type(e).__name__}: {e}", "beat_f": 0.0, "downbeat_f": 0.0, "bpm": 0.0,
                     "bpm_ok": False, "bpm_ok2": False, "phase": "-"}
            secs[d] += time.perf_counter() - t0
            results[d][rec.name] = r
            ok = "*" if r["bpm_ok"] else ("2" if r["bpm_ok2"] else " ")
            line += f" {'':7s}  {r['bpm']:6.1f}{ok}{r['beat_f']:5.2f}" + (
                f" {r['downbeat_f']:5.2f} {r['phase']:>2s} |" if d != "librosa" else " |")
        print(line, flush=True)
    print("\nb/off, low: onset strength at the truth's beats / at the half-beats between them (all bands, <200 Hz); "
          "down: low-band onset strength at downbeats / other beats; kick: share of beats with a low-band onset; "
          "lag: ms from the truth's beats to the best-matching onsets (+5..+15 expected)\n"
          "bpm column: * within 4 %, 2 within 4 % up to an octave (x2, x0.5); ph = beat of the bar the detected "
          "downbeats sit on (1 right, off = not on the beats)")
    summary: dict[str, dict[str, Any]] = {}
    groups = {"all": [r.name for r in recs],
              f"kick on most beats (kick_share >= {DANCE_KICK_SHARE})": [r.name for r in recs
                                                                         if r.kick_share >= DANCE_KICK_SHARE]}
    for gname, names in groups.items():
        print(f"\n{gname}: {len(names)} modules")
        for d in detectors:
            rs = [results[d][n] for n in names if n in results[d]]
            if not rs:
                continue
            s = _summarise(rs, d != "librosa", secs[d] if gname == "all" else None)
            summary[f"{gname} | {d}"] = s
            extra = (f", downbeat F {s['downbeat_f']:.3f}, bar-phase error rate {s['bar_phase_error_rate']:.3f} "
                     f"(of which off the beat grid {s['bar_phase_off_grid']:.3f})") if d != "librosa" else ""
            print(f"  {d:8s} {s['tracks']} tracks, {s['errors']} errors: beat F {s['beat_f']:.3f}{extra}, "
                  f"BPM acc (4 %) {s['bpm_acc_4pct']:.3f}, with octaves {s['bpm_acc_4pct_octaves']:.3f}"
                  + (f"; {s['seconds']:.0f} s" if "seconds" in s else ""))
    if json_out:
        json_out.write_text(json.dumps({"summary": summary, "tracks": results}, indent=1))
    if plot:
        from tracker_plot import plot_module

        plot.mkdir(parents=True, exist_ok=True)
        for rec in recs:
            plot_module(set_dir / f"{rec.name}.json", plot / f"{rec.name}.png")
        print(f"plots in {plot}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", nargs="?", default="run", choices=("select", "prepare", "run"))
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--detectors", default="ml,dsp,librosa")
    ap.add_argument("--model", default="default")
    ap.add_argument("--only", default=None, help="only modules whose name contains this")
    ap.add_argument("--plot", type=Path, default=None, help="write a spot-check PNG per module here")
    ap.add_argument("--json", type=Path, default=None, help="write all figures here")
    args = ap.parse_args()
    cache = (args.cache or default_cache()).expanduser()
    try:
        if args.command == "select":
            cmd_select(cache)
        elif args.command == "prepare":
            set_dir, recs = cmd_prepare(cache, args.only)
            print(f"{len(recs)} modules with truth in {set_dir}\nscore them with: djstruct eval {set_dir}")
        else:
            cmd_run(cache, [d.strip() for d in args.detectors.split(",") if d.strip()], args.model, args.only,
                    args.plot, args.json)
    except (CorpusError, OpenMptError) as e:
        sys.exit(f"bench_tracker: {e}")


if __name__ == "__main__":
    main()
