"""Traktor collection.nml: reading real collections, bad input, streaming entries, locations."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from djstruct.errors import LibraryError
from djstruct.library.traktor import read_nml, read_playlists
from djstruct.library.traktor.locations import location_to_path, primary_key, streaming_kind
from djstruct.types import Track

DATA = Path(__file__).parent / "data" / "traktor"
HISTORY = DATA / "history.nml"
NATIVE = DATA / "collection_indexing.nml"

ENTRY = ('<ENTRY TITLE="{title}" ARTIST="A"><LOCATION DIR="/:Music/:" FILE="{file}" VOLUME="{volume}" '
         'VOLUMEID="{volume}"></LOCATION>\n<INFO PLAYTIME="300"></INFO>\n<TEMPO BPM="{bpm}"></TEMPO>\n{cues}</ENTRY>\n')
CUE = ('<CUE_V2 NAME="{name}" DISPL_ORDER="0" TYPE="{type}" START="{start}" LEN="{len}" REPEATS="-1" '
       'HOTCUE="{hot}"></CUE_V2>\n')


def nml(entries: str, extra: str = "") -> str:
    return ('<?xml version="1.0" encoding="UTF-8" standalone="no" ?>\n<NML VERSION="19"><HEAD COMPANY="x" '
            f'PROGRAM="Traktor"></HEAD>\n<COLLECTION ENTRIES="9">{entries}</COLLECTION>\n{extra}</NML>\n')


def tracks(items: list[Track | LibraryError]) -> list[Track]:
    return [t for t in items if isinstance(t, Track)]


def test_history_fixture_counts() -> None:
    items = read_nml(HISTORY)
    ts = tracks(items)
    assert len(items) == len(ts) == 151
    cues = [c for t in ts for c in t.cues]
    grids = [t for t in ts if t.grid is not None]
    assert len(grids) == 150
    loops = [c for c in cues if c.is_loop]
    assert len(loops) == 8
    grid_slots = sum(1 for t in ts for v in t.extras.get("mark_types", {}).values() if v == "grid")
    assert grid_slots == 150  # every AutoGrid here sits on hot cue 1 (HOTCUE="0") or 2
    plain = [c for t in ts for i, c in enumerate(t.cues) if i not in t.extras.get("mark_types", {})]
    assert len(plain) == 6 + 8 and all(c.kind == "hot" for c in plain)
    first = ts[0]
    assert first.id == ("nml:osx/:Users/:johndoe/:Music/:pechundschwefel/:"
                        "8065021_La_Luna_feat__Toto_La_Momposina_Original_Mix.mp3")
    assert first.bpm == pytest.approx(124.999985)
    assert first.duration_s == pytest.approx(419.604889)
    assert first.grid is not None and first.grid.first_beat_s == pytest.approx(0.052341659)
    assert first.grid.bpm == pytest.approx(124.999985)
    loop = next(c for t in ts for c in t.cues if c.is_loop and c.start_s == pytest.approx(77.103255837))
    assert loop.end_s == pytest.approx(77.103255837 + 3.809518965) and loop.slot == 1 and loop.name == ""
    assert first.path == Path("/Volumes/osx/Users/johndoe/Music/pechundschwefel") / first.extras["file"]
    assert not first.exists and first.extras["volume_mounted"] is False


def test_playlists_and_native_layout() -> None:
    playlists = read_playlists(HISTORY)
    assert list(playlists) == ["HISTORY"]
    ids = {t.id for t in tracks(read_nml(HISTORY))}
    assert playlists["HISTORY"] and set(playlists["HISTORY"]) <= ids
    native = tracks(read_nml(NATIVE))
    assert len(native) == 1 and native[0].cues == () and native[0].grid is None
    assert native[0].duration_s == 441 and native[0].title == "Strong Survive"
    assert read_playlists(NATIVE) == {"_LOOPS": [], "_RECORDINGS": []}


def test_locations_windows_mac_and_volume_roots(tmp_path: Path) -> None:
    assert location_to_path("C:", "/:Users/:dj/:Music/:", "a.mp3") == Path("C:/Users/dj/Music/a.mp3")
    assert location_to_path("d:", "/:", "b.flac") == Path("D:/b.flac")
    assert location_to_path("Macintosh HD", "/:Users/:dj/:", "c.mp3") == Path("/Volumes/Macintosh HD/Users/dj/c.mp3")
    (tmp_path / "Music").mkdir()
    (tmp_path / "Music" / "a.mp3").write_bytes(b"x")
    path = location_to_path("MyUSB", "/:Music/:", "a.mp3", volume_roots={"MyUSB": tmp_path})
    assert path == tmp_path / "Music" / "a.mp3" and path.is_file()
    assert primary_key("C:", "/:Music/:", "a.mp3") == "C:/:Music/:a.mp3"
    f = tmp_path / "c.nml"
    f.write_text(nml(ENTRY.format(title="T", file="a.mp3", volume="MyUSB", bpm="128", cues="")), encoding="utf-8")
    (t,) = tracks(read_nml(f, volume_roots={"MyUSB": str(tmp_path)}))
    assert t.exists and t.extras["volume_mounted"]
    (missing,) = tracks(read_nml(f))  # the volume is not mounted here: listed, reported missing
    assert not missing.exists and missing.extras["volume_mounted"] is False


def test_streaming_entries(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert streaming_kind("beatport:", "beatport:", "/:", "12345") == "beatport"
    assert streaming_kind("C:", "", "/:", "soundcloud:tracks:99") == "soundcloud"
    assert streaming_kind("Beatport", "x", "/:Music/:", "track.mp3") is None  # a drive named Beatport
    assert streaming_kind("Beatport", "x", "/:", "12345") == "beatport"
    assert streaming_kind("Macintosh HD", "x", "/:Music/:Beatport/:", "a.mp3") is None
    body = (ENTRY.format(title="Local", file="a.mp3", volume="C:", bpm="128", cues="")
            + ENTRY.format(title="Streamed", file="12345", volume="beatport:", bpm="126", cues=""))
    f = tmp_path / "s.nml"
    f.write_text(nml(body), encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="djstruct.library.traktor.nml"):
        default = tracks(read_nml(f))
    assert [t.title for t in default] == ["Local"]
    assert sum("1 streaming entries" in r.getMessage() for r in caplog.records) == 1
    listed = tracks(read_nml(f, include_streaming=True))
    streamed = listed[1]
    assert streamed.extras["streaming"] == "beatport" and not streamed.exists
    assert streamed.to_dict()["exists"] is False


def test_bad_input_is_reported_and_the_rest_read(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cues = (CUE.format(name="ok", type=0, start="1000.0", len="0", hot=0)
            + CUE.format(name="nan", type=0, start="nan", len="0", hot=1)
            + CUE.format(name="inf", type=0, start="inf", len="0", hot=2)
            + CUE.format(name="neg", type=0, start="-5", len="0", hot=3)
            + CUE.format(name="huge", type=0, start="1e300", len="0", hot=4)
            + CUE.format(name="text", type=0, start="abc", len="0", hot=5)
            + CUE.format(name="badslot", type=0, start="100", len="0", hot="x")
            + CUE.format(name="loop0", type=5, start="2000", len="0", hot=-1))
    body = (ENTRY.format(title="Good", file="a.mp3", volume="C:", bpm="inf", cues=cues)
            + '<ENTRY TITLE="Broken"><INFO PLAYTIME="3"></INFO>\n</ENTRY>\n'
            + '<FUTURE_THING X="1"><CHILD/></FUTURE_THING>'
            + ENTRY.format(title="Also good", file="b.mp3", volume="C:", bpm="-3", cues=""))
    f = tmp_path / "bad.nml"
    f.write_text(nml(body, extra="<NEWSECTION A='b'/>\n"), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        items = read_nml(f)
    assert [type(x).__name__ for x in items] == ["Track", "LibraryError", "Track"]
    err = items[1]
    assert isinstance(err, LibraryError) and "ENTRY 2 (Broken" in str(err) and "\n" not in str(err)
    good = items[0]
    assert isinstance(good, Track)
    assert good.bpm is None and good.grid is None
    assert [(c.name, c.start_s, c.end_s) for c in good.cues] == [("ok", 1.0, None), ("loop0", 2.0, None)]
    warned = " ".join(r.getMessage() for r in caplog.records)
    for word in ("'nan'", "'inf'", "'-5'", "'1e300'", "'abc'", "HOTCUE='x'"):
        assert word in warned


@pytest.mark.parametrize("text, reason", [
    ("<NML VERSION='19'><COLLECTION><ENTRY>", "malformed or truncated NML"),
    ("<DJ_PLAYLISTS/>", "root element is <DJ_PLAYLISTS>"),
    ("<NML VERSION='19'></NML>", "no <COLLECTION>"),
    ("", "malformed or truncated NML"),
])
def test_unreadable_files_raise_one_line(tmp_path: Path, text: str, reason: str) -> None:
    f = tmp_path / "x.nml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(LibraryError, match=reason) as info:
        read_nml(f)
    assert str(f) in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(LibraryError, match="cannot read"):
        read_nml(tmp_path / "missing.nml")


def test_grid_marker_takes_bpm_from_its_grid_child(tmp_path: Path) -> None:
    cues = ('<CUE_V2 NAME="Beat Marker" DISPL_ORDER="0" TYPE="4" START="500" LEN="0" REPEATS="-1" HOTCUE="-1">'
            '<GRID BPM="100.5"></GRID>\n</CUE_V2>\n'
            + CUE.format(name="AutoGrid", type=4, start="30500", len="0", hot=-1))
    f = tmp_path / "g.nml"
    f.write_text(nml(ENTRY.format(title="G", file="g.mp3", volume="C:", bpm="128", cues=cues)), encoding="utf-8")
    (t,) = tracks(read_nml(f))
    assert t.grid is not None
    assert [(m.start_s, m.bpm) for m in t.grid.markers] == [(0.5, 100.5), (30.5, 128.0)]
    assert t.cues == ()  # grid markers without a hot cue slot are not cues


def test_copy_of_fixture_is_read_the_same(tmp_path: Path) -> None:
    copy = tmp_path / "collection.nml"
    shutil.copy(HISTORY, copy)
    assert [t.to_dict() for t in tracks(read_nml(copy))] == [t.to_dict() for t in tracks(read_nml(HISTORY))]
