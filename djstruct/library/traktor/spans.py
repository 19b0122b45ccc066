"""One expat pass over a Traktor NML: every collection ENTRY with the byte span of each child.

The reader builds tracks from it and the writer edits bytes by it, so both see exactly the same
elements. Spans are byte offsets into the file's bytes (``start`` = ``<``, ``tag_end`` = just after
the start tag's ``>``, ``end`` = just after the element's last ``>``). Attribute values are decoded
(entities resolved). Only ``NML > COLLECTION > ENTRY > child > grandchild`` is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from djstruct.errors import LibraryError

_START_TAG = re.compile(rb"<[^\s/>]+(?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*(/?)>")


@dataclass
class Span:
    tag: str
    attrs: dict[str, str]
    start: int
    tag_end: int
    end: int = -1
    empty: bool = False
    line: int = 0
    children: list[Span] = field(default_factory=list)


@dataclass
class NmlDocument:
    """The parsed file: its bytes, the ENTRY spans in file order and layout facts for writers."""

    path: Path
    data: bytes
    version: str
    entries: list[Span]
    self_closing: bool | None = None  # how childless elements are written (<X/> or <X></X>); None: unseen
    child_sep: str | None = None  # whitespace between two children of an ENTRY, as found first
    has_collection: bool = False
    playlists: dict[str, list[str]] = field(default_factory=dict)


class _Scanner:
    def __init__(self, path: Path, data: bytes) -> None:
        self.path, self.data = path, data
        self.stack: list[Span] = []
        self.tags: list[str] = []
        self.doc = NmlDocument(path, data, "", [])
        self.playlist: list[str] | None = None
        self.names: list[str] = []
        self.parser = expat.ParserCreate()
        self.parser.buffer_text = True
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end

    def _span(self, tag: str, attrs: dict[str, str]) -> Span:
        pos = self.parser.CurrentByteIndex
        m = _START_TAG.match(self.data, pos)
        if m is None:
            raise ValueError(f"cannot locate <{tag}> at byte {pos}")
        span = Span(tag, attrs, pos, m.end(), empty=m.group(1) == b"/", line=self.parser.CurrentLineNumber)
        if span.empty:
            span.end = span.tag_end
        return span

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        depth = len(self.tags)
        if depth == 0:
            if tag != "NML":
                raise ValueError(f"not a Traktor collection: root element is <{tag}>, expected <NML>")
            self.doc.version = attrs.get("VERSION", "")
        elif depth == 1 and tag == "COLLECTION":
            self.doc.has_collection = True
        elif self.tags[1:2] == ["COLLECTION"] and 2 <= depth <= 4:
            span = self._span(tag, attrs)
            if depth == 2:
                if tag == "ENTRY":
                    self.doc.entries.append(span)
                    self.stack = [span]
            elif self.stack and len(self.stack) == depth - 2:
                self.stack[-1].children.append(span)
                self.stack.append(span)
        elif "PLAYLISTS" in self.tags[:2]:
            self._playlist_start(tag, attrs)
        self.tags.append(tag)

    def _playlist_start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == "NODE":
            level = sum(1 for t in self.tags if t == "NODE")
            self.names = self.names[:level] + [attrs.get("NAME", "")]
        elif tag == "PLAYLIST" and self.names:
            name = "/".join(self.names[1:])  # names[0] is $ROOT
            unique, n = name, 1
            while unique in self.doc.playlists:
                n += 1
                unique = f"{name} ({n})"
            self.playlist = self.doc.playlists.setdefault(unique, [])
        elif tag == "PRIMARYKEY" and self.playlist is not None and attrs.get("KEY"):
            self.playlist.append(attrs["KEY"])

    def _end(self, tag: str) -> None:
        self.tags.pop()
        depth = len(self.tags)
        if tag == "PLAYLIST":
            self.playlist = None
        if self.tags[1:2] != ["COLLECTION"] or not 2 <= depth <= 4 or len(self.stack) != depth - 1:
            return
        span = self.stack.pop()
        if span.end < 0:  # expat points at the "</" of a non-empty element
            span.end = self.data.index(b">", self.parser.CurrentByteIndex) + 1
        if depth >= 3 and not span.children and self.doc.self_closing is None:
            self.doc.self_closing = span.empty
        if depth == 2 and self.doc.child_sep is None and len(span.children) >= 2:
            gap = self.data[span.children[0].end:span.children[1].start]
            if not gap.strip():
                self.doc.child_sep = gap.decode("ascii")


def parse_nml(path: Path, data: bytes | None = None) -> NmlDocument:
    """Parse ``path`` (or ``data`` read from it). Raises :class:`LibraryError` (one line, with line
    and column) for a file that cannot be read or is not a well-formed Traktor NML."""
    path = Path(path)
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise LibraryError(path, f"cannot read file: {exc.strerror or exc}") from exc
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise LibraryError(path, "UTF-16 NML is not supported (Traktor writes UTF-8)")
    scanner = _Scanner(path, data)
    try:
        scanner.parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise LibraryError(path, f"malformed or truncated NML: {expat.errors.messages[exc.code]} "
                                 f"(line {exc.lineno}, column {exc.offset})") from exc
    except (ValueError, LookupError) as exc:
        raise LibraryError(path, str(exc)) from exc
    if not scanner.doc.has_collection:
        raise LibraryError(path, "not a Traktor collection: no <COLLECTION> element")
    return scanner.doc
