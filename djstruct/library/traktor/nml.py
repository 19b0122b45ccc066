"""Read a Traktor Pro 3/4 collection (``collection.nml``) into djstruct tracks.

Layout (NML ``VERSION`` 19 = Traktor Pro 3, 20+ = Traktor Pro 4)::

    <NML VERSION="19"><HEAD .../><MUSICFOLDERS/>
    <COLLECTION ENTRIES="151">
      <ENTRY TITLE=".." ARTIST=".." AUDIO_ID=".." MODIFIED_DATE=".." ...>
        <LOCATION DIR="/:Users/:dj/:Music/:" FILE="x.mp3" VOLUME="Macintosh HD" VOLUMEID=".."/>
        <INFO PLAYTIME="420" PLAYTIME_FLOAT="419.604889" .../>
        <TEMPO BPM="124.999985" BPM_QUALITY="100.000000"/>
        <CUE_V2 NAME="AutoGrid" DISPL_ORDER="0" TYPE="4" START="52.341659" LEN="0.000000" REPEATS="-1"
                HOTCUE="0"><GRID BPM="125.000000"/></CUE_V2>
        <CUE_V2 NAME="n.n." DISPL_ORDER="0" TYPE="5" START="77103.255837" LEN="3809.518965" REPEATS="-1"
                HOTCUE="1"/>
      </ENTRY>
    </COLLECTION>
    <PLAYLISTS> ... <PRIMARYKEY TYPE="TRACK" KEY="Macintosh HD/:Users/:dj/:Music/:x.mp3"/> ...

``CUE_V2``: ``START``/``LEN`` in milliseconds on Traktor's timeline (see :mod:`djstruct.timing`),
``TYPE`` 0 cue, 1 fade-in, 2 fade-out, 3 load, 4 grid marker, 5 loop; ``HOTCUE`` -1 none, 0-7 hot
cue 1-8; ``NAME`` ``n.n.`` means unnamed. A grid marker takes its tempo from its ``GRID`` child,
else from ``TEMPO``; Traktor often files the AutoGrid marker under hot cue 1, so a grid marker with
a slot is also listed as a hot cue (``extras["mark_types"]`` says ``"grid"``) to keep that slot taken.

Bad input: a non-numeric, infinite, negative or absurd number is ignored with a warning (the
element stays in the file untouched for writers); an ENTRY without a usable LOCATION becomes a
:class:`LibraryError` naming it, in place of its track, and the rest goes on; unknown elements and
attributes are ignored here (writers copy them through). A file that is not well-formed XML
raises :class:`LibraryError`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from djstruct.errors import LibraryError
from djstruct.library.traktor.locations import location_to_path, primary_key, streaming_kind, volume_mounted
from djstruct.library.traktor.spans import NmlDocument, Span, parse_nml
from djstruct.timing import track_from_app
from djstruct.types import Cue, GridMarker, LibraryGrid, Track

logger = logging.getLogger(__name__)

SOURCE = "traktor-nml"
ID_PREFIX = "nml:"
UNNAMED = "n.n."
CUE_TYPES: dict[int, str] = {0: "cue", 1: "fade-in", 2: "fade-out", 3: "load", 4: "grid", 5: "loop"}
MAX_MS = 24 * 3600 * 1000.0  # nothing in a DJ track is a day long
MIN_GRID_MS = -10_000.0  # a grid anchor may sit a little before the audio starts
BPM_RANGE = (20.0, 400.0)


def read_nml(path: Path, *, volume_roots: Mapping[str, str | Path] | None = None,
             include_streaming: bool = False) -> list[Track | LibraryError]:
    """All collection entries of ``path`` in file order; ids are ``"nml:<VOLUME+DIR+FILE>"``.

    ``volume_roots`` maps a Traktor volume name to a local folder (see
    :func:`~djstruct.library.traktor.locations.location_to_path`). Streaming entries are left out
    unless ``include_streaming`` (then they are tracks with ``extras["streaming"]`` = the service
    and a path that is not a local file: list them, never analyse or write them). ``extras`` holds
    ``nml_key``, ``volume``, ``dir``, ``file``, ``volume_mounted``, ``entry_index`` and, when
    present, ``audio_id`` and ``mark_types`` (index into ``cues`` -> ``fade-in``/``fade-out``/
    ``load``/``grid``). Raises :class:`LibraryError` for an unreadable or malformed file.
    """
    return tracks_from_document(parse_nml(Path(path)), volume_roots=volume_roots,
                                include_streaming=include_streaming)


def read_playlists(path: Path) -> dict[str, list[str]]:
    """Playlist path (``"Folder/Playlist"``, ``$ROOT`` left out) -> track ids in playlist order."""
    doc = parse_nml(Path(path))
    return {name: [ID_PREFIX + k for k in keys] for name, keys in doc.playlists.items()}


def tracks_from_document(doc: NmlDocument, *, volume_roots: Mapping[str, str | Path] | None = None,
                         include_streaming: bool = False) -> list[Track | LibraryError]:
    out: list[Track | LibraryError] = []
    streaming = 0
    for index, entry in enumerate(doc.entries):
        try:
            track = _track(doc.path, index, entry, volume_roots)
        except LibraryError as exc:
            logger.warning("%s", exc)
            out.append(exc)
            continue
        if "streaming" in track.extras:
            streaming += 1
            if not include_streaming:
                continue
        out.append(track)
    if streaming:
        logger.info("%s: %d streaming entries (no local file)%s", doc.path, streaming,
                    "" if include_streaming else " left out")
    logger.debug("%s: %d entries", doc.path, len(doc.entries))
    return out


def entry_label(index: int, entry: Span) -> str:
    """``ENTRY 12 (Artist - Title, line 345)`` for messages."""
    name = " - ".join(x for x in (entry.attrs.get("ARTIST", ""), entry.attrs.get("TITLE", "")) if x)
    return f"ENTRY {index + 1} ({name or 'untitled'}, line {entry.line})"


def number(value: str | None, what: str, where: str, *, lo: float = 0.0, hi: float = MAX_MS) -> float | None:
    """``float(value)`` when it is a finite number in [lo, hi]; else None, with a warning."""
    if value is None or value.strip() == "":
        return None
    try:
        x = float(value)
    except ValueError:
        x = math.nan
    if not math.isfinite(x) or not lo <= x <= hi:
        logger.warning("%s: %s=%r ignored (not a number in [%g, %g])", where, what, value, lo, hi)
        return None
    return x


def child(entry: Span, tag: str) -> Span | None:
    return next((c for c in entry.children if c.tag == tag), None)


def _track(path: Path, index: int, entry: Span, volume_roots: Mapping[str, str | Path] | None) -> Track:
    where = f"{path}: {entry_label(index, entry)}"
    loc = child(entry, "LOCATION")
    if loc is None or not loc.attrs.get("FILE"):
        raise LibraryError(path, f"{entry_label(index, entry)}: no LOCATION with a FILE; entry skipped")
    volume, directory, file = (loc.attrs.get(k, "") for k in ("VOLUME", "DIR", "FILE"))
    key = primary_key(volume, directory, file)
    extras: dict[str, Any] = {"nml_key": key, "volume": volume, "dir": directory, "file": file,
                              "entry_index": index}
    if entry.attrs.get("AUDIO_ID"):
        extras["audio_id"] = entry.attrs["AUDIO_ID"]
    kind = streaming_kind(volume, loc.attrs.get("VOLUMEID", ""), directory, file)
    if kind is not None:
        extras["streaming"] = kind
        file_path = Path(f"{kind}:{file}")
        extras["volume_mounted"] = False
    else:
        file_path = location_to_path(volume, directory, file, volume_roots=volume_roots)
        extras["volume_mounted"] = volume_mounted(volume, volume_roots=volume_roots)
    info, tempo = child(entry, "INFO"), child(entry, "TEMPO")
    duration = None
    if info is not None:
        duration = number(info.attrs.get("PLAYTIME_FLOAT"), "PLAYTIME_FLOAT", where, hi=MAX_MS / 1000)
        if duration is None:
            duration = number(info.attrs.get("PLAYTIME"), "PLAYTIME", where, hi=MAX_MS / 1000)
    bpm = None if tempo is None else number(tempo.attrs.get("BPM"), "TEMPO BPM", where, lo=BPM_RANGE[0],
                                            hi=BPM_RANGE[1])
    cues, markers, mark_types = _cues(entry, bpm, where)
    if mark_types:
        extras["mark_types"] = mark_types
    return track_from_app(Track(
        id=ID_PREFIX + key,
        path=file_path,
        source=SOURCE,
        duration_s=duration if duration else None,
        bpm=bpm,
        grid=LibraryGrid.checked(sorted(markers, key=lambda m: m.start_s)),
        cues=tuple(cues),
        title=entry.attrs.get("TITLE", ""),
        artist=entry.attrs.get("ARTIST", ""),
        extras=extras,
    ), "traktor")


def _cues(entry: Span, bpm: float | None, where: str) -> tuple[list[Cue], list[GridMarker], dict[int, str]]:
    cues: list[Cue] = []
    markers: list[GridMarker] = []
    mark_types: dict[int, str] = {}
    for c in entry.children:
        if c.tag != "CUE_V2":
            continue
        what = f"{where}: CUE_V2 {c.attrs.get('NAME', '')!r}"
        try:
            kind = int(c.attrs.get("TYPE", "0"))
            slot = int(c.attrs.get("HOTCUE", "-1"))
        except ValueError:
            logger.warning("%s: TYPE=%r/HOTCUE=%r not integers; cue ignored", what, c.attrs.get("TYPE"),
                           c.attrs.get("HOTCUE"))
            continue
        if kind not in CUE_TYPES or not -1 <= slot <= 7:
            logger.warning("%s: TYPE=%d HOTCUE=%d unknown; cue ignored", what, kind, slot)
            continue
        start = number(c.attrs.get("START"), "START", what, lo=MIN_GRID_MS if kind == 4 else 0.0)
        if start is None:
            continue
        name = c.attrs.get("NAME", "")
        name = "" if name == UNNAMED else name
        if kind == 4:
            grid = child(c, "GRID")
            marker_bpm = None if grid is None else number(grid.attrs.get("BPM"), "GRID BPM", what,
                                                          lo=BPM_RANGE[0], hi=BPM_RANGE[1])
            marker_bpm = marker_bpm or bpm
            if marker_bpm is None:
                logger.warning("%s: grid marker without a usable BPM; not used as a grid", what)
            else:
                markers.append(GridMarker(start / 1000.0, marker_bpm, 1))
            if slot < 0 or start < 0:
                continue
        end = None
        if kind == 5:
            length = number(c.attrs.get("LEN"), "LEN", what)
            if not length:
                logger.warning("%s: loop without a length; read as a cue", what)
            else:
                end = (start + length) / 1000.0
        if kind not in (0, 5):
            mark_types[len(cues)] = CUE_TYPES[kind]
        if slot >= 0:
            cues.append(Cue("hot", start / 1000.0, slot, end, name))
        else:
            cues.append(Cue("memory", start / 1000.0, None, end, name))
    return cues, markers, mark_types
