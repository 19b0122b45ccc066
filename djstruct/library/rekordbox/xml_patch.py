"""Patch the user's rekordbox XML export in place: the input is scanned with expat for byte offsets
and only the ``POSITION_MARK`` cue/loop spans of the listed tracks are replaced, so playlists,
``TEMPO``, ``PRODUCT``, unknown elements/attributes, comments and formatting survive untouched.

Only marks the reader understood are replaced (the same :func:`~djstruct.library.rekordbox.xml.parse_mark`
decides): a mark it skipped (no ``Start``, ``Start="3,5"``, ``Num="zz"``, a negative or infinite
time...) is copied through byte for byte, so nothing of the DJ's is lost."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from djstruct.errors import LibraryError, WritebackError
from djstruct.library.rekordbox.xml import ID_PREFIX, parse_mark
from djstruct.library.rekordbox.xml_format import CRLF, WRAP_CHARS, element, mark_attrs
from djstruct.types import Cue

logger = logging.getLogger(__name__)

OWN_MARK_TYPES = frozenset({0, 4})  # cue and loop; 1-3 (fade-in/out, load) are kept
_START_TAG = re.compile(rb"<[^\s/>]+(?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*(/?)>")


@dataclass
class _Span:
    tag: str
    start: int
    tag_end: int
    end: int = -1
    empty: bool = False
    children: list[_Span] = field(default_factory=list)
    own: bool = False  # a POSITION_MARK djstruct read as a cue or loop (and so rewrites)
    foreign: Cue | None = None  # a POSITION_MARK read as a fade-in/out or load mark (kept as it is)


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
            if tag == "POSITION_MARK":
                self.child.own, self.child.foreign = _classify_mark(attrs)
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


def _classify_mark(attrs: Mapping[str, str]) -> tuple[bool, Cue | None]:
    """``(own, foreign cue)``: own = read as a cue or loop (replaced); a mark of another type that
    the reader turned into a cue (fade-in/out, load) comes back as the foreign cue; a mark the
    reader skipped is neither (copied through)."""
    try:
        cue, mark_type = parse_mark(attrs)
    except (TypeError, ValueError):
        return False, None
    return (True, None) if mark_type in OWN_MARK_TYPES else (False, cue)


def _same_mark(a: Cue, b: Cue) -> bool:
    return ((a.kind, a.slot, a.name) == (b.kind, b.slot, b.name) and round(a.start_s, 3) == round(b.start_s, 3)
            and (a.end_s is None) == (b.end_s is None))


def patch_base(base: Path, out: Path, tracks_cues: Mapping[str, Sequence[Cue]]
               ) -> tuple[bytes, dict[str, list[Cue]]]:
    """The new file's bytes and the cues written per track: ``tracks_cues`` less the fade-in/out
    and load marks the reader listed among a track's cues (those are kept where they are, not
    written again as cues)."""
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
    except LookupError as exc:  # an encoding= that Python does not know
        raise LibraryError(base, f"cannot read the XML: {exc}; rekordbox writes UTF-8") from exc
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
    written: dict[str, list[Cue]] = {}
    for tid, spans in scan.tracks.items():
        foreign = [c.foreign for span in spans for c in span.children if c.foreign is not None]
        cues = [c for c in tracks_cues[wanted[tid]] if not any(_same_mark(c, f) for f in foreign)]
        written[wanted[tid]] = cues
        for span in spans:
            edits += _track_edits(data, span, cues, nl, wrap)
    edits.sort()
    chunks, pos = [], 0
    for start, end, text in edits:
        chunks += [data[pos:start], text]
        pos = end
    chunks.append(data[pos:])
    return b"".join(chunks), written


def _track_edits(data: bytes, track: _Span, cues: Sequence[Cue], nl: str, wrap: int | None
                 ) -> list[tuple[int, int, bytes]]:
    line_start = data.rfind(b"\n", 0, track.start) + 1
    indent = data[line_start:track.start].decode("utf-8") if not data[line_start:track.start].strip() else ""
    child_indent = indent + "  "
    if track.children:
        lead = data[data.rfind(b"\n", 0, track.children[0].start) + 1:track.children[0].start]
        child_indent = lead.decode("utf-8") if not lead.strip() else child_indent
    marks = "".join(nl + element(("POSITION_MARK", mark_attrs(c), []), child_indent, nl, wrap) for c in cues)
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
        if child.own:
            cut = prev_end if not data[prev_end:child.start].strip() else child.start
            insert_at = cut if insert_at is None else insert_at
            edits.append((cut, child.end, b""))
        prev_end = child.end
    kept = [c for c in track.children if not c.own]
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
