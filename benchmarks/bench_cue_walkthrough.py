"""The DJ's walk-through on real music, with the figures issue 14 asks for.

``python benchmarks/bench_cue_walkthrough.py MUSIC_DIR WORK_DIR [--tempo-csv FILE]``: copies the
audio files of MUSIC_DIR into ``WORK_DIR/Music`` and runs, through the ``djstruct`` command as a DJ
would (output piped): ``library``, ``scan``, ``writeback --dry-run``, ``writeback``, ``status``,
``undo``, ``status``; then, with a hand-made Rekordbox XML whose TEMPO per track comes from
``--tempo-csv`` (``file,bpm``: e.g. librosa's estimates from ``shared/realmusic/manifest.csv``),
``scan`` into a fresh store and ``writeback --dry-run`` to an XML. Prints per track and in total:

- whether hot cue A sits on the first downbeat of the grid the cues were planned on (+-1 ms);
- whether the hot cues A..H are in time order (default layout);
- repeated memory-cue names (the XML dry-run, which plans memory cues);
- stale tracks after writeback and after undo, and whether undo restored every file byte for byte;
- the grid disagreements scan and writeback listed;
- the wall time of each step, and a sample of the dry-run output.

Real music for it: ``shared/realmusic/fetch_corpus.sh`` (Debian game soundtracks), or any folder.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from djstruct.audio import SUPPORTED_EXTENSIONS
from djstruct.cues.grid import snap_grid
from djstruct.library.rekordbox.locations import path_to_location
from djstruct.store import Store

EXE = [sys.executable, "-c", "import sys; from djstruct.cli.main import main; sys.argv[0] = 'djstruct'; main()"]


def djstruct(*args: str, cwd: Path, log: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    t0 = time.perf_counter()
    r = subprocess.run([*EXE, *args], cwd=cwd, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    with log.open("a", encoding="utf-8") as f:
        f.write(f"$ djstruct {' '.join(args)}   # rc {r.returncode}, {dt:.1f} s\n{r.stdout}{r.stderr}\n")
    return r, dt


def sha(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def stale(store: Path, cwd: Path, log: Path) -> int:
    r, _ = djstruct("status", "--store", str(store), "--json", cwd=cwd, log=log)
    return int(json.loads(r.stdout)["total"]["stale"])


def write_xml(music: Path, tempo: dict[str, float], out: Path) -> int:
    rows = []
    for i, p in enumerate(sorted(music.iterdir()), 1):
        bpm = tempo.get(p.name) or tempo.get(p.stem)
        grid = f'<TEMPO Inizio="0.000" Bpm="{bpm:.2f}" Metro="4/4" Battito="1"/>' if bpm else ""
        rows.append(f'<TRACK TrackID="{i}" Name="{p.stem}" Location="{path_to_location(p)}">{grid}</TRACK>')
    out.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<DJ_PLAYLISTS Version="1.0.0"><PRODUCT Name="rekordbox"/>'
                   f'<COLLECTION Entries="{len(rows)}">{"".join(rows)}</COLLECTION></DJ_PLAYLISTS>\n', encoding="utf-8")
    return sum(1 for p in music.iterdir() if tempo.get(p.name) or tempo.get(p.stem))


def check_plans(rows: list[dict], store: Path) -> dict[str, dict]:
    """Per track: A on the first downbeat, hot cues in time order, repeated memory names."""
    out: dict[str, dict] = {}
    with Store.open(store) as st:
        for row in rows:
            path = Path(row["path"])
            a = st.get_analysis(path)
            hot = sorted((c for c in row.get("changes", []) if c["kind"] == "hot" and c["action"] in ("add", "keep")),
                         key=lambda c: c["slot"])
            memory = [c["name"] for c in row.get("changes", []) if c["kind"] == "memory" and c["action"] != "remove"]
            down, _ = snap_grid(a, None) if a is not None else ([], "")
            first = float(down[0]) if len(down) else None
            a_cue = hot[0] if hot and hot[0]["slot"] == 0 else None
            out[path.name] = {
                "a_on_first_downbeat": a_cue is not None and first is not None and abs(a_cue["start"] - first) < 1e-3,
                "hot_in_time_order": [c["start"] for c in hot] == sorted(c["start"] for c in hot),
                "hot": len(hot), "memory": len(memory),
                "repeated_memory_names": sorted({n for n in memory if memory.count(n) > 1}),
                "first_section_s": a.sections[0].start_s if a is not None and a.sections else None,
                "first_downbeat_s": first, "warning": row.get("warning"),
            }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("music", type=Path)
    ap.add_argument("work", type=Path)
    ap.add_argument("--tempo-csv", type=Path, default=None, help="file,bpm: the hand-made XML's grid tempo per file")
    args = ap.parse_args()
    work = args.work.resolve()
    music, store, log = work / "Music", work / "store.sqlite", work / "walkthrough.log"
    shutil.rmtree(work, ignore_errors=True)
    music.mkdir(parents=True)
    for p in sorted(args.music.iterdir()):
        if p.is_file() and p.suffix.lower() in SUPPORTED_EXTENSIONS:
            shutil.copy(p, music / p.name)
    before = sha(music)
    times: dict[str, float] = {}
    _, times["library"] = djstruct("library", str(music), cwd=work, log=log)
    r, times["scan"] = djstruct("scan", str(music), "--store", str(store), cwd=work, log=log)
    assert r.returncode == 0, r.stderr
    r, times["dry-run"] = djstruct("writeback", str(music), "--store", str(store), "--dry-run", cwd=work, log=log)
    sample = r.stdout.splitlines()[:18] + ["..."] + r.stdout.splitlines()[-2:]
    rj, _ = djstruct("writeback", str(music), "--store", str(store), "--dry-run", "--json", "--target", "rekordbox-xml",
                     "--out", str(work / "plan.xml"), cwd=work, log=log)
    checks = check_plans([json.loads(x) for x in rj.stdout.splitlines()], store)
    r, times["writeback"] = djstruct("writeback", str(music), "--store", str(store), cwd=work, log=log)
    stale_after_write = stale(store, work, log)
    r, times["undo"] = djstruct("undo", "--store", str(store), cwd=work, log=log)
    stale_after_undo = stale(store, work, log)
    identical = sha(music) == before

    disagree_scan = disagree_dry = n_grids = 0
    if args.tempo_csv is not None:
        with args.tempo_csv.open(encoding="utf-8") as f:
            tempo = {row["file"]: float(row["bpm"]) for row in csv.DictReader(f) if row.get("bpm")}
        xml = work / "rekordbox.xml"
        n_grids = write_xml(music, tempo, xml)
        r, times["scan xml"] = djstruct("scan", "--rekordbox-xml", str(xml), "--store", str(work / "xml.sqlite"),
                                        cwd=work, log=log)
        disagree_scan = r.stderr.count("disagrees with djstruct's tempo (")
        r, times["dry-run xml"] = djstruct("writeback", "--rekordbox-xml", str(xml), "--store",
                                           str(work / "xml.sqlite"), "--out", str(work / "import.xml"), "--dry-run",
                                           cwd=work, log=log)
        disagree_dry = r.stderr.count("disagrees with djstruct's tempo (")

    print(f"{'track':32s} {'A@1st':>5s} {'order':>5s} {'hot':>3s} {'mem':>3s}  first section / downbeat  repeats")
    for name, c in checks.items():
        fs = "-" if c["first_section_s"] is None else f"{c['first_section_s']:.2f}"
        fd = "-" if c["first_downbeat_s"] is None else f"{c['first_downbeat_s']:.2f}"
        print(f"{name[:32]:32s} {'yes' if c['a_on_first_downbeat'] else 'NO':>5s} "
              f"{'yes' if c['hot_in_time_order'] else 'NO':>5s} {c['hot']:3d} {c['memory']:3d}  {fs:>8s} / {fd:<8s} "
              f"{', '.join(c['repeated_memory_names']) or '-'}")
    n = len(checks)
    print(f"\ntracks {n}; hot A on the first downbeat {sum(c['a_on_first_downbeat'] for c in checks.values())}/{n}; "
          f"hot cues in time order {sum(c['hot_in_time_order'] for c in checks.values())}/{n}; tracks with repeated "
          f"memory names {sum(bool(c['repeated_memory_names']) for c in checks.values())}")
    print(f"stale after writeback {stale_after_write}, after undo {stale_after_undo}; undo byte-identical: "
          f"{'yes' if identical else 'NO'} ({len(before)} files)")
    if args.tempo_csv is not None:
        print(f"hand-made XML: {n_grids} grids; disagreements warned in scan {disagree_scan}, in the dry-run "
              f"{disagree_dry}")
    print("wall time: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()))
    print(f"log of every command: {log}\n\ndry-run sample:\n" + "\n".join(sample))


if __name__ == "__main__":
    main()
