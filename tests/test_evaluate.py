"""The evaluation metrics on hand-made truths and estimates."""

from __future__ import annotations

import numpy as np

from djstruct.evaluate import score_track
from djstruct.types import Analysis, Section

TRUTH = {
    "file": "x.wav", "bpm": 128.0,
    "beats": list(np.arange(0, 60, 60 / 128.0)), "downbeats": list(np.arange(0, 60, 240 / 128.0)),
    "sections": [{"start": 0.0, "end": 15.0, "label": "intro"}, {"start": 15.0, "end": 30.0, "label": "buildup"},
                 {"start": 30.0, "end": 60.0, "label": "drop"}],
    "drops": [30.0],
}


def make(secs, bpm=128.0, beats=None, downbeats=None, drops=(30.0,)) -> Analysis:
    return Analysis(
        path="x.wav", duration_s=60.0, bpm=bpm,
        beats=tuple(TRUTH["beats"] if beats is None else beats),
        downbeats=tuple(TRUTH["downbeats"] if downbeats is None else downbeats),
        sections=tuple(Section(*s) for s in secs), drops=tuple(drops), energy=None, detector="test",
    )


def test_perfect_estimate_scores_one() -> None:
    m = score_track(TRUTH, make([(0, 15, "intro"), (15, 30, "buildup"), (30, 60, "drop")]))
    assert all(v == 1.0 for v in m.values()), m


def test_boundary_off_by_one_second_counts_only_at_3s() -> None:
    m = score_track(TRUTH, make([(0, 16, "intro"), (16, 30, "buildup"), (30, 60, "drop")]))
    assert m["boundary_f3"] == 1.0 and m["boundary_f05"] < 1.0


def test_octave_error_fails_acc1_passes_acc2() -> None:
    m = score_track(TRUTH, make([(0, 60, "drop")], bpm=64.0))
    assert m["bpm_acc1"] == 0.0 and m["bpm_acc2"] == 1.0


def test_labels_frame_accuracy_and_missing_drop() -> None:
    m = score_track(TRUTH, make([(0, 30, "intro"), (30, 60, "drop")], drops=()))
    assert abs(m["label_acc"] - 0.75) < 0.01
    assert m["drop_f"] == 0.0


def test_shifted_beats_outside_70ms_fail() -> None:
    shifted = [b + 0.1 for b in TRUTH["beats"]]
    m = score_track(TRUTH, make([(0, 60, "drop")], beats=shifted))
    assert m["beat_f"] == 0.0
