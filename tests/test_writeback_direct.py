"""The wired library targets, through the CLI, on copies of the real fixtures (skipped when
../shared/fixtures/real is absent): a Traktor collection (--traktor-nml as the library of scan,
library, labels, train and writeback; a new NML or the collection in place) and rekordbox 6's
encrypted master.db (--target rekordbox-db --direct). Each copy has three entries pointed at the
synthetic corpus so that they can be analysed; everything else is the fixture as published.

Checked each time: write -> read back -> every original element / row unchanged and the new ones
as planned (PRAGMA integrity_check ok); undo -> the file or table as before (the DJ's edits made
since kept); a running Traktor / rekordbox (a fake process of that name) refused in one line."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from djstruct.cli.main import cli
from djstruct.library.traktor import compare_nml, read_nml, traktor_pid
from djstruct.library.traktor.verify import signatures
from djstruct.library.traktor.write import NmlCue, cue_text
from djstruct.types import Track

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "real"
NML = Path("traktor-nml-utils") / "tests" / "fixtures" / "history.nml"
MASTER = Path("pyrekordbox") / "testdata" / "rekordbox 6" / "master_locked.db"
# The fixture's entries keep the grids of the real tracks they listed, which disagree with the synthetic
# audio now behind them: snap onto them anyway, as a DJ who trusts their grid would choose.
ON_ITS_GRID = ("--grid", "library")


def invoke(*args: str, code: int | None = 0):  # type: ignore[no-untyped-def]
    r = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    if code is not None:
        assert r.exit_code == code, r.output
    return r


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def point_entries_at(src: Path, dst: Path, files: list[Path]) -> None:
    """The NML ``src`` with its first ``len(files)`` LOCATIONs naming ``files`` (byte edit, rest as is)."""
    data = src.read_bytes()
    out, pos = [], 0
    for m, f in zip(re.finditer(rb"<LOCATION [^>]*?/?>", data), files, strict=False):
        folder = "/:" + "/:".join(f.parent.parts[1:]) + "/:"
        out += [data[pos:m.start()], f'<LOCATION DIR="{folder}" FILE="{f.name}" VOLUME="" VOLUMEID=""/>'.encode()]
        pos = m.end()
    dst.write_bytes(b"".join([*out, data[pos:]]))


@pytest.fixture(scope="module")
def corpus(short_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The corpus in a folder, a prepared collection, and a store from `scan --traktor-nml` of it."""
    if not SHARED.is_dir():
        pytest.skip("../shared/fixtures/real is not present")
    root = tmp_path_factory.mktemp("direct")
    lib = root / "Music"
    lib.mkdir()
    for p in short_corpus.iterdir():
        if p.suffix != ".json":
            shutil.copy(p, lib / p.name)
    files = sorted(lib.iterdir())
    nml = root / "collection.nml"
    point_entries_at(SHARED / NML, nml, files)
    store = root / "store.sqlite"
    scan = invoke("scan", "--traktor-nml", nml, "--store", store, code=1)  # the other entries' files are elsewhere
    return {"lib": lib, "files": files, "nml": nml, "store": store, "scan": scan.output, "shared": SHARED}


@pytest.fixture()
def store(corpus: dict[str, Any], tmp_path: Path) -> Path:
    """A private copy of the scanned store (each test writes its own journal)."""
    dst = tmp_path / "store.sqlite"
    with sqlite3.connect(corpus["store"]) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    return dst


@pytest.fixture()
def nml(corpus: dict[str, Any], tmp_path: Path) -> Path:
    (tmp_path / "traktor").mkdir()
    dst = tmp_path / "traktor" / "collection.nml"
    shutil.copy(corpus["nml"], dst)
    return dst


def tracks(path: Path) -> dict[str, Track]:
    return {t.id: t for t in read_nml(path) if isinstance(t, Track)}


def planned(args: list[Any]) -> list[dict[str, Any]]:
    """The JSON dry run of a writeback: one row per track with its changes."""
    r = invoke("writeback", *args, *ON_ITS_GRID, "--dry-run", "--json", code=None)
    return [json.loads(x) for x in r.stdout.splitlines()]


def as_planned(got: list[Any], want: list[dict[str, Any]]) -> bool:
    """The cues read back are the planned ones: kind, slot, name, and the time within 1 ms."""
    def key(kind: str, slot: int | None, name: str) -> tuple[str, int, str]:
        return kind, -1 if slot is None else slot, name

    a = sorted(got, key=lambda c: (key(c.kind, c.slot, c.name), c.start_s))
    b = sorted(want, key=lambda c: (key(c["kind"], c["slot"], c["name"]), c["start"]))
    return len(a) == len(b) and all(key(x.kind, x.slot, x.name) == key(y["kind"], y["slot"], y["name"])
                                    and abs(x.start_s - y["start"]) < 1.1e-3 for x, y in zip(a, b, strict=True))


# -- Traktor --------------------------------------------------------------------------------------


def test_collection_is_a_library_for_scan_library_labels_and_train(corpus: dict[str, Any], store: Path) -> None:
    assert corpus["scan"].count("file not found") == 148 and re.search(r"analysed now\s+3\b", corpus["scan"])
    r = invoke("library", "--traktor-nml", corpus["nml"], "--json")
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(rows) == 151 and sum(row["exists"] for row in rows) == 3
    assert all(row["id"].startswith("nml:") and row["streaming"] is None for row in rows)
    assert "151 tracks" in r.stderr
    r = invoke("labels", "check", "--traktor-nml", corpus["nml"], "--store", store)
    assert "3 tracks with cues and a grid" in r.output
    r = invoke("train", "--from-library", "--traktor-nml", corpus["nml"], code=2)
    assert "need at least 2 to train" in r.output  # read through the same wiring, nothing trained


def test_new_nml_keeps_every_element_and_undo_removes_it(corpus: dict[str, Any], store: Path, nml: Path) -> None:
    original = nml.read_bytes()
    rows = [r for r in planned(["--traktor-nml", nml, "--store", store]) if r.get("changes")]
    want = {r["id"]: [c for c in r["changes"] if c["action"] == "add"] for r in rows}
    assert len(want) == 3 and all(want.values()) and nml.read_bytes() == original
    out = nml.with_name("for-import.nml")
    r = invoke("writeback", "--traktor-nml", nml, "--store", store, *ON_ITS_GRID, "--out", out, code=1)
    assert "wrote 3 of 151 tracks to traktor-nml" in r.output and nml.read_bytes() == original
    before, after = tracks(nml), tracks(out)
    for tid, adds in want.items():  # read back: exactly the planned cues are new, the DJ's cues and grid stay
        assert as_planned([c for c in after[tid].cues if c not in before[tid].cues], adds)
        assert all(c in after[tid].cues for c in before[tid].cues)
    new_elements = list((Counter(signatures(out.read_bytes())) - Counter(signatures(original))).elements())
    assert {s[1] for s in new_elements} == {"CUE_V2"} and len(new_elements) == sum(map(len, want.values()))
    cmp = compare_nml(original, out.read_bytes(), [NmlCue("", s[2], "") for s in new_elements])
    assert cmp.lost == 0 and cmp.unexpected == 0 and not cmp.reordered and cmp.elements == 1333
    invoke("undo", "--store", store)
    assert not out.exists() and nml.read_bytes() == original


def test_in_place_needs_direct_backs_up_and_undo_keeps_the_djs_edit(store: Path, nml: Path) -> None:
    original = nml.read_bytes()
    r = invoke("writeback", "--traktor-nml", nml, "--store", store, *ON_ITS_GRID, "--out", nml, code=2)
    assert "needs --direct" in r.output and nml.read_bytes() == original
    invoke("writeback", "--traktor-nml", nml, "--store", store, *ON_ITS_GRID, "--direct", code=1)
    (backup,) = nml.parent.glob("collection.nml.djstruct-*.bak")
    assert backup.read_bytes() == original and nml.read_bytes() != original
    r = invoke("writeback", "--traktor-nml", nml, "--store", store, *ON_ITS_GRID, "--direct", code=1)
    assert "wrote 0 of 151" in r.output  # a re-run on unchanged analyses changes nothing
    # the DJ adds a cue in Traktor afterwards (to the first entry, which djstruct did not write)
    data = nml.read_bytes()
    mine = cue_text((("NAME", "my cue"), ("DISPL_ORDER", "0"), ("TYPE", "0"), ("START", "1234.000000"),
                     ("LEN", "0.000000"), ("REPEATS", "-1"), ("HOTCUE", "-1")), True).encode()
    anchor = data.rindex(b"</ENTRY>")  # the last entry: after the three djstruct wrote
    nml.write_bytes(data[:anchor] + mine + data[anchor:])
    r = invoke("undo", "--store", store)
    assert "restored 1" in r.output
    at = anchor - (len(data) - len(original))  # the same place in the original
    assert nml.read_bytes() == original[:at] + mine + original[at:]
    # nothing edited since: undo gives the original bytes back
    invoke("writeback", "--traktor-nml", nml, "--store", store, *ON_ITS_GRID, "--direct", "--policy", "replace-own",
           code=1)
    invoke("undo", "--store", store)
    nml.write_bytes(original)
    invoke("writeback", "--traktor-nml", nml, "--store", store, *ON_ITS_GRID, "--direct", code=1)
    invoke("undo", "--store", store)
    assert nml.read_bytes() == original


@pytest.fixture()
def fake_app(tmp_path: Path, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    (tmp_path / "bin").mkdir()
    exe = tmp_path / "bin" / request.param
    shutil.copy("/bin/sleep", exe)
    proc = subprocess.Popen([str(exe), "30"])
    try:
        time.sleep(0.2)
        yield proc
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("fake_app", ["Traktor Pro 3"], indirect=True)
def test_refused_while_traktor_runs(store: Path, nml: Path, fake_app: subprocess.Popen[bytes]) -> None:
    assert traktor_pid() == fake_app.pid
    original = nml.read_bytes()
    r = invoke("writeback", "--traktor-nml", nml, "--store", store, *ON_ITS_GRID, "--direct", code=1)
    (line,) = [x for x in r.output.splitlines() if "Traktor is running" in x]
    assert line.startswith("error:") and nml.read_bytes() == original
    assert list(nml.parent.iterdir()) == [nml]  # no backup, no journal run either
    r = invoke("undo", "--store", store, code=1)
    assert "nothing to undo" in r.output


# -- rekordbox master.db --------------------------------------------------------------------------


@pytest.fixture()
def master(corpus: dict[str, Any], tmp_path: Path) -> Path:
    """A copy of the encrypted rekordbox 6 master.db whose first three tracks name the corpus files."""
    pytest.importorskip("sqlcipher3")
    from pyrekordbox.masterdb import models

    from djstruct.library.rekordbox.db_write import open_master

    (tmp_path / "rekordbox").mkdir()
    db = tmp_path / "rekordbox" / "master.db"
    shutil.copy(corpus["shared"] / MASTER, db)
    with open_master(db) as m:
        rows = m.query(models.DjmdContent).order_by(models.DjmdContent.ID).all()
        for row, f in zip(rows, corpus["files"], strict=False):
            row.FolderPath = str(f)
        rows[3].FolderPath = "soundcloud:tracks:123456789"  # a streaming track
        m.commit()
    return db


def table(db: Path, name: str) -> list[dict[str, Any]]:
    from sqlalchemy import text

    from djstruct.library.rekordbox.db_write import open_master

    with open_master(db) as m:
        return [dict(r) for r in m.session.execute(text(f'SELECT * FROM "{name}" ORDER BY ID')).mappings()]


def add_dj_cue(db: Path, content_id: str, ms: int, comment: str) -> str:
    """A memory cue as if the DJ had set it in rekordbox (random UUID, pyrekordbox commit)."""
    import uuid

    from pyrekordbox.masterdb import models

    from djstruct.library.rekordbox.db_write import open_master

    with open_master(db) as m:
        content = m.query(models.DjmdContent).filter_by(ID=content_id).one()
        rid = str(m.generate_unused_id(models.DjmdCue))
        m.add(models.DjmdCue.create(ID=rid, ContentID=content_id, ContentUUID=content.UUID, UUID=str(uuid.uuid4()),
                                    InMsec=ms, InFrame=ms * 150 // 1000, OutMsec=-1, Kind=0, Color=-1, Comment=comment))
        m.commit()
    return rid


def integrity(db: Path) -> str:
    from sqlalchemy import text

    from djstruct.library.rekordbox.db_write import open_master

    with open_master(db) as m:
        return str(m.session.execute(text("PRAGMA integrity_check")).scalar())


def test_master_db_write_read_back_and_row_level_undo(store: Path, master: Path) -> None:
    from djstruct.library.rekordbox.db import read_db
    from djstruct.library.rekordbox.db_rows import UUID_PREFIX

    args = ["--rekordbox-db", master, "--store", store, "--target", "rekordbox-db"]
    r = invoke("writeback", *args, code=2)
    assert "needs --direct" in r.output
    cues0, content0, cc0, sha0 = table(master, "djmdCue"), table(master, "djmdContent"), \
        table(master, "contentCue"), sha(master)
    rows = [r for r in planned([*args, "--direct"]) if r.get("changes")]
    want = {r["id"]: [c for c in r["changes"] if c["action"] == "add"] for r in rows}
    assert len(want) == 3 and sha(master) == sha0 and len(list(master.parent.iterdir())) == 1
    r = invoke("writeback", *args, "--direct", code=1)  # two demo tracks' audio is not here
    assert "wrote 3 of 5 tracks to rekordbox-db" in r.output
    backups = sorted(master.parent.glob("master.db*.djstruct-*.bak"))
    assert backups and sha(backups[0]) == sha0
    cues1 = table(master, "djmdCue")
    old = {c["ID"]: c for c in cues0}
    assert all(c in cues1 for c in cues0)  # every original row unchanged
    new = [c for c in cues1 if c["ID"] not in old]
    assert len(new) == sum(map(len, want.values())) and all(c["UUID"].startswith(UUID_PREFIX) for c in new)
    assert table(master, "djmdContent") == content0 and integrity(master) == "ok"
    by_id = {t.id: t for t in read_db(master)}
    for tid, adds in want.items():
        assert as_planned(list(by_id[tid].cues), adds)  # whole milliseconds, on the same timeline
    # the DJ adds a hot cue after djstruct wrote; undo removes djstruct's rows and keeps it
    dj = add_dj_cue(master, next(iter(want)).split(":", 1)[1], 4321, "mine")
    r = invoke("undo", "--store", store)
    assert "restored 3" in r.output
    after = table(master, "djmdCue")
    assert [c for c in after if c["ID"] != dj] == cues0 and any(c["ID"] == dj for c in after)
    assert table(master, "contentCue") == cc0 and integrity(master) == "ok"


@pytest.mark.parametrize("fake_app", ["rekordbox"], indirect=True)
def test_master_db_refused_while_rekordbox_runs(store: Path, master: Path, fake_app: subprocess.Popen[bytes]) -> None:
    sha0 = sha(master)
    r = invoke("writeback", "--rekordbox-db", master, "--store", store, "--target", "rekordbox-db", "--direct",
               code=1)
    (line,) = [x for x in r.output.splitlines() if "rekordbox is running" in x]
    assert line.startswith("error:") and sha(master) == sha0 and len(list(master.parent.iterdir())) == 1


# -- streaming entries -----------------------------------------------------------------------------


STREAMING_NML = """<?xml version="1.0" encoding="UTF-8" standalone="no" ?>
<NML VERSION="19"><HEAD COMPANY="www.native-instruments.com" PROGRAM="Traktor"></HEAD>
<COLLECTION ENTRIES="3">
<ENTRY TITLE="Local"><LOCATION DIR="/:M/:" FILE="a.mp3" VOLUME="C:" VOLUMEID="C:"></LOCATION></ENTRY>
<ENTRY TITLE="BP"><LOCATION DIR="/:" FILE="beatport:track:1234" VOLUME="beatport" VOLUMEID="beatport"></LOCATION>
<TEMPO BPM="126.000000" BPM_QUALITY="100.000000"></TEMPO></ENTRY>
<ENTRY TITLE="SC"><LOCATION DIR="/:" FILE="98765" VOLUME="soundcloud" VOLUMEID="soundcloud"></LOCATION></ENTRY>
</COLLECTION></NML>
"""


def test_streaming_entries_listed_counted_never_analysed(tmp_path: Path, master: Path) -> None:
    f = tmp_path / "streaming.nml"
    f.write_text(STREAMING_NML, encoding="utf-8")
    r = invoke("library", "--traktor-nml", f, "--json")
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert [(row["title"], row["exists"], row["streaming"]) for row in rows] == [
        ("Local", False, None), ("BP", False, "beatport"), ("SC", False, "soundcloud")]
    assert "3 tracks, 2 of them streaming (beatport 1, soundcloud 1)" in r.stderr
    r = invoke("library", "--traktor-nml", f)
    assert "2 of them streaming" in r.output and "beatport" in r.output
    r = invoke("scan", "--traktor-nml", f, "--store", tmp_path / "s.sqlite", code=1)
    assert r.output.count("not found") == 1 and "beatport" not in r.output  # only the local file is missing
    r = invoke("library", "--rekordbox-db", master, "--json")
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    (sc,) = [row for row in rows if row["streaming"]]
    assert sc["streaming"] == "soundcloud" and sc["exists"] is False and "1 of them streaming" in r.stderr


@pytest.mark.parametrize("when", ["before", "after"])
def test_master_db_crash_mid_run_then_undo(store: Path, master: Path, monkeypatch: pytest.MonkeyPatch,
                                           when: str) -> None:
    """Killed while the second track is being written, before or after its commit: the journal
    holds that track's planned rows, and undo puts the table back either way."""
    from djstruct.library import LibrarySource
    from djstruct.writeback import direct
    from djstruct.writeback.apply import WritebackConfig, run_writeback

    cues0 = table(master, "djmdCue")
    calls = {"n": 0}
    real = getattr(direct._DbJournal, when)

    def crash(self, content_id, *args):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if when == "before":
            real(self, content_id, *args)  # journaled ...
            if calls["n"] == 2:
                raise KeyboardInterrupt  # ... and killed before its commit
        else:
            if calls["n"] == 2:
                raise KeyboardInterrupt  # committed, killed before the journal heard of it
            real(self, content_id, *args)

    monkeypatch.setattr(direct._DbJournal, when, crash)
    cfg = WritebackConfig((LibrarySource("rekordbox-db", master),), False, store, "rekordbox-db", direct=True)
    with pytest.raises(KeyboardInterrupt):
        run_writeback(cfg)
    monkeypatch.undo()
    n_written = len(table(master, "djmdCue")) - len(cues0)
    assert n_written > 0 and integrity(master) == "ok"  # the first track (and, after its commit, the second)
    r = invoke("undo", "--store", store)
    assert "restored" in r.output and table(master, "djmdCue") == cues0 and integrity(master) == "ok"
