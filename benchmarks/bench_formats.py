"""Writing cues for N tracks into a Traktor collection and into rekordbox's master.db.

Run by hand: ``python benchmarks/bench_formats.py [--tracks 500] [--cues 8]``. Everything happens in a
temporary folder:

* master.db: a copy of the real rekordbox 6 fixture (``tests/data/rekordbox/rekordbox 6/
  master_locked.db``, encrypted, 6 tracks) gets ``DjmdContent`` rows up to ``--tracks`` (pointing at
  one-byte placeholder files, added through pyrekordbox in the copy only); then ``plan_db_cues``
  (dry run), ``write_db_cues`` (one commit per track, backup first) and ``undo_db`` (row level) are
  timed, and the cue table after undo is compared with the one before;
* NML: the real 151-entry ``tests/data/traktor/history.nml`` is grown to ``--tracks`` entries (its
  ENTRY elements repeated with new file names); then ``plan_nml``, ``write_nml`` (in place, backup)
  and ``undo_nml`` are timed, and undo is checked to give the original bytes back.

Cues per track: half hot cues (slots 2-5, clear of the AutoGrid markers on slot 0/1), half memory cues.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from djstruct.types import Cue  # noqa: E402

DB_FIXTURE = ROOT / "tests" / "data" / "rekordbox" / "rekordbox 6" / "master_locked.db"
NML_FIXTURE = ROOT / "tests" / "data" / "traktor" / "history.nml"


def cues_for(i: int, n: int) -> list[Cue]:
    out = []
    for k in range(n):
        t = 8.0 + 16.0 * k + (i % 7) * 0.01
        out.append(Cue("hot", t, 2 + k // 2, None, f"Hot {k}") if k % 2 == 0 and k // 2 < 4
                   else Cue("memory", t, None, None, f"Mem {k}"))
    return out


def grow_db(db: Path, n_tracks: int, files: Path) -> list[str]:
    from pyrekordbox.masterdb import models

    from djstruct.library.rekordbox.db_write import open_master

    with open_master(db) as m:
        ids = [str(c.ID) for c in m.query(models.DjmdContent).all()]
        now = datetime.now(UTC)
        for i in range(len(ids), n_tracks):
            f = files / f"track{i:04d}.mp3"
            f.write_bytes(b"\0")
            cid = str(m.generate_unused_id(models.DjmdContent))
            m.add(models.DjmdContent.create(ID=cid, UUID=str(uuid.uuid4()), FolderPath=str(f), FileNameL=f.name,
                                            Title=f"Bench {i}", Length=300, BPM=12800, FileType=1,
                                            created_at=now, updated_at=now))
            ids.append(cid)
        m.commit()
    return ids


def cue_table(db: Path) -> list[dict[str, object]]:
    from sqlalchemy import text

    from djstruct.library.rekordbox.db_write import open_master

    with open_master(db) as m:
        return [dict(r) for r in m.session.execute(text("SELECT * FROM djmdCue ORDER BY ID")).mappings()]


def bench_db(tmp: Path, n_tracks: int, n_cues: int) -> None:
    from djstruct.library.rekordbox.db_undo import undo_db
    from djstruct.library.rekordbox.db_write import plan_db_cues, write_db_cues

    db = tmp / "master.db"
    shutil.copy(DB_FIXTURE, db)
    (tmp / "files").mkdir()
    t0 = time.perf_counter()
    ids = grow_db(db, n_tracks, tmp / "files")
    grow = time.perf_counter() - t0
    add = {cid: cues_for(i, n_cues) for i, cid in enumerate(ids)}
    before = cue_table(db)
    t0 = time.perf_counter()
    plan = plan_db_cues(db, add)
    dry = time.perf_counter() - t0
    t0 = time.perf_counter()
    record = write_db_cues(db, add, check_running=False)
    write = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = undo_db(record, check_running=False)
    undo = time.perf_counter() - t0
    after = cue_table(db)
    print(f"master.db  tracks {len(ids)} (grown in {grow:.2f} s)  cues planned {plan.cues_to_insert}  "
          f"written {record.cues_written}  refused tracks {len(record.failed)}  "
          f"USN +{record.usn_after - record.usn_before}")
    print(f"master.db  dry-run {dry:.2f} s   write {write:.2f} s ({1000 * write / max(1, len(ids)):.1f} ms/track)   "
          f"undo {undo:.2f} s   rows deleted by undo {result.deleted}   table equal after undo: {after == before}")


def grow_nml(src: Path, dst: Path, n_tracks: int) -> None:
    data = src.read_text(encoding="utf-8")
    start, end = data.index("    <ENTRY "), data.index("  </COLLECTION>")
    entries = re.findall(r"    <ENTRY .*?</ENTRY>\n", data[start:end], flags=re.S)
    grown = []
    for i in range(n_tracks):
        e = entries[i % len(entries)]
        if i >= len(entries):
            e = re.sub(r'FILE="([^"]*)"', lambda m, i=i: f'FILE="copy{i:04d} {m.group(1)}"', e, count=1)
        grown.append(e)
    out = data[:start] + "".join(grown) + data[end:]
    out = re.sub(r'<COLLECTION ENTRIES="\d+"', f'<COLLECTION ENTRIES="{n_tracks}"', out, count=1)
    dst.write_text(out, encoding="utf-8")


def bench_nml(tmp: Path, n_tracks: int, n_cues: int) -> None:
    from djstruct.library.traktor import compare_nml, plan_nml, read_nml, undo_nml, write_nml
    from djstruct.types import Track

    nml = tmp / "collection.nml"
    grow_nml(NML_FIXTURE, nml, n_tracks)
    original = nml.read_bytes()
    t0 = time.perf_counter()
    tracks = [t for t in read_nml(nml) if isinstance(t, Track)]
    read = time.perf_counter() - t0
    add = {t.id: cues_for(i, n_cues) for i, t in enumerate(tracks)}
    t0 = time.perf_counter()
    plan = plan_nml(nml, add)
    dry = time.perf_counter() - t0
    t0 = time.perf_counter()
    record = write_nml(nml, add, check_running=False)
    write = time.perf_counter() - t0
    cmp = compare_nml(original, nml.read_bytes(), record.added)
    t0 = time.perf_counter()
    undo_nml(record, check_running=False)
    undo = time.perf_counter() - t0
    print(f"NML        entries {len(tracks)} ({len(original) / 1e6:.2f} MB, read {read:.2f} s)  cues planned "
          f"{len(plan.added)}  written {len(record.added)}  refused {len(record.failed)}")
    print(f"NML        dry-run {dry:.2f} s   write {write:.2f} s (incl. verify + backup)   undo {undo:.2f} s   "
          f"elements compared {cmp.elements} attrs {cmp.attributes} lost {cmp.lost}   "
          f"undo byte-identical: {nml.read_bytes() == original}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tracks", type=int, default=500)
    ap.add_argument("--cues", type=int, default=8)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="djstruct-bench-formats-") as d:
        (Path(d) / "db").mkdir()
        (Path(d) / "nml").mkdir()
        bench_nml(Path(d) / "nml", args.tracks, args.cues)
        bench_db(Path(d) / "db", args.tracks, args.cues)


if __name__ == "__main__":
    main()
