"""MP3 first-frame cases (A-D) and the Traktor rows of the timing table, on files made here by two
real encoders (LAME 3.100 through libsndfile, ffmpeg's mp3 muxer through PyAV)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from djstruct import timing
from djstruct.audio.mp3_lame import classify_frame, crc16_arc, first_frame, mp3_timing_case

RATE = 44100


@pytest.fixture(scope="module")
def mp3s(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import soundfile as sf

    from djstruct.synth.encode import encode

    d = tmp_path_factory.mktemp("mp3")
    x = (0.2 * np.sin(2 * np.pi * 440 * np.arange(RATE * 2) / RATE)).astype(np.float32)
    out = {"lame": d / "lame.mp3", "ffmpeg": d / "ffmpeg.mp3", "noxing": d / "noxing.mp3", "badcrc": d / "badcrc.mp3"}
    sf.write(out["lame"], x, RATE, format="MP3")  # libsndfile -> LAME 3.100 with a LAME tag and its CRC
    encode(x, RATE, out["ffmpeg"], "mp3")  # ffmpeg's muxer: an Info frame tagged "Lavf"
    encode(x, RATE, out["noxing"], "mp3-noxing")
    data = bytearray(out["lame"].read_bytes())
    start = data.index(first_frame(out["lame"]) or b"")
    data[start + 141 + 34:start + 141 + 36] = b"\x00\x00"  # zero the LAME tag CRC ("case C")
    out["badcrc"].write_bytes(bytes(data))
    return out


def test_crc16_arc_check_value() -> None:
    assert crc16_arc(b"123456789") == 0xBB3D  # the CRC-16/ARC catalogue check value


def test_cases_of_real_encoder_output(mp3s: dict[str, Path]) -> None:
    assert mp3_timing_case(mp3s["lame"]) == "D"
    assert mp3_timing_case(mp3s["ffmpeg"]) == "B"
    assert mp3_timing_case(mp3s["noxing"]) == "A"
    assert mp3_timing_case(mp3s["badcrc"]) == "C"
    assert classify_frame(first_frame(mp3s["lame"]) or b"") == "D"


def test_traktor_offsets(mp3s: dict[str, Path], tmp_path: Path) -> None:
    frame, delay = 1152 / RATE, 1105 / RATE
    assert timing.offset_s(mp3s["lame"], "traktor") == 0.0
    assert timing.offset_s(mp3s["ffmpeg"], "traktor") == pytest.approx(frame)
    assert timing.offset_s(mp3s["badcrc"], "traktor") == pytest.approx(frame)
    assert timing.offset_s(mp3s["noxing"], "traktor") == pytest.approx(delay)
    wav = tmp_path / "x.wav"
    import soundfile as sf

    sf.write(wav, np.zeros(RATE, dtype=np.float32), RATE)
    assert timing.offset_s(wav, "traktor") == 0.0
    assert timing.offset_s(tmp_path / "x.m4a", "traktor") == 0.0
    # Traktor is one frame later than rekordbox exactly for cases B and C
    for name in ("lame", "ffmpeg", "noxing", "badcrc"):
        diff = timing.offset_s(mp3s[name], "traktor") - timing.offset_s(mp3s[name], "rekordbox")
        assert diff == pytest.approx(frame if name in ("ffmpeg", "badcrc") else 0.0)


def test_rekordbox_and_serato_rows_unchanged(mp3s: dict[str, Path]) -> None:
    assert timing.offset_s(mp3s["noxing"], "rekordbox") == pytest.approx(1105 / RATE)
    for name in ("lame", "ffmpeg", "badcrc"):
        assert timing.offset_s(mp3s[name], "rekordbox") == 0.0
    for name in mp3s:
        assert timing.offset_s(mp3s[name], "serato") == 0.0
