"""Container headers read without decoding: the MP3 Xing/Info/VBRI gapless tag and the MP4 edit
list / iTunSMPB priming (see :mod:`djstruct.audio.decode` for how the decoder uses them)."""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

_MP3_BITRATES = {1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
                 2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mp3_frame_len(h: bytes) -> int:
    """Byte length of the Layer III frame whose 4-byte header is ``h``; 0 if not a valid header."""
    if len(h) < 4 or h[0] != 0xFF or (h[1] & 0xE0) != 0xE0:
        return 0
    version, layer = (h[1] >> 3) & 3, (h[1] >> 1) & 3
    br_i, sr_i, pad = h[2] >> 4, (h[2] >> 2) & 3, (h[2] >> 1) & 1
    if version == 1 or layer != 1 or br_i in (0, 15) or sr_i == 3:
        return 0
    bitrate = _MP3_BITRATES[1 if version == 3 else 2][br_i] * 1000
    return (144 if version == 3 else 72) * bitrate // _MP3_RATES[version][sr_i] + pad


def mp3_has_gapless_header(path: Path) -> bool:
    """True when an MP3's first frame carries a Xing/Info/VBRI tag (gapless/encoder-delay info)."""
    return not mp3_needs_delay_fix(path)


def mp3_needs_delay_fix(path: Path) -> bool:
    """True when the first Layer III frame has no Xing/Info/VBRI tag (so nobody trims the delay)."""
    rate, tagged = mp3_first_frame(path)
    return rate is not None and not tagged


def mp3_first_frame_bytes(path: Path, limit: int = 1 << 16) -> bytes | None:
    """The bytes of the first Layer III frame after any ID3v2 tags (confirmed by the frame that
    follows it), or None. Reads at most ``limit`` bytes after the tags."""
    with open(path, "rb") as f:
        start = 0
        while True:  # skip (possibly stacked) ID3v2 tags
            f.seek(start)
            tag = f.read(10)
            if len(tag) < 10 or tag[:3] != b"ID3":
                break
            size = (tag[6] << 21) | (tag[7] << 14) | (tag[8] << 7) | tag[9]
            start += 10 + size + (10 if tag[5] & 0x10 else 0)
        f.seek(start)
        data = f.read(limit)
    i = data.find(b"\xff")
    while 0 <= i < len(data) - 4:
        n = _mp3_frame_len(data[i : i + 4])
        if n and (i + n + 4 > len(data) or _mp3_frame_len(data[i + n : i + n + 4])):
            logger.debug("%s: first MP3 frame at byte %d", path, start + i)
            return data[i : i + n]
        i = data.find(b"\xff", i + 1)
    return None


def mp3_first_frame(path: Path) -> tuple[int | None, bool]:
    """(sample rate of the first Layer III frame, whether it carries a Xing/Info/VBRI tag);
    (None, False) when no frame is found."""
    frame = mp3_first_frame_bytes(path)
    if frame is None:
        return None, False
    # The tag follows the side info: byte 13..38 of the frame (mono/stereo, MPEG 1/2, CRC).
    head = frame[:48]
    tagged = b"Xing" in head or b"Info" in head or head[36:40] == b"VBRI"
    return _MP3_RATES[(frame[1] >> 3) & 3][(frame[2] >> 2) & 3], tagged


def mp4_priming(path: Path) -> tuple[int, bool, int | None]:
    """Return (priming samples the MP4 declares via the audio edit list or iTunSMPB, whether it
    has an edit list, the iTunSMPB count of real samples or None)."""
    moov = _mp4_moov(path)
    priming, has_elst, n_real = 0, False, None
    if moov is None:
        return priming, has_elst, n_real
    try:
        priming, has_elst = _mp4_elst_priming(moov)
    except (struct.error, IndexError):  # malformed edit list: ffmpeg will not have used it either
        logger.debug("%s: unreadable edit list", path)
    i = moov.find(b"iTunSMPB")
    j = moov.find(b"data", i) if i >= 0 else -1
    if j >= 0:
        fields = moov[j + 12 : j + 200].split(b"\x00")[0].split()
        try:  # " 00000000 <priming> <padding> <real samples> ..." in hex
            priming, n_real = max(priming, int(fields[1], 16)), int(fields[3], 16) or None
        except (IndexError, ValueError):
            pass
    return priming, has_elst, n_real


def _mp4_elst_priming(moov: bytes) -> tuple[int, bool]:
    """(media time of the first non-empty edit of the sound track, whether it has an edit list)."""
    priming, has_elst = 0, False
    for trak in _mp4_children(moov, b"trak"):
        if not _mp4_is_sound(trak):
            continue
        for edts in _mp4_children(trak, b"edts"):
            for elst in _mp4_children(edts, b"elst"):
                has_elst = True
                version, count = elst[0], struct.unpack(">I", elst[4:8])[0]
                fmt, size = (">QqI", 20) if version == 1 else (">IiI", 12)
                for k in range(count):
                    _, media_time, _ = struct.unpack(fmt, elst[8 + k * size : 8 + (k + 1) * size])
                    if media_time >= 0:  # first non-empty edit
                        priming = max(priming, media_time)
                        break
    return priming, has_elst


def _mp4_is_sound(trak: bytes) -> bool:
    for mdia in _mp4_children(trak, b"mdia"):
        for hdlr in _mp4_children(mdia, b"hdlr"):
            return hdlr[8:12] == b"soun"
    return False


def _mp4_children(buf: bytes, kind: bytes) -> Iterator[bytes]:
    """Payloads of the direct child boxes of type ``kind`` in ``buf``."""
    pos = 0
    while pos + 8 <= len(buf):
        size, typ = struct.unpack(">I4s", buf[pos : pos + 8])
        head = 8
        if size == 1 and pos + 16 <= len(buf):
            size, head = struct.unpack(">Q", buf[pos + 8 : pos + 16])[0], 16
        elif size == 0:
            size = len(buf) - pos
        if size < head:
            return
        if typ == kind:
            yield buf[pos + head : pos + size]
        pos += size


def _mp4_moov(path: Path, limit: int = 64 << 20) -> bytes | None:
    """The payload of the top-level ``moov`` box (None if absent or over ``limit`` bytes)."""
    with open(path, "rb") as f:
        while True:
            head = f.read(8)
            if len(head) < 8:
                return None
            size, typ = struct.unpack(">I4s", head)
            skip = size - 8
            if size == 1:
                skip = struct.unpack(">Q", f.read(8))[0] - 16
            elif size == 0:
                return f.read(limit) if typ == b"moov" else None
            if skip < 0:
                return None
            if typ == b"moov":
                return f.read(skip) if skip <= limit else None
            f.seek(skip, 1)
