"""Classify an MP3's first frame the way DJ applications disagree about it (header reads only).

The first MPEG frame of most MP3s is not audio but an information frame: ``Xing`` (VBR) or
``Info`` (CBR), often followed by a LAME tag (encoder string, encoder delay and padding, and a
CRC-16 of the frame's first 190 bytes). Applications that recognise the frame skip it; those that
do not decode it as 1152 samples of silence (one MPEG-1 Layer III frame, 26.1 ms at 44.1 kHz).
The study behind dj-data-converter (issue 3 of digital-dj-tools/dj-data-converter, on real
libraries) sorts files into four cases by how Traktor and Rekordbox read them:

====  ===============================================  ======================================
case  first frame                                      Traktor vs Rekordbox
====  ===============================================  ======================================
A     no Xing/Info frame                               same timeline
B     Xing/Info without a LAME tag (e.g. ``Lavc``)     Traktor one frame later
C     LAME tag whose CRC is zero or wrong              Traktor one frame later
D     LAME tag with a valid CRC                        same timeline
====  ===============================================  ======================================

:func:`mp3_timing_case` returns the case letter (``None`` for a file that is not an MP3 we can
read); :mod:`djstruct.timing` turns it into an offset. The CRC is CRC-16/ARC (polynomial 0x8005,
reflected, initial value 0), as LAME's ``VbrTag.c`` and ffmpeg's ``mp3enc.c`` compute it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from djstruct.audio.containers import mp3_first_frame_bytes as first_frame

logger = logging.getLogger(__name__)

TimingCase = Literal["A", "B", "C", "D"]

def _crc16_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc16_table()


def crc16_arc(data: bytes) -> int:
    """CRC-16/ARC of ``data`` (the LAME tag CRC)."""
    crc = 0
    for b in data:
        crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ b) & 0xFF]
    return crc


def _xing_offset(frame: bytes) -> int | None:
    version, mono = (frame[1] >> 3) & 3, (frame[3] >> 6) == 3
    side = (17 if mono else 32) if version == 3 else (9 if mono else 17)
    pos = 4 + side + (0 if frame[1] & 1 else 2)  # protection bit 0 = a 16-bit CRC follows the header
    if frame[pos:pos + 4] in (b"Xing", b"Info"):
        return pos
    for tag in (b"Xing", b"Info"):  # tolerate encoders that put it elsewhere in the side info
        j = frame.find(tag, 4, 64)
        if j >= 0:
            return j
    return None


def classify_frame(frame: bytes) -> TimingCase:
    """The dj-data-converter case (A-D) of an MP3 whose first frame is ``frame``."""
    x = _xing_offset(frame)
    if x is None:
        return "A"
    flags = int.from_bytes(frame[x + 4:x + 8], "big")
    lame = x + 8 + (4 if flags & 1 else 0) + (4 if flags & 2 else 0) + (100 if flags & 4 else 0) + (
        4 if flags & 8 else 0)
    encoder = frame[lame:lame + 4]
    if encoder not in (b"LAME", b"L3.9", b"GOGO") or len(frame) < lame + 36:
        return "B"
    stored = int.from_bytes(frame[lame + 34:lame + 36], "big")
    computed = crc16_arc(frame[:lame + 34])
    return "D" if stored != 0 and stored == computed else "C"


def mp3_timing_case(path: Path) -> TimingCase | None:
    """Case A-D of ``path`` (see the module docstring); None when no MP3 frame can be found."""
    try:
        frame = first_frame(Path(path))
    except OSError as exc:
        logger.debug("%s: cannot read MP3 header: %s", path, exc)
        return None
    if frame is None or len(frame) < 48:
        return None
    case = classify_frame(frame)
    logger.debug("%s: MP3 timing case %s", path, case)
    return case


__all__ = ["TimingCase", "classify_frame", "crc16_arc", "first_frame", "mp3_timing_case"]
