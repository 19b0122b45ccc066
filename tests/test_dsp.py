"""The weight-free detector end to end on synthetic audio, and on degenerate input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from djstruct.detect.base import analyze_file, available, get_detector
from djstruct.errors import ConfigError
from djstruct.evaluate import score_track
from djstruct.types import SECTION_LABELS, Audio


def test_registry() -> None:
    assert "dsp" in available()
    with pytest.raises(ConfigError, match="unknown detector"):
        get_detector("nope")


def test_short_corpus_is_analysed_well(short_corpus: Path) -> None:
    det = get_detector("dsp")
    for jf in sorted(short_corpus.glob("*.json")):
        truth = json.loads(jf.read_text())
        a = analyze_file(short_corpus / truth["file"], det)
        m = score_track(truth, a)
        assert m["bpm_acc1"] == 1.0, (jf.name, a.bpm, truth["bpm"])
        assert m["beat_f"] > 0.95 and m["downbeat_f"] > 0.9, (jf.name, m)
        assert m["boundary_f3"] >= 0.6, (jf.name, m)
        # structure of the result
        assert all(s.label in SECTION_LABELS for s in a.sections)
        assert all(a.sections[i].end_s == a.sections[i + 1].start_s for i in range(len(a.sections) - 1))
        assert set(a.downbeats) <= set(a.beats)
        assert set(a.drops) == {s.start_s for s in a.sections if s.label == "drop"}
        # section starts are downbeats
        assert all(min(abs(s.start_s - d) for d in a.downbeats) < 1e-6 for s in a.sections[1:])
        e = a.energy
        assert e is not None and len(e.bass) == len(e.mid) == len(e.high) > 0
        assert 0.0 <= float(np.min(e.bass)) and float(np.max(e.high)) <= 1.0
        assert a.to_dict()["detector"] == "dsp"


def test_silence_gives_no_beats_and_one_section() -> None:
    a = get_detector("dsp").analyze(Audio(np.zeros(22050 * 20, np.float32), 22050))
    assert a.beats == () and a.bpm is None
    assert len(a.sections) == 1 and a.sections[0].start_s == 0.0 and a.sections[0].end_s == pytest.approx(20.0)


def test_one_second_file_is_fine() -> None:
    rng = np.random.default_rng(0)
    a = get_detector("dsp").analyze(Audio(rng.normal(0, 0.1, 22050).astype(np.float32), 22050))
    assert a.duration_s == pytest.approx(1.0)
    assert len(a.sections) == 1


def test_empty_audio() -> None:
    a = get_detector("dsp").analyze(Audio(np.zeros(0, np.float32), 22050))
    assert a.sections == () and a.beats == ()


def test_click_track_tempo_and_grid() -> None:
    sr, bpm = 22050, 128.0
    x = np.zeros(sr * 40, np.float32)
    click = np.hanning(64).astype(np.float32)
    t = 0.5
    while t < 39.5:
        i = int(round(t * sr))
        x[i:i + 64] += click
        t += 60.0 / bpm
    a = get_detector("dsp").analyze(Audio(x, sr))
    assert a.bpm == pytest.approx(bpm, rel=0.002)
    assert min(abs(b - 0.5) for b in a.beats) < 0.02
