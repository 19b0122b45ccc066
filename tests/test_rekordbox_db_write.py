"""Direct master.db cue writes on a copy of the real (encrypted) rekordbox 6 fixture: rows as
planned, the DJ's rows untouched, USN bookkeeping, integrity, row-level undo, refusal while
rekordbox runs."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sqlcipher3")
pytest.importorskip("pyrekordbox")

from djstruct.errors import LibraryError, WritebackError  # noqa: E402
from djstruct.library.rekordbox.db import read_db  # noqa: E402
from djstruct.library.rekordbox.db_rows import UUID_PREFIX, palette_index  # noqa: E402
from djstruct.library.rekordbox.db_undo import undo_db  # noqa: E402
from djstruct.library.rekordbox.db_write import (  # noqa: E402
    DbChangeRecord,
    files_sha256,
    open_master,
    plan_db_cues,
    write_db_cues,
)
from djstruct.types import Cue  # noqa: E402

RB6 = Path(__file__).parent / "data" / "rekordbox" / "rekordbox 6"
DEMO1, DEMO2 = "178162577", "66382436"


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    dst = tmp_path / "master.db"
    shutil.copy(RB6 / "master_locked.db", dst)
    return dst


def table(db: Path, name: str = "djmdCue") -> list[dict[str, Any]]:
    from sqlalchemy import text

    with open_master(db) as m:
        return [dict(r) for r in m.session.execute(text(f'SELECT * FROM "{name}" ORDER BY ID')).mappings()]


def integrity(db: Path) -> str:
    from sqlalchemy import text

    with open_master(db) as m:
        return str(m.session.execute(text("PRAGMA integrity_check")).scalar())


def add_dj_cue(db: Path, content_id: str, kind: int, ms: int, comment: str) -> str:
    """A cue row as if the DJ had set it in rekordbox (random UUID, pyrekordbox commit)."""
    from pyrekordbox.masterdb import models

    with open_master(db) as m:
        content = m.query(models.DjmdContent).filter_by(ID=content_id).one()
        rid = str(m.generate_unused_id(models.DjmdCue))
        m.add(models.DjmdCue.create(ID=rid, ContentID=content_id, ContentUUID=content.UUID, UUID=str(uuid.uuid4()),
                                    InMsec=ms, InFrame=ms * 150 // 1000, OutMsec=-1, Kind=kind, Color=-1,
                                    ColorTableIndex=22 if kind else None, Comment=comment))
        m.commit()
    return rid


def test_write_reads_back_and_keeps_the_djs_rows(db: Path) -> None:
    dj_a = add_dj_cue(db, DEMO1, 1, 5000, "DJ A")
    add_dj_cue(db, DEMO1, 0, 9000, "DJ memory")
    before = table(db)
    usn0 = None
    add = {f"rbdb:{DEMO1}": [Cue("hot", 30.5, 1, None, "Drop 1", "#e62828"), Cue("memory", 61.25, None, None, "Break")],
           DEMO2: [Cue("hot", 0.104, 0, None, "Start", None), Cue("hot", 42.0, 3, None, "Drop", "#1e90ff")]}
    plan = plan_db_cues(db, add)
    assert plan.cues_to_insert == 4 and not plan.failed
    record = write_db_cues(db, add, check_running=False)
    assert record.cues_written == 4 and record.tracks_written == 2 and not record.failed
    assert record.usn_after - record.usn_before == 4  # one per inserted row, not one per column
    usn0 = record.usn_before
    assert len(record.backups) >= 1 and all(Path(b).exists() for b in record.backups)
    after = table(db)
    by_id = {r["ID"]: r for r in after}
    for row in before:  # every original row unchanged, column for column
        assert by_id[row["ID"]] == row
    new = [r for r in after if r["ID"] not in {b["ID"] for b in before}]
    assert len(new) == 4 and all(r["UUID"].startswith(UUID_PREFIX) for r in new)
    got = sorted((r["ContentID"], r["Kind"], r["InMsec"], r["InFrame"], r["OutMsec"], r["Comment"],
                  r["ColorTableIndex"], r["Color"]) for r in new)
    assert got == sorted([
        (DEMO1, 2, 30500, 4575, -1, "Drop 1", 42, -1), (DEMO1, 0, 61250, 9187, -1, "Break", None, -1),
        (DEMO2, 1, 104, 15, -1, "Start", 22, -1), (DEMO2, 5, 42000, 6300, -1, "Drop", palette_index("#1e90ff"), -1)])
    assert sorted(r["rb_local_usn"] for r in new) == [usn0 + 1, usn0 + 2, usn0 + 3, usn0 + 4]
    assert all(r["ContentUUID"] for r in new)
    assert integrity(db) == "ok"
    # through djstruct's own reader
    tracks = {t.id: t for t in read_db(db, with_analysis=False)}
    demo1 = sorted((c.kind, c.slot, c.start_s, c.name) for c in tracks[f"rbdb:{DEMO1}"].cues)
    assert demo1 == sorted([("hot", 0, 5.0, "DJ A"), ("memory", None, 9.0, "DJ memory"),
                            ("hot", 1, 30.5, "Drop 1"), ("memory", None, 61.25, "Break")])
    assert sorted((c.slot, c.start_s) for c in tracks[f"rbdb:{DEMO2}"].cues) == [(0, 0.104), (3, 42.0)]
    # through pyrekordbox
    with open_master(db) as m:
        cues = m.get_cue(ContentID=DEMO2).all()
        assert sorted(c.Kind for c in cues) == [1, 5]
    # undo: the table is exactly as before
    result = undo_db(DbChangeRecord.from_dict(record.to_dict()), check_running=False)
    assert result.deleted == 4 and not result.refused
    assert table(db) == before and integrity(db) == "ok"
    assert dj_a in {r["ID"] for r in table(db)}


def test_slot_taken_unknown_track_loops_fail_alone(db: Path) -> None:
    add_dj_cue(db, DEMO1, 1, 5000, "DJ A")
    add = {DEMO1: [Cue("hot", 10.0, 0, None, "x")], "999999": [Cue("memory", 1.0)],
           DEMO2: [Cue("hot", 10.0, 2, 14.0, "loop")], "24401986": [Cue("hot", 1.0, 4, None, "ok")]}
    record = write_db_cues(db, add, check_running=False)
    failed = dict(record.failed)
    assert "hot cue A is already used" in failed[f"rbdb:{DEMO1}"]
    assert "not in the rekordbox collection" in failed["rbdb:999999"]
    assert "loops are not written" in failed[f"rbdb:{DEMO2}"]
    assert record.cues_written == 1 and record.changes[0].content_id == "24401986"


def test_replace_own_and_undo_in_order(db: Path) -> None:
    before = table(db)
    first = write_db_cues(db, {DEMO1: [Cue("hot", 10.0, 0, None, "Drop"), Cue("memory", 20.0, None, None, "B")]},
                          check_running=False)
    mid = table(db)
    second = write_db_cues(db, {DEMO1: [Cue("hot", 12.0, 0, None, "Drop")]},
                           remove={DEMO1: [Cue("hot", 10.0, 0, None, "Drop"), Cue("memory", 20.0, None, None, "B")]},
                           check_running=False)
    assert [c.action for c in second.changes].count("delete") == 2 and second.cues_written == 1
    assert sorted(r["InMsec"] for r in table(db)) == [12000]
    res = undo_db(second, check_running=False)
    assert res.deleted == 1 and res.restored == 2
    strip = ("rb_local_usn", "updated_at", "created_at")
    assert [{k: v for k, v in r.items() if k not in strip} for r in table(db)] == [
        {k: v for k, v in r.items() if k not in strip} for r in mid]
    undo_db(first, check_running=False)
    assert table(db) == before


def test_undo_refuses_a_row_the_dj_changed_and_keeps_their_new_rows(db: Path) -> None:
    record = write_db_cues(db, {DEMO1: [Cue("hot", 10.0, 0, None, "Mine"), Cue("hot", 20.0, 1, None, "Mine 2")]},
                           check_running=False)
    moved = next(c.row_id for c in record.changes if c.after and c.after["InMsec"] == 20000)
    from pyrekordbox.masterdb import models

    with open_master(db) as m:  # the DJ moves one of our cues in rekordbox
        m.query(models.DjmdCue).filter_by(ID=moved).one().InMsec = 21000
        m.commit()
    theirs = add_dj_cue(db, DEMO1, 3, 40000, "DJ C")
    res = undo_db(record, check_running=False)
    assert res.deleted == 1 and len(res.refused) == 1 and "changed in rekordbox" in res.refused[0]
    ids = {r["ID"] for r in table(db)}
    assert moved in ids and theirs in ids
    forced = undo_db(record, force=True, check_running=False)
    assert forced.deleted == 1 and len(forced.gone) == 1
    assert {r["ID"] for r in table(db)} == {theirs}


def test_content_cue_row_is_refreshed_and_restored(db: Path) -> None:
    from pyrekordbox.masterdb import models

    with open_master(db) as m:
        m.add(models.ContentCue.create(ID="1", ContentID=DEMO1, Cues="[]", rb_cue_count=0, UUID=str(uuid.uuid4())))
        m.commit()
    before = table(db, "contentCue")
    record = write_db_cues(db, {DEMO1: [Cue("memory", 3.0, None, None, "Intro")]}, check_running=False)
    (update,) = [c for c in record.changes if c.table == "contentCue"]
    import json

    items = json.loads(table(db, "contentCue")[0]["Cues"])
    assert [(i["InMsec"], i["Comment"], i["UUID"][:9]) for i in items] == [(3000, "Intro", UUID_PREFIX)]
    assert update.before == before[0]
    undo_db(record, check_running=False)
    assert table(db, "contentCue")[0]["Cues"] == "[]"


def test_whole_file_restore_only_when_nothing_changed(db: Path) -> None:
    original = db.read_bytes()
    record = write_db_cues(db, {DEMO1: [Cue("memory", 3.0)]}, check_running=False)
    assert files_sha256(db) == record.files_sha256_after
    res = undo_db(record, restore_backup=True, check_running=False)
    assert res.whole_file and db.read_bytes() == original
    record = write_db_cues(db, {DEMO1: [Cue("memory", 3.0)]}, check_running=False)
    add_dj_cue(db, DEMO2, 1, 1000, "later")
    with pytest.raises(WritebackError, match="changed since"):
        undo_db(record, restore_backup=True, check_running=False)


def test_dry_run_and_nothing_to_do_touch_nothing(db: Path) -> None:
    sha = files_sha256(db)
    plan = plan_db_cues(db, {DEMO1: [Cue("hot", 1.0, 0)]})
    assert plan.cues_to_insert == 1 and files_sha256(db) == sha
    record = write_db_cues(db, {}, check_running=False)
    assert record.changes == () and record.backups == () and files_sha256(db) == sha
    assert sorted(p.name for p in db.parent.iterdir()) == ["master.db"]


def test_corrupt_database_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "master.db"
    bad.write_bytes(b"\x00" * 4096)
    with pytest.raises(LibraryError) as info:
        write_db_cues(bad, {DEMO1: [Cue("memory", 1.0)]}, check_running=False)
    assert "\n" not in str(info.value) and str(bad) in str(info.value)


def test_refused_while_rekordbox_runs(tmp_path: Path, db: Path) -> None:
    from pyrekordbox.utils import get_rekordbox_pid

    record = write_db_cues(db, {DEMO1: [Cue("memory", 1.0)]}, check_running=False, backup=False)
    exe = tmp_path / "rekordbox"
    shutil.copy("/bin/sleep", exe)
    proc = subprocess.Popen([str(exe), "30"])
    try:
        for _ in range(50):
            if get_rekordbox_pid():
                break
            time.sleep(0.05)
        assert get_rekordbox_pid() == proc.pid
        sha = files_sha256(db)
        with pytest.raises(WritebackError, match="rekordbox is running") as info:
            write_db_cues(db, {DEMO2: [Cue("memory", 1.0)]})
        assert "\n" not in str(info.value) and files_sha256(db) == sha
        with pytest.raises(WritebackError, match="rekordbox is running"):
            undo_db(record)
        # without djstruct's check, pyrekordbox's own commit refuses too, and the track is rolled back
        with pytest.raises(WritebackError, match="rekordbox started"):
            write_db_cues(db, {DEMO2: [Cue("memory", 1.0)]}, check_running=False, backup=False)
        assert files_sha256(db) == sha
    finally:
        proc.kill()
        proc.wait()
