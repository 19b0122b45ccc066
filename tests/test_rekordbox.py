"""Rekordbox readers: Location URLs, XML exports, ANLZ files and master.db (read-only)."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import struct
from pathlib import Path, PureWindowsPath

import numpy as np
import pytest

from djstruct.errors import LibraryError
from djstruct.library.rekordbox.anlz import (
    PHRASE_KINDS,
    find_anlz,
    grid_from_beats,
    phrases_from_pssi,
    read_anlz,
    read_anlz_files,
    resolve_analysis_path,
)
from djstruct.library.rekordbox.db import default_db_path, read_db
from djstruct.library.rekordbox.locations import (
    is_absolute_location_path,
    location_style,
    location_to_path,
    path_to_location,
)
from djstruct.library.rekordbox.xml import read_playlists, read_xml
from djstruct.types import SECTION_LABELS, Cue

DATA = Path(__file__).parent / "data" / "rekordbox"
RB5_XML = DATA / "rekordbox 5" / "database.xml"
RB6 = DATA / "rekordbox 6"
SHARE = RB6 / "backup" / "share" / "PIONEER" / "USBANLZ"
DEMO1 = SHARE / "e35" / "fa187-3f34-47e2-9880-2b33cb8d1304"  # Demo Track 1, plain PSSI
DEMO2 = SHARE / "36d" / "ad2b4-5d4e-4b94-9a5d-a5bb241aee4b"  # Demo Track 2
NOISE = SHARE / "c8b" / "ac74a-bbfc-4fce-8fb8-50aa4e974273"  # one-shot, empty grid
EXPORT_DEMO1 = DATA / "export" / "PIONEER" / "USBANLZ" / "P016" / "0000875E"  # masked PSSI
REKUEBOX = Path(__file__).parents[1] / ".." / "shared" / "fixtures" / "real" / "rekuebox" / "rekordbox.xml"


@pytest.mark.parametrize("url, path", [
    ("file://localhost/Users/dj/Music/a%20b.mp3", "/Users/dj/Music/a b.mp3"),
    ("file://localhost/Users/dj/Now%20It%e2%80%99s%20%5b1%5d%20%26%20%27x%27.wav",
     "/Users/dj/Now It\u2019s [1] & 'x'.wav"),
    ("file://localhost/Users/dj/%2523%20100%25%20%23.mp3", "/Users/dj/%23 100% #.mp3"),
    ("file://localhost/Users/dj/(Mix)%20-%20a,b;c+d!$@.flac", "/Users/dj/(Mix) - a,b;c+d!$@.flac"),
    ("file://localhost/C:/Music/PioneerDJ/Demo%20Tracks/Demo%20Track%201.mp3",
     "C:/Music/PioneerDJ/Demo Tracks/Demo Track 1.mp3"),
])
def test_location_round_trip(url: str, path: str) -> None:
    p = location_to_path(url)
    assert str(p) == str(Path(path))
    assert path_to_location(p) == url
    assert is_absolute_location_path(p)


def test_windows_location_keeps_drive() -> None:
    url = "file://localhost/C:/Music/x%20y.mp3"
    p = location_to_path(url)
    assert location_style(url) == "windows"
    assert PureWindowsPath(str(p)).drive == "C:"
    assert path_to_location(PureWindowsPath(r"C:\Music\x y.mp3")) == url
    assert path_to_location("C:\\Music\\x y.mp3", style="windows") == url
    assert path_to_location("/Users/a\\b.mp3") == "file://localhost/Users/a%5cb.mp3"
    assert path_to_location(PureWindowsPath("/Users/a b.mp3")) == "file://localhost/Users/a%20b.mp3"


def test_location_edge_cases() -> None:
    assert location_to_path("file:///Users/x/a.mp3") == Path("/Users/x/a.mp3")
    assert location_to_path("file://localhost/Users/x/%C3%A9.mp3") == Path("/Users/x/\u00e9.mp3")
    assert str(location_to_path("file://nas/share/a%20b.mp3")) == str(Path("//nas/share/a b.mp3"))
    assert path_to_location(location_to_path("file://nas/share/a%20b.mp3")) == "file://nas/share/a%20b.mp3"
    bad_utf8 = "file://localhost/Users/x/bad%ff.mp3"  # not UTF-8: kept as a surrogate escape
    assert path_to_location(location_to_path(bad_utf8)) == bad_utf8
    for url in ("http://x/a.mp3", "tidal:tracks:1", "file://localhost"):
        with pytest.raises(ValueError):
            location_to_path(url)
    with pytest.raises(ValueError):
        path_to_location("Music/relative.mp3")


@pytest.mark.parametrize("xml", [RB5_XML, RB6 / "database.xml"])
def test_fixture_locations_round_trip(xml: Path) -> None:
    for t in read_xml(xml):
        assert path_to_location(t.path) == t.extras["location"]
        assert is_absolute_location_path(t.path)
        assert str(t.path).startswith("C:/Music/PioneerDJ/")


def test_read_xml_rekordbox5() -> None:
    tracks = read_xml(RB5_XML)
    assert [t.id for t in tracks] == [f"rbx:{i}" for i in range(1, 7)]
    assert all(t.source == "rekordbox-xml" for t in tracks)
    noise, demo1, demo2 = tracks[0], tracks[4], tracks[5]
    assert (noise.title, noise.duration_s, noise.bpm, noise.grid, noise.cues) == ("NOISE", 5.0, None, None, ())
    assert (demo1.title, demo1.artist, demo1.duration_s, demo1.bpm) == ("Demo Track 1", "Loopmasters", 172.0, 128.0)
    assert demo1.grid is not None and demo1.grid.markers[0].start_s == 0.025
    assert demo1.grid.bpm == 128.0 and demo1.grid.markers[0].beat_in_bar == 1
    assert [c.start_s for c in demo1.cues] == [0.025, 15.025, 30.025, 45.025]
    assert all(c.kind == "memory" and c.slot is None and c.color is None for c in demo1.cues)
    assert demo2.grid is not None and len(demo2.grid.markers) == 10
    assert [m.beat_in_bar for m in demo2.grid.markers[1:6]] == [1, 2, 3, 4, 1]
    assert demo1.extras["location"] == "file://localhost/C:/Music/PioneerDJ/Demo%20Tracks/Demo%20Track%201.mp3"


def test_read_xml_rekordbox6_and_playlists() -> None:
    tracks = read_xml(RB6 / "database.xml")
    assert len(tracks) == 6 and tracks[0].id == "rbx:253529738"
    assert sum(len(t.cues) for t in tracks) == 0
    assert tracks[0].extras["kind"] == "Mp3-Datei"
    assert read_playlists(RB6 / "database.xml") == {"Trial playlist - Cloud Library Sync": []}
    assert read_playlists(RB5_XML) == {"Folder/Sub Playlist": ["rbx:5", "rbx:6"], "Playlist1": ["rbx:5", "rbx:6"]}


SYNTHETIC_XML = """<?xml version="1.0" encoding="UTF-8"?>
<DJ_PLAYLISTS Version="1.0.0">
  <PRODUCT Name="rekordbox" Version="6.8.0" Company="AlphaTheta"/>
  <COLLECTION Entries="3">
    <TRACK TrackID="7" Name="A &amp; B" Artist="X" TotalTime="300" AverageBpm="174.00"
           Location="file://localhost/Users/dj/%23%20100%25.mp3">
      <TEMPO Inizio="0.1" Bpm="174.00" Metro="4/4" Battito="0"/>
      <TEMPO Inizio="oops" Bpm="174.00" Metro="4/4" Battito="1"/>
      <POSITION_MARK Name="Drop" Type="0" Start="44.3" Num="3" Red="255" Green="0" Blue="16"/>
      <POSITION_MARK Name="" Type="4" Start="10.0" End="12.5" Num="-1"/>
      <POSITION_MARK Name="" Type="0" Num="-1"/>
    </TRACK>
    <TRACK TrackID="8" Name="stream" Location="tidal:tracks:123"/>
    <TRACK TrackID="9" Name="C" TotalTime="0" AverageBpm="0.00" Location="file://localhost/Users/dj/c.wav"/>
  </COLLECTION>
  <PLAYLISTS>
    <NODE Type="0" Name="ROOT" Count="3">
      <NODE Name="Set" Type="1" KeyType="1" Entries="2">
        <TRACK Key="file://localhost/Users/dj/c.wav"/><TRACK Key="file://localhost/nowhere.mp3"/>
      </NODE>
      <NODE Name="Set" Type="1" KeyType="0" Entries="1"><TRACK Key="7"/></NODE>
      <NODE Name="F" Type="0" Count="1"><NODE Name="G" Type="0" Count="1">
        <NODE Name="Deep" Type="1" KeyType="0" Entries="2"><TRACK Key="9"/><TRACK Key="7"/></NODE>
      </NODE></NODE>
    </NODE>
  </PLAYLISTS>
</DJ_PLAYLISTS>
"""


def test_read_xml_synthetic(tmp_path: Path) -> None:
    xml = tmp_path / "lib.xml"
    xml.write_text(SYNTHETIC_XML, encoding="utf-8")
    tracks = read_xml(xml)
    assert [t.id for t in tracks] == ["rbx:7", "rbx:9"]  # the streaming track has no file
    t = tracks[0]
    assert t.title == "A & B" and t.path == Path("/Users/dj/# 100%.mp3")
    assert t.grid is not None and t.grid.markers == (t.grid.markers[0],)  # bad TEMPO skipped
    assert t.grid.markers[0].beat_in_bar == 4  # Battito 0 reads as 4
    assert t.cues == (Cue("hot", 44.3, 3, None, "Drop", "#ff0010"), Cue("memory", 10.0, None, 12.5))
    assert t.extras["mark_types"] == {1: "loop"}
    assert (tracks[1].duration_s, tracks[1].bpm) == (None, None)
    assert read_playlists(xml) == {"Set": ["rbx:9"], "Set (2)": ["rbx:7"], "F/G/Deep": ["rbx:9", "rbx:7"]}


def _one_line_error(path: Path) -> str:
    with pytest.raises(LibraryError) as info:
        read_xml(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    return message


def test_read_xml_errors(tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.xml"
    truncated.write_bytes(RB5_XML.read_bytes()[:2000])
    assert "line" in _one_line_error(truncated) and "column" in _one_line_error(truncated)
    garbage = tmp_path / "garbage.xml"
    garbage.write_bytes(bytes(range(256)) * 4)
    assert "malformed or truncated XML" in _one_line_error(garbage)
    wrong_root = tmp_path / "nml.xml"
    wrong_root.write_text('<?xml version="1.0"?><NML VERSION="19"><COLLECTION/></NML>')
    assert "root element is <NML>" in _one_line_error(wrong_root)
    no_collection = tmp_path / "empty_export.xml"
    no_collection.write_text('<?xml version="1.0"?><DJ_PLAYLISTS Version="1.0.0"/>')
    assert "no <COLLECTION>" in _one_line_error(no_collection)
    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"")
    _one_line_error(empty)
    _one_line_error(tmp_path / "missing.xml")
    with pytest.raises(LibraryError):
        read_playlists(truncated)


@pytest.mark.skipif(not REKUEBOX.is_file(), reason="private rekuebox export not present (../shared)")
def test_rekuebox_export_counts() -> None:  # its read time is measured in benchmarks/, not here
    tracks = read_xml(REKUEBOX)
    cues = [c for t in tracks for c in t.cues]
    assert len(tracks) == 2018
    assert len(cues) == 8928
    assert sum(c.kind == "hot" for c in cues) == 370 and sum(c.kind == "memory" for c in cues) == 8558
    assert sum(c.color is not None for c in cues) == 370
    assert all(c.slot is not None and 0 <= c.slot <= 7 for c in cues if c.kind == "hot")
    assert sum(len(t.grid.markers) for t in tracks if t.grid is not None) == 6557
    assert len({t.id for t in tracks}) == 2018
    for t in tracks:
        assert t.path.is_absolute() and is_absolute_location_path(t.path)
        assert path_to_location(t.path) == t.extras["location"]
    playlists = read_playlists(REKUEBOX)
    ids = {t.id for t in tracks}
    assert len(playlists) == 21 and all(i in ids for v in playlists.values() for i in v)


def test_masked_and_plain_pssi_give_the_same_phrases() -> None:
    ext = (EXPORT_DEMO1 / "ANLZ0000.EXT").read_bytes()
    pos = ext.index(b"PSSI")
    assert not 1 <= struct.unpack(">H", ext[pos + 18:pos + 20])[0] <= 3  # really XOR-masked
    masked, plain = read_anlz(EXPORT_DEMO1), read_anlz(DEMO1 / "ANLZ0000.DAT")
    assert masked.phrases is not None and len(masked.phrases) == 19
    assert masked.phrases == plain.phrases and masked.mood == plain.mood == "mid"
    assert [p.source_label for p in plain.phrases[:3]] == ["Chorus", "Verse 1", "Verse 1"]
    assert plain.phrases[0].start_s == 0.025 and plain.phrase_end_s == pytest.approx(165.025)
    assert plain.audio_path == "?/Demo Track 1.mp3"
    assert masked.audio_path == "/Contents/Loopmasters/UnknownAlbum/Demo Track 1.mp3"
    assert plain.grid is not None and plain.grid.markers == masked.grid.markers  # type: ignore[union-attr]


def test_demo_track2_grid_and_phrases() -> None:
    data = read_anlz(DEMO2)
    assert data.grid is not None and len(data.grid.markers) == 1 and data.grid.bpm == 120.0
    beats, bars = data.grid.beats(130.0)
    pqtz = np.asarray(data.beat_times_s)
    assert len(pqtz) == 257 and np.max(np.abs(beats[:257] - pqtz)) <= 0.002
    from pyrekordbox.anlz import AnlzFile  # our numpy PQTZ decoding == pyrekordbox's
    assert np.array_equal(AnlzFile.parse_file(DEMO2 / "ANLZ0000.DAT").get_tag("PQTZ").get()[2], pqtz)
    assert bars[0] == 1
    assert data.phrases is not None
    assert [p.label for p in data.phrases] == ["intro", "drop", "drop", "drop", "drop", "buildup",
                                               "buildup", "drop", "drop", "drop", "outro"]
    assert data.phrases[-1].source_label == "Outro" and data.phrases[-1].start_s == pytest.approx(110.026)


def test_phrase_tables_use_our_labels() -> None:
    labels = {label for table in PHRASE_KINDS.values() for _, label in table.values()}
    assert labels == set(SECTION_LABELS)
    times, bpms = np.array([0.5, 1.0, 1.5]), np.array([120.0] * 3)
    out = phrases_from_pssi(1, [(3, 2), (1, 1), (2, 4), (9, 5)], times, bpms)
    assert [(p.start_s, p.label, p.source_label) for p in out] == [
        (0.5, "intro", "Intro"), (1.5, "buildup", "Up"), (4.5, "drop", "Chorus")]  # kind 4 skipped


def test_empty_grid_and_find_anlz(tmp_path: Path) -> None:
    data = read_anlz(NOISE)
    assert (data.grid, data.phrases, data.cues, data.beat_times_s) == (None, None, (), ())
    assert set(find_anlz(DEMO1)) == {"DAT", "EXT"} == set(find_anlz(DEMO1 / "ANLZ0000.EXT"))
    with pytest.raises(LibraryError):
        read_anlz(tmp_path)
    assert resolve_analysis_path(tmp_path, "/PIONEER/USBANLZ/64f/x/ANLZ0000.DAT") == \
        tmp_path / "PIONEER" / "USBANLZ" / "64f" / "x" / "ANLZ0000.DAT"


def test_grid_merging_splits_on_tempo_bar_and_drift() -> None:
    t = [0.5 * k for k in range(8)]                     # 120 BPM
    t += [t[-1] + 0.48 * (k + 1) for k in range(4)]     # 125 BPM from beat 8 (t = 3.98)
    t += [t[-1] + 0.48 + 0.01]                          # a 10 ms jump at beat 12
    bpm = [120.0] * 8 + [125.0] * 5
    bars = [1, 2, 3, 4] + [3, 4, 1, 2] + [3, 4, 1, 2] + [3]  # the bar phase jumps at beat 4
    grid = grid_from_beats(np.array(bars), np.array(bpm), np.array(t))
    assert grid is not None
    assert [(round(m.start_s, 3), m.bpm, m.beat_in_bar) for m in grid.markers] == [
        (0.0, 120.0, 1), (2.0, 120.0, 3), (3.98, 125.0, 3), (5.91, 125.0, 3)]
    beats, _ = grid.beats(6.0)  # every input beat is reproduced within the 2 ms tolerance
    assert np.max(np.min(np.abs(beats[:, None] - np.array(t)[None, :]), axis=0)) <= 0.002
    assert grid_from_beats(np.zeros(0, int), np.zeros(0), np.zeros(0)) is None


def _pcp2(hot: int, kind: int, ms: int, loop_ms: int, comment: str, rgb: tuple[int, int, int]) -> bytes:
    text = (comment + "\x00").encode("utf-16-be")
    len_entry = 48 + len(text) + 4
    return (b"PCP2" + struct.pack(">III", 16, len_entry, hot) + bytes([kind]) + b"\x00\x03\xe8"
            + struct.pack(">II", ms, loop_ms) + bytes([0]) + bytes(7) + struct.pack(">HHI", 0, 0, len(text))
            + text + bytes([1, *rgb]) + bytes(4))


def _pcpt(hot: int, kind: int, ms: int, loop_ms: int) -> bytes:
    return (b"PCPT" + struct.pack(">IIIII", 28, 56, hot, 0, 0x10000) + struct.pack(">HH", 0xFFFF, 1)
            + bytes([kind, 0]) + struct.pack(">HII", 1000, ms, loop_ms) + bytes(16))


def _anlz(tags: list[bytes]) -> bytes:
    body = b"".join(tags)
    return b"PMAI" + struct.pack(">II", 28, 28 + len(body)) + bytes(16) + body


def test_cues_from_pco2_and_pcob(tmp_path: Path) -> None:
    hot2 = [_pcp2(1, 1, 1500, 0xFFFFFFFF, "Drop", (255, 0, 16)), _pcp2(2, 2, 10000, 12000, "", (0, 0, 0))]
    mem2 = [_pcp2(0, 1, 3250, 0xFFFFFFFF, "", (0, 0, 0))]
    pco2 = [b"PCO2" + struct.pack(">III", 20, 20 + sum(map(len, es)), typ) + struct.pack(">HH", len(es), 0)
            + b"".join(es) for typ, es in ((1, hot2), (0, mem2))]
    pcpt = [_pcpt(0, 1, 3250, 0xFFFFFFFF), _pcpt(0, 1, 64000, 0xFFFFFFFF)]
    pcob = b"PCOB" + struct.pack(">IIIHHi", 24, 24 + 56 * len(pcpt), 0, 0, len(pcpt), -1) + b"".join(pcpt)
    ext = tmp_path / "ANLZ0000.EXT"
    ext.write_bytes(_anlz([*pco2, pcob]))
    data = read_anlz_files(ext=ext)
    assert data.cues == (
        Cue("hot", 1.5, 0, None, "Drop", "#ff0010"),
        Cue("memory", 3.25),
        Cue("hot", 10.0, 1, 12.0),
        Cue("memory", 64.0),
    )
    assert data.grid is None and data.phrases is None


def test_bad_anlz_files(tmp_path: Path) -> None:
    good = (DEMO1 / "ANLZ0000.DAT").read_bytes()
    cases = {"trunc": good[:3000], "garbage": b"\x00" * 100, "empty": b"", "badtag": good[:28] + b"PQTZ" + bytes(8)}
    for name, data in cases.items():
        path = tmp_path / name / "ANLZ0000.DAT"
        path.parent.mkdir()
        path.write_bytes(data)
        with pytest.raises(LibraryError) as info:
            read_anlz(path)
        assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_default_db_path() -> None:
    home = Path("/home/dj")
    assert default_db_path(system="Darwin", home=home) == home / "Library/Pioneer/rekordbox/master.db"
    win = default_db_path(system="Windows", home=home, environ={"APPDATA": "C:/Users/dj/AppData/Roaming"})
    assert win == Path("C:/Users/dj/AppData/Roaming/Pioneer/rekordbox/master.db")
    with pytest.raises(LibraryError, match="does not run on Linux"):
        default_db_path(system="Linux", home=home)


def _snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    return {str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_read_db_locked_and_unlocked_without_touching_files() -> None:
    before = _snapshot(RB6)
    locked = read_db(RB6 / "master_locked.db", share_dir=RB6 / "backup" / "share")
    unlocked = read_db(RB6 / "master_unlocked.db", with_analysis=False)
    assert _snapshot(RB6) == before  # same files, same bytes, same mtimes: no -wal/-shm/-journal
    assert locked == unlocked
    assert len(locked) == 6 and all(t.source == "rekordbox-db" and t.id.startswith("rbdb:") for t in locked)
    demo1 = next(t for t in locked if t.title == "Demo Track 1")
    assert (demo1.id, demo1.artist, demo1.bpm, demo1.duration_s) == ("rbdb:178162577", "Loopmasters", 128.0, 172.0)
    assert str(demo1.path) == "C:/Users/dylan/Music/PioneerDJ/Demo Tracks/Demo Track 1.mp3"
    assert demo1.cues == () and demo1.grid is None  # the fixture's ANLZ folders are for other ids
    assert "anlz_error" in demo1.extras
    assert sorted(t.bpm or 0 for t in locked) == [0, 0, 0, 0, 120.0, 128.0]


def _library(tmp_path: Path, db: str = "master_unlocked.db") -> Path:
    """A rekordbox folder: master.db + share/ with Demo Track 1's analysis where the db expects it."""
    shutil.copyfile(RB6 / db, tmp_path / "master.db")
    anlz_dir = tmp_path / "share" / "PIONEER" / "USBANLZ" / "64f" / "53c1a-c8b4-4658-a7a8-7182a6d1ff03"
    anlz_dir.mkdir(parents=True)
    for ext in ("DAT", "EXT"):
        shutil.copyfile(DEMO1 / f"ANLZ0000.{ext}", anlz_dir / f"ANLZ0000.{ext}")
    return tmp_path / "master.db"


def test_read_db_with_analysis_and_cues(tmp_path: Path) -> None:
    db = _library(tmp_path)
    conn = sqlite3.connect(db)
    rows = [("c1", 0, 1000, -1, ""), ("c2", 1, 2000, -1, "A"), ("c3", 5, 3000, -1, "D"),
            ("c4", 9, 4000, 8000, "H loop"), ("c5", 0, 500, 1500, "mem loop")]
    conn.executemany("INSERT INTO djmdCue (ID, ContentID, Kind, InMsec, OutMsec, Comment, rb_local_deleted,"
                     " UUID, rb_data_status, rb_local_data_status, rb_local_synced, created_at, updated_at)"
                     " VALUES (?, '178162577', ?, ?, ?, ?, 0, ?, 0, 0, 0, '', '')",
                     [(*r, r[0]) for r in rows])
    conn.execute("INSERT INTO djmdCue (ID, ContentID, Kind, InMsec, rb_local_deleted, created_at, updated_at)"
                 " VALUES ('c6', '178162577', 2, 5000, 1, '', '')")  # deleted in rekordbox: ignored
    conn.commit()
    conn.close()
    before = _snapshot(tmp_path)
    tracks = {t.title: t for t in read_db(db)}
    assert _snapshot(tmp_path) == before
    demo1 = tracks["Demo Track 1"]
    assert demo1.cues == (Cue("memory", 0.5, None, 1.5, "mem loop"), Cue("memory", 1.0), Cue("hot", 2.0, 0, None, "A"),
                          Cue("hot", 3.0, 3, None, "D"), Cue("hot", 4.0, 7, 8.0, "H loop"))
    assert demo1.grid is not None and demo1.grid.bpm == 128.0
    assert demo1.phrases == read_anlz(DEMO1).phrases and demo1.extras["phrase_mood"] == "mid"
    assert tracks["Demo Track 2"].grid is None
    moved = tmp_path / "elsewhere"
    shutil.move(tmp_path / "share", moved)
    assert next(t for t in read_db(db, share_dir=moved) if t.title == "Demo Track 1").phrases == demo1.phrases
    (tmp_path / "enc").mkdir()  # the encrypted original, given as the rekordbox folder
    enc = {t.title: t for t in read_db(_library(tmp_path / "enc", "master_locked.db").parent)}
    assert enc["Demo Track 1"].phrases == demo1.phrases and enc["Demo Track 1"].cues == ()


def test_read_db_while_rekordbox_writes_a_wal(tmp_path: Path) -> None:
    db = _library(tmp_path)
    writer = sqlite3.connect(db)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("UPDATE djmdContent SET Title = 'Renamed' WHERE ID = '66382436'")
    writer.commit()  # the change now lives only in master.db-wal, as while rekordbox runs
    try:
        before = _snapshot(tmp_path)
        assert {"master.db-wal", "master.db-shm"} <= set(before)
        titles = {t.title for t in read_db(db)}
        assert _snapshot(tmp_path) == before
        assert "Renamed" in titles and "Demo Track 2" not in titles
    finally:
        writer.close()


def test_read_db_errors(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database" * 200)
    plain = tmp_path / "other.db"
    sqlite3.connect(plain).execute("CREATE TABLE t (x)").connection.close()
    cases = [(tmp_path / "missing.db", None), (garbage, None), (RB6 / "master_locked.db", "402fd-wrong"),
             (plain, None)]
    for path, key in cases:
        with pytest.raises(LibraryError) as info:
            read_db(path, key=key, with_analysis=False)
        assert "\n" not in str(info.value) and str(info.value).startswith(str(path))
