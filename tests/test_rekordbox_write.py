"""Rekordbox writers: XML export patched or built from tracks, and the refused master.db write."""

from __future__ import annotations

import os
import shutil
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

import djstruct.library.rekordbox.xml_write as rbx
from djstruct.errors import LibraryError, WritebackError
from djstruct.library.rekordbox import xml_format
from djstruct.library.rekordbox.xml import read_playlists, read_xml
from djstruct.library.rekordbox.xml_write import write_xml
from djstruct.types import Cue, GridMarker, LibraryGrid, Track

DATA = Path(__file__).parent / "data" / "rekordbox"
RB5_XML = DATA / "rekordbox 5" / "database.xml"
RB6 = DATA / "rekordbox 6"
RB6_XML = RB6 / "database.xml"

NEW_CUES = (
    Cue("hot", 12.3456, 0, None, "Drop & <run> \"it\" 'now'", "#28e214"),
    Cue("memory", 0.025),
    Cue("hot", 30.0, 3, 38.0, "Loop D", None),
    Cue("memory", 64.5, None, 72.5, "memory loop", "#ff0000"),
    Cue("hot", 96.0, 7, None, "Ünïcödé ’ H", "#0a0B0c"),
)

# A small hand-made export in rekordbox's layout, with a macOS and a Windows track, things we
# do not own (unknown attribute and element, a fade-in mark, a comment) and a loop.
MIXED_XML = """<?xml version="1.0" encoding="UTF-8"?>

<DJ_PLAYLISTS Version="1.0.0">
  <PRODUCT Name="rekordbox" Version="6.6.1" Company="AlphaTheta"/>
  <!-- a comment rekordbox never writes -->
  <COLLECTION Entries="3">
    <TRACK TrackID="11" Name="Tell Me" Artist="Kanine" Composer="" Album="" Grouping=""
           Kind="WAV File" TotalTime="250" AverageBpm="174.00" Custom="keep me"
           Location="file://localhost/Users/Conrad/Music/It%e2%80%99s%20%5bVIP%5d%20%26%20(Edit).wav">
      <TEMPO Inizio="0.104" Bpm="174.00" Metro="4/4" Battito="1"/>
      <POSITION_MARK Name="" Type="0" Start="22.173" Num="0" Red="40" Green="226"
                     Blue="20"/>
      <POSITION_MARK Name="in" Type="1" Start="1.000" Num="-1"/>
      <UNKNOWN_THING a="1"/>
      <POSITION_MARK Name="l" Type="4" Start="10.000" End="12.000" Num="-1"/>
    </TRACK>
    <TRACK TrackID="12" Name="Demo" Artist="" Composer="" Album="" Grouping="" Kind="Mp3-Datei "
           TotalTime="172" AverageBpm="128.00" Location="file://localhost/C:/Music/PioneerDJ/Demo%20Tracks/Demo%20Track%201.mp3"/>
    <TRACK TrackID="13" Name="Other" Artist="" Composer="" Album="" Grouping="" Kind="WAV File"
           TotalTime="10" AverageBpm="0.00" Location="file://localhost/Users/Conrad/Music/other.wav">
      <POSITION_MARK Name="" Type="0" Start="2.000" Num="-1"/>
    </TRACK>
  </COLLECTION>
  <PLAYLISTS>
    <NODE Type="0" Name="ROOT" Count="1">
      <NODE Name="P" Type="1" KeyType="0" Entries="2">
        <TRACK Key="11"/>
        <TRACK Key="12"/>
      </NODE>
    </NODE>
  </PLAYLISTS>
</DJ_PLAYLISTS>
""".replace("\n", "\r\n")


def _tree(elem: ET.Element) -> tuple[Any, ...]:
    """Element, ordered attributes and children (whitespace-only text ignored)."""
    text = (elem.text or "").strip()
    return (elem.tag, tuple(elem.attrib.items()), text, tuple(_tree(c) for c in elem))


def _without_marks(path: Path, track_ids: set[str]) -> tuple[Any, ...]:
    root = ET.parse(path).getroot()
    for track in root.iterfind("./COLLECTION/TRACK"):
        if track.get("TrackID") in track_ids:
            for mark in track.findall("POSITION_MARK"):
                if mark.get("Type") in ("0", "4"):
                    track.remove(mark)
    return _tree(root)


def _same_cues(got: tuple[Cue, ...] | list[Cue], want: tuple[Cue, ...] | list[Cue]) -> None:
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert (a.kind, a.slot, a.name) == (b.kind, b.slot, b.name)
        assert abs(a.start_s - b.start_s) <= 0.0005
        assert (a.end_s is None) == (b.end_s is None)
        assert a.end_s is None or abs(a.end_s - (b.end_s or 0)) <= 0.0005
        assert (a.color or "").lower() == (b.color or "").lower()


def _own(track: Track) -> list[Cue]:
    kinds = track.extras.get("mark_types", {})
    return [c for i, c in enumerate(track.cues) if kinds.get(i, "cue") in ("cue", "loop")]


@pytest.mark.parametrize("src", [RB5_XML, RB6_XML], ids=["rekordbox5", "rekordbox6"])
def test_unmodified_round_trip_is_byte_identical(tmp_path: Path, src: Path) -> None:
    base = tmp_path / "base.xml"
    shutil.copyfile(src, base)
    report = write_xml(tmp_path / "out.xml", {}, base_xml=base)
    assert (tmp_path / "out.xml").read_bytes() == src.read_bytes()
    assert _tree(ET.parse(tmp_path / "out.xml").getroot()) == _tree(ET.parse(src).getroot())
    assert (report.tracks_written, report.cues_written) == (0, 0)
    # every track rewritten with its own cues, or cleared and refilled: still rekordbox's bytes
    tracks = read_xml(base)
    write_xml(tmp_path / "same.xml", {t.id: t.cues for t in tracks}, base_xml=base)
    assert (tmp_path / "same.xml").read_bytes() == src.read_bytes()
    write_xml(tmp_path / "clear.xml", {t.id: () for t in tracks}, base_xml=base)
    assert all(not t.cues for t in read_xml(tmp_path / "clear.xml"))
    write_xml(tmp_path / "refill.xml", {t.id: t.cues for t in tracks}, base_xml=tmp_path / "clear.xml")
    assert (tmp_path / "refill.xml").read_bytes() == src.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.xml", "clear.xml", "out.xml", "refill.xml",
                                                          "same.xml"]  # no temp files left


def _juce_bytes(src: Path) -> bytes:
    """The whole file written again by the module's formatter (rekordbox's JUCE layout)."""

    def node(e: ET.Element) -> tuple[str, list[tuple[str, str]], list[Any]]:
        return (e.tag, list(e.attrib.items()), [node(c) for c in e])

    nl = "\r\n" if b"\r\n" in src.read_bytes()[:100] else "\n"
    body = xml_format.element(node(ET.parse(src).getroot()), "", nl, xml_format.WRAP_CHARS)
    return f'<?xml version="1.0" encoding="UTF-8"?>{nl}{nl}{body}{nl}'.encode()


@pytest.mark.parametrize("src", [RB5_XML, RB6_XML], ids=["rekordbox5", "rekordbox6"])
def test_formatter_reproduces_rekordbox_layout(src: Path) -> None:
    assert _juce_bytes(src) == src.read_bytes()


@pytest.mark.parametrize("src", [RB5_XML, RB6_XML, None], ids=["rekordbox5", "rekordbox6", "mixed"])
def test_replacing_two_tracks_keeps_everything_else(tmp_path: Path, src: Path | None) -> None:
    base = tmp_path / "base.xml"
    if src is None:
        base.write_bytes(MIXED_XML.encode("utf-8"))
    else:
        shutil.copyfile(src, base)
    before = read_xml(base)
    changed = {before[0].id: NEW_CUES, before[-1].id: NEW_CUES[1:3]}
    report = write_xml(tmp_path / "out.xml", changed, base_xml=base)
    assert (report.tracks_written, report.cues_written) == (2, 7)
    ids = {k.removeprefix("rbx:") for k in changed}
    assert _without_marks(tmp_path / "out.xml", ids) == _without_marks(base, ids)
    after = read_xml(tmp_path / "out.xml")
    assert [t.id for t in after] == [t.id for t in before]
    for old, new in zip(before, after, strict=True):
        assert new.extras["location"] == old.extras["location"]  # byte-exact URLs, mac and Windows
        assert new.path == old.path
        if new.id in changed:
            _same_cues(_own(new), list(changed[new.id]))
        else:
            assert new.cues == old.cues
    data, out = base.read_bytes(), (tmp_path / "out.xml").read_bytes()
    first = data.index(f'TrackID="{before[0].extras["xml_track_id"]}"'.encode())
    assert out[:first] == data[:first]
    if b"\r\n" in data:  # the input's line ends are kept (CRLF in rekordbox's own files)
        assert out.count(b"\r\n") == out.count(b"\n")
    else:
        assert b"\r" not in out


def test_mixed_export_keeps_foreign_marks_and_elements(tmp_path: Path) -> None:
    base = tmp_path / "base.xml"
    base.write_bytes(MIXED_XML.encode("utf-8"))
    write_xml(tmp_path / "out.xml", {"rbx:11": [Cue("memory", 5.0)], "rbx:12": [Cue("hot", 1.5, 2)],
                                     "rbx:13": []}, base_xml=base)
    text = (tmp_path / "out.xml").read_bytes().decode("utf-8")
    assert "<!-- a comment rekordbox never writes -->" in text
    assert '<POSITION_MARK Name="in" Type="1" Start="1.000" Num="-1"/>' in text  # fade-in kept
    assert '<UNKNOWN_THING a="1"/>' in text and 'Custom="keep me"' in text
    assert 'Start="22.173"' not in text and 'Type="4"' not in text
    track12 = '    <TRACK TrackID="12" Name="Demo" Artist="" Composer="" Album="" Grouping="" Kind="Mp3-Datei "\r\n'
    assert track12 + '           TotalTime="172"' in text  # the self-closing track got a body
    assert '.mp3">\r\n      <POSITION_MARK Name="" Type="0" Start="1.500" Num="2"/>\r\n    </TRACK>' in text
    assert 'other.wav"/>\r\n  </COLLECTION>' in text  # emptied track collapses like rekordbox
    by_id = {t.id: t for t in read_xml(tmp_path / "out.xml")}
    assert [c.start_s for c in by_id["rbx:11"].cues] == [5.0, 1.0]  # new marks where the old ones began
    assert by_id["rbx:13"].cues == ()


def test_minimal_xml_from_tracks(tmp_path: Path) -> None:
    grid = LibraryGrid((GridMarker(0.104, 174.0, 1), GridMarker(60.0, 175.0, 3)))
    tracks = [
        Track("folder:1", Path("/Users/dj/Music/It’s [VIP] & co #1.mp3"), "folder", 250.4, 174.0, grid,
              title='Tëst "q" <x>', artist="A'rt"),
        Track("rbdb:7", Path("C:/Music/PioneerDJ/Demo Tracks/Demo Track 1.mp3"), "rekordbox-db", 172.0, 128.0),
        Track("folder:3", Path("/Volumes/USB/no cues.flac"), "folder"),
    ]
    cues = {"folder:1": NEW_CUES, "rbdb:7": [Cue("memory", 0.025, None, None, "Intro\nline two")]}
    report = write_xml(tmp_path / "new.xml", cues, tracks=tracks)
    assert (report.tracks_written, report.cues_written) == (3, 6)
    assert report.xml_track_ids == {"folder:1": "1", "rbdb:7": "2", "folder:3": "3"}
    back = read_xml(tmp_path / "new.xml")
    assert [t.path for t in back] == [t.path for t in tracks]
    assert back[0].extras["location"] == "file://localhost/Users/dj/Music/It%e2%80%99s%20%5bVIP%5d%20%26%20co%20%231.mp3"
    assert back[1].extras["location"] == "file://localhost/C:/Music/PioneerDJ/Demo%20Tracks/Demo%20Track%201.mp3"
    _same_cues(back[0].cues, list(NEW_CUES))
    _same_cues(back[1].cues, cues["rbdb:7"])
    assert back[2].cues == () and back[2].title == "no cues"
    assert (back[0].title, back[0].artist, back[0].duration_s, back[0].bpm) == ('Tëst "q" <x>', "A'rt", 250, 174.0)
    assert back[0].grid == grid
    assert read_playlists(tmp_path / "new.xml") == {"djstruct": ["rbx:1", "rbx:2", "rbx:3"]}
    raw = (tmp_path / "new.xml").read_bytes()
    assert raw.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\r\n\r\n<DJ_PLAYLISTS Version="1.0.0">\r\n')
    assert b'<PRODUCT Name="djstruct"' in raw


def test_malformed_base_names_file_and_writes_nothing(tmp_path: Path) -> None:
    base = tmp_path / "broken.xml"
    base.write_bytes(RB5_XML.read_bytes()[:-200])
    with pytest.raises(LibraryError, match="broken.xml.*malformed or truncated"):
        write_xml(tmp_path / "out.xml", {}, base_xml=base)
    base.write_text('<?xml version="1.0"?><NOT_REKORDBOX/>')
    with pytest.raises(LibraryError, match="broken.xml.*DJ_PLAYLISTS"):
        write_xml(tmp_path / "out.xml", {}, base_xml=base)
    with pytest.raises(LibraryError, match="missing.xml"):
        write_xml(tmp_path / "out.xml", {}, base_xml=tmp_path / "missing.xml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.xml"]


def test_refusals_leave_files_alone(tmp_path: Path) -> None:
    base = tmp_path / "base.xml"
    shutil.copyfile(RB5_XML, base)
    with pytest.raises(WritebackError, match="based on"):
        write_xml(base, {}, base_xml=base)
    with pytest.raises(WritebackError, match="rbx:999"):
        write_xml(tmp_path / "out.xml", {"rbx:999": [Cue("memory", 1.0)]}, base_xml=base)
    bad = [[Cue("hot", 1.0, 8)], [Cue("hot", 1.0, 1), Cue("hot", 2.0, 1)], [Cue("memory", 3.0, None, 3.0)],
           [Cue("memory", 1.0, None, None, "", "red")], [Cue("memory", -1.0)], [Cue("memory", 1.0, 2)],
           [Cue("memory", 1.0, None, None, "bell\x07")]]
    for cues in bad:
        with pytest.raises(WritebackError):
            write_xml(tmp_path / "out.xml", {"rbx:5": cues}, base_xml=base)
    with pytest.raises(WritebackError, match="not in tracks"):
        write_xml(tmp_path / "out.xml", {"folder:x": []}, tracks=[])
    with pytest.raises(WritebackError, match="no rekordbox Location"):
        write_xml(tmp_path / "out.xml", {}, tracks=[Track("folder:r", Path("relative.mp3"), "folder")])
    assert base.read_bytes() == RB5_XML.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.xml"]


def test_read_only_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):  # root ignores the mode: make the OS refuse instead
            def refuse(*args: Any, **kwargs: Any) -> int:
                raise PermissionError(13, "Permission denied")

            monkeypatch.setattr(Path, "write_bytes", refuse)
        with pytest.raises(WritebackError, match="ro/out.xml: cannot write: Permission denied"):
            write_xml(folder / "out.xml", {}, base_xml=RB5_XML)
    finally:
        folder.chmod(0o755)
    assert list(folder.iterdir()) == []


def test_verification_failure_keeps_previous_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out.xml"
    out.write_text("previous")
    real_read = rbx.read_xml

    def shifted(path: Path) -> list[Track]:
        tracks = real_read(path)
        return [Track(t.id, t.path, t.source, cues=tuple(Cue(c.kind, c.start_s + 0.01, c.slot, c.end_s, c.name, c.color)
                                                         for c in t.cues)) for t in tracks]

    monkeypatch.setattr(rbx, "read_xml", shifted)
    with pytest.raises(WritebackError, match=r"out\.xml: track rbx:5 does not read back"):
        write_xml(out, {"rbx:5": [Cue("memory", 1.0)]}, base_xml=RB5_XML)
    assert out.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.xml"]


def test_real_export(tmp_path: Path, shared_fixtures: Path) -> None:
    src = shared_fixtures / "rekuebox" / "rekordbox.xml"  # not licensed: read in place, never copied
    if not src.is_file():
        pytest.skip(f"{src} is not present")
    t0 = time.perf_counter()
    before = read_xml(src)
    t_read = time.perf_counter() - t0
    assert len(before) == 2018
    picked = before[::202][:10]
    assert len(picked) == 10 and any(t.cues for t in picked) and any(not t.cues for t in picked)
    changed = {t.id: NEW_CUES[: 1 + i % len(NEW_CUES)] for i, t in enumerate(picked)}
    t0 = time.perf_counter()
    report = write_xml(tmp_path / "out.xml", changed, base_xml=src)
    t_write = time.perf_counter() - t0
    after = read_xml(tmp_path / "out.xml")
    assert len(after) == 2018 and report.tracks_written == 10
    delta = sum(len(c) for c in changed.values()) - sum(len(t.cues) for t in picked)
    assert sum(len(t.cues) for t in after) - sum(len(t.cues) for t in before) == delta
    for old, new in zip(before, after, strict=True):
        assert (new.id, new.extras["location"]) == (old.id, old.extras["location"])
        if new.id in changed:
            _same_cues(new.cues, list(changed[new.id]))
        else:
            assert new.cues == old.cues
    ids = {k.removeprefix("rbx:") for k in changed}
    assert _without_marks(tmp_path / "out.xml", ids) == _without_marks(src, ids)
    assert _juce_bytes(src) == src.read_bytes()  # every element of the export in rekordbox's layout
    t0 = time.perf_counter()
    write_xml(tmp_path / "same.xml", {t.id: t.cues for t in before}, base_xml=src)
    t_all = time.perf_counter() - t0
    assert (tmp_path / "same.xml").read_bytes() == src.read_bytes()
    print(f"\nreal export ({src.stat().st_size / 1e6:.1f} MB, 2018 tracks): read_xml {t_read:.2f} s, "
          f"write 10 tracks + verify {t_write:.2f} s, rewrite all 2018 tracks + verify {t_all:.2f} s")
