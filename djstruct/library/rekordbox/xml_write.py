"""Write cues into a rekordbox XML file that the DJ imports through rekordbox's "rekordbox xml" view.

Two modes of :func:`write_xml`:

* ``base_xml`` given (the user's own *File > Export Collection in xml format*): a NEW file is
  written that is byte-for-byte the input except for the ``POSITION_MARK`` cue/loop elements of
  the listed tracks. The input is scanned with expat for byte offsets and only those spans are
  replaced, so playlists, ``TEMPO``, ``PRODUCT``, unknown elements/attributes, comments and
  formatting survive untouched. Marks of other types (1 fade-in, 2 fade-out, 3 load) are not
  ours and are kept too.
* no ``base_xml`` (a folder library or a master.db): a minimal export is built from
  :class:`~djstruct.types.Track` objects, with a playlist ``"djstruct"`` listing them.

New elements are formatted the way rekordbox (JUCE's ``XmlElement`` writer) formats its exports:
CRLF, two-space indentation, and attributes wrapped before the next one once a line holds more
than 60 characters of attributes, continuation lines aligned after ``<TAG``. Re-serializing the
rekordbox 5/6 fixtures and a real 2,018-track 6.6.1 export with these rules gives them back byte
for byte, so a rewritten track reads as if rekordbox had written it. Newline style, indentation
and wrapping are taken from the input where there is one.

``POSITION_MARK`` attributes, in rekordbox's order: ``Name``, ``Type`` (0 cue, 4 loop), ``Start``
and ``End`` in seconds with 3 decimals, ``Num`` (0-7 hot cue A-H, -1 memory cue), then
``Red``/``Green``/``Blue`` when the cue has a colour. Cues are written in the order given.

Timing: ``Start`` is on rekordbox's own decoding timeline and no offset is applied here: the
caller converts djstruct times (encoder delay removed) first. Known differences, to be checked
with a click track before relying on them: rekordbox ignores LAME/Xing gapless info, so an MP3
plays the encoder + decoder delay (typically 576 + 529 = 1105 samples, ~25-26 ms at 44.1 kHz)
that a gapless decoder drops; an MP3 *without* a LAME header measured the same ~1105 samples
late against its source. AAC/M4A carries priming samples (usually 2112, ~48 ms at 44.1 kHz,
declared by the MP4 edit list); without an edit list the decoded audio measured ~23 ms late.
How rekordbox treats AAC priming is not verified. WAV, AIFF and FLAC have no offset.

Every write goes to a temporary file in the target folder, is fsync'ed, parsed back with
:func:`~djstruct.library.rekordbox_xml.read_xml` and checked cue by cue (time within 1 ms, slot,
name, colour), and only then moved over ``out`` with :func:`os.replace`.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from djstruct import __version__
from djstruct.errors import LibraryError, WritebackError
from djstruct.library.rekordbox.locations import path_to_location
from djstruct.library.rekordbox.xml import ID_PREFIX, read_xml
from djstruct.library.rekordbox.xml_format import BAD_CHARS, CRLF, WRAP_CHARS, Attrs, element, mark_attrs, seconds
from djstruct.library.rekordbox.xml_patch import patch_base
from djstruct.safe_write import atomic_write
from djstruct.types import Cue, Track

logger = logging.getLogger(__name__)

PLAYLIST_NAME = "djstruct"
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class XmlWriteReport:
    """What :func:`write_xml` wrote. ``xml_track_ids`` maps djstruct track ids to the ``TrackID``
    used in the file (minimal mode numbers tracks 1..n; with a base file it is the identity)."""

    out: Path
    tracks_written: int
    cues_written: int
    base_xml: Path | None = None
    xml_track_ids: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"out": str(self.out), "tracks_written": self.tracks_written,
                "cues_written": self.cues_written,
                "base_xml": None if self.base_xml is None else str(self.base_xml)}


def write_xml(out: Path, tracks_cues: Mapping[str, Sequence[Cue]], *, base_xml: Path | None = None,
              tracks: Sequence[Track] | None = None,
              on_ready: Callable[[Path], None] | None = None) -> XmlWriteReport:
    """Write a rekordbox XML file ``out`` whose listed tracks carry exactly the given cues.

    With ``base_xml``, keys of ``tracks_cues`` are ``"rbx:<TrackID>"`` ids from
    :func:`~djstruct.library.rekordbox_xml.read_xml` of that file (``tracks`` is ignored);
    without it, ``tracks`` lists every track to write and keys are their ids (a track missing
    from the mapping is written without cues). Raises :class:`LibraryError` for an unreadable
    or malformed ``base_xml`` and :class:`WritebackError` for bad cues, unknown ids, an ``out``
    that is the input or cannot be written, or a file that does not read back; in every error
    case ``out`` is left as it was. ``on_ready(tmp)`` is called with the verified temporary file
    just before it is renamed over ``out`` (the journal records its hash there).
    """
    out = Path(out)
    tracks_cues = {key: [_at_zero(c) for c in cues] for key, cues in tracks_cues.items()}
    for key, cues in tracks_cues.items():
        _check_cues(out, key, cues)
    if base_xml is not None:
        base = Path(base_xml)
        if out.resolve() == base.resolve() or (out.exists() and base.exists() and os.path.samefile(out, base)):
            raise WritebackError(out, "refusing to overwrite the rekordbox XML export it is based on; "
                                      "choose another output file")
        data, written = patch_base(base, out, tracks_cues)
        expected: Mapping[str, Sequence[Cue]] = written
        ids = {k: k[len(ID_PREFIX):] for k in tracks_cues}
    else:
        if tracks is None:
            raise WritebackError(out, "no base XML and no tracks: nothing to write")
        data, ids = _build_minimal(out, tracks, tracks_cues)
        expected = {ID_PREFIX + ids[t.id]: tracks_cues.get(t.id, ()) for t in tracks}
    n_tracks = len(tracks_cues) if base_xml is not None else len(ids)
    if out.is_dir():
        raise WritebackError(out, "is a folder; give a file name for the XML")
    def verify(tmp: Path) -> None:
        _verify(out, tmp, expected, None if base_xml else n_tracks)
        if on_ready is not None:
            on_ready(tmp)

    atomic_write(out, lambda tmp: tmp.write_bytes(data), verify=verify)
    n_cues = sum(len(c) for c in expected.values())
    logger.info("%s: wrote %d tracks, %d cues", out, n_tracks, n_cues)
    return XmlWriteReport(out, n_tracks, n_cues, None if base_xml is None else Path(base_xml), ids)


def _at_zero(cue: Cue) -> Cue:
    """A start a hair below 0 s (float error of a timeline round trip, under half the 1 ms the XML
    keeps) is 0 s."""
    return replace(cue, start_s=0.0) if -0.0005 < cue.start_s < 0.0 else cue


def _check_cues(out: Path, key: str, cues: Sequence[Cue]) -> None:
    slots: set[int] = set()
    for cue in cues:
        where = f"track {key}, cue at {cue.start_s!r} s"
        if cue.kind == "hot":
            if cue.slot is None or not 0 <= cue.slot <= 7:
                raise WritebackError(out, f"{where}: hot cue slot must be 0-7 (A-H), got {cue.slot!r}")
            if cue.slot in slots:
                raise WritebackError(out, f"{where}: two hot cues in slot {cue.slot}")
            slots.add(cue.slot)
        elif cue.kind != "memory" or cue.slot is not None:
            raise WritebackError(out, f"{where}: not a hot cue (slot 0-7) or a memory cue (no slot)")
        if not math.isfinite(cue.start_s) or cue.start_s < 0:
            raise WritebackError(out, f"{where}: start must be a time >= 0 s")
        if cue.end_s is not None and not (math.isfinite(cue.end_s) and round(cue.end_s, 3) > round(cue.start_s, 3)):
            raise WritebackError(out, f"{where}: loop end {cue.end_s!r} s is not after its start")
        if cue.color is not None and not _COLOR.match(cue.color):
            raise WritebackError(out, f"{where}: colour {cue.color!r} is not '#rrggbb'")
        if BAD_CHARS.search(cue.name):
            raise WritebackError(out, f"{where}: name {cue.name!r} has characters XML cannot hold")


# ---------------------------------------------------------------------------------------------
# minimal mode: a fresh export from Track objects


def _build_minimal(out: Path, tracks: Sequence[Track], tracks_cues: Mapping[str, Sequence[Cue]]
                   ) -> tuple[bytes, dict[str, str]]:
    ids: dict[str, str] = {}
    for track in tracks:
        if track.id in ids:
            raise WritebackError(out, f"track {track.id} is listed twice")
        ids[track.id] = str(len(ids) + 1)
    unknown = [k for k in tracks_cues if k not in ids]
    if unknown:
        raise WritebackError(out, f"cues for {len(unknown)} track(s) that are not in tracks, e.g. "
                                  f"{', '.join(sorted(unknown)[:5])}")
    nodes = [_track_node(out, t, ids[t.id], tracks_cues.get(t.id, ())) for t in tracks]
    playlist = ("NODE", [("Name", PLAYLIST_NAME), ("Type", "1"), ("KeyType", "0"), ("Entries", str(len(ids)))],
                [("TRACK", [("Key", i)], []) for i in ids.values()])
    root = ("DJ_PLAYLISTS", [("Version", "1.0.0")], [
        ("PRODUCT", [("Name", "djstruct"), ("Version", __version__), ("Company", "djstruct")], []),
        ("COLLECTION", [("Entries", str(len(nodes)))], nodes),
        ("PLAYLISTS", [], [("NODE", [("Type", "0"), ("Name", "ROOT"), ("Count", "1")], [playlist])]),
    ])
    text = f'<?xml version="1.0" encoding="UTF-8"?>{CRLF}{CRLF}{element(root, "", CRLF, WRAP_CHARS)}{CRLF}'
    return text.encode("utf-8"), ids


def _track_node(out: Path, track: Track, xml_id: str, cues: Sequence[Cue]) -> tuple[str, Attrs, list[Any]]:
    location = track.extras.get("location")
    if not (isinstance(location, str) and location.startswith("file://")):
        try:
            location = path_to_location(track.path)
        except ValueError as exc:
            raise WritebackError(out, f"track {track.id}: no rekordbox Location for {track.path} ({exc})") from exc
    attrs: Attrs = [("TrackID", xml_id), ("Name", track.title or track.path.stem), ("Artist", track.artist)]
    if track.duration_s:
        attrs.append(("TotalTime", str(int(round(track.duration_s)))))
    if track.bpm:
        attrs.append(("AverageBpm", f"{track.bpm:.2f}"))
    attrs.append(("Location", location))
    for what, value in (("title", track.title), ("artist", track.artist)):
        if BAD_CHARS.search(value):
            raise WritebackError(out, f"track {track.id}: {what} {value!r} has characters XML cannot hold")
    children: list[Any] = []
    for m in track.grid.markers if track.grid is not None else ():
        children.append(("TEMPO", [("Inizio", seconds(m.start_s)), ("Bpm", f"{m.bpm:.2f}"), ("Metro", "4/4"),
                                   ("Battito", str(m.beat_in_bar))], []))
    children += [("POSITION_MARK", mark_attrs(c), []) for c in cues]
    return ("TRACK", attrs, children)


# ---------------------------------------------------------------------------------------------
# write + verify


def _verify(out: Path, tmp: Path, expected: Mapping[str, Sequence[Cue]], n_tracks: int | None) -> None:
    try:
        got = read_xml(tmp)
    except LibraryError as exc:
        raise WritebackError(out, f"the written XML does not parse back ({exc.reason}); nothing was written") from exc
    if n_tracks is not None and len(got) != n_tracks:
        raise WritebackError(out, f"{len(got)} tracks read back instead of {n_tracks}; nothing was written")
    by_id: dict[str, list[Track]] = {}
    for t in got:
        by_id.setdefault(t.id, []).append(t)
    for key, cues in expected.items():
        for track in by_id.get(key, [None]):  # type: ignore[list-item]
            problem = "missing" if track is None else _compare(track, cues)
            if problem:
                raise WritebackError(out, f"track {key} does not read back as written ({problem}); nothing was written")


def _compare(track: Track, cues: Sequence[Cue]) -> str:
    def key(c: Cue) -> tuple[str, int, float, str]:
        return (c.kind, -1 if c.slot is None else c.slot, round(c.start_s, 3), c.name)

    foreign = track.extras.get("mark_types", {})
    back = sorted((c for i, c in enumerate(track.cues) if foreign.get(i, "cue") in ("cue", "loop")), key=key)
    want = sorted(cues, key=key)
    if len(back) != len(want):
        return f"{len(back)} cues instead of {len(want)}"
    for a, b in zip(back, want, strict=True):
        same = (a.kind, a.slot, a.name, (a.color or "").lower()) == (b.kind, b.slot, b.name, (b.color or "").lower())
        ends = (a.end_s is None) == (b.end_s is None) and abs((a.end_s or 0.0) - (b.end_s or 0.0)) <= 0.001
        if not same or not ends or abs(a.start_s - b.start_s) > 0.001:
            return f"read {a} for {b}"
    return ""
