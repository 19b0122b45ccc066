"""Traktor collection.nml writes: byte-exact round trips on the real fixtures, add/remove/undo,
nothing of the DJ's touched, bad input, refusal while Traktor runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from djstruct.errors import WritebackError
from djstruct.library.traktor import (
    NmlWriteRecord,
    compare_nml,
    plan_nml,
    read_nml,
    traktor_pid,
    undo_nml,
    write_nml,
)
from djstruct.types import Cue, Track

DATA = Path(__file__).parent / "data" / "traktor"
FIXTURES = ["history.nml", "collection_indexing.nml"]


def copy(tmp_path: Path, name: str) -> Path:
    dst = tmp_path / name
    shutil.copy(DATA / name, dst)
    os.chmod(dst, 0o644)
    return dst


def tracks(path: Path) -> list[Track]:
    return [t for t in read_nml(path) if isinstance(t, Track)]


def planned(track: Track) -> list[Cue]:
    used = {c.slot for c in track.cues if c.kind == "hot"}
    free = [s for s in range(8) if s not in used]
    return [Cue("hot", 30.0, free[0], None, "Drop 1"), Cue("memory", 12.25, None, None, 'Intro & "more" <x>'),
            Cue("hot", 60.0, free[1], 64.0, "")]


@pytest.mark.parametrize("name", FIXTURES)
def test_unchanged_write_is_byte_identical(tmp_path: Path, name: str) -> None:
    path = copy(tmp_path, name)
    original = path.read_bytes()
    plan = plan_nml(path, {})
    assert plan.data == original and not plan.changed
    record = write_nml(path, {}, check_running=False)
    assert path.read_bytes() == original
    assert record.backup is not None and Path(record.backup).read_bytes() == original


@pytest.mark.parametrize("name", FIXTURES)
def test_add_keeps_every_element_and_undo_restores_bytes(tmp_path: Path, name: str) -> None:
    path = copy(tmp_path, name)
    original = path.read_bytes()
    before = tracks(path)
    add = {t.id: planned(t) for t in before}
    record = write_nml(path, add, check_running=False)
    assert len(record.added) == 3 * len(before) and not record.failed
    cmp = compare_nml(original, path.read_bytes(), record.added)
    assert cmp.lost == 0 and cmp.unexpected == 0 and not cmp.reordered
    assert cmp.elements > 0 and cmp.attributes > 0
    after = {t.id: t for t in tracks(path)}
    for t in before:  # the DJ's cues and the grid are as they were; ours follow them
        got = after[t.id]
        assert got.grid == t.grid and got.cues[:len(t.cues)] == t.cues
        assert [(c.kind, c.slot, c.start_s, c.end_s, c.name) for c in got.cues[len(t.cues):]] == [
            (c.kind, c.slot, c.start_s, c.end_s, c.name) for c in add[t.id]]
    # the record survives the journal's JSON
    again = NmlWriteRecord.from_dict(record.to_dict())
    result = undo_nml(again, check_running=False)
    assert result.removed == 3 * len(before) and not result.missing
    assert path.read_bytes() == original


def test_layout_follows_the_file(tmp_path: Path) -> None:
    native = copy(tmp_path, "collection_indexing.nml")
    (t,) = tracks(native)
    write_nml(native, {t.id: [Cue("hot", 1.0, 0, None, "A")]}, check_running=False)
    assert (b'</INFO>\n<CUE_V2 NAME="A" DISPL_ORDER="0" TYPE="0" START="1000.000000" LEN="0.000000" '
            b'REPEATS="-1" HOTCUE="0"></CUE_V2>\n</ENTRY>') in native.read_bytes()
    indented = copy(tmp_path, "history.nml")
    first = tracks(indented)[0]
    write_nml(indented, {first.id: [Cue("memory", 1.0, None, None, "")]}, check_running=False)
    assert (b'TYPE="4" START="52.341659" LEN="0.000000" REPEATS="-1" HOTCUE="0"/>\n      <CUE_V2 NAME="n.n." '
            b'DISPL_ORDER="0" TYPE="0" START="1000.000000" LEN="0.000000" REPEATS="-1" HOTCUE="-1"/>\n    </ENTRY>'
            ) in indented.read_bytes()


def test_taken_slot_unknown_track_and_bad_cues_fail_alone(tmp_path: Path) -> None:
    path = copy(tmp_path, "history.nml")
    ts = tracks(path)
    grid_on_a = ts[0]  # its AutoGrid marker is filed under hot cue 1 (slot 0)
    ok = ts[1]
    add = {grid_on_a.id: [Cue("hot", 10.0, 0, None, "x")], ok.id: [Cue("hot", 10.0, 5, None, "y")],
           "nml:nowhere/:x.mp3": [Cue("memory", 1.0)], ts[2].id: [Cue("hot", float("nan"), 6)],
           ts[3].id: [Cue("hot", 5.0, 9)], ts[4].id: [Cue("memory", 5.0, None, 4.0)]}
    record = write_nml(path, add, check_running=False)
    failed = dict(record.failed)
    assert set(failed) == set(add) - {ok.id}
    assert "slot 0 is already used" in failed[grid_on_a.id]
    assert "not in the collection" in failed["nml:nowhere/:x.mp3"]
    assert [c.track_id for c in record.added] == [ok.id]
    after = {t.id: t for t in tracks(path)}
    assert after[grid_on_a.id].cues == grid_on_a.cues


def test_replace_own_then_undo_puts_the_old_cues_back(tmp_path: Path) -> None:
    path = copy(tmp_path, "collection_indexing.nml")
    original = path.read_bytes()
    (t,) = tracks(path)
    first = write_nml(path, {t.id: [Cue("hot", 10.0, 0, None, "Drop"), Cue("memory", 20.0, None, None, "Break")]},
                      check_running=False)
    second = write_nml(path, {t.id: [Cue("hot", 12.0, 0, None, "Drop")]},
                       remove={t.id: [Cue("hot", 10.0, 0, None, "Drop"), Cue("memory", 20.0, None, None, "Break")]},
                       check_running=False)
    assert len(second.removed) == 2 and len(second.added) == 1
    assert [(c.start_s, c.name) for c in tracks(path)[0].cues] == [(12.0, "Drop")]
    undo_nml(second, check_running=False)
    assert sorted((c.start_s, c.name) for c in tracks(path)[0].cues) == [(10.0, "Drop"), (20.0, "Break")]
    undo_nml(first, check_running=False)
    assert tracks(path)[0].cues == () and compare_nml(original, path.read_bytes()).lost == 0


def test_undo_keeps_what_the_dj_did_since(tmp_path: Path) -> None:
    path = copy(tmp_path, "history.nml")
    ts = tracks(path)
    a, b = ts[5], ts[6]
    record = write_nml(path, {a.id: [Cue("hot", 40.0, 5, None, "Mine")], b.id: [Cue("hot", 50.0, 6, None, "Mine")]},
                       check_running=False)
    data = path.read_bytes()
    # the DJ (in Traktor) moves our cue on b, renames a track and adds a cue of their own
    data = data.replace(b'START="50000.000000"', b'START="51000.000000"')
    data = data.replace(b'TITLE="' + a.title.encode() + b'"', b'TITLE="Renamed by the DJ"', 1)
    path.write_bytes(data)
    djs = write_nml(path, {a.id: [Cue("memory", 70.0, None, None, "DJ cue")]}, check_running=False)
    assert djs.added
    result = undo_nml(record, check_running=False)
    assert result.removed == 1 and len(result.missing) == 1 and "Mine at 50.000" in result.missing[0]
    after = {t.id: t for t in tracks(path)}
    assert after[a.id].title == "Renamed by the DJ"
    assert [c.name for c in after[a.id].cues][-1] == "DJ cue" and "Mine" not in [c.name for c in after[a.id].cues]
    assert any(c.name == "Mine" and c.start_s == 51.0 for c in after[b.id].cues)  # moved: theirs now


def test_new_output_file_and_whole_file_restore(tmp_path: Path) -> None:
    src = copy(tmp_path, "history.nml")
    out = tmp_path / "out.nml"
    t = tracks(src)[0]
    record = write_nml(src, {t.id: [Cue("memory", 3.0)]}, out=out, check_running=False)
    assert src.read_bytes() == (DATA / "history.nml").read_bytes() and record.backup is None
    assert out.read_bytes() != src.read_bytes()
    with pytest.raises(WritebackError, match="no backup"):
        undo_nml(record, restore_backup=True, check_running=False)
    in_place = write_nml(src, {t.id: [Cue("memory", 3.0)]}, check_running=False)
    src.write_bytes(src.read_bytes() + b"\n")  # changed since: the whole-file restore would lose that
    with pytest.raises(WritebackError, match="changed since"):
        undo_nml(in_place, restore_backup=True, check_running=False)


@pytest.fixture()
def fake_traktor(tmp_path: Path):  # type: ignore[no-untyped-def]
    exe = tmp_path / "Traktor Pro 3"
    shutil.copy("/bin/sleep", exe)
    proc = subprocess.Popen([str(exe), "30"])
    try:
        for _ in range(50):
            if traktor_pid():
                break
            time.sleep(0.05)
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_refused_while_traktor_runs(tmp_path: Path, fake_traktor: subprocess.Popen[bytes]) -> None:
    path = copy(tmp_path, "collection_indexing.nml")
    original = path.read_bytes()
    assert traktor_pid() == fake_traktor.pid
    (t,) = tracks(path)
    with pytest.raises(WritebackError, match="Traktor is running") as info:
        write_nml(path, {t.id: [Cue("memory", 1.0)]})
    assert "\n" not in str(info.value) and path.read_bytes() == original
    assert plan_nml(path, {t.id: [Cue("memory", 1.0)]}).changed  # a dry run is still fine


def test_unknown_elements_broken_entries_and_bad_numbers_are_copied_through(tmp_path: Path) -> None:
    text = ('<?xml version="1.0" encoding="UTF-8" standalone="no" ?>\n<NML VERSION="19"><HEAD></HEAD>\n'
            '<COLLECTION ENTRIES="3"><ENTRY TITLE="Good" NEW_ATTR="kept"><LOCATION DIR="/:M/:" FILE="a.mp3" '
            'VOLUME="C:"></LOCATION>\n<STEMS FUTURE="1"><PART/></STEMS>\n'
            '<CUE_V2 NAME="bad" DISPL_ORDER="0" TYPE="0" START="nan" LEN="0" REPEATS="-1" HOTCUE="2"></CUE_V2>\n'
            '<!-- a comment -->\n</ENTRY>\n<ENTRY TITLE="Broken"><INFO PLAYTIME="1"></INFO>\n</ENTRY>\n'
            '<FUTURE_THING X="1"><CHILD/></FUTURE_THING></COLLECTION>\n<NEWSECTION A="b"></NEWSECTION>\n</NML>\n')
    path = tmp_path / "collection.nml"
    path.write_text(text, encoding="utf-8")
    original = path.read_bytes()
    good = tracks(path)[0]
    record = write_nml(path, {good.id: [Cue("hot", 5.0, 3, None, "New")]}, check_running=False)
    new = path.read_bytes()
    assert len(record.added) == 1
    cmp = compare_nml(original, new, record.added)
    assert cmp.lost == 0 and cmp.unexpected == 0 and cmp.elements == 13  # NML HEAD COLLECTION ENTRY LOCATION
    # STEMS PART CUE_V2 ENTRY INFO FUTURE_THING CHILD NEWSECTION
    for piece in (b'NEW_ATTR="kept"', b'<STEMS FUTURE="1"><PART/></STEMS>', b'START="nan"', b"<!-- a comment -->",
                  b'<ENTRY TITLE="Broken">', b'<FUTURE_THING X="1"><CHILD/></FUTURE_THING>', b'<NEWSECTION A="b">'):
        assert piece in new
    # the slot of the unreadable cue (HOTCUE 2) still counts as taken
    second = write_nml(path, {good.id: [Cue("hot", 9.0, 2, None, "x")]}, check_running=False)
    assert second.failed and "slot 2" in second.failed[0][1]
    undo_nml(record, check_running=False)
    assert path.read_bytes() == original
