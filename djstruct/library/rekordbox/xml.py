"""Read a rekordbox XML export (File > Export Collection in xml format) into djstruct tracks.

Layout (rekordbox 5.8 - 7)::

    <DJ_PLAYLISTS Version="1.0.0">
      <PRODUCT Name="rekordbox" Version="6.6.1" .../>
      <COLLECTION Entries="2018">
        <TRACK TrackID="212351236" Name=".." Artist=".." TotalTime="250" AverageBpm="174.00"
               Location="file://localhost/Users/..">
          <TEMPO Inizio="0.104" Bpm="174.00" Metro="4/4" Battito="1"/>       beat grid anchor
          <POSITION_MARK Name="" Type="0" Start="22.173" Num="0" Red="40" Green="226" Blue="20"/>
        </TRACK>
      </COLLECTION>
      <PLAYLISTS><NODE Type="0" Name="ROOT"> <NODE Type="1" Name=".." KeyType="0">
        <TRACK Key="212351236"/> ...

``POSITION_MARK``: ``Type`` 0 cue, 1 fade-in, 2 fade-out, 3 load, 4 loop (``End`` set);
``Num`` -1 memory cue, 0-7 hot cue A-H. ``TEMPO``: ``Inizio`` start (s), ``Battito`` beat in bar.
Streaming tracks (SoundCloud, Beatport, Beatsource, TIDAL...) have a ``Location`` such as
``soundcloud:tracks:123456`` instead of a ``file://`` URL: they are counted (one log line) and left
out, or listed with ``extras["streaming"]`` when asked for (no local file: never analyse or write them).
The file is streamed with ``iterparse`` (each track is dropped once read), so a 100k-track
export does not have to fit in memory as a tree.
"""

from __future__ import annotations

import logging
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from djstruct.errors import LibraryError
from djstruct.library.rekordbox.locations import location_to_path
from djstruct.timing import track_from_app
from djstruct.types import Cue, GridMarker, LibraryGrid, Track

logger = logging.getLogger(__name__)

SOURCE = "rekordbox-xml"
ID_PREFIX = "rbx:"
MARK_TYPES: dict[int, str] = {0: "cue", 1: "fade-in", 2: "fade-out", 3: "load", 4: "loop"}
MAX_TIME_S = 86400.0  # a mark or a track past 24 h is a corrupt number, not a time
_STREAMING = re.compile(r"^(?:file://localhost/*)?(soundcloud|beatport|beatsource|tidal|spotify|applemusic|"
                        r"apple-music|deezer)(?::|%3a|/)", re.IGNORECASE)


def streaming_kind(location: str) -> str | None:
    """The streaming service a rekordbox ``Location`` names (``"soundcloud"``...), or None."""
    m = _STREAMING.match(location.strip())
    return m.group(1).lower() if m else None


def read_xml(path: Path, *, include_streaming: bool = False) -> list[Track]:
    """All tracks of the ``COLLECTION``, in file order; ids are ``"rbx:<TrackID>"``.

    ``Track.extras`` holds ``location`` (the original URL, for writers), ``xml_track_id`` and,
    when present, ``kind`` and ``mark_types`` (POSITION_MARK types other than plain cues, by
    index into ``cues``). A track that cannot be used (no ``Location``, not a ``file:`` URL) is
    skipped with a warning; a bad POSITION_MARK or TEMPO is skipped, the track kept. Raises
    :class:`LibraryError` (one line, with line/column) for a file that is not a well-formed
    rekordbox XML export. Streaming tracks are left out (counted in one log line) unless
    ``include_streaming``: then they come with ``extras["streaming"]`` (the service) and their
    ``Location`` as a path that is no local file.
    """
    tracks: list[Track] = []
    has_collection = False
    streaming = 0
    for elem, parents in _iter_elements(path):
        if elem.tag == "TRACK" and parents[-1:] == ["COLLECTION"]:
            track = _track(elem, path)
            if track is not None and "streaming" in track.extras:
                streaming += 1
                track = track if include_streaming else None
            if track is not None:
                tracks.append(track)
            elem.clear()
        elif elem.tag == "COLLECTION":
            has_collection = True
    if not has_collection:
        raise LibraryError(path, "not a rekordbox XML export: no <COLLECTION> element")
    if streaming:
        logger.info("%s: %d streaming tracks (no local file)%s", path, streaming,
                    "" if include_streaming else " left out")
    logger.debug("%s: %d tracks", path, len(tracks))
    return tracks


def read_playlists(path: Path) -> dict[str, list[str]]:
    """Playlist path (``"Folder/Sub Playlist"``, ROOT left out) -> track ids in playlist order.

    Folders are not listed; an empty playlist maps to ``[]``. ``KeyType="1"`` playlists (keyed
    by Location) are resolved through the collection. A ``/`` inside a name is kept as is; a
    repeated path gets ``" (2)"``, ``" (3)"``... appended.
    """
    by_location: dict[str, str] = {}
    playlists: dict[str, list[str]] = {}
    names: list[str] = []
    current: list[str] | None = None
    key_is_location = False
    for event, elem, parents in _iter_elements(path, events=("start", "end")):
        if elem.tag == "TRACK" and parents[-1:] == ["COLLECTION"]:
            if event == "end":
                tid, loc = elem.get("TrackID"), elem.get("Location")
                if tid is not None and loc is not None:
                    by_location[loc] = ID_PREFIX + tid
                elem.clear()
        elif elem.tag == "NODE" and "PLAYLISTS" in parents:
            if event == "start":
                level = len(parents) - parents.index("PLAYLISTS") - 1  # 0 for ROOT
                names = names[:level] + [elem.get("Name", "")]
                if elem.get("Type") == "1":
                    name = "/".join(names[1:])  # names[0] is ROOT
                    unique, n = name, 1
                    while unique in playlists:
                        n += 1
                        unique = f"{name} ({n})"
                    current = playlists.setdefault(unique, [])
                    key_is_location = elem.get("KeyType") == "1"
            else:
                current = None if elem.get("Type") == "1" else current
        elif elem.tag == "TRACK" and event == "start" and current is not None:
            key = elem.get("Key")
            if key is None:
                continue
            if key_is_location:
                if key in by_location:
                    current.append(by_location[key])
                else:
                    logger.warning("%s: playlist entry %s is not in the collection", path, key)
            else:
                current.append(ID_PREFIX + key)
    return playlists


def _iter_elements(path: Path, events: tuple[str, ...] = ("end",)) -> Iterator[Any]:
    """Yield ``elem, parent_tags`` (or ``event, elem, parent_tags`` with several events).

    Checks the root element and turns parser/OS errors into a one-line :class:`LibraryError`.
    """
    stack: list[str] = []
    want_event = len(events) > 1
    try:
        for event, elem in ET.iterparse(str(path), events=("start", "end")):
            if event == "start":
                if not stack and elem.tag != "DJ_PLAYLISTS":
                    raise LibraryError(path, f"not a rekordbox XML export: root element is "
                                             f"<{elem.tag}>, expected <DJ_PLAYLISTS>")
                stack.append(elem.tag)
                if "start" in events:
                    yield (event, elem, stack[:-1]) if want_event else (elem, stack[:-1])
            else:
                stack.pop()
                if "end" in events:
                    yield (event, elem, stack) if want_event else (elem, stack)
    except ET.ParseError as exc:
        line, col = exc.position
        reason = str(exc).split(":")[0]
        raise LibraryError(path, f"malformed or truncated XML: {reason} (line {line}, "
                                 f"column {col})") from exc
    except OSError as exc:
        raise LibraryError(path, f"cannot read file: {exc.strerror or exc}") from exc
    except LookupError as exc:  # an encoding= that Python does not know
        raise LibraryError(path, f"cannot read the XML: {exc}; rekordbox writes UTF-8") from exc
    except UnicodeError as exc:
        raise LibraryError(path, f"cannot decode the XML: {exc}") from exc


def number(attrs: Mapping[str, str], name: str, lo: float, hi: float) -> float | None:
    """Attribute ``name`` as a finite number in [lo, hi]; None when absent or empty; ValueError
    (saying what is wrong) for anything else."""
    value = attrs.get(name)
    if value is None:
        return None
    try:
        x = float(value)
    except ValueError:
        if not value.strip():
            return None
        raise ValueError(f"{name}={value!r} is not a number") from None
    if lo <= x <= hi and x - x == 0.0:  # x - x is nan for inf and nan
        return x
    raise ValueError(f"{name}={value!r} is not a number in [{lo:g}, {hi:g}]")


def _track_number(elem: ET.Element, name: str, hi: float, path: Path, tid: str) -> float | None:
    try:
        x = number(elem.attrib, name, 0.0, hi)
    except ValueError as exc:
        logger.warning("%s: TRACK %s: %s; left empty", path, tid, exc)
        return None
    return x if x else None


def _track(elem: ET.Element, path: Path) -> Track | None:
    tid = elem.get("TrackID", "")
    location = elem.get("Location")
    if not tid or not location:
        logger.warning("%s: TRACK %r without TrackID/Location skipped", path, tid)
        return None
    service = streaming_kind(location)
    if service is not None:
        file_path = Path(location)
    else:
        try:
            file_path = location_to_path(location)
        except ValueError:
            logger.warning("%s: TRACK %s has no local file (Location=%r); skipped", path, tid, location)
            return None
    duration = _track_number(elem, "TotalTime", MAX_TIME_S, path, tid)
    bpm = _track_number(elem, "AverageBpm", 10_000.0, path, tid)
    markers: list[GridMarker] = []
    cues: list[Cue] = []
    mark_types: dict[int, str] = {}
    for child in elem:
        try:
            if child.tag == "TEMPO":
                markers.append(_marker(child))
            elif child.tag == "POSITION_MARK":
                cue, mark_type = parse_mark(child.attrib)
                if mark_type != 0:
                    mark_types[len(cues)] = MARK_TYPES.get(mark_type, str(mark_type))
                cues.append(cue)
        except (TypeError, ValueError) as exc:
            logger.warning("%s: TRACK %s: bad %s skipped (%s)", path, tid, child.tag, exc)
    extras: dict[str, object] = {"location": location, "xml_track_id": tid}
    if service is not None:
        extras["streaming"] = service
    if elem.get("Kind"):
        extras["kind"] = elem.get("Kind", "").strip()
    if elem.get("Genre"):
        extras["genre"] = elem.get("Genre", "").strip()
    if mark_types:
        extras["mark_types"] = mark_types
    bad = [m for m in markers if not m.valid]
    if bad:
        logger.warning("%s: TRACK %s: %d TEMPO element(s) with an impossible tempo or time ignored",
                       path, tid, len(bad))
    return track_from_app(Track(
        id=ID_PREFIX + tid,
        path=file_path,
        source=SOURCE,
        duration_s=duration,
        bpm=bpm,
        grid=LibraryGrid.checked(markers),
        cues=tuple(cues),
        title=elem.get("Name", ""),
        artist=elem.get("Artist", ""),
        extras=extras,
    ), "rekordbox")


def _marker(elem: ET.Element) -> GridMarker:
    start = number(elem.attrib, "Inizio", -math.inf, math.inf)
    bpm = number(elem.attrib, "Bpm", -math.inf, math.inf)
    if start is None or bpm is None:
        raise ValueError("TEMPO without Inizio/Bpm")
    beat = int(elem.get("Battito") or 1)
    return GridMarker(start, bpm, (beat - 1) % 4 + 1)  # Battito 0 (seen once) reads as 4


def parse_mark(attrs: Mapping[str, str]) -> tuple[Cue, int]:
    """``(cue, Type)`` of one ``POSITION_MARK`` (its attributes), on rekordbox's timeline; ValueError
    for a mark djstruct does not understand: no ``Start``, a ``Start`` or ``End`` that is no time in
    0-24 h, a ``Num`` other than -1..7, a ``Type`` or colour that is not an integer. The XML writer
    copies such marks through unchanged (:func:`~djstruct.library.rekordbox.xml_patch.patch_base`
    asks this same function), so they are never lost."""
    start = number(attrs, "Start", 0.0, MAX_TIME_S)
    if start is None:
        raise ValueError("POSITION_MARK without Start")
    num = int(attrs.get("Num") or -1)
    if not -1 <= num <= 7:
        raise ValueError(f"Num={num} is not a hot cue slot (0-7) or -1")
    mark_type = int(attrs.get("Type") or 0)
    end = number(attrs, "End", 0.0, MAX_TIME_S)
    if end is not None and end <= start:
        end = None
    color = None
    if all(attrs.get(c) is not None for c in ("Red", "Green", "Blue")):
        rgb = [max(0, min(255, int(attrs.get(c, "0")))) for c in ("Red", "Green", "Blue")]
        color = "#{:02x}{:02x}{:02x}".format(*rgb)
    name = attrs.get("Name", "")
    if num >= 0:
        return Cue("hot", start, num, end, name, color), mark_type
    return Cue("memory", start, None, end, name, color), mark_type
