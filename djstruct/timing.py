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

The table lives in :data:`OFFSETS`; every cue writer converts through :func:`to_app` and every
reader of application cues through :func:`from_app`, so a correction is a one-line change.
"""

from __future__ import annotations

import logging
from pathlib import Path

from djstruct.constants import MP3_NO_XING_DELAY_SAMPLES

log = logging.getLogger(__name__)


# (app, kind) -> offset in samples at the file's sample rate; kind is "mp3-noxing", "mp3", "aac", "other".
OFFSETS: dict[tuple[str, str], int] = {
    ("rekordbox", "mp3-noxing"): MP3_NO_XING_DELAY_SAMPLES,
}


def _kind(path: Path) -> tuple[str, int]:
    """("mp3-noxing" | "mp3" | "aac" | "other", sample rate) for ``path``; header reads only."""
    suffix = path.suffix.lower()
    if suffix == ".mp3":
        try:
            from djstruct.audio import mp3_has_gapless_header, probe

            sr = probe(path).sample_rate_hz
            return ("mp3" if mp3_has_gapless_header(path) else "mp3-noxing"), sr
        except Exception as e:  # unreadable header: assume the common case, say so
            log.debug("cannot read MP3 header of %s (%s); assuming a LAME header", path, e)
            return "mp3", 44100
    if suffix in (".m4a", ".mp4", ".aac"):
        return "aac", 44100
    return "other", 44100


def offset_s(path: Path, app: str) -> float:
    """Seconds to add to djstruct's time to get ``app``'s time for ``path``."""
    kind, sr = _kind(Path(path))
    samples = OFFSETS.get((app, kind), 0)
    return samples / float(sr) if samples else 0.0


def to_app(t: float, offset: float, app: str) -> float:
    """djstruct time -> application time (Serato: whole milliseconds)."""
    x = t + offset
    return round(x * 1000.0) / 1000.0 if app == "serato" else x


def from_app(t: float, offset: float) -> float:
    """Application time -> djstruct time."""
    return t - offset
