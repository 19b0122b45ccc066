"""Read rekordbox analysis files (``ANLZnnnn.DAT`` / ``.EXT``) into djstruct types.

Tags used (parsed by pyrekordbox's :class:`~pyrekordbox.anlz.AnlzFile`, which also removes the
XOR mask that rekordbox 6 puts on the PSSI tag of USB exports; PQTZ is decoded with numpy, as
pyrekordbox's per-beat parse costs ~35 ms for a 1,000-beat track):

* ``PQTZ`` (.DAT) beat grid: one entry per beat (beat in bar 1-4, tempo x100, time in ms)
  -> :class:`~djstruct.types.LibraryGrid`, runs of constant tempo merged into one marker.
* ``PCOB`` (.DAT/.EXT) and ``PCO2`` (.EXT) cue lists -> :class:`~djstruct.types.Cue`. Local
  rekordbox 6/7 analysis files carry *empty* cue lists (cues live in master.db's ``djmdCue``);
  USB exports fill them.
* ``PSSI`` (.EXT) phrases ("song structure") -> :class:`~djstruct.types.Phrase`; a phrase starts
  at a 1-based beat number of the PQTZ grid.

Phrase kinds (Deep Symmetry crate-digger ``rekordbox_anlz.ksy``, enums ``track_mood``,
``mood_high_phrase``, ``mood_mid_phrase``, ``mood_low_phrase``) and how they map to our labels:

=============  ====================  ==========  ==============================================
mood           kind -> rekordbox     label       why
=============  ====================  ==========  ==============================================
any            1 Intro               intro       same meaning
any            last (6 / 10) Outro   outro       same meaning
high (1)       2 Up                  buildup     rising energy towards a chorus
high (1)       3 Down                breakdown   the energy-down part between choruses
high (1)       5 Chorus              drop        the peak phrase of an up/down (EDM) track
mid (2)        2-7 Verse 1-6         drop        full-groove body: beat and bass are in, so
low (3)        2-4 Verse 1, 5-7 V 2  drop        closer to a drop than to a breakdown
mid/low        8 Bridge              buildup     rekordbox's "Bridge" is the Japanese B-melo,
                                                 i.e. the pre-chorus that leads into a chorus
mid/low        9 Chorus              drop        the peak phrase
=============  ====================  ==========  ==============================================

High mood kind 4 is undefined (Up 1/2/3 and Intro/Chorus/Outro 1/2 variants are flags k1-k3
that we do not decode); unknown kinds are skipped with a warning. ``Phrase.source_label`` keeps
rekordbox's name ("Verse 2", "Up"), so consumers can re-map.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from djstruct.errors import LibraryError
from djstruct.types import Cue, GridMarker, LibraryGrid, Phrase

logger = logging.getLogger(__name__)

MOODS: dict[int, str] = {1: "high", 2: "mid", 3: "low"}
_COMMON = {1: ("Intro", "intro")}
PHRASE_KINDS: dict[int, dict[int, tuple[str, str]]] = {
    1: {**_COMMON, 2: ("Up", "buildup"), 3: ("Down", "breakdown"), 5: ("Chorus", "drop"),
        6: ("Outro", "outro")},
    2: {**_COMMON, **{k: (f"Verse {k - 1}", "drop") for k in range(2, 8)},
        8: ("Bridge", "buildup"), 9: ("Chorus", "drop"), 10: ("Outro", "outro")},
    3: {**_COMMON, 2: ("Verse 1", "drop"), 3: ("Verse 1", "drop"), 4: ("Verse 1", "drop"),
        5: ("Verse 2", "drop"), 6: ("Verse 2", "drop"), 7: ("Verse 2", "drop"),
        8: ("Bridge", "buildup"), 9: ("Chorus", "drop"), 10: ("Outro", "outro")},
}
"""mood -> kind -> (rekordbox name, djstruct label)."""

_WANTED_TAGS = frozenset({"PPTH", "PCOB", "PCO2", "PSSI"})  # + PQTZ, decoded here
_BEAT = np.dtype([("beat", ">u2"), ("tempo", ">u2"), ("time", ">u4")])
_NO_LOOP = (0xFFFFFFFF, -1)


@dataclass(frozen=True)
class AnlzData:
    """What one track's ANLZ files hold, in seconds. ``beat_times_s`` is every PQTZ beat."""

    grid: LibraryGrid | None
    beat_times_s: tuple[float, ...]
    cues: tuple[Cue, ...]
    phrases: tuple[Phrase, ...] | None
    mood: str | None = None
    phrase_end_s: float | None = None
    audio_path: str = ""
    files: tuple[Path, ...] = ()


def resolve_analysis_path(share_dir: Path, analysis_data_path: str) -> Path:
    """``/PIONEER/USBANLZ/64f/53c1a-.../ANLZ0000.DAT`` (master.db) -> a path under ``share_dir``."""
    rel = PurePosixPath(analysis_data_path.replace("\\", "/").lstrip("/"))
    return Path(share_dir, *rel.parts)


def find_anlz(path: Path) -> dict[str, Path]:
    """The existing ANLZ files of one track as ``{"DAT": ..., "EXT": ..., "2EX": ...}``.

    ``path`` is the track's ANLZ directory or any one of its files (``ANLZ0000.DAT``); siblings
    with the same stem are found whatever the case of their extension.
    """
    if path.is_dir():
        candidates = sorted(p for p in path.iterdir() if p.name.upper().startswith("ANLZ"))
    elif path.parent.is_dir():
        candidates = sorted(p for p in path.parent.iterdir() if p.stem == path.stem)
    else:
        return {}
    found: dict[str, Path] = {}
    for p in candidates:
        ext = p.suffix.upper().lstrip(".")
        if ext in ("DAT", "EXT", "2EX") and p.is_file():
            found.setdefault(ext, p)
    return found


def read_anlz(path: Path) -> AnlzData:
    """Read a track's ANLZ files given its directory or one of its files (see :func:`find_anlz`)."""
    found = find_anlz(path)
    if "DAT" not in found and "EXT" not in found:
        raise LibraryError(path, "no rekordbox analysis file (ANLZ*.DAT / .EXT) found")
    return read_anlz_files(found.get("DAT"), found.get("EXT"))


def read_anlz_files(dat: Path | None = None, ext: Path | None = None) -> AnlzData:
    """Read an explicit .DAT and/or .EXT pair (e.g. an export DAT with its EXT)."""
    parsed = [(p, *_parse_file(p)) for p in (dat, ext) if p is not None]
    tags: dict[str, list[Any]] = {}
    for _, anlz, _ in parsed:
        for tag in anlz.tags:
            tags.setdefault(tag.type, []).append(tag)
    audio_path = str(tags["PPTH"][0].get()) if tags.get("PPTH") else ""
    beat_in_bar, bpms, times = _pqtz([g for _, _, grids in parsed for g in grids])
    grid = grid_from_beats(beat_in_bar, bpms, times)
    cues = cues_from_tags(tags.get("PCO2", []), tags.get("PCOB", []))
    phrases: tuple[Phrase, ...] | None = None
    mood: str | None = None
    end_s: float | None = None
    if tags.get("PSSI"):
        content = tags["PSSI"][0].content
        mood = MOODS.get(int(content.mood))
        if len(times) == 0:
            logger.warning("%s: phrases need the PQTZ beat grid of the .DAT file; skipped", ext)
        elif mood is None:
            logger.warning("%s: unknown phrase mood %s; phrases skipped", ext, content.mood)
        else:
            entries = [(int(e.beat), int(e.kind)) for e in content.entries]
            phrases = phrases_from_pssi(int(content.mood), entries, times, bpms)
            end_s = beat_to_time(int(content.end_beat), times, bpms)
    return AnlzData(grid, tuple(float(t) for t in times), cues, phrases, mood, end_s, audio_path,
                    tuple(p for p, _, _ in parsed))


def _parse_file(path: Path) -> tuple[Any, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """pyrekordbox's parse of the tags we use (skipping waveforms, 90% of the time) + PQTZ grids."""
    from pyrekordbox.anlz import AnlzFile  # heavy import (~1 s): only when ANLZ files are read

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LibraryError(path, f"cannot read analysis file: {exc.strerror or exc}") from exc
    try:
        selected, pqtz = _select_tags(data, _WANTED_TAGS)
        return AnlzFile.parse(selected), [_decode_pqtz(tag) for tag in pqtz]
    except LibraryError as exc:
        raise LibraryError(path, exc.reason) from exc
    except Exception as exc:  # construct/pyrekordbox raise many kinds of error on bad input
        raise LibraryError(path, f"not a readable rekordbox analysis file ({type(exc).__name__}: "
                                 f"{exc})") from exc


def _decode_pqtz(tag: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PQTZ: 12-byte tag header, u4 ?, u4 0x80000, u4 n, then n x (u2 beat, u2 BPM x100, u4 ms)."""
    len_header = struct.unpack(">I", tag[4:8])[0]
    n = struct.unpack(">I", tag[20:24])[0] if len(tag) >= 24 else 0
    if len(tag) < 24 or len_header + n * _BEAT.itemsize > len(tag):
        raise LibraryError(None, f"truncated PQTZ beat grid ({n} beats in {len(tag)} bytes)")
    entries = np.frombuffer(tag, dtype=_BEAT, count=n, offset=len_header)
    return (entries["beat"].astype(np.int64), entries["tempo"] / 100.0,
            entries["time"] / 1000.0)


def _select_tags(data: bytes, wanted: frozenset[str]) -> tuple[bytes, list[bytes]]:
    """A copy of an ANLZ file holding only the ``wanted`` tags (header ``len_file`` patched),
    and the raw PQTZ tags."""
    if len(data) < 12 or data[:4] != b"PMAI":
        raise LibraryError(None, "not a rekordbox analysis file (no PMAI header)")
    len_header, len_file = struct.unpack(">II", data[4:12])
    if len_file > len(data) or len_header < 12 or len_header > len_file:
        raise LibraryError(None, f"truncated analysis file ({len(data)} of {len_file} bytes)")
    kept: list[bytes] = []
    pqtz: list[bytes] = []
    pos = len_header
    while pos < len_file:
        if pos + 12 > len_file:
            raise LibraryError(None, f"truncated tag header at byte {pos}")
        fourcc = data[pos:pos + 4].decode("ascii", errors="replace")
        len_tag = struct.unpack(">I", data[pos + 8:pos + 12])[0]
        if len_tag < 12 or pos + len_tag > len_file:
            raise LibraryError(None, f"bad length {len_tag} of tag {fourcc!r} at byte {pos}")
        if fourcc in wanted:
            kept.append(data[pos:pos + len_tag])
        elif fourcc == "PQTZ":
            pqtz.append(data[pos:pos + len_tag])
        pos += len_tag
    body = b"".join(kept)
    header = bytearray(data[:len_header])
    header[8:12] = struct.pack(">I", len_header + len(body))
    return bytes(header) + body, pqtz


def _pqtz(grids: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, ...]:
    for beats, bpms, times in grids:
        if len(times):
            return beats, bpms, times
    empty = np.zeros(0)
    return empty.astype(np.int64), empty, empty


def grid_from_beats(beat_in_bar: np.ndarray, bpms: np.ndarray, times_s: np.ndarray, *,
                    tolerance_s: float = 0.002) -> LibraryGrid | None:
    """Merge per-beat grid entries (each ``(n,)``) into markers of constant tempo.

    A new marker starts where the tempo changes, the bar position breaks the 1-2-3-4 cycle, or a
    beat lies more than ``tolerance_s`` from where the current marker puts it; so every input
    beat is reproduced by :meth:`LibraryGrid.beats` within ``tolerance_s``. ``None`` if empty.
    """
    n = len(times_s)
    if n == 0:
        return None
    def marker(j: int) -> GridMarker:
        return GridMarker(float(times_s[j]), float(bpms[j]), (int(beat_in_bar[j]) - 1) % 4 + 1)

    markers: list[GridMarker] = []
    start = 0
    for i in range(1, n):
        k = i - start
        bpm = float(bpms[start])
        expected_bar = (int(beat_in_bar[start]) - 1 + k) % 4 + 1
        predicted = times_s[start] + k * 60.0 / bpm if bpm > 0 else np.inf
        if (bpms[i] != bpm or int(beat_in_bar[i]) != expected_bar
                or abs(times_s[i] - predicted) > tolerance_s):
            markers.append(marker(start))
            start = i
    markers.append(marker(start))
    bad = [m for m in markers if not m.valid]
    if bad:
        logger.warning("ignoring %d PQTZ grid marker(s) with an impossible tempo or time (e.g. %s BPM)",
                       len(bad), bad[0].bpm)
    return LibraryGrid.checked(markers)


def beat_to_time(beat: int, times_s: np.ndarray, bpms: np.ndarray) -> float:
    """Time of a 1-based PQTZ beat number; past the last beat, extend at the last tempo."""
    idx = max(beat, 1) - 1
    if idx < len(times_s):
        return float(times_s[idx])
    bpm = float(bpms[-1]) if len(bpms) and bpms[-1] > 0 else 120.0
    return float(times_s[-1] + (idx - len(times_s) + 1) * 60.0 / bpm)


def phrases_from_pssi(mood: int, entries: list[tuple[int, int]], times_s: np.ndarray,
                      bpms: np.ndarray) -> tuple[Phrase, ...]:
    """``(beat, kind)`` PSSI entries -> phrases in time order, labelled per :data:`PHRASE_KINDS`."""
    table = PHRASE_KINDS[mood]
    out: list[Phrase] = []
    for beat, kind in sorted(entries):
        if kind not in table:
            logger.warning("unknown rekordbox phrase kind %d (mood %s) at beat %d; skipped",
                           kind, MOODS.get(mood, mood), beat)
            continue
        name, label = table[kind]
        out.append(Phrase(beat_to_time(beat, times_s, bpms), label, name))
    return tuple(out)


def cues_from_tags(pco2: list[Any], pcob: list[Any]) -> tuple[Cue, ...]:
    """Cues from PCO2 (names, colours) and PCOB lists, de-duplicated, sorted by time."""
    found: dict[tuple[str, int | None, int, int | None], Cue] = {}
    for tag in pco2:
        for e in tag.content.entries:
            cue = _cue(int(e.hot_cue), int(e.type), int(e.time), int(e.loop_time),
                       str(e.comment or "").rstrip("\x00"), _rgb(e))
            found.setdefault(_key(cue), cue)
    for tag in pcob:
        for e in tag.content.entries:
            cue = _cue(int(e.hot_cue), int(e.type), int(e.time), int(e.loop_time), "", None)
            found.setdefault(_key(cue), cue)
    return tuple(sorted(found.values(), key=lambda c: (c.start_s, c.kind, c.slot or 0)))


def _cue(hot_cue: int, kind: int, time_ms: int, loop_ms: int, name: str, color: str | None) -> Cue:
    end = loop_ms / 1000.0 if kind == 2 and loop_ms not in _NO_LOOP and loop_ms > time_ms else None
    if hot_cue > 0:
        return Cue("hot", time_ms / 1000.0, hot_cue - 1, end, name, color)
    return Cue("memory", time_ms / 1000.0, None, end, name, color)


def _key(cue: Cue) -> tuple[str, int | None, int, int | None]:
    end = None if cue.end_s is None else round(cue.end_s * 1000)
    return cue.kind, cue.slot, round(cue.start_s * 1000), end


def _rgb(entry: Any) -> str | None:
    rgb = tuple(int(getattr(entry, f"color_{c}", 0) or 0) for c in ("red", "green", "blue"))
    return None if rgb == (0, 0, 0) else "#{:02x}{:02x}{:02x}".format(*rgb)
