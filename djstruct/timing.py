"""Timing offsets between djstruct's timeline and each DJ application's.

djstruct's times are those of the original master: :mod:`djstruct.audio` removes the encoder
delay of every format (LAME/Xing gapless info, or 529 + 576 samples for an MP3 without it; the MP4
edit list or 1024 AAC priming samples). A DJ application places cues on *its own* decoded
timeline, which may keep some of that delay. ``app_time = our_time + offset_s(path, app)``.

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
  first-frame case of :mod:`djstruct.mp3_lame`:

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

The table lives in :data:`OFFSETS`; every cue writer converts through :func:`to_app` and every
reader of application cues through :func:`from_app`, so a correction is a one-line change.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

MP3_DELAY_SAMPLES = 1105  # LAME encoder delay (576) + mpg123/MAD decoder delay (529)

MP3_FRAME_SAMPLES = 1152  # one MPEG-1 Layer III frame (the Xing/Info frame Traktor decodes as audio)

# (app, kind) -> offset in samples at the file's sample rate; kind is "mp3-noxing" (case A), "mp3-nolame"
# (case B), "mp3-badcrc" (case C), "mp3" (case D or unknown), "aac", "other". A kind missing for an
# app falls back to "mp3" for the MP3 kinds, then to 0. The traktor B/C rows are rekordbox's "mp3" row (0) + one
# frame: change them together. MPEG-2 files (<= 24 kHz, 576 samples a frame) are not corrected for that.
OFFSETS: dict[tuple[str, str], int] = {
    ("rekordbox", "mp3-noxing"): MP3_DELAY_SAMPLES,
    ("traktor", "mp3-noxing"): MP3_DELAY_SAMPLES,
    ("traktor", "mp3-nolame"): MP3_FRAME_SAMPLES,
    ("traktor", "mp3-badcrc"): MP3_FRAME_SAMPLES,
}
_CASE_KIND = {"B": "mp3-nolame", "C": "mp3-badcrc"}  # A here is a VBRI (FhG) header: left as "mp3"


def _kind(path: Path) -> tuple[str, int]:
    """(kind, sample rate) for ``path``, kind as in :data:`OFFSETS`; header reads only."""
    suffix = path.suffix.lower()
    if suffix == ".mp3":
        try:
            from djstruct.audio import mp3_has_gapless_header, probe

            sr = probe(path).sample_rate_hz
            if not mp3_has_gapless_header(path):
                return "mp3-noxing", sr
            from djstruct.mp3_lame import mp3_timing_case

            return _CASE_KIND.get(mp3_timing_case(path) or "D", "mp3"), sr  # C/B refine "mp3"
        except Exception as e:  # unreadable header: assume the common case, say so
            log.debug("cannot read MP3 header of %s (%s); assuming a LAME header", path, e)
            return "mp3", 44100
    if suffix in (".m4a", ".mp4", ".aac"):
        return "aac", 44100
    return "other", 44100


def offset_s(path: Path, app: str) -> float:
    """Seconds to add to djstruct's time to get ``app``'s time for ``path``."""
    kind, sr = _kind(Path(path))
    fallback = OFFSETS.get((app, "mp3"), 0) if kind in ("mp3-nolame", "mp3-badcrc") else 0
    samples = OFFSETS.get((app, kind), fallback)
    return samples / float(sr) if samples else 0.0


def to_app(t: float, offset: float, app: str) -> float:
    """djstruct time -> application time (Serato: whole milliseconds)."""
    x = t + offset
    return round(x * 1000.0) / 1000.0 if app == "serato" else x


def from_app(t: float, offset: float) -> float:
    """Application time -> djstruct time."""
    return t - offset
