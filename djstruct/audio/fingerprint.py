"""Cheap change detection for audio files that survives re-tagging.

A DJ application (or djstruct itself) rewrites tags all the time; that changes a file's size and
mtime but not its audio. :func:`audio_payload_range` walks the container headers (no decoding) to find
the bytes that hold the audio, and :func:`audio_hash` hashes three 64 KiB blocks of them, so a
re-tagged file keeps its hash while a replaced one does not.

Supported containers: MP3/AAC streams (ID3v2 at either end, APEv2, ID3v1), FLAC, WAV/RF64, AIFF/AIFC,
MP4/M4A and Ogg (Vorbis, Opus, FLAC-in-Ogg). Anything else hashes the whole file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from djstruct.errors import AudioError

log = logging.getLogger(__name__)

BLOCK_BYTES = 64 * 1024
_OGG_MAX_PAGE = 27 + 255 + 255 * 255  # header + full segment table + largest body, bytes
_STREAM_SUFFIXES = frozenset({".mp3", ".mp2", ".mpga", ".aac"})
_MP4_SUFFIXES = frozenset({".m4a", ".mp4", ".m4b", ".m4p", ".mov", ".alac"})


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...


@dataclass(frozen=True)
class Fingerprint:
    """What the store remembers about a file: ``size`` in bytes, ``mtime_ns`` in nanoseconds since the
    epoch, and the :func:`audio_hash` (``None`` when it was not computed)."""

    size: int
    mtime_ns: int
    audio_hash: str | None


def quick_stat(path: Path) -> tuple[int, int]:
    """``(size_bytes, mtime_ns)`` of ``path`` (one ``stat`` call); AudioError when it cannot be read."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise AudioError(path, f"cannot stat file: {e.strerror or e}") from e
    return st.st_size, st.st_mtime_ns


def fingerprint(path: Path, *, with_hash: bool = True) -> Fingerprint:
    """Size, mtime and (unless ``with_hash`` is False) the audio hash of ``path``."""
    size, mtime_ns = quick_stat(path)
    return Fingerprint(size, mtime_ns, audio_hash(path) if with_hash else None)


# --------------------------------------------------------------------------- payload range


def audio_payload_range(path: Path) -> tuple[int, int]:
    """Byte range ``[start, end)`` of the audio payload of ``path``, tags excluded.

    Never decodes; a container it cannot parse yields the whole file ``(0, size)``.
    """
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            try:
                return _payload_range(f, size, Path(path).suffix.lower())
            except (struct.error, ValueError) as e:
                log.debug("%s: unparsable container (%s); hashing the whole file", path, e)
                return 0, size
    except OSError as e:
        raise AudioError(path, f"cannot read file: {e.strerror or e}") from e


def _read_at(f: BinaryIO, pos: int, n: int) -> bytes:
    f.seek(pos)
    return f.read(n)


def _synchsafe(b: bytes) -> int:
    return (b[0] & 0x7F) << 21 | (b[1] & 0x7F) << 14 | (b[2] & 0x7F) << 7 | (b[3] & 0x7F)


def _payload_range(f: BinaryIO, size: int, suffix: str) -> tuple[int, int]:
    start = 0
    while True:  # leading ID3v2 tags (MP3, AAC, and the odd FLAC)
        head = _read_at(f, start, 10)
        if len(head) == 10 and head[:3] == b"3DI" and start > 0:
            start += 10  # a stale footer: taggers that rewrite a footed tag without its footer leave it
            continue
        if len(head) < 10 or head[:3] != b"ID3" or head[3] == 0xFF:
            break
        start += 10 + _synchsafe(head[6:10]) + (10 if head[5] & 0x10 else 0)
    head = _read_at(f, start, 12)
    if head[:4] == b"fLaC":
        return _flac(f, start, _strip_trailing_tags(f, start, size))
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return _riff(f, start, size)
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return _aiff(f, start, size)
    if head[:4] == b"OggS":
        return _ogg_range(f, start, size)
    if head[4:8] == b"ftyp" or (suffix in _MP4_SUFFIXES and head[4:8] in (b"wide", b"free", b"mdat", b"moov")):
        return _mp4(f, start, size)
    is_stream = start > 0 or suffix in _STREAM_SUFFIXES or (len(head) >= 2 and head[0] == 0xFF and head[1] >= 0xE0)
    if is_stream:
        return start, _strip_trailing_tags(f, start, size)
    return 0, size


def _strip_trailing_tags(f: BinaryIO, start: int, end: int) -> int:
    """End of the payload once ID3v1, APEv2, Lyrics3v2 and appended ID3v2 tags are dropped."""
    while end > start:
        if end - start >= 128 and _read_at(f, end - 128, 3) == b"TAG":
            end -= 128
            continue
        tail = _read_at(f, end - 32, 32) if end - start >= 32 else b""
        if tail[:8] == b"APETAGEX":
            tag_size, _items, flags = struct.unpack("<III", tail[12:24])
            end -= tag_size + (32 if flags & 0x80000000 else 0)
            continue
        if len(tail) >= 15 and tail[-9:] == b"LYRICS200" and tail[-15:-9].isdigit():
            end -= int(tail[-15:-9]) + 15
            continue
        if len(tail) >= 10 and tail[-10:-7] == b"3DI":
            end -= _synchsafe(tail[-4:]) + 20
            continue
        break
    return max(end, start)


def _flac(f: BinaryIO, start: int, end: int) -> tuple[int, int]:
    pos = start + 4
    while True:
        h = _read_at(f, pos, 4)
        if len(h) < 4:
            raise ValueError("FLAC metadata runs past the end of the file")
        pos += 4 + int.from_bytes(h[1:4], "big")
        if h[0] & 0x80:
            return min(pos, end), end


def _riff(f: BinaryIO, start: int, size: int) -> tuple[int, int]:
    rf64_data_size: int | None = None
    pos = start + 12
    while pos + 8 <= size:
        cid, n = struct.unpack("<4sI", _read_at(f, pos, 8))
        if cid == b"ds64":
            rf64_data_size = struct.unpack("<Q", _read_at(f, pos + 16, 8))[0]
        if cid == b"data":
            if n == 0xFFFFFFFF and rf64_data_size is not None:
                n = rf64_data_size
            elif n in (0, 0xFFFFFFFF):  # written by a streaming encoder that never patched the size
                n = size - pos - 8
            return pos + 8, min(pos + 8 + n, size)
        pos += 8 + n + (n & 1)
    raise ValueError("no 'data' chunk")


def _aiff(f: BinaryIO, start: int, size: int) -> tuple[int, int]:
    pos = start + 12
    while pos + 8 <= size:
        cid, n = struct.unpack(">4sI", _read_at(f, pos, 8))
        if cid == b"SSND":
            offset = struct.unpack(">I", _read_at(f, pos + 8, 4))[0]
            return min(pos + 16 + offset, size), min(pos + 8 + n, size)
        pos += 8 + n + (n & 1)
    raise ValueError("no 'SSND' chunk")


def _mp4(f: BinaryIO, start: int, size: int) -> tuple[int, int]:
    """Span of the top-level ``mdat`` atoms (first payload byte to last payload end)."""
    first: int | None = None
    last = 0
    pos = start
    while pos + 8 <= size:
        n, kind = struct.unpack(">I4s", _read_at(f, pos, 8))
        header = 8
        if n == 1:
            n = struct.unpack(">Q", _read_at(f, pos + 8, 8))[0]
            header = 16
        elif n == 0:
            n = size - pos
        if n < header:
            raise ValueError(f"bad atom size {n} at {pos}")
        if kind == b"mdat":
            first = pos + header if first is None else first
            last = min(pos + n, size)
        pos += n
    if first is None:
        raise ValueError("no 'mdat' atom")
    return first, last


def _ogg_page(f: BinaryIO, pos: int) -> tuple[int, int, int] | None:
    """``(header_bytes, body_bytes, granule)`` of the Ogg page at ``pos``, or None if there is none."""
    h = _read_at(f, pos, 27)
    if len(h) < 27 or h[:4] != b"OggS" or h[4] != 0:
        return None
    granule = struct.unpack("<q", h[6:14])[0]
    lacing = f.read(h[26])
    if len(lacing) < h[26]:
        return None
    return 27 + h[26], sum(lacing), granule


def _ogg_range(f: BinaryIO, start: int, size: int) -> tuple[int, int]:
    """From the first page whose granule position is > 0 (the first audio page) to the end."""
    pos = start
    while pos < size:
        page = _ogg_page(f, pos)
        if page is None:
            raise ValueError(f"lost Ogg page sync at {pos}")
        if page[2] > 0:
            return pos, size
        pos += page[0] + page[1]
    raise ValueError("no Ogg page with a granule position")


# --------------------------------------------------------------------------- hashing


def audio_hash(path: Path, *, block_bytes: int = BLOCK_BYTES) -> str:
    """SHA-1 (hex) of the payload length plus ``block_bytes`` (64 KiB) at 0 %, 50 % and the end of the
    payload; the whole payload when it is shorter than three blocks.

    Ogg hashes page bodies only: re-tagging renumbers every later page (sequence number and CRC change),
    while page sizes and bodies stay, so block offsets inside the payload stay valid.
    """
    start, end = audio_payload_range(path)
    length = end - start
    h = hashlib.sha1(f"djstruct-audio-v1:{length}:".encode())
    try:
        with open(path, "rb") as f:
            is_ogg = _read_at(f, start, 4) == b"OggS"
            if length <= 3 * block_bytes:
                spans = [(start, length)]
            else:
                spans = [(start, block_bytes), (start + (length - block_bytes) // 2, block_bytes),
                         (end - block_bytes, block_bytes)]
            for pos, n in spans:
                if is_ogg:
                    _hash_ogg_bodies(f, h, pos, end, n)
                else:
                    h.update(_read_at(f, pos, n))
    except OSError as e:
        raise AudioError(path, f"cannot read file: {e.strerror or e}") from e
    return h.hexdigest()


def _ogg_sync(f: BinaryIO, pos: int, end: int) -> int | None:
    """First real page start at or after ``pos``: 'OggS' whose page is followed by another page or EOF."""
    buf = _read_at(f, pos, min(_OGG_MAX_PAGE + 4, end - pos))
    i = buf.find(b"OggS")
    while i >= 0:
        page = _ogg_page(f, pos + i)
        if page is not None:
            nxt = pos + i + page[0] + page[1]
            if nxt == end or (nxt < end and _read_at(f, nxt, 4) == b"OggS"):
                return pos + i
        i = buf.find(b"OggS", i + 1)
    return None


def _hash_ogg_bodies(f: BinaryIO, h: _Hasher, pos: int, end: int, n: int) -> None:
    """Feed ``h`` with the bodies of the pages from the first page at or after ``pos`` until ``n``
    body bytes have been hashed (whole pages) or the payload ends."""
    page_pos = _ogg_sync(f, pos, end)
    done = 0
    while page_pos is not None and page_pos < end and done < n:
        page = _ogg_page(f, page_pos)
        if page is None:
            break
        body = f.read(page[1])
        h.update(body)
        done += len(body)
        page_pos += page[0] + page[1]


def audio_payload_sha256(path: Path) -> str:
    """sha256 (hex) of the bytes in :func:`audio_payload_range` (the audio only, whole)."""
    start, end = audio_payload_range(Path(path))
    h = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(start)
        left = end - start
        while left > 0:
            block = f.read(min(left, 1 << 20))
            if not block:
                break
            h.update(block)
            left -= len(block)
    return h.hexdigest()
