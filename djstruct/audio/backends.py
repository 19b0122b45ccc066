"""Decoding backends: libsndfile (``soundfile``) and ffmpeg (PyAV), streaming through a resampling sink.

Used by :mod:`djstruct.audio.decode`, which picks the backend and documents the timing contract.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from djstruct.audio.containers import mp3_needs_delay_fix, mp4_priming
from djstruct.constants import AAC_PRIMING_SAMPLES, MP3_NO_XING_DELAY_SAMPLES
from djstruct.errors import AudioError
from djstruct.types import Audio

logger = logging.getLogger(__name__)

_SOUNDFILE_EXTENSIONS = frozenset({".mp3", ".flac", ".wav", ".aif", ".aiff", ".ogg", ".oga"})
_KIND = {".mp3": "MP3", ".flac": "FLAC", ".wav": "WAV", ".aif": "AIFF", ".aiff": "AIFF",
         ".ogg": "Ogg", ".oga": "Ogg", ".opus": "Opus", ".m4a": "M4A", ".mp4": "MP4", ".aac": "AAC"}

_HEADER_SLACK_S = 1.0  # MP3 header durations overestimate by up to ~0.4 s
_MIN_BYTES_PER_S = 500  # 4 kbit/s, below any real codec: a header claiming more seconds is damaged
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
        f"{what} the limit of {_clock(limit_s)} for one track (a DJ mix?); raise it with --max-duration",
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
    header_s = _check_header_duration(path, f.frames / float(f.samplerate), max_s)
    skip = 0
    if f.format == "MP3" and mp3_needs_delay_fix(path):
        skip = MP3_NO_XING_DELAY_SAMPLES
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
        header_s = _check_header_duration(path, info.duration_s, max_s)
        src_rate = info.sample_rate_hz
        skip, end = 0, None
        if info.codec == "mp3" and mp3_needs_delay_fix(path):
            skip = MP3_NO_XING_DELAY_SAMPLES
        elif info.codec == "aac" and info.container == "mp4":
            priming, has_elst, end = mp4_priming(path)
            if not priming:
                skip, end = AAC_PRIMING_SAMPLES, None
            elif has_elst and stream.duration:  # ffmpeg's stream duration follows the edit list
                end = int(round(stream.duration * stream.time_base * src_rate))
        elif info.codec == "aac":
            skip = AAC_PRIMING_SAMPLES
        if skip:
            logger.debug("%s: dropping %d leading samples (undeclared encoder delay)", path, skip)
        sink = _Sink(path, src_rate, rate, skip=skip, end=end, max_s=max_s, expected_s=header_s)
        for block in _av_blocks(path, container, stream):
            sink.push(block)
        return sink.finish(header_s)


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


# --- output -------------------------------------------------------------------------------------


def _check_header_duration(path: Path, header_s: float, max_s: float | None) -> float:
    """The header's length if it is believable (else 0: unknown, with a warning; decoding then
    finds the length and still enforces ``max_s``); TooLongError when it is over ``max_s``."""
    try:
        size = path.stat().st_size
    except OSError:
        size = None
    if not math.isfinite(header_s) or header_s < 0 or (
            size is not None and header_s > size / _MIN_BYTES_PER_S + 60.0):
        logger.warning("%s: the header announces an impossible length (%s s for %s bytes); the file looks "
                       "damaged or truncated: decoding what is there", path, f"{header_s:.3g}", size)
        return 0.0
    if max_s is not None and header_s > max_s + _HEADER_SLACK_S:
        raise _too_long(path, header_s, max_s)
    return header_s


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
