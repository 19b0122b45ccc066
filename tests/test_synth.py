"""Tests for the synthetic EDM renderer: determinism, truth schema and timing, and that the audio
really has the structure the truth claims (silent offset, quiet gap before each drop, no kick in
breakdowns, drops louder than breakdowns). Short tracks (8-bar sections) keep this fast."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from djstruct.synth import render_corpus, render_track, track_name
from djstruct.synth.arrangement import SECTION_BARS, plan_arrangement
from djstruct.synth.patterns import GENRES
from djstruct.synth.render import SR, genre_for
from djstruct.types import SECTION_LABELS

SEED = 0
# seed 0, short mode: techno (offset 2.6 s), dubstep, dnb, house (offset 0.67 s), trance
INDICES = (1, 3, 4, 5, 7)
TRUTH_KEYS = {"genre", "bpm", "offset_s", "duration_s", "beats", "downbeats", "sections", "drops"}


@pytest.fixture(scope="module")
def tracks() -> dict[int, tuple[np.ndarray, dict]]:
    return {i: render_track(SEED, i, short=True) for i in INDICES}


def _db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-12))


def _low_band_db(x: np.ndarray, cutoff_hz: float = 150.0) -> float:
    """Energy (dB) of the mono mix below ``cutoff_hz``."""
    m = x.mean(axis=1, dtype=np.float64)
    spec = np.abs(np.fft.rfft(m)) ** 2
    f = np.fft.rfftfreq(len(m), 1.0 / SR)
    return float(10 * np.log10(spec[f < cutoff_hz].sum() / len(m) ** 2 + 1e-20))


def _seg(audio: np.ndarray, start: float, end: float) -> np.ndarray:
    return audio[int(round(start * SR)): int(round(end * SR))]


def test_deterministic(tracks: dict[int, tuple[np.ndarray, dict]]) -> None:
    a1, t1 = tracks[3]
    a2, t2 = render_track(SEED, 3, short=True)
    assert t1 == t2
    assert a1.dtype == np.float32 and np.array_equal(a1, a2)
    rng = np.random.default_rng(np.random.SeedSequence([SEED + 1, 3]).spawn(2)[0])
    assert plan_arrangement(rng, "dubstep", short=True).truth(1.0) != t1


def test_schema_and_audio(tracks: dict[int, tuple[np.ndarray, dict]]) -> None:
    genres = set()
    for i, (audio, truth) in tracks.items():
        assert set(truth) == TRUTH_KEYS
        json.dumps(truth)
        assert truth["genre"] == genre_for(SEED, i)
        genres.add(truth["genre"])
        spec = GENRES[truth["genre"]]
        assert spec.bpm_lo <= truth["bpm"] <= spec.bpm_hi
        assert audio.ndim == 2 and audio.shape[1] == 2 and audio.dtype == np.float32
        assert truth["duration_s"] == pytest.approx(audio.shape[0] / SR, abs=1e-4)
        assert -1.2 < 20 * np.log10(np.max(np.abs(audio))) < -0.8
        assert np.all(np.isfinite(audio))
    assert genres == set(GENRES)


def test_beats_downbeats_sections(tracks: dict[int, tuple[np.ndarray, dict]]) -> None:
    for _, truth in tracks.values():
        beats = np.asarray(truth["beats"])
        period = 60.0 / truth["bpm"]
        assert beats[0] == pytest.approx(truth["offset_s"], abs=1e-4)
        assert np.allclose(np.diff(beats), period, atol=1.1e-4)
        assert np.allclose(beats, truth["offset_s"] + period * np.arange(len(beats)), atol=6e-5)
        assert len(beats) % 4 == 0
        assert truth["downbeats"] == truth["beats"][::4]
        assert set(truth["downbeats"]) <= set(truth["beats"])

        secs = truth["sections"]
        assert secs[0]["start"] == truth["beats"][0]
        assert secs[-1]["end"] == pytest.approx(beats[-1] + period, abs=1e-4)
        assert secs[-1]["end"] < truth["duration_s"]  # a decay tail follows the last bar
        for a, b in zip(secs, secs[1:], strict=False):
            assert a["end"] == b["start"] and a["label"] != b["label"]
        for s in secs:
            assert s["label"] in SECTION_LABELS
            assert s["start"] in truth["downbeats"]
        assert truth["drops"] == [s["start"] for s in secs if s["label"] == "drop"]
        assert {s["label"] for s in secs} == set(SECTION_LABELS)  # short tracks use every label


def test_offset_is_silent(tracks: dict[int, tuple[np.ndarray, dict]]) -> None:
    offsets = [(a, t) for a, t in tracks.values() if t["offset_s"] >= 0.3]
    assert len(offsets) >= 2
    for audio, truth in offsets:
        pre = audio[: int(round(truth["offset_s"] * SR)) - 2]
        assert _db(pre) < -60.0
        first = _seg(audio, truth["offset_s"], truth["offset_s"] + 0.05)
        assert np.max(np.abs(first)) > 0.1  # the first downbeat's kick


def test_drop_louder_than_breakdown_and_no_kick(tracks: dict[int, tuple[np.ndarray, dict]]) -> None:
    for audio, truth in tracks.values():
        drops = [s for s in truth["sections"] if s["label"] == "drop"]
        breaks = [s for s in truth["sections"] if s["label"] == "breakdown"]
        # skip the first beat of a breakdown: the drop's last notes and crash ring into it
        beat = 60.0 / truth["bpm"]
        drop_db = min(_db(_seg(audio, s["start"], s["end"])) for s in drops)
        drop_low = min(_low_band_db(_seg(audio, s["start"], s["end"])) for s in drops)
        for s in breaks:
            seg = _seg(audio, s["start"] + beat, s["end"])
            assert _db(seg) < drop_db - 4.0, truth["genre"]
            assert _low_band_db(seg) < drop_low - 20.0, truth["genre"]


def test_gap_before_each_drop(tracks: dict[int, tuple[np.ndarray, dict]]) -> None:
    for audio, truth in tracks.values():
        beat = 60.0 / truth["bpm"]
        for d in truth["drops"]:
            drop_db = _db(_seg(audio, d, d + 8 * beat))
            gap = _seg(audio, d - beat + 0.01, d - 0.0005)  # the gap is 1 beat to 1 bar long
            assert _db(gap) < drop_db - 35.0, (truth["genre"], d)
            onset = int(round(d * SR))
            assert np.max(np.abs(audio[onset + 5: onset + 400])) > 0.1  # the drop hits on time


def test_plans_full_length() -> None:
    non_integer = offsets = 0
    variation = 0
    for seed in range(3):
        for i in range(15):
            rng = np.random.default_rng(np.random.SeedSequence([seed, i]).spawn(2)[0])
            arr = plan_arrangement(rng, genre_for(seed, i))
            assert 150.0 <= arr.end_s + arr.tail_s <= 420.0
            non_integer += arr.bpm != int(arr.bpm)
            offsets += arr.offset_s >= 0.3
            if arr.style.genre.name == "dubstep":
                assert arr.bpm == 140.0
            for k, sec in enumerate(arr.sections):
                assert sec.n_bars in SECTION_BARS[sec.label]
                if sec.label == "buildup":
                    assert arr.sections[k + 1].label == "drop" and 1 <= sec.gap_beats <= 4
                bars = arr.bars[sec.start_bar: sec.start_bar + sec.n_bars]
                # within-section changes that are not boundaries (entries, fills, lead variants)
                variation += any(b.layers != bars[0].layers or b.variant for b in bars[1:])
    assert 8 <= non_integer <= 30
    assert 8 <= offsets <= 30
    assert variation > 100


def _plan(seed: int, i: int, variety: float = 0.0):  # noqa: ANN202 - test helper
    rng = np.random.default_rng(np.random.SeedSequence([seed, i]).spawn(2)[0])
    return plan_arrangement(rng, genre_for(seed, i), variety=variety)


def test_variety_zero_plans_what_earlier_versions_planned() -> None:
    """The hash of six full plans (truth, every bar's layers, gaps, tail, gap level, fill kind),
    taken from the code before ``variety`` existed: the default corpus did not change."""
    import hashlib

    plans = [_plan(5, i) for i in range(6)]
    blob = [[a.truth(1.0), [sorted(b.layers) for b in a.bars], [s.gap_beats for s in a.sections], a.tail_s,
             a.gap_gain, a.fill_kind] for a in plans]
    digest = hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()
    assert digest == "69cd49247d2e6c74e6a3237212cf846285b82a6423bad16d27e8626633d7f216"


def test_variety_varies_sound_not_structure() -> None:
    # layers the plain recipes never put there: a kick in a breakdown, chords or a bass in an intro
    def foreign(a) -> int:  # noqa: ANN001
        return sum(1 for sec in a.sections for b in a.bars[sec.start_bar: sec.start_bar + sec.n_bars]
                   if (sec.label == "breakdown" and "kick" in b.layers)
                   or (sec.label == "intro" and b.layers & {"chords", "bass_lp"} and b.pos < sec.n_bars - 8))

    foreign_plain = foreign_varied = shifted = 0
    for i in range(12):
        plain, varied = _plan(5, i, 0.0), _plan(5, i, 1.0)
        assert varied.truth(1.0) == plain.truth(1.0)  # same sections, beats and drops: only the sound moves
        foreign_plain += foreign(plain)
        foreign_varied += foreign(varied)
        for vsec in varied.sections:
            first = varied.bars[vsec.start_bar].layers
            shifted += vsec.chord_shift != 0
            if vsec.label == "drop":
                assert {"kick", "bass"} <= first
            if vsec.label == "buildup":
                assert first & {"roll", "riser"}
    assert foreign_plain == 0 and foreign_varied > 20 and shifted > 5


def test_varied_track_keeps_gaps_and_drops() -> None:
    audio, truth = render_track(5, 2, short=True, variety=1.0)
    plain = render_track(5, 2, short=True)[1]
    assert {k: v for k, v in truth.items() if k != "duration_s"} == {
        k: v for k, v in plain.items() if k != "duration_s"}  # the decay tail is drawn after the sections
    test_gap_before_each_drop({0: (audio, truth)})


def test_corpus(tmp_path: Path) -> None:
    calls: list[tuple] = []
    paths = render_corpus(tmp_path, 2, seed=9, formats=["wav"], workers=2,
                          progress=lambda *a: calls.append(a), short=True)
    assert [p.name for p in paths] == [f"{track_name(9, i)}.json" for i in range(2)]
    assert len(calls) == 2
    for p in paths:
        truth = json.loads(p.read_text())
        assert set(truth) == TRUTH_KEYS | {"file"}
        assert (tmp_path / truth["file"]).is_file() and truth["file"].endswith(".wav")
        import soundfile as sf

        info = sf.info(str(tmp_path / truth["file"]))
        assert info.samplerate == SR and info.channels == 2
        assert info.frames / SR == pytest.approx(truth["duration_s"], abs=1e-4)
        assert truth["beats"][0] == truth["offset_s"]
