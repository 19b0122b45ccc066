"""The one crossing between a DJ application's timeline and djstruct's.

djstruct's times are those of the original master: :mod:`djstruct.audio` removes the encoder delay
of every format (LAME/Xing gapless info, or 529 + 576 samples for an MP3 without it; the MP4 edit
list or 1024 AAC priming samples). A DJ application places cues on *its own* decoded timeline,
which may keep some of that delay: ``app_time = our_time + offset_s(path, app)``.

Every library reader returns its tracks through :func:`track_from_app` (cues, grid and phrases in
djstruct's timeline from then on), and every writer converts with :func:`cue_to_app` (and
:func:`grid_to_app`) just before it writes. Nothing else shifts times.

What is applied (per application and format) and how sure we are:

- rekordbox, MP3 without LAME/Xing header: +1105 samples (~25 ms at 44.1 kHz). The community's
  "~26 ms rekordbox MP3 offset"; not verified here (rekordbox does not run on Linux).
- rekordbox, MP3 with a LAME/Xing header: 0. rekordbox ignores gapless info, so this may need
  +1105 as well; not verified.
- rekordbox, AAC (M4A): 0. How rekordbox handles AAC priming is not verified.
- serato, every format: 0, times rounded to whole milliseconds (Serato stores integer ms);
  Serato's gapless handling is not verified.
- every application, WAV / AIFF / FLAC / ALAC / OGG: 0 (no encoder delay, or a self-describing one).

The table lives in :data:`OFFSETS`, so a correction is a one-line change.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from djstruct.constants import MP3_NO_XING_DELAY_SAMPLES
from djstruct.types import Cue, LibraryGrid, Phrase, Track

log = logging.getLogger(__name__)

APPS = ("serato", "rekordbox", "traktor")

# (app, kind) -> offset in samples at the file's sample rate; kind is "mp3-noxing", "mp3", "aac", "other".
OFFSETS: dict[tuple[str, str], int] = {
    ("rekordbox", "mp3-noxing"): MP3_NO_XING_DELAY_SAMPLES,
}
_MP3_KINDS = frozenset({"mp3", "mp3-noxing"})
_AAC_SUFFIXES = frozenset({".m4a", ".mp4", ".aac"})


def _kind(path: Path) -> tuple[str, int]:
    """("mp3-noxing" | "mp3" | "aac" | "other", sample rate) for ``path``; header reads only."""
    suffix = path.suffix.lower()
    if suffix == ".mp3":
        from djstruct.audio.containers import mp3_first_frame

        try:
            rate, gapless = mp3_first_frame(path)
        except OSError as e:  # unreadable: assume the common case, say so
            log.debug("cannot read MP3 header of %s (%s); assuming a LAME header", path, e)
            return "mp3", 44100
        return ("mp3" if gapless else "mp3-noxing"), rate or 44100
    if suffix in _AAC_SUFFIXES:
        return "aac", 44100
    return "other", 44100


def offset_s(path: Path, app: str) -> float:
    """Seconds to add to djstruct's time to get ``app``'s time for ``path`` (reads a header only
    when the table has an entry that could apply)."""
    kinds = {k for (a, k) in OFFSETS if a == app}
    suffix = Path(path).suffix.lower()
    could_be = _MP3_KINDS if suffix == ".mp3" else {"aac"} if suffix in _AAC_SUFFIXES else {"other"}
    if not kinds & could_be:
        return 0.0
    kind, sr = _kind(Path(path))
    samples = OFFSETS.get((app, kind), 0)
    return samples / float(sr) if samples else 0.0


def to_app(t: float, offset: float, app: str) -> float:
    """djstruct time -> application time (Serato: whole milliseconds)."""
    x = t + offset
    return round(x * 1000.0) / 1000.0 if app == "serato" else x


def cue_to_app(cue: Cue, offset: float, app: str) -> Cue:
    """A cue in djstruct's timeline -> the same cue on ``app``'s timeline."""
    end = None if cue.end_s is None else to_app(cue.end_s, offset, app)
    return replace(cue, start_s=to_app(cue.start_s, offset, app), end_s=end)


def cue_from_app(cue: Cue, offset: float) -> Cue:
    """A cue on an application's timeline -> djstruct's timeline."""
    return replace(cue, start_s=cue.start_s - offset, end_s=None if cue.end_s is None else cue.end_s - offset)


def grid_to_app(grid: LibraryGrid, offset: float) -> LibraryGrid:
    return LibraryGrid(tuple(replace(m, start_s=m.start_s + offset) for m in grid.markers))


def grid_from_app(grid: LibraryGrid, offset: float) -> LibraryGrid:
    return LibraryGrid(tuple(replace(m, start_s=m.start_s - offset) for m in grid.markers))


def _phrase_from_app(p: Phrase, offset: float) -> Phrase:
    return replace(p, start_s=p.start_s - offset)


def track_from_app(track: Track, app: str) -> Track:
    """``track`` as a reader of ``app`` built it (app timeline) -> djstruct's timeline. The offset
    is looked up only for tracks that carry times (cues, grid or phrases) and files that exist."""
    if not (track.cues or track.grid or track.phrases):
        return track
    off = offset_s(track.path, app) if track.path.is_file() else 0.0
    if off == 0.0:
        return track
    return replace(
        track,
        cues=tuple(cue_from_app(c, off) for c in track.cues),
        grid=None if track.grid is None else grid_from_app(track.grid, off),
        phrases=None if track.phrases is None else tuple(_phrase_from_app(p, off) for p in track.phrases),
    )


__all__ = ["APPS", "OFFSETS", "cue_from_app", "cue_to_app", "grid_from_app", "grid_to_app",
           "offset_s", "to_app", "track_from_app"]
