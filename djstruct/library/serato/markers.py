"""Codecs for Serato's per-track tag payloads: bytes in, bytes out, no file I/O.

Formats (Holzhaus/serato-tags docs, triseratops): ``Serato Markers2`` (``01 01`` + base64 of
``01 01`` + ``NAME\\0 <u32 len> <body>`` entries, NUL-padded), ``Serato BeatGrid`` (``01 00``, u32
count, markers of f32 seconds + u32 beats-till-next or f32 bpm, 1 footer byte), legacy
``Serato Markers_`` (``02 05``, u32 count, 22-byte entries in the ``serato32`` 7-bit encoding, or
19-byte plain entries inside MP4) and the containers: ID3 GEOB body = the payload itself; FLAC and
MP4 values = base64 of ``application/octet-stream\\0\\0<tag name>\\0<payload>``, unpadded, wrapped
at 72; OGG has its own text forms. Every ``parse_*`` has a ``dump_*`` that gives back the input
byte for byte (base64 layout, junk trailing characters, odd trailing bits and NUL padding are kept
in the parsed objects). Malformed input raises :class:`~djstruct.errors.TagError` without a path.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from djstruct.errors import TagError

logger = logging.getLogger(__name__)

MIME = b"application/octet-stream"
MARKERS2_MIN_SIZE = 470  # Serato pads shorter Markers2 payloads with NULs up to this size
_B64_CHARS = re.compile(rb"[A-Za-z0-9+/]*=*")


def _fail(reason: str) -> TagError:
    return TagError(None, reason)


def _color(rgb: bytes) -> str:
    return "#" + rgb.hex()


def _rgb(color: str) -> bytes:
    try:
        rgb = bytes.fromhex(color.removeprefix("#"))
    except ValueError:
        rgb = b""
    if len(rgb) != 3:
        raise ValueError(f"colour must be '#rrggbb', got {color!r}")
    return rgb


# --- base64 with Serato's layout quirks --------------------------------------------------------


@dataclass(frozen=True)
class B64Style:
    """Layout of a base64 text, so that the same bytes encode back to the same text.

    ``tail_chars`` are the characters after the last complete 4-character group (a partial group,
    possibly with non-zero unused bits, a lone junk character or ``=`` padding) and ``tail_bytes``
    what they decoded to; ``truncate`` mimics Serato's Markers2 writer, which emits
    ``floor(4n/3)`` characters (dropping the end of the final NUL) when it writes fresh data.
    """

    line_len: int | None = 72
    truncate: bool = False
    tail_chars: bytes = b""
    tail_bytes: bytes = b""
    final_newline: bool = False
    verbatim: tuple[bytes, bytes] | None = field(default=None, repr=False)


def b64_decode(text: bytes, *, truncate: bool = False) -> tuple[bytes, B64Style]:
    """Decode forgiving base64 (newlines, missing padding, junk last char, odd trailing bits)."""
    chars = b"".join(text.split())
    if not _B64_CHARS.fullmatch(chars):
        raise _fail("invalid character in base64 text")
    core = chars.rstrip(b"=")
    if b"=" in core:
        raise _fail("'=' inside base64 text")
    full = len(core) // 4 * 4
    rem = core[full:]
    try:
        head = binascii.a2b_base64(core[:full]) if full else b""
        tail = binascii.a2b_base64(rem + b"=" * (4 - len(rem))) if len(rem) >= 2 else b""
    except binascii.Error as exc:
        raise _fail(f"bad base64: {exc}") from None
    lines = text.split(b"\n")
    final_newline = len(lines) > 1 and lines[-1] == b""
    if final_newline:
        lines = lines[:-1]
    line_len: int | None = len(lines[0]) if len(lines) > 1 else 72
    if len(lines) == 1 and len(lines[0]) > 72:
        line_len = None  # one long line (e.g. MP4 atoms other than markers/markersv2)
    style = B64Style(line_len, truncate, chars[full:], tail, final_newline)
    data = head + tail
    if b64_encode(data, style) != text:  # irregular wrapping, CR LF, ...: keep the text as is
        style = replace(style, verbatim=(text, data))
    return data, style


def b64_encode(data: bytes, style: B64Style | None = None) -> bytes:
    """Encode ``data`` in ``style`` (default: unpadded, wrapped at 72, no trailing newline)."""
    style = style or B64Style()
    if style.verbatim is not None and style.verbatim[1] == data:
        return style.verbatim[0]
    k = len(data) - len(style.tail_bytes)
    if style.tail_chars and k >= 0 and k % 3 == 0 and data[k:] == style.tail_bytes:
        chars = base64.b64encode(data[:k]) + style.tail_chars
    else:
        chars = base64.b64encode(data).rstrip(b"=")
        if style.truncate:
            chars = chars[: len(data) * 4 // 3]
    n = style.line_len
    lines = [chars[i : i + n] for i in range(0, len(chars), n)] if n else [chars]
    return b"\n".join(lines) + (b"\n" if style.final_newline else b"")


# --- FLAC / MP4 envelope -----------------------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    """A FLAC Vorbis-comment or MP4 ``----:com.serato.dj`` value, decoded."""

    name: str
    payload: bytes
    style: B64Style = B64Style()
    filename: bytes = b""


def decode_envelope(value: bytes | str, expected_name: str | None = None) -> Envelope:
    """Decode a FLAC (``SERATO_*``) or MP4 (``----:com.serato.dj:*``) value."""
    text = value.encode("ascii", "replace") if isinstance(value, str) else bytes(value)
    data, style = b64_decode(text)
    if not data.startswith(MIME + b"\0"):
        raise _fail("base64 envelope does not start with 'application/octet-stream'")
    rest = data[len(MIME) + 1 :]
    filename, _, rest = rest.partition(b"\0")
    name, sep, payload = rest.partition(b"\0")
    if not sep:
        raise _fail("base64 envelope has no tag name")
    decoded = name.decode("latin-1")
    if expected_name is not None and decoded != expected_name:
        raise _fail(f"envelope holds {decoded!r}, expected {expected_name!r}")
    return Envelope(decoded, payload, style, filename)


def encode_envelope(env: Envelope) -> bytes:
    """The FLAC/MP4 value text (ASCII bytes) for ``env``; byte-exact for a decoded value."""
    data = b"".join((MIME, b"\0", env.filename, b"\0", env.name.encode("latin-1"), b"\0", env.payload))
    return b64_encode(data, env.style)


# --- Serato Markers2 ---------------------------------------------------------------------------


@dataclass(frozen=True)
class M2Entry:
    """One Markers2 entry, kept as raw bytes; ``kind`` is CUE, LOOP, COLOR, BPMLOCK, FLIP or UNKNOWN."""

    name: str
    data: bytes

    @property
    def kind(self) -> str:
        return self.name if self.name in ("CUE", "LOOP", "COLOR", "BPMLOCK", "FLIP") else "UNKNOWN"

    def dump(self) -> bytes:
        return self.name.encode("ascii") + b"\0" + struct.pack(">I", len(self.data)) + self.data


@dataclass(frozen=True)
class SeratoCue:
    """A hot cue: ``index`` 0-7 (A-H), position in ms, stored colour ``#rrggbb``, UTF-8 name."""

    index: int
    position_ms: int
    color: str = "#cc0000"
    name: str = ""


@dataclass(frozen=True)
class SeratoLoop:
    """A saved loop (Serato's own bank of loop slots, separate from hot cues)."""

    index: int
    start_ms: int
    end_ms: int
    color: str = "#27aae1"
    locked: bool = False
    name: str = ""


@dataclass(frozen=True)
class Markers2:
    """A parsed ``Serato Markers2`` payload. ``header`` is ``01 01`` (empty for the bare OGG form);
    ``trailer`` follows the last entry inside the base64 (``00``, or nothing when Serato's writer
    cut it off); ``padding`` follows the base64 text (NULs up to 470 bytes or the old size)."""

    entries: tuple[M2Entry, ...]
    version: bytes = b"\x01\x01"
    trailer: bytes = b"\x00"
    header: bytes = b"\x01\x01"
    style: B64Style = B64Style(truncate=True)
    padding: bytes = b""
    text_len: int = -1


def _split_entries(content: bytes) -> tuple[tuple[M2Entry, ...], bytes]:
    entries: list[M2Entry] = []
    pos = 2
    while pos < len(content) and content[pos] != 0:
        end = content.find(b"\0", pos)
        if end < 0 or end + 5 > len(content):
            raise _fail(f"Markers2 entry at byte {pos} is truncated")
        try:
            name = content[pos:end].decode("ascii")
        except UnicodeDecodeError:
            raise _fail(f"Markers2 entry name at byte {pos} is not ASCII") from None
        (size,) = struct.unpack_from(">I", content, end + 1)
        if end + 5 + size > len(content):
            raise _fail(f"Markers2 entry {name!r} claims {size} bytes past the end")
        entries.append(M2Entry(name, content[end + 5 : end + 5 + size]))
        pos = end + 5 + size
    return tuple(entries), content[pos:]


def _markers2_from_text(text: bytes, header: bytes, padding: bytes) -> Markers2:
    content, style = b64_decode(text, truncate=True)
    if content[:2] != b"\x01\x01":
        raise _fail(f"Markers2 content version {content[:2].hex()} is not 0101")
    entries, trailer = _split_entries(content)
    return Markers2(entries, content[:2], trailer, header, style, padding, len(text))


def parse_markers2(payload: bytes) -> Markers2:
    """Parse a Markers2 payload (ID3 GEOB body, or the payload inside a FLAC/MP4 envelope)."""
    if payload[:2] != b"\x01\x01":
        raise _fail(f"Markers2 header {payload[:2].hex()} is not 0101")
    end = payload.find(b"\0", 2)
    end = len(payload) if end < 0 else end
    return _markers2_from_text(payload[2:end], payload[:2], payload[end:])


def parse_markers2_ogg(value: bytes | str) -> Markers2:
    """Parse the OGG ``serato_markers2`` value (the bare base64 text, no header, no padding)."""
    text = value.encode("ascii", "replace") if isinstance(value, str) else bytes(value)
    return _markers2_from_text(text, b"", b"")


def dump_markers2(m: Markers2) -> bytes:
    """Serialise; byte-identical to the parsed input when entries are unchanged."""
    content = m.version + b"".join(e.dump() for e in m.entries) + m.trailer
    text = b64_encode(content, m.style)
    if not m.header:
        return text
    out = m.header + text
    if len(text) == m.text_len:
        return out + m.padding
    target = max(MARKERS2_MIN_SIZE, len(m.header) + max(m.text_len, 0) + len(m.padding))
    return out.ljust(target, b"\0") if len(out) < target else out + b"\0"


def decode_cue(entry: M2Entry) -> SeratoCue:
    d = entry.data
    if entry.name != "CUE" or len(d) < 13:
        raise _fail(f"malformed CUE entry ({len(d)} bytes)")
    (pos,) = struct.unpack_from(">I", d, 2)
    return SeratoCue(d[1], pos, _color(d[7:10]), d[12:].split(b"\0", 1)[0].decode("utf-8", "replace"))


def encode_cue(cue: SeratoCue) -> M2Entry:
    body = struct.pack(">BBIB", 0, cue.index, cue.position_ms, 0) + _rgb(cue.color) + b"\0\0"
    return M2Entry("CUE", body + cue.name.encode("utf-8") + b"\0")


def decode_loop(entry: M2Entry) -> SeratoLoop:
    d = entry.data
    if entry.name != "LOOP" or len(d) < 20:
        raise _fail(f"malformed LOOP entry ({len(d)} bytes)")
    start, end = struct.unpack_from(">II", d, 2)
    name = d[20:].split(b"\0", 1)[0].decode("utf-8", "replace")
    return SeratoLoop(d[1], start, end, _color(d[15:18]), bool(d[19]), name)


def markers2_cues(m: Markers2) -> list[SeratoCue]:
    return [decode_cue(e) for e in m.entries if e.name == "CUE"]


def markers2_loops(m: Markers2) -> list[SeratoLoop]:
    return [decode_loop(e) for e in m.entries if e.name == "LOOP"]


def markers2_color(m: Markers2) -> str | None:
    """The track colour as stored (Serato's library column shows it darker, see docs/colors.md)."""
    for e in m.entries:
        if e.name == "COLOR" and len(e.data) >= 4:
            return _color(e.data[1:4])
    return None


def markers2_bpm_locked(m: Markers2) -> bool | None:
    for e in m.entries:
        if e.name == "BPMLOCK" and e.data:
            return e.data[0] != 0
    return None


def replace_cues(m: Markers2, cues: Sequence[SeratoCue]) -> Markers2:
    """New Markers2 whose CUE entries are ``cues`` (sorted by index); all other entries keep their
    bytes and order. New cues go where the first old CUE was (else after COLOR, else first); a cue
    equal to an old one reuses the old entry's bytes."""
    old = {decode_cue(e): e for e in m.entries if e.name == "CUE"}
    for c in cues:
        if not 0 <= c.index <= 7 or not 0 <= c.position_ms < 2**32:
            raise ValueError(f"cue out of range: {c}")
    new = [old.get(c) or encode_cue(c) for c in sorted(cues, key=lambda c: c.index)]
    kinds = [e.name for e in m.entries]
    if "CUE" in kinds:
        at = kinds.index("CUE")
    else:
        at = max((i + 1 for i, k in enumerate(kinds) if k == "COLOR"), default=0)
    rest = [e for e in m.entries if e.name != "CUE"]
    at -= sum(1 for k in kinds[:at] if k == "CUE")
    trailer = m.trailer or b"\0"
    return replace(m, entries=tuple(rest[:at] + new + rest[at:]), trailer=trailer)
