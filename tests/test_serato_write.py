"""Serato hot-cue writer and the safe-write core, on real files of every container.

Audio: 3 s of noise encoded with djstruct.synth.encode. Serato data: real payloads from
tests/data/serato (see its ATTRIBUTION.md), embedded with mutagen the way Serato stores them.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pytest

from djstruct import safe_write
from djstruct.audio.fingerprint import audio_hash, audio_payload_sha256
from djstruct.errors import TagError, WritebackError
from djstruct.library.serato import legacy as lg
from djstruct.library.serato import markers as sm
from djstruct.library.serato import tags as st
from djstruct.library.serato import write as sw
from djstruct.library.serato.read import read_serato_tags
from djstruct.library.serato.tags import FLAC_KEYS, MARKERS2, MARKERS_, MP4_KEYS, OGG_KEYS, SeratoBackup
from djstruct.library.serato.write import read_backup, restore, write_hot_cues
from djstruct.safe_write import atomic_rewrite, file_sha256
from djstruct.synth.encode import FORMATS, encode
from djstruct.types import Cue

TAGS = Path(__file__).parent / "data" / "serato" / "serato-tags" / "data"
SR = 44100
FMTS = ("mp3", "aiff", "wav", "flac", "m4a", "ogg")
CONTAINER = {"mp3": "id3", "aiff": "id3", "wav": "id3", "flac": "flac", "m4a": "mp4", "ogg": "ogg"}
# case -> (format, fixture folder, ID3 version the file is tagged with)
CASES: dict[str, tuple[str, Path, int]] = {
    "mp3-v23-loops": ("mp3", TAGS / "id3/saved-loops", 3),
    "mp3-v24-8cues": ("mp3", TAGS / "id3/hotcue-colors", 4),
    "aiff-v23-bpmlock": ("aiff", TAGS / "id3/bpmlock-enabled", 3),
    "wav-long-names": ("wav", TAGS / "id3/very-long-names", 4),
    "flac-bpmlock": ("flac", TAGS / "flac/bpmlock", 4),
    "m4a-cues-loops": ("m4a", TAGS / "mp4/hotcues-and-loops", 4),
    "ogg-color": ("ogg", TAGS / "ogg/track-color-993333", 4),
}
CUES = (
    Cue("hot", 12.3456, slot=0, name="Intro"),
    Cue("hot", 61.0004, slot=2, name="Drop é", color="#00FF00"),
    Cue("hot", 0.5, slot=6),
)
# what Serato stores for CUES: (slot, ms, name, colour); None colour -> the slot's default
STORED = [(0, 12346, "Intro", "#cc0000"), (2, 61000, "Drop é", "#00ff00"), (6, 500, "", "#00cccc")]


def _values(folder: Path) -> dict[str, bytes]:
    names = {"serato_markers2": MARKERS2, "serato_markers": MARKERS_, "serato_beatgrid": "Serato BeatGrid"}
    out = {}
    for p in sorted(folder.glob("*.octet-stream")):
        name = p.name.removesuffix(".octet-stream")
        out[names.get(name, name)] = p.read_bytes()
    return out


def _embed(path: Path, container: str, values: dict[str, bytes], id3_version: int = 4) -> None:
    """Store Serato values in ``path`` with mutagen, as Serato would have."""
    from mutagen.aiff import AIFF
    from mutagen.flac import FLAC
    from mutagen.id3 import COMM, GEOB, ID3, TDRC, TIT2, ID3NoHeaderError
    from mutagen.mp4 import MP4, MP4FreeForm
    from mutagen.oggvorbis import OggVorbis
    from mutagen.wave import WAVE

    if container == "id3":
        f: Any = None
        if path.suffix == ".mp3":
            try:
                tags = ID3(path)
            except ID3NoHeaderError:
                tags = ID3()
        else:
            f = (AIFF if path.suffix == ".aiff" else WAVE)(path)
            if f.tags is None:
                f.add_tags()
            tags = f.tags
        for name, data in values.items():
            tags.add(GEOB(encoding=0, mime="application/octet-stream", filename="", desc=name, data=data))
        if id3_version == 3:  # a typical v2.3 tag: a date that v2.4 would store differently, text, comment
            tags.add(TIT2(encoding=1, text="Retro Funky"))
            tags.add(TDRC(encoding=1, text="2019-05-04"))
            tags.add(COMM(encoding=1, lang="eng", desc="", text="Perséphone"))
            tags.update_to_v23()
        tags.save(path, v2_version=id3_version) if f is None else f.save(v2_version=id3_version)
        return
    f = {"flac": FLAC, "mp4": MP4, "ogg": OggVorbis}[container](path)
    if f.tags is None:
        f.add_tags()
    keys = {"flac": FLAC_KEYS, "mp4": MP4_KEYS, "ogg": OGG_KEYS}[container]
    for name, data in values.items():
        f.tags[keys[name]] = [MP4FreeForm(data)] if container == "mp4" else [data.decode("ascii")]
    f.save()


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("plain")
    noise = (0.2 * np.random.default_rng(7).standard_normal((3 * SR, 2))).astype(np.float32)
    return {fmt: encode(noise, SR, folder / f"plain{FORMATS[fmt]}", fmt) for fmt in FMTS}


def _copy(plain: dict[str, Path], tmp_path: Path, fmt: str) -> Path:
    path = tmp_path / f"track{plain[fmt].suffix}"
    shutil.copy(plain[fmt], path)
    return path


def _tagged(plain: dict[str, Path], tmp_path: Path, case: str) -> Path:
    fmt, folder, version = CASES[case]
    path = _copy(plain, tmp_path, fmt)
    _embed(path, CONTAINER[fmt], _values(folder), version)
    return path


def _hot(path: Path) -> list[tuple[int | None, int, str, str | None]]:
    return [(c.slot, round(c.start_s * 1000), c.name, c.color) for c in read_serato_tags(path).hot_cues]


def _markers2(container: str, raw: bytes) -> sm.Markers2:
    if container == "ogg":
        return sm.parse_markers2_ogg(raw)
    return sm.parse_markers2(sm.decode_envelope(raw).payload if container in ("flac", "mp4") else raw)


def _id3_version(path: Path) -> tuple[int, int, int]:
    from mutagen.aiff import AIFF
    from mutagen.id3 import ID3
    from mutagen.wave import WAVE

    if path.suffix == ".mp3":
        return ID3(path).version
    return (AIFF if path.suffix == ".aiff" else WAVE)(path).tags.version


def _other_tags(path: Path) -> list[str]:
    """Every tag except the Serato markers we write, as text (ID3 as stored, without translation)."""
    from mutagen import File
    from mutagen.aiff import AIFF
    from mutagen.id3 import ID3
    from mutagen.wave import WAVE

    ours = {"GEOB:" + MARKERS2, "GEOB:" + MARKERS_, FLAC_KEYS[MARKERS2].lower(), MP4_KEYS[MARKERS2],
            MP4_KEYS[MARKERS_], OGG_KEYS[MARKERS2]}
    if path.suffix == ".mp3":
        tags: Any = ID3(path, translate=False, load_v1=False)
    elif path.suffix in (".aiff", ".wav"):
        tags = (AIFF if path.suffix == ".aiff" else WAVE)(path, translate=False, load_v1=False).tags
    else:
        tags = File(path).tags
    items = sorted(tags.items()) if hasattr(tags, "keys") and path.suffix not in (".flac", ".ogg") else list(tags)
    return [f"{k}={v!r}" for k, v in items if k.lower() not in {o.lower() for o in ours}]


def _no_temp_files(folder: Path) -> bool:
    return not list(folder.glob(".djstruct-*"))


# --- writing over a user's Serato data ---------------------------------------------------------


@pytest.mark.parametrize("case", list(CASES))
def test_write_keeps_everything_else(plain: dict[str, Path], tmp_path: Path, case: str) -> None:
    fmt, _, version = CASES[case]
    container = CONTAINER[fmt]
    path = _tagged(plain, tmp_path, case)
    os.chmod(path, 0o640)
    before = read_serato_tags(path)
    audio_before = audio_payload_sha256(path)
    others = _other_tags(path)

    backup = write_hot_cues(path, CUES)

    assert backup.tags == {n: before.raw.get(n) for n in st.WRITABLE[container]}
    after = read_serato_tags(path)
    assert _hot(path) == STORED
    assert (after.loops, after.color, after.bpm_locked, after.grid) == (
        before.loops, before.color, before.bpm_locked, before.grid)
    old2, new2 = _markers2(container, before.raw[MARKERS2]), _markers2(container, after.raw[MARKERS2])
    assert [e for e in new2.entries if e.name != "CUE"] == [e for e in old2.entries if e.name != "CUE"]
    for name, value in before.raw.items():  # BeatGrid and friends untouched
        if name not in (MARKERS2, MARKERS_) or (container == "ogg" and name == MARKERS_):
            assert after.raw[name] == value, name
    if container in ("id3", "mp4"):  # Serato reads Markers_ first: it must agree
        payload = after.raw[MARKERS_]
        legacy = lg.parse_markers_(sm.decode_envelope(payload).payload, "mp4") if container == "mp4" else \
            lg.parse_markers_(payload)
        assert [(c.index, c.position_ms, c.color) for c in lg.legacy_cues(legacy)] == [
            (s, ms, col) for s, ms, _, col in STORED if s < 5]
        assert lg.legacy_loops(legacy) == lg.legacy_loops(
            lg.parse_markers_(sm.decode_envelope(before.raw[MARKERS_]).payload, "mp4") if container == "mp4"
            else lg.parse_markers_(before.raw[MARKERS_]))
    if fmt in ("mp3", "aiff"):  # an independent parser agrees
        from serato_tools.track_cues_v2 import TrackCuesV2

        theirs = TrackCuesV2(str(path)).entries
        assert [(e.index, e.position, e.name, "#" + e.color.hex()) for e in theirs if e.NAME == "CUE"] == STORED
        assert [e.NAME or "UNKNOWN" for e in theirs if e.NAME != "CUE"] == [e.kind for e in old2.entries
                                                                             if e.name != "CUE"]
    if container == "id3":
        assert _id3_version(path)[:2] == (2, version)
    assert _other_tags(path) == others and len(others) >= 1  # every other tag/frame as it was
    assert audio_payload_sha256(path) == audio_before
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert _no_temp_files(tmp_path)


@pytest.mark.parametrize("case", list(CASES))
def test_restore_gives_the_original_file_back(plain: dict[str, Path], tmp_path: Path, case: str) -> None:
    path = _tagged(plain, tmp_path, case)
    original = file_sha256(path)
    shutil.copy(path, path.with_name("orig" + path.suffix))
    backup = write_hot_cues(path, CUES)
    assert file_sha256(path) != original
    stored = json.loads(json.dumps(backup.to_dict()))  # as a JSON journal keeps it
    restore(SeratoBackup.from_dict(stored))
    assert file_sha256(path) == original
    # a write that has to grow the tag block (long names) is undone just as exactly, except in Ogg,
    # where mutagen lays out the grown header pages anew: same tag values and audio pages, other paging
    long = [replace(c, name=c.name + "x" * 3000) for c in CUES]
    backup = write_hot_cues(path, long)
    assert [name for _, _, name, _ in _hot(path)] == [c.name for c in long]
    restore(backup)
    if CASES[case][0] == "ogg":
        assert read_backup(path).tags == backup.tags and audio_hash(path) == audio_hash(path.with_name("orig.ogg"))
    else:
        assert file_sha256(path) == original
    assert _no_temp_files(tmp_path)


@pytest.mark.parametrize("fmt", FMTS)
def test_file_without_tags_gets_native_markers2(plain: dict[str, Path], tmp_path: Path, fmt: str) -> None:
    from mutagen import File

    path = _copy(plain, tmp_path, fmt)
    original, audio = file_sha256(path), audio_payload_sha256(path)
    backup = write_hot_cues(path, CUES)
    assert set(backup.tags.values()) == {None}
    tags = read_serato_tags(path)
    assert tags.container == CONTAINER[fmt] and _hot(path) == STORED
    assert set(tags.raw) == {MARKERS2}  # no legacy Markers_ invented
    f = File(path)
    if CONTAINER[fmt] == "id3":
        assert "GEOB:Serato Markers2" in f.tags
        assert len(tags.raw[MARKERS2]) == sm.MARKERS2_MIN_SIZE
    elif fmt == "flac":
        assert "SERATO_MARKERS_V2" in [k for k, _ in f.tags]
    elif fmt == "m4a":
        assert "----:com.serato.dj:markersv2" in f.tags
        assert len(sm.decode_envelope(tags.raw[MARKERS2], MARKERS2).payload) == 514  # as Serato pads it
    else:
        assert "serato_markers2" in [k for k, _ in f.tags]
    if fmt in ("mp3", "aiff"):
        from serato_tools.track_cues_v2 import TrackCuesV2

        assert [(e.index, e.position) for e in TrackCuesV2(str(path)).entries] == [(s, ms) for s, ms, _, _ in STORED]
    assert audio_payload_sha256(path) == audio
    restore(backup)
    assert set(read_backup(path).tags.values()) == {None} and read_serato_tags(path).raw == {}
    assert audio_payload_sha256(path) == audio
    if CONTAINER[fmt] == "id3":  # the ID3 tag/chunk we added goes away again
        assert file_sha256(path) == original


def test_second_identical_write_changes_nothing(plain: dict[str, Path], tmp_path: Path) -> None:
    path = _tagged(plain, tmp_path, "m4a-cues-loops")
    write_hot_cues(path, CUES)
    digest, mtime = file_sha256(path), path.stat().st_mtime_ns
    backup = write_hot_cues(path, CUES)
    assert (file_sha256(path), path.stat().st_mtime_ns) == (digest, mtime)
    assert backup == read_backup(path)
    write_hot_cues(path, [])  # clearing every hot cue keeps the loops
    tags = read_serato_tags(path)
    assert tags.hot_cues == () and len(tags.loops) == 3


def test_id3v1_tag_is_kept_as_it_was(plain: dict[str, Path], tmp_path: Path) -> None:
    path = _tagged(plain, tmp_path, "mp3-v24-8cues")
    v1 = b"TAG" + b"Old title".ljust(30, b"\0") + b"Old artist".ljust(30, b"\0") + b"\0" * 34 + b"\0" * 30 + b"\xff"
    with open(path, "ab") as f:  # an ID3v1 tag that does not match the v2 frames
        f.write(v1)
    original = file_sha256(path)
    backup = write_hot_cues(path, CUES)
    assert path.read_bytes()[-128:] == v1 and _hot(path) == STORED
    restore(backup)
    assert file_sha256(path) == original


def test_cue_conversion() -> None:
    cues = sw.serato_cues(Path("x.mp3"), [Cue("hot", 1.0006, slot=7), Cue("hot", 0.0004, slot=1, color="#ABCDEF")])
    assert cues == [sm.SeratoCue(1, 0, "#abcdef", ""), sm.SeratoCue(7, 1001, sw.DEFAULT_COLORS[7], "")]


@pytest.mark.parametrize(
    "cue",
    [
        Cue("memory", 1.0),
        Cue("hot", 1.0, slot=0, end_s=2.0),
        Cue("hot", 1.0, slot=8),
        Cue("hot", 1.0),
        Cue("hot", -0.5, slot=0),
        Cue("hot", float("nan"), slot=0),
        Cue("hot", 1.0, slot=0, color="red"),
        Cue("hot", 1.0, slot=0, name="a\0b"),
    ],
)
def test_bad_cues_are_refused(plain: dict[str, Path], tmp_path: Path, cue: Cue) -> None:
    path = _copy(plain, tmp_path, "mp3")
    digest = file_sha256(path)
    with pytest.raises(WritebackError):
        write_hot_cues(path, [cue])
    with pytest.raises(WritebackError, match="slot"):
        write_hot_cues(path, [Cue("hot", 1.0, slot=3), Cue("hot", 2.0, slot=3)])
    assert file_sha256(path) == digest


# --- refusing and failing safely ---------------------------------------------------------------


def test_read_only_file_and_folder(plain: dict[str, Path], tmp_path: Path) -> None:
    path = _tagged(plain, tmp_path, "mp3-v23-loops")
    digest = file_sha256(path)
    os.chmod(path, 0o444)
    with pytest.raises(WritebackError, match="read-only") as err:
        write_hot_cues(path, CUES)
    assert path.name in str(err.value)
    os.chmod(path, 0o644)
    os.chmod(tmp_path, 0o555)
    try:
        with pytest.raises(WritebackError, match="read-only") as err:
            write_hot_cues(path, CUES)
        assert path.name in str(err.value)
    finally:
        os.chmod(tmp_path, 0o755)
    assert file_sha256(path) == digest and _no_temp_files(tmp_path)


@pytest.mark.parametrize("fmt", ["mp3", "flac", "m4a", "ogg"])
def test_garbage_payload_is_never_overwritten(plain: dict[str, Path], tmp_path: Path, fmt: str) -> None:
    path = _copy(plain, tmp_path, fmt)
    garbage = {
        "id3": b"\x01\x01@@@garbage@@@\x00",
        "flac": b"YXBwbGljYXRpb24vb2N0ZXQtc3RyZWFtAABTZXJhdG8gTWFya2VyczIAAQFAQEA",
        "mp4": b"not base64 at all!",
        "ogg": b"@@@not base64@@@",
    }[CONTAINER[fmt]]
    _embed(path, CONTAINER[fmt], {MARKERS2: garbage})
    digest = file_sha256(path)
    with pytest.raises(WritebackError, match="malformed") as err:
        write_hot_cues(path, CUES)
    assert isinstance(err.value.__cause__, TagError)
    assert file_sha256(path) == digest and _no_temp_files(tmp_path)


def test_garbage_legacy_markers_is_never_overwritten(plain: dict[str, Path], tmp_path: Path) -> None:
    path = _copy(plain, tmp_path, "mp3")
    values = _values(TAGS / "id3/saved-loops")
    values[MARKERS_] = b"\x02\x05\x00\x00\x00\x0e"  # claims 14 entries, has none
    _embed(path, "id3", values)
    digest = file_sha256(path)
    with pytest.raises(WritebackError, match="malformed"):
        write_hot_cues(path, CUES)
    assert file_sha256(path) == digest


def test_disk_full_while_copying(plain: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _tagged(plain, tmp_path, "flac-bpmlock")
    digest = file_sha256(path)

    def full(src: BinaryIO, dst: BinaryIO) -> None:
        dst.write(src.read(4096))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safe_write, "_copy_contents", full)
    with pytest.raises(WritebackError, match="disk full"):
        write_hot_cues(path, CUES)
    assert file_sha256(path) == digest and _no_temp_files(tmp_path)


def test_disk_full_while_saving_tags(plain: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _tagged(plain, tmp_path, "mp3-v24-8cues")
    digest = file_sha256(path)

    def full(tf: Any, target: Path, padding: Any) -> None:
        with open(target, "r+b") as f:  # half-written tag, then the disk fills up (as mutagen reports it)
            f.write(b"\0" * 1000)
        from mutagen import MutagenError

        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as exc:
            raise MutagenError(exc) from exc

    monkeypatch.setattr(sw, "save", full)
    with pytest.raises(WritebackError, match="disk full"):
        write_hot_cues(path, CUES)
    assert file_sha256(path) == digest and _no_temp_files(tmp_path)


def test_failed_read_back_restores_the_backup(
    plain: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _tagged(plain, tmp_path, "aiff-v23-bpmlock")
    digest = file_sha256(path)
    real = sw._read_back
    calls: list[Path] = []

    def lying(tmp: Path, p: Path, fmt: Any) -> Any:  # the read after the swap sees other cues
        calls.append(tmp)
        tags = real(tmp, p, fmt)
        return replace(tags, cues=()) if len(calls) == 2 else tags

    monkeypatch.setattr(sw, "_read_back", lying)
    with pytest.raises(WritebackError, match="restored"):
        write_hot_cues(path, CUES)
    assert len(calls) == 2
    assert file_sha256(path) == digest and _no_temp_files(tmp_path)


# --- the safe-write core -----------------------------------------------------------------------


def test_atomic_rewrite_success_keeps_mode_and_follows_links(tmp_path: Path) -> None:
    target = tmp_path / "song.bin"
    target.write_bytes(b"old content")
    os.chmod(target, 0o604)
    link = tmp_path / "link.bin"
    link.symlink_to(target)
    seen: list[Path] = []

    def mutate(tmp: Path) -> None:
        seen.append(tmp)
        assert tmp.parent == tmp_path and tmp.name.startswith(".djstruct-song.bin.") and tmp.name.endswith(".tmp")
        assert tmp.read_bytes() == b"old content"
        tmp.write_bytes(b"new content")

    atomic_rewrite(link, mutate)
    assert link.is_symlink() and target.read_bytes() == b"new content"
    assert stat.S_IMODE(target.stat().st_mode) == 0o604
    assert not seen[0].exists() and _no_temp_files(tmp_path)


def test_atomic_rewrite_failures_leave_the_original(tmp_path: Path) -> None:
    target = tmp_path / "song.bin"
    target.write_bytes(b"old content")

    def broken(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise ValueError("bug")

    def full(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(ValueError):  # programming errors are not disguised
        atomic_rewrite(target, broken)
    with pytest.raises(WritebackError, match="disk full") as err:
        atomic_rewrite(target, full)
    assert "song.bin" in str(err.value)
    with pytest.raises(WritebackError, match="does not exist"):
        atomic_rewrite(tmp_path / "missing.bin", full)
    assert target.read_bytes() == b"old content" and _no_temp_files(tmp_path)
    assert file_sha256(target) == hashlib.sha256(b"old content").hexdigest()


def test_backup_round_trips_through_json(tmp_path: Path) -> None:
    b = SeratoBackup(tmp_path / "a.mp3", "id3", {MARKERS2: b"\x01\x01AQ\x00\xff", MARKERS_: None}, 1234, False)
    assert SeratoBackup.from_dict(json.loads(json.dumps(b.to_dict()))) == b
