"""Decode any DJ audio format to mono float32 at a requested rate.

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
import math
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from djstruct.errors import AudioError, UnsupportedFormatError
from djstruct.types import Audio

logger = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    {".mp3", ".flac", ".wav", ".aif", ".aiff", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".aac"}
)
_SOUNDFILE_EXTENSIONS = frozenset({".mp3", ".flac", ".wav", ".aif", ".aiff", ".ogg", ".oga"})
_KIND = {".mp3": "MP3", ".flac": "FLAC", ".wav": "WAV", ".aif": "AIFF", ".aiff": "AIFF",
         ".ogg": "Ogg", ".oga": "Ogg", ".opus": "Opus", ".m4a": "M4A", ".mp4": "MP4", ".aac": "AAC"}

MP3_NO_XING_DELAY = 529 + 576  # decoder + LAME encoder delay, samples at the file's rate
AAC_PRIMING = 1024  # priming samples left in by ffmpeg when the container declares none
_HEADER_SLACK_S = 1.0  # MP3 header durations overestimate by up to ~0.4 s
_BLOCK = 1 << 16  # frames per read


class TooLongError(AudioError):
    """The file is longer than the ``max_duration_s`` limit (e.g. a DJ mix)."""

    def __init__(
        self, path: str | Path | None, reason: str, *,
        duration_s: float | None = None, limit_s: float | None = None,
    ) -> None:
        super().__init__(path, reason)
        self.duration_s = duration_s
        self.limit_s = limit_s

    def __reduce__(self) -> tuple[Any, ...]:  # picklable for process pools
        return (_rebuild_too_long, (self.path, self.reason, self.duration_s, self.limit_s))


class _NothingDecodedError(AudioError):
    """Internal: the backend produced no samples (the other backend may still manage)."""


def _rebuild_too_long(path: Path | None, reason: str, duration_s: float | None,
                      limit_s: float | None) -> TooLongError:
    return TooLongError(path, reason, duration_s=duration_s, limit_s=limit_s)


@dataclass(frozen=True)
class AudioInfo:
    """Header facts of an audio file. ``duration_s`` is the header's figure (an estimate for MP3
    without a Xing frame); ``codec`` e.g. ``"mp3"``, ``"aac"``, ``"pcm_s16"``; ``container`` e.g.
    ``"mp3"``, ``"mp4"``, ``"ogg"``, ``"wav"``."""

    path: Path
    duration_s: float
    sample_rate_hz: int
    channels: int
    codec: str
    container: str


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
    path: str | Path, sample_rate_hz: int = 22050, *, max_duration_s: float | None = 1800.0
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


def _describe(exc: BaseException) -> str:
    """One short line for a library exception (libsndfile's messages are often empty)."""
    strerror = getattr(exc, "strerror", None)  # av errors repeat the file name in str()
    text = " ".join((strerror if isinstance(strerror, str) and strerror else str(exc)).split())
    if not text or text.endswith(": ") or text.endswith("':"):
        text = type(exc).__name__
    return text[:200]


def _too_long(path: Path, duration_s: float, limit_s: float, *, at_least: bool = False) -> TooLongError:
    what = "is longer than" if at_least else f"is {_clock(duration_s)} long, over"
    return TooLongError(
        path,
        f"{what} the max_duration_s limit of {_clock(limit_s)}; "
        "pass a larger max_duration_s (or None for no limit) to load it",
        duration_s=duration_s, limit_s=limit_s)


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d} ({seconds:.1f} s)" if s >= 60 else f"{seconds:.1f} s"


# --- libsndfile ----------------------------------------------------------------------------

_SF_CODECS = {"PCM_16": "pcm_s16", "PCM_24": "pcm_s24", "PCM_32": "pcm_s32", "PCM_U8": "pcm_u8",
              "PCM_S8": "pcm_s8", "FLOAT": "pcm_f32", "DOUBLE": "pcm_f64",
              "MPEG_LAYER_III": "mp3", "VORBIS": "vorbis", "OPUS": "opus"}
_SF_CONTAINERS = {"WAVEX": "wav", "RF64": "wav", "MP3": "mp3"}


def _sf_info(path: Path) -> AudioInfo:
    import soundfile as sf

    info = sf.info(str(path))
    container = _SF_CONTAINERS.get(info.format, info.format.lower())
    codec = "flac" if info.format == "FLAC" else _SF_CODECS.get(info.subtype, info.subtype.lower())
    return AudioInfo(path, info.frames / float(info.samplerate), int(info.samplerate),
                     int(info.channels), codec, container)


def _decode_sf(path: Path, f: Any, rate: int, max_s: float | None) -> Audio:
    header_s = f.frames / float(f.samplerate)
    _check_header_duration(path, header_s, max_s)
    skip = 0
    if f.format == "MP3" and _mp3_needs_delay_fix(path):
        skip = MP3_NO_XING_DELAY
    sink = _Sink(path, f.samplerate, rate, skip=skip, max_s=max_s, expected_s=header_s)
    buf = np.empty((_BLOCK, f.channels), dtype=np.float32)
    while True:
        try:
            block = f.read(out=buf)  # out= bypasses the clamp to the (estimated) header length
        except Exception as exc:
            logger.warning("%s: decoding stopped early: %s", path, _describe(exc))
            break
        if len(block) == 0:
            break
        sink.push(_downmix([block[:, c] for c in range(f.channels)]))
    return sink.finish(header_s)


# --- ffmpeg (PyAV) --------------------------------------------------------------------------


@contextmanager
def _av_open(path: Path, ext: str) -> Iterator[tuple[Any, Any]]:
    """Open ``path`` with PyAV; yield (container, first audio stream)."""
    import av

    try:
        container = av.open(str(path), metadata_errors="ignore")
    except Exception as exc:
        raise AudioError(path, f"not a readable {_KIND[ext]} file ({_describe(exc)})") from exc
    with container:
        if not container.streams.audio:
            raise AudioError(path, "contains no audio stream")
        yield container, container.streams.audio[0]


def _av_info(path: Path, container: Any, stream: Any) -> AudioInfo:
    cc = stream.codec_context
    if stream.duration is not None and stream.time_base is not None:
        duration_s = float(stream.duration * stream.time_base)
    else:
        duration_s = (container.duration or 0) / 1_000_000.0
    if cc.name == "opus" and cc.delay:
        duration_s = max(0.0, duration_s - cc.delay / 48000.0)  # the stream duration includes pre-skip
    codec = {"mp3float": "mp3", "mp3": "mp3"}.get(cc.name, cc.name)
    fmt = container.format.name.split(",")[0]
    return AudioInfo(path, duration_s, int(cc.sample_rate), int(cc.channels), codec,
                     {"mov": "mp4", "aac": "adts"}.get(fmt, fmt))


def _decode_av(path: Path, ext: str, rate: int, max_s: float | None) -> Audio:
    with _av_open(path, ext) as (container, stream):
        info = _av_info(path, container, stream)
        _check_header_duration(path, info.duration_s, max_s)
        src_rate = info.sample_rate_hz
        skip, end = 0, None
        if info.codec == "mp3" and _mp3_needs_delay_fix(path):
            skip = MP3_NO_XING_DELAY
        elif info.codec == "aac" and info.container == "mp4":
            priming, has_elst, end = _mp4_priming(path)
            if not priming:
                skip, end = AAC_PRIMING, None
            elif has_elst and stream.duration:  # ffmpeg's stream duration follows the edit list
                end = int(round(stream.duration * stream.time_base * src_rate))
        elif info.codec == "aac":
            skip = AAC_PRIMING
        if skip:
            logger.debug("%s: dropping %d leading samples (undeclared encoder delay)", path, skip)
        sink = _Sink(path, src_rate, rate, skip=skip, end=end, max_s=max_s, expected_s=info.duration_s)
        for block in _av_blocks(path, container, stream):
            sink.push(block)
        return sink.finish(info.duration_s)


def _av_blocks(path: Path, container: Any, stream: Any) -> Iterator[np.ndarray]:
    """Yield mono float32 blocks of about ``_BLOCK`` samples (codec frames are 1-4k samples:
    batching them saves most of the per-call cost downstream). Packets that fail to decode are
    skipped, with one warning at the end."""
    bad, pending, n_pending = 0, [], 0
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except Exception as exc:
                bad += 1
                logger.debug("%s: bad packet at %s: %s", path, packet.pts, _describe(exc))
                continue
            for frame in frames:
                mono = _frame_to_mono(frame)
                pending.append(mono)
                n_pending += len(mono)
                if n_pending >= _BLOCK:
                    yield np.concatenate(pending)
                    pending, n_pending = [], 0
    except Exception as exc:  # demuxer gave up (truncated container)
        logger.warning("%s: decoding stopped early: %s", path, _describe(exc))
    if pending:
        yield np.concatenate(pending)
    if bad:
        logger.warning("%s: skipped %d damaged packet(s)", path, bad)


_DTYPES = {"flt": np.float32, "dbl": np.float64, "s16": np.int16, "s32": np.int32, "u8": np.uint8}
_INT_SCALE = {"s16": 2.0**15, "s32": 2.0**31, "u8": 2.0**7}


def _frame_to_mono(frame: Any) -> np.ndarray:
    """av.AudioFrame -> (n,) float32 mean of channels, read straight from the plane buffers."""
    base = frame.format.name.rstrip("p")
    dtype = _DTYPES.get(base)
    channels, n = len(frame.layout.channels), frame.samples
    if dtype is None:  # exotic sample format: let PyAV convert
        a = frame.to_ndarray().astype(np.float64).reshape(channels, -1) if frame.format.is_planar \
            else frame.to_ndarray().astype(np.float64).reshape(-1, channels).T
        return a.mean(axis=0).astype(np.float32)
    if frame.format.is_planar:
        chans = [np.frombuffer(frame.planes[c], dtype=dtype, count=n) for c in range(channels)]
    else:
        a = np.frombuffer(frame.planes[0], dtype=dtype, count=n * channels).reshape(n, channels)
        chans = [a[:, c] for c in range(channels)]
    scale = _INT_SCALE.get(base)
    if scale is None:
        return _downmix(chans)
    offset = np.float32(128.0 if base == "u8" else 0.0)
    return _downmix([c.astype(np.float32) - offset for c in chans]) / np.float32(scale)


def _downmix(chans: list[np.ndarray]) -> np.ndarray:
    """Mean of equal-length channel views as a new (n,) float32 array (numpy's mean over a
    2-wide axis is ~10x slower than adding the columns)."""
    out = chans[0].astype(np.float32, copy=True)
    for c in chans[1:]:
        out += c
    if len(chans) > 1:
        out *= np.float32(1.0 / len(chans))
    return out


# --- header parsing ---------------------------------------------------------------------------

_MP3_BITRATES = {1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
                 2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mp3_frame_len(h: bytes) -> int:
    """Byte length of the Layer III frame whose 4-byte header is ``h``; 0 if not a valid header."""
    if len(h) < 4 or h[0] != 0xFF or (h[1] & 0xE0) != 0xE0:
        return 0
    version, layer = (h[1] >> 3) & 3, (h[1] >> 1) & 3
    br_i, sr_i, pad = h[2] >> 4, (h[2] >> 2) & 3, (h[2] >> 1) & 1
    if version == 1 or layer != 1 or br_i in (0, 15) or sr_i == 3:
        return 0
    bitrate = _MP3_BITRATES[1 if version == 3 else 2][br_i] * 1000
    return (144 if version == 3 else 72) * bitrate // _MP3_RATES[version][sr_i] + pad


def mp3_has_gapless_header(path: Path) -> bool:
    """True when an MP3's first frame carries a Xing/Info/VBRI tag (gapless/encoder-delay info)."""
    return not _mp3_needs_delay_fix(path)


def _mp3_needs_delay_fix(path: Path) -> bool:
    """True when the first Layer III frame has no Xing/Info/VBRI tag (so nobody trims the delay)."""
    with open(path, "rb") as f:
        start = 0
        while True:  # skip (possibly stacked) ID3v2 tags
            f.seek(start)
            tag = f.read(10)
            if len(tag) < 10 or tag[:3] != b"ID3":
                break
            size = (tag[6] << 21) | (tag[7] << 14) | (tag[8] << 7) | tag[9]
            start += 10 + size + (10 if tag[5] & 0x10 else 0)
        f.seek(start)
        data = f.read(1 << 16)
    i = data.find(b"\xff")
    while 0 <= i < len(data) - 4:
        n = _mp3_frame_len(data[i : i + 4])
        if n and (i + n + 4 > len(data) or _mp3_frame_len(data[i + n : i + n + 4])):
            # The tag follows the side info: byte 13..38 of the frame (mono/stereo, MPEG 1/2, CRC).
            frame = data[i : i + 48]
            tagged = b"Xing" in frame or b"Info" in frame or frame[36:40] == b"VBRI"
            logger.debug("%s: first MP3 frame at byte %d, gapless header: %s", path, start + i, tagged)
            return not tagged
        i = data.find(b"\xff", i + 1)
    return False  # no Layer III frame found: leave timing alone


def _mp4_priming(path: Path) -> tuple[int, bool, int | None]:
    """Return (priming samples the MP4 declares via the audio edit list or iTunSMPB, whether it
    has an edit list, the iTunSMPB count of real samples or None)."""
    moov = _mp4_moov(path)
    priming, has_elst, n_real = 0, False, None
    if moov is None:
        return priming, has_elst, n_real
    try:
        priming, has_elst = _mp4_elst_priming(moov)
    except (struct.error, IndexError):  # malformed edit list: ffmpeg will not have used it either
        logger.debug("%s: unreadable edit list", path)
    i = moov.find(b"iTunSMPB")
    j = moov.find(b"data", i) if i >= 0 else -1
    if j >= 0:
        fields = moov[j + 12 : j + 200].split(b"\x00")[0].split()
        try:  # " 00000000 <priming> <padding> <real samples> ..." in hex
            priming, n_real = max(priming, int(fields[1], 16)), int(fields[3], 16) or None
        except (IndexError, ValueError):
            pass
    return priming, has_elst, n_real


def _mp4_elst_priming(moov: bytes) -> tuple[int, bool]:
    """(media time of the first non-empty edit of the sound track, whether it has an edit list)."""
    priming, has_elst = 0, False
    for trak in _mp4_children(moov, b"trak"):
        if not _mp4_is_sound(trak):
            continue
        for edts in _mp4_children(trak, b"edts"):
            for elst in _mp4_children(edts, b"elst"):
                has_elst = True
                version, count = elst[0], struct.unpack(">I", elst[4:8])[0]
                fmt, size = (">QqI", 20) if version == 1 else (">IiI", 12)
                for k in range(count):
                    _, media_time, _ = struct.unpack(fmt, elst[8 + k * size : 8 + (k + 1) * size])
                    if media_time >= 0:  # first non-empty edit
                        priming = max(priming, media_time)
                        break
    return priming, has_elst


def _mp4_is_sound(trak: bytes) -> bool:
    for mdia in _mp4_children(trak, b"mdia"):
        for hdlr in _mp4_children(mdia, b"hdlr"):
            return hdlr[8:12] == b"soun"
    return False


def _mp4_children(buf: bytes, kind: bytes) -> Iterator[bytes]:
    """Payloads of the direct child boxes of type ``kind`` in ``buf``."""
    pos = 0
    while pos + 8 <= len(buf):
        size, typ = struct.unpack(">I4s", buf[pos : pos + 8])
        head = 8
        if size == 1 and pos + 16 <= len(buf):
            size, head = struct.unpack(">Q", buf[pos + 8 : pos + 16])[0], 16
        elif size == 0:
            size = len(buf) - pos
        if size < head:
            return
        if typ == kind:
            yield buf[pos + head : pos + size]
        pos += size


def _mp4_moov(path: Path, limit: int = 64 << 20) -> bytes | None:
    """The payload of the top-level ``moov`` box (None if absent or over ``limit`` bytes)."""
    with open(path, "rb") as f:
        while True:
            head = f.read(8)
            if len(head) < 8:
                return None
            size, typ = struct.unpack(">I4s", head)
            skip = size - 8
            if size == 1:
                skip = struct.unpack(">Q", f.read(8))[0] - 16
            elif size == 0:
                return f.read(limit) if typ == b"moov" else None
            if skip < 0:
                return None
            if typ == b"moov":
                return f.read(skip) if skip <= limit else None
            f.seek(skip, 1)


# --- output -------------------------------------------------------------------------------------


def _check_header_duration(path: Path, header_s: float, max_s: float | None) -> None:
    if max_s is not None and header_s > max_s + _HEADER_SLACK_S:
        raise _too_long(path, header_s, max_s)


class _Sink:
    """Takes mono float32 blocks at ``src_rate``: drops ``skip`` leading samples, keeps at most
    ``end`` source samples, enforces ``max_s``, resamples to ``dst_rate`` (soxr HQ, streaming,
    delay-compensated) and stores into one buffer grown as needed."""

    def __init__(self, path: Path, src_rate: int, dst_rate: int, *, skip: int = 0,
                 end: int | None = None, max_s: float | None = None, expected_s: float = 0.0) -> None:
        self.path, self.src_rate, self.dst_rate = path, int(src_rate), int(dst_rate)
        self.skip, self.end, self.max_s = skip, end, max_s
        self.max_src = None if max_s is None else math.ceil(max_s * src_rate)
        self.n_src = 0
        self.resampler = None
        if self.src_rate != self.dst_rate:
            import soxr

            self.resampler = soxr.ResampleStream(self.src_rate, self.dst_rate, 1, dtype="float32",
                                                 quality="HQ")
        cap_s = expected_s if max_s is None else min(expected_s, max_s + _HEADER_SLACK_S)
        self.out = np.empty(int(max(cap_s, 0.0) * 1.01 * dst_rate) + dst_rate, dtype=np.float32)
        self.n_out = 0

    def push(self, block: np.ndarray) -> None:
        if self.skip:
            drop = min(self.skip, len(block))
            block, self.skip = block[drop:], self.skip - drop
        if self.end is not None:
            block = block[: max(0, self.end - self.n_src)]
        if len(block) == 0:
            return
        self.n_src += len(block)
        if self.max_src is not None and self.n_src > self.max_src:
            assert self.max_s is not None
            raise _too_long(self.path, self.n_src / self.src_rate, self.max_s, at_least=True)
        self._store(self.resampler.resample_chunk(block) if self.resampler else block)

    def _store(self, y: np.ndarray) -> None:
        need = self.n_out + len(y)
        if need > len(self.out):
            grown = np.empty(max(need, int(len(self.out) * 1.5)), dtype=np.float32)
            grown[: self.n_out] = self.out[: self.n_out]
            self.out = grown
        self.out[self.n_out : need] = y
        self.n_out = need

    def finish(self, header_s: float) -> Audio:
        if self.resampler is not None and self.n_src:
            self._store(self.resampler.resample_chunk(np.zeros(0, np.float32), last=True))
        if self.n_src == 0:
            raise _NothingDecodedError(self.path, "no audio could be decoded (file damaged or not audio)")
        samples = self.out[: self.n_out]
        if len(self.out) - self.n_out > 0.02 * self.n_out + self.dst_rate:
            samples = samples.copy()  # don't keep a mostly empty buffer alive
        decoded_s = self.n_src / self.src_rate
        if header_s > 0 and decoded_s < 0.98 * header_s - 0.5:
            logger.warning("%s: decoded only %.1f s of the %.1f s the header announces; the file "
                           "looks truncated", self.path, decoded_s, header_s)
        return Audio(samples=samples, sample_rate_hz=self.dst_rate, path=self.path)
