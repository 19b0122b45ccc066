"""Codec for ``Serato BeatGrid`` (``01 00``, u32 count, markers of f32 seconds + u32 beats-till-next or
f32 bpm, 1 footer byte; Ogg: its own text form). Bytes in, bytes out; ``dump`` gives back the input."""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass

from djstruct.library.serato.markers import _fail

logger = logging.getLogger(__name__)


# --- Serato BeatGrid ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BeatGridMarker:
    """Non-terminal: ``beats_till_next`` set; terminal (the last one): ``bpm`` set. Seconds."""

    position_s: float
    beats_till_next: int | None = None
    bpm: float | None = None


@dataclass(frozen=True)
class SeratoBeatGrid:
    markers: tuple[BeatGridMarker, ...]
    version: bytes = b"\x01\x00"
    footer: bytes = b"\x00"
    hex_lower: bool = False  # OGG text form only


def _grid_markers(body: bytes, count: int) -> tuple[BeatGridMarker, ...]:
    out = []
    for i in range(count):
        pos, raw = struct.unpack_from(">f4s", body, 8 * i)
        if i < count - 1:
            out.append(BeatGridMarker(pos, beats_till_next=struct.unpack(">I", raw)[0]))
        else:
            out.append(BeatGridMarker(pos, bpm=struct.unpack(">f", raw)[0]))
    return tuple(out)


def _grid_body(bg: SeratoBeatGrid) -> bytes:
    parts = [struct.pack(">I", len(bg.markers))]
    for i, mk in enumerate(bg.markers):
        if i < len(bg.markers) - 1:
            parts.append(struct.pack(">fI", mk.position_s, mk.beats_till_next or 0))
        else:
            parts.append(struct.pack(">ff", mk.position_s, mk.bpm or 0.0))
    return b"".join(parts)


def parse_beatgrid(payload: bytes) -> SeratoBeatGrid:
    if len(payload) < 6 or payload[:2] != b"\x01\x00":
        raise _fail(f"BeatGrid header {payload[:2].hex()} is not 0100")
    (count,) = struct.unpack_from(">I", payload, 2)
    if len(payload) < 6 + 8 * count:
        raise _fail(f"BeatGrid claims {count} markers but has {len(payload)} bytes")
    return SeratoBeatGrid(_grid_markers(payload[6:], count), payload[:2], payload[6 + 8 * count :])


def dump_beatgrid(bg: SeratoBeatGrid) -> bytes:
    return bg.version + _grid_body(bg) + bg.footer


def parse_beatgrid_ogg(value: bytes | str) -> SeratoBeatGrid:
    """OGG ``serato_beatgrid``: hex text of u32 count + markers (no version, no footer)."""
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    try:
        body = bytes.fromhex(text)
    except ValueError:
        raise _fail("OGG beatgrid is not hex text") from None
    (count,) = struct.unpack_from(">I", body) if len(body) >= 4 else (-1,)
    if count < 0 or len(body) != 4 + 8 * count:
        raise _fail(f"OGG beatgrid has {len(body)} bytes for {count} markers")
    return SeratoBeatGrid(_grid_markers(body[4:], count), b"", b"", text != text.upper())


def dump_beatgrid_ogg(bg: SeratoBeatGrid) -> bytes:
    text = _grid_body(bg).hex()
    return (text if bg.hex_lower else text.upper()).encode("ascii")
