"""Serato DJ's per-track data (cues, saved loops, beat grid, colour) from the tags of audio files.

Files are only opened for reading (see :mod:`.tags` for the containers). Positions are Serato's
milliseconds as seconds on Serato's timeline; :mod:`djstruct.timing` converts them (the folder
reader does). Colours are the stored values (``#rrggbb``).
"""

from __future__ import annotations

import logging
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from djstruct.errors import LibraryError, TagError
from djstruct.library.serato import beatgrid as bgc
from djstruct.library.serato import legacy as lg
from djstruct.library.serato import markers as sm
from djstruct.library.serato.tags import BEATGRID, MARKERS2, MARKERS_, TagFile, format_of, open_audio, stored_values
from djstruct.types import Cue, GridMarker, LibraryGrid

logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class SeratoTags:
    """What Serato stored in one file.

    ``cues``: hot cues (``kind="hot"``, ``slot`` 0-7) sorted by slot, then saved loops
    (``kind="memory"``, ``slot=None``, ``end`` set; Serato's loop bank is separate from the hot cue
    pads, so loops never occupy a hot cue slot). ``raw`` maps Serato tag names (``"Serato
    Markers2"``...) to the value exactly as stored in the container (GEOB body, FLAC/OGG comment
    text as bytes, MP4 atom bytes); ``container`` is ``"id3"``, ``"flac"``, ``"mp4"``, ``"ogg"`` or
    ``""`` when the file has no tags at all.
    """

    cues: tuple[Cue, ...] = ()
    grid: LibraryGrid | None = None
    bpm_locked: bool = False
    color: str | None = None
    raw: dict[str, bytes] = field(default_factory=dict)
    container: str = ""

    @property
    def hot_cues(self) -> tuple[Cue, ...]:
        return tuple(c for c in self.cues if not c.is_loop)

    @property
    def loops(self) -> tuple[Cue, ...]:
        return tuple(c for c in self.cues if c.is_loop)


def raw_serato_values(audio: Any, path: Path) -> tuple[str, dict[str, bytes]]:
    """``(container, {Serato tag name: stored value})`` from a mutagen object (``""``, {} when the
    format holds no Serato tags)."""
    from mutagen.id3 import ID3

    fmt = format_of(audio, path)
    tags = audio if isinstance(audio, ID3) else getattr(audio, "tags", None)
    if fmt is None or tags is None:
        return "", {}
    return fmt.container, stored_values(TagFile(path, fmt, audio, tags, os.stat(path)))


def read_serato_tags(path: Path | str) -> SeratoTags:
    """Serato data of one audio file; empty :class:`SeratoTags` when it has none.

    Raises :class:`TagError` naming the file and the tag when a payload is malformed, and
    :class:`LibraryError` when the file cannot be read at all.
    """
    path = Path(path)
    audio = open_audio(path)
    if audio is None:
        raise LibraryError(path, "not an audio file with tags that mutagen can read")
    container, raw = raw_serato_values(audio, path)
    return parse_serato_values(path, container, raw)


def _payload(container: str, name: str, value: bytes) -> bytes:
    if container in ("flac", "mp4"):
        return sm.decode_envelope(value, name).payload
    return value


def _parse(path: Path, container: str, name: str, raw: dict[str, bytes]) -> Any:
    value = raw.get(name)
    if value is None or (container == "flac" and name == MARKERS_):
        return None
    try:
        if container == "ogg":
            parse_ogg = {MARKERS2: sm.parse_markers2_ogg, MARKERS_: lg.parse_markers_ogg}
            return parse_ogg.get(name, bgc.parse_beatgrid_ogg)(value)
        payload = _payload(container, name, value)
        if name == MARKERS2:
            return sm.parse_markers2(payload)
        if name == MARKERS_:
            return lg.parse_markers_(payload, "mp4" if container == "mp4" else "id3")
        return bgc.parse_beatgrid(payload)
    except (TagError, ValueError, struct.error, IndexError) as exc:
        reason = exc.reason if isinstance(exc, TagError) else str(exc)
        raise TagError(path, f"malformed '{name}' tag ({container}): {reason}") from None


def grid_from_beatgrid(bg: bgc.SeratoBeatGrid) -> LibraryGrid | None:
    """LibraryGrid from Serato markers. A non-terminal marker's tempo is ``beats_till_next * 60 /
    (next position - position)``; the terminal one stores its bpm. Serato draws bar 1 at the first
    marker and places tempo markers on bar lines, so each marker gets ``beat_in_bar=1``."""
    out: list[GridMarker] = []
    ms = bg.markers
    for i, mk in enumerate(ms):
        if i < len(ms) - 1:
            span = ms[i + 1].position_s - mk.position_s
            bpm = (mk.beats_till_next or 0) * 60.0 / span if span > 0 else 0.0
        else:
            bpm = mk.bpm or 0.0
        marker = GridMarker(float(mk.position_s), float(bpm), 1)
        if marker.valid:
            out.append(marker)
        else:
            logger.warning("ignoring Serato grid marker %d: position %s s, %s BPM", i, mk.position_s, bpm)
    return LibraryGrid(tuple(out)) if out else None


def _cues(container: str, m2: Any, legacy: Any) -> tuple[Cue, ...]:
    if isinstance(m2, sm.Markers2):
        hot, loops = sm.markers2_cues(m2), sm.markers2_loops(m2)
    elif isinstance(legacy, lg.LegacyMarkers):
        hot, loops = lg.legacy_cues(legacy), lg.legacy_loops(legacy)
    else:
        return ()
    if container == "ogg":  # Serato writes black 0 ms placeholder CUEs into OGG files
        hot = [c for c in hot if (c.position_ms, c.color, c.name) != (0, "#000000", "")]
    out = [
        Cue("hot", c.position_ms / 1000.0, slot=c.index, name=c.name, color=c.color)
        for c in sorted(hot, key=lambda c: c.index)
        if 0 <= c.index <= 7
    ]
    out += [
        Cue("memory", lp.start_ms / 1000.0, end_s=lp.end_ms / 1000.0, name=lp.name, color=lp.color)
        for lp in sorted(loops, key=lambda lp: (lp.start_ms, lp.index))
        if lp.end_ms > lp.start_ms  # empty loop slots (0-0 ms) are placeholders
    ]
    return tuple(out)


def parse_serato_values(path: Path, container: str, raw: dict[str, bytes]) -> SeratoTags:
    """Build :class:`SeratoTags` from the stored values (see :func:`raw_serato_values`)."""
    if not raw:
        return SeratoTags(container=container)
    m2 = _parse(path, container, MARKERS2, raw)
    legacy = _parse(path, container, MARKERS_, raw)
    bg = _parse(path, container, BEATGRID, raw)
    try:
        cues = _cues(container, m2, legacy)
    except TagError as exc:
        raise TagError(path, f"malformed cue in '{MARKERS2}' tag ({container}): {exc.reason}") from None
    color = sm.markers2_color(m2) if m2 is not None else None
    if color is None and legacy is not None:
        color = legacy.track_color
    locked = bool(sm.markers2_bpm_locked(m2)) if m2 is not None else False
    grid = grid_from_beatgrid(bg) if bg is not None else None
    return SeratoTags(cues, grid, locked, color, dict(raw), container)
