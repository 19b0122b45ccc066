"""Writeback of N tracks into a Traktor collection and into rekordbox's master.db, through the wired
path (``run_writeback`` -> plan per track -> the format's writer -> journal; ``undo_run``).

Run by hand: ``python benchmarks/bench_formats.py [--tracks 500]``. Everything happens in a temporary
folder. Setup (not timed): one short synthetic track is rendered (MP3) and analysed once with the dsp
detector; N hard links to it stand for N tracks, each with that analysis in a fresh store (so every
track is planned, fingerprinted and written as a real one would be). Then, per format:

* NML: the real 151-entry ``tests/data/traktor/history.nml`` grown to N entries (its ENTRY elements
  repeated), every LOCATION pointed at one of the links; timed: ``writeback --dry-run``, ``writeback
  --direct`` (in place: backup, verification, journal) and ``undo``; checked: elements compared /
  lost, undo byte-identical;
* master.db: a copy of the real rekordbox 6 fixture (``tests/data/rekordbox/rekordbox 6/
  master_locked.db``, encrypted, 6 tracks) with ``DjmdContent`` rows up to N (added through
  pyrekordbox in the copy only) naming the links; timed: ``writeback --target rekordbox-db --direct``
  dry run, write (backup, one commit and one journal entry per track) and ``undo`` (row level);
  checked: USN increase, cue table after undo equal to before, ``PRAGMA integrity_check``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_FIXTURE = ROOT / "tests" / "data" / "rekordbox" / "rekordbox 6" / "master_locked.db"
NML_FIXTURE = ROOT / "tests" / "data" / "traktor" / "history.nml"


def make_tracks(tmp: Path, n: int) -> tuple[list[Path], Path]:
    """N hard links to one analysed synthetic track, each with the analysis in a new store."""
    from djstruct.audio.fingerprint import fingerprint
    from djstruct.library import LibrarySource
    from djstruct.scan import ScanConfig, run_scan
    from djstruct.store import Store
    from djstruct.synth import render_corpus

    one = tmp / "one"
    render_corpus(one, 1, seed=4, formats=["mp3"], short=True)
    (clip,) = one.glob("*.mp3")
    seed_store = tmp / "seed.sqlite"
    run_scan(ScanConfig((LibrarySource("folder", one),), seed_store, "dsp", workers=1))
    with Store.open(seed_store) as st:
        analysis, row = st.get_analysis(clip), st.get_row(clip)
    assert analysis is not None and row is not None
    lib = tmp / "library"
    lib.mkdir()
    files = []
    store = tmp / "store.sqlite"
    with Store.open(store) as st:
        for i in range(n):
            f = lib / f"track{i:04d}.mp3"
            os.link(clip, f)
            st.put_analysis(f, analysis, row.detector or "dsp", row.detector_version or "", fingerprint(f))
            files.append(f)
    return files, store


def copy_store(store: Path, dst: Path) -> Path:
    import sqlite3

    with sqlite3.connect(store) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    return dst


def grow_nml(src: Path, dst: Path, files: list[Path]) -> None:
    data = src.read_text(encoding="utf-8")
    start, end = data.index("    <ENTRY "), data.index("  </COLLECTION>")
    entries = re.findall(r"    <ENTRY .*?</ENTRY>\n", data[start:end], flags=re.S)
    grown = []
    for i, f in enumerate(files):
        loc = f'<LOCATION DIR="/:{"/:".join(f.parent.parts[1:])}/:" FILE="{f.name}" VOLUME="" VOLUMEID=""/>'
        grown.append(re.sub(r"<LOCATION [^>]*?/>", lambda _m, loc=loc: loc, entries[i % len(entries)], count=1))
    out = data[:start] + "".join(grown) + data[end:]
    out = re.sub(r'<COLLECTION ENTRIES="\d+"', f'<COLLECTION ENTRIES="{len(files)}"', out, count=1)
    dst.write_text(out, encoding="utf-8")


def grow_db(db: Path, files: list[Path]) -> None:
    from pyrekordbox.masterdb import models

    from djstruct.library.rekordbox.db_write import open_master

    with open_master(db) as m:
        rows = m.query(models.DjmdContent).all()
        for row, f in zip(rows, files, strict=False):
            row.FolderPath = str(f)
        now = datetime.now(UTC)
        for f in files[len(rows):]:
            cid = str(m.generate_unused_id(models.DjmdContent))
            m.add(models.DjmdContent.create(ID=cid, UUID=str(uuid.uuid4()), FolderPath=str(f), FileNameL=f.name,
                                            Title=f.stem, Length=120, BPM=12800, FileType=1,
                                            created_at=now, updated_at=now))
        m.commit()


def timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def run(sources, store: Path, target: str, dry: bool):  # type: ignore[no-untyped-def]
    from djstruct.writeback.apply import WritebackConfig, run_writeback

    return run_writeback(WritebackConfig(tuple(sources), dry, store, target, direct=True))


def undo(store: Path):  # type: ignore[no-untyped-def]
    from djstruct.store import Store
    from djstruct.writeback.journal import Journal
    from djstruct.writeback.undo import undo_run

    with Store.open(store) as st:
        return undo_run(Journal(st))


def bench_nml(tmp: Path, files: list[Path], seed_store: Path) -> None:
    from djstruct.library import LibrarySource
    from djstruct.library.traktor import compare_nml
    from djstruct.library.traktor.verify import signatures
    from djstruct.library.traktor.write import NmlCue

    nml = tmp / "collection.nml"
    grow_nml(NML_FIXTURE, nml, files)
    store = copy_store(seed_store, tmp / "store.sqlite")
    src = [LibrarySource("traktor-nml", nml)]
    original = nml.read_bytes()
    dry, t_dry = timed(run, src, store, "traktor-nml", True)
    res, t_write = timed(run, src, store, "traktor-nml", False)
    new = nml.read_bytes()
    added = list((Counter(signatures(new)) - Counter(signatures(original))).elements())
    cmp = compare_nml(original, new, [NmlCue("", s[2], "") for s in added])
    u, t_undo = timed(undo, store)
    planned = sum(p.diff.count("add") for p in dry.plans if p.diff)
    print(f"NML        {len(files)} entries ({len(original) / 1e6:.2f} MB)  cues planned {planned}  "
          f"tracks written {res.written}  new elements {len(added)} (all CUE_V2: "
          f"{all(s[1] == 'CUE_V2' for s in added)})  refused {len(res.failed)}")
    print(f"NML        dry-run {t_dry:.2f} s   write {t_write:.2f} s   undo {t_undo:.2f} s   "
          f"old elements compared {cmp.elements} (attrs {cmp.attributes}), lost {cmp.lost}, "
          f"unexpected {cmp.unexpected}"
          f"   undo byte-identical: {nml.read_bytes() == original} ({len(u.refused)} refused)")


def bench_db(tmp: Path, files: list[Path], seed_store: Path) -> None:
    from sqlalchemy import text

    from djstruct.library import LibrarySource
    from djstruct.library.rekordbox.db_write import open_master

    db = tmp / "master.db"
    shutil.copy(DB_FIXTURE, db)
    grow_db(db, files)
    store = copy_store(seed_store, tmp / "store.sqlite")
    src = [LibrarySource("rekordbox-db", db)]

    def state() -> tuple[list[dict[str, object]], int, str]:
        with open_master(db) as m:
            rows = [dict(r) for r in m.session.execute(text("SELECT * FROM djmdCue ORDER BY ID")).mappings()]
            return rows, int(m.get_local_usn()), str(m.session.execute(text("PRAGMA integrity_check")).scalar())

    before, usn0, _ = state()
    dry, t_dry = timed(run, src, store, "rekordbox-db", True)
    res, t_write = timed(run, src, store, "rekordbox-db", False)
    written, usn1, ok1 = state()
    u, t_undo = timed(undo, store)
    after, _, ok2 = state()
    planned = sum(p.diff.count("add") for p in dry.plans if p.diff)
    print(f"master.db  {len(files)} tracks  cues planned {planned}  rows written {len(written) - len(before)}  "
          f"tracks {res.written}  refused {len(res.failed)}  USN +{usn1 - usn0}  integrity {ok1}/{ok2}")
    print(f"master.db  dry-run {t_dry:.2f} s   write {t_write:.2f} s ({1000 * t_write / max(1, res.written):.1f} "
          f"ms/track)   undo {t_undo:.2f} s   cue table equal after undo: {after == before} "
          f"({len(u.refused)} refused)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tracks", type=int, default=500)
    args = ap.parse_args()
    import logging

    logging.getLogger("pyrekordbox").setLevel(logging.ERROR)
    logging.getLogger("djstruct").setLevel(logging.ERROR)  # "no analysis folder" for the grown master.db
    with tempfile.TemporaryDirectory(prefix="djstruct-bench-formats-") as d:
        tmp = Path(d)
        (tmp / "db").mkdir()
        (tmp / "nml").mkdir()
        t0 = time.perf_counter()
        files, store = make_tracks(tmp, args.tracks)
        print(f"setup: {len(files)} analysed tracks in {time.perf_counter() - t0:.1f} s (not timed below)")
        bench_nml(tmp / "nml", files, store)
        bench_db(tmp / "db", files, store)


if __name__ == "__main__":
    main()
