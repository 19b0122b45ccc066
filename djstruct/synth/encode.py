"""Encode a rendered master to every file format a DJ library holds.

Used by tests, benchmarks and the training-data renderer to get real encoder delays, priming
and padding into the pipeline, so that decode timing is checked against exact ground truth.

Formats (``FORMATS`` maps name -> file extension):

=============  =====  ====================================================================
name           ext    encoder
=============  =====  ====================================================================
``wav``        .wav   libsndfile, 16-bit PCM
``flac``       .flac  libsndfile, 16-bit
``aiff``       .aiff  libsndfile, 16-bit PCM (big endian)
``mp3``        .mp3   LAME (PyAV), CBR, ID3v2 + Xing/Info frame with the LAME gapless tag
``mp3-noxing`` .mp3   same, without the Xing/LAME frame (``write_xing=0``): decodes
                      529 + 576 = 1105 samples late unless the decoder compensates
``ogg``        .ogg   Vorbis (libsndfile; this PyAV build has no libvorbis), VBR quality
                      chosen from ``bitrate_kbps``
``opus``       .opus  libopus (PyAV) at 48 kHz (input resampled with soxr), pre-skip in
                      the OpusHead
``m4a``        .m4a   AAC-LC (ffmpeg's native encoder) in MP4 with an edit list that
                      hides the 1024 priming samples
``m4a-alac``   .m4a   ALAC 16-bit in MP4
=============  =====  ====================================================================

Encode cost for a 6-minute stereo master on this 2-core CPU (one core, CPU seconds, measured by
``benchmarks/bench_decode.py``, +-20 % between runs): wav 0.3-0.5, flac 1.0, aiff 0.5, mp3 10-11
(LAME -q 7; the default -q 3 is ~2x slower), ogg 4-4.5, opus 4-4.5 (with the 48 kHz resample), m4a
3.8-4.5 (``aac_coder=fast``; the default coder is ~2x slower), alac 1.8-2.4.

Every file is written to a temporary name in the target folder and moved into place with
``os.replace``, so a crash never leaves a half-written file under the final name. Everything is
written in blocks (libsndfile crashed writing a 5-minute OGG in one call).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from djstruct.errors import EncodeError
from djstruct.safe_write import atomic_write

logger = logging.getLogger(__name__)

FORMATS: dict[str, str] = {
    "wav": ".wav",
    "flac": ".flac",
    "aiff": ".aiff",
    "mp3": ".mp3",
    "mp3-noxing": ".mp3",
    "ogg": ".ogg",
    "opus": ".opus",
    "m4a": ".m4a",
    "m4a-alac": ".m4a",
}

# Other spellings of the same container that a target path may end with.
_ALT_SUFFIXES: dict[str, frozenset[str]] = {
    "aiff": frozenset({".aiff", ".aif"}),
    "ogg": frozenset({".ogg", ".oga"}),
    "m4a": frozenset({".m4a", ".mp4"}),
    "m4a-alac": frozenset({".m4a", ".mp4"}),
}

_BLOCK = 1 << 16  # frames per write call
_SOUNDFILE_FORMATS: dict[str, tuple[str, str]] = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "aiff": ("AIFF", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
}
# (codec, muxer, sample format, muxer options, codec options)
_AV_FORMATS: dict[str, tuple[str, str, str, dict[str, str], dict[str, str]]] = {
    # compression_level 7 = LAME -q 7: about 2x faster than the default -q 3 on this class of CPU.
    "mp3": ("libmp3lame", "mp3", "fltp", {}, {"compression_level": "7"}),
    "mp3-noxing": ("libmp3lame", "mp3", "fltp", {"write_xing": "0"}, {"compression_level": "7"}),
    "opus": ("libopus", "ogg", "flt", {}, {"compression_level": "5"}),
    "m4a": ("aac", "ipod", "fltp", {}, {"aac_coder": "fast"}),
    "m4a-alac": ("alac", "ipod", "s16p", {}, {}),
}
# Approximate stereo bitrate (kbps) of Vorbis VBR quality 0..10, to map bitrate_kbps to a quality.
_VORBIS_KBPS = np.array([64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 500], dtype=np.float64)


def encode(
    samples: np.ndarray, sample_rate_hz: int, path: Path, fmt: str, *, bitrate_kbps: int = 192
) -> Path:
    """Encode ``samples`` to ``path`` in format ``fmt`` (a key of ``FORMATS``).

    Args:
        samples: (n,) mono or (n, 2) stereo float, nominally in [-1, 1] (clipped there).
        sample_rate_hz: rate of ``samples``, e.g. 44100. Opus is resampled to 48000 Hz.
        path: target file. Without a suffix the format's extension is added; a suffix of
            another container is refused.
        fmt: format name, see ``FORMATS``.
        bitrate_kbps: target bitrate for lossy formats (total over channels); ignored by
            wav/flac/aiff/m4a-alac.

    Returns:
        The path written.

    Raises:
        EncodeError: unknown format, bad input, or the encoder failed.
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise EncodeError(path, f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    ext = FORMATS[fmt]
    if not path.suffix:
        path = path.with_name(path.name + ext)
    elif path.suffix.lower() not in _ALT_SUFFIXES.get(fmt, frozenset({ext})):
        raise EncodeError(path, f"suffix {path.suffix!r} does not match format {fmt!r} ({ext})")
    x = _check_samples(samples, path)
    if sample_rate_hz <= 0:
        raise EncodeError(path, f"sample rate must be positive, got {sample_rate_hz}")
    if not 8 <= bitrate_kbps <= 512:
        raise EncodeError(path, f"bitrate {bitrate_kbps} kbps out of range 8-512")
    if not path.parent.is_dir():
        raise EncodeError(path, "target folder does not exist")

    def fill(tmp: Path) -> None:
        if fmt in _SOUNDFILE_FORMATS:
            _write_soundfile(x, sample_rate_hz, tmp, fmt, bitrate_kbps)
        else:
            _write_av(x, sample_rate_hz, tmp, fmt, bitrate_kbps)

    try:
        atomic_write(path, fill, suffix=ext, error=EncodeError)
    except EncodeError:
        raise
    except Exception as exc:  # any library failure becomes one clean error
        raise EncodeError(path, f"{fmt} encoding failed: {type(exc).__name__}: {exc}") from exc
    logger.debug("encoded %s (%s, %d frames at %d Hz)", path, fmt, len(x), sample_rate_hz)
    return path


def _check_samples(samples: np.ndarray, path: Path) -> np.ndarray:
    """Validate and return (n, channels) float32 clipped to [-1, 1]."""
    x = np.asarray(samples)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] not in (1, 2):
        raise EncodeError(path, f"samples must be (n,) or (n, 2), got shape {np.shape(samples)}")
    if x.shape[0] == 0:
        raise EncodeError(path, "no samples to encode")
    if not np.issubdtype(x.dtype, np.floating):
        raise EncodeError(path, f"samples must be float, got {x.dtype}")
    x = x.astype(np.float32, copy=False)
    if not np.isfinite(x).all():
        raise EncodeError(path, "samples contain NaN or infinity")
    return np.clip(x, -1.0, 1.0)


def _blocks(x: np.ndarray, size: int = _BLOCK) -> Iterator[np.ndarray]:
    for i in range(0, len(x), size):
        yield x[i : i + size]


def _vorbis_quality(bitrate_kbps: int) -> float:
    """Vorbis VBR quality in [0, 1] (libsndfile's scale is 1 - compression_level)."""
    return float(np.interp(bitrate_kbps, _VORBIS_KBPS, np.arange(len(_VORBIS_KBPS)))) / 10.0


def _write_soundfile(x: np.ndarray, rate: int, tmp: Path, fmt: str, bitrate_kbps: int) -> None:
    import soundfile as sf

    container, subtype = _SOUNDFILE_FORMATS[fmt]
    kwargs: dict[str, float] = {}
    if fmt == "ogg":
        kwargs["compression_level"] = 1.0 - _vorbis_quality(bitrate_kbps)
    with sf.SoundFile(tmp, "w", rate, x.shape[1], subtype, format=container, **kwargs) as f:
        for block in _blocks(x):
            f.write(block)


def _write_av(x: np.ndarray, rate: int, tmp: Path, fmt: str, bitrate_kbps: int) -> None:
    import av

    codec, muxer, sample_fmt, mux_opts, codec_opts = _AV_FORMATS[fmt]
    supported = av.codec.Codec(codec, "w").audio_rates
    if fmt == "opus" and rate != 48000:
        import soxr

        x = soxr.resample(x, rate, 48000, quality="HQ").astype(np.float32)
        x = np.clip(x, -1.0, 1.0)
        rate = 48000
    if supported and rate not in supported:
        raise ValueError(f"{codec} cannot encode at {rate} Hz (supported: {sorted(supported)})")
    layout = "stereo" if x.shape[1] == 2 else "mono"
    to_frame = _frame_maker(sample_fmt, layout, rate)
    with av.open(str(tmp), "w", format=muxer, container_options=mux_opts) as container:
        stream = container.add_stream(codec, rate=rate, options=codec_opts)
        stream.layout = layout
        stream.format = sample_fmt
        if fmt != "m4a-alac":
            stream.bit_rate = bitrate_kbps * 1000
        pts = 0
        for block in _blocks(x):
            for packet in stream.encode(to_frame(block, pts)):
                container.mux(packet)
            pts += len(block)
        for packet in stream.encode(None):
            container.mux(packet)


def _frame_maker(sample_fmt: str, layout: str, rate: int) -> Callable[[np.ndarray, int], object]:
    """Return ``f(block (n, ch) float32, pts) -> av.AudioFrame`` for the codec's sample format."""
    import av

    def make(block: np.ndarray, pts: int) -> object:
        if sample_fmt == "flt":  # packed: (1, n * ch) interleaved
            data = np.ascontiguousarray(block).reshape(1, -1)
        elif sample_fmt == "s16p":
            data = np.ascontiguousarray(np.round(block.T * 32767.0).astype(np.int16))
        else:  # fltp: (ch, n)
            data = np.ascontiguousarray(block.T)
        frame = av.AudioFrame.from_ndarray(data, format=sample_fmt, layout=layout)
        frame.sample_rate = rate
        frame.pts = pts
        frame.time_base = Fraction(1, rate)
        return frame

    return make
