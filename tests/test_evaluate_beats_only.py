"""A truth without sections (beat-only, e.g. the tracker-module benchmark) is scored on what it has."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from djstruct.evaluate import EvalReport, TrackScore, load_truth, score_track
from djstruct.types import Analysis, Section

BEATS = list(np.arange(0, 60, 60 / 128.0))
DOWNS = BEATS[::4]
TRUTH = {"file": "x.wav", "bpm": 128.0, "beats": BEATS, "downbeats": DOWNS}


def est(beats=BEATS, downs=DOWNS, bpm=128.0) -> Analysis:
    return Analysis(path="x.wav", duration_s=60.0, bpm=bpm, beats=tuple(beats), downbeats=tuple(downs),
                    sections=(Section(0.0, 60.0, "drop"),), drops=(12.0,), energy=None, detector="test")


def test_beat_only_truth_scores_beats_and_tempo_only() -> None:
    m = score_track(TRUTH, est())
    assert set(m) == {"beat_f", "downbeat_f", "bpm_acc1", "bpm_acc2"}
    assert m["beat_f"] == m["downbeat_f"] == m["bpm_acc1"] == 1.0


def test_downbeats_on_the_wrong_beat_score_zero() -> None:
    m = score_track(TRUTH, est(downs=BEATS[1::4]))
    assert m["beat_f"] == 1.0 and m["downbeat_f"] == 0.0


def test_drops_without_sections_are_scored() -> None:
    m = score_track({**TRUTH, "drops": [12.0]}, est())
    assert m["drop_f"] == 1.0 and "label_acc" not in m and "boundary_f05" not in m


def test_overall_skips_metrics_no_truth_has_and_counts_failures_as_zero() -> None:
    rep = EvalReport("test", [TrackScore("a", "a.wav", score_track(TRUTH, est())),
                              TrackScore("b", "b.wav", {}, error="b.wav: cannot decode")])
    o = rep.overall()
    assert set(o) == {"beat_f", "downbeat_f", "bpm_acc1", "bpm_acc2"}
    assert o["beat_f"] == pytest.approx(0.5)
    assert json.loads(json.dumps(rep.to_dict()))["overall"]["beat_f"] == 0.5


def test_overall_mixes_section_and_beat_only_truths() -> None:
    with_secs = {**TRUTH, "sections": [{"start": 0.0, "end": 60.0, "label": "drop"}], "drops": [12.0]}
    rep = EvalReport("test", [TrackScore("a", "a.wav", score_track(with_secs, est())),
                              TrackScore("b", "b.wav", score_track(TRUTH, est(bpm=64.0)))])
    o = rep.overall()
    assert o["label_acc"] == 1.0  # over the one track with sections
    assert o["bpm_acc1"] == 0.5 and o["bpm_acc2"] == 1.0


def test_load_truth_accepts_missing_sections_but_not_missing_beats(tmp_path: Path) -> None:
    p = tmp_path / "t.json"
    p.write_text(json.dumps(TRUTH))
    assert "sections" not in load_truth(p)
    p.write_text(json.dumps({k: v for k, v in TRUTH.items() if k != "beats"}))
    with pytest.raises(Exception, match="beats"):
        load_truth(p)
