"""Codecs for the legacy ``Serato Markers_`` (``02 05``, u32 count, 22-byte ``serato32`` entries, or
19-byte plain entries inside MP4) and the Ogg ``serato_markers`` text form. Bytes in, bytes out."""

from __future__ import annotations

import logging
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from djstruct.library.serato.markers import SeratoCue, SeratoLoop, _color, _fail, _rgb

logger = logging.getLogger(__name__)


# --- legacy Serato Markers_ --------------------------------------------------------------------


def s32_decode(b: bytes) -> int:
    """Serato's 4-byte, 7-bits-per-byte encoding of a 24-bit value (positions, colours)."""
    w, x, y, z = b
    hi = ((x & 0x7F) >> 2) | ((w & 0x07) << 5)
    mid = ((y & 0x7F) >> 1) | ((x & 0x03) << 6)
    lo = (z & 0x7F) | ((y & 0x01) << 7)
    return hi << 16 | mid << 8 | lo


def s32_encode(v: int) -> bytes:
    a, b, c = (v >> 16) & 0xFF, (v >> 8) & 0xFF, v & 0xFF
    return bytes((a >> 5, ((b >> 6) | (a << 2)) & 0x7F, ((c >> 7) | (b << 1)) & 0x7F, c & 0x7F))


@dataclass(frozen=True)
class LegacyEntry:
    """One ``Serato Markers_`` slot; ``kind`` 0 = empty cue slot, 1 = cue, 3 = loop slot."""

    start_ms: int | None
    end_ms: int | None
    color: str
    kind: int
    locked: bool
    raw: bytes


@dataclass(frozen=True)
class LegacyMarkers:
    """``Serato Markers_``: 14 slots (5 cue, 9 loop) and the track colour (``footer`` holds its bytes)."""

    entries: tuple[LegacyEntry, ...]
    track_color: str
    variant: Literal["id3", "mp4"] = "id3"
    version: bytes = b"\x02\x05"
    footer: bytes = b""


def _legacy_entry(raw: bytes, variant: str) -> LegacyEntry:
    if variant == "id3":
        if raw[0] not in (0, 0x7F) or raw[5] not in (0, 0x7F):
            raise _fail("Markers_ entry has a bad position flag")
        start = None if raw[0] else s32_decode(raw[1:5])
        end = None if raw[5] else s32_decode(raw[6:10])
        color = f"#{s32_decode(raw[16:20]):06x}"
        kind, locked = raw[20], raw[21]
    else:
        s, e = struct.unpack_from(">II", raw)
        start, end = (None if s == 0xFFFFFFFF else s), (None if e == 0xFFFFFFFF else e)
        color, kind, locked = _color(raw[14:17]), raw[17], raw[18]
    return LegacyEntry(start, end, color, kind, bool(locked), raw)


def parse_markers_(payload: bytes, variant: Literal["id3", "mp4"] = "id3") -> LegacyMarkers:
    """Parse ``Serato Markers_``: ``variant="id3"`` (MP3/AIFF GEOB) or ``"mp4"`` (enveloped)."""
    size = 22 if variant == "id3" else 19
    if payload[:2] != b"\x02\x05" or len(payload) < 6:
        raise _fail(f"Markers_ header {payload[:2].hex()} is not 0205")
    (count,) = struct.unpack_from(">I", payload, 2)
    end = 6 + size * count
    if len(payload) < end + 4:
        raise _fail(f"Markers_ claims {count} entries but has {len(payload)} bytes")
    entries = tuple(_legacy_entry(payload[6 + size * i : 6 + size * (i + 1)], variant) for i in range(count))
    foot = payload[end:]
    color = f"#{s32_decode(foot[:4]):06x}" if variant == "id3" else _color(foot[1:4])
    return LegacyMarkers(entries, color, variant, payload[:2], foot)


def dump_markers_(m: LegacyMarkers) -> bytes:
    return m.version + struct.pack(">I", len(m.entries)) + b"".join(e.raw for e in m.entries) + m.footer


def legacy_cues(m: LegacyMarkers) -> list[SeratoCue]:
    """Set cues of the cue slots (kind 0/1, numbered in order); names are not stored here."""
    slots = [e for e in m.entries if e.kind in (0, 1)]
    return [SeratoCue(i, e.start_ms, e.color) for i, e in enumerate(slots) if e.kind == 1 and e.start_ms is not None]


def legacy_loops(m: LegacyMarkers) -> list[SeratoLoop]:
    slots = [e for e in m.entries if e.kind == 3]
    return [
        SeratoLoop(i, e.start_ms, e.end_ms, e.color, e.locked)
        for i, e in enumerate(slots)
        if e.start_ms is not None and e.end_ms is not None
    ]


def _legacy_cue_raw(cue: SeratoCue | None, variant: str) -> bytes:
    if variant == "id3":
        if cue is None:
            return b"\x7f" * 10 + b"\x00" + b"\x7f" * 5 + b"\0" * 6
        pos = b"\0" + s32_encode(cue.position_ms) + b"\x7f" * 5
        return pos + b"\x00" + b"\x7f" * 5 + s32_encode(int.from_bytes(_rgb(cue.color), "big")) + b"\x01\x00"
    if cue is None:
        return b"\xff" * 8 + b"\0\xff\xff\xff\xff\0" + b"\0" * 5
    return struct.pack(">I", cue.position_ms) + b"\xff" * 4 + b"\0\xff\xff\xff\xff\0" + _rgb(cue.color) + b"\x01\0"


def legacy_replace_cues(m: LegacyMarkers, cues: Sequence[SeratoCue]) -> LegacyMarkers:
    """Rewrite the cue slots (the first five in Serato's files) from ``cues``; Serato prefers
    ``Markers_`` over ``Markers2`` when both exist, so a writer must keep them in step. Loops and
    the footer keep their bytes; cues with an index beyond the slots are left out."""
    by_index = {c.index: c for c in cues}
    out, slot = [], 0
    for e in m.entries:
        if e.kind in (0, 1):
            cue = by_index.get(slot)
            same = cue is not None and e.kind == 1 and (e.start_ms, e.color) == (cue.position_ms, cue.color)
            keep = same or (cue is None and e.kind == 0)
            out.append(e if keep else _legacy_entry(_legacy_cue_raw(cue, m.variant), m.variant))
            slot += 1
        else:
            out.append(e)
    return replace(m, entries=tuple(out))


# --- OGG serato_markers text form --------------------------------------------------------------

_OGG_MARKERS = re.compile(r"([0-9A-Fa-f]{8})([0-9A-Fa-f]{8})([0-9A-Fa-f]{8})((?:\(-?\d+(?:,-?\d+)*\))*)")


@dataclass(frozen=True)
class OggMarkers:
    """OGG ``serato_markers``: three hex words (the third ``00RRGGBB`` = track colour) and one
    ``(a,b,...)`` tuple of integers per slot (first value: slot kind as in ``Markers_``)."""

    header: tuple[int, int, int]
    slots: tuple[tuple[int, ...], ...]
    hex_lower: bool = False

    @property
    def track_color(self) -> str:
        return f"#{self.header[2] & 0xFFFFFF:06x}"


def parse_markers_ogg(value: bytes | str) -> OggMarkers:
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    match = _OGG_MARKERS.fullmatch(text)
    if match is None:
        raise _fail("OGG serato_markers text does not match 'XXXXXXXXXXXXXXXXXXXXXXXX(a,b,...)...'")
    header = tuple(int(match.group(i), 16) for i in (1, 2, 3))
    slots = tuple(tuple(int(v) for v in t.split(",")) for t in re.findall(r"\(([^)]*)\)", match.group(4)))
    lower = text[:24] != text[:24].upper()
    return OggMarkers((header[0], header[1], header[2]), slots, lower)


def dump_markers_ogg(m: OggMarkers) -> bytes:
    head = "".join(f"{v:08X}" for v in m.header)
    head = head.lower() if m.hex_lower else head
    return (head + "".join("(" + ",".join(map(str, s)) + ")" for s in m.slots)).encode("ascii")
