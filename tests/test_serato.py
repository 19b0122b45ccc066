"""Serato tags, crates and folder reading, against real Serato data (tests/data/serato)."""

from __future__ import annotations

import builtins
import hashlib
import io
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from djstruct.errors import LibraryError, TagError
from djstruct.library.serato import beatgrid as bgc
from djstruct.library.serato import crates as sc
from djstruct.library.serato import legacy as lg
from djstruct.library.serato import markers as sm
from djstruct.library.serato.folder import read_folder, track_id
from djstruct.library.serato.read import grid_from_beatgrid, read_serato_tags
from djstruct.library.serato.tags import FLAC_KEYS, MP4_KEYS, OGG_KEYS
from djstruct.types import Track

DATA = Path(__file__).parent / "data" / "serato"
TAGS = DATA / "serato-tags" / "data"
TOOLS = DATA / "serato-tools" / "test" / "data"
FRENCH = DATA / "triseratops/tests/data/library/usb_drive/_Serato_/Subcrates/French House.crate"
CONTAINERS = ("id3", "aif", "flac", "mp4", "ogg")
PAYLOADS = sorted(p for c in CONTAINERS for p in (TAGS / c).glob("*/*.octet-stream"))


def _name(path: Path) -> str:
    return path.name.removesuffix(".octet-stream")


def _payload(path: Path) -> bytes:
    """The bare payload of a fixture (envelope removed for FLAC/MP4)."""
    raw = path.read_bytes()
    container = path.parent.parent.name
    return sm.decode_envelope(raw, _name(path)).payload if container in ("flac", "mp4") else raw


# --- codecs: byte-exact round trips -----------------------------------------------------------


def test_every_container_has_payloads() -> None:
    found = {p.parent.parent.name for p in PAYLOADS}
    assert found == set(CONTAINERS)
    assert len(PAYLOADS) == 48


@pytest.mark.parametrize("path", PAYLOADS, ids=lambda p: "/".join(p.parts[-3:]))
def test_payload_round_trip(path: Path) -> None:
    raw = path.read_bytes()
    container, name = path.parent.parent.name, _name(path)
    if container in ("flac", "mp4"):
        env = sm.decode_envelope(raw, name)
        assert env.style.verbatim is None  # rebuilt from the layout, not copied
        assert sm.encode_envelope(env) == raw
        raw = env.payload
    if container == "ogg":
        parse, dump = {
            "serato_markers2": (sm.parse_markers2_ogg, sm.dump_markers2),
            "serato_markers": (lg.parse_markers_ogg, lg.dump_markers_ogg),
            "serato_beatgrid": (bgc.parse_beatgrid_ogg, bgc.dump_beatgrid_ogg),
        }[name]
        assert dump(parse(raw)) == raw
    elif name == "Serato Markers2":
        m = sm.parse_markers2(raw)
        assert m.style.verbatim is None
        assert sm.dump_markers2(m) == raw
        assert sm.dump_markers2(sm.replace_cues(m, sm.markers2_cues(m))) == raw
    elif name == "Serato Markers_":
        m_ = lg.parse_markers_(raw, "mp4" if container == "mp4" else "id3")
        assert lg.dump_markers_(m_) == raw
        assert lg.dump_markers_(lg.legacy_replace_cues(m_, lg.legacy_cues(m_))) == raw
    else:
        assert bgc.dump_beatgrid(bgc.parse_beatgrid(raw)) == raw


def test_mp4_decoded_fixtures_match_our_envelope_decoding() -> None:
    # The repository author padded the junk last character, which adds at most one byte.
    pairs = [(d, TAGS / "mp4" / d.parent.name / d.name) for d in (TAGS / "mp4-decoded").glob("*/*.octet-stream")]
    pairs = [(d, m) for d, m in pairs if m.exists()]  # mp4-decoded/bpmlock has no raw counterpart
    assert len(pairs) == 6
    for decoded, raw in sorted(pairs):
        ours = _payload(raw)
        theirs = decoded.read_bytes()
        assert theirs.startswith(ours) and len(theirs) - len(ours) <= 1, decoded


def test_fresh_encoders_reproduce_serato_bytes() -> None:
    flac = TAGS / "flac/analyzed/Serato Markers2.octet-stream"
    env = sm.decode_envelope(flac.read_bytes())
    assert sm.encode_envelope(sm.Envelope(env.name, env.payload)) == flac.read_bytes()
    # Markers2 written from scratch: Serato's own floor(4n/3) base64 and NUL padding to 470 bytes.
    for case in ("hotcue-colors", "saved-loops", "analyzed"):
        raw = (TAGS / "id3" / case / "Serato Markers2.octet-stream").read_bytes()
        m = sm.parse_markers2(raw)
        fresh = sm.Markers2(m.entries, trailer=b"\x00")
        assert sm.dump_markers2(fresh) == raw, case
    for case in ("hotcue-colors", "saved-loops"):  # Markers_ rebuilt from the Markers2 cues
        legacy = lg.parse_markers_(_payload(TAGS / "id3" / case / "Serato Markers_.octet-stream"))
        cues = sm.markers2_cues(sm.parse_markers2(_payload(TAGS / "id3" / case / "Serato Markers2.octet-stream")))
        blank = lg.legacy_replace_cues(legacy, [])
        assert lg.dump_markers_(lg.legacy_replace_cues(blank, cues)) == lg.dump_markers_(legacy)


# --- codecs: known values ---------------------------------------------------------------------


def test_hotcues_and_loops_known_values() -> None:
    m2 = sm.parse_markers2(_payload(TAGS / "mp4/hotcues-and-loops/Serato Markers2.octet-stream"))
    cues = sm.markers2_cues(m2)
    assert [(c.index, c.position_ms, c.color, c.name) for c in cues] == [
        (0, 254, "#cc0000", "Start"),
        (1, 21124, "#cc8800", "After Intro"),
        (3, 125472, "#cccc00", "Break"),
        (4, 158863, "#00cc00", ""),
        (5, 58689, "#cc00cc", ""),
        (7, 213124, "#8800cc", "End"),
    ]
    loops = sm.markers2_loops(m2)
    assert [(lp.index, lp.start_ms, lp.end_ms, lp.locked, lp.name) for lp in loops] == [
        (0, 254, 2341, False, ""),
        (2, 100428, 108776, False, "Electric Guitar"),
        (3, 75385, 79559, True, "Locked loop"),
    ]
    assert {lp.color for lp in loops} == {"#27aae1"}
    legacy = lg.parse_markers_(_payload(TAGS / "mp4/hotcues-and-loops/Serato Markers_.octet-stream"), "mp4")
    assert [(c.index, c.position_ms) for c in lg.legacy_cues(legacy)] == [
        (0, 254),
        (1, 21124),
        (3, 125472),
        (4, 158863),
    ]
    assert [(lp.index, lp.start_ms, lp.end_ms) for lp in lg.legacy_loops(legacy)] == [
        (0, 254, 2341),
        (2, 100428, 108776),
        (3, 75385, 79559),
    ]


def test_id3_payloads_agree_with_serato_tools() -> None:
    from serato_tools.track_beatgrid import TrackBeatgrid
    from serato_tools.track_cues_v1 import TrackCuesV1
    from serato_tools.track_cues_v2 import TrackCuesV2

    for case in sorted((TAGS / "id3").iterdir()):
        raw2 = (case / "Serato Markers2.octet-stream").read_bytes()
        theirs = TrackCuesV2(raw2).entries
        m2 = sm.parse_markers2(raw2)
        assert [e.NAME or "UNKNOWN" for e in theirs] == [e.kind for e in m2.entries]
        t_cues = [(e.index, e.position, "#" + e.color.hex(), e.name) for e in theirs if e.NAME == "CUE"]
        assert t_cues == [(c.index, c.position_ms, c.color, c.name) for c in sm.markers2_cues(m2)]
        t_loops = [(e.index, e.startposition, e.endposition, e.locked, e.name) for e in theirs if e.NAME == "LOOP"]
        ours = [(lp.index, lp.start_ms, lp.end_ms, lp.locked, lp.name) for lp in sm.markers2_loops(m2)]
        assert t_loops == ours
        raw1 = (case / "Serato Markers_.octet-stream").read_bytes()
        v1 = [e for e in TrackCuesV1(raw1).entries if type(e) is TrackCuesV1.Entry]
        legacy = lg.parse_markers_(raw1)
        assert [(e.start_position, e.end_position, "#" + e.color.hex(), int(e.type)) for e in v1] == [
            (e.start_ms, e.end_ms, e.color, e.kind) for e in legacy.entries
        ]
        bg_raw = (case / "Serato BeatGrid.octet-stream").read_bytes()
        terminal = [e for e in TrackBeatgrid(bg_raw).entries if type(e).__name__ == "TerminalBeatgridMarker"]
        bg = bgc.parse_beatgrid(bg_raw)
        assert (bg.markers[-1].position_s, bg.markers[-1].bpm) == (terminal[0].position, terminal[0].bpm)
    colors = sm.markers2_cues(sm.parse_markers2(_payload(TAGS / "id3/hotcue-colors/Serato Markers2.octet-stream")))
    assert [c.color for c in colors] == [
        "#cc0000",
        "#cc8800",
        "#0000cc",
        "#cccc00",
        "#00cc00",
        "#cc00cc",
        "#00cccc",
        "#8800cc",
    ]


def test_colour_and_bpmlock_in_every_container() -> None:
    for c in ("flac", "mp4"):
        m2 = sm.parse_markers2(_payload(TAGS / c / "track-color-993333/Serato Markers2.octet-stream"))
        assert sm.markers2_color(m2) == "#ff9999"
    ogg = TAGS / "ogg/track-color-993333"
    assert sm.markers2_color(sm.parse_markers2_ogg((ogg / "serato_markers2.octet-stream").read_bytes())) == "#ff9999"
    assert lg.parse_markers_ogg((ogg / "serato_markers.octet-stream").read_bytes()).track_color == "#ff9999"
    for p in ("id3/bpmlock-enabled/Serato Markers2", "flac/bpmlock/Serato Markers2", "ogg/bpmlock/serato_markers2"):
        path = TAGS / (p + ".octet-stream")
        m = sm.parse_markers2_ogg(path.read_bytes()) if "ogg" in p else sm.parse_markers2(_payload(path))
        assert sm.markers2_bpm_locked(m) is True
    assert (
        sm.markers2_bpm_locked(sm.parse_markers2(_payload(TAGS / "id3/analyzed/Serato Markers2.octet-stream"))) is False
    )


def test_replace_cues_keeps_other_entries_byte_identical() -> None:
    from serato_tools.track_cues_v2 import TrackCuesV2

    m2 = sm.parse_markers2(_payload(TAGS / "mp4/hotcues-and-loops/Serato Markers2.octet-stream"))
    new = [sm.SeratoCue(2, 61000, "#0000cc", "Drop é"), sm.SeratoCue(0, 1500, "#cc0000", "Intro")]
    out = sm.dump_markers2(sm.replace_cues(m2, new))
    back = sm.parse_markers2(out)
    assert [e for e in back.entries if e.name != "CUE"] == [e for e in m2.entries if e.name != "CUE"]
    assert [e.name for e in back.entries][:3] == ["COLOR", "CUE", "CUE"]
    assert sm.markers2_cues(back) == sorted(new, key=lambda c: c.index)
    assert len(out) == len(sm.dump_markers2(m2))  # same padded size
    theirs = TrackCuesV2(out).entries
    assert [(e.index, e.position, e.name) for e in theirs if e.NAME == "CUE"] == [
        (0, 1500, "Intro"),
        (2, 61000, "Drop é"),
    ]


def test_beatgrid_conversion() -> None:
    bg = bgc.parse_beatgrid((TAGS / "id3/analyzed/Serato BeatGrid.octet-stream").read_bytes())
    grid = grid_from_beatgrid(bg)
    assert grid is not None and len(grid.markers) == 1
    assert grid.bpm == 115.0 and grid.first_beat_s == pytest.approx(0.30499, abs=1e-5)
    assert grid.markers[0].beat_in_bar == 1
    multi = bgc.SeratoBeatGrid((bgc.BeatGridMarker(0.5, beats_till_next=8), bgc.BeatGridMarker(4.5, bpm=128.0)))
    again = bgc.parse_beatgrid(bgc.dump_beatgrid(multi))
    assert again == multi
    g = grid_from_beatgrid(again)
    assert g is not None and [(m.start_s, m.bpm) for m in g.markers] == [(0.5, 120.0), (4.5, 128.0)]
    ogg = bgc.parse_beatgrid_ogg((TAGS / "ogg/analyzed/serato_beatgrid.octet-stream").read_bytes())
    assert grid_from_beatgrid(ogg) is None  # Serato wrote an all-zero grid into the OGG file


@pytest.mark.parametrize(
    "call",
    [
        lambda: sm.parse_markers2(b"\x01\x01!!!not base64!!!\x00"),
        lambda: sm.parse_markers2(b"\x02\x01AQE\x00"),
        lambda: sm.parse_markers2(b"\x01\x01" + __import__("base64").b64encode(b"\x01\x01CUE\x00\x00\x00\x00\xff")),
        lambda: bgc.parse_beatgrid(b"\x01\x00\x00\x00\x00\x05\x00"),
        lambda: lg.parse_markers_(b"\x02\x05\x00\x00\x00\x0e"),
        lambda: sm.decode_envelope(b"Zm9vYmFy"),
        lambda: lg.parse_markers_ogg(b"hello"),
        lambda: bgc.parse_beatgrid_ogg(b"0000zz"),
    ],
)
def test_garbage_payloads_raise_tag_error(call: Callable[[], object]) -> None:
    with pytest.raises(TagError):
        call()


# --- real audio files of every container ------------------------------------------------------


def _make_audio(folder: Path) -> dict[str, Path]:
    import av
    import soundfile as sf

    sr = 44100
    tone = (0.1 * np.sin(2 * np.pi * 440 * np.arange(sr // 2) / sr)).astype(np.float32)
    files: dict[str, Path] = {}
    for ext, fmt in (("mp3", "MP3"), ("aiff", "AIFF"), ("wav", "WAV"), ("flac", "FLAC"), ("ogg", "OGG")):
        files[ext] = folder / f"tone.{ext}"
        sf.write(files[ext], tone, sr, format=fmt)
    files["m4a"] = folder / "tone.m4a"
    with av.open(str(files["m4a"]), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=sr)
        stream.layout = "mono"
        for i in range(0, len(tone), 1024):
            frame = av.AudioFrame.from_ndarray(tone[None, i : i + 1024], format="flt", layout="mono")
            frame.sample_rate = sr
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return files


def _embed(path: Path, container: str, values: dict[str, bytes]) -> None:
    """Write Serato values into ``path`` with mutagen (what Serato would have done)."""
    from mutagen.aiff import AIFF
    from mutagen.flac import FLAC
    from mutagen.id3 import GEOB, ID3
    from mutagen.mp4 import MP4, MP4FreeForm
    from mutagen.oggvorbis import OggVorbis
    from mutagen.wave import WAVE

    if container == "id3":
        if path.suffix == ".mp3":
            tags = ID3()
        else:
            f = (AIFF if path.suffix == ".aiff" else WAVE)(path)
            f.add_tags()
            tags = f.tags
        for name, data in values.items():
            tags.add(GEOB(encoding=0, mime="application/octet-stream", filename="", desc=name, data=data))
        tags.save(path) if path.suffix == ".mp3" else f.save()
        return
    f = {"flac": FLAC, "mp4": MP4, "ogg": OggVorbis}[container](path)
    if f.tags is None:
        f.add_tags()
    keys = {"flac": FLAC_KEYS, "mp4": MP4_KEYS, "ogg": OGG_KEYS}[container]
    for name, data in values.items():
        f.tags[keys[name]] = [MP4FreeForm(data)] if container == "mp4" else [data.decode("ascii")]
    f.save()


def _values(case: Path) -> dict[str, bytes]:
    names = {
        "serato_markers2": "Serato Markers2",
        "serato_markers": "Serato Markers_",
        "serato_beatgrid": "Serato BeatGrid",
    }
    return {names.get(_name(p), _name(p)): p.read_bytes() for p in sorted(case.glob("*.octet-stream"))}


CASES = {
    "mp3": ("id3", TAGS / "id3/hotcue-colors"),
    "aiff": ("id3", TAGS / "aif/analyzed"),
    "wav": ("id3", TAGS / "id3/very-long-names"),
    "flac": ("flac", TAGS / "flac/bpmlock"),
    "m4a": ("mp4", TAGS / "mp4/hotcues-and-loops"),
    "ogg": ("ogg", TAGS / "ogg/track-color-993333"),
}


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    files = _make_audio(tmp_path_factory.mktemp("audio"))
    for ext, (container, case) in CASES.items():
        _embed(files[ext], container, _values(case))
    return files


def _digest(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


@pytest.mark.parametrize("ext", list(CASES))
def test_read_serato_tags_from_real_files(tagged: dict[str, Path], ext: str) -> None:
    path = tagged[ext]
    before = _digest(path)
    tags = read_serato_tags(path)
    assert _digest(path) == before  # read-only
    container, case = CASES[ext]
    assert tags.container == container
    assert tags.raw == _values(case)
    hot, loops = tags.hot_cues, tags.loops
    if ext == "mp3":
        assert [(c.slot, c.start_s, c.color) for c in hot][:2] == [(0, 0.0, "#cc0000"), (1, 0.0, "#cc8800")]
        assert len(hot) == 8 and not loops and tags.color == "#ffffff"
    elif ext == "wav":
        assert [c.name for c in hot] == [ch * 50 for ch in "ABCDEFGH"]
        assert [len(c.name) for c in loops] == [5000] * 7 + [32747]
        assert all(c.kind == "memory" and c.slot is None and (c.start_s, c.end_s) == (0.0, 2.086) for c in loops)
    elif ext == "m4a":
        assert [(c.slot, c.start_s, c.name) for c in hot][:2] == [(0, 0.254, "Start"), (1, 21.124, "After Intro")]
        assert [(c.start_s, c.end_s, c.name) for c in loops] == [
            (0.254, 2.341, ""),
            (75.385, 79.559, "Locked loop"),
            (100.428, 108.776, "Electric Guitar"),
        ]
    elif ext == "flac":
        assert tags.bpm_locked and tags.cues == ()
    elif ext == "ogg":  # OGG placeholders (black 0 ms cues, 0-0 ms loops) are dropped
        assert tags.cues == () and tags.color == "#ff9999" and tags.grid is None
    if ext != "ogg":
        assert tags.grid is not None and tags.grid.bpm == 115.0


def test_mp3_agrees_with_serato_tools_file_reader(tagged: dict[str, Path]) -> None:
    from serato_tools.track_cues_v2 import TrackCuesV2

    theirs = [(e.index, e.position / 1000.0) for e in TrackCuesV2(str(tagged["mp3"])).entries if e.NAME == "CUE"]
    assert theirs == [(c.slot, c.start_s) for c in read_serato_tags(tagged["mp3"]).hot_cues]


def test_no_tags_and_garbage(tmp_path: Path) -> None:
    import soundfile as sf

    plain = tmp_path / "plain.wav"
    sf.write(plain, np.zeros(4410, dtype=np.float32), 44100)
    tags = read_serato_tags(plain)
    assert tags.cues == () and tags.grid is None and tags.raw == {}
    bad = tmp_path / "bad.mp3"
    sf.write(bad, np.zeros(4410, dtype=np.float32), 44100, format="MP3")
    _embed(bad, "id3", {"Serato Markers2": b"\x01\x01@@@garbage@@@\x00"})
    with pytest.raises(TagError) as err:
        read_serato_tags(bad)
    assert "bad.mp3" in str(err.value) and "Serato Markers2" in str(err.value)
    badflac = tmp_path / "bad.flac"
    sf.write(badflac, np.zeros(4410, dtype=np.float32), 44100, format="FLAC")
    _embed(badflac, "flac", {"Serato BeatGrid": b"YXBwbGljYXRpb24vb2N0ZXQtc3RyZWFtAABTZXJhdG8gQmVhdEdyaWQAAQA"})
    with pytest.raises(TagError, match="Serato BeatGrid"):
        read_serato_tags(badflac)
    text = tmp_path / "notes.txt"
    text.write_text("not audio")
    with pytest.raises(LibraryError):
        read_serato_tags(text)


# --- crates and database V2 -------------------------------------------------------------------

CRATE_FILES = [TOOLS / "TestCrate.crate", TOOLS / "TestSmartCrate.scrate", TOOLS / "database_v2_test.bin", FRENCH]


@pytest.mark.parametrize("path", CRATE_FILES, ids=lambda p: p.name)
def test_crate_and_database_round_trip(path: Path) -> None:
    data = path.read_bytes()
    fields = sc.parse_fields(data)
    assert sc.dump_fields(fields) == data
    assert fields[0].tag == "vrsn" and "Serato" in str(fields[0].value)


def test_crate_and_database_contents() -> None:
    crate = sc.track_paths(sc.parse_fields((TOOLS / "TestCrate.crate").read_bytes()), "ptrk")
    assert crate == [
        "Users/bvand/Music/DJ Tracks/Tripp St. - Enlighten.mp3",
        "Users/bvand/Music/DJ Tracks/Slaycub - Visceral Planet.mp3",
        "Users/bvand/Music/DJ Tracks/Zeds Dead - In The Beginning.mp3",
    ]
    french = sc.track_paths(sc.parse_fields(FRENCH.read_bytes()), "ptrk")
    assert french == ["ALAN BRAXE - INTRO ( Max Padovani Remix).mp3", "CASSIUS_-_99_Keller 2016 RE-EDIT -.mp3"]
    db = sc.parse_fields((TOOLS / "database_v2_test.bin").read_bytes())
    tracks = [f for f in db if f.tag == "otrk"]
    assert len(tracks) == 4
    assert [t.get("tbpm") for t in tracks] == ["70.00", "86.00", "131.98", "0.00"]
    assert tracks[2].get("pfil") == "Users/bvand/Music/DJ Tracks/SiR - D'Evils.mp3"
    assert tracks[0].get("bmis") == b"\x00" and tracks[0].get("uadd") == 0x68235A09


def _library(tmp_path: Path) -> Path:
    """A USB-drive style library: ``<drive>/_Serato_`` + tracks relative to the drive root."""
    drive = tmp_path / "usb"
    (drive / "_Serato_" / "Subcrates").mkdir(parents=True)
    (drive / "_Serato_" / "SmartCrates").mkdir()
    shutil.copy(FRENCH, drive / "_Serato_" / "Subcrates" / "French House.crate")
    shutil.copy(TOOLS / "TestCrate.crate", drive / "_Serato_" / "Subcrates" / "House%%Deep.crate")
    shutil.copy(TOOLS / "TestSmartCrate.scrate", drive / "_Serato_" / "SmartCrates" / "Smart.scrate")
    shutil.copy(TOOLS / "database_v2_test.bin", drive / "_Serato_" / "database V2")
    silence = _mp3_bytes()
    for name in ("ALAN BRAXE - INTRO ( Max Padovani Remix).mp3", "CASSIUS_-_99_Keller 2016 RE-EDIT -.mp3"):
        (drive / name).write_bytes(silence)
    deep = drive / "Users/bvand/Music/DJ Tracks"
    deep.mkdir(parents=True)
    (deep / "Tripp St. - Enlighten.mp3").write_bytes(silence)
    return drive


_MP3: list[bytes] = []


def _mp3_bytes() -> bytes:
    if not _MP3:
        import io

        import soundfile as sf

        buf = io.BytesIO()
        sf.write(buf, np.zeros(4410, dtype=np.float32), 44100, format="MP3")
        _MP3.append(buf.getvalue())
    return _MP3[0]


def test_crates_in_a_library(tmp_path: Path) -> None:
    drive = _library(tmp_path)
    sdir = drive / "_Serato_"
    assert sc.list_crates(sdir) == ["French House", "House/Deep", "Smart"]
    assert sc.list_crates(drive) == sc.list_crates(sdir)  # the folder holding _Serato_ works too
    assert sc.crate_tracks(sdir, "French House") == [
        drive / "ALAN BRAXE - INTRO ( Max Padovani Remix).mp3",
        drive / "CASSIUS_-_99_Keller 2016 RE-EDIT -.mp3",
    ]
    deep = sc.crate_tracks(sdir, "House%%Deep")
    assert deep == sc.crate_tracks(sdir, "House/Deep")
    assert deep[0] == drive / "Users/bvand/Music/DJ Tracks/Tripp St. - Enlighten.mp3"
    assert len(sc.crate_tracks(sdir, "Smart")) == 8
    assert len(sc.database_tracks(sdir)) == 4
    assert sc.database_entries(sdir)[0]["tart"] == "Zeds Dead"
    with pytest.raises(LibraryError, match="French House"):
        sc.crate_tracks(sdir, "Techno")


def test_main_library_paths_resolve_from_the_volume_root(tmp_path: Path) -> None:
    # ~/Music/_Serato_ stores "Users/bvand/Music/..."; the file exists under an ancestor.
    music = tmp_path / "Users/bvand/Music"
    (music / "_Serato_").mkdir(parents=True)
    track = music / "DJ Tracks" / "Zeds Dead - In The Beginning.mp3"
    track.parent.mkdir()
    track.write_bytes(b"x")
    assert (
        sc.resolve_track_path(music / "_Serato_", "Users/bvand/Music/DJ Tracks/Zeds Dead - In The Beginning.mp3")
        == track
    )
    missing = sc.resolve_track_path(Path("/Users/bvand/Music/_Serato_"), "Users/bvand/Music/x.mp3")
    assert missing == Path("/Users/bvand/Music/x.mp3")
    assert sc.resolve_track_path(Path("/media/usb/_Serato_"), "Music/x.mp3") == Path("/media/usb/Music/x.mp3")
    assert sc.find_serato_dir(music / "DJ Tracks") == music / "_Serato_"


def test_bad_crate_file(tmp_path: Path) -> None:
    sdir = tmp_path / "_Serato_"
    (sdir / "Subcrates").mkdir(parents=True)
    (sdir / "Subcrates" / "Broken.crate").write_bytes(b"vrsn\x00\x00\x01\x00abc")
    with pytest.raises(LibraryError, match="Broken.crate"):
        sc.crate_tracks(sdir, "Broken")
    with pytest.raises(LibraryError, match="database V2"):
        sc.database_tracks(sdir)


# --- folder walking ---------------------------------------------------------------------------


def _folder(tmp_path: Path, tagged: dict[str, Path]) -> Path:
    root = tmp_path / "music"
    (root / "a" / "sub").mkdir(parents=True)
    (root / "b").mkdir()
    shutil.copy(tagged["mp3"], root / "a" / "tagged.mp3")
    shutil.copy(tagged["m4a"], root / "a" / "sub" / "tagged.m4a")
    (root / "a" / "sub" / "loop").symlink_to(root / "a", target_is_directory=True)  # symlink loop
    (root / "b" / "same.mp3").symlink_to(root / "a" / "tagged.mp3")  # the same file twice
    (root / "b" / "._tagged.mp3").write_bytes(b"\x00\x05\x16\x07")  # macOS resource fork
    (root / "b" / "notes.txt").write_text("x")
    (root / "b" / "bad.mp3").write_bytes(_mp3_bytes())
    _embed(root / "b" / "bad.mp3", "id3", {"Serato Markers2": b"\x01\x01####\x00"})
    return root


def test_read_folder(tmp_path: Path, tagged: dict[str, Path]) -> None:
    root = _folder(tmp_path, tagged)
    before = {p: _digest(p) for p in root.rglob("*.mp*") if p.is_file() and not p.is_symlink()}
    items = list(read_folder(root))
    assert {p: _digest(p) for p in before} == before  # nothing written
    tracks = [t for t in items if isinstance(t, Track)]
    errors = [e for e in items if isinstance(e, LibraryError)]
    assert [t.path.name for t in tracks] == ["tagged.mp3", "tagged.m4a", "bad.mp3"]
    assert len({t.id for t in tracks}) == 3 and tracks[0].id == track_id(root / "b" / "same.mp3")
    mp3, m4a, bad = tracks
    assert mp3.source == "folder" and len(mp3.cues) == 8 and mp3.bpm == 115.0
    assert mp3.grid is not None and mp3.duration_s is not None and 0.4 < mp3.duration_s < 0.7
    assert [c.name for c in m4a.cues][:2] == ["Start", "After Intro"] and len(m4a.cues) == 9
    assert [type(e) for e in errors] == [TagError] and errors[0].path == bad.path
    assert bad.cues == () and "tag_error" in bad.extras
    assert [t.path.name for t in read_folder(root, follow_symlinks=False) if isinstance(t, Track)] == [
        "tagged.mp3",
        "tagged.m4a",
        "bad.mp3",
    ]


def test_read_folder_unreadable_dir_is_reported(
    tmp_path: Path, tagged: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _folder(tmp_path, tagged)
    locked = root / "a" / "sub"
    real_scandir = os.scandir

    def scandir(path: os.PathLike[str] | str) -> object:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    items = list(read_folder(root))
    errors = [e for e in items if isinstance(e, LibraryError) and not isinstance(e, TagError)]
    assert len(errors) == 1 and errors[0].path == locked and "Permission denied" in errors[0].reason
    assert [t.path.name for t in items if isinstance(t, Track)] == ["tagged.mp3", "bad.mp3"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read any folder")
def test_read_folder_chmod_000(tmp_path: Path) -> None:
    root = tmp_path / "music"
    (root / "locked").mkdir(parents=True)
    (root / "ok.mp3").write_bytes(_mp3_bytes())
    (root / "locked").chmod(0)
    try:
        items = list(read_folder(root))
    finally:
        (root / "locked").chmod(0o755)
    assert any(isinstance(e, LibraryError) and e.path == root / "locked" for e in items)
    assert [t.path.name for t in items if isinstance(t, Track)] == ["ok.mp3"]


def test_read_folder_with_crate(tmp_path: Path) -> None:
    drive = _library(tmp_path)
    items = list(read_folder(drive / "Users", crate="French House"))  # _Serato_ found in a parent
    assert [t.path.name for t in items if isinstance(t, Track)] == [
        "ALAN BRAXE - INTRO ( Max Padovani Remix).mp3",
        "CASSIUS_-_99_Keller 2016 RE-EDIT -.mp3",
    ]
    assert all(t.extras["crate"] == "French House" for t in items if isinstance(t, Track))
    deep = list(read_folder(drive, crate="House/Deep"))
    assert sum(isinstance(t, Track) for t in deep) == 1
    missing = [e for e in deep if isinstance(e, LibraryError)]
    assert len(missing) == 2 and all("not found" in e.reason for e in missing)
    unknown = list(read_folder(drive, crate="Techno"))
    assert len(unknown) == 1 and isinstance(unknown[0], LibraryError) and "French House" in str(unknown[0])
    plain = tmp_path / "plain"
    plain.mkdir()
    nolib = list(read_folder(plain, crate="French House"))
    assert len(nolib) == 1 and "_Serato_" in nolib[0].reason  # type: ignore[union-attr]


def test_readers_open_files_read_only(tmp_path: Path, tagged: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    root = _folder(tmp_path, tagged)
    modes: list[str] = []
    real_open = builtins.open

    def spy(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        modes.append(mode)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    monkeypatch.setattr(io, "open", spy)
    items = list(read_folder(root))
    for path in tagged.values():
        read_serato_tags(path)
    monkeypatch.undo()
    assert sum(isinstance(t, Track) for t in items) == 3
    assert modes and all(set(m) <= {"r", "b", "t"} for m in modes), modes
