"""Fingerprints survive re-tagging and catch replaced audio; payload ranges match the containers."""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from djstruct.audio.fingerprint import Fingerprint, audio_hash, audio_payload_range, fingerprint, quick_stat
from djstruct.errors import AudioError

SR = 44100
BIG = 100_000  # bytes of tag payload added by a re-tag


def noise(seed: int, seconds: float = 2.5, sr: int = SR) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((int(seconds * sr), 2)) * 0.2).astype(np.float32)


def write_m4a(path: Path, x: np.ndarray, faststart: bool) -> None:
    import av

    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", format="mp4", options=options) as c:
        s = c.add_stream("aac", rate=SR)
        s.layout = "stereo"
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(x.T), format="fltp", layout="stereo")
        frame.sample_rate = SR
        for p in s.encode(frame):
            c.mux(p)
        for p in s.encode(None):
            c.mux(p)


def make(kind: str, path: Path, seed: int) -> Path:
    x = noise(seed)
    if kind == "m4a":
        write_m4a(path, x, faststart=False)
    elif kind == "m4a-faststart":
        write_m4a(path, x, faststart=True)
    elif kind == "opus":
        sf.write(path, noise(seed, sr=48000), 48000, format="OGG", subtype="OPUS")
    else:
        sf.write(path, x, SR)
    return path


def id3_frames(size: int) -> list[Any]:
    from mutagen.id3 import COMM, GEOB, TIT2

    return [
        TIT2(encoding=3, text=["Re-tagged title"]),
        COMM(encoding=3, lang="eng", desc="", text=["a comment"]),
        GEOB(encoding=0, mime="application/octet-stream", filename="", desc="Serato Markers2", data=b"\x01" * size),
    ]


def retag(kind: str, path: Path, size: int = BIG) -> None:
    """Add a big tag the way DJ software does (mutagen rewrites the file in place)."""
    if kind == "mp3":
        from mutagen.id3 import ID3, ID3NoHeaderError

        try:
            tags = ID3(path)
        except ID3NoHeaderError:
            tags = ID3()
        for fr in id3_frames(size):
            tags.add(fr)
        tags.save(path, v1=2)
    elif kind in ("wav", "aiff"):
        from mutagen.aiff import AIFF
        from mutagen.wave import WAVE

        f = WAVE(path) if kind == "wav" else AIFF(path)
        if f.tags is None:
            f.add_tags()
        for fr in id3_frames(size):
            f.tags.add(fr)
        f.save()
    elif kind in ("flac", "ogg", "opus"):
        from mutagen.flac import FLAC
        from mutagen.oggopus import OggOpus
        from mutagen.oggvorbis import OggVorbis

        f = {"flac": FLAC, "ogg": OggVorbis, "opus": OggOpus}[kind](path)
        f["title"] = "Re-tagged title"
        f["comment"] = "x" * size
        f.save()
    else:
        from mutagen.mp4 import MP4, MP4Cover

        f = MP4(path)
        f["\xa9nam"] = ["Re-tagged title"]
        f["\xa9cmt"] = ["x" * size]
        f["covr"] = [MP4Cover(b"\x89PNG\r\n\x1a\n" + b"\x02" * 2000, imageformat=MP4Cover.FORMAT_PNG)]
        f.save()


def age(path: Path) -> None:
    """Push mtime 10 s into the past so that a re-tag surely changes it."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - 10_000_000_000))


KINDS = ["mp3", "flac", "ogg", "opus", "m4a", "m4a-faststart", "wav", "aiff"]
SUFFIX = {"opus": ".opus", "m4a": ".m4a", "m4a-faststart": ".m4a"}


@pytest.mark.parametrize("block", [64 * 1024, 4096], ids=["block64k", "block4k"])
@pytest.mark.parametrize("kind", KINDS)
def test_retag_keeps_hash_and_replacement_changes_it(tmp_path: Path, kind: str, block: int) -> None:
    suffix = SUFFIX.get(kind, "." + kind)
    tag_kind = "m4a" if kind.startswith("m4a") else kind
    a = make(kind, tmp_path / f"a{suffix}", seed=0)
    age(a)
    before = fingerprint(a)
    h0 = audio_hash(a, block_bytes=block)
    range0 = audio_payload_range(a)

    retag(tag_kind, a)
    after = fingerprint(a)
    assert after.size > before.size + BIG // 2
    assert after.mtime_ns != before.mtime_ns
    assert audio_hash(a, block_bytes=block) == h0
    assert after.audio_hash == before.audio_hash
    start, end = audio_payload_range(a)
    assert end - start == range0[1] - range0[0]

    retag(tag_kind, a, size=10)  # shrink the tag again (padding, page renumbering the other way)
    assert audio_hash(a, block_bytes=block) == h0

    b = make(kind, tmp_path / f"b{suffix}", seed=1)  # other audio, same tags
    retag(tag_kind, b)
    retag(tag_kind, b, size=10)
    assert audio_hash(b, block_bytes=block) != h0


def test_wav_payload_is_the_data_chunk(tmp_path: Path) -> None:
    data = bytes(range(256)) * 3 + b"\x07"  # odd length: the chunk gets a pad byte
    fmt = struct.pack("<HHIIHH", 1, 1, SR, SR, 1, 8)
    chunks = [
        b"fmt " + struct.pack("<I", len(fmt)) + fmt,
        b"LIST" + struct.pack("<I", 5) + b"INFOx" + b"\0",
        b"data" + struct.pack("<I", len(data)) + data + b"\0",
        b"id3 " + struct.pack("<I", 4) + b"ID3\0",
    ]
    body = b"WAVE" + b"".join(chunks)
    p = tmp_path / "hand.wav"
    p.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    start, end = audio_payload_range(p)
    raw = p.read_bytes()
    assert raw[start:end] == data
    assert raw[start - 8 : start - 4] == b"data"

    q = make("wav", tmp_path / "sf.wav", seed=3)
    raw = q.read_bytes()
    off = raw.find(b"data")
    n = struct.unpack("<I", raw[off + 4 : off + 8])[0]
    assert audio_payload_range(q) == (off + 8, off + 8 + n)
    assert n == len(noise(3)) * 2 * 2  # frames x channels x 16 bit


def id3v2(body_len: int, footer: bool) -> bytes:
    def synchsafe(n: int) -> bytes:
        return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])

    flags = 0x10 if footer else 0
    tag = b"ID3\x04\x00" + bytes([flags]) + synchsafe(body_len) + b"\0" * body_len
    return tag + (b"3DI\x04\x00" + bytes([flags]) + synchsafe(body_len) if footer else b"")


def apev2() -> bytes:
    item = struct.pack("<II", 5, 0) + b"Title\0" + b"Hello"
    size = len(item) + 32
    head = b"APETAGEX" + struct.pack("<IIII", 2000, size, 1, 0xA0000000) + b"\0" * 8
    foot = b"APETAGEX" + struct.pack("<IIII", 2000, size, 1, 0x80000000) + b"\0" * 8
    return head + item + foot


def test_mp3_tags_at_both_ends_are_excluded(tmp_path: Path) -> None:
    src = make("mp3", tmp_path / "plain.mp3", seed=0)
    audio = src.read_bytes()
    assert audio_payload_range(src) == (0, len(audio))
    front = id3v2(300, footer=True)
    tail = id3v2(200, footer=True) + apev2() + b"TAG" + b"\0" * 125
    p = tmp_path / "tagged.mp3"
    p.write_bytes(front + audio + tail)
    assert audio_payload_range(p) == (len(front), len(front) + len(audio))
    assert audio_hash(p) == audio_hash(src)

    retag("mp3", p)  # mutagen rewrites the front tag and the ID3v1
    raw = p.read_bytes()
    start, end = audio_payload_range(p)
    assert raw[start:end] == audio


def test_container_payload_starts(tmp_path: Path) -> None:
    flac = make("flac", tmp_path / "a.flac", seed=0)
    raw = flac.read_bytes()
    start, end = audio_payload_range(flac)
    assert raw[start] == 0xFF and raw[start + 1] in (0xF8, 0xF9) and end == len(raw)

    ogg = make("ogg", tmp_path / "a.ogg", seed=0)
    raw = ogg.read_bytes()
    start, end = audio_payload_range(ogg)
    assert raw[start : start + 4] == b"OggS" and struct.unpack("<q", raw[start + 6 : start + 14])[0] > 0
    assert end == len(raw)

    m4a = make("m4a", tmp_path / "a.m4a", seed=0)
    raw = m4a.read_bytes()
    start, end = audio_payload_range(m4a)
    assert raw[start - 4 : start] == b"mdat"
    assert struct.unpack(">I", raw[start - 8 : start - 4])[0] == end - start + 8

    aiff = make("aiff", tmp_path / "a.aiff", seed=0)
    raw = aiff.read_bytes()
    off = raw.find(b"SSND")
    start, end = audio_payload_range(aiff)
    assert start == off + 16 and end - start == len(noise(0)) * 2 * 2


def test_mp4_64bit_mdat(tmp_path: Path) -> None:
    payload = os.urandom(1000)
    ftyp = struct.pack(">I4s", 16, b"ftyp") + b"M4A \0\0\0\0"
    mdat = struct.pack(">I4sQ", 1, b"mdat", 16 + len(payload)) + payload
    moov = struct.pack(">I4s", 8, b"moov")
    p = tmp_path / "big.m4a"
    p.write_bytes(ftyp + mdat + moov)
    assert audio_payload_range(p) == (len(ftyp) + 16, len(ftyp) + 16 + len(payload))


def test_unknown_format_is_whole_file(tmp_path: Path) -> None:
    p = tmp_path / "x.bin"
    p.write_bytes(b"hello world" * 100)
    assert audio_payload_range(p) == (0, 1100)
    assert len(audio_hash(p)) == 40


def test_quick_stat_and_missing_file(tmp_path: Path) -> None:
    p = make("wav", tmp_path / "a.wav", seed=0)
    size, mtime_ns = quick_stat(p)
    assert size == p.stat().st_size and mtime_ns == p.stat().st_mtime_ns
    fp = fingerprint(p, with_hash=False)
    assert fp == Fingerprint(size, mtime_ns, None)
    with pytest.raises(AudioError, match="missing.mp3"):
        fingerprint(tmp_path / "missing.mp3")
