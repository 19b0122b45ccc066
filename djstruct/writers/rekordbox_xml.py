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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat

from djstruct import __version__
from djstruct.errors import LibraryError, WritebackError
from djstruct.library.locations import path_to_location
from djstruct.library.rekordbox_xml import ID_PREFIX, read_xml
from djstruct.safe_write import atomic_write
from djstruct.types import Cue, Track

logger = logging.getLogger(__name__)

WRAP_CHARS = 60  # JUCE XmlElement::TextFormat::lineWrapLength
CRLF = "\r\n"
PLAYLIST_NAME = "djstruct"
OWN_MARK_TYPES = frozenset({"0", "4"})  # cue and loop; 1-3 (fade-in/out, load) are kept
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_START_TAG = re.compile(rb"<[^\s/>]+(?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*(/?)>")

Attrs = list[tuple[str, str]]


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
              tracks: Sequence[Track] | None = None) -> XmlWriteReport:
    """Write a rekordbox XML file ``out`` whose listed tracks carry exactly the given cues.

    With ``base_xml``, keys of ``tracks_cues`` are ``"rbx:<TrackID>"`` ids from
    :func:`~djstruct.library.rekordbox_xml.read_xml` of that file (``tracks`` is ignored);
    without it, ``tracks`` lists every track to write and keys are their ids (a track missing
    from the mapping is written without cues). Raises :class:`LibraryError` for an unreadable
    or malformed ``base_xml`` and :class:`WritebackError` for bad cues, unknown ids, an ``out``
    that is the input or cannot be written, or a file that does not read back; in every error
    case ``out`` is left as it was.
    """
    out = Path(out)
    for key, cues in tracks_cues.items():
        _check_cues(out, key, cues)
    if base_xml is not None:
        base = Path(base_xml)
        if out.resolve() == base.resolve() or (out.exists() and base.exists() and os.path.samefile(out, base)):
            raise WritebackError(out, "refusing to overwrite the rekordbox XML export it is based on; "
                                      "choose another output file")
        data = _patch_base(base, out, tracks_cues)
        expected = dict(tracks_cues)
        ids = {k: k[len(ID_PREFIX):] for k in tracks_cues}
    else:
        if tracks is None:
            raise WritebackError(out, "no base XML and no tracks: nothing to write")
        data, ids = _build_minimal(out, tracks, tracks_cues)
        expected = {ID_PREFIX + ids[t.id]: tracks_cues.get(t.id, ()) for t in tracks}
    n_tracks = len(tracks_cues) if base_xml is not None else len(ids)
    if out.is_dir():
        raise WritebackError(out, "is a folder; give a file name for the XML")
    atomic_write(out, lambda tmp: tmp.write_bytes(data),
                 verify=lambda tmp: _verify(out, tmp, expected, None if base_xml else n_tracks))
    n_cues = sum(len(c) for c in expected.values())
    logger.info("%s: wrote %d tracks, %d cues", out, n_tracks, n_cues)
    return XmlWriteReport(out, n_tracks, n_cues, None if base_xml is None else Path(base_xml), ids)


# ---------------------------------------------------------------------------------------------
# formatting (JUCE XmlElement::writeTo rules)


def _escape(value: str) -> str:
    return "".join(_ESCAPES.get(ch) or (f"&#{ord(ch)};" if ord(ch) < 32 else ch) for ch in value)


def _start(tag: str, attrs: Attrs, indent: str, nl: str, wrap: int | None) -> str:
    parts = [indent, "<", tag]
    cont = nl + indent + " " * (len(tag) + 1)
    line = 0
    for name, value in attrs:
        if wrap is not None and line > wrap:
            parts.append(cont)
            line = 0
        text = f' {name}="{_escape(value)}"'
        parts.append(text)
        line += len(text.encode("utf-8"))
    return "".join(parts)


def _element(node: tuple[str, Attrs, list[Any]], indent: str, nl: str, wrap: int | None) -> str:
    tag, attrs, children = node
    head = _start(tag, attrs, indent, nl, wrap)
    if not children:
        return head + "/>"
    inner = "".join(nl + _element(c, indent + "  ", nl, wrap) for c in children)
    return f"{head}>{inner}{nl}{indent}</{tag}>"


def _seconds(t: float) -> str:
    return f"{max(0.0, t):.3f}"


def _mark_attrs(cue: Cue) -> Attrs:
    attrs: Attrs = [("Name", cue.name), ("Type", "4" if cue.end is not None else "0"), ("Start", _seconds(cue.start))]
    if cue.end is not None:
        attrs.append(("End", _seconds(cue.end)))
    attrs.append(("Num", str(cue.slot) if cue.kind == "hot" else "-1"))
    if cue.color is not None:
        rgb = int(cue.color[1:], 16)
        attrs += [("Red", str(rgb >> 16)), ("Green", str(rgb >> 8 & 255)), ("Blue", str(rgb & 255))]
    return attrs


def _check_cues(out: Path, key: str, cues: Sequence[Cue]) -> None:
    slots: set[int] = set()
    for cue in cues:
        where = f"track {key}, cue at {cue.start!r} s"
        if cue.kind == "hot":
            if cue.slot is None or not 0 <= cue.slot <= 7:
                raise WritebackError(out, f"{where}: hot cue slot must be 0-7 (A-H), got {cue.slot!r}")
            if cue.slot in slots:
                raise WritebackError(out, f"{where}: two hot cues in slot {cue.slot}")
            slots.add(cue.slot)
        elif cue.kind != "memory" or cue.slot is not None:
            raise WritebackError(out, f"{where}: not a hot cue (slot 0-7) or a memory cue (no slot)")
        if not math.isfinite(cue.start) or cue.start < 0:
            raise WritebackError(out, f"{where}: start must be a time >= 0 s")
        if cue.end is not None and not (math.isfinite(cue.end) and round(cue.end, 3) > round(cue.start, 3)):
            raise WritebackError(out, f"{where}: loop end {cue.end!r} s is not after its start")
        if cue.color is not None and not _COLOR.match(cue.color):
            raise WritebackError(out, f"{where}: colour {cue.color!r} is not '#rrggbb'")
        if _BAD_CHARS.search(cue.name):
            raise WritebackError(out, f"{where}: name {cue.name!r} has characters XML cannot hold")


# ---------------------------------------------------------------------------------------------
# base mode: patch the user's export in place (byte spans)


@dataclass
class _Span:
    tag: str
    start: int
    tag_end: int
    end: int = -1
    empty: bool = False
    children: list[_Span] = field(default_factory=list)
    mark_type: str = ""


class _Scanner:
    """Expat pass over the whole file: byte spans of the wanted COLLECTION tracks and children."""

    def __init__(self, data: bytes, wanted: set[str]) -> None:
        self.data, self.wanted = data, wanted
        self.stack: list[str] = []
        self.tracks: dict[str, list[_Span]] = {}
        self.current: _Span | None = None
        self.child: _Span | None = None
        self.wrapped: bool | None = None
        self.encoding: str | None = None
        self.has_collection = False
        self.parser = expat.ParserCreate()
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.XmlDeclHandler = lambda version, encoding, standalone: setattr(self, "encoding", encoding)

    def _span(self, tag: str, pos: int) -> _Span:
        m = _START_TAG.match(self.data, pos)
        if m is None:
            raise ValueError(f"cannot locate <{tag}> at byte {pos}")
        span = _Span(tag, pos, m.end(), empty=m.group(1) == b"/")
        if span.empty:
            span.end = span.tag_end
        return span

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        pos = self.parser.CurrentByteIndex
        depth = len(self.stack)
        if depth == 0 and tag != "DJ_PLAYLISTS":
            raise ValueError(f"not a rekordbox XML export: root element is <{tag}>, expected <DJ_PLAYLISTS>")
        if depth == 1 and tag == "COLLECTION":
            self.has_collection = True
        elif depth == 2 and tag == "TRACK" and self.stack[1] == "COLLECTION":
            if self.wrapped is None or attrs.get("TrackID") in self.wanted:
                span = self._span(tag, pos)
                if self.wrapped is None and b"\n" in self.data[pos:span.tag_end]:
                    self.wrapped = True
                elif self.wrapped is None and span.tag_end - pos > 160:  # long enough to wrap, did not
                    self.wrapped = False
                if attrs.get("TrackID") in self.wanted:
                    self.current = span
                    self.tracks.setdefault(attrs["TrackID"], []).append(span)
        elif depth == 3 and self.current is not None:
            self.child = self._span(tag, pos)
            self.child.mark_type = attrs.get("Type", "0") if tag == "POSITION_MARK" else ""
            self.current.children.append(self.child)
        self.stack.append(tag)

    def _end(self, tag: str) -> None:
        self.stack.pop()
        depth = len(self.stack)
        span = self.child if depth == 3 else self.current if depth == 2 else None
        if span is not None and span.end < 0:  # expat points at the "</" of a non-empty element
            span.end = self.data.index(b">", self.parser.CurrentByteIndex) + 1
        if depth == 3:
            self.child = None
        elif depth == 2:
            self.current = None


def _patch_base(base: Path, out: Path, tracks_cues: Mapping[str, Sequence[Cue]]) -> bytes:
    wanted: dict[str, str] = {}
    for key in tracks_cues:
        if not key.startswith(ID_PREFIX) or not key[len(ID_PREFIX):]:
            raise WritebackError(out, f"track id {key!r} is not from a rekordbox XML export ('{ID_PREFIX}<TrackID>')")
        wanted[key[len(ID_PREFIX):]] = key
    try:
        data = base.read_bytes()
    except OSError as exc:
        raise LibraryError(base, f"cannot read file: {exc.strerror or exc}") from exc
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise WritebackError(base, "UTF-16 rekordbox XML is not supported; export it again as UTF-8")
    scan = _Scanner(data, set(wanted))
    try:
        scan.parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise LibraryError(base, f"malformed or truncated XML: {expat.errors.messages[exc.code]} "
                                 f"(line {exc.lineno}, column {exc.offset})") from exc
    except ValueError as exc:
        raise LibraryError(base, str(exc)) from exc
    if (scan.encoding or "utf-8").lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise WritebackError(base, f"encoding {scan.encoding!r} is not supported; rekordbox writes UTF-8")
    if not scan.has_collection:
        raise LibraryError(base, "not a rekordbox XML export: no <COLLECTION> element")
    missing = sorted(k for tid, k in wanted.items() if tid not in scan.tracks)
    if missing:
        raise WritebackError(out, f"{len(missing)} track(s) not in {base.name}, e.g. {', '.join(missing[:5])}; "
                                  "was the XML exported again since it was read?")
    first_nl = data.find(b"\n")
    nl = CRLF if first_nl > 0 and data[first_nl - 1:first_nl] == b"\r" else "\n"
    wrap = None if scan.wrapped is False else WRAP_CHARS
    edits: list[tuple[int, int, bytes]] = []
    for tid, spans in scan.tracks.items():
        for span in spans:
            edits += _track_edits(data, span, tracks_cues[wanted[tid]], nl, wrap)
    edits.sort()
    chunks, pos = [], 0
    for start, end, text in edits:
        chunks += [data[pos:start], text]
        pos = end
    chunks.append(data[pos:])
    return b"".join(chunks)


def _track_edits(data: bytes, track: _Span, cues: Sequence[Cue], nl: str, wrap: int | None
                 ) -> list[tuple[int, int, bytes]]:
    line_start = data.rfind(b"\n", 0, track.start) + 1
    indent = data[line_start:track.start].decode("utf-8") if not data[line_start:track.start].strip() else ""
    child_indent = indent + "  "
    if track.children:
        lead = data[data.rfind(b"\n", 0, track.children[0].start) + 1:track.children[0].start]
        child_indent = lead.decode("utf-8") if not lead.strip() else child_indent
    marks = "".join(nl + _element(("POSITION_MARK", _mark_attrs(c), []), child_indent, nl, wrap) for c in cues)
    new = marks.encode("utf-8")
    if track.empty:
        if not cues:
            return []
        close = f"{nl}{indent}</TRACK>".encode()
        return [(track.tag_end - 2, track.tag_end, b">" + new + close)]
    edits: list[tuple[int, int, bytes]] = []
    prev_end = track.tag_end
    insert_at: int | None = None
    for child in track.children:
        if child.tag == "POSITION_MARK" and child.mark_type in OWN_MARK_TYPES:
            cut = prev_end if not data[prev_end:child.start].strip() else child.start
            insert_at = cut if insert_at is None else insert_at
            edits.append((cut, child.end, b""))
        prev_end = child.end
    kept = [c for c in track.children if not (c.tag == "POSITION_MARK" and c.mark_type in OWN_MARK_TYPES)]
    body_end = data.rindex(b"</", 0, track.end)
    bounds = [track.tag_end, *(x for c in track.children for x in (c.start, c.end)), body_end]
    blank = not b"".join(data[a:b] for a, b in zip(bounds[::2], bounds[1::2], strict=True)).strip()
    if not kept and not cues and blank:  # nothing left: <TRACK .../>, as rekordbox writes it
        return [(track.tag_end - 1, track.end, b"/>")]
    if not cues:
        return edits
    if insert_at is None:
        if not track.children:  # <TRACK ...></TRACK>: give it a body
            return [(track.tag_end, body_end, new + f"{nl}{indent}".encode())]
        insert_at = track.children[-1].end
    edits.append((insert_at, insert_at, new))
    return edits


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
    text = f'<?xml version="1.0" encoding="UTF-8"?>{CRLF}{CRLF}{_element(root, "", CRLF, WRAP_CHARS)}{CRLF}'
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
        if _BAD_CHARS.search(value):
            raise WritebackError(out, f"track {track.id}: {what} {value!r} has characters XML cannot hold")
    children: list[Any] = []
    for m in track.grid.markers if track.grid is not None else ():
        children.append(("TEMPO", [("Inizio", _seconds(m.start_s)), ("Bpm", f"{m.bpm:.2f}"), ("Metro", "4/4"),
                                   ("Battito", str(m.beat_in_bar))], []))
    children += [("POSITION_MARK", _mark_attrs(c), []) for c in cues]
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
        return (c.kind, -1 if c.slot is None else c.slot, round(c.start, 3), c.name)

    foreign = track.extras.get("mark_types", {})
    back = sorted((c for i, c in enumerate(track.cues) if foreign.get(i, "cue") in ("cue", "loop")), key=key)
    want = sorted(cues, key=key)
    if len(back) != len(want):
        return f"{len(back)} cues instead of {len(want)}"
    for a, b in zip(back, want, strict=True):
        same = (a.kind, a.slot, a.name, (a.color or "").lower()) == (b.kind, b.slot, b.name, (b.color or "").lower())
        ends = (a.end is None) == (b.end is None) and abs((a.end or 0.0) - (b.end or 0.0)) <= 0.001
        if not same or not ends or abs(a.start - b.start) > 0.001:
            return f"read {a} for {b}"
    return ""
