"""Decode timing and failure modes of djstruct.audio, on files made by djstruct.synth.encode.

Each format is encoded from a 6 s synthetic master (noise bursts at known positions on a quiet
noise floor, plus a 1 kHz tone) and decoded at 22050 and 44100 Hz; decoded time 0 must be
source time 0 within 5 ms.
"""

from __future__ import annotations

import builtins
import logging
import os
import pickle
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soxr
from scipy.signal import correlate

from djstruct.audio import SUPPORTED_EXTENSIONS, AudioInfo, TooLongError, load_audio, probe
from djstruct.errors import AudioError, DjstructError, EncodeError, UnsupportedFormatError
from djstruct.synth.encode import FORMATS, encode

SR = 44100
BURSTS_S = (0.5, 1.25, 2.0, 2.9, 3.7, 4.4, 5.3)
TOL_S = 0.005
# Formats whose end padding is undeclared: they may decode up to one codec frame long.
FRAME_S = {"mp3-noxing": 1152 / SR, "m4a-noedts": 1024 / SR, "aac-adts": 1024 / SR}


def make_master(seconds: float = 6.0, seed: int = 0) -> np.ndarray:
    """(n, 2) float32 at 44.1 kHz: noise floor, decaying noise bursts at BURSTS_S, 1 kHz tone."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * SR))
    x = rng.standard_normal((n, 2)).astype(np.float32) * 0.003
    for t in BURSTS_S:
        if t < seconds:
            i = int(t * SR)
            burst = rng.standard_normal(300) * np.exp(-np.arange(300) / 50.0) * 0.8
            m = min(300, n - i)
            x[i : i + m] += burst[:m, None].astype(np.float32)
    start = int(min(3.0, seconds / 2) * SR)
    tone = 0.3 * np.sin(2 * np.pi * 1000.0 * np.arange(min(SR // 2, n - start)) / SR)
    x[start : start + len(tone)] += tone[:, None].astype(np.float32)
    return x


def _encode_aac_raw(master: np.ndarray, path: Path, muxer: str, options: dict[str, str]) -> Path:
    """AAC without declared priming: MP4 without an edit list, or raw ADTS."""
    import av

    with av.open(str(path), "w", format=muxer, container_options=options) as c:
        st = c.add_stream("aac", rate=SR)
        st.layout, st.format, st.bit_rate = "stereo", "fltp", 192000
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(master.T), format="fltp", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = SR, 0, Fraction(1, SR)
        for p in [*st.encode(frame), *st.encode(None)]:
            c.mux(p)
    return path


def _add_itunsmpb(src: Path, dst: Path, n_samples: int) -> Path:
    from mutagen.mp4 import MP4, MP4FreeForm

    dst.write_bytes(src.read_bytes())
    f = MP4(dst)
    value = f" 00000000 00000400 00000000 {n_samples:016X} 00000000"
    f["----:com.apple.iTunes:iTunSMPB"] = [MP4FreeForm(value.encode())]
    f.save()
    return dst


@pytest.fixture(scope="module")
def master() -> np.ndarray:
    return make_master()


@pytest.fixture(scope="module")
def files(master: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("enc")
    out = {fmt: encode(master, SR, d / f"m_{fmt.replace('-', '_')}{ext}", fmt) for fmt, ext in FORMATS.items()}
    out["m4a-noedts"] = _encode_aac_raw(master, d / "noedts.m4a", "ipod", {"use_editlist": "0"})
    out["aac-adts"] = _encode_aac_raw(master, d / "adts.aac", "adts", {})
    out["m4a-itunsmpb"] = _add_itunsmpb(out["m4a-noedts"], d / "smpb.m4a", len(master))
    return out


def _lag_s(y: np.ndarray, x: np.ndarray, rate: int) -> float:
    """Lag of ``y`` behind ``x`` in seconds (cross-correlation peak)."""
    n = min(len(x), len(y))
    c = correlate(y[:n], x[:n], mode="full", method="fft")
    return (int(np.argmax(c)) - (n - 1)) / rate


def _first_onset_s(y: np.ndarray, rate: int) -> float:
    return int(np.argmax(np.abs(y) > 0.2)) / rate


def _assert_one_line(err: DjstructError, name: str) -> None:
    text = str(err)
    assert name in text
    assert "\n" not in text and text.strip() == text


ALL_VARIANTS = [*FORMATS, "m4a-noedts", "aac-adts", "m4a-itunsmpb"]


@pytest.mark.parametrize("rate", [22050, 44100])
@pytest.mark.parametrize("fmt", ALL_VARIANTS)
def test_decoded_time_zero_is_source_time_zero(
    files: dict[str, Path], master: np.ndarray, fmt: str, rate: int
) -> None:
    audio = load_audio(files[fmt], rate)
    y = audio.samples
    assert y.dtype == np.float32 and y.ndim == 1 and audio.sample_rate_hz == rate
    ref = master.mean(axis=1)
    if rate != SR:
        ref = soxr.resample(ref, SR, rate, quality="HQ")
    lag = _lag_s(y, ref, rate)
    assert abs(lag) <= TOL_S, f"{fmt}: decoded audio is {lag * 1000:.1f} ms late"
    assert _first_onset_s(y, rate) == pytest.approx(BURSTS_S[0], abs=TOL_S)
    extra_s = (len(y) - len(ref)) / rate
    assert -0.002 <= extra_s <= FRAME_S.get(fmt, 0.002), f"{fmt}: length off by {extra_s * 1000:.1f} ms"


@pytest.mark.parametrize("fmt", [*FORMATS, "aac-adts"])
def test_probe(files: dict[str, Path], fmt: str) -> None:
    info = probe(files[fmt])
    assert isinstance(info, AudioInfo)
    assert info.channels == 2
    assert info.sample_rate_hz == (48000 if fmt == "opus" else SR)
    assert info.duration_s == pytest.approx(6.0, abs=0.25)
    expected = {"mp3": "mp3", "mp3-noxing": "mp3", "ogg": "vorbis", "opus": "opus", "m4a": "aac",
                "m4a-alac": "alac", "flac": "flac", "wav": "pcm_s16", "aiff": "pcm_s16", "aac-adts": "aac"}
    assert info.codec == expected[fmt]


def test_supported_extensions_cover_encoder_formats() -> None:
    assert set(FORMATS.values()) <= SUPPORTED_EXTENSIONS
    assert all(e.startswith(".") and e == e.lower() for e in SUPPORTED_EXTENSIONS)


def test_mono_is_mean_of_channels(tmp_path: Path) -> None:
    t = np.arange(SR) / SR
    left, right = 0.5 * np.sin(2 * np.pi * 440 * t), 0.2 * np.sin(2 * np.pi * 97 * t)
    p = encode(np.stack([left, right], axis=1).astype(np.float32), SR, tmp_path / "lr.wav", "wav")
    y = load_audio(p, SR).samples
    np.testing.assert_allclose(y, (left + right) / 2, atol=1e-4)


@pytest.mark.parametrize("fmt", ["mp3", "mp3-noxing", "m4a", "opus", "ogg", "flac"])
def test_one_second_file(tmp_path: Path, fmt: str) -> None:
    p = encode(make_master(1.0, seed=1), SR, tmp_path / f"one{FORMATS[fmt]}", fmt)
    audio = load_audio(p, 22050)
    assert audio.duration_s == pytest.approx(1.0, abs=FRAME_S.get(fmt, 0.002) + 0.001)
    assert _first_onset_s(audio.samples, 22050) == pytest.approx(0.5, abs=TOL_S)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_silence_decodes(tmp_path: Path, fmt: str) -> None:
    p = encode(np.zeros((2 * SR, 2), np.float32), SR, tmp_path / f"silence{FORMATS[fmt]}", fmt)
    y = load_audio(p, 22050).samples
    assert len(y) == pytest.approx(2 * 22050, abs=FRAME_S.get(fmt, 0.002) * 22050 + 2)
    assert np.isfinite(y).all() and np.abs(y).max() < 1e-3


@pytest.mark.parametrize("fmt", ["flac", "mp3", "m4a", "opus"])
def test_non_ascii_path(tmp_path: Path, master: np.ndarray, fmt: str) -> None:
    p = encode(master[: SR * 2], SR, tmp_path / f"Ünïcødé – 曲{FORMATS[fmt]}", fmt)
    assert p.exists() and probe(p).channels == 2
    assert load_audio(p, 22050).duration_s == pytest.approx(2.0, abs=0.003)
    with pytest.raises(AudioError) as exc:
        load_audio(tmp_path / f"Ünïcødé – 曲 missing{FORMATS[fmt]}")
    _assert_one_line(exc.value, "Ünïcødé – 曲 missing")


# --- failures ----------------------------------------------------------------------------------


def test_zero_byte_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.mp3"
    p.write_bytes(b"")
    for fn in (load_audio, probe):
        with pytest.raises(AudioError, match="empty") as exc:
            fn(p)
        _assert_one_line(exc.value, "empty.mp3")


def test_truncated_mp3_decodes_valid_part(
    files: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = files["mp3"].read_bytes()
    p = tmp_path / "cut.mp3"
    p.write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING, logger="djstruct.audio"):
        audio = load_audio(p, 22050)
    assert 2.5 < audio.duration_s < 3.5
    assert _first_onset_s(audio.samples, 22050) == pytest.approx(0.5, abs=TOL_S)
    assert any("truncated" in r.getMessage() and "cut.mp3" in r.getMessage() for r in caplog.records)


def test_mp3_with_nothing_decodable(files: dict[str, Path], tmp_path: Path) -> None:
    data = files["mp3"].read_bytes()
    p = tmp_path / "stub.mp3"
    p.write_bytes(data[:120])  # ID3 tag and a piece of the Info frame: no audio at all
    with pytest.raises(AudioError) as exc:
        load_audio(p)
    _assert_one_line(exc.value, "stub.mp3")


@pytest.mark.parametrize("content", [b"hello, this is not an mp3\n" * 20, bytes(range(256)) * 200])
def test_non_audio_named_mp3(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "fake.mp3"
    p.write_bytes(content)
    with pytest.raises(AudioError) as exc:
        load_audio(p)
    _assert_one_line(exc.value, "fake.mp3")


def test_non_audio_named_m4a(tmp_path: Path) -> None:
    p = tmp_path / "fake.m4a"
    p.write_bytes(b"\x00\x01\x02 definitely not mp4" * 50)
    with pytest.raises(AudioError) as exc:
        probe(p)
    _assert_one_line(exc.value, "fake.m4a")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="not found") as exc:
        load_audio(tmp_path / "gone.flac")
    _assert_one_line(exc.value, "gone.flac")


def test_unreadable_file_mocked(
    files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = tmp_path / "locked.flac"
    p.write_bytes(files["flac"].read_bytes())
    real_open = builtins.open

    def fake_open(file: object, *args: object, **kwargs: object) -> object:
        if str(file) == str(p):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(builtins, "open", fake_open)
    with pytest.raises(AudioError, match="permission denied") as exc:
        load_audio(p)
    _assert_one_line(exc.value, "locked.flac")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read anything")
def test_unreadable_file_chmod(files: dict[str, Path], tmp_path: Path) -> None:
    p = tmp_path / "locked.flac"
    p.write_bytes(files["flac"].read_bytes())
    p.chmod(0)
    with pytest.raises(AudioError, match="permission denied"):
        load_audio(p)


@pytest.mark.parametrize("name", ["notes.xyz", "track.wma", "noext"])
def test_unknown_extension(tmp_path: Path, name: str) -> None:
    p = tmp_path / name
    p.write_bytes(b"RIFF0000WAVE")
    for fn in (load_audio, probe):
        with pytest.raises(UnsupportedFormatError) as exc:
            fn(p)
        _assert_one_line(exc.value, name)


@pytest.mark.parametrize("fmt", ["mp3", "flac", "m4a"])
def test_too_long_refused_from_header(files: dict[str, Path], fmt: str) -> None:
    with pytest.raises(TooLongError) as exc:
        load_audio(files[fmt], max_duration_s=2.0)
    err = exc.value
    assert isinstance(err, AudioError)
    assert err.duration_s == pytest.approx(6.0, abs=0.1) and err.limit_s == 2.0
    assert "6.0 s" in str(err) and "--max-duration" in str(err)
    _assert_one_line(err, files[fmt].name)
    clone = pickle.loads(pickle.dumps(err))
    assert str(clone) == str(err) and clone.duration_s == err.duration_s


def test_too_long_caught_while_decoding(files: dict[str, Path]) -> None:
    # 6 s file, limit 5.5 s: within the header slack, so decoding starts and stops at the limit.
    with pytest.raises(TooLongError, match="longer than") as exc:
        load_audio(files["wav"], max_duration_s=5.5)
    _assert_one_line(exc.value, files["wav"].name)
    assert load_audio(files["wav"], max_duration_s=None).duration_s == pytest.approx(6.0)


# --- encoder ------------------------------------------------------------------------------------


def test_encode_adds_extension_and_is_atomic(tmp_path: Path, master: np.ndarray) -> None:
    p = encode(master[:SR], SR, tmp_path / "noext", "ogg")
    assert p.name == "noext.ogg" and p.exists()
    assert sorted(x.name for x in tmp_path.iterdir()) == ["noext.ogg"]  # no temp file left


@pytest.mark.parametrize(
    ("samples", "name", "fmt"),
    [
        (np.zeros((100, 3), np.float32), "a.wav", "wav"),
        (np.full(100, np.nan, np.float32), "a.wav", "wav"),
        (np.zeros(100, np.int16), "a.wav", "wav"),
        (np.zeros(100, np.float32), "a.wav", "mp3"),
        (np.zeros(100, np.float32), "a.wav", "vinyl"),
    ],
)
def test_encode_errors(tmp_path: Path, samples: np.ndarray, name: str, fmt: str) -> None:
    with pytest.raises(EncodeError) as exc:
        encode(samples, SR, tmp_path / name, fmt)
    _assert_one_line(exc.value, name)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["wav", "flac", "aiff", "mp3", "mp3-noxing", "ogg"])
def test_ffmpeg_fallback_keeps_timing(
    files: dict[str, Path], master: np.ndarray, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import soundfile

    def broken(*args: object, **kwargs: object) -> None:
        raise soundfile.LibsndfileError(1, "simulated failure")

    monkeypatch.setattr(soundfile, "SoundFile", broken)
    monkeypatch.setattr(soundfile, "info", broken)
    y = load_audio(files[fmt], SR).samples
    assert abs(_lag_s(y, master.mean(axis=1), SR)) <= TOL_S
    assert probe(files[fmt]).channels == 2


def test_opus_in_ogg_extension(files: dict[str, Path], master: np.ndarray, tmp_path: Path) -> None:
    p = tmp_path / "opus_inside.ogg"
    p.write_bytes(files["opus"].read_bytes())
    y = load_audio(p, SR).samples
    assert abs(_lag_s(y, master.mean(axis=1), SR)) <= TOL_S
    assert probe(p).codec == "opus"
