"""Decode any DJ audio format to mono float32 at a requested rate (libsndfile and ffmpeg backends).

``load_audio(path, 22050)`` -> :class:`djstruct.types.Audio` ((n,) float32, mean of the channels);
``probe(path)`` -> :class:`AudioInfo` from the header only.

Backends: libsndfile (``soundfile``) for WAV, AIFF, FLAC, MP3 and Ogg Vorbis; PyAV (ffmpeg) for
MP4/M4A (AAC, ALAC), ADTS ``.aac``, Opus (PyAV decodes it about 2x faster than libsndfile) and as
the fallback when libsndfile refuses a file. Decoding streams in blocks through a soxr resampler
(quality ``HQ``) into one growing output buffer, so memory stays near the size of the result.

Timing contract: decoded sample 0 is source sample 0 (the encoder's input), within a few samples.
Measured on files made by :mod:`djstruct.synth.encode` (lag of the decoded audio, before -> after
the compensation below, at 44.1 kHz):

* WAV, AIFF, FLAC, ALAC: no delay (0 ms).
* MP3 with a Xing/Info frame (LAME gapless tag): both mpg123 (libsndfile) and ffmpeg drop the
  encoder delay + the 529-sample decoder delay themselves: 0 ms. Headers without the LAME tag
  fields are treated the same way (the decoders read the delay field regardless).
* MP3 *without* a Xing/Info frame: decodes 529 (decoder) + 576 (LAME encoder) = 1105 samples late
  at the file's rate, whatever the rate (25.1 ms at 44.1 kHz -> 0 ms). We find the first MPEG
  frame ourselves (after any ID3v2 tag) and, when it carries no ``Xing``/``Info``/``VBRI`` tag,
  drop the first 1105 decoded samples. Files from encoders with another delay (FhG, Shine) will
  be off by the difference; a ``VBRI`` (FhG) header is left alone (not measured). The tail
  padding of such files is unknown, so they decode up to one frame (26 ms) long. libsndfile's
  header length for MP3 is only an estimate: we read until the decoder stops.
* AAC in MP4: ffmpeg applies the edit list (``elst`` media time, 1024 for ffmpeg, 2112 for Apple)
  or, failing that, the ``iTunSMPB`` priming: 0 ms; we also cut the tail to the stream duration
  from the edit list, or to the iTunSMPB sample count (ffmpeg leaves up to one frame, 14 ms
  here). Without either (e.g. muxed with ``use_editlist=0``) the 1024 priming samples of the AAC
  decoder are left in: 23.2 ms late -> we drop 1024 samples -> 0 ms. ADTS ``.aac`` files cannot
  declare priming: same 1024 dropped. (Apple-style 2112 priming is only known when declared.)
* Ogg Vorbis: 0 ms (granule positions). Opus: ffmpeg applies the OpusHead pre-skip: 0 ms.

Every failure raises a :class:`djstruct.errors.AudioError` subclass naming the file and the reason
on one line; no soundfile/av exception escapes.
"""

from __future__ import annotations

import logging
from pathlib import Path

from djstruct.audio.backends import (
    _KIND,
    _SOUNDFILE_EXTENSIONS,
    AudioInfo,
    _av_info,
    _av_open,
    _decode_av,
    _decode_sf,
    _describe,
    _NothingDecodedError,
    _sf_info,
)
from djstruct.constants import ANALYSIS_RATE_HZ, MAX_DURATION_S
from djstruct.errors import AudioError, UnsupportedFormatError
from djstruct.types import Audio

logger = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    {".mp3", ".flac", ".wav", ".aif", ".aiff", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".aac"}
)  # the one list: the folder reader walks for exactly these


def probe(path: str | Path) -> AudioInfo:
    """Read the header of ``path`` (no decoding). Raises AudioError / UnsupportedFormatError."""
    path, ext = _check_file(path)
    try:
        if ext in _SOUNDFILE_EXTENSIONS:
            try:
                return _sf_info(path)
            except Exception as exc:
                logger.debug("%s: libsndfile cannot read it (%s), trying ffmpeg", path, exc)
        with _av_open(path, ext) as (container, stream):
            return _av_info(path, container, stream)
    except AudioError:
        raise
    except Exception as exc:
        raise AudioError(path, f"cannot read the header: {_describe(exc)}") from exc


def load_audio(
    path: str | Path, sample_rate_hz: int = ANALYSIS_RATE_HZ, *, max_duration_s: float | None = MAX_DURATION_S
) -> Audio:
    """Decode ``path`` to mono float32 at ``sample_rate_hz``, time 0 = source time 0 (see module doc).

    Args:
        path: audio file with one of ``SUPPORTED_EXTENSIONS``.
        sample_rate_hz: output rate in Hz (soxr HQ resampling when it differs from the file's).
        max_duration_s: refuse longer files with :class:`TooLongError` (checked on the header
            before decoding, and again while decoding); ``None`` for no limit.

    Returns:
        ``Audio`` with ``samples`` (n,) float32, nominally in [-1, 1].

    Raises:
        UnsupportedFormatError: unknown extension. TooLongError: over ``max_duration_s``.
        AudioError: missing, empty, unreadable, corrupt or undecodable file.
    """
    if sample_rate_hz <= 0:
        raise AudioError(path, f"sample rate must be positive, got {sample_rate_hz}")
    if max_duration_s is not None and max_duration_s <= 0:
        raise AudioError(path, f"max_duration_s must be positive or None, got {max_duration_s}")
    path, ext = _check_file(path)
    rate = int(sample_rate_hz)
    try:
        if ext in _SOUNDFILE_EXTENSIONS:
            try:
                import soundfile as sf

                f = sf.SoundFile(path)
            except Exception as exc:
                logger.debug("%s: libsndfile cannot open it (%s), trying ffmpeg", path, exc)
            else:
                try:
                    with f:
                        if f.subtype != "OPUS":  # ffmpeg decodes Opus about 2x faster
                            return _decode_sf(path, f, rate, max_duration_s)
                except _NothingDecodedError:
                    logger.debug("%s: libsndfile decoded nothing, trying ffmpeg", path)
        return _decode_av(path, ext, rate, max_duration_s)
    except AudioError:
        raise
    except MemoryError:
        raise AudioError(path, "out of memory while decoding; lower max_duration_s or the sample "
                               "rate") from None
    except Exception as exc:
        raise AudioError(path, f"cannot decode as {_KIND[ext]}: {_describe(exc)}") from exc


# --- file checks -------------------------------------------------------------------------


def _check_file(path: str | Path) -> tuple[Path, str]:
    """Check extension, existence and readability; return (path, lower-case suffix)."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise UnsupportedFormatError(
            path, f"unsupported file type {ext or '(no extension)'!r}; "
            f"supported: {' '.join(sorted(SUPPORTED_EXTENSIONS))}")
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except FileNotFoundError:
        raise AudioError(path, "file not found") from None
    except IsADirectoryError:
        raise AudioError(path, "is a folder, not an audio file") from None
    except PermissionError:
        raise AudioError(path, "permission denied: cannot read the file") from None
    except OSError as exc:
        raise AudioError(path, f"cannot read the file: {exc.strerror or exc}") from None
    if not head:
        raise AudioError(path, "file is empty (0 bytes)")
    if _looks_like_text(head):
        raise AudioError(path, f"not an audio file: it contains text, not {_KIND[ext]} audio")
    return path, ext


def _looks_like_text(head: bytes) -> bool:
    if head.startswith(b"ID3") or b"\x00" in head[:512]:
        return False
    text = head[:512].decode("utf-8", errors="replace")  # binary junk -> many U+FFFD
    return sum(c != "\ufffd" and (c.isprintable() or c in "\r\n\t") for c in text) >= 0.95 * len(text)
