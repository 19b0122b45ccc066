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
- traktor (Traktor Pro 3/4, ``collection.nml`` ``START`` in ms, kept to the microsecond), MP3 by the
  first-frame case of :mod:`djstruct.audio.mp3_lame`:

  * A (no Xing/Info frame): +1105 samples, as for rekordbox;
  * B (Xing/Info without a LAME tag, e.g. ffmpeg's ``Lavf``/``Lavc``) and C (LAME tag with a zero or
    wrong CRC): rekordbox's offset + 1152 samples (one MPEG-1 frame, 26.1 ms at 44.1 kHz, 24 ms at
    48 kHz). Traktor does not accept such an information frame and decodes it as audio;
  * D (LAME tag with a valid CRC): 0, as for rekordbox.

  What this rests on, and how sure it is: the dj-data-converter study of the "26 ms problem"
  (digital-dj-tools/dj-data-converter issue 3, with Mixxx PR 2119; real files from several
  libraries, about 6 % affected) found Traktor and rekordbox on the same timeline, to the
  millisecond, for cases A and D, and Traktor 26 ms later for B and C; its converter and
  Rekord Buddy correct by exactly that. So the *difference* to rekordbox is fairly well supported
  (medium confidence). The absolute value inherits the rekordbox rows above, which are not
  verified; djbabel (2025) measured Traktor equal to Serato DJ Pro for MP3 and AAC, and reports
  rekordbox ~16 ms (not 26) earlier than Serato for ffmpeg-made MP3s, so the size of the B/C shift
  is uncertain by ~10 ms. Traktor AAC (M4A): 0 (djbabel and Rekord Buddy: only rekordbox adds
  ~46-50 ms of AAC priming). Nothing here was measured against Traktor itself (it does not run on
  Linux); a click track in Traktor would settle it.

The table lives in :data:`OFFSETS`, so a correction is a one-line change.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from djstruct.audio.containers import mp3_first_frame
from djstruct.audio.mp3_lame import mp3_timing_case
from djstruct.constants import MP3_NO_XING_DELAY_SAMPLES
from djstruct.types import Cue, LibraryGrid, Phrase, Track

log = logging.getLogger(__name__)

APPS = ("serato", "rekordbox", "traktor")

MP3_FRAME_SAMPLES = 1152  # one MPEG-1 Layer III frame (the Xing/Info frame Traktor decodes as audio)

# (app, kind) -> offset in samples at the file's sample rate; kind is "mp3-noxing" (case A), "mp3-nolame"
# (case B), "mp3-badcrc" (case C), "mp3" (case D or unknown), "aac", "other". A kind missing for an
# app falls back to "mp3" for the MP3 kinds, then to 0. The traktor B/C rows are rekordbox's "mp3" row (0) + one
# frame: change them together. MPEG-2 files (<= 24 kHz, 576 samples a frame) are not corrected for that.
OFFSETS: dict[tuple[str, str], int] = {
    ("rekordbox", "mp3-noxing"): MP3_NO_XING_DELAY_SAMPLES,
    ("traktor", "mp3-noxing"): MP3_NO_XING_DELAY_SAMPLES,
    ("traktor", "mp3-nolame"): MP3_FRAME_SAMPLES,
    ("traktor", "mp3-badcrc"): MP3_FRAME_SAMPLES,
}
_MP3_KINDS = frozenset({"mp3", "mp3-noxing", "mp3-nolame", "mp3-badcrc"})
_CASE_KIND = {"B": "mp3-nolame", "C": "mp3-badcrc"}  # A here is a VBRI (FhG) header: left as "mp3"
_AAC_SUFFIXES = frozenset({".m4a", ".mp4", ".aac"})


def _kind(path: Path) -> tuple[str, int]:
    """("mp3-noxing" | "mp3" | "aac" | "other", sample rate) for ``path``; header reads only."""
    suffix = path.suffix.lower()
    if suffix == ".mp3":

        try:
            rate, gapless = mp3_first_frame(path)
        except OSError as e:  # unreadable: assume the common case, say so
            log.debug("cannot read MP3 header of %s (%s); assuming a LAME header", path, e)
            return "mp3", 44100
        if not gapless:
            return "mp3-noxing", rate or 44100

        return _CASE_KIND.get(mp3_timing_case(path) or "D", "mp3"), rate or 44100
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
    fallback = OFFSETS.get((app, "mp3"), 0) if kind in ("mp3-nolame", "mp3-badcrc") else 0
    samples = OFFSETS.get((app, kind), fallback)
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
